/* ui_bench_view.h - the live view of `forktop bench`, drawn into a grid of
 * cells without curses: a header (workload, size, run, elapsed), a progress
 * bar of the current run's tasks, a table of the sizes finished so far, and
 * a chart of speedup against workers (the measured points, the ideal line,
 * the Amdahl fit).  ui_bench_live.c puts the grid on the terminal; the
 * rendering is unit-tested in tests/test_bench_view.c. */
#ifndef UI_BENCH_VIEW_H
#define UI_BENCH_VIEW_H

#include "ui_bench.h"
#include "ui_view.h"

/* What the view shows: the sweep's plan, where it is, and what it measured. */
typedef struct ui_bench_state {
  const char *workload;
  const char *size_name; /* "workers" or --param's NAME (NULL: "workers") */
  int cpus;              /* the fit uses sizes up to this many (0: every size) */
  const int *sizes;      /* every pool size of the sweep, ascending */
  size_t nsizes;
  int runs, warmup;
  size_t cur;    /* index in sizes of the size running now */
  int run;       /* the run now: -warmup..-1 a warm-up, 0..runs-1 a measured run */
  bool running;  /* a run is under way */
  bool finished; /* the sweep is over (the final screen) */
  uint64_t tasks_total, tasks_done, tasks_failed; /* the current run's, from its events */
  uint64_t procs_alive, procs_total, procs_peak;  /* the current run's tree */
  double elapsed;                                 /* seconds of the current (or last) run */
  double sweep_elapsed;                           /* seconds since the sweep began */
  const ui_bench_result *res; /* res->sizes[0 .. done) are finished and summarised */
  size_t done;
  bool ascii, utf8; /* ASCII when ascii or when the terminal takes no UTF-8 */
} ui_bench_state;

/* Where the chart's plot area went (w == 0: no room for a chart), and its
 * scales: workers wmin..wmax left to right, speedup 0..smax bottom to top. */
typedef struct ui_bench_chart {
  int x, y, w, h;
  double wmin, wmax, smax;
} ui_bench_chart;

/* Draw the whole view into g (already sized); chart (may be NULL) says
 * where the plot went. */
void ui_bench_view_render(ui_grid *g, const ui_bench_state *s, ui_bench_chart *chart);
/* The grid column of a worker count on the chart. */
int ui_bench_chart_col(const ui_bench_chart *c, double workers);
/* The grid row of a speedup on the chart (clamped to the plot area). */
int ui_bench_chart_row(const ui_bench_chart *c, double speedup);
/* The speedup of finished size i against the first size (0 when unknown). */
double ui_bench_view_speedup(const ui_bench_state *s, size_t i);

#endif
