/* ui_bench_export.c - a sweep's results as JSON, CSV, Markdown and an SVG
 * chart of speedup against workers (measured, ideal, Amdahl's fit). */
#include "ui.h"
#include "ui_bench.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <string.h>

/* A string from a file or the command line for a JSON export: as it is
 * when it is valid UTF-8 (the dump escapes every non-ASCII character, so
 * nothing in the file can drive a terminal that shows it), else as the
 * terminal would show it. */
static json_t *ui_export_jstr(const char *s) {
  json_t *v = json_string(s ? s : "");
  if (v)
    return v;
  ft_buf b = {0};
  v = json_string(ui_safe_cstr(&b, s));
  ft_buf_free(&b);
  return v;
}

/* s for an SVG text node: made safe for a terminal, then XML-escaped. */
static void ui_svg_text(FILE *f, const char *s) {
  ft_buf b = {0};
  for (const char *p = ui_safe_cstr(&b, s); *p; p++) {
    switch (*p) {
    case '&':
      fputs("&amp;", f);
      break;
    case '<':
      fputs("&lt;", f);
      break;
    case '>':
      fputs("&gt;", f);
      break;
    case '"':
      fputs("&quot;", f);
      break;
    default:
      fputc(*p, f);
    }
  }
  ft_buf_free(&b);
}

/* A result's parameters, as hyperfine writes them: {"NAME": "value"}. */
static json_t *ui_export_params(const ui_bench_result *r, const ui_bench_size *z) {
  char v[32];
  snprintf(v, sizeof v, "%d", z->workers);
  json_t *p = json_object();
  json_object_set_new(p, r->size_name, json_string(v));
  return p;
}

/* JSON: hyperfine's (results[]: command, mean, stddev, median, user,
 * system, min, max, times, exit_codes, parameters), so that hyperfine's
 * scripts read it, with forktop's figures beside them in each result and
 * the fit, the advice and the machine at the top (see docs/bench.md). */
