/* ui_bench.h - `forktop bench`: a sweep of pool sizes over one workload. */
#ifndef FT_UI_BENCH_H
#define FT_UI_BENCH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "forktop.h"
typedef struct ft_runner ft_runner; /* ft_runner.h; the view needs only the name */
#include "ui_stats.h"

/* ui.h's options, by name only: the live view includes this header without ui.h. */
struct ui_opts;

#define UI_BENCH_MAX_SIZES 64

typedef struct ui_bench_opts {
  int sizes[UI_BENCH_MAX_SIZES];
  size_t nsizes;
  int runs, warmup;
  const char *export_json, *export_csv, *export_md, *export_svg;
} ui_bench_opts;

/* One measured run. */
typedef struct ui_bench_run {
  double wall;          /* seconds, from the first start to the last exit */
  double cpu;           /* user + system seconds of the children */
  double startup;       /* seconds to fork the pools' workers */
  uint64_t peak_rss_kb; /* the largest sum of the children's RSS seen */
  uint64_t tasks, tasks_failed;
  int exit_status;
} ui_bench_run;

/* Everything about one pool size. */
typedef struct ui_bench_size {
  int workers;
  ui_bench_run *runs;
  size_t nruns;
  ui_summary wall;
  double tasks_per_s, speedup, efficiency, cpu_util, startup_ms;
  uint64_t peak_rss_kb, tasks_failed;
  int failed_runs;
  char warnings[512];
} ui_bench_size;

typedef struct ui_bench_result {
  const char *workload, *path;
  int cpus, affinity;
  double loadavg[3];
  char kernel[256];
  int runs, warmup;
  ui_bench_size sizes[UI_BENCH_MAX_SIZES];
  size_t nsizes;
  ui_amdahl fit;
  int recommended;
} ui_bench_result;

/* Parse "1,2,4", "1..8", "1..16:2" (and mixes) into sizes; a message in err. */
int ui_bench_parse_sizes(const char *s, ui_bench_opts *o, char *err, size_t errcap);
/* Run the sweep; returns the exit status. */
int ui_bench(const char *path, const struct ui_opts *uo, const ui_bench_opts *bo);

/* Exports (ui_bench_export.c); 0 or -errno. */
int ui_bench_export_json(const ui_bench_result *r, FILE *f);
int ui_bench_export_csv(const ui_bench_result *r, FILE *f);
int ui_bench_export_markdown(const ui_bench_result *r, FILE *f);
int ui_bench_export_svg(const ui_bench_result *r, FILE *f);

/* The live view of a sweep in the terminal (ui_bench_live.c; the drawing
 * itself is ui_bench_view.c).  Open it once for the sweep; attach it to
 * each run's loop and detach before that loop is freed. */
typedef struct ui_bench_live ui_bench_live;

/* Take over the terminal for the sweep (stop signals blocked until close);
 * -ENOTTY without a terminal, and nothing is changed. */
int ui_bench_live_open(const ui_bench_opts *bo, int delay_tenths, bool ascii, const char *workload,
                       const ui_bench_result *res, ui_bench_live **out);
/* A run begins: size index i of the sweep, run k (negative: a warm-up). */
void ui_bench_live_run_begin(ui_bench_live *l, size_t i, int k);
/* Wire the view to a run's loop: task counts, redraw, keys, SIGWINCH, stop
 * signals (runner NULL: the final screen); 0 or a negative error. */
int ui_bench_live_attach(ui_bench_live *l, ft_loop *loop, ft_runner *runner);
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
