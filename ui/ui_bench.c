/* ui_bench.c - `forktop bench`: run one workload at several pool sizes,
 * several times each, and say which size runs it fastest and why. */
#include "ui_bench.h"
#include "ui.h"

#include <errno.h>
#include <math.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "ft_guard.h"

/* ------------------------------------------------------------- sizes */

static int ui_bench_add(ui_bench_opts *o, const char *opt, long v, char *err, size_t cap) {
  long lo = o->kind == UI_BENCH_PARAM ? 0 : 1;
  if (v < lo || v > INT32_MAX) {
    snprintf(err, cap, "%s: %ld is out of range (%ld to %d)", opt, v, lo, INT32_MAX);
    return -1;
  }
  ft_buf lim = {0}; /* pool sizes: no fixed maximum, what a pool takes and ulimit -u */
  if (o->kind != UI_BENCH_PARAM && ft_plan_workers_check((uint64_t)v, &lim) < 0) {
    snprintf(err, cap, "%s: %.*s", opt, (int)lim.len, lim.data ? lim.data : "");
    ft_buf_free(&lim);
    return -1;
  }
  for (size_t i = 0; i < o->nsizes; i++)
    if (o->sizes[i] == v)
      return 0; /* each size once */
  if (o->nsizes == UI_BENCH_MAX_SIZES) {
    snprintf(err, cap, "%s: more than %d sizes", opt, UI_BENCH_MAX_SIZES);
    return -1;
  }
  o->sizes[o->nsizes++] = (int)v;
  return 0;
}

static bool ui_num(const char *s, const char *e, long *out) {
  if (s == e)
    return false;
  char *end;
  *out = strtol(s, &end, 10);
  return end == e;
}

/* "1,2,4", "1..8", "1..16:2", "1,4..8". */
int ui_bench_parse_sizes(const char *s, const char *opt, ui_bench_opts *o, char *err, size_t cap) {
  o->nsizes = 0;
  if (!*s) {
    snprintf(err, cap, "%s: empty list", opt);
    return -1;
  }
  for (const char *p = s;;) {
    const char *end = p + strcspn(p, ",");
    const char *dots = strstr(p, "..");
    long a, b, step = 1;
    if (dots && dots < end) {
      const char *colon = memchr(dots, ':', (size_t)(end - dots));
      if (!ui_num(p, dots, &a) || !ui_num(dots + 2, colon ? colon : end, &b) ||
          (colon && !ui_num(colon + 1, end, &step)) || step < 1 || b < a) {
        snprintf(err, cap, "%s: bad range \"%.*s\" (expected A..B or A..B:STEP)", opt,
                 (int)(end - p), p);
        return -1;
      }
      for (long v = a; v <= b; v += step)
        if (ui_bench_add(o, opt, v, err, cap) < 0)
          return -1;
    } else if (!ui_num(p, end, &a)) {
      snprintf(err, cap, "%s: \"%.*s\" is not a number", opt, (int)(end - p), p);
      return -1;
    } else if (ui_bench_add(o, opt, a, err, cap) < 0) {
      return -1;
    }
    if (!*end)
      break;
    p = end + 1;
  }
  /* ascending, so "speedup against the smallest" reads naturally */
  for (size_t i = 1; i < o->nsizes; i++)
    for (size_t k = i; k > 0 && o->sizes[k - 1] > o->sizes[k]; k--) {
      int t = o->sizes[k];
      o->sizes[k] = o->sizes[k - 1];
      o->sizes[k - 1] = t;
    }
  return 0;
}

/* ------------------------------------------------------------- the sweep */

static void ui_bench_machine(ui_bench_result *res) {
  res->cpus = ft_cpu_count();
  cpu_set_t set;
  res->affinity = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : res->cpus;
  if (getloadavg(res->loadavg, 3) < 0)
    res->loadavg[0] = res->loadavg[1] = res->loadavg[2] = -1;
  struct utsname u;
  if (uname(&u) == 0)
    snprintf(res->kernel, sizeof res->kernel, "%.64s %.64s %.64s", u.sysname, u.release, u.machine);
}

#define UI_ADD(buf, w, ...)                                                                        \
  do {                                                                                             \
    if ((w) < sizeof(buf))                                                                         \
      (w) += (size_t)snprintf((buf) + (w), sizeof(buf) - (w), __VA_ARGS__);                        \
  } while (0)

