/* ui_bench.h - `forktop bench`: a sweep of pool sizes over one workload. */
#ifndef FT_UI_BENCH_H
#define FT_UI_BENCH_H

#include "ft_stats.h"
#include "ui.h"

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
  ft_summary wall;
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
  ft_amdahl fit;
  int recommended;
} ui_bench_result;

/* Parse "1,2,4", "1..8", "1..16:2" (and mixes) into sizes; a message in err. */
int ui_bench_parse_sizes(const char *s, ui_bench_opts *o, char *err, size_t errcap);
/* Run the sweep; returns the exit status. */
int ui_bench(const char *path, const ui_opts *uo, const ui_bench_opts *bo);

/* Exports (ui_bench_export.c); 0 or -errno. */
int ui_bench_export_json(const ui_bench_result *r, FILE *f);
int ui_bench_export_csv(const ui_bench_result *r, FILE *f);
int ui_bench_export_markdown(const ui_bench_result *r, FILE *f);
int ui_bench_export_svg(const ui_bench_result *r, FILE *f);

#endif
