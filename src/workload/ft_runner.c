/* ft_runner.c - run a workload plan: queues first, then every pool and
 * process whose `after` is satisfied; `stop_when` and `close_after` rules
 * applied as parts finish; outcomes tallied from the events.  How a run
 * ends (a stop, the leftovers killed, the summary) is ft_runner_end.c. */
#include "ft_runner_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

/* The first reason the work does not run as the plan asks: kept for the
 * summary, and it makes the exit status non-zero. */
static void ft__problem(ft_runner *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ft__problem(ft_runner *r, const char *fmt, ...) {
  if (r->sum.error[0])
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->sum.error, sizeof r->sum.error, fmt, ap);
  va_end(ap);
}

/* ------------------------------------------------------------ children */

static uint64_t ft__item_seed(const ft_runner *r, size_t unit, size_t item) {
  uint64_t s =
      r->plan->seed ^ (0x9E3779B97F4A7C15ull * (unit + 1)) ^ (item * 0xD1B54A32D192ED03ull);
  return ft__rand_next(&s);
}

/* A pool task: [u32 unit][u32 item index][item text]; ctx is the runner
 * (the worker's copy of it). */
static int ft__pool_task(void *ctx, ft_slice arg, ft_buf *out) {
  uint32_t h[2];
  memcpy(h, arg.ptr, sizeof h);
  ft_runner *r = ctx;
  const ft_plan_pool *pp = &r->plan->pools[r->units[h[0]].idx];
  size_t len = arg.len - sizeof h;
  char *item = malloc(len + 1);
  if (!item)
    return 70;
  memcpy(item, (const char *)arg.ptr + sizeof h, len);
  item[len] = '\0';
  int rc = ft__steps_run(r, pp->steps, pp->nsteps, item, (uint64_t)h[1] + 1,
                         ft__item_seed(r, h[0], h[1]), out);
  free(item);
  return rc;
}

/* starmap: the item's words are the arguments; {} is them joined by spaces. */
static int ft__pool_star(void *ctx, size_t argc, const ft_slice *argv, ft_buf *out) {
  ft_buf joined = {0};
  uint32_t h[2];
  memcpy(h, argv[0].ptr, sizeof h);
  int rc = ft_buf_append(&joined, h, sizeof h);
  for (size_t i = 1; i < argc && !rc; i++) {
    if (i > 1)
      rc = ft_buf_append(&joined, " ", 1);
    if (!rc)
      rc = ft_buf_append(&joined, argv[i].ptr, argv[i].len);
  }
  if (!rc)
    rc = ft__pool_task(ctx, (ft_slice){joined.data, joined.len}, out);
  ft_buf_free(&joined);
  return rc;
}

typedef struct ft__proc_arg {
  ft_runner *r;
  size_t unit;
  int instance;
} ft__proc_arg;

static int ft__proc_main(void *arg) {
  ft__proc_arg *a = arg;
  ft_runner *r = a->r;
  const ft_plan_process *pp = &r->plan->procs[r->units[a->unit].idx];
  char item[16];
  snprintf(item, sizeof item, "%d", a->instance);
  ft_buf out = {0};
  int rc = ft__steps_run(r, pp->steps, pp->nsteps, item, (uint64_t)a->instance,
                         ft__item_seed(r, a->unit, (size_t)a->instance), &out);
  if (rc && out.len)
    fprintf(stderr, "%.*s\n", (int)out.len, out.data);
  ft_buf_free(&out);
  return rc;
}

/* ------------------------------------------------------------- starting */

static void ft__chaos_tick(ft_timer *t, void *ud) {
  (void)t;
  ft__unit *u = ud;
  ft_pool_stats st;
  ft_pool_stats_get(u->pool, &st);
  int w = (int)(ft__rand_next(&u->runner->rng) % (uint64_t)st.workers);
  pid_t pid = ft_pool_worker_pid(u->pool, w);
  if (pid > 0)
    kill(pid, SIGKILL);
}

/* A pool with hosts = tcp: its workers are `forktop worker` processes
 * (this very program, /proc/self/exe) that connect back over TCP and are
 * sent the workload's text and overrides, from which they rebuild what a
 * task runs: [path]\0[text]\0[override\0]... */
