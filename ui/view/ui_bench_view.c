/* ui_bench_view.c - the live view of `forktop bench` as a grid of cells.
 *
 *   row 0      the header: workload, size i of n, run k of runs (or warm-up), elapsed
 *   row 1      the current run's tasks as a bar: done, failed, total, seconds
 *   body       a table of the sizes (finished: mean ± sd, speedup, efficiency;
 *              running; waiting), the Amdahl fit and the recommendation,
 *              and a chart of speedup against workers: the ideal line, the
 *              Amdahl fit once two sizes are done, the measured points.
 *              Side by side from 100 columns, one above the other below.
 *   last row   the keys
 *
 * Every write goes through ui_grid_set / ui_put_text, which clip to the
 * grid, so no size of window can make it write outside.  No curses here. */
#include "ui_bench_view.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define UI__TABLE_W 46 /* the table's width, its marker included */
#define UI__CHART_MIN_W 20
#define UI__CHART_MIN_H 6

static bool ui__uni(const ui_bench_state *s) { return s->utf8 && !s->ascii; }

/* A parameter's name, or NULL when the sizes are workers. */
static const char *ui__param(const ui_bench_state *s) {
  return s->size_name && strcmp(s->size_name, "workers") != 0 ? s->size_name : NULL;
}

/* The speedup of finished size i against the first size. */
double ui_bench_view_speedup(const ui_bench_state *s, size_t i) {
  if (!s->res || i >= s->done)
    return 0;
  double m0 = s->res->sizes[0].wall.mean, m = s->res->sizes[i].wall.mean;
  return m0 > 0 && m > 0 ? m0 / m : 0;
}

/* The Amdahl fit over the finished sizes up to the CPUs (ok only with two
 * or more), as the final report fits it. */
static void ui__fit(const ui_bench_state *s, ui_amdahl *fit) {
  memset(fit, 0, sizeof *fit);
  double workers[UI_BENCH_MAX_SIZES], means[UI_BENCH_MAX_SIZES];
  size_t n = 0;
  for (size_t i = 0; s->res && i < s->done && i < UI_BENCH_MAX_SIZES; i++) {
    if (s->cpus > 0 && s->res->sizes[i].workers > s->cpus)
      continue;
    workers[n] = s->res->sizes[i].workers;
    means[n++] = s->res->sizes[i].wall.mean;
  }
  if (n >= 2)
    ui_stats_amdahl(workers, means, n, fit);
}

/* ------------------------------------------------------------ the header */

static void ui__header(ui_grid *g, const ui_bench_state *s) {
  char where[128];
  ui_grid_fill(g, 0, 0, g->w, UI_S_TITLE);
  if (s->finished) {
    snprintf(where, sizeof where, "finished: %zu size%s", s->done, s->done == 1 ? "" : "s");
  } else {
    char run[48];
    int w = s->cur < s->nsizes ? s->sizes[s->cur] : 0;
    if (s->run < 0)
      snprintf(run, sizeof run, "warm-up %d of %d", s->run + s->warmup + 1, s->warmup);
    else
      snprintf(run, sizeof run, "run %d of %d", s->run + 1, s->runs);
    if (ui__param(s))
      snprintf(where, sizeof where, "value %zu of %zu (%.24s=%d)  %s", s->cur + 1, s->nsizes,
               ui__param(s), w, run);
    else
      snprintf(where, sizeof where, "size %zu of %zu (%d worker%s)  %s", s->cur + 1, s->nsizes, w,
               w == 1 ? "" : "s", run);
  }
  const char *name = s->workload ? s->workload : "";
  char full[384];
  int n = snprintf(full, sizeof full, " forktop bench: %s   %s   %.1f s", name, where,
                   s->sweep_elapsed);
  if (n > g->w) /* narrow: what matters first */
    snprintf(full, sizeof full, " %s  %s  %.1f s", name, where, s->sweep_elapsed);
  ui_put_text(g, 0, 0, g->w, UI_S_TITLE, full, strlen(full), s->utf8);
}