int ui_bench_export_json(const ui_bench_result *r, FILE *f) {
  json_t *o = json_object(), *results = json_array(), *m = json_object();
  for (size_t i = 0; i < r->nsizes; i++) {
    const ui_bench_size *z = &r->sizes[i];
    json_t *s = json_object(), *times = json_array(), *codes = json_array();
    json_t *cpu = json_array(), *rss = json_array(), *procs = json_array(), *peak = json_array();
    for (size_t k = 0; k < z->nruns; k++) {
      const ui_bench_run *run = &z->runs[k];
      json_array_append_new(times, json_real(run->wall));
      json_array_append_new(codes, json_integer(run->exit_status));
      json_array_append_new(cpu, json_real(run->cpu));
      json_array_append_new(rss, json_integer((json_int_t)run->peak_rss_kb));
      json_array_append_new(procs, json_integer((json_int_t)run->processes));
      json_array_append_new(peak, json_integer((json_int_t)run->peak_procs));
    }
    json_object_set_new(s, "command", ui_export_jstr(z->command));
    json_object_set_new(s, "mean", json_real(z->wall.mean));
    /* hyperfine: null with one run */
    json_object_set_new(s, "stddev", z->nruns > 1 ? json_real(z->wall.sd) : json_null());
    json_object_set_new(s, "median", json_real(z->wall.median));
    json_object_set_new(s, "user", json_real(z->user));
    json_object_set_new(s, "system", json_real(z->sys));
    json_object_set_new(s, "min", json_real(z->wall.min));
    json_object_set_new(s, "max", json_real(z->wall.max));
    json_object_set_new(s, "times", times);
    json_object_set_new(s, "exit_codes", codes);
    json_object_set_new(s, "parameters", ui_export_params(r, z));
    /* forktop's */
    json_object_set_new(s, "workers", json_integer(z->workers));
    json_object_set_new(s, "cpu_times", cpu);
    json_object_set_new(s, "peak_rss_kb", json_integer((json_int_t)z->peak_rss_kb));
    json_object_set_new(s, "peak_rss_kb_runs", rss);
    json_object_set_new(s, "processes", json_integer((json_int_t)z->processes));
    json_object_set_new(s, "processes_runs", procs);
    json_object_set_new(s, "peak_concurrency", json_integer((json_int_t)z->peak_procs));
    json_object_set_new(s, "peak_concurrency_runs", peak);
    json_object_set_new(s, "outliers", json_integer((json_int_t)z->wall.outliers));
    json_object_set_new(s, "speedup", json_real(z->speedup));
    json_object_set_new(s, "efficiency", json_real(z->efficiency));
    json_object_set_new(s, "cpu_util", json_real(z->cpu_util));
    if (r->kind != UI_BENCH_PARAM) {
      json_object_set_new(s, "tasks_per_s", json_real(z->tasks_per_s));
      json_object_set_new(s, "startup_ms", json_real(z->startup_ms));
      json_object_set_new(s, "tasks_failed", json_integer((json_int_t)z->tasks_failed));
    }
    json_object_set_new(s, "failed_runs", json_integer(z->failed_runs));
    json_object_set_new(s, "warnings", json_string(z->warnings));
    json_array_append_new(results, s);
  }
  json_object_set_new(o, "results", results);
  json_object_set_new(o, "workload", ui_export_jstr(r->workload));
  if (r->path)
    json_object_set_new(o, "path", ui_export_jstr(r->path));
  json_object_set_new(o, "kind",
                      json_string(r->kind == UI_BENCH_WORKLOAD ? "workload"
                                  : r->kind == UI_BENCH_POOL   ? "pool"
                                                               : "param"));
  json_object_set_new(o, "parameter", json_string(r->size_name));
  json_object_set_new(o, "runs", json_integer(r->runs));
  json_object_set_new(o, "warmup", json_integer(r->warmup));
  json_object_set_new(m, "cpus", json_integer(r->cpus));
  json_object_set_new(m, "affinity", json_integer(r->affinity));
  json_object_set_new(m, "loadavg",
                      json_pack("[f,f,f]", r->loadavg[0], r->loadavg[1], r->loadavg[2]));
  json_object_set_new(m, "kernel", json_string(r->kernel));
  json_object_set_new(m, "others_cpu_frac", json_real(r->others_frac));
  json_object_set_new(m, "steal_frac", json_real(r->steal_frac));
  json_t *mw = json_array();
  for (const char *p = r->machine; *p;) {
    const char *nl = strchr(p, '\n');
    size_t n = nl ? (size_t)(nl - p) : strlen(p);
    json_array_append_new(mw, json_stringn(p, n));
    p += n + (nl != NULL);
  }
  json_object_set_new(m, "warnings", mw);
  json_object_set_new(o, "machine", m);
  if (r->fit.ok) {
    static const char *const from[] = {"unknown", "residuals", "bootstrap"};
    json_t *a =
        json_pack("{s:f,s:f,s:f,s:f,s:f,s:s,s:i}", "serial", r->fit.serial, "t1", r->fit.t1,
                  "serial_err", r->fit.serial_err, "serial_lo", r->fit.lo, "serial_hi", r->fit.hi,
                  "err_from", from[r->fit.err_from], "sizes_fitted", (int)r->fitted);
    if (a && r->fit.err_from == UI_FIT_ERR_NONE)
      json_object_set_new(a, "serial_err", json_null()); /* unknown, not 0 */
    json_object_set_new(o, "amdahl", a);
  } else {
    json_object_set_new(o, "amdahl", json_null());
  }
  json_object_set_new(o, "amdahl_note", json_string(r->fit_note));
  json_object_set_new(o, "recommended", json_integer(r->recommended));
  json_object_set_new(o, "fastest", json_integer(r->fastest));
  json_object_set_new(o, "advice", json_string(r->advice));
  int rc = json_dumpf(
      o, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10) | JSON_ENSURE_ASCII);
  json_decref(o);
  fputc('\n', f);
  return rc < 0 ? -EIO : 0;
}

/* One CSV field: quoted when it holds a comma, a quote or a line break. */
static void ui_csv_field(FILE *f, const char *s) {
  ft_buf b = {0};
  const char *t = ui_safe_cstr(&b, s);
  if (!strpbrk(t, ",\"\r\n")) {
    fputs(t, f);
  } else {
    fputc('"', f);
    for (const char *p = t; *p; p++) {
      if (*p == '"')
        fputc('"', f);
      fputc(*p, f);
    }
    fputc('"', f);
  }
  ft_buf_free(&b);
}