static int ft__start_tcp_pool(ft_runner *r, ft__unit *u, const ft_plan_pool *pp,
                              const ft_pool_opts *o, ft_pool **out) {
  const ft_plan *plan = r->plan;
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n < 0)
    return -errno;
  exe[n] = '\0';
  if (!plan->text)
    return FT_EINVAL;
  ft_buf setup = {0};
  int rc = ft_buf_append(&setup, plan->path, strlen(plan->path) + 1);
  if (!rc)
    rc = ft_buf_append(&setup, plan->text, strlen(plan->text) + 1);
  for (size_t i = 0; i < plan->nsets && !rc; i++)
    rc = ft_buf_append(&setup, plan->sets[i], strlen(plan->sets[i]) + 1);
  char *argv[] = {exe, "worker", NULL};
  ft_pool_tcp tcp = {
      .bind = pp->bind, .argv = argv, .setup = {setup.data, setup.len}, .heartbeat = pp->heartbeat};
  /* hosts = slurm:N: one allocation for the pool, one `srun -n1 -w NODE`
   * step a worker (a dead worker is one failed step, with its status), the
   * workers spread over the nodes; they connect back to the address that
   * routes to the nodes unless bind says otherwise. */
  char jobid[48];
  char *launch[] = {"srun", jobid, "--overlap", "-n1", "-N1", "--input=none", "--quiet", NULL};
  if (!rc && u->slurm) {
    snprintf(jobid, sizeof jobid, "--jobid=%s", ft__slurm_job(u->slurm));
    tcp.launch = launch;
    tcp.job = ft__slurm_job(u->slurm);
    tcp.spare_launchers = true; /* the holder's scancel ends them if their workers do not */
    tcp.hosts = ft__slurm_nodes(u->slurm);
    if (!tcp.bind)
      tcp.bind = ft__slurm_bind(u->slurm);
  }
  if (!rc)
    rc = ft_pool_new_tcp(r->loop, o, &tcp, out);
  ft_buf_free(&setup);
  return rc;
}

/* chaos = kill-worker=RATE: a timer that kills a random worker. */
static int ft__start_chaos(ft_runner *r, ft__unit *u, const ft_plan_pool *pp) {
  if (pp->chaos_kill_rate > 0) {
    uint64_t every = (uint64_t)(1e9 / pp->chaos_kill_rate);
    int rc;
    if ((rc = ft_timer_new(r->loop, &u->chaos)) < 0 ||
        (rc = ft_timer_start(u->chaos, every, every, ft__chaos_tick, u)) < 0)
      return rc;
  }
  return 0;
}

/* hosts = slurm:N: allocate the nodes, saying why not in an error event. */
static int ft__start_slurm(ft_runner *r, ft__unit *u, const ft_plan_pool *pp) {
  ft_buf why = {0};
  int rc = ft__slurm_new(pp->nodes, pp->slurm_args, &u->slurm, &why);
  if (rc < 0) {
    ft_buf_append(&why, "", 1); /* a C string */
    ft_event ev = {.kind = FT_EV_ERROR, .pid = r->loop->pid, .ppid = getppid(), .name = pp->name};
    ev.u.error.err = rc;
    ev.u.error.what = why.data ? why.data : "allocate the Slurm nodes";
    ft__emit(r->loop, &ev);
  }
  ft_buf_free(&why);
  /* The nodes' agents sample the job's processes there.  They only show
   * what runs: a run goes on without them (the dashboard then shows the
   * remote workers without their samples). */
  char exe[4096];
  ssize_t n = rc == 0 ? readlink("/proc/self/exe", exe, sizeof exe - 1) : -1;
  if (n > 0) {
    exe[n] = '\0';
    (void)ft__slurm_agent_new(r->loop, u->slurm, exe, &u->agent);
  }
  return rc;
}