static void ui_bench_finish_size(ui_bench_result *res, ui_bench_size *z) {
  size_t n = z->nruns;
  double *walls = malloc((n ? n : 1) * sizeof *walls), startup = 0;
  if (!walls)
    return;
  uint64_t tasks = 0;
  double cpu = 0, procs = 0;
  z->user = z->sys = 0;
  z->tasks_failed = z->peak_rss_kb = z->peak_procs = 0;
  z->failed_runs = 0;
  for (size_t i = 0; i < n; i++) {
    const ui_bench_run *r = &z->runs[i];
    walls[i] = r->wall;
    startup += r->startup;
    tasks += r->tasks;
    cpu += r->cpu;
    z->user += r->user / (double)n;
    z->sys += r->sys / (double)n;
    procs += (double)r->processes;
    z->tasks_failed += r->tasks_failed;
    z->failed_runs += r->exit_status != 0;
    if (r->peak_rss_kb > z->peak_rss_kb)
      z->peak_rss_kb = r->peak_rss_kb;
    if (r->peak_procs > z->peak_procs)
      z->peak_procs = r->peak_procs;
  }
  z->processes = (uint64_t)(procs / (double)n + 0.5);
  ui_stats_summary(walls, n, &z->wall);
  z->tasks_per_s = z->wall.mean > 0 ? (double)tasks / (double)n / z->wall.mean : 0;
  z->startup_ms = startup / (double)n * 1000;
  z->cpu_util = z->wall.mean > 0 ? cpu / (double)n / z->wall.mean / res->cpus : 0;
  size_t w = 0;
  z->warnings[0] = '\0';
  /* hyperfine's two warnings from the same scores: a slow first run, or
   * outliers elsewhere */
  if (z->wall.slow_first)
    UI_ADD(z->warnings, w,
           "the first run was significantly slower than the rest (%.3f s): caches not yet warm? "
           "Use --warmup or --prepare. ",
           walls[0]);
  else if (z->wall.outliers)
    UI_ADD(z->warnings, w,
           "statistical outliers were detected (%zu): re-run on a quiet system, or use --warmup "
           "or --prepare. ",
           z->wall.outliers);
  if (n > 1 && z->wall.mean > 0 && z->wall.sd / z->wall.mean > 0.10)
    UI_ADD(z->warnings, w, "noisy: the standard deviation is %.0f%% of the mean. ",
           100 * z->wall.sd / z->wall.mean);
  if (z->failed_runs)
    UI_ADD(z->warnings, w, "%d run(s) failed (non-zero exit status). ", z->failed_runs);
  free(walls);
}

/* The fit (on the sizes up to the CPUs), the recommendation, and what
 * about the machine makes the numbers less sure. */
