/* ft_pool.c - Pool: forked workers, submissions (apply_async, map, starmap,
 * imap), close / terminate / join, and the supervision of workers: a worker
 * that dies fails the chunk it held and is replaced; restarts back off. */
#include "ft_pool_int.h"

#include <stdio.h>
#include <unistd.h>

#define FT__QUICK_DEATH_NS (100ull * 1000 * 1000)
#define FT__TERM_GRACE_NS (1000ull * 1000 * 1000)

static int ft__worker_spawn(ft_pool *p, ft__worker *wk);
static void ft__pool_arm_respawn(ft_pool *p);

/* ------------------------------------------------------------ workers */

/* Once a closed pool has no worker left and nothing to do, say so (once). */
static void ft__pool_maybe_end(ft_pool *p) {
  if (p->ended || p->alive || !p->closed || p->pending_head || p->retries || p->nstreams ||
      p->oldest != p->next_seq)
    return;
  p->ended = true;
  ft_timer_stop(p->respawn_timer);
  ft_event ev = {.kind = FT_EV_POOL_END, .pid = p->loop->pid, .ppid = getppid(), .name = p->name};
  ev.u.pool.workers = p->nworkers;
  ft__emit(p->loop, &ev);
}

/* Whether a worker that left should be replaced: while the pool runs, and
 * after close only while queued or pending work needs hands. */
static bool ft__pool_wants_workers(const ft_pool *p) {
  return !p->terminated && (!p->closed || ft__pool_has_work(p));
}

/* A worker exited.  Its committed results are taken first, then whatever it
 * still held fails with its signal or exit code, then it is replaced. */
static void ft__worker_on_exit(ft__child *c, void *owner) {
  ft__worker *wk = owner;
  ft_pool *p = wk->pool;
  int w = wk->idx;
  bool recycled = p->tr->ops->worker_exited(p->tr, w);
  int code = ft__child_exitcode(c);
  if (p->tr->ops->exit_code)
    code = p->tr->ops->exit_code(p->tr, w, code);
  p->cause = p->tr->ops->exit_cause ? p->tr->ops->exit_cause(p->tr, w) : NULL;
  ft__pool_fail_running(p, w, p->terminated ? FT_ECANCELED : FT_EWORKER, code > 0 ? code : 0,
                        code < 0 ? -code : 0);
  ft__pool_host_exit(p, wk, c, code);
  p->cause = NULL;
  ft__child_release(c);
  wk->child = NULL;
  p->alive--;
  wk->state = FT__W_EMPTY;
  p->tr->ops->worker_clear(p->tr, w);
  if (!ft__pool_wants_workers(p)) {
    wk->state = FT__W_GONE;
    ft__pool_maybe_end(p);
    return;
  }
  wk->old_pid = wk->pid;
  wk->reason = recycled ? FT_REPLACE_RECYCLED : FT_REPLACE_DIED;
  if (recycled)
    p->stats.workers_recycled++;
  else
    p->stats.workers_replaced++;
  uint64_t now = ft_now_ns();
  /* s6-style backoff: a worker that dies young without finishing a task
   * waits longer each time before it is restarted, so a crash at start-up
   * cannot turn into a fork storm.  A remote worker whose launcher never
   * got it started is one however long the launcher took (srun's own
   * start-up alone takes 50-100 ms, more on a loaded machine). */
  bool unborn = p->tr->ops->never_started && p->tr->ops->never_started(p->tr, w);
  if (!recycled && wk->records == 0 && (unborn || now - wk->started_ns < FT__QUICK_DEATH_NS))
    wk->quick_deaths++;
  else
    wk->quick_deaths = 0;
  if (!wk->quick_deaths) {
    ft__worker_spawn(p, wk);
    return;
  }
  /* Workers that cannot even start (an initializer failing, say) would
   * leave the work waiting forever: after a few deaths in a row with no
   * worker alive, fail the work with the cause instead of hanging. */
  if (wk->quick_deaths >= FT__MAX_QUICK_DEATHS && p->alive == 0) {
    p->cause = p->tr->ops->exit_cause ? p->tr->ops->exit_cause(p->tr, w) : NULL;
    ft__pool_cancel_all(p, FT_EWORKER, code > 0 ? code : 0, code < 0 ? -code : 0);
    p->cause = NULL;
  }
  unsigned shift = wk->quick_deaths > 7 ? 7 : wk->quick_deaths - 1;
  wk->respawn_at = now + (8ull * 1000 * 1000 << shift); /* 8 ms .. ~1 s */
  ft__pool_arm_respawn(p);
}

