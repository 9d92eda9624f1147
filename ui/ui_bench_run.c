/* ui_bench_run.c - one run of `forktop bench`: a workload file at a pool
 * size, a command pool (-j) at a size, or a command with a parameter's
 * value in place (--param), each in a loop of its own, measured as a whole
 * tree.
 *
 * The tree is every descendant of forktop: the pools' workers and what
 * they run, the command and everything it forks.  A watch (the kernel's
 * process-event connector as root, /proc scans otherwise) reports each
 * one's spawn and exit, so the run counts its processes and the most
 * alive at once; a timer sums the resident sets of those alive (each from
 * /proc/PID/statm) every 25 ms and keeps the largest sum.  CPU time is
 * wait4's: RUSAGE_CHILDREN holds every descendant that was reaped, because
 * each parent reaps its children (their times go up into its own) and
 * forktop, a child subreaper, reaps what was orphaned; the difference
 * across the run is the tree's, as the loop is freed (and every child
 * reaped) before the second reading.  A process that lives a few
 * milliseconds between two samples is counted but may add nothing to the
 * peak RSS: the figure is a lower bound, and says so in docs/bench.md.
 *
 * The machine: /proc/stat's busy and steal time across the run, less our
 * own tree's and forktop's own CPU time, is what others took. */
#include "ft_guard.h"
#include "ft_runner.h"
#include "ft_watch.h"
#include "ui.h"
#include "ui_bench.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* ------------------------------------------------------- the tree probe */

typedef struct ui_probe {
  pid_t *live; /* the tree's processes alive now */
  size_t nlive, cap;
  uint64_t processes, peak_procs, peak_rss_kb;
  double startup;
  uint64_t pool_spawn0; /* first worker spawn not yet matched to a pool_start */
  long page_kb;
} ui_probe;

static void ui_probe_add(ui_probe *p, pid_t pid) {
  for (size_t i = 0; i < p->nlive; i++)
    if (p->live[i] == pid)
      return; /* told twice (the loop and the watch): one process */
  if (p->nlive == p->cap) {
    size_t c = p->cap ? p->cap * 2 : 64;
    pid_t *v = realloc(p->live, c * sizeof *v);
    if (!v)
      return;
    p->live = v;
    p->cap = c;
  }
  p->live[p->nlive++] = pid;
  p->processes++;
  if (p->nlive > p->peak_procs)
    p->peak_procs = p->nlive;
}

static void ui_probe_remove(ui_probe *p, pid_t pid) {
  for (size_t i = 0; i < p->nlive; i++)
    if (p->live[i] == pid) {
      p->live[i] = p->live[--p->nlive];
      return;
    }
}

static void ui_probe_hook(const ft_event *ev, void *ud) {
  ui_probe *p = ud;
  if (ev->host)
    return; /* a remote worker's machine is not ours to measure */
  if (ev->kind == FT_EV_SPAWN)
    ui_probe_add(p, ev->pid);
  else if (ev->kind == FT_EV_EXIT)
    ui_probe_remove(p, ev->pid);
  if (ev->kind == FT_EV_SPAWN && ev->u.spawn.worker == 0 && !p->pool_spawn0)
    p->pool_spawn0 = ev->t_ns;
  if (ev->kind == FT_EV_POOL_START && p->pool_spawn0) {
    p->startup += (double)(ev->t_ns - p->pool_spawn0) / 1e9;
    p->pool_spawn0 = 0;
  }
}

/* The resident sets of the tree's live processes, summed. */
static void ui_probe_rss(ft_timer *t, void *ud) {
  (void)t;
  ui_probe *p = ud;
  uint64_t sum = 0;
  for (size_t i = 0; i < p->nlive; i++) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/statm", (int)p->live[i]);
    FILE *s = fopen(path, "re");
    unsigned long size, rss;
    if (s && fscanf(s, "%lu %lu", &size, &rss) == 2)
      sum += (uint64_t)rss * (uint64_t)p->page_kb;
    if (s)
      fclose(s);
  }
  if (sum > p->peak_rss_kb)
    p->peak_rss_kb = sum;
}

static double ui_tv(struct timeval tv) { return (double)tv.tv_sec + (double)tv.tv_usec / 1e6; }

