/* ui_bench.c - `forktop bench`: run one workload at several pool sizes,
 * several times each, and say which size runs it fastest and why. */
#include "ui_bench.h"
#include "ui.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "ft_guard.h"

/* ------------------------------------------------------------- sizes */

static int ui_bench_add(ui_bench_opts *o, long v, char *err, size_t cap) {
  ft_buf lim = {0}; /* no fixed maximum: what a pool takes, and ulimit -u */
  if (v < 1) {
    snprintf(err, cap, "--workers: %ld is out of range (1 or more)", v);
    return -1;
  }
  if (ft_plan_workers_check((uint64_t)v, &lim) < 0) {
    snprintf(err, cap, "--workers: %.*s", (int)lim.len, lim.data ? lim.data : "");
    ft_buf_free(&lim);
    return -1;
  }
  for (size_t i = 0; i < o->nsizes; i++)
    if (o->sizes[i] == v)
      return 0; /* each size once */
  if (o->nsizes == UI_BENCH_MAX_SIZES) {
    snprintf(err, cap, "--workers: more than %d sizes", UI_BENCH_MAX_SIZES);
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
int ui_bench_parse_sizes(const char *s, ui_bench_opts *o, char *err, size_t cap) {
  o->nsizes = 0;
  if (!*s) {
    snprintf(err, cap, "--workers: empty list");
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
        snprintf(err, cap, "--workers: bad range \"%.*s\" (expected A..B or A..B:STEP)",
                 (int)(end - p), p);
        return -1;
      }
      for (long v = a; v <= b; v += step)
        if (ui_bench_add(o, v, err, cap) < 0)
          return -1;
    } else if (!ui_num(p, end, &a)) {
      snprintf(err, cap, "--workers: \"%.*s\" is not a number", (int)(end - p), p);
      return -1;
    } else if (ui_bench_add(o, a, err, cap) < 0) {
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

/* --------------------------------------------------------------- one run */

typedef struct ui_probe {
  ft_loop *loop;
  double startup;
  uint64_t peak_rss_kb;
  uint64_t pool_spawn0; /* first worker spawn not yet matched to a pool_start */
} ui_probe;

static void ui_probe_hook(const ft_event *ev, void *ud) {
  ui_probe *p = ud;
  if (ev->kind == FT_EV_SPAWN && ev->u.spawn.worker == 0 && !p->pool_spawn0)
    p->pool_spawn0 = ev->t_ns;
  if (ev->kind == FT_EV_POOL_START && p->pool_spawn0) {
    p->startup += (double)(ev->t_ns - p->pool_spawn0) / 1e9;
    p->pool_spawn0 = 0;
  }
}

/* The RSS of every live child of ours, summed (from /proc/PID/statm). */
static void ui_probe_rss(ft_timer *t, void *ud) {
  (void)t;
  ui_probe *p = ud;
  char path[64];
  snprintf(path, sizeof path, "/proc/self/task/%d/children", (int)getpid());
  FILE *f = fopen(path, "re");
  if (!f)
    return;
  long page_kb = sysconf(_SC_PAGESIZE) / 1024;
  uint64_t sum = 0;
  int pid;
  while (fscanf(f, "%d", &pid) == 1) {
    char sp[64];
    snprintf(sp, sizeof sp, "/proc/%d/statm", pid);
    FILE *s = fopen(sp, "re");
    unsigned long size, rss;
    if (s && fscanf(s, "%lu %lu", &size, &rss) == 2)
      sum += (uint64_t)rss * (uint64_t)page_kb;
    if (s)
      fclose(s);
  }
  fclose(f);
  if (sum > p->peak_rss_kb)
    p->peak_rss_kb = sum;
}

static double ui_tv(struct timeval tv) { return (double)tv.tv_sec + (double)tv.tv_usec / 1e6; }

/* Run the workload once at `workers`; 0, 1 when the live view stopped it
 * (nothing measured), or -1 when it could not run.  Messages go to errf. */
static int ui_bench_once(const char *path, const ui_opts *uo, int workers, ui_bench_run *out,
                         ui_bench_live *live, ft_guard *guard, FILE *errf) {
  char wset[32];
  snprintf(wset, sizeof wset, "workers=%d", workers);
  char **sets = calloc(uo->nsets + 1, sizeof *sets);
  if (!sets)
    return -1;
  memcpy(sets, uo->sets, uo->nsets * sizeof *sets);
  sets[uo->nsets] = wset; /* last, so it wins */
  ft_plan *plan = NULL;
  ft_buf err = {0};
  ft_loop *loop = NULL;
  ft_runner *r = NULL;
  ft_timer *t = NULL;
  ui_probe probe = {0};
  int rc = ft_plan_load(path, sets, uo->nsets + 1, &plan, &err);
  if (rc < 0) {
    ft_buf shown = {0};
    ui_sanitize(err.data, err.len, &shown);
    fprintf(errf, "forktop: %.*s\n", (int)shown.len, shown.data);
    ft_buf_free(&shown);
    goto done;
  }
  if ((rc = ft_loop_new(&loop)) < 0 || (rc = ft_runner_new(loop, plan, &r)) < 0 ||
      (rc = ft_timer_new(loop, &t)) < 0) {
    fprintf(errf, "forktop: cannot run: %s\n", ft_strerror(rc));
    goto done;
  }
  probe.loop = loop;
  ft_guard_bind(guard, loop);
  ft_loop_add_hook(loop, ui_probe_hook, &probe);
  ft_timer_start(t, 20 * 1000 * 1000, 50 * 1000 * 1000, ui_probe_rss, &probe);
  if (live && ui_bench_live_attach(live, loop, r) < 0)
    fprintf(errf, "forktop: the live view cannot follow this run\n");
  struct rusage ru0, ru1;
  getrusage(RUSAGE_CHILDREN, &ru0);
  uint64_t t0 = ft_now_ns();
  rc = ft_runner_start(r);
  /* q, Ctrl-C or a stop signal in the live view stops the runner; the
   * loop runs on until the workload is gone */
  while (rc >= 0 && !ft_runner_done(r))
    rc = ft_loop_run(loop, FT_RUN_ONCE);
  uint64_t t1 = ft_now_ns();
  ui_bench_live_detach(live); /* before the runner and the loop go */
  bool aborted = ui_bench_live_aborted(live) != 0;
  ft_run_summary sum;
  ft_runner_summary(r, &sum);
  out->exit_status = rc < 0 ? 1 : ft_runner_exit_status(r);
  if (sum.error[0]) /* a size past what the machine allows says which limit stopped it */
    fprintf(errf, "forktop bench: %d workers: %s\n", workers, sum.error);
  ft_timer_free(t);
  t = NULL;
  ft_runner_free(r);
  r = NULL;
  ft_loop_free(loop); /* reaps what is left, so rusage counts everyone */
  loop = NULL;
  getrusage(RUSAGE_CHILDREN, &ru1);
  out->wall = (double)(t1 - t0) / 1e9;
  out->cpu = ui_tv(ru1.ru_utime) - ui_tv(ru0.ru_utime) + ui_tv(ru1.ru_stime) - ui_tv(ru0.ru_stime);
  out->startup = probe.startup;
  out->peak_rss_kb = probe.peak_rss_kb;
  out->tasks = sum.tasks;
  out->tasks_failed = sum.tasks_failed;
  rc = aborted ? 1 : 0;
done:
  ui_bench_live_detach(live);
  ft_timer_free(t);
  ft_runner_free(r);
  ft_loop_free(loop);
  ft_plan_free(plan);
  ft_buf_free(&err);
  free(sets);
  return rc < 0 ? -1 : rc;
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

static void ui_bench_finish_size(ui_bench_result *res, ui_bench_size *z) {
  double walls[256], startup = 0;
  size_t n = z->nruns;
  uint64_t tasks = 0;
  double cpu = 0;
  for (size_t i = 0; i < n; i++) {
    walls[i] = z->runs[i].wall;
    startup += z->runs[i].startup;
    tasks += z->runs[i].tasks;
    cpu += z->runs[i].cpu;
    z->tasks_failed += z->runs[i].tasks_failed;
    z->failed_runs += z->runs[i].exit_status != 0;
    if (z->runs[i].peak_rss_kb > z->peak_rss_kb)
      z->peak_rss_kb = z->runs[i].peak_rss_kb;
  }
  ui_stats_summary(walls, n, &z->wall);
  z->tasks_per_s = z->wall.mean > 0 ? (double)tasks / (double)n / z->wall.mean : 0;
  z->startup_ms = startup / (double)n * 1000;
  z->cpu_util = z->wall.mean > 0 ? cpu / (double)n / z->wall.mean / res->cpus : 0;
  size_t w = 0;
  z->warnings[0] = '\0';
  if (z->wall.outliers)
    w += (size_t)snprintf(z->warnings + w, sizeof z->warnings - w,
                          "%zu statistical outlier(s): the machine may have been busy. ",
                          z->wall.outliers);
  if (n > 1 && z->wall.mean > 0 && z->wall.sd / z->wall.mean > 0.10)
    w += (size_t)snprintf(z->warnings + w, sizeof z->warnings - w,
                          "noisy: the standard deviation is %.0f%% of the mean. ",
                          100 * z->wall.sd / z->wall.mean);
  if (n > 1 && walls[0] > z->wall.median * 1.5 && walls[0] > z->wall.mean + 2 * z->wall.sd)
    w += (size_t)snprintf(z->warnings + w, sizeof z->warnings - w,
                          "the first run was much slower: consider --warmup. ");
  if (z->failed_runs && w < sizeof z->warnings)
    snprintf(z->warnings + w, sizeof z->warnings - w, "%d run(s) failed. ", z->failed_runs);
}

static void ui_bench_finish(ui_bench_result *res) {
  double workers[UI_BENCH_MAX_SIZES], means[UI_BENCH_MAX_SIZES];
  for (size_t i = 0; i < res->nsizes; i++) {
    ui_bench_size *z = &res->sizes[i];
    workers[i] = z->workers;
    means[i] = z->wall.mean;
    z->speedup = z->wall.mean > 0 ? res->sizes[0].wall.mean / z->wall.mean : 0;
    z->efficiency = z->speedup * res->sizes[0].workers / z->workers;
  }
  ui_stats_amdahl(workers, means, res->nsizes, &res->fit);
  res->recommended = res->sizes[ui_stats_recommend(workers, means, res->nsizes, 0.05)].workers;
}

static void ui_bench_table(const ui_bench_result *res, FILE *f) {
  fprintf(f, "\n%-8s %-20s %8s %8s %8s %10s %8s %7s %6s %9s %8s %6s\n", "workers",
          "wall (mean ± sd)", "median", "min", "max", "tasks/s", "speedup", "effic.", "cpu",
          "peak RSS", "startup", "failed");
  for (size_t i = 0; i < res->nsizes; i++) {
    const ui_bench_size *z = &res->sizes[i];
    char wall[32];
    snprintf(wall, sizeof wall, "%.3f ± %.3f s", z->wall.mean, z->wall.sd);
    fprintf(f,
            "%-8d %-20s %8.3f %8.3f %8.3f %10.1f %7.2fx %6.0f%% %5.0f%% %7.1f MB %6.1f ms %6llu\n",
            z->workers, wall, z->wall.median, z->wall.min, z->wall.max, z->tasks_per_s, z->speedup,
            100 * z->efficiency, 100 * z->cpu_util, (double)z->peak_rss_kb / 1024, z->startup_ms,
            (unsigned long long)z->tasks_failed);
  }
  for (size_t i = 0; i < res->nsizes; i++)
    if (res->sizes[i].warnings[0])
      fprintf(f, "warning: %d workers: %s\n", res->sizes[i].workers, res->sizes[i].warnings);
  if (res->fit.ok)
    fprintf(
        f, "\nAmdahl's law: serial fraction %.3f ± %.3f, so at most %.1fx faster than one worker\n",
        res->fit.serial, res->fit.serial_err,
        res->fit.serial > 0 ? 1 / res->fit.serial : 1.0 / 0.0);
  fprintf(f, "recommended pool size: %d (the smallest within 5%% of the fastest)\n",
          res->recommended);
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
  int rc = ui_bench_live_open(bo, uo->delay_tenths, uo->ascii, name, res, &live);
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
  ft_plan *plan;
  ft_buf err = {0};
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
  static ui_bench_result res;
  memset(&res, 0, sizeof res);
  res.workload = plan->name;
  res.path = path;
  res.runs = bo->runs;
  res.warmup = bo->warmup;
  ui_bench_machine(&res);
  ui_bench_out o = {.out = stdout, .err = stderr};
  ft_guard *guard = ui_guard_start(); /* nothing a run starts outlives us */
  ui_bench_live *live = ui_bench_live_start(uo, bo, plan->name, &res, &o);
  int status = 0, stop = 0; /* stop: the exit status the live view asked for */
  size_t finished = 0;      /* sizes summarised */
  ft_buf shown = {0};       /* the name comes from the file */
  fprintf(o.out, "forktop bench: %s, pool sizes", ui_safe_cstr(&shown, plan->name));
  ft_buf_free(&shown);
  for (size_t i = 0; i < bo->nsizes; i++)
    fprintf(o.out, " %d", bo->sizes[i]);
  fprintf(o.out, ", %d run(s) each after %d warm-up run(s)\n", bo->runs, bo->warmup);
  for (size_t i = 0; i < bo->nsizes && status == 0 && !stop; i++) {
    ui_bench_size *z = &res.sizes[res.nsizes++];
    z->workers = bo->sizes[i];
    z->runs = calloc((size_t)bo->runs, sizeof *z->runs);
    for (int k = -bo->warmup; k < bo->runs; k++) {
      ui_bench_run run = {0};
      if (live)
        ui_bench_live_run_begin(live, i, k);
      int rc = ui_bench_once(path, uo, z->workers, &run, live, guard, o.err);
      if (rc < 0) {
        status = 2;
        break;
      }
      if (rc == 0) {
        fprintf(o.out, "  %3d workers, %s %d: %.3f s%s\n", z->workers, k < 0 ? "warm-up" : "run",
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
    if (z->nruns) {
      ui_bench_finish_size(&res, z);
      if (!stop)
        finished++;
    } else if (stop) {
      free(z->runs); /* stopped before its first measured run */
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