static int ft__start_pool(ft_runner *r, size_t ui) {
  ft__unit *u = &r->units[ui];
  const ft_plan_pool *pp = &r->plan->pools[u->idx];
  ft_pool_opts o = {
      .name = pp->name, .workers = pp->workers, .maxtasksperchild = pp->maxtasksperchild, .ctx = r};
  int rc = pp->hosts == FT_HOSTS_SLURM ? ft__start_slurm(r, u, pp) : 0;
  if (!rc)
    rc = pp->hosts != FT_HOSTS_LOCAL ? ft__start_tcp_pool(r, u, pp, &o, &u->pool)
                                     : ft_pool_new(r->loop, &o, &u->pool);
  if (rc < 0)
    return rc;
  /* A pool that could fork only some of its workers (a low descriptor or
   * process limit) runs on with those, and retries the others; but the work
   * did not start as asked, and the summary and exit status say so. */
  ft_pool_stats st;
  ft_pool_stats_get(u->pool, &st);
  if (st.alive < st.workers) {
    char cause[160], what[224];
    int err = r->last_err ? r->last_err : -EAGAIN;
    ft__limit_cause(err, cause, sizeof cause);
    r->sum.not_started += (unsigned)(st.workers - st.alive);
    ft__problem(r, "pool %s: started %d of %d workers: %s", pp->name, st.alive, st.workers, cause);
    /* said at once too, not only in the summary at the end */
    snprintf(what, sizeof what, "start more than %d of %d workers: %s", st.alive, st.workers,
             cause);
    ft_event ev = {.kind = FT_EV_ERROR, .pid = r->loop->pid, .ppid = getppid(), .name = pp->name};
    ev.u.error.err = err;
    ev.u.error.what = what;
    ft__emit(r->loop, &ev);
  }
  if (pp->items_from) {
    rc = ft__feed_start(r, ui, pp, ft__pool_task);
    return rc < 0 ? rc : ft__start_chaos(r, u, pp);
  }
  size_t n = pp->nitems, total = 0;
  for (size_t i = 0; i < n; i++)
    total += 8 + strlen(pp->items[i]);
  u->argbuf = malloc(total ? total : 1);
  u->args = calloc(n ? n : 1, sizeof *u->args);
  if (!u->argbuf || !u->args)
    return -ENOMEM;
  char *d = u->argbuf;
  for (size_t i = 0; i < n; i++) {
    uint32_t h[2] = {(uint32_t)ui, (uint32_t)i};
    size_t len = strlen(pp->items[i]);
    memcpy(d, h, sizeof h);
    memcpy(d + sizeof h, pp->items[i], len);
    u->args[i] = (ft_slice){d, sizeof h + len};
    d += sizeof h + len;
  }
  r->sum.tasks += n;
  switch (pp->submit) {
  case FT_SUBMIT_APPLY_ASYNC:
    u->results = calloc(n ? n : 1, sizeof *u->results);
    if (!u->results)
      return -ENOMEM;
    for (size_t i = 0; i < n; i++, u->nresults++)
      if ((rc = ft_pool_apply_async(u->pool, ft__pool_task, u->args[i], NULL, NULL, NULL,
                                    &u->results[i])) < 0)
        return rc;
    break;
  case FT_SUBMIT_MAP:
  case FT_SUBMIT_MAP_ASYNC:
    /* The runner never blocks the loop: map is map_async waited on here. */
    u->results = calloc(1, sizeof *u->results);
    if (!u->results)
      return -ENOMEM;
    u->nresults = 1;
    rc = ft_pool_map_async(u->pool, ft__pool_task, u->args, n, pp->chunksize, NULL, NULL, NULL,
                           &u->results[0]);
    break;
  case FT_SUBMIT_STARMAP: {
    ft_args *star = calloc(n ? n : 1, sizeof *star);
    ft_slice *words = calloc(total + n + 1, sizeof *words);
    rc = star && words ? 0 : -ENOMEM;
    size_t w = 0;
    for (size_t i = 0; i < n && !rc; i++) {
      star[i].argv = &words[w];
      words[w++] = (ft_slice){u->args[i].ptr, 8}; /* the header as argument 0 */
      const char *s = pp->items[i];
      while (*s) {
        while (*s == ' ' || *s == '\t')
          s++;
        size_t l = strcspn(s, " \t");
        if (l)
          words[w++] = (ft_slice){(const char *)u->args[i].ptr + 8 + (s - pp->items[i]), l};
        s += l;
      }
      star[i].argc = (size_t)(&words[w] - star[i].argv);
    }
    u->results = calloc(1, sizeof *u->results);
    if (!rc && u->results) {
      u->nresults = 1;
      rc = ft_pool_starmap_async(u->pool, ft__pool_star, star, n, pp->chunksize, NULL, NULL, NULL,
                                 &u->results[0]);
    } else if (!rc) {
      rc = -ENOMEM;
    }
    free(star);
    free(words);
    break;
  }
  case FT_SUBMIT_IMAP:
    rc = ft_pool_imap(u->pool, ft__pool_task, u->args, n, pp->chunksize, &u->iter);
    break;
  case FT_SUBMIT_IMAP_UNORDERED:
    rc = ft_pool_imap_unordered(u->pool, ft__pool_task, u->args, n, pp->chunksize, &u->iter);
    break;
  }
  if (rc < 0)
    return rc;
  return ft__start_chaos(r, u, pp);
}

