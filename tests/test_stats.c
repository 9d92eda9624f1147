/* test_stats.c - the statistics of `forktop bench` on fixed numbers. */
#include "ft_test.h"

#include <math.h>
#include <string.h>

#include "ui_stats.h"

#define NEAR(a, b) assert_true(fabs((a) - (b)) < 1e-9)

static void test_summary(void **state) {
  (void)state;
  double v[] = {2, 4, 4, 4, 5, 5, 7, 9};
  ui_summary s;
  ui_stats_summary(v, 8, &s);
  NEAR(s.mean, 5);
  NEAR(s.sd, sqrt(32.0 / 7)); /* sample sd */
  NEAR(s.median, 4.5);
  NEAR(s.min, 2);
  NEAR(s.max, 9);
  /* hyperfine's rule: 9 is (9 - 4.5) / MAD 0.5 = 9 MADs out, under 14.8 */
  assert_int_equal(s.outliers, 0);
  assert_false(s.slow_first);
  double one[] = {3.5};
  ui_stats_summary(one, 1, &s);
  NEAR(s.mean, 3.5);
  NEAR(s.sd, 0);
  NEAR(s.median, 3.5);
}

static void test_outliers(void **state) {
  (void)state;
  double v[] = {1.00, 1.01, 0.99, 1.02, 0.98, 1.00, 5.00};
  ui_summary s;
  ui_stats_summary(v, 7, &s);
  assert_int_equal(s.outliers, 1); /* 5.00: 400 MADs out */
  assert_false(s.slow_first);      /* it is the last, not the first */
  double slow[] = {3.0, 1.00, 1.01, 0.99, 1.00};
  ui_stats_summary(slow, 5, &s);
  assert_int_equal(s.outliers, 1);
  assert_true(s.slow_first); /* hyperfine: "the first run was significantly slower" */
  double near[] = {1.10, 1.00, 1.01, 0.99, 1.00};
  ui_stats_summary(near, 5, &s); /* 10 MADs out: under hyperfine's 14.8 */
  assert_int_equal(s.outliers, 0);
  double same[] = {2, 2, 2, 2};
  ui_stats_summary(same, 4, &s); /* MAD 0: no division by zero, no outlier */
  assert_int_equal(s.outliers, 0);
}

static void test_amdahl_exact(void **state) {
  (void)state;
  /* t1 = 10 s, s = 0.2: T(n) = 10 (0.2 + 0.8 / n) */
  double w[] = {1, 2, 4, 8};
  double t[4];
  for (int i = 0; i < 4; i++)
    t[i] = 10 * (0.2 + 0.8 / w[i]);
  ui_amdahl a;
  ui_stats_amdahl(w, t, 4, &a);
  assert_true(a.ok);
  NEAR(a.serial, 0.2);
  NEAR(a.t1, 10);
  assert_true(a.serial_err < 1e-9);
  NEAR(ui_stats_amdahl_speedup(&a, 4), 1 / (0.2 + 0.2));
}

static void test_amdahl_noisy_has_error(void **state) {
  (void)state;
  double w[] = {1, 2, 4, 8};
  double t[] = {10.3, 5.8, 4.2, 2.9};
  ui_amdahl a;
  ui_stats_amdahl(w, t, 4, &a);
  assert_true(a.ok);
  assert_true(a.serial > 0.05 && a.serial < 0.3);
  assert_true(a.serial_err > 0);
  double one[] = {2};
  double tt[] = {5};
  ui_stats_amdahl(one, tt, 1, &a);
  assert_false(a.ok); /* one size cannot be fitted */
}

static void test_recommend(void **state) {
  (void)state;
  double w[] = {1, 2, 4, 8};
  double t[] = {10, 5.2, 5.0, 5.1};
  double sd[] = {0.1, 0.1, 0.3, 0.1};
  size_t best;
  /* 5.2 is within 5.0 + 0.3: 2 workers, the fastest is 4 */
  assert_int_equal(ui_stats_recommend(w, t, sd, 4, &best), 1);
  assert_int_equal(best, 2);
  double tight[] = {0.1, 0.1, 0.05, 0.1};
  assert_int_equal(ui_stats_recommend(w, t, tight, 4, &best), 2); /* 5.1 > 5.05: the fastest */
  /* the case: 3 workers 5.8 % faster than 2 with an 8 % spread, on 2 CPUs */
  double w3[] = {1, 2, 3};
  double t3[] = {2.0, 1.058, 1.0};
  double sd3[] = {0.02, 0.08, 0.08};
  assert_int_equal(ui_stats_recommend(w3, t3, sd3, 3, NULL), 1);
  double none[] = {0, 0, 0};
  assert_int_equal(ui_stats_recommend(w3, t3, none, 3, NULL), 2); /* no spread measured */
}