/* /proc/stat's first line: the CPUs' busy and steal time, in seconds. */
static void ui_cpu_times(double *busy, double *steal) {
  unsigned long long v[8] = {0};
  *busy = *steal = 0;
  FILE *f = fopen("/proc/stat", "re");
  if (!f)
    return;
  if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4],
             &v[5], &v[6], &v[7]) == 8) {
    double hz = (double)sysconf(_SC_CLK_TCK);
    /* user nice system idle iowait irq softirq steal */
    *busy = (double)(v[0] + v[1] + v[2] + v[5] + v[6]) / hz;
    *steal = (double)v[7] / hz;
  }
  fclose(f);
}

/* ------------------------------------------------------------ commands */

/* One argument with {NAME} replaced by v. */
static char *ui_subst_param(const char *arg, const char *name, int v) {
  char key[40];
  snprintf(key, sizeof key, "{%s}", name);
  ft_buf b = {0};
  size_t kl = strlen(key);
  for (const char *p = arg;;) {
    const char *q = strstr(p, key);
    if (!q) {
      ft_buf_append(&b, p, strlen(p) + 1);
      break;
    }
    ft_buf_append(&b, p, (size_t)(q - p));
    ft_buf_printf(&b, "%d", v);
    p = q + kl;
  }
  return b.data; /* NULL when out of memory */
}

static char **ui_param_argv(const ui_bench_opts *bo, int v) {
  size_t n = 0;
  while (bo->cmd[n])
    n++;
  char **argv = calloc(n + 1, sizeof *argv);
  for (size_t i = 0; argv && i < n; i++)
    if (!(argv[i] = ui_subst_param(bo->cmd[i], bo->param, v))) {
      ft_plan_argv_free(argv);
      return NULL;
    }
  return argv;
}

/* One word as a shell would read it back: as it is when nothing in it is
 * special, else in single quotes. */