static int ft__start_proc(ft_runner *r, size_t ui) {
  ft__unit *u = &r->units[ui];
  const ft_plan_process *pp = &r->plan->procs[u->idx];
  u->nprocs = pp->count > 0 ? pp->count : 1;
  u->procs = calloc((size_t)u->nprocs, sizeof *u->procs);
  u->names = calloc((size_t)u->nprocs, sizeof *u->names);
  ft__proc_arg *args = calloc((size_t)u->nprocs, sizeof *args);
  if (!u->procs || !u->names || !args) {
    free(args);
    return -ENOMEM;
  }
  int rc = 0;
  for (int i = 0; i < u->nprocs && !rc; i++) {
    char name[256];
    if (u->nprocs > 1)
      snprintf(name, sizeof name, "%s.%d", pp->name, i + 1);
    else
      snprintf(name, sizeof name, "%s", pp->name);
    u->names[i] = strdup(name);
    args[i] = (ft__proc_arg){r, ui, i + 1};
    ft_process_opts o = {.name = u->names[i], .target = ft__proc_main, .arg = &args[i]};
    if (!u->names[i])
      rc = -ENOMEM;
    else if (!(rc = ft_process_new(r->loop, &o, &u->procs[i])))
      rc = ft_process_start(u->procs[i]);
  }
  free(args); /* the children have their copies */
  return rc;
}

static void ft__unit_start(ft_runner *r, size_t ui) {
  ft__unit *u = &r->units[ui];
  if (u->state != FT__U_WAITING || r->stopping)
    return;
  ft__unit_set(r, ui, FT__U_RUNNING);
  int rc = u->is_pool ? ft__start_pool(r, ui) : ft__start_proc(r, ui);
  if (rc < 0) {
    /* What could not start counts as failed and says why.  The rest of
     * the work cannot run as asked (processes that did start may wait
     * forever on a queue that a part that never started was to feed), so
     * the run stops: SIGTERM, SIGKILL after the grace period. */
    char cause[160];
    ft__limit_cause(rc, cause, sizeof cause);
    ft_event ev = {.kind = FT_EV_ERROR, .pid = r->loop->pid, .ppid = getppid(), .name = u->name};
    ev.u.error.err = rc;
    ev.u.error.what = u->is_pool ? "start the pool" : "start the process";
    ft__emit(r->loop, &ev);
    r->sum.failed++;
    r->own_failed++;
    if (u->is_pool) {
      const ft_plan_pool *pp = &r->plan->pools[u->idx];
      int asked = pp->workers > 0 ? pp->workers : ft_cpu_count();
      if (!u->pool) {
        r->sum.not_started += (unsigned)asked;
        ft__problem(r, "pool %s: started 0 of %d workers: %s", u->name, asked, cause);
      }
      ft__problem(r, "pool %s could not start: %s", u->name, cause);
    } else {
      int started = 0;
      for (int k = 0; k < u->nprocs; k++)
        started += u->procs && u->procs[k] && ft_process_pid(u->procs[k]) > 0;
      r->sum.not_started += (unsigned)(u->nprocs - started);
      ft__problem(r, "process %s: started %d of %d: %s", u->name, started, u->nprocs, cause);
    }
    if (u->pool)
      ft_pool_close(u->pool);
    ft_runner_stop(r, 2.0);
  }
}

/* --------------------------------------------------------- progressing */