static void ft__pool_on_respawn(ft_timer *t, void *ud) {
  (void)t;
  ft_pool *p = ud;
  uint64_t now = ft_now_ns();
  for (int w = 0; w < p->nworkers; w++) {
    ft__worker *wk = &p->workers[w];
    if (wk->state != FT__W_EMPTY || wk->respawn_at > now)
      continue;
    if (ft__pool_wants_workers(p))
      ft__worker_spawn(p, wk);
    else
      wk->state = FT__W_GONE;
  }
  ft__pool_arm_respawn(p);
  ft__pool_maybe_end(p);
}

static void ft__pool_arm_respawn(ft_pool *p) {
  uint64_t first = 0;
  for (int w = 0; w < p->nworkers; w++)
    if (p->workers[w].state == FT__W_EMPTY && (!first || p->workers[w].respawn_at < first))
      first = p->workers[w].respawn_at;
  if (!first) {
    ft_timer_stop(p->respawn_timer);
    return;
  }
  uint64_t now = ft_now_ns();
  ft_timer_start(p->respawn_timer, first > now ? first - now : 0, 0, ft__pool_on_respawn, p);
}

/* Fork the worker of slot wk.  On failure the slot waits for a retry; if no
 * worker is left at all, the work fails with the error rather than hang. */
static ft__spawn_opts ft__worker_opts(ft_pool *p, ft__worker *wk) {
  ft__spawn_opts so = {.name = p->name,
                       .role = "worker",
                       .worker = wk->idx,
                       .out = p->out,
                       .err = p->err,
                       .on_exit = ft__worker_on_exit,
                       .owner = wk};
  p->tr->ops->worker_start(p->tr, wk->idx, &so); /* what it runs, the fds it keeps */
  return so;
}

static int ft__worker_spawned(ft_pool *p, ft__worker *wk, int rc, ft__child *c);

static int ft__worker_spawn(ft_pool *p, ft__worker *wk) {
  ft__spawn_opts so = ft__worker_opts(p, wk);
  ft__child *c = NULL;
  int rc = ft__spawn(p->loop, &so, &c);
  return ft__worker_spawned(p, wk, rc, c);
}

/* Take note of a worker's fork: rc 0 and its child, or the error. */
static int ft__worker_spawned(ft_pool *p, ft__worker *wk, int rc, ft__child *c) {
  if (rc < 0) {
    if (!wk->spawn_failed) { /* said once, until a fork works again */
      char what[64];
      snprintf(what, sizeof what, "fork worker %d", wk->idx);
      ft_event ev = {.kind = FT_EV_ERROR, .pid = p->loop->pid, .ppid = getppid(), .name = p->name};
      ev.u.error.err = rc;
      ev.u.error.what = what;
      ft__emit(p->loop, &ev);
    }
    wk->spawn_failed = true;
    wk->state = FT__W_EMPTY;
    wk->quick_deaths++;
    unsigned shift = wk->quick_deaths > 7 ? 7 : wk->quick_deaths - 1;
    wk->respawn_at = ft_now_ns() + (8ull * 1000 * 1000 << shift);
    if (p->alive == 0)
      ft__pool_cancel_all(p, rc, 0, 0);
    ft__pool_arm_respawn(p);
    return rc;
  }
  wk->child = c;
  wk->pid = c->pid;
  wk->spawn_failed = false;
  wk->state = FT__W_ALIVE;
  wk->started_ns = c->start_ns;
  wk->tasks = 0;
  wk->records = 0;
  p->alive++;
  p->stats.workers_started++;
  if (wk->old_pid) {
    ft_event ev = {.kind = FT_EV_WORKER_REPLACED, .pid = c->pid, .ppid = c->ppid, .name = p->name};
    ev.u.replaced.worker = wk->idx;
    ev.u.replaced.old_pid = wk->old_pid;
    ev.u.replaced.new_pid = c->pid;
    ev.u.replaced.reason = wk->reason;
    ft__emit(p->loop, &ev);
    wk->old_pid = 0;
  }
  return 0;
}

