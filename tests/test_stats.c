/* test_stats.c - the statistics of `forktop bench` on fixed numbers. */
#include "ft_test.h"

#include <math.h>

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
  assert_int_equal(s.outliers, 1); /* 9: 0.6745 * 4.5 / MAD 0.5 = 6.1 > 3.5 */
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
  assert_int_equal(s.outliers, 1);
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
  assert_int_equal(ui_stats_recommend(w, t, 4, 0.05), 1); /* 5.2 is within 5 % of 5.0 */
  assert_int_equal(ui_stats_recommend(w, t, 4, 0.01), 2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      FT_TEST(test_summary),      FT_TEST(test_outliers),
      FT_TEST(test_amdahl_exact), FT_TEST(test_amdahl_noisy_has_error),
      FT_TEST(test_recommend),
  };
  return FT_TEST_RUN(tests, 30);
}