static bool ft__unit_work_done(ft__unit *u) {
  if (u->iter) {
    size_t idx;
    ft_item it;
    int rc;
    /* Consume what is ready; inside the loop a wait returns FT_EBUSY. */
    while ((rc = ft_iter_next(u->iter, 0, &idx, &it)) == 0)
      u->yielded++;
    if (rc != FT_EOF && rc != FT_EBUSY && rc != FT_ETIMEDOUT) {
      /* A streamed items file failed (the items before it ran): said at
       * once, and the run does not end as a success. */
      ft_runner *r = u->runner;
      bool said;
      const char *why = ft__feed_error(u->feed, &said);
      char what[4600];
      snprintf(what, sizeof what, "read %s", *why ? why : "the items");
      ft__problem(r, "pool %s: cannot %s%s%s", u->name, what, said ? "" : ": ",
                  said ? "" : ft_strerror(rc));
      ft_event ev = {.kind = FT_EV_ERROR, .pid = r->loop->pid, .ppid = getppid(), .name = u->name};
      ev.u.error.err = rc;
      ev.u.error.what = what;
      ft__emit(r->loop, &ev);
      return ft_iter_next(u->iter, 0, &idx, &it) == FT_EOF;
    }
    return rc == FT_EOF;
  }
  /* From where the last look stopped: looking from 0 on every turn of the
   * loop made 100,000 apply_async tasks quadratic. */
  while (u->nready < u->nresults && ft_result_ready(u->results[u->nready]))
    u->nready++;
  return u->nready == u->nresults;
}

static void ft__unit_finished(ft_runner *r, size_t ui);

static void ft__wake_tick(ft_timer *t, void *ud) {
  (void)t;
  (void)ud; /* only turns the loop: ft__unit_poll looks again */
}

/* A Slurm pool whose workers are gone has its allocation released before
 * it counts as finished, the loop running (and reaping) meanwhile: the
 * holder runs scancel on its own, and a timer turns the loop until it has
 * gone.  Other pools: at once. */
static bool ft__unit_released(ft_runner *r, ft__unit *u) {
  if (!u->slurm)
    return true;
  /* The agents first: their last round (the exits since the one before)
   * is read before scancel could cut it short. */
  ft__slurm_agent_stop(u->agent);
  if (ft__slurm_agent_done(u->agent)) {
    ft__slurm_release(u->slurm);
    if (ft__slurm_gone(u->slurm))
      return true;
  }
  if (!u->wake && (ft_timer_new(r->loop, &u->wake) < 0 ||
                   ft_timer_start(u->wake, 20000000, 20000000, ft__wake_tick, u) < 0)) {
    ft_timer_free(u->wake);
    u->wake = NULL;
    return true; /* ft_runner_free waits for it instead */
  }
  return false;
}

static void ft__unit_poll(ft_runner *r, size_t ui) {
  ft__unit *u = &r->units[ui];
  if (u->state != FT__U_RUNNING)
    return;
  if (u->is_pool) {
    if (!u->pool) {
      ft__unit_finished(r, ui);
      return;
    }
    if (ft__unit_work_done(u))
      ft_pool_close(u->pool);
    ft_pool_stats st;
    ft_pool_stats_get(u->pool, &st);
    if (ft__unit_work_done(u) && st.alive == 0 && ft__unit_released(r, u))
      ft__unit_finished(r, ui);
    return;
  }
  for (int i = 0; i < u->nprocs; i++)
    if (u->procs[i] && ft_process_is_alive(u->procs[i]))
      return;
  ft__unit_finished(r, ui);
}

/* Stop a unit (a stop rule, or the run's stop). */
void ft__unit_stop(ft_runner *r, ft__unit *u) {
  u->stopped = true;
  if (u->state == FT__U_WAITING) {
    ft__unit_set(r, (size_t)(u - r->units), FT__U_FINISHED); /* it never needs to run */
    return;
  }
  if (u->pool)
    ft_pool_terminate(u->pool);
  for (int i = 0; i < u->nprocs; i++)
    if (u->procs[i])
      ft_process_terminate(u->procs[i]);
}

/* A part finished: start what waited for it, stop what was to stop with
 * it, close the queues to be closed after it. */
static void ft__unit_finished(ft_runner *r, size_t ui) {
  ft__unit *u = &r->units[ui];
  ft__unit_set(r, ui, FT__U_FINISHED);
  ft_timer_free(u->chaos);
  u->chaos = NULL;
  ft_timer_free(u->feed_timer);
  u->feed_timer = NULL;
  ft_timer_free(u->wake);
  u->wake = NULL;
  for (int i = u->first_after; i >= 0; i = r->units[i].next_after)
    ft__unit_start(r, (size_t)i);
  for (int i = u->first_stop; i >= 0; i = r->units[i].next_stop)
    if (r->units[i].state != FT__U_FINISHED)
      ft__unit_stop(r, &r->units[i]);
  for (size_t q = 0; q < r->plan->nqueues; q++)
    if (r->plan->queues[q].close_after && strcmp(r->plan->queues[q].close_after, u->name) == 0)
      ft_queue_close(r->queues[q]);
}