static void ui_bench_finish(ui_bench_result *res) {
  double workers[UI_BENCH_MAX_SIZES], means[UI_BENCH_MAX_SIZES], sds[UI_BENCH_MAX_SIZES];
  double fw[UI_BENCH_MAX_SIZES];
  const double *ft[UI_BENCH_MAX_SIZES];
  size_t fn[UI_BENCH_MAX_SIZES], nfit = 0, over = 0;
  double *walls[UI_BENCH_MAX_SIZES] = {0};
  double wall_all = 0, others = 0, steal = 0;
  bool param = res->kind == UI_BENCH_PARAM;
  for (size_t i = 0; i < res->nsizes; i++) {
    ui_bench_size *z = &res->sizes[i];
    workers[i] = z->workers;
    means[i] = z->wall.mean;
    sds[i] = z->wall.sd;
    z->speedup = z->wall.mean > 0 ? res->sizes[0].wall.mean / z->wall.mean : 0;
    z->efficiency = z->workers > 0 ? z->speedup * res->sizes[0].workers / z->workers : 0;
    /* /proc/stat counts in clock ticks (10 ms): runs shorter than 100 ms
     * would be judged by their rounding */
    for (size_t k = 0; k < z->nruns; k++)
      if (z->runs[k].wall >= 0.1) {
        wall_all += z->runs[k].wall;
        others += z->runs[k].others_cpu;
        steal += z->runs[k].steal;
      }
    over += z->workers > res->cpus;
    if (z->workers > res->cpus || z->workers < 1 || !z->nruns)
      continue;
    if ((walls[nfit] = malloc(z->nruns * sizeof *walls[nfit])) == NULL)
      continue;
    for (size_t k = 0; k < z->nruns; k++)
      walls[nfit][k] = z->runs[k].wall;
    fw[nfit] = z->workers;
    ft[nfit] = walls[nfit];
    fn[nfit++] = z->nruns;
  }
  memset(&res->fit, 0, sizeof res->fit);
  res->fitted = nfit;
  res->fit_note[0] = '\0';
  if (nfit >= 2) {
    ui_stats_amdahl_runs(fw, ft, fn, nfit, &res->fit);
    if (over)
      snprintf(res->fit_note, sizeof res->fit_note,
               "fitted on the %zu size(s) up to the %d online CPUs; above them the workers share "
               "CPUs and Amdahl's law does not apply",
               nfit, res->cpus);
  } else {
    snprintf(res->fit_note, sizeof res->fit_note,
             "no Amdahl fit: it needs two sizes from 1 up to the %d online CPUs (%zu given)",
             res->cpus, nfit);
  }
  for (size_t i = 0; i < nfit; i++)
    free(walls[i]);
  size_t best = 0, pick = ui_stats_recommend(workers, means, sds, res->nsizes, &best);
  res->recommended = res->sizes[pick].workers;
  res->fastest = res->sizes[best].workers;
  const char *what = param ? res->size_name : "pool size";
  char bv[64];
  if (param)
    snprintf(bv, sizeof bv, "%s=%d", res->size_name, res->fastest);
  else
    snprintf(bv, sizeof bv, "%d worker%s", res->fastest, res->fastest == 1 ? "" : "s");
  const ui_bench_size *zb = &res->sizes[best];
  if (pick == best && zb->nruns < 2)
    snprintf(res->advice, sizeof res->advice,
             "recommended %s: %d, the fastest (%.3f s); with one run per size there is no "
             "measured spread to judge the difference by",
             what, res->recommended, zb->wall.mean);
  else if (pick == best && best == 0)
    snprintf(res->advice, sizeof res->advice,
             "recommended %s: %d, the smallest and the fastest (%.3f ± %.3f s)", what,
             res->recommended, zb->wall.mean, zb->wall.sd);
  else if (pick == best)
    snprintf(res->advice, sizeof res->advice,
             "recommended %s: %d, the fastest (%.3f ± %.3f s); no smaller one is within its "
             "spread",
             what, res->recommended, zb->wall.mean, zb->wall.sd);
  else
    snprintf(res->advice, sizeof res->advice,
             "recommended %s: %d, the smallest whose mean time (%.3f s) is within the measured "
             "spread of the fastest, %s (%.3f ± %.3f s): the difference is within the noise",
             what, res->recommended, res->sizes[pick].wall.mean, bv, zb->wall.mean, zb->wall.sd);
  /* the machine */
  size_t w = 0;
  res->machine[0] = '\0';
  double cap = wall_all * res->cpus;
  res->others_frac = cap >= 0.5 ? fmin(1, others / cap) : 0;
  res->steal_frac = cap >= 0.5 ? fmin(1, steal / cap) : 0;
  if (over) {
    UI_ADD(res->machine, w, "%zu size(s) exceed the %d online CPUs (", over, res->cpus);
    bool first = true;
    for (size_t i = 0; i < res->nsizes; i++)
      if (res->sizes[i].workers > res->cpus) {
        UI_ADD(res->machine, w, "%s%d", first ? "" : ", ", res->sizes[i].workers);
        first = false;
      }
    UI_ADD(res->machine, w, "): there they measure time-sharing, not parallelism\n");
  }
  if (res->loadavg[0] > 0.5 * res->cpus)
    UI_ADD(res->machine, w,
           "the machine was busy before the sweep (load average %.2f on %d CPUs)\n",
           res->loadavg[0], res->cpus);
  if (res->others_frac > 0.10)
    UI_ADD(res->machine, w,
           "the machine was busy during the runs: other processes used %.0f%% of the CPUs' "
           "time\n",
           100 * res->others_frac);
  if (res->steal_frac > 0.02)
    UI_ADD(res->machine, w, "the hypervisor stole %.0f%% of the CPUs' time during the runs\n",
           100 * res->steal_frac);
}