/* ---------------------------------------------------------------- pool */

/* Create a pool and fork its workers. */
int ft_pool_new(ft_loop *loop, const ft_pool_opts *opts, ft_pool **out) {
  return ft__pool_new(loop, opts, ft__transport_shm_new, NULL, out);
}

/* Create a pool whose workers run tcp->argv and connect back over TCP. */
int ft_pool_new_tcp(ft_loop *loop, const ft_pool_opts *opts, const ft_pool_tcp *tcp,
                    ft_pool **out) {
  if (out)
    *out = NULL;
  if (!tcp || !tcp->argv || !tcp->argv[0] || (opts && opts->initializer))
    return FT_EINVAL;
  return ft__pool_new(loop, opts, ft__transport_tcp_new, tcp, out);
}

/* Create a pool reaching its workers through the transport make makes. */
int ft__pool_new(ft_loop *loop, const ft_pool_opts *opts, ft__transport_new_fn make,
                 const void *cfg, ft_pool **out) {
  ft_pool_opts dflt = {0};
  int rc;
  *out = NULL;
  if (!opts)
    opts = &dflt;
  if ((rc = ft__loop_check(loop)) < 0 && rc != FT_EBUSY)
    return rc;
  int n = opts->workers > 0 ? opts->workers : ft_cpu_count();
  if (opts->workers < 0 || n > FT__MAX_WORKERS)
    return FT_EINVAL;
  ft_pool *p = ft__xalloc(sizeof *p);
  if (!p)
    return -ENOMEM;
  p->loop = loop;
  p->nworkers = n;
  p->maxtasks = opts->maxtasksperchild;
  p->out = opts->out;
  p->err = opts->err;
  p->initializer = opts->initializer;
  p->initarg = opts->initarg;
  p->ctx = opts->ctx;
  p->name = ft__strdup(opts->name ? opts->name : "pool");
  p->workers = ft__xalloc_nofork((size_t)n * sizeof *p->workers); /* workers never read it */
  p->nslots = ft__slots_for(n);
  p->chunks = ft__xalloc(p->nslots * sizeof *p->chunks);
  if (!p->name || !p->workers || !p->chunks) {
    rc = -ENOMEM;
    goto fail;
  }
  if ((rc = make(p, n, opts, cfg, &p->tr)) < 0)
    goto fail;
  if ((rc = ft_timer_new(loop, &p->respawn_timer)) < 0 ||
      (rc = ft__loop_add_prepare(loop, ft__pool_prepare, p)) < 0)
    goto fail;
  p->stats.workers = n;
  uint64_t t0 = ft_now_ns();
  /* All the workers are forked in one batch (see ft__spawn_batch). */
  ft__spawn_opts *so = ft__xalloc_nofork((size_t)n * sizeof *so);
  ft__child **cs = ft__xalloc_nofork((size_t)n * sizeof *cs);
  int *rcs = ft__xalloc_nofork((size_t)n * sizeof *rcs);
  bool room = so && cs && rcs;
  if (room) {
    for (int w = 0; w < n; w++) {
      p->workers[w] = (ft__worker){.pool = p, .idx = w};
      so[w] = ft__worker_opts(p, &p->workers[w]);
    }
    ft__spawn_batch(loop, so, n, cs, rcs);
    /* A limit that stops one fork stops the rest: the first failure is
     * said, not one line per worker (the pool's user says the count). */
    bool said = false;
    for (int w = 0; w < n; w++) {
      p->workers[w].spawn_failed = said && rcs[w] < 0;
      said = said || rcs[w] < 0;
      rc = ft__worker_spawned(p, &p->workers[w], rcs[w], cs[w]);
    }
  }
  ft__xfree_nofork(so, (size_t)n * sizeof *so);
  ft__xfree_nofork(cs, (size_t)n * sizeof *cs);
  ft__xfree_nofork(rcs, (size_t)n * sizeof *rcs);
  if (!room)
    rc = -ENOMEM;
  if (p->alive == 0)
    goto fail; /* not one worker: the pool cannot work */
  p->stats.start_ns = ft_now_ns() - t0;
  ft_event ev = {.kind = FT_EV_POOL_START, .pid = loop->pid, .ppid = getppid(), .name = p->name};
  ev.u.pool.workers = p->alive;
  ft__emit(loop, &ev);
  *out = p;
  return 0;

fail:
  ft_pool_free(p);
  return rc;
}

