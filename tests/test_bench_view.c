/* test_bench_view.c - the live view of `forktop bench` rendered into a grid
 * of cells without a terminal: the header, the progress bar, the table,
 * the chart's points at the right cells, small windows, the ASCII fallback. */
#include "ft_test.h"

#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui_bench_view.h"

#define DOT 0x25CF    /* ● a measured point */
#define IDEAL 0xB7    /* · the ideal line */
#define AMDAHL 0x2022 /* • the Amdahl fit */

static const int sizes3[] = {1, 2, 4};

typedef struct fx {
  ui_bench_result res;
  ui_bench_state st;
  ui_grid g;
  ui_bench_chart chart;
  char line[4096];
} fx;

/* A sweep of 1, 2, 4 workers with the given mean wall times, `done` of
 * them finished. */
static fx *fx_new(const double *means, size_t done) {
  fx *f = calloc(1, sizeof *f);
  assert_non_null(f);
  f->res.workload = "cpu-map";
  f->res.runs = 3;
  f->res.warmup = 1;
  for (size_t i = 0; i < 3; i++) {
    f->res.sizes[i].workers = sizes3[i];
    f->res.sizes[i].wall.mean = means ? means[i] : 1;
    f->res.sizes[i].wall.sd = 0.01;
    f->res.sizes[i].wall.n = 3;
  }
  f->res.nsizes = done;
  f->st = (ui_bench_state){.workload = "cpu-map",
                           .sizes = sizes3,
                           .nsizes = 3,
                           .runs = 3,
                           .warmup = 1,
                           .cur = done < 3 ? done : 2,
                           .run = 0,
                           .running = done < 3,
                           .res = &f->res,
                           .done = done,
                           .utf8 = true};
  return f;
}

static void fx_free(fx *f) {
  ui_grid_free(&f->g);
  free(f);
}

/* Render at w x h, proving nothing was written past the grid's cells. */
static void render(fx *f, int w, int h) {
  assert_int_equal(ui_grid_resize(&f->g, w, h), 0);
  ui_cell *sentinel = &f->g.cells[(size_t)w * (size_t)h]; /* ui_grid_resize keeps one spare */
  *sentinel = (ui_cell){0x2BAD, 77};
  ui_bench_view_render(&f->g, &f->st, &f->chart);
  assert_int_equal(sentinel->ch, 0x2BAD);
  assert_int_equal(sentinel->style, 77);
}

static const char *line(fx *f, int y) { return ui_grid_line(&f->g, y, f->line, sizeof f->line); }

/* The first row from `from` on containing text, or -1. */
static int find_line_from(fx *f, const char *text, int from) {
  for (int y = from; y < f->g.h; y++)
    if (strstr(line(f, y), text))
      return y;
  return -1;
}

/* The first row containing text, or -1. */
static int find_line(fx *f, const char *text) {
  for (int y = 0; y < f->g.h; y++)
    if (strstr(line(f, y), text))
      return y;
  return -1;
}

static uint32_t at(const fx *f, int x, int y) {
  assert_true(x >= 0 && y >= 0 && x < f->g.w && y < f->g.h);
  return UI_CELL(&f->g, x, y)->ch;
}

/* Cells of a code point in a rectangle. */
static int count_in(const fx *f, uint32_t ch, int x, int y, int w, int h) {
  int n = 0;
  for (int r = y; r < y + h; r++)
    for (int c = x; c < x + w; c++)
      n += UI_CELL(&f->g, c, r)->ch == ch;
  return n;
}

/* The header says the workload, the size, the run (or warm-up), the time;
 * the second row counts the run's tasks. */