/* The figures that make the size's line (the CPU, RSS and processes are the tree's). */
static void ui_bench_table(const ui_bench_result *res, FILE *f) {
  bool pool = res->kind != UI_BENCH_PARAM;
  char head[16];
  snprintf(head, sizeof head, "%.8s", pool ? "workers" : res->size_name);
  fprintf(f, "\n%-7s %-20s %7s %7s %7s %7s %7s %9s %5s %4s", head, "wall (mean ± sd)", "min", "max",
          "user", "system", "speedup", "peak RSS", "procs", "peak");
  if (pool)
    fprintf(f, " %8s %8s %6s", "tasks/s", "startup", "failed");
  fprintf(f, "\n");
  for (size_t i = 0; i < res->nsizes; i++) {
    const ui_bench_size *z = &res->sizes[i];
    char wall[32];
    snprintf(wall, sizeof wall, "%.3f ± %.3f s", z->wall.mean, z->wall.sd);
    fprintf(f, "%-7d %-20s %7.3f %7.3f %7.3f %7.3f %6.2fx %6.1f MB %5llu %4llu", z->workers, wall,
            z->wall.min, z->wall.max, z->user, z->sys, z->speedup, (double)z->peak_rss_kb / 1024,
            (unsigned long long)z->processes, (unsigned long long)z->peak_procs);
    if (pool)
      fprintf(f, " %8.1f %5.1f ms %6llu", z->tasks_per_s, z->startup_ms,
              (unsigned long long)z->tasks_failed);
    fprintf(f, "\n");
  }
  for (size_t i = 0; i < res->nsizes; i++)
    if (res->sizes[i].warnings[0])
      fprintf(f, "warning: %s %d: %s\n", pool ? "workers" : res->size_name, res->sizes[i].workers,
              res->sizes[i].warnings);
  if (res->fit.ok) {
    char err[128];
    ui_stats_amdahl_err_text(&res->fit, err, sizeof err);
    fprintf(f, "\nAmdahl's law: serial fraction %.3f %s", res->fit.serial, err);
    if (res->fit.serial > 0.0005)
      fprintf(f, ", so at most %.1fx faster than %s%s", 1 / res->fit.serial,
              pool ? "one worker" : res->size_name, pool ? "" : "=1");
    else
      fprintf(f, ": no limit to the speedup seen");
    if (res->fit.err_from == UI_FIT_ERR_BOOTSTRAP && res->fit.hi - res->fit.lo >= 0.001)
      fprintf(f, " (95%% interval of the fraction %.3f to %.3f)", res->fit.lo, res->fit.hi);
    fprintf(f, "\n");
    if (res->fit_note[0])
      fprintf(f, "(%s)\n", res->fit_note);
  } else {
    fprintf(f, "\n%s\n", res->fit_note);
  }
  fprintf(f, "%s\n", res->advice);
  for (const char *p = res->machine; *p;) {
    const char *nl = strchr(p, '\n');
    int n = nl ? (int)(nl - p) : (int)strlen(p);
    fprintf(f, "warning: %.*s\n", n, p);
    p += n + (nl != NULL);
  }
  fprintf(f, "machine: %d CPUs online, %d in our affinity, load %.2f %.2f %.2f, %s\n", res->cpus,
          res->affinity, res->loadavg[0], res->loadavg[1], res->loadavg[2], res->kernel);
}

static int ui_bench_export(const char *path, int (*fn)(const ui_bench_result *, FILE *),
                           const ui_bench_result *res) {
  if (!path)
    return 0;
  FILE *f = NULL;
  int rc = ui_file_create(path, &f); /* never through a symlink (ui_file.c) */
  if (rc == 0 && fn(res, f) < 0)
    rc = -EIO;
  if (f && fclose(f) != 0 && rc == 0)
    rc = -errno;
  if (rc < 0) {
    fprintf(stderr, "forktop: %s: %s\n", path, strerror(-rc));
    return -1;
  }
  return 0;
}

/* While the live view has the terminal, what would be printed is kept in
 * memory and printed once the terminal is restored. */
typedef struct ui_bench_out {
  FILE *out, *err;
  char *obuf, *ebuf;
  size_t olen, elen;
} ui_bench_out;

static bool ui_bench_out_hold(ui_bench_out *o) {
  o->out = open_memstream(&o->obuf, &o->olen);
  o->err = open_memstream(&o->ebuf, &o->elen);
  return o->out && o->err;
}