/* ---------------------------------------------------------- submission */

/* Write one item in wire form at d; returns the bytes written. */
/* Copy the arguments into r->args in wire form and note where each chunk
 * starts, so publishing need not walk. */
static void ft__args_write(ft_result *r, const ft_slice *items, const ft_args *star) {
  size_t n = r->n, chunksize = r->chunksize;
  char *d = r->args;
  for (size_t i = 0; i < n; i++) {
    if (i % chunksize == 0) /* where each chunk starts, so publishing need not walk */
      r->chunk_off[i / chunksize] = (size_t)(d - r->args);
    if (r->kind == FT__KIND_TASK) {
      d += ft__wire_write(d, items[i].ptr, items[i].len);
      continue;
    }
    /* starmap: [u32 size][pad][u32 argc][pad], then each argument in wire form */
    char *at = d;
    uint32_t h[4] = {0, 0, (uint32_t)star[i].argc, 0};
    memcpy(d, h, sizeof h);
    d += sizeof h;
    for (size_t k = 0; k < star[i].argc; k++)
      d += ft__wire_write(d, star[i].argv[k].ptr, star[i].argv[k].len);
    uint32_t size = (uint32_t)(d - at - 8);
    memcpy(at, &size, sizeof size);
  }
  r->chunk_off[r->nchunks] = r->args_len;
}

/* Build a result for n items.  The arguments are copied (so the caller's
 * buffers may go as soon as the submission returns) into one buffer sized
 * in a first pass: a map of millions of items must not pay for regrowth.
 * With borrow (map, which waits for the end before it returns) they are
 * not: chunks are handed to the transport straight from the caller's items
 * (shared memory copies them into its arena), which saves writing and
 * faulting in a second copy of them all. */
static int ft__result_new(ft_pool *p, uintptr_t fn, uint32_t kind, const ft_slice *items,
                          const ft_args *star, size_t n, size_t chunksize, bool unordered,
                          bool borrow, ft_result **out) {
  size_t total = 0;
  for (size_t i = 0; i < n && !borrow; i++) {
    if (kind == FT__KIND_TASK) {
      if (items[i].len > UINT32_MAX)
        return FT_E2BIG;
      total += 8 + FT__ALIGN8(items[i].len);
      continue;
    }
    size_t one = 8;
    for (size_t k = 0; k < star[i].argc; k++)
      one += 8 + FT__ALIGN8(star[i].argv[k].len);
    if (one > UINT32_MAX || star[i].argc > UINT32_MAX)
      return FT_E2BIG;
    total += 8 + one;
  }
  ft_result *r = ft__xalloc(sizeof *r);
  if (!r)
    return -ENOMEM;
  if (!chunksize)
    chunksize = 1;
  r->fn = fn;
  r->kind = kind;
  r->n = n;
  r->chunksize = chunksize;
  r->args_len = total;
  r->nchunks = (n + chunksize - 1) / chunksize;
  r->items = ft__big_alloc_dirty(n * sizeof *r->items);
  r->done = ft__big_alloc((n + 63) / 64 * sizeof *r->done);
  r->order = unordered ? ft__big_alloc(n * sizeof *r->order) : NULL;
  if (borrow) {
    r->src = items;
  } else {
    r->args = ft__big_alloc(total);
    r->chunk_off = ft__big_alloc((r->nchunks + 1) * sizeof *r->chunk_off);
  }
  if (!r->items || !r->done || (unordered && !r->order) ||
      (!borrow && (!r->args || !r->chunk_off))) {
    r->refs = 1;
    ft__result_unref(r);
    return -ENOMEM;
  }
  if (!borrow)
    ft__args_write(r, items, star);
  r->pool = p;
  r->refs = 2; /* the caller's and the pool's */
  r->batch = p->next_batch++;
  r->task0 = p->next_task;
  p->next_task += n;
  p->stats.tasks_submitted += n;
  *out = r;
  return 0;
}