static void test_header(void **state) {
  (void)state;
  double means[3] = {4, 2, 1};
  fx *f = fx_new(means, 1);
  f->st.tasks_total = 64;
  f->st.tasks_done = 10;
  f->st.tasks_failed = 2;
  f->st.elapsed = 1.5;
  f->st.sweep_elapsed = 7.5;
  render(f, 120, 40);
  const char *top = line(f, 0);
  assert_non_null(strstr(top, "forktop bench: cpu-map"));
  assert_non_null(strstr(top, "size 2 of 3 (2 workers)"));
  assert_non_null(strstr(top, "run 1 of 3"));
  assert_non_null(strstr(top, "7.5 s"));
  const char *prog = line(f, 1);
  assert_non_null(strstr(prog, "tasks "));
  assert_non_null(strstr(prog, "10/64"));
  assert_non_null(strstr(prog, "2 failed"));
  assert_non_null(strstr(prog, "1.5 s"));
  assert_non_null(strstr(line(f, 39), "q Quit"));
  /* the running size and the one still to come */
  assert_true(find_line(f, "running: run 1 of 3") > 2);
  assert_true(find_line(f, "waiting") > 2);
  /* a warm-up run */
  f->st.run = -1;
  render(f, 120, 40);
  assert_non_null(strstr(line(f, 0), "warm-up 1 of 1"));
  assert_true(find_line_from(f, "warm-up 1 of 1", 1) > 2); /* the table's row */
  /* the first size: one worker, no plural */
  f->st.cur = 0;
  f->st.run = 2;
  render(f, 120, 40);
  assert_non_null(strstr(line(f, 0), "size 1 of 3 (1 worker)  run 3 of 3"));
  /* a command's parameter (--param N=...): its values and its tree */
  f->st.size_name = "N";
  f->st.tasks_total = f->st.tasks_done = f->st.tasks_failed = 0;
  f->st.procs_alive = 3;
  f->st.procs_total = 7;
  f->st.procs_peak = 4;
  render(f, 120, 40);
  assert_non_null(strstr(line(f, 0), "value 1 of 3 (N=1)  run 3 of 3"));
  assert_non_null(strstr(line(f, 1), "processes 3 alive, 7 in all, 4 at most at once"));
  assert_true(find_line(f, "      N  wall") > 2);
  fx_free(f);
}

/* The progress bar fills in proportion: 32 of 64 tasks done is half. */
static void test_progress_bar(void **state) {
  (void)state;
  fx *f = fx_new(NULL, 0);
  f->st.tasks_total = 64;
  f->st.tasks_done = 32;
  render(f, 120, 40);
  int full = count_in(f, 0x2588, 0, 1, 120, 1), empty = count_in(f, 0x2591, 0, 1, 120, 1);
  assert_true(full > 0);
  assert_int_equal(full, empty);
  /* a failure is never invisible */
  f->st.tasks_done = 63;
  f->st.tasks_failed = 1;
  render(f, 120, 40);
  assert_true(count_in(f, 0x2588, 0, 1, 120, 1) > 0);
  bool red = false;
  for (int x = 0; x < 120; x++)
    red |= UI_CELL(&f->g, x, 1)->style == UI_S_BAR_FAIL;
  assert_true(red);
  fx_free(f);
}

/* Known speedups (1, 1.6, 2) land on the cells the scales give, and those
 * are where they should be: the left and right ends of the plot, and a
 * third of the way across for 2 workers of 1..4. */
static void check_points(fx *f) {
  const ui_bench_chart *c = &f->chart;
  assert_true(c->w > 10 && c->h > 3);
  assert_true(c->wmin == 1 && c->wmax == 4);
  assert_true(fabs(c->smax - 4.5) < 1e-9); /* the ideal's 4x, and a margin, rounded up */
  assert_int_equal(ui_bench_chart_col(c, 1), c->x);
  assert_int_equal(ui_bench_chart_col(c, 4), c->x + c->w - 1);
  assert_int_equal(ui_bench_chart_col(c, 2), c->x + (int)lround((c->w - 1) / 3.0));
  assert_int_equal(ui_bench_chart_row(c, 0), c->y + c->h - 1);
  assert_int_equal(ui_bench_chart_row(c, 1.6),
                   c->y + c->h - 1 - (int)lround(1.6 / 4.5 * (c->h - 1)));
  assert_int_equal(at(f, ui_bench_chart_col(c, 1), ui_bench_chart_row(c, 1)), DOT);
  assert_int_equal(at(f, ui_bench_chart_col(c, 2), ui_bench_chart_row(c, 1.6)), DOT);
  assert_int_equal(at(f, ui_bench_chart_col(c, 4), ui_bench_chart_row(c, 2)), DOT);
  assert_int_equal(count_in(f, DOT, c->x, c->y, c->w, c->h), 3);
  /* the ideal line reaches 4x at 4 workers; the Amdahl fit is drawn */
  assert_int_equal(at(f, ui_bench_chart_col(c, 4), ui_bench_chart_row(c, 4)), IDEAL);
  assert_true(count_in(f, AMDAHL, c->x, c->y, c->w, c->h) > c->w / 2);
  /* the axes, and the sizes under them */
  assert_int_equal(at(f, c->x - 1, c->y), 0x2502);
  assert_int_equal(at(f, c->x - 1, c->y + c->h), 0x2514);
  assert_int_equal(at(f, ui_bench_chart_col(c, 4), c->y + c->h + 1), '4');
  assert_int_equal(at(f, ui_bench_chart_col(c, 1), c->y + c->h + 1), '1');
  assert_int_equal(at(f, ui_bench_chart_col(c, 2), c->y + c->h + 1), '2');
}