static void ui__progress(ui_grid *g, const ui_bench_state *s, int y) {
  if (s->finished) {
    ui_grid_printf(g, 1, y, g->w - 1, UI_S_OK, s->utf8, "sweep finished in %.1f s; press any key",
                   s->sweep_elapsed);
    return;
  }
  if (!s->tasks_total && s->procs_total) { /* a command (--param): its tree, not tasks */
    ui_grid_printf(g, 1, y, g->w - 1, UI_S_NORMAL, s->utf8,
                   "processes %llu alive, %llu in all, %llu at most at once  %.1f s%s",
                   (unsigned long long)s->procs_alive, (unsigned long long)s->procs_total,
                   (unsigned long long)s->procs_peak, s->elapsed, s->running ? "" : "  (done)");
    return;
  }
  uint64_t total = s->tasks_total, ended = s->tasks_done + s->tasks_failed;
  if (total < ended)
    total = ended;
  char counts[96];
  int n = snprintf(counts, sizeof counts, " %llu/%llu", (unsigned long long)s->tasks_done,
                   (unsigned long long)total);
  if (s->tasks_failed && n > 0 && (size_t)n < sizeof counts)
    n += snprintf(counts + n, sizeof counts - (size_t)n, "  %llu failed",
                  (unsigned long long)s->tasks_failed);
  if (n > 0 && (size_t)n < sizeof counts)
    snprintf(counts + n, sizeof counts - (size_t)n, "  %.1f s%s", s->elapsed,
             s->running ? "" : "  (done)");
  int x = 1 + ui_grid_printf(g, 1, y, g->w - 1, UI_S_NORMAL, s->utf8, "tasks ");
  int bw = g->w - x - (int)strlen(counts) - 1;
  if (bw > 40)
    bw = 40;
  if (bw >= 5) {
    ui_grid_bar(g, x, y, bw, !ui__uni(s), total, s->tasks_done, s->tasks_failed);
    x += bw;
  }
  ui_grid_printf(g, x, y, g->w - x, s->tasks_failed ? UI_S_FAIL : UI_S_NORMAL, s->utf8, "%s",
                 counts);
}

/* ------------------------------------------------------------- the table */

static void ui__table_row(ui_grid *g, const ui_bench_state *s, size_t i, int x, int y, int w) {
  const ui_bench_result *r = s->res;
  int workers = s->sizes[i];
  if (i < s->done) {
    const ui_bench_size *z = &r->sizes[i];
    double sp = ui_bench_view_speedup(s, i);
    bool rec = s->finished && r->recommended == workers;
    ui_style st = z->failed_runs ? UI_S_FAIL : rec ? UI_S_OK : UI_S_NORMAL;
    ui_grid_printf(g, x, y, w, st, s->utf8, "%7d", workers);
    ui_grid_printf(g, x + 9, y, w - 9, st, s->utf8, "%7.3f", z->wall.mean);
    ui_grid_printf(g, x + 17, y, w - 17, st, s->utf8, "%s", ui__uni(s) ? "\xc2\xb1" : "+-");
    ui_grid_printf(g, x + 19, y, w - 19, st, s->utf8, "%6.3f s", z->wall.sd);
    ui_grid_printf(g, x + 29, y, w - 29, st, s->utf8, "%6.2fx", sp);
    ui_grid_printf(g, x + 38, y, w - 38, st, s->utf8, "%5.0f%%",
                   sp * s->sizes[0] / (workers > 0 ? workers : 1) * 100);
    if (rec)
      ui_grid_printf(g, x + 45, y, w - 45, UI_S_OK, s->utf8, "%s",
                     ui__uni(s) ? "\xe2\x97\x80" : "<");
    return;
  }
  ui_grid_printf(g, x, y, w, UI_S_NORMAL, s->utf8, "%7d", workers);
  if (i == s->cur && !s->finished) {
    if (s->run < 0)
      ui_grid_printf(g, x + 9, y, w - 9, UI_S_WARN, s->utf8, "warm-up %d of %d",
                     s->run + s->warmup + 1, s->warmup);
    else
      ui_grid_printf(g, x + 9, y, w - 9, UI_S_WARN, s->utf8, "running: run %d of %d", s->run + 1,
                     s->runs);
  } else {
    ui_grid_printf(g, x + 9, y, w - 9, UI_S_DIM, s->utf8, "%s",
                   s->finished ? "not run" : "waiting");
  }
}

