/* ui_stats.c - timing statistics and Amdahl's law for `forktop bench`. */
#include "ui_stats.h"

#include <math.h>
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

/* Mean, sample sd, median, extremes, and outliers by the modified z-score
 * (0.6745 (x - median) / MAD > 3.5, Iglewicz and Hoaglin), as hyperfine. */
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
  for (size_t i = 0; i < n && mad > 0; i++)
    out->outliers += 0.6745 * d[i] / mad > 3.5;
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
  out->ok = true;
}

/* 1 / (s + (1 - s) / n). */
double ui_stats_amdahl_speedup(const ui_amdahl *a, double n) {
  return 1.0 / (a->serial + (1.0 - a->serial) / n);
}

/* The smallest size within tolerance of the best time. */
size_t ui_stats_recommend(const double *workers, const double *times, size_t n, double tolerance) {
  size_t best = 0;
  for (size_t i = 1; i < n; i++)
    if (times[i] < times[best])
      best = i;
  size_t pick = best;
  for (size_t i = 0; i < n; i++)
    if (times[i] <= times[best] * (1 + tolerance) && workers[i] < workers[pick])
      pick = i;
  return pick;
}