/* Does unit ui take from queue q (get, or relay from it), or put on it
 * (put, or relay to it)? */
static bool ft__unit_uses(const ft_runner *r, size_t ui, int q, bool put) {
  const ft__unit *u = &r->units[ui];
  const ft_step *st = u->is_pool ? r->plan->pools[u->idx].steps : r->plan->procs[u->idx].steps;
  size_t n = u->is_pool ? r->plan->pools[u->idx].nsteps : r->plan->procs[u->idx].nsteps;
  for (size_t i = 0; i < n; i++) {
    if (put && ((st[i].kind == FT_STEP_PUT && st[i].queue == q) ||
                (st[i].kind == FT_STEP_RELAY && st[i].queue2 == q)))
      return true;
    if (!put && (st[i].kind == FT_STEP_GET || st[i].kind == FT_STEP_RELAY) && st[i].queue == q)
      return true;
  }
  return false;
}

/* A producer blocked on a full queue that nothing will ever take from
 * again (every part that gets from it has finished, or none does) would
 * wait forever.  The queue is closed: the blocked puts end with "queue
 * closed", so the producers fail, and the run says why. */
static void ft__queues_check(ft_runner *r) {
  for (size_t q = 0; q < r->plan->nqueues; q++) {
    ft_queue_stats st;
    ft_queue_stats_get(r->queues[q], &st);
    if (st.closed || st.producers_blocked == 0)
      continue;
    bool consumer_left = false;
    for (size_t i = 0; i < r->nunits && !consumer_left; i++)
      consumer_left = r->units[i].state != FT__U_FINISHED && ft__unit_uses(r, i, (int)q, false);
    if (consumer_left)
      continue;
    const char *name = r->plan->queues[q].name;
    ft__problem(r, "queue %s: every consumer has ended and its producers wait on it", name);
    ft_event ev = {.kind = FT_EV_ERROR, .pid = r->loop->pid, .ppid = getppid(), .name = name};
    ev.u.error.err = FT_ECLOSED;
    ev.u.error.what = "feed the queue: every consumer has ended (closing it)";
    ft__emit(r->loop, &ev);
    ft_queue_close(r->queues[q]);
  }
}

/* Each loop turn, before sleeping: move every part along.  When a part
 * finished this turn, the loop must not sleep (the caller looks at
 * ft_runner_done between turns), so this is a prepare step that says so. */
static bool ft__runner_tick(ft_loop *loop, void *ud) {
  (void)loop;
  ft_runner *r = ud;
  if (!r->started)
    return false;
  size_t finished = 0;
  /* Only what runs is polled.  A unit that finishes leaves the list (the
   * last one takes its place, so the same place is polled again); units it
   * starts join at the end and are polled this turn too. */
  for (size_t k = 0; k < r->nrunning;) {
    size_t ui = r->running[k];
    ft__unit_poll(r, ui);
    if (r->units[ui].state == FT__U_FINISHED)
      finished++;
    else
      k++;
  }
  ft__queues_check(r);
  return finished > 0;
}

/* Every spawn seen is kept until its exit, so that each process is counted
 * once: descendants the watch reported (role "watched": what tasks and
 * processes exec, shell steps, leaked children) like the workload's own.
 * One that outlives its parent comes back to forktop and is reaped as an
 * orphan: its spawn may have been counted already, or (when the watch only
 * scans) never seen; and its exit may be reported twice (by the loop that
 * reaps it and by the watch that saw it go): the second is not counted.
 * Returns 0 not seen, 1 seen (ours), 2 seen (watched). */
static int ft__live_take(ft_runner *r, pid_t pid) {
  for (size_t i = 0; i < r->nlive; i++)
    if (r->live[i].pid == pid) {
      int kind = r->live[i].watched ? 2 : 1;
      r->live[i] = r->live[--r->nlive];
      return kind;
    }
  return 0;
}