static int ft__submit_any(ft_pool *p, uintptr_t fn, uint32_t kind, const ft_slice *items,
                          const ft_args *star, size_t n, size_t chunksize, bool unordered,
                          bool borrow, bool stream, ft_result_cb cb, ft_result_cb ecb, void *ud,
                          ft_result **out) {
  if (out)
    *out = NULL;
  if (!p || !fn || (n && !items && !star))
    return FT_EINVAL;
  if ((p->closed && !stream) || p->terminated)
    return FT_ENOTRUNNING;
  ft_result *r;
  int rc = p->tr->ops->check_fn ? p->tr->ops->check_fn(p->tr, fn, kind) : 0;
  if (rc < 0)
    return rc;
  rc = ft__result_new(p, fn, kind, items, star, n, chunksize, unordered, borrow, &r);
  if (rc < 0)
    return rc;
  r->cb = cb;
  r->ecb = ecb;
  r->ud = ud;
  if (!out)
    r->refs--; /* nobody holds it but the pool */
  else
    *out = r;
  if (n == 0) { /* nothing to do: ready at once */
    r->ready = true;
    if (cb)
      cb(r, ud);
    ft__result_unref(r);
    return 0;
  }
  ft_event ev = {.kind = FT_EV_SUBMIT, .pid = p->loop->pid, .ppid = getppid(), .name = p->name};
  ev.u.submit.batch = r->batch;
  ev.u.submit.first = r->task0;
  ev.u.submit.count = n;
  if (p->loop->nhooks)
    ft__emit(p->loop, &ev);
  r->in_pending = true;
  if (p->pending_tail)
    p->pending_tail->next_pending = r;
  else
    p->pending_head = r;
  p->pending_tail = r;
  /* A pool whose workers all failed to fork tries again for new work. */
  if (p->alive == 0)
    for (int w = 0; w < p->nworkers; w++)
      if (p->workers[w].state == FT__W_EMPTY)
        p->workers[w].respawn_at = 0;
  ft__pool_arm_respawn(p);
  return 0;
}

static int ft__submit(ft_pool *p, uintptr_t fn, uint32_t kind, const ft_slice *items,
                      const ft_args *star, size_t n, size_t chunksize, bool unordered, bool borrow,
                      ft_result_cb cb, ft_result_cb ecb, void *ud, ft_result **out) {
  return ft__submit_any(p, fn, kind, items, star, n, chunksize, unordered, borrow, false, cb, ecb,
                        ud, out);
}

/* Submit n items for a streamed imap (ft_pool_stream.c). */
int ft__pool_submit(ft_pool *p, uintptr_t fn, const ft_slice *items, size_t n, size_t chunksize,
                    bool unordered, bool stream, ft_result **out) {
  return ft__submit_any(p, fn, FT__KIND_TASK, items, NULL, n, chunksize, unordered, false, stream,
                        NULL, NULL, NULL, out);
}

/* Python's rule: chunksize = ceil(n / (4 * workers)). */
static size_t ft__auto_chunksize(const ft_pool *p, size_t n) {
  size_t d = (size_t)p->nworkers * 4;
  size_t c = n / d + ((n % d) ? 1 : 0);
  return c ? c : 1;
}

/* Submit one task. */
int ft_pool_apply_async(ft_pool *p, ft_task_fn fn, ft_slice arg, ft_result_cb callback,
                        ft_result_cb error_callback, void *ud, ft_result **out) {
  return ft__submit(p, (uintptr_t)fn, FT__KIND_TASK, &arg, NULL, 1, 1, false, false, callback,
                    error_callback, ud, out);
}

