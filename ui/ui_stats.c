/* ui_stats.c - timing statistics and Amdahl's law for `forktop bench`. */
#include "ui_stats.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int ft__cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Median without disturbing v. */
double ui_stats_median(const double *v, size_t n) {
  double small[64], *s = n <= 64 ? small : malloc(n * sizeof *s);
  if (!s)
    return NAN;
  memcpy(s, v, n * sizeof *s);
  qsort(s, n, sizeof *s, ft__cmp_double);
  double m = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  if (s != small)
    free(s);
  return m;
}

/* Mean, sample sd, median, extremes, and outliers by hyperfine's rule: a
 * modified z-score (x - median) / MAD beyond UI_OUTLIER_Z.  With a MAD of
 * 0 (most values equal) any other value is an outlier, as in hyperfine. */
void ui_stats_summary(const double *v, size_t n, ui_summary *out) {
  memset(out, 0, sizeof *out);
  out->n = n;
  if (!n)
    return;
  double sum = 0;
  out->min = out->max = v[0];
  for (size_t i = 0; i < n; i++) {
    sum += v[i];
    out->min = v[i] < out->min ? v[i] : out->min;
    out->max = v[i] > out->max ? v[i] : out->max;
  }
  out->mean = sum / (double)n;
  double ss = 0;
  for (size_t i = 0; i < n; i++)
    ss += (v[i] - out->mean) * (v[i] - out->mean);
  out->sd = n > 1 ? sqrt(ss / (double)(n - 1)) : 0;
  out->median = ui_stats_median(v, n);
  double dev[64], *d = n <= 64 ? dev : malloc(n * sizeof *d);
  if (!d)
    return;
  for (size_t i = 0; i < n; i++)
    d[i] = fabs(v[i] - out->median);
  double mad = ui_stats_median(d, n);
  for (size_t i = 0; i < n; i++) {
    bool out_i = mad > 0 ? d[i] / mad > UI_OUTLIER_Z : d[i] > 0;
    out->outliers += out_i;
    if (i == 0 && out_i && v[0] > out->median)
      out->slow_first = true;
  }
  if (d != dev)
    free(d);
}

/* Least squares of T = a + b x with x = 1/n: a = t1 s, b = t1 (1 - s), so
 * s = a / (a + b).  The error of s comes from the covariance of (a, b). */
void ui_stats_amdahl(const double *workers, const double *times, size_t n, ui_amdahl *out) {
  memset(out, 0, sizeof *out);
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  size_t distinct = 0;
  for (size_t i = 0; i < n; i++) {
    double x = 1.0 / workers[i];
    sx += x;
    sy += times[i];
    sxx += x * x;
    sxy += x * times[i];
    bool seen = false;
    for (size_t k = 0; k < i; k++)
      seen |= workers[k] == workers[i];
    distinct += !seen;
  }
  double det = (double)n * sxx - sx * sx;
  if (distinct < 2 || det <= 0)
    return;
  double b = ((double)n * sxy - sx * sy) / det;
  double a = (sy - b * sx) / (double)n;
  double t1 = a + b;
  if (!(t1 > 0))
    return;
  double rss = 0;
  for (size_t i = 0; i < n; i++) {
    double r = times[i] - (a + b / workers[i]);
    rss += r * r;
  }
  /* residual variance; with two points the fit is exact and the error 0 */
  double var = n > 2 ? rss / (double)(n - 2) : 0;
  double va = var * sxx / det, vb = var * (double)n / det, cab = -var * sx / det;
  /* s = a / (a + b): ds/da = b / t1^2, ds/db = -a / t1^2 */
  double ga = b / (t1 * t1), gb = -a / (t1 * t1);
  double vs = ga * ga * va + gb * gb * vb + 2 * ga * gb * cab;
  out->t1 = t1;
  out->serial = a / t1;
  if (out->serial < 0)
    out->serial = 0;
  if (out->serial > 1)
    out->serial = 1;
  out->serial_err = vs > 0 ? sqrt(vs) : 0;
  out->err_from = out->serial_err > 0 ? UI_FIT_ERR_RESIDUALS : UI_FIT_ERR_NONE;
  out->lo = fmax(0, out->serial - 2 * out->serial_err);
  out->hi = fmin(1, out->serial + 2 * out->serial_err);
  out->ok = true;
}

/* xorshift64*: a small generator with a fixed seed, so that the same runs
 * always give the same interval. */