/* CSV: hyperfine's columns (command, mean, stddev, median, user, system,
 * min, max, parameter_NAME), then forktop's. */
int ui_bench_export_csv(const ui_bench_result *r, FILE *f) {
  fprintf(f, "command,mean,stddev,median,user,system,min,max,parameter_");
  ui_csv_field(f, r->size_name);
  fprintf(f, ",runs,peak_rss_kb,processes,peak_concurrency,speedup,efficiency,cpu_util,"
             "tasks_per_s,startup_ms,tasks_failed,failed_runs\n");
  for (size_t i = 0; i < r->nsizes; i++) {
    const ui_bench_size *z = &r->sizes[i];
    ui_csv_field(f, z->command);
    fprintf(f,
            ",%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%d,%zu,%llu,%llu,%llu,%.4f,%.4f,%.4f,%.3f,%.3f,"
            "%llu,%d\n",
            z->wall.mean, z->wall.sd, z->wall.median, z->user, z->sys, z->wall.min, z->wall.max,
            z->workers, z->nruns, (unsigned long long)z->peak_rss_kb,
            (unsigned long long)z->processes, (unsigned long long)z->peak_procs, z->speedup,
            z->efficiency, z->cpu_util, z->tasks_per_s, z->startup_ms,
            (unsigned long long)z->tasks_failed, z->failed_runs);
  }
  return ferror(f) ? -EIO : 0;
}

/* Markdown: hyperfine's table (Command, Mean, Min, Max, Relative), then
 * forktop's columns; the fit, the advice, the machine. */
int ui_bench_export_markdown(const ui_bench_result *r, FILE *f) {
  ft_buf name = {0}; /* from the file: shown as a terminal would show it */
  fprintf(f, "# forktop bench: %s\n\n", ui_safe_cstr(&name, r->workload));
  double best = 0;
  for (size_t i = 0; i < r->nsizes; i++)
    if (i == 0 || r->sizes[i].wall.mean < best)
      best = r->sizes[i].wall.mean;
  bool ms = best < 1;
  const char *u = ms ? "ms" : "s";
  double k = ms ? 1000 : 1;
  fprintf(f,
          "| Command | Mean [%s] | Min [%s] | Max [%s] | Relative | %s | User [s] | System [s] | "
          "Peak RSS | Processes | Peak concurrency |\n",
          u, u, u, r->kind == UI_BENCH_PARAM ? "Value" : "Workers");
  fprintf(f, "|:---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (size_t i = 0; i < r->nsizes; i++) {
    const ui_bench_size *z = &r->sizes[i];
    ft_buf_reset(&name);
    fprintf(f, "| `");
    for (const char *p = ui_safe_cstr(&name, z->command); *p; p++)
      fputs(*p == '|' ? "\\|" : *p == '`' ? "'" : (char[]){*p, 0}, f);
    fprintf(f,
            "` | %.1f ± %.1f | %.1f | %.1f | %.2f | %d | %.3f | %.3f | %.1f MB | %llu | %llu |\n",
            z->wall.mean * k, z->wall.sd * k, z->wall.min * k, z->wall.max * k,
            best > 0 ? z->wall.mean / best : 0, z->workers, z->user, z->sys,
            (double)z->peak_rss_kb / 1024, (unsigned long long)z->processes,
            (unsigned long long)z->peak_procs);
  }
  ft_buf_free(&name);
  fprintf(f, "\n");
  if (r->fit.ok) {
    char err[128];
    ui_stats_amdahl_err_text(&r->fit, err, sizeof err);
    fprintf(f, "Amdahl's law fit: serial fraction **%.3f** %s.\n\n", r->fit.serial, err);
  }
  if (r->fit_note[0])
    fprintf(f, "%s.\n\n", r->fit_note);
  fprintf(f, "%s.\n\n", r->advice);
  for (const char *p = r->machine; *p;) {
    const char *nl = strchr(p, '\n');
    int n = nl ? (int)(nl - p) : (int)strlen(p);
    fprintf(f, "Warning: %.*s.\n\n", n, p);
    p += n + (nl != NULL);
  }
  fprintf(
      f,
      "%d runs per size after %d warm-up; %d CPUs online, %d in the affinity mask; load %.2f %.2f "
      "%.2f; %s.\n",
      r->runs, r->warmup, r->cpus, r->affinity, r->loadavg[0], r->loadavg[1], r->loadavg[2],
      r->kernel);
  return ferror(f) ? -EIO : 0;
}