/* map without waiting. */
int ft_pool_map_async(ft_pool *p, ft_task_fn fn, const ft_slice *items, size_t n, size_t chunksize,
                      ft_result_cb callback, ft_result_cb error_callback, void *ud,
                      ft_result **out) {
  if (!p)
    return FT_EINVAL;
  return ft__submit(p, (uintptr_t)fn, FT__KIND_TASK, items, NULL, n,
                    chunksize ? chunksize : ft__auto_chunksize(p, n), false, false, callback,
                    error_callback, ud, out);
}

/* starmap without waiting. */
int ft_pool_starmap_async(ft_pool *p, ft_star_fn fn, const ft_args *items, size_t n,
                          size_t chunksize, ft_result_cb callback, ft_result_cb error_callback,
                          void *ud, ft_result **out) {
  if (!p)
    return FT_EINVAL;
  return ft__submit(p, (uintptr_t)fn, FT__KIND_STAR, NULL, items, n,
                    chunksize ? chunksize : ft__auto_chunksize(p, n), false, false, callback,
                    error_callback, ud, out);
}

static int ft__wait_all(ft_pool *p, int rc, ft_result **out) {
  if (rc < 0)
    return rc;
  ft_item first;
  rc = ft_result_get(*out, -1, &first);
  (void)p;
  return rc;
}

/* map: submit and wait. */
int ft_pool_map(ft_pool *p, ft_task_fn fn, const ft_slice *items, size_t n, size_t chunksize,
                ft_result **out) {
  int rc = p ? ft__loop_check(p->loop) : FT_EINVAL;
  if (rc < 0)
    return rc;
  /* The items are borrowed, not copied: they stay the caller's until we
   * return, and we return only once every item has ended ... */
  rc = ft__submit(p, (uintptr_t)fn, FT__KIND_TASK, items, NULL, n,
                  chunksize ? chunksize : ft__auto_chunksize(p, n), false, true, NULL, NULL, NULL,
                  out);
  rc = ft__wait_all(p, rc, out);
  /* ... or when the wait itself failed: then what is not yet published
   * (a transport copies what it takes) fails with that error rather than
   * outlive the caller's buffers. */
  if (rc < 0 && *out && !ft_result_ready(*out))
    ft__pool_cancel_result(p, *out, rc);
  return rc;
}

/* starmap: submit and wait. */
int ft_pool_starmap(ft_pool *p, ft_star_fn fn, const ft_args *items, size_t n, size_t chunksize,
                    ft_result **out) {
  int rc = p ? ft__loop_check(p->loop) : FT_EINVAL;
  if (rc < 0)
    return rc;
  return ft__wait_all(p, ft_pool_starmap_async(p, fn, items, n, chunksize, NULL, NULL, NULL, out),
                      out);
}

static int ft__imap(ft_pool *p, ft_task_fn fn, const ft_slice *items, size_t n, size_t chunksize,
                    bool ordered, ft_iter **out) {
  *out = NULL;
  ft_iter *it = ft__xalloc(sizeof *it);
  if (!it)
    return -ENOMEM;
  int rc = ft__submit(p, (uintptr_t)fn, FT__KIND_TASK, items, NULL, n, chunksize ? chunksize : 1,
                      !ordered, false, NULL, NULL, NULL, &it->res);
  if (rc < 0) {
    free(it);
    return rc;
  }
  it->ordered = ordered;
  *out = it;
  return 0;
}

/* imap: results in order. */
int ft_pool_imap(ft_pool *p, ft_task_fn fn, const ft_slice *items, size_t n, size_t chunksize,
                 ft_iter **out) {
  return ft__imap(p, fn, items, n, chunksize, true, out);
}

/* imap_unordered: results as they come. */
int ft_pool_imap_unordered(ft_pool *p, ft_task_fn fn, const ft_slice *items, size_t n,
                           size_t chunksize, ft_iter **out) {
  return ft__imap(p, fn, items, n, chunksize, false, out);
}

/* ------------------------------------------------------------ lifecycle */

/* No more submissions; workers leave once the queued work is done. */
int ft_pool_close(ft_pool *p) {
  if (!p)
    return FT_EINVAL;
  p->closed = true;
  return 0;
}