/* Runs around T(n) = 10 (0.2 + 0.8 / n) with a known noise pattern. */
static void synth(const double *w, size_t n, size_t runs, double noise, double *buf,
                  const double **times, size_t *nt) {
  static const double pat[] = {-1, 1, -0.5, 0.5, 0, -0.25, 0.25, 0.8, -0.8, 0.1};
  for (size_t i = 0; i < n; i++) {
    double t = 10 * (0.2 + 0.8 / w[i]);
    for (size_t k = 0; k < runs; k++)
      buf[i * runs + k] = t * (1 + noise * pat[(k + i * 3) % 10]);
    times[i] = &buf[i * runs];
    nt[i] = runs;
  }
}

static void test_amdahl_uncertainty(void **state) {
  (void)state;
  double w[] = {1, 2, 4}, buf[3 * 10];
  const double *times[3];
  size_t nt[3];
  ui_amdahl a;
  char text[160];
  /* two sizes, one run each: the fit is exact and says nothing of its error */
  synth(w, 2, 1, 0, buf, times, nt);
  ui_stats_amdahl_runs(w, times, nt, 2, &a);
  assert_true(a.ok);
  NEAR(a.serial, 0.2);
  assert_int_equal(a.err_from, UI_FIT_ERR_NONE);
  ui_stats_amdahl_err_text(&a, text, sizeof text);
  assert_non_null(strstr(text, "unknown"));
  assert_null(strstr(text, "0.000"));
  /* ten noisy runs of three sizes: a bootstrap error, an interval that
   * holds the true fraction, a fraction near it */
  synth(w, 3, 10, 0.05, buf, times, nt);
  ui_stats_amdahl_runs(w, times, nt, 3, &a);
  assert_true(a.ok);
  assert_int_equal(a.err_from, UI_FIT_ERR_BOOTSTRAP);
  assert_true(a.serial_err > 0.001 && a.serial_err < 0.1);
  assert_true(a.lo <= 0.2 && 0.2 <= a.hi);
  assert_true(fabs(a.serial - 0.2) < 3 * a.serial_err);
  ui_stats_amdahl_err_text(&a, text, sizeof text);
  assert_non_null(strstr(text, "bootstrap"));
  assert_null(strstr(text, "0.000"));
  /* the same runs again: the same answer (a fixed seed) */
  ui_amdahl b;
  ui_stats_amdahl_runs(w, times, nt, 3, &b);
  NEAR(a.serial_err, b.serial_err);
  /* more noise, more error */
  synth(w, 3, 10, 0.15, buf, times, nt);
  ui_stats_amdahl_runs(w, times, nt, 3, &b);
  assert_true(b.serial_err > a.serial_err);
  /* one run of each of three sizes off the curve: the residuals' error */
  double t1[] = {10.3, 5.8, 3.2};
  const double *one[] = {&t1[0], &t1[1], &t1[2]};
  size_t n1[] = {1, 1, 1};
  ui_stats_amdahl_runs(w, one, n1, 3, &a);
  assert_int_equal(a.err_from, UI_FIT_ERR_RESIDUALS);
  assert_true(a.serial_err > 0);
  /* identical runs: measured, and tiny, but never "± 0.000" */
  synth(w, 3, 4, 0, buf, times, nt);
  ui_stats_amdahl_runs(w, times, nt, 3, &a);
  ui_stats_amdahl_err_text(&a, text, sizeof text);
  assert_non_null(strstr(text, "<0.001"));
  assert_null(strstr(text, "0.000"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      FT_TEST(test_summary),
      FT_TEST(test_outliers),
      FT_TEST(test_amdahl_uncertainty),
      FT_TEST(test_amdahl_exact),
      FT_TEST(test_amdahl_noisy_has_error),
      FT_TEST(test_recommend),
  };
  return FT_TEST_RUN(tests, 30);
}