/* The finished sweep: the table, the fit, the recommendation, the chart,
 * side by side (120 columns) and one above the other (80). */
static void test_table_and_chart(void **state) {
  (void)state;
  double means[3] = {4, 2.5, 2};
  fx *f = fx_new(means, 3);
  f->st.finished = true;
  f->res.recommended = 4;
  render(f, 120, 40);
  assert_non_null(strstr(line(f, 0), "finished: 3 sizes"));
  assert_true(find_line(f, "press any key") == 1);
  assert_non_null(strstr(line(f, 39), "any key"));
  int y = find_line(f, "wall (mean ± sd)");
  assert_true(y > 0);
  assert_non_null(strstr(line(f, y + 1), "      1    4.000 ±  0.010 s    1.00x    100%"));
  assert_non_null(strstr(line(f, y + 2), "      2    2.500 ±  0.010 s    1.60x     80%"));
  assert_non_null(strstr(line(f, y + 3), "      4    2.000 ±  0.010 s    2.00x     50% ◀"));
  assert_true(find_line(f, "Amdahl: serial fraction") > y);
  assert_true(find_line(f, "recommended pool size: 4") > y);
  assert_true(find_line(f, "● measured") >= 0);
  assert_true(find_line(f, "• Amdahl") >= 0);
  assert_true(f->chart.x > 46); /* beside the table */
  check_points(f);
  render(f, 80, 40);
  assert_true(f->chart.x < 20 && f->chart.y > y + 3); /* under the table */
  check_points(f);
  fx_free(f);
}

/* The fit and its curve wait for two finished sizes. */
static void test_amdahl_after_two(void **state) {
  (void)state;
  double means[3] = {4, 2.5, 2};
  fx *f = fx_new(means, 1);
  render(f, 120, 40);
  assert_true(find_line(f, "Amdahl fit: after two sizes") > 0);
  assert_true(find_line(f, "fastest so far: 1 worker") > 0);
  assert_true(find_line(f, "• Amdahl") < 0);
  assert_int_equal(count_in(f, AMDAHL, 0, 0, 120, 40), 0);
  assert_int_equal(count_in(f, DOT, f->chart.x, f->chart.y, f->chart.w, f->chart.h), 1);
  f->st.done = 2;
  f->res.nsizes = 2;
  f->st.cur = 2;
  render(f, 120, 40);
  assert_true(find_line(f, "Amdahl: serial fraction") > 0);
  assert_true(find_line(f, "fastest so far: 2 workers") > 0);
  assert_true(count_in(f, AMDAHL, f->chart.x, f->chart.y, f->chart.w, f->chart.h) > 0);
  assert_int_equal(count_in(f, DOT, f->chart.x, f->chart.y, f->chart.w, f->chart.h), 2);
  fx_free(f);
}

/* The live fit, as the report's, leaves out the sizes above the CPUs:
 * 1 and 2 workers at 4 and 2.2 s are s = 0.1 exactly; with 4 workers at
 * 2.0 s it would be another fraction. */
static void test_amdahl_up_to_the_cpus(void **state) {
  (void)state;
  double means[3] = {4, 2.2, 2.0};
  fx *f = fx_new(means, 3);
  f->st.cpus = 2;
  render(f, 120, 40);
  assert_true(find_line(f, "Amdahl: serial fraction 0.100") > 0);
  f->st.cpus = 0; /* every size */
  render(f, 120, 40);
  assert_true(find_line(f, "Amdahl: serial fraction") > 0);
  assert_true(find_line(f, "Amdahl: serial fraction 0.100") < 0);
  fx_free(f);
}

/* Small windows: nothing is written outside the grid, the header and the
 * keys stay; below the chart's minimum the chart simply goes. */
