/* ui_stats.h - statistics of repeated timings and the fit of Amdahl's law,
 * for `forktop bench`.  Pure functions over arrays of numbers. */
#ifndef UI_STATS_H
#define UI_STATS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct ui_summary {
  size_t n;
  double mean, sd; /* sd: sample standard deviation (n - 1); 0 when n < 2 */
  double median, min, max;
  size_t outliers; /* values whose modified z-score exceeds 3.5 */
} ui_summary;

/* Summarise n values (n >= 1). */
void ui_stats_summary(const double *v, size_t n, ui_summary *out);
/* Median of n values (n >= 1); v is not changed. */
double ui_stats_median(const double *v, size_t n);

typedef struct ui_amdahl {
  double serial;     /* the serial fraction s, 0..1 */
  double serial_err; /* its standard error */
  double t1;         /* the fitted time on one worker */
  bool ok;           /* false when there are too few distinct sizes to fit */
} ui_amdahl;

/* Fit T(n) = t1 * (s + (1 - s) / n) to (workers[i], times[i]) by least
 * squares in 1/n; times are seconds. */
void ui_stats_amdahl(const double *workers, const double *times, size_t n, ui_amdahl *out);
/* The speedup the fit predicts at n workers. */
double ui_stats_amdahl_speedup(const ui_amdahl *a, double n);
/* Index of the smallest size whose time is within tolerance (0.05: 5 %) of the best. */
size_t ui_stats_recommend(const double *workers, const double *times, size_t n, double tolerance);

#endif