static uint64_t ui__rand(uint64_t *x) {
  *x ^= *x >> 12;
  *x ^= *x << 25;
  *x ^= *x >> 27;
  return *x * 2685821657736338717ull;
}

#define UI__BOOT 2000
#define UI__MAX_SIZES 64

/* Fit the means, then resample: each size's runs drawn with replacement
 * (as many as it has), their mean, a fit of those means; the standard
 * deviation of the 2,000 serial fractions is the bootstrap's error, their
 * 2.5 and 97.5 percentiles its interval. */
void ui_stats_amdahl_runs(const double *workers, const double *const *times, const size_t *ntimes,
                          size_t n, ui_amdahl *out) {
  memset(out, 0, sizeof *out);
  if (n > UI__MAX_SIZES)
    return;
  double means[UI__MAX_SIZES] = {0}, boot[UI__MAX_SIZES];
  bool resample = n > 0;
  for (size_t i = 0; i < n; i++) {
    if (!ntimes[i])
      return;
    double sum = 0;
    for (size_t k = 0; k < ntimes[i]; k++)
      sum += times[i][k];
    means[i] = sum / (double)ntimes[i];
    resample &= ntimes[i] >= 2;
  }
  ui_stats_amdahl(workers, means, n, out);
  if (!out->ok || !resample)
    return;
  double *s = malloc(UI__BOOT * sizeof *s);
  if (!s)
    return;
  uint64_t seed = 0x9E3779B97F4A7C15ull;
  size_t m = 0;
  for (int b = 0; b < UI__BOOT; b++) {
    for (size_t i = 0; i < n; i++) {
      double sum = 0;
      for (size_t k = 0; k < ntimes[i]; k++)
        sum += times[i][ui__rand(&seed) % ntimes[i]];
      boot[i] = sum / (double)ntimes[i];
    }
    ui_amdahl f;
    ui_stats_amdahl(workers, boot, n, &f);
    if (f.ok)
      s[m++] = f.serial;
  }
  if (m >= 2) {
    double mean = 0, ss = 0;
    for (size_t i = 0; i < m; i++)
      mean += s[i];
    mean /= (double)m;
    for (size_t i = 0; i < m; i++)
      ss += (s[i] - mean) * (s[i] - mean);
    double sd = sqrt(ss / (double)(m - 1));
    qsort(s, m, sizeof *s, ft__cmp_double);
    if (sd >= out->serial_err) {
      out->serial_err = sd;
      out->err_from = UI_FIT_ERR_BOOTSTRAP;
      out->lo = s[(size_t)(0.025 * (double)(m - 1))];
      out->hi = s[(size_t)(0.975 * (double)(m - 1) + 0.5)];
    }
  }
  free(s);
}

/* The uncertainty as words: never "± 0.000". */
void ui_stats_amdahl_err_text(const ui_amdahl *a, char *out, size_t cap) {
  if (a->err_from == UI_FIT_ERR_NONE)
    snprintf(out, cap,
             "(uncertainty unknown: one run per size, and the fit passes through every "
             "mean)");
  else if (a->serial_err < 0.0005)
    snprintf(out, cap, "± <0.001 (%s)",
             a->err_from == UI_FIT_ERR_BOOTSTRAP ? "bootstrap over runs" : "fit residuals");
  else
    snprintf(out, cap, "± %.3f (%s)", a->serial_err,
             a->err_from == UI_FIT_ERR_BOOTSTRAP ? "bootstrap over runs" : "fit residuals");
}

/* 1 / (s + (1 - s) / n). */
double ui_stats_amdahl_speedup(const ui_amdahl *a, double n) {
  return 1.0 / (a->serial + (1.0 - a->serial) / n);
}

/* The smallest size whose mean is within the fastest's mean plus its
 * standard deviation: a size slower by less than the noise of the
 * fastest is not told apart from it, and the smaller is cheaper. */
size_t ui_stats_recommend(const double *workers, const double *means, const double *sds, size_t n,
                          size_t *best_out) {
  size_t best = 0;
  for (size_t i = 1; i < n; i++)
    if (means[i] < means[best])
      best = i;
  size_t pick = best;
  for (size_t i = 0; i < n; i++)
    if (means[i] <= means[best] + sds[best] && workers[i] < workers[pick])
      pick = i;
  if (best_out)
    *best_out = best;
  return pick;
}