static void ui_shell_word(ft_buf *b, const char *s) {
  bool plain = *s != '\0';
  for (const char *p = s; *p && plain; p++)
    plain = strchr("-_./:,+=@%{}", *p) || (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
            (*p >= 'A' && *p <= 'Z');
  if (plain) {
    ft_buf_append(b, s, strlen(s));
    return;
  }
  ft_buf_append(b, "'", 1);
  for (const char *p = s; *p; p++)
    if (*p == '\'')
      ft_buf_append(b, "'\\''", 4);
    else
      ft_buf_append(b, p, 1);
  ft_buf_append(b, "'", 1);
}

/* The command as one line (each word quoted as a shell would need), made
 * safe for a terminal; v < 0: the template, {NAME} as written. */
void ui_bench_command_label(const ui_bench_opts *bo, int v, char *out, size_t cap) {
  char **argv = bo->kind == UI_BENCH_PARAM && v >= 0 ? ui_param_argv(bo, v) : NULL;
  char *const *cmd = argv ? argv : bo->cmd;
  ft_buf b = {0}, s = {0};
  for (size_t i = 0; cmd && cmd[i]; i++) {
    if (i)
      ft_buf_append(&b, " ", 1);
    ui_shell_word(&b, cmd[i]);
  }
  ui_sanitize(b.data ? b.data : "", b.len, &s);
  snprintf(out, cap, "%.*s", (int)s.len, s.data ? s.data : "");
  ft_buf_free(&b);
  ft_buf_free(&s);
  ft_plan_argv_free(argv);
}

/* sh -c cmd in a loop of its own, stdin and output /dev/null (hyperfine's
 * --prepare and --cleanup). */
int ui_bench_shell(const char *cmd, ft_guard *guard, FILE *errf) {
  ft_loop *loop = NULL;
  ft_process *p = NULL;
  char *argv[] = {"sh", "-c", (char *)cmd, NULL};
  ft_process_opts po = {.argv = argv,
                        .role = "command",
                        .in = {.mode = FT_STDIO_NULL},
                        .out = {.mode = FT_STDIO_NULL},
                        .err = {.mode = FT_STDIO_NULL}};
  int rc, code = -1;
  if ((rc = ft_loop_new(&loop)) < 0)
    goto done;
  ft_guard_bind(guard, loop);
  if ((rc = ft_process_new(loop, &po, &p)) < 0 || (rc = ft_process_start(p)) < 0 ||
      (rc = ft_process_join(p, -1)) < 0 || (rc = ft_process_exitcode(p, &code)) < 0)
    goto done;
  code = code >= 0 ? code : 128 - code;
done:
  if (rc < 0)
    fprintf(errf, "forktop bench: cannot run sh -c: %s\n", ft_strerror(rc));
  ft_process_free(p);
  ft_loop_free(loop); /* what it left behind is killed and reaped */
  return rc < 0 ? -1 : code;
}

/* A --param run: the command itself, its stop (TERM now, KILL after 1 s). */
typedef struct ui_cmdrun {
  ft_loop *loop;
  ft_process *p;
  ft_timer *kill;
  bool stopping;
} ui_cmdrun;

static void ui_cmd_kill(ft_timer *t, void *ud) {
  (void)t;
  ft_loop_signal_all(((ui_cmdrun *)ud)->loop, SIGKILL);
}

static void ui_cmd_stop(void *ud) {
  ui_cmdrun *c = ud;
  if (c->stopping)
    return;
  c->stopping = true;
  ft_loop_signal_all(c->loop, SIGTERM);
  ft_timer_start(c->kill, 1000ull * 1000 * 1000, 0, ui_cmd_kill, c);
}

static void ui_runner_stop(void *ud) { ft_runner_stop(ud, 1.0); }

/* The plan of a workload or -j run at size v. */
static int ui_bench_plan(const ui_bench_target *t, int v, ft_plan **plan, FILE *errf) {
  const ui_bench_opts *bo = t->bo;
  if (bo->kind == UI_BENCH_POOL) {
    int rc = ft_plan_command_pool("bench", bo->cmd, bo->items, bo->nitems, v, plan);
    if (rc < 0)
      fprintf(errf, "forktop bench: %s\n", ft_strerror(rc));
    return rc;
  }
  char wset[32];
  snprintf(wset, sizeof wset, "workers=%d", v);
  char **sets = calloc(t->uo->nsets + 1, sizeof *sets);
  if (!sets)
    return -ENOMEM;
  memcpy(sets, t->uo->sets, t->uo->nsets * sizeof *sets);
  sets[t->uo->nsets] = wset; /* last, so it wins */
  ft_buf err = {0};
  int rc = ft_plan_load(t->path, sets, t->uo->nsets + 1, plan, &err);
  if (rc < 0) {
    ft_buf shown = {0};
    ui_sanitize(err.data, err.len, &shown);
    fprintf(errf, "forktop: %.*s\n", (int)shown.len, shown.data);
    ft_buf_free(&shown);
  }
  ft_buf_free(&err);
  free(sets);
  return rc;
}

/* Run once at v; see ui_bench.h. */
int ui_bench_once(const ui_bench_target *t, int v, ui_bench_run *out, ui_bench_live *live,
                  ft_guard *guard, FILE *errf) {
  const ui_bench_opts *bo = t->bo;
  ft_plan *plan = NULL;
  ft_loop *loop = NULL;
  ft_runner *r = NULL;
  ft_timer *timer = NULL;
  ft_watch *w = NULL;
  char **argv = NULL;
  ui_cmdrun cmd = {0};
  ui_probe probe = {.page_kb = sysconf(_SC_PAGESIZE) / 1024};
  int rc;
  if (bo->prepare) {
    int code = ui_bench_shell(bo->prepare, guard, errf);
    if (code != 0) {
      if (code > 0)
        fprintf(errf, "forktop bench: the --prepare command failed with exit status %d\n", code);
      return -2;
    }
  }
  if (bo->kind == UI_BENCH_PARAM) {
    if (!(argv = ui_param_argv(bo, v))) {
      rc = -ENOMEM;
      goto fail;
    }
  } else if ((rc = ui_bench_plan(t, v, &plan, errf)) < 0) {
    goto done;
  } else if (bo->kind == UI_BENCH_POOL && (size_t)plan->pools[0].workers > bo->nitems) {
    plan->pools[0].workers = (int)bo->nitems; /* no more workers than commands, as map */
  }
  if ((rc = ft_loop_new(&loop)) < 0 || (rc = ft_timer_new(loop, &timer)) < 0)
    goto fail;
  ft_guard_bind(guard, loop);
  if (plan && (rc = ft_runner_new(loop, plan, &r)) < 0)
    goto fail;
  /* every descendant, watched from before the first fork */
  if ((rc = ft_watch_new(loop, getpid(), true, &w)) < 0)
    goto fail;
  ft_loop_add_hook(loop, ui_probe_hook, &probe);
  ft_timer_start(timer, 5 * 1000 * 1000, 25 * 1000 * 1000, ui_probe_rss, &probe);
  ft_process_opts po = {.argv = argv,
                        .role = "command",
                        .in = {.mode = FT_STDIO_NULL},
                        .out = {.mode = FT_STDIO_NULL},
                        .err = {.mode = FT_STDIO_NULL}};
  if (argv) {
    cmd.loop = loop;
    if ((rc = ft_timer_new(loop, &cmd.kill)) < 0 || (rc = ft_process_new(loop, &po, &cmd.p)) < 0)
      goto fail;
  }
  if (live && ui_bench_live_attach(live, loop, r ? ui_runner_stop : ui_cmd_stop,
                                   r ? (void *)r : (void *)&cmd) < 0)
    fprintf(errf, "forktop: the live view cannot follow this run\n");
  else
    ui_bench_live_tree(live, &probe.nlive, &probe.processes, &probe.peak_procs);
  struct rusage ru0, ru1, self0, self1;
  double busy0, steal0, busy1, steal1;
  ui_cpu_times(&busy0, &steal0);
  getrusage(RUSAGE_SELF, &self0);
  getrusage(RUSAGE_CHILDREN, &ru0);
  uint64_t t0 = ft_now_ns();
  rc = r ? ft_runner_start(r) : ft_process_start(cmd.p);
  if (rc < 0 && argv) {
    ui_bench_live_detach(live);
    fprintf(errf, "forktop bench: cannot run %s: %s\n", argv[0], ft_strerror(rc));
    goto done;
  }
  /* q, Ctrl-C or a stop signal in the live view stops the run; the loop
   * runs on until it is gone */
  while (rc >= 0 && (r ? !ft_runner_done(r) : ft_process_is_alive(cmd.p)))
    rc = ft_loop_run(loop, FT_RUN_ONCE);
  uint64_t t1 = ft_now_ns();
  ui_bench_live_detach(live); /* before the runner and the loop go */
  bool aborted = ui_bench_live_aborted(live) != 0;
  ft_run_summary sum = {0};
  if (r) {
    ft_runner_summary(r, &sum);
    out->exit_status = rc < 0 ? 1 : ft_runner_exit_status(r);
    if (sum.error[0]) /* a size past what the machine allows says which limit stopped it */
      fprintf(errf, "forktop bench: %d workers: %s\n", v, sum.error);
  } else {
    int code = 0;
    out->exit_status = ft_process_exitcode(cmd.p, &code) < 0 ? 1 : code >= 0 ? code : 128 - code;
  }
  ft_watch_free(w); /* what ended unseen is told now */
  w = NULL;
  ft_timer_free(timer);
  ft_timer_free(cmd.kill);
  timer = cmd.kill = NULL;
  ft_runner_free(r);
  r = NULL;
  ft_process_free(cmd.p);
  cmd.p = NULL;
  ft_loop_free(loop); /* kills and reaps what is left, so rusage counts everyone */
  loop = NULL;
  getrusage(RUSAGE_CHILDREN, &ru1);
  getrusage(RUSAGE_SELF, &self1);
  ui_cpu_times(&busy1, &steal1);
  out->wall = (double)(t1 - t0) / 1e9;
  out->user = ui_tv(ru1.ru_utime) - ui_tv(ru0.ru_utime);
  out->sys = ui_tv(ru1.ru_stime) - ui_tv(ru0.ru_stime);
  out->cpu = out->user + out->sys;
  double self =
      ui_tv(self1.ru_utime) - ui_tv(self0.ru_utime) + ui_tv(self1.ru_stime) - ui_tv(self0.ru_stime);
  out->others_cpu = busy1 - busy0 - out->cpu - self;
  if (out->others_cpu < 0)
    out->others_cpu = 0; /* the clock ticks are coarse */
  out->steal = steal1 - steal0;
  out->startup = probe.startup;
  out->peak_rss_kb = probe.peak_rss_kb;
  out->processes = probe.processes;
  out->peak_procs = probe.peak_procs;
  out->tasks = sum.tasks;
  out->tasks_failed = sum.tasks_failed;
  rc = aborted ? 1 : 0;
  goto done;
fail:
  fprintf(errf, "forktop bench: cannot run: %s\n", ft_strerror(rc));
done:
  ui_bench_live_detach(live);
  ft_watch_free(w);
  ft_timer_free(timer);
  ft_timer_free(cmd.kill);
  ft_runner_free(r);
  ft_process_free(cmd.p);
  ft_loop_free(loop);
  ft_plan_free(plan);
  ft_plan_argv_free(argv);
  free(probe.live);
  return rc < 0 ? -1 : rc;
}