static void ft__pool_on_grace(ft_timer *t, void *ud) {
  (void)t;
  ft_pool *p = ud;
  for (int w = 0; w < p->nworkers; w++)
    if (p->workers[w].state == FT__W_ALIVE)
      ft__child_signal(p->workers[w].child, SIGKILL);
}

/* Stop now: SIGTERM to the workers (SIGKILL after a grace period), every
 * unfinished task fails with FT_ECANCELED: at once if no worker took it
 * (as never run, worker -1), at its worker's death if one did.
 *
 * The race: a worker may take a chunk, or begin one and write its START,
 * at any moment up to its death.  So the transport first stops handing
 * chunks out, then what the workers already wrote is collected, and then
 * only the chunks the transport takes back atomically (cancel) are failed
 * here; a chunk a worker holds, begun or not, stays in flight, and that
 * worker's death fails it exactly (ft__pool_fail_running: the item it was
 * in under that worker, the items after it as never run), as for any
 * death.  Join waits for those deaths. */
int ft_pool_terminate(ft_pool *p) {
  if (!p)
    return FT_EINVAL;
  if (p->terminated)
    return 0;
  p->terminated = p->closed = p->told_close = true;
  p->tr->ops->terminate(p->tr);
  p->tr->ops->collect(p->tr, p->loop->nhooks > 0);
  for (int w = 0; w < p->nworkers; w++) {
    ft__worker *wk = &p->workers[w];
    if (wk->state == FT__W_ALIVE)
      ft__child_signal(wk->child, SIGTERM);
    else
      wk->state = FT__W_GONE;
  }
  ft__pool_streams_stop(p, false);
  ft__pool_cancel_all(p, FT_ECANCELED, 0, 0);
  ft_timer_start(p->respawn_timer, FT__TERM_GRACE_NS, 0, ft__pool_on_grace, p);
  return 0;
}

static bool ft__pool_joined(void *ud) {
  ft_pool *p = ud;
  return p->alive == 0 && !p->pending_head && !p->retries && !p->nstreams &&
         p->oldest == p->next_seq;
}

/* Wait for every worker to exit; FT_ERUNNING before close or terminate. */
int ft_pool_join(ft_pool *p, double timeout) {
  if (!p)
    return FT_EINVAL;
  if (!p->closed && !p->terminated)
    return FT_ERUNNING;
  int rc = ft__loop_run_until(p->loop, ft__pool_joined, p, ft__deadline(timeout));
  if (rc == 0)
    ft__pool_maybe_end(p);
  return rc;
}

/* Counters. */
void ft_pool_stats_get(const ft_pool *p, ft_pool_stats *st) {
  *st = p->stats;
  st->alive = p->alive;
}

/* Pid of worker i, 0 if none. */
pid_t ft_pool_worker_pid(const ft_pool *p, int i) {
  if (!p || i < 0 || i >= p->nworkers || p->workers[i].state != FT__W_ALIVE)
    return 0;
  return p->workers[i].pid;
}

/* Name. */
const char *ft_pool_name(const ft_pool *p) { return p ? p->name : NULL; }

/* Terminate if needed and free; workers still alive are killed and left
 * to the loop to reap, and what they held fails now (their deaths will not
 * be heard): the item each was in under it, the rest as never run. */
void ft_pool_free(ft_pool *p) {
  if (!p)
    return;
  if (p->tr && p->workers) {
    if (!p->terminated && !p->ended)
      ft_pool_terminate(p);
    for (int w = 0; w < p->nworkers; w++)
      if (p->workers[w].state == FT__W_ALIVE) {
        ft__pool_fail_running(p, w, FT_ECANCELED, 0, 0);
        ft__child_release(p->workers[w].child);
        p->workers[w].state = FT__W_GONE;
      }
  }
  ft__pool_streams_stop(p, true);
  ft__loop_remove_prepare(p->loop, ft__pool_prepare, p);
  ft__host_forget(p->loop, p);
  ft_timer_free(p->respawn_timer);
  if (p->tr)
    p->tr->ops->free(p->tr);
  ft__xfree_nofork(p->workers, (size_t)p->nworkers * sizeof *p->workers);
  free(p->chunks);
  free(p->name);
  free(p);
}