static void ui_bench_out_release(ui_bench_out *o) {
  if (o->out && o->out != stdout && fclose(o->out) == 0)
    fwrite(o->obuf, 1, o->olen, stdout);
  if (o->err && o->err != stderr && fclose(o->err) == 0)
    fwrite(o->ebuf, 1, o->elen, stderr);
  free(o->obuf);
  free(o->ebuf);
  *o = (ui_bench_out){.out = stdout, .err = stderr};
}

/* Open the live view when the dashboard is asked for and there is a
 * terminal; without one (or when it cannot open) the sweep prints lines. */
static ui_bench_live *ui_bench_live_start(const ui_opts *uo, const ui_bench_opts *bo,
                                          const char *name, const ui_bench_result *res,
                                          ui_bench_out *o) {
  ui_bench_live *live = NULL;
  if (uo->mode != UI_DASHBOARD)
    return NULL;
  int rc = ui_bench_live_open(bo, uo->delay_tenths, uo->ascii, name, res->size_name, res, &live);
  if (rc < 0 && rc != -ENOTTY)
    fprintf(stderr, "forktop: cannot open the live view (%s); printing lines\n", ft_strerror(rc));
  if (rc < 0)
    return NULL;
  if (!ui_bench_out_hold(o)) {
    ui_bench_live_close(live);
    ui_bench_out_release(o);
    return NULL;
  }
  return live;
}

/* The sweep was stopped (q, Ctrl-C, a signal): what was measured so far. */
static void ui_bench_partial(ui_bench_result *res, int stop) {
  if (stop == 1)
    printf("forktop bench: stopped with q");
  else
    printf("forktop bench: stopped by %s", ft_signal_name(stop - 128));
  if (!res->nsizes) {
    printf("; nothing was measured\n");
    return;
  }
  printf("; what was measured so far:\n");
  ui_bench_finish(res);
  ui_bench_table(res, stdout);
}