/* SVG: speedup against workers; the ideal line, the Amdahl curve, the points. */
int ui_bench_export_svg(const ui_bench_result *r, FILE *f) {
  const double W = 640, H = 420, L = 60, R = 20, T = 40, B = 50;
  double maxw = 1, maxs = 1;
  for (size_t i = 0; i < r->nsizes; i++) {
    maxw = r->sizes[i].workers > maxw ? r->sizes[i].workers : maxw;
    maxs = r->sizes[i].speedup > maxs ? r->sizes[i].speedup : maxs;
  }
  double minw = r->nsizes ? r->sizes[0].workers : 1;
  maxs = fmax(maxs, maxw / minw) * 1.1;
#define X(w) (L + ((w)-minw) / (maxw - minw > 0 ? maxw - minw : 1) * (W - L - R))
#define Y(s) (H - B - (s) / maxs * (H - T - B))
  fprintf(f,
          "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
          "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\" font-size=\"12\">\n",
          W, H, W, H);
  fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
  fprintf(f, "<text x=\"%.0f\" y=\"24\" font-size=\"15\">forktop bench: ", L);
  ui_svg_text(f, r->workload);
  fprintf(f, " — speedup against workers</text>\n");
  fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n", L, H - B,
          W - R, H - B);
  fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n", L, T, L,
          H - B);
  for (size_t i = 0; i < r->nsizes; i++)
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%d</text>\n",
            X(r->sizes[i].workers), H - B + 16, r->sizes[i].workers);
  for (int k = 0; k <= 4; k++)
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.1f×</text>\n", L - 6,
            Y(maxs * k / 4) + 4, maxs * k / 4);
  fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">workers</text>\n", (L + W - R) / 2,
          H - 12);
  /* ideal: speedup = workers / smallest */
  fprintf(f,
          "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#999\" "
          "stroke-dasharray=\"6 4\"/>\n",
          X(minw), Y(1), X(maxw), Y(maxw / minw));
  if (r->fit.ok) {
    fprintf(f, "<polyline fill=\"none\" stroke=\"#d62728\" stroke-width=\"2\" points=\"");
    double base = ui_stats_amdahl_speedup(&r->fit, minw);
    for (int k = 0; k <= 50; k++) {
      double w = minw + (maxw - minw) * k / 50;
      fprintf(f, "%.1f,%.1f ", X(w), Y(ui_stats_amdahl_speedup(&r->fit, w) / base));
    }
    fprintf(f, "\"/>\n");
  }
  fprintf(f, "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.5\" points=\"");
  for (size_t i = 0; i < r->nsizes; i++)
    fprintf(f, "%.1f,%.1f ", X(r->sizes[i].workers), Y(r->sizes[i].speedup));
  fprintf(f, "\"/>\n");
  for (size_t i = 0; i < r->nsizes; i++)
    fprintf(f,
            "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"#1f77b4\"><title>%d workers: "
            "%.2f×</title></circle>\n",
            X(r->sizes[i].workers), Y(r->sizes[i].speedup), r->sizes[i].workers,
            r->sizes[i].speedup);
  double lx = L + 12, ly = T + 8;
  fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" fill=\"#1f77b4\">● measured</text>\n", lx, ly);
  fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" fill=\"#999\">- - ideal</text>\n", lx, ly + 16);
  if (r->fit.ok)
    fprintf(
        f,
        "<text x=\"%.1f\" y=\"%.1f\" fill=\"#d62728\">— Amdahl fit, serial fraction %.3f</text>\n",
        lx, ly + 32, r->fit.serial);
  fprintf(f, "</svg>\n");
#undef X
#undef Y
  return ferror(f) ? -EIO : 0;
}