static void test_small_sizes(void **state) {
  (void)state;
  double means[3] = {4, 2.5, 2};
  fx *f = fx_new(means, 2);
  f->st.tasks_total = 100;
  f->st.tasks_done = 50;
  static const int wh[][2] = {{0, 0},   {1, 1},  {5, 2},  {20, 5},  {20, 3},  {30, 10}, {44, 12},
                              {60, 20}, {60, 8}, {99, 9}, {100, 9}, {100, 4}, {200, 6}, {300, 80}};
  for (size_t i = 0; i < sizeof wh / sizeof wh[0]; i++) {
    for (int fin = 0; fin < 2; fin++) {
      f->st.finished = fin;
      render(f, wh[i][0], wh[i][1]);
      if (f->chart.w) { /* a chart drawn is inside the grid */
        assert_true(f->chart.x >= 0 && f->chart.x + f->chart.w <= f->g.w);
        assert_true(f->chart.y >= 0 && f->chart.y + f->chart.h + 2 <= f->g.h);
      }
    }
  }
  f->st.finished = false;
  render(f, 20, 5);
  assert_non_null(strstr(line(f, 0), " cpu-map  size 3 of"));
  assert_non_null(strstr(line(f, 4), "q Quit"));
  assert_int_equal(f->chart.w, 0);
  render(f, 60, 20);
  assert_non_null(strstr(line(f, 0), " cpu-map  size 3 of 3 (4 workers)  run 1 of 3  0.0 s"));
  assert_non_null(strstr(line(f, 19), "q Quit"));
  assert_true(find_line(f, "wall (mean") > 1);
  assert_true(find_line(f, "running: run 1 of 3") > 1);
  fx_free(f);
}

/* --ascii, or a terminal without UTF-8: not one byte above 0x7f. */
static void test_ascii(void **state) {
  (void)state;
  double means[3] = {4, 2.5, 2};
  fx *f = fx_new(means, 3);
  f->res.recommended = 4;
  f->st.tasks_total = 10;
  f->st.tasks_done = 5;
  f->st.tasks_failed = 1;
  static const int wh[][2] = {{120, 40}, {80, 30}, {60, 20}, {20, 5}};
  for (int mode = 0; mode < 2; mode++) {
    f->st.ascii = mode == 0;
    f->st.utf8 = mode == 0; /* --ascii on a UTF-8 terminal; then no UTF-8 at all */
    for (int fin = 0; fin < 2; fin++) {
      f->st.finished = fin;
      for (size_t i = 0; i < sizeof wh / sizeof wh[0]; i++) {
        render(f, wh[i][0], wh[i][1]);
        for (int y = 0; y < f->g.h; y++)
          for (const char *p = line(f, y); *p; p++)
            assert_true((unsigned char)*p < 0x80);
      }
    }
  }
  render(f, 120, 40);
  assert_true(find_line(f, "wall (mean +- sd)") > 0);
  assert_true(find_line(f, "O measured") > 0);
  assert_int_equal(at(f, ui_bench_chart_col(&f->chart, 2), ui_bench_chart_row(&f->chart, 1.6)),
                   'O');
  assert_int_equal(at(f, f->chart.x - 1, f->chart.y + f->chart.h), '+');
  fx_free(f);
}

/* A hostile workload name is drawn inert. */
static void test_hostile_name(void **state) {
  (void)state;
  fx *f = fx_new(NULL, 0);
  f->st.workload = "evil\x1b]52;c;SGVsbG8=\x07name";
  render(f, 120, 40);
  for (int x = 0; x < f->g.w; x++)
    assert_true(UI_CELL(&f->g, x, 0)->ch >= 0x20);
  assert_non_null(strstr(line(f, 0), "evil\\x1b]52"));
  fx_free(f);
}

int main(void) {
  setlocale(LC_CTYPE, "C.UTF-8");
  const struct CMUnitTest tests[] = {
      FT_TEST(test_header),          FT_TEST(test_progress_bar),
      FT_TEST(test_table_and_chart), FT_TEST(test_amdahl_after_two),
      FT_TEST(test_small_sizes),     FT_TEST(test_ascii),
      FT_TEST(test_hostile_name),    FT_TEST(test_amdahl_up_to_the_cpus),
  };
  return FT_TEST_RUN(tests, 60);
}