/* Run the sweep; the exit status says whether every run succeeded. */
int ui_bench(const char *path, const ui_opts *uo, const ui_bench_opts *bo) {
  ft_plan *plan = NULL;
  ft_buf err = {0};
  char label[512] = "";
  static ui_bench_result res;
  memset(&res, 0, sizeof res);
  if (bo->kind == UI_BENCH_WORKLOAD && path) {
    if (ft_plan_load(path, uo->sets, uo->nsets, &plan, &err) < 0) {
      ft_buf shown = {0};
      ui_sanitize(err.data, err.len, &shown);
      fprintf(stderr, "forktop: %.*s\n", (int)shown.len, shown.data);
      ft_buf_free(&shown);
      ft_buf_free(&err);
      return 2;
    }
    if (!plan->npools) {
      fprintf(stderr, "forktop: %s: bench needs a workload with a [pool NAME]\n", path);
      ft_plan_free(plan);
      return 2;
    }
    res.workload = plan->name;
    res.path = path;
  } else {
    ui_bench_command_label(bo, -1, label, sizeof label);
    res.workload = label;
  }
  res.kind = bo->kind;
  res.size_name = bo->kind == UI_BENCH_PARAM ? bo->param : "workers";
  res.runs = bo->runs;
  res.warmup = bo->warmup;
  ui_bench_machine(&res);
  ui_bench_target target = {.bo = bo, .path = path, .uo = uo};
  ui_bench_out o = {.out = stdout, .err = stderr};
  ft_guard *guard = ui_guard_start(); /* nothing a run starts outlives us */
  ui_bench_live *live = ui_bench_live_start(uo, bo, res.workload, &res, &o);
  int status = 0, stop = 0; /* stop: the exit status the live view asked for */
  size_t finished = 0;      /* sizes summarised */
  ft_buf shown = {0};       /* the name comes from the file or the command line */
  const char *sname = bo->kind == UI_BENCH_PARAM ? bo->param : "workers";
  fprintf(o.out, "forktop bench: %s, %s", ui_safe_cstr(&shown, res.workload),
          bo->kind == UI_BENCH_PARAM ? "values of " : "pool sizes");
  if (bo->kind == UI_BENCH_PARAM)
    fprintf(o.out, "%s", ui_safe_cstr(&shown, bo->param));
  ft_buf_free(&shown);
  for (size_t i = 0; i < bo->nsizes; i++)
    fprintf(o.out, " %d", bo->sizes[i]);
  fprintf(o.out, ", %d run(s) each after %d warm-up run(s)", bo->runs, bo->warmup);
  if (bo->kind == UI_BENCH_POOL)
    fprintf(o.out, ", %zu input(s)", bo->nitems);
  fprintf(o.out, "\n");
  for (size_t i = 0; i < bo->nsizes && status == 0 && !stop; i++) {
    ui_bench_size *z = &res.sizes[res.nsizes++];
    z->workers = bo->sizes[i];
    if (bo->kind == UI_BENCH_WORKLOAD)
      snprintf(z->command, sizeof z->command, "%s --workers %d", res.workload, z->workers);
    else if (bo->kind == UI_BENCH_POOL)
      snprintf(z->command, sizeof z->command, "-j %d -- %s", z->workers, label);
    else
      ui_bench_command_label(bo, z->workers, z->command, sizeof z->command);
    z->runs = calloc((size_t)bo->runs, sizeof *z->runs);
    for (int k = -bo->warmup; k < bo->runs && z->runs; k++) {
      ui_bench_run run = {0};
      if (live)
        ui_bench_live_run_begin(live, i, k);
      int rc = ui_bench_once(&target, z->workers, &run, live, guard, o.err);
      if (rc < 0) {
        status = rc == -2 || bo->kind != UI_BENCH_WORKLOAD ? 1 : 2;
        break;
      }
      if (rc == 0) {
        if (bo->kind == UI_BENCH_PARAM)
          fprintf(o.out, "  %s=%d, ", sname, z->workers);
        else
          fprintf(o.out, "  %3d workers, ", z->workers);
        fprintf(o.out, "%s %d: %.3f s%s\n", k < 0 ? "warm-up" : "run",
                k < 0 ? k + bo->warmup + 1 : k + 1, run.wall, run.exit_status ? " (failed)" : "");
        fflush(o.out);
        if (k >= 0)
          z->runs[z->nruns++] = run;
      }
      if (live) {
        ui_bench_live_poll(live, finished);
        if ((stop = ui_bench_live_aborted(live)))
          break;
      }
    }
    if (bo->cleanup && status == 0 && !stop) { /* hyperfine's: once each size's runs are done */
      int code = ui_bench_shell(bo->cleanup, guard, o.err);
      if (code != 0) {
        if (code > 0)
          fprintf(o.err, "forktop bench: the --cleanup command failed with exit status %d\n", code);
        status = 1;
      }
    }
    if (z->nruns) {
      ui_bench_finish_size(&res, z);
      if (!stop)
        finished++;
    } else {
      free(z->runs); /* stopped (or failed) before its first measured run */
      *z = (ui_bench_size){0};
      res.nsizes--;
    }
    if (live && !stop) {
      ui_bench_live_poll(live, finished);
      stop = ui_bench_live_aborted(live);
    }
  }
  bool complete = status == 0 && !stop;
  if (complete) {
    ui_bench_finish(&res);
    if (live)
      ui_bench_live_finish(live, res.nsizes);
  }
  /* the terminal is restored before anything is printed */
  int asked = ui_bench_live_close(live);
  if (asked)
    stop = asked;
  ui_bench_out_release(&o);
  if (status == 0 && !complete) {
    ui_bench_partial(&res, stop);
    status = stop;
  } else if (status == 0) {
    ui_bench_table(&res, stdout);
    for (size_t i = 0; i < res.nsizes; i++)
      if (res.sizes[i].failed_runs)
        status = 1;
    if (ui_bench_export(bo->export_json, ui_bench_export_json, &res) < 0 ||
        ui_bench_export(bo->export_csv, ui_bench_export_csv, &res) < 0 ||
        ui_bench_export(bo->export_md, ui_bench_export_markdown, &res) < 0 ||
        ui_bench_export(bo->export_svg, ui_bench_export_svg, &res) < 0)
      status = 1;
    if (stop) /* a stop signal while the final screen showed */
      status = stop;
  }
  ft_guard_free(guard);
  for (size_t i = 0; i < res.nsizes; i++)
    free(res.sizes[i].runs);
  ft_plan_free(plan);
  ft_buf_free(&err);
  return status;
}
