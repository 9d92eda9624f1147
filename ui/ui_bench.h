/* ui_bench.h - `forktop bench`: a sweep of pool sizes over one workload. */
#ifndef FT_UI_BENCH_H
#define FT_UI_BENCH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "forktop.h"
#include "ui_stats.h"

/* ui.h's options, by name only: the live view includes this header without ui.h. */
struct ui_opts;

#define UI_BENCH_MAX_SIZES 64

/* What is swept. */
typedef enum ui_bench_kind {
  UI_BENCH_WORKLOAD, /* a workload file's pools: -s workers=N */
  UI_BENCH_POOL,     /* -j: a command pool over stdin's items (forktop map's) */
  UI_BENCH_PARAM     /* --param NAME=LIST: a command with {NAME} replaced */
} ui_bench_kind;

typedef struct ui_bench_opts {
  ui_bench_kind kind;
  int sizes[UI_BENCH_MAX_SIZES]; /* pool sizes or the parameter's values, ascending */
  size_t nsizes;
  int runs, warmup;
  const char *export_json, *export_csv, *export_md, *export_svg;
  const char *prepare, *cleanup; /* sh -c CMD before each run / after each size's runs */
  char **cmd;                    /* -j, --param: the command, NULL-terminated */
  char **items;                  /* -j: the items, read once */
  size_t nitems;
  char param[32]; /* --param: NAME */
} ui_bench_opts;

/* One measured run. */
typedef struct ui_bench_run {
  double wall;          /* seconds, from the first start to the last exit */
  double user, sys;     /* CPU seconds of the whole tree (wait4's rusage of every process) */
  double cpu;           /* user + sys */
  double startup;       /* seconds to fork the pools' workers */
  uint64_t peak_rss_kb; /* the largest sum of the tree's RSS seen */
  uint64_t processes;   /* processes the tree had in all (workers and commands included) */
  uint64_t peak_procs;  /* the most alive at once */
  uint64_t tasks, tasks_failed;
  double others_cpu, steal; /* CPU seconds others used, and stolen, during the run */
  int exit_status;
} ui_bench_run;

/* Everything about one pool size (or parameter value). */
typedef struct ui_bench_size {
  int workers;
  char command[512]; /* the command as run (--param: the value in place) */
  ui_bench_run *runs;
  size_t nruns;
  ui_summary wall;
  double user, sys; /* means over the runs */
  double tasks_per_s, speedup, efficiency, cpu_util, startup_ms;
  uint64_t peak_rss_kb, tasks_failed, processes, peak_procs;
  int failed_runs;
  char warnings[768];
} ui_bench_size;

typedef struct ui_bench_result {
  ui_bench_kind kind;
  const char *workload, *path; /* the workload's name and file, or the command and NULL */
  const char *size_name;       /* "workers", or --param's NAME */
  int cpus, affinity;
  double loadavg[3];
  char kernel[256];
  int runs, warmup;
  ui_bench_size sizes[UI_BENCH_MAX_SIZES];
  size_t nsizes;
  ui_amdahl fit;
  size_t fitted;      /* sizes the fit used (those up to the CPUs) */
  char fit_note[256]; /* why there is no fit, or which sizes it left out */
  int recommended, fastest;
  char advice[512];  /* the recommendation as a sentence */
  char machine[768]; /* warnings about the machine (sizes over the CPUs, busy, steal), one a line */
  double others_frac, steal_frac; /* of the CPUs' time over the measured runs */
} ui_bench_result;

/* Parse "1,2,4", "1..8", "1..16:2" (and mixes) into sizes; a message
 * naming opt ("--workers") in err. */
int ui_bench_parse_sizes(const char *s, const char *opt, ui_bench_opts *o, char *err,
                         size_t errcap);
/* Run the sweep; returns the exit status. */
int ui_bench(const char *path, const struct ui_opts *uo, const ui_bench_opts *bo);
/* forktop bench ...: argv[0] is "bench"; parses bench's own options. */
int ui_bench_main(int argc, char **argv);

/* One run (ui_bench_run.c). */
typedef struct ui_bench_live ui_bench_live;
typedef struct ft_guard ft_guard;
/* What a run needs beyond its size: the workload or the command. */
typedef struct ui_bench_target {
  const ui_bench_opts *bo;
  const char *path;         /* UI_BENCH_WORKLOAD */
  const struct ui_opts *uo; /* its -s overrides */
} ui_bench_target;
/* The command for value v with {NAME} replaced (--param; v < 0: as
 * written), as one line made safe for a terminal; or the command as given. */
void ui_bench_command_label(const ui_bench_opts *bo, int v, char *out, size_t cap);
/* Run once at size v: 0 measured, 1 stopped by the live view, -1 it could
 * not run (said on errf), -2 the prepare command failed (said too). */
int ui_bench_once(const ui_bench_target *t, int v, ui_bench_run *out, ui_bench_live *live,
                  ft_guard *guard, FILE *errf);
/* sh -c cmd, its output discarded; its exit status (128 + N: signal N), or -1. */
int ui_bench_shell(const char *cmd, ft_guard *guard, FILE *errf);

/* Exports (ui_bench_export.c); 0 or -errno. */
int ui_bench_export_json(const ui_bench_result *r, FILE *f);
int ui_bench_export_csv(const ui_bench_result *r, FILE *f);
int ui_bench_export_markdown(const ui_bench_result *r, FILE *f);
int ui_bench_export_svg(const ui_bench_result *r, FILE *f);

/* The live view of a sweep in the terminal (ui_bench_live.c; the drawing
 * itself is ui_bench_view.c).  Open it once for the sweep; attach it to
 * each run's loop and detach before that loop is freed. */

/* Take over the terminal for the sweep (stop signals blocked until close);
 * -ENOTTY without a terminal, and nothing is changed. */
int ui_bench_live_open(const ui_bench_opts *bo, int delay_tenths, bool ascii, const char *workload,
                       const char *size_name, const ui_bench_result *res, ui_bench_live **out);
/* A run begins: size index i of the sweep, run k (negative: a warm-up). */
void ui_bench_live_run_begin(ui_bench_live *l, size_t i, int k);
/* Wire the view to a run's loop: task counts, redraw, keys, SIGWINCH, stop
 * signals; stop(ud) is called once to stop the run (stop NULL: the final
 * screen); 0 or a negative error. */
int ui_bench_live_attach(ui_bench_live *l, ft_loop *loop, void (*stop)(void *), void *ud);
/* Show the run's tree as it grows: the counters are read at each frame
 * until detach (NULL l: nothing). */
void ui_bench_live_tree(ui_bench_live *l, const size_t *alive, const uint64_t *total,
                        const uint64_t *peak);
/* Unwire from the loop (idempotent; NULL is a no-op). */
void ui_bench_live_detach(ui_bench_live *l);
/* Between runs: sizes [0, sizes_done) are finished; take keys and signals; draw. */
void ui_bench_live_poll(ui_bench_live *l, size_t sizes_done);
/* 0 while the sweep may go on, else the exit status asked for (1 for q,
 * 128 + signal for Ctrl-C or a stop signal). */
int ui_bench_live_aborted(const ui_bench_live *l);
/* The sweep is over: the final screen stays until a key is pressed. */
void ui_bench_live_finish(ui_bench_live *l, size_t sizes_done);
/* Restore the terminal and free (NULL: 0); returns ui_bench_live_aborted's answer. */
int ui_bench_live_close(ui_bench_live *l);

#endif