/* The table in x, y, w, h: column names, a window of rows around the size
 * running now, then the fit and the recommendation when there is room. */
static void ui__table(ui_grid *g, const ui_bench_state *s, int x, int y, int w, int h) {
  if (h <= 0 || w <= 0)
    return;
  ui_grid_fill(g, x, y, w, UI_S_HEADER);
  ui_grid_printf(g, x, y, 8, UI_S_HEADER, s->utf8, "%7.7s",
                 ui__param(s) ? ui__param(s) : "workers");
  ui_grid_printf(g, x + 9, y, w - 9, UI_S_HEADER, s->utf8, "wall (mean %s sd)",
                 ui__uni(s) ? "\xc2\xb1" : "+-");
  ui_grid_printf(g, x + 29, y, w - 29, UI_S_HEADER, s->utf8, "speedup");
  ui_grid_printf(g, x + 38, y, w - 38, UI_S_HEADER, s->utf8, "effic.");
  int extra = h >= 6 ? 3 : 0; /* a blank line, the fit, the recommendation */
  int rows = h - 1 - extra;
  size_t n = s->nsizes, top = 0;
  if (rows > 0 && (size_t)rows < n) {
    size_t focus = s->finished ? n - 1 : s->cur;
    top = focus >= (size_t)rows / 2 ? focus - (size_t)rows / 2 : 0;
    if (top + (size_t)rows > n)
      top = n - (size_t)rows;
  }
  int yy = y + 1;
  for (size_t i = top; i < n && yy < y + 1 + rows; i++, yy++)
    ui__table_row(g, s, i, x, yy, w);
  if (!extra)
    return;
  yy++; /* a blank line, then the fit and the recommendation */
  ui_amdahl fit;
  ui__fit(s, &fit);
  if (fit.ok) {
    if (fit.serial > 0)
      ui_grid_printf(g, x, yy, w, UI_S_NORMAL, s->utf8,
                     "Amdahl: serial fraction %.3f, at most %.1fx", fit.serial, 1 / fit.serial);
    else
      ui_grid_printf(g, x, yy, w, UI_S_NORMAL, s->utf8,
                     "Amdahl: serial fraction 0 (no limit seen)");
  } else {
    ui_grid_printf(g, x, yy, w, UI_S_DIM, s->utf8, "Amdahl fit: after two sizes");
  }
  yy++;
  if (s->finished && s->res && s->done)
    ui_grid_printf(g, x, yy, w, UI_S_OK, s->utf8, "recommended %s: %d",
                   ui__param(s) ? ui__param(s) : "pool size", s->res->recommended);
  else if (s->res && s->done) {
    size_t best = 0;
    for (size_t i = 1; i < s->done; i++)
      if (s->res->sizes[i].wall.mean < s->res->sizes[best].wall.mean)
        best = i;
    if (ui__param(s))
      ui_grid_printf(g, x, yy, w, UI_S_NORMAL, s->utf8, "fastest so far: %.16s=%d", ui__param(s),
                     s->res->sizes[best].workers);
    else
      ui_grid_printf(g, x, yy, w, UI_S_NORMAL, s->utf8, "fastest so far: %d worker%s",
                     s->res->sizes[best].workers, s->res->sizes[best].workers == 1 ? "" : "s");
  }
}

/* ------------------------------------------------------------- the chart */

/* The grid column of a worker count. */
int ui_bench_chart_col(const ui_bench_chart *c, double workers) {
  double span = c->wmax - c->wmin > 0 ? c->wmax - c->wmin : 1;
  double f = (workers - c->wmin) / span;
  f = f < 0 ? 0 : f > 1 ? 1 : f;
  return c->x + (int)lround(f * (c->w - 1));
}