static void ft__live_add(ft_runner *r, pid_t pid, bool watched) {
  if (r->nlive == r->caplive) {
    size_t cap = r->caplive ? r->caplive * 2 : 64;
    void *v = realloc(r->live, cap * sizeof *r->live);
    if (!v)
      return; /* then its exit is counted as one never seen */
    r->live = v;
    r->caplive = cap;
  }
  r->live[r->nlive].pid = pid;
  r->live[r->nlive++].watched = watched;
}

static bool ft__excused(const ft_runner *r, pid_t pid) {
  /* A process stopped by its stop rule was meant to end that way. */
  for (size_t i = 0; i < r->nunits; i++)
    for (int k = 0; k < r->units[i].nprocs; k++)
      if (r->units[i].stopped && ft_process_pid(r->units[i].procs[k]) == pid)
        return true;
  /* Nor is the end of a Slurm pool's agents (scancel may end them). */
  for (size_t i = 0; i < r->nunits; i++)
    if (r->units[i].agent && ft__slurm_agent_pid(r->units[i].agent) == pid)
      return true;
  return false;
}

static void ft__runner_hook(const ft_event *ev, void *ud) {
  ft_runner *r = ud;
  /* A remote process (host != 0) is its launcher's, a local child this
   * hook has already counted and stops: its pid is a number on another
   * machine, never to be counted or signalled here. */
  if (ev->host && (ev->kind == FT_EV_SPAWN || ev->kind == FT_EV_EXEC || ev->kind == FT_EV_EXIT))
    return;
  switch (ev->kind) {
  case FT_EV_SPAWN:
    r->sum.processes++;
    ft__live_add(r, ev->pid, ev->u.spawn.role && strcmp(ev->u.spawn.role, "watched") == 0);
    /* A process born after the stop's signal round (a shell's `sleep &`
     * forked just then) missed it: it gets the stop's signal as it is
     * seen, so it has the whole grace too, rather than SIGKILL at its end.
     * The pid is fresh from its spawn and below us, not yet reaped. */
    if (r->stopping)
      kill(ev->pid, r->killed ? SIGKILL : SIGTERM);
    break;
  case FT_EV_EXEC:
    /* ... and again once it has exec'd: a signal that lands between a
     * shell's fork and its child's exec runs the shell's trap handler in
     * the child and is lost with it. */
    if (r->stopping && !ev->u.exec.err)
      kill(ev->pid, r->killed ? SIGKILL : SIGTERM);
    break;
  case FT_EV_EXIT: {
    int seen = ft__live_take(r, ev->pid);
    bool watched = seen == 2;
    if (ev->u.exit.orphan) {
      r->sum.orphans++;
      if (!seen)
        r->sum.processes++; /* born and reparented between two scans */
    } else if (!seen) {
      break; /* its exit was counted already */
    }
    r->sum.exited++;
    bool bad = ev->u.exit.signal || ev->u.exit.code > 0; /* -1: not known */
    if (!bad || r->stopping || r->cleaning || ft__excused(r, ev->pid))
      break;
    r->sum.failed++;
    /* Only the workload's own processes decide its exit status: a task's
     * program that fails fails its task (a shell's "false || true" does
     * not fail the work). */
    if (!watched && !ev->u.exit.orphan)
      r->own_failed++;
    break;
  }
  case FT_EV_ERROR:
    r->last_err = ev->u.error.err;
    break;
  case FT_EV_HOST: /* a host lost is work not run as asked, even if done elsewhere */
    if (ev->u.host.lost && !r->stopping && !r->cleaning)
      ft__problem(r, "host %s lost: %s", ev->name ? ev->name : "?",
                  ev->u.host.cause ? ev->u.host.cause : "no cause given");
    break;
  case FT_EV_TASK_DONE:
    r->sum.tasks_done++;
    break;
  case FT_EV_TASK_FAIL:
    /* cancelled before any worker took it (a stop): it did not run */
    if (ev->u.task.status == FT_ECANCELED && ev->u.task.worker < 0)
      r->sum.tasks_not_run++;
    else
      r->sum.tasks_failed++;
    break;
  default:
    break;
  }
}

/* ----------------------------------------------------------------- api */

/* Register the pool task functions by name. */
void ft_runner_register(void) {
  ft_task_register("forktop.task", ft__pool_task);
  ft_star_register("forktop.star", ft__pool_star);
}

/* The units of plan in r: pools first, then processes (the order the
 * task arguments' unit numbers name, in a remote worker too). */
