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
  size_t outliers; /* values whose modified z-score exceeds UI_OUTLIER_Z (hyperfine's rule) */
  bool slow_first; /* the first value is such an outlier, above the rest (hyperfine's
                      "the first run was significantly slower") */
} ui_summary;

/* hyperfine's outlier threshold: a modified z-score, (x - median) / MAD,
 * beyond 10 standard deviations (1.4826 MAD estimates one). */
#define UI_OUTLIER_Z (1.4826 * 10.0)

/* Summarise n values (n >= 1). */
void ui_stats_summary(const double *v, size_t n, ui_summary *out);
/* Median of n values (n >= 1); v is not changed. */
double ui_stats_median(const double *v, size_t n);

/* Where the uncertainty of the serial fraction came from. */
typedef enum ui_fit_err {
  UI_FIT_ERR_NONE = 0,  /* unknown: one run per size and a fit through every point */
  UI_FIT_ERR_RESIDUALS, /* the fit's residuals (three sizes or more) */
  UI_FIT_ERR_BOOTSTRAP  /* the spread of the fit over resamplings of each size's runs */
} ui_fit_err;

typedef struct ui_amdahl {
  double serial;     /* the serial fraction s, 0..1 */
  double serial_err; /* its standard error (0 with err_from UI_FIT_ERR_NONE: unknown) */
  double lo, hi;     /* a 95 % interval of s (bootstrap only; else serial -+ 2 errors) */
  double t1;         /* the fitted time on one worker */
  ui_fit_err err_from;
  bool ok; /* false when there are too few distinct sizes to fit */
} ui_amdahl;

/* Fit T(n) = t1 * (s + (1 - s) / n) to (workers[i], times[i]) by least
 * squares in 1/n; times are seconds. */
void ui_stats_amdahl(const double *workers, const double *times, size_t n, ui_amdahl *out);
/* The speedup the fit predicts at n workers. */
double ui_stats_amdahl_speedup(const ui_amdahl *a, double n);
/* The same fit over every run: size i has ntimes[i] run times times[i][..].
 * Fitted on the means; the error is the larger of the residuals' and a
 * bootstrap's (each size's runs resampled with replacement, a fixed seed,
 * so the same runs give the same answer); the bootstrap needs two runs
 * of every size. */
void ui_stats_amdahl_runs(const double *workers, const double *const *times, const size_t *ntimes,
                          size_t n, ui_amdahl *out);
/* The serial fraction's uncertainty as words for a sentence: "± 0.012",
 * "± <0.001" or "(uncertainty unknown: ...)"; never "± 0.000". */
void ui_stats_amdahl_err_text(const ui_amdahl *a, char *out, size_t cap);
/* The recommendation: index of the smallest size whose mean is within the
 * measured spread of the fastest (its mean plus its standard deviation);
 * *best is the fastest's index. */
size_t ui_stats_recommend(const double *workers, const double *means, const double *sds, size_t n,
                          size_t *best);

#endif