/* The grid row of a speedup (clamped to the plot). */
int ui_bench_chart_row(const ui_bench_chart *c, double speedup) {
  double f = c->smax > 0 ? speedup / c->smax : 0;
  f = f < 0 ? 0 : f > 1 ? 1 : f;
  return c->y + c->h - 1 - (int)lround(f * (c->h - 1));
}

/* v rounded up to a number that reads well at the top of an axis. */
static double ui__nice(double v) {
  double step = v <= 5 ? 0.5 : v <= 20 ? 1 : v <= 100 ? 5 : 50;
  return ceil(v / step - 1e-9) * step;
}

/* The legend, left to right; returns the columns used. */
static int ui__legend(ui_grid *g, const ui_bench_state *s, int x, int y, int w, bool fit) {
  bool uni = ui__uni(s);
  int c = ui_grid_printf(g, x, y, w, UI_S_HEADER, s->utf8, "speedup by %.16s",
                         ui__param(s) ? ui__param(s) : "workers");
  c += ui_grid_printf(g, x + c, y, w - c, UI_S_OK, s->utf8, "  %s measured",
                      uni ? "\xe2\x97\x8f" : "O");
  c += ui_grid_printf(g, x + c, y, w - c, UI_S_DIM, s->utf8, "  %s ideal", uni ? "\xc2\xb7" : ".");
  if (fit)
    c += ui_grid_printf(g, x + c, y, w - c, UI_S_WARN, s->utf8, "  %s Amdahl",
                        uni ? "\xe2\x80\xa2" : "+");
  return c;
}

static void ui__chart(ui_grid *g, const ui_bench_state *s, int x, int y, int w, int h,
                      ui_bench_chart *out) {
  memset(out, 0, sizeof *out);
  if (w < UI__CHART_MIN_W || h < UI__CHART_MIN_H || !s->nsizes)
    return;
  bool uni = ui__uni(s);
  ui_amdahl fit;
  ui__fit(s, &fit);
  ui__legend(g, s, x, y, w, fit.ok);
  const int lw = 6; /* "10.0x " */
  ui_bench_chart c = {.x = x + lw + 1, .y = y + 1, .w = w - lw - 2, .h = h - 3};
  c.wmin = s->sizes[0];
  c.wmax = s->sizes[s->nsizes - 1] > c.wmin ? s->sizes[s->nsizes - 1] : c.wmin + 1;
  double top = c.wmax / c.wmin;
  for (size_t i = 0; i < s->done; i++) {
    double sp = ui_bench_view_speedup(s, i);
    top = sp > top ? sp : top;
  }
  c.smax = ui__nice((top > 1 ? top : 1) * 1.1);
  /* the axes and their labels */
  int ax = c.x - 1, ay = c.y + c.h;
  for (int r = c.y; r < ay; r++)
    ui_grid_set(g, ax, r, uni ? 0x2502 : '|', UI_S_DIM);
  ui_grid_set(g, ax, ay, uni ? 0x2514 : '+', UI_S_DIM);
  for (int col = c.x; col < c.x + c.w; col++)
    ui_grid_set(g, col, ay, uni ? 0x2500 : '-', UI_S_DIM);
  int step = c.h > 8 ? (c.h - 1) / 4 : c.h > 2 ? (c.h - 1) / 2 : 1;
  for (int i = 0; i < c.h; i += step) {
    double v = c.h > 1 ? c.smax * i / (c.h - 1) : 0;
    ui_grid_printf(g, x, c.y + c.h - 1 - i, lw, UI_S_DIM, s->utf8, "%5.1fx", v);
  }
  int last_end = x; /* labels of sizes under the axis, where they do not overlap */
  for (size_t i = 0; i < s->nsizes; i++) {
    int col = ui_bench_chart_col(&c, s->sizes[i]);
    ui_grid_set(g, col, ay, uni ? 0x2534 : '+', UI_S_DIM);
    char lab[16];
    int n = snprintf(lab, sizeof lab, "%d", s->sizes[i]);
    int start = col - (n - 1) / 2;
    if (start > last_end && start + n <= x + w) {
      ui_grid_printf(g, start, ay + 1, n, UI_S_DIM, s->utf8, "%s", lab);
      last_end = start + n;
    }
  }
  /* the ideal line, the fit, the points: each drawn over the one before */
  for (int col = c.x; col < c.x + c.w; col++) {
    double wk = c.wmin + (c.wmax - c.wmin) * (c.w > 1 ? (double)(col - c.x) / (c.w - 1) : 0);
    if (wk / c.wmin <= c.smax)
      ui_grid_set(g, col, ui_bench_chart_row(&c, wk / c.wmin), uni ? 0xB7 : '.', UI_S_DIM);
  }
  if (fit.ok) {
    double base = ui_stats_amdahl_speedup(&fit, c.wmin);
    for (int col = c.x; col < c.x + c.w; col++) {
      double wk = c.wmin + (c.wmax - c.wmin) * (c.w > 1 ? (double)(col - c.x) / (c.w - 1) : 0);
      double sp = base > 0 ? ui_stats_amdahl_speedup(&fit, wk) / base : 0;
      ui_grid_set(g, col, ui_bench_chart_row(&c, sp), uni ? 0x2022 : '+', UI_S_WARN);
    }
  }
  for (size_t i = 0; i < s->done; i++)
    ui_grid_set(g, ui_bench_chart_col(&c, s->res->sizes[i].workers),
                ui_bench_chart_row(&c, ui_bench_view_speedup(s, i)), uni ? 0x25CF : 'O', UI_S_OK);
  *out = c;
}