static int ft__units_new(ft_runner *r, const ft_plan *plan) {
  r->plan = plan;
  r->rng = plan->seed;
  r->nunits = plan->npools + plan->nprocs;
  r->units = ft__xalloc((r->nunits ? r->nunits : 1) * sizeof *r->units);
  r->running = ft__xalloc((r->nunits ? r->nunits : 1) * sizeof *r->running);
  r->queues = ft__xalloc((plan->nqueues ? plan->nqueues : 1) * sizeof *r->queues);
  if (!r->units || !r->running || !r->queues)
    return -ENOMEM;
  r->nwaiting = r->nunits; /* every unit starts WAITING */
  for (size_t i = 0; i < r->nunits; i++) {
    ft__unit *u = &r->units[i];
    u->runner = r;
    u->is_pool = i < plan->npools;
    u->idx = u->is_pool ? i : i - plan->npools;
    u->name = u->is_pool ? plan->pools[u->idx].name : plan->procs[u->idx].name;
  }
  return 0;
}

/* A runner that only runs pool tasks (a remote worker's ctx). */
int ft_runner_new_tasks(const ft_plan *plan, ft_runner **out) {
  ft_runner *r = ft__xalloc(sizeof *r);
  *out = NULL;
  if (!r)
    return -ENOMEM;
  int rc = ft__units_new(r, plan);
  if (rc < 0) {
    ft_runner_free(r);
    return rc;
  }
  ft_runner_register();
  *out = r;
  return 0;
}

/* Make a runner for plan. */
int ft_runner_new(ft_loop *loop, const ft_plan *plan, ft_runner **out) {
  int rc;
  ft_runner *r = ft__xalloc(sizeof *r);
  if (!r)
    return -ENOMEM;
  ft_runner_register();
  r->loop = loop;
  if ((rc = ft__units_new(r, plan)) < 0)
    goto fail;
  if ((rc = ft__units_link(r, plan)) < 0)
    goto fail;
  if ((rc = ft_loop_add_hook(loop, ft__runner_hook, r)) < 0 ||
      (rc = ft__loop_add_prepare(loop, ft__runner_tick, r)) < 0 ||
      (rc = ft_timer_new(loop, &r->grace)) < 0)
    goto fail;
  *out = r;
  return 0;
fail:
  ft_runner_free(r);
  *out = NULL;
  return rc;
}

/* Create the queues, then start what waits for nothing. */
int ft_runner_start(ft_runner *r) {
  for (size_t q = 0; q < r->plan->nqueues; q++) {
    const ft_plan_queue *pq = &r->plan->queues[q];
    int rc = ft_queue_new(r->loop, pq->name, pq->capacity, pq->bytes, &r->queues[q]);
    if (rc < 0)
      return rc;
  }
  r->started = true;
  for (size_t i = 0; i < r->nunits; i++)
    if (r->units[i].after < 0)
      ft__unit_start(r, i);
  return 0;
}

/* Free the runner. */
void ft_runner_free(ft_runner *r) {
  if (!r)
    return;
  if (r->loop) {
    ft_loop_remove_hook(r->loop, ft__runner_hook, r);
    ft__loop_remove_prepare(r->loop, ft__runner_tick, r);
  }
  for (size_t i = 0; i < r->nunits; i++) {
    ft__unit *u = &r->units[i];
    for (size_t k = 0; k < u->nresults; k++)
      ft_result_free(u->results[k]);
    free(u->results);
    ft_iter_free(u->iter);
    ft_timer_free(u->feed_timer);
    ft__feed_free(u->feed);
    ft_pool_free(u->pool);
    ft__slurm_agent_free(u->agent);
    ft__slurm_free(u->slurm); /* after its workers' steps have gone */
    ft_timer_free(u->wake);
    ft_timer_free(u->chaos);
    free(u->args);
    free(u->argbuf);
    for (int k = 0; k < u->nprocs; k++) {
      ft_process_free(u->procs[k]);
      free(u->names ? u->names[k] : NULL);
    }
    free(u->procs);
    free(u->names);
  }
  for (size_t q = 0; r->queues && q < r->plan->nqueues; q++)
    ft_queue_free(r->queues[q]);
  ft_timer_free(r->grace);
  free(r->live);
  free(r->units);
  free(r->running);
  free(r->queues);
  free(r);
}