/* ------------------------------------------------------------- the whole */

static void ui__keybar(ui_grid *g, const ui_bench_state *s) {
  int y = g->h - 1, x = 0;
  ui_grid_fill(g, 0, y, g->w, UI_S_KEYTEXT);
  x += ui_grid_printf(g, x, y, g->w - x, UI_S_KEY, s->utf8, "q");
  x += ui_grid_printf(g, x, y, g->w - x, UI_S_KEYTEXT, s->utf8, " Quit  ");
  if (s->finished) {
    x += ui_grid_printf(g, x, y, g->w - x, UI_S_KEY, s->utf8, "any key");
    ui_grid_printf(g, x, y, g->w - x, UI_S_KEYTEXT, s->utf8, " Close");
  } else {
    ui_grid_printf(g, x, y, g->w - x, UI_S_KEYTEXT, s->utf8,
                   "(stops the sweep, prints what was measured)");
  }
}

/* Draw the whole view. */
void ui_bench_view_render(ui_grid *g, const ui_bench_state *s, ui_bench_chart *chart) {
  ui_bench_chart none;
  if (!chart)
    chart = &none;
  memset(chart, 0, sizeof *chart);
  int W = g->w, H = g->h;
  for (int y = 0; y < H; y++)
    ui_grid_fill(g, 0, y, W, UI_S_NORMAL);
  if (W <= 0 || H <= 0)
    return;
  ui__header(g, s);
  if (H < 2)
    return;
  ui__keybar(g, s);
  if (H < 3)
    return;
  ui__progress(g, s, 1);
  int by = 3, bh = H - 1 - by; /* the body, between a blank row and the keys */
  if (bh <= 0 || !s->nsizes)
    return;
  if (W >= 100 && bh >= UI__CHART_MIN_H) {
    ui__table(g, s, 1, by, UI__TABLE_W, bh);
    ui__chart(g, s, UI__TABLE_W + 3, by, W - UI__TABLE_W - 4, bh, chart);
    return;
  }
  /* one above the other: the table takes what it needs, but leaves the
   * chart a useful height when the window has one to give */
  int th = (int)s->nsizes + 4;
  if (th > bh)
    th = bh;
  if (bh - th < UI__CHART_MIN_H + 1 && bh >= UI__CHART_MIN_H + 1 + 6)
    th = bh - UI__CHART_MIN_H - 1;
  ui__table(g, s, 1, by, W - 2, th);
  if (bh - th >= UI__CHART_MIN_H + 1)
    ui__chart(g, s, 1, by + th + 1, W - 2, bh - th - 1, chart);
}
