/* ft_model.c - the state built from events: processes keyed by host and
 * pid, pools, queues, an exit log and bounded rings of output.  Every
 * event is applied in O(1) (a hash lookup); the work that walks every
 * process (expiry, totals) is done by ft_model_tick (ft_model_tick.c),
 * once per frame. */
#include "ft_model_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void ft__copy_name(char *dst, size_t cap, const char *src) {
  size_t n = src ? strnlen(src, cap - 1) : 0;
  memcpy(dst, src ? src : "", n);
  dst[n] = '\0';
}

/* ---------------------------------------------------------- processes */

/* Whether a process ended badly. */
bool ft_mproc_failed(const ft_mproc *p) {
  return p->exited && (p->code || (p->signal && !p->requested));
}

static size_t ft__hash(uint32_t host, pid_t pid) {
  uint64_t k = ((uint64_t)host << 32) ^ (uint32_t)pid;
  k *= 0x9E3779B97F4A7C15ull;
  return (size_t)(k >> 17);
}

int ft__mproc_rebuild(ft_model *m, size_t want) {
  size_t cap = 64;
  while (cap < want * 2)
    cap *= 2;
  if (cap != m->mapcap) {
    int32_t *map = malloc(cap * sizeof *map);
    if (!map)
      return -ENOMEM;
    free(m->map);
    m->map = map;
    m->mapcap = cap;
  }
  memset(m->map, 0xff, m->mapcap * sizeof *m->map);
  for (size_t i = 0; i < m->nprocs; i++) {
    size_t h = ft__hash(m->procs[i].host, m->procs[i].pid) & (m->mapcap - 1);
    while (m->map[h] >= 0)
      h = (h + 1) & (m->mapcap - 1);
    m->map[h] = (int32_t)i;
  }
  return 0;
}

ft_mproc *ft__mproc_find(const ft_model *m, uint32_t host, pid_t pid) {
  if (!m->mapcap)
    return NULL;
  for (size_t h = ft__hash(host, pid) & (m->mapcap - 1); m->map[h] >= 0;
       h = (h + 1) & (m->mapcap - 1)) {
    ft_mproc *p = &m->procs[m->map[h]];
    if (p->pid == pid && p->host == host)
      return p;
  }
  return NULL;
}

/* A fresh row for pid; a row the pid had before (a reused pid) is reset. */
static ft_mproc *ft__proc_new(ft_model *m, uint32_t host, pid_t pid, uint64_t t) {
  ft_mproc *p = ft__mproc_find(m, host, pid);
  if (p) {
    if (!p->exited && p->role != FT_MROLE_ROOT && m->tot.running)
      m->tot.running--; /* its exit was never seen */
    ft__mlines_free(&p->out);
  } else {
    if (ft__grow((void **)&m->procs, &m->capprocs, m->nprocs, sizeof *m->procs) < 0)
      return NULL;
    p = &m->procs[m->nprocs++];
    p->host = host;
    p->pid = pid;
    if (m->nprocs * 2 > m->mapcap) {
      if (ft__mproc_rebuild(m, m->nprocs) < 0) {
        m->nprocs--;
        return NULL;
      }
    } else {
      size_t h = ft__hash(host, pid) & (m->mapcap - 1);
      while (m->map[h] >= 0)
        h = (h + 1) & (m->mapcap - 1);
      m->map[h] = (int32_t)(m->nprocs - 1);
    }
  }
  memset(p, 0, sizeof *p);
  p->host = host;
  p->pid = pid;
  p->worker = -1;
  p->t_start = t;
  return p;
}

static void ft__root_learn(ft_model *m, pid_t pid, uint64_t t) {
  if (m->root || pid <= 0)
    return;
  m->root = pid;
  ft_mproc *r = ft__proc_new(m, 0, pid, m->t0 ? m->t0 : t);
  if (!r)
    return;
  r->role = FT_MROLE_ROOT;
  r->ppid = 0;
  ft__copy_name(r->name, sizeof r->name, "forktop");
}

/* Events the supervisor sends about itself carry its parent as ppid. */
static void ft__root_parent(ft_model *m, const ft_event *ev) {
  ft_mproc *r = m->root ? ft__mproc_find(m, 0, m->root) : NULL;
  if (r && !r->ppid && ev->pid == m->root && ev->ppid > 0 && ev->ppid != m->root)
    r->ppid = ev->ppid;
}

static ft_mrole ft__role(const char *s) {
  if (s && strcmp(s, "worker") == 0)
    return FT_MROLE_WORKER;
  if (s && strcmp(s, "subprocess") == 0)
    return FT_MROLE_SUBPROCESS;
  return FT_MROLE_PROCESS;
}

/* ----------------------------------------------------- pools, queues */

static ft_mpool *ft__pool(ft_model *m, const char *name) {
  for (size_t i = 0; i < m->npools; i++)
    if (strncmp(m->pools[i].name, name, FT_MODEL_NAME_MAX - 1) == 0)
      return &m->pools[i];
  if (ft__grow((void **)&m->pools, &m->cappools, m->npools, sizeof *m->pools) < 0)
    return NULL;
  ft_mpool *p = &m->pools[m->npools++];
  memset(p, 0, sizeof *p);
  ft__copy_name(p->name, sizeof p->name, name);
  p->eta_s = -1;
  return p;
}

static ft_mqueue *ft__queue(ft_model *m, const char *name) {
  for (size_t i = 0; i < m->nqueues; i++)
    if (strncmp(m->queues[i].name, name, FT_MODEL_NAME_MAX - 1) == 0)
      return &m->queues[i];
  if (ft__grow((void **)&m->queues, &m->capqueues, m->nqueues, sizeof *m->queues) < 0)
    return NULL;
  ft_mqueue *q = &m->queues[m->nqueues++];
  memset(q, 0, sizeof *q);
  ft__copy_name(q->name, sizeof q->name, name);
  return q;
}

static uint64_t ft__sec(const ft_model *m, uint64_t t) {
  return t > m->t0 ? (t - m->t0) / FT__NS : 0;
}

static void ft__queue_sample(ft_model *m, ft_mqueue *q, const ft_event *ev) {
  uint64_t prev_depth = q->st.depth;
  q->st = ev->u.queue;
  if (!q->t_first)
    q->t_first = ev->t_ns;
  q->t_last = ev->t_ns;
  /* rates: differences over about the last second and a half */
  unsigned newest = (q->hhead + FT_MODEL_HIST - 1) % FT_MODEL_HIST;
  if (!q->nhist || ev->t_ns >= q->hist_t[newest] + FT__NS / 10) {
    q->hist_t[q->hhead] = ev->t_ns;
    q->hist_puts[q->hhead] = q->st.puts;
    q->hist_gets[q->hhead] = q->st.gets;
    q->hhead = (q->hhead + 1) % FT_MODEL_HIST;
    if (q->nhist < FT_MODEL_HIST)
      q->nhist++;
  }
  unsigned oldest = (q->hhead + FT_MODEL_HIST - q->nhist) % FT_MODEL_HIST;
  for (unsigned k = 0; k + 1 < q->nhist; k++) {
    unsigned i = (oldest + k) % FT_MODEL_HIST;
    if (ev->t_ns - q->hist_t[i] <= 3 * FT__NS / 2)
      break;
    oldest = (i + 1) % FT_MODEL_HIST;
  }
  if (ev->t_ns > q->hist_t[oldest]) {
    double dt = (double)(ev->t_ns - q->hist_t[oldest]) / 1e9;
    q->put_rate = (double)(q->st.puts - q->hist_puts[oldest]) / dt;
    q->get_rate = (double)(q->st.gets - q->hist_gets[oldest]) / dt;
  }
  /* the sparkline: the highest depth of each second */
  uint64_t sec = ft__sec(m, ev->t_ns);
  if (!q->spark_any) {
    memset(q->spark, 0, sizeof q->spark);
    q->spark_any = true;
    q->spark_sec = sec;
    q->spark[sec % FT_MODEL_SPARK] = q->st.depth;
  } else if (sec > q->spark_sec) {
    uint64_t from = sec - q->spark_sec > FT_MODEL_SPARK ? sec - FT_MODEL_SPARK : q->spark_sec;
    for (uint64_t s = from + 1; s < sec; s++)
      q->spark[s % FT_MODEL_SPARK] = prev_depth;
    q->spark[sec % FT_MODEL_SPARK] = q->st.depth;
    q->spark_sec = sec;
  } else if (sec == q->spark_sec && q->st.depth > q->spark[sec % FT_MODEL_SPARK]) {
    q->spark[sec % FT_MODEL_SPARK] = q->st.depth;
  }
}

/* The last minute of a queue's depth, oldest first. */
void ft_mqueue_spark(const ft_mqueue *q, uint64_t t0, uint64_t now, uint64_t out[FT_MODEL_SPARK]) {
  uint64_t nowsec = now > t0 ? (now - t0) / FT__NS : 0;
  uint64_t first = q->t_first > t0 ? (q->t_first - t0) / FT__NS : 0;
  for (uint64_t i = 0; i < FT_MODEL_SPARK; i++) {
    out[i] = 0;
    if (!q->spark_any || nowsec + i < FT_MODEL_SPARK - 1)
      continue;
    uint64_t s = nowsec + i - (FT_MODEL_SPARK - 1);
    if (s < first)
      continue;
    if (s > q->spark_sec)
      out[i] = q->st.depth;
    else if (s + FT_MODEL_SPARK > q->spark_sec)
      out[i] = q->spark[s % FT_MODEL_SPARK];
  }
}

/* ----------------------------------------------------------- exit log */

static ft_mexit *ft__log(ft_model *m, ft_mexit_kind kind, const ft_event *ev) {
  if (!m->log || !m->o.log_max)
    return NULL;
  ft_mexit *e = &m->log[m->loghead];
  m->loghead = (m->loghead + 1) % m->o.log_max;
  if (m->nlog < m->o.log_max)
    m->nlog++;
  memset(e, 0, sizeof *e);
  e->kind = kind;
  e->t_ns = ev->t_ns;
  e->host = ev->host;
  e->pid = ev->pid;
  e->worker = -1;
  ft__copy_name(e->name, sizeof e->name, ev->name);
  return e;
}

/* The i-th entry of the exit log, newest first. */
const ft_mexit *ft_model_snap_exit(const ft_model_snap *s, size_t i) {
  if (!s || i >= s->nexits)
    return NULL;
  return &s->exits[(s->exit_head + s->exit_cap - 1 - i) % s->exit_cap];
}

/* ------------------------------------------------------------- events */

/* After an exec the process IS the new program: its name becomes the
 * program's as the kernel names it (the file's base name, cut to 15
 * bytes: what ps and /proc/PID/comm show), its command the new one.  A
 * failed exec keeps the name: the process stays what it was. */
static void ft__apply_exec(ft_mproc *p, const ft_event *ev) {
  const char *path = ev->u.exec.path;
  p->exec_err = ev->u.exec.err;
  ft__copy_name(p->cmd, sizeof p->cmd, path);
  if (ev->u.exec.err || !path || !*path)
    return;
  const char *base = strrchr(path, '/');
  base = base && base[1] ? base + 1 : path;
  char comm[16];
  ft__copy_name(comm, sizeof comm, base);
  ft__copy_name(p->name, sizeof p->name, comm);
  if (ev->u.exec.argv && ev->u.exec.argv[0]) {
    size_t n = 0;
    for (const char *const *a = ev->u.exec.argv; *a && n + 1 < sizeof p->args; a++)
      n += (size_t)snprintf(p->args + n, sizeof p->args - n, "%s%s", n ? " " : "", *a);
  }
}

static void ft__apply_exit(ft_model *m, const ft_event *ev) {
  ft_mproc *p = ft__mproc_find(m, ev->host, ev->pid);
  if (p && p->exited && !ev->u.exit.orphan)
    return; /* said twice */
  if (!p || p->exited) {
    if (!(p = ft__proc_new(m, ev->host, ev->pid, ev->t_ns)))
      return;
    p->role = ev->u.exit.orphan ? FT_MROLE_ORPHAN : FT_MROLE_PROCESS;
    p->ppid = ev->u.exit.orphan ? m->root : ev->ppid;
    ft__copy_name(p->name, sizeof p->name, ev->name);
  } else if (p->role != FT_MROLE_ROOT && m->tot.running) {
    m->tot.running--;
  }
  p->exited = true;
  m->nexited++;
  p->busy = false;
  p->t_exit = ev->t_ns;
  p->code = ev->u.exit.code;
  p->signal = ev->u.exit.signal;
  p->core = ev->u.exit.core;
  p->orphan = ev->u.exit.orphan;
  p->requested = ev->u.exit.requested;
  if (p->orphan)
    m->tot.orphans++;
  else
    m->tot.exited++;
  if (!p->orphan && ft_mproc_failed(p))
    m->tot.failed++;
  ft_mexit *e = ft__log(m, FT_MEXIT_EXIT, ev);
  if (e) {
    e->role = p->role;
    e->worker = p->worker;
    if (p->role == FT_MROLE_WORKER)
      ft__copy_name(e->name, sizeof e->name, p->name);
    e->code = p->code;
    e->signal = p->signal;
    e->core = p->core;
    e->orphan = p->orphan;
    e->requested = p->requested;
    e->runtime_ns = ev->u.exit.runtime_ns;
  }
}

static void ft__apply_task(ft_model *m, const ft_event *ev) {
  ft_mpool *pool = ft__pool(m, ev->name);
  ft_mproc *p = ev->pid > 0 ? ft__mproc_find(m, ev->host, ev->pid) : NULL;
  switch (ev->kind) {
  case FT_EV_TASK_START:
    if (p && !p->exited) {
      p->busy = true;
      p->task = ev->u.task.task;
      p->task_t = ev->t_ns;
    }
    break;
  default: { /* FT_EV_TASK_DONE, FT_EV_TASK_FAIL */
    bool ok = ev->kind == FT_EV_TASK_DONE;
    if (pool) {
      *(ok ? &pool->done : &pool->failed) += 1;
      pool->t_last = ev->t_ns;
    }
    *(ok ? &m->tot.tasks_done : &m->tot.tasks_failed) += 1;
    if (p) {
      *(ok ? &p->tasks_done : &p->tasks_failed) += 1;
      if (p->busy && p->task == ev->u.task.task)
        p->busy = false;
    }
    ft_mexit *e = ok ? NULL : ft__log(m, FT_MEXIT_TASK_FAIL, ev);
    if (e) {
      e->role = FT_MROLE_WORKER;
      e->worker = ev->u.task.worker;
      e->task = ev->u.task.task;
      e->status = ev->u.task.status;
      e->code = ev->u.task.code;
      e->signal = ev->u.task.signal;
      e->runtime_ns = ev->u.task.dur_ns;
      if (ev->u.task.cause) /* why its worker is gone (a host lost), its start cut */
        ft__copy_name(e->what, sizeof e->what, ev->u.task.cause);
    }
    break;
  }
  }
}

static void ft__apply_replaced(ft_model *m, const ft_event *ev) {
  ft_mpool *pool = ft__pool(m, ev->name);
  if (pool) {
    if (ev->u.replaced.reason == FT_REPLACE_RECYCLED)
      pool->recycled++;
    else
      pool->replaced++;
  }
  ft_mproc *old = ft__mproc_find(m, ev->host, ev->u.replaced.old_pid);
  if (old) {
    old->replaced_by = ev->u.replaced.new_pid;
    old->replace_reason = ev->u.replaced.reason;
  }
  ft_mproc *nw = ft__mproc_find(m, ev->host, ev->u.replaced.new_pid);
  if (nw)
    nw->replaces = ev->u.replaced.old_pid;
  ft_mexit *e = ft__log(m, FT_MEXIT_REPLACED, ev);
  if (e) {
    e->role = FT_MROLE_WORKER;
    e->pid = ev->u.replaced.old_pid;
    e->new_pid = ev->u.replaced.new_pid;
    e->worker = ev->u.replaced.worker;
    e->reason = ev->u.replaced.reason;
  }
}

/* Pool starts and ends, and submissions (whose counts make the totals). */
static int ft__apply_pool(ft_model *m, const ft_event *ev) {
  ft_mpool *pool = ft__pool(m, ev->name);
  if (!pool)
    return -ENOMEM;
  if (ev->kind == FT_EV_POOL_START) {
    pool->started = true;
    pool->t_start = ev->t_ns;
    pool->workers = ev->u.pool.workers;
  } else if (ev->kind == FT_EV_POOL_END) {
    pool->ended = true;
    pool->t_end = ev->t_ns;
  } else {
    pool->total += ev->u.submit.count;
    if (!pool->t_first)
      pool->t_first = ev->t_ns;
    m->tot.tasks_total += ev->u.submit.count;
  }
  return 0;
}

/* Apply one event. */
int ft_model_apply(ft_model *m, const ft_event *ev) {
  int rc = 0;
  if (!m->t0) {
    m->t0 = ev->t_ns ? ev->t_ns : 1;
    ft_mproc *r = m->root ? ft__mproc_find(m, 0, m->root) : NULL;
    if (r && !r->t_start)
      r->t_start = m->t0;
  }
  if (ev->t_ns > m->last_t)
    m->last_t = ev->t_ns;
  m->gen++;
  if (ev->host && ft__mhosts_apply(&m->hosts, ev) < 0)
    rc = -ENOMEM;
  if (ev->kind == FT_EV_POOL_START || ev->kind == FT_EV_POOL_END || ev->kind == FT_EV_SUBMIT ||
      ev->kind == FT_EV_QUEUE || ev->kind == FT_EV_HOST) { /* the supervisor's own events */
    ft__root_learn(m, ev->pid, ev->t_ns);
    ft__root_parent(m, ev);
  }
  ft_mproc *p;
  switch (ev->kind) {
  case FT_EV_SPAWN:
    ft__root_learn(m, ev->ppid, ev->t_ns);
    if (!(p = ft__proc_new(m, ev->host, ev->pid, ev->t_ns)))
      return -ENOMEM;
    p->ppid = ev->ppid;
    p->role = ft__role(ev->u.spawn.role);
    p->worker = ev->u.spawn.worker;
    ft__copy_name(p->name, sizeof p->name, ev->name);
    ft_mproc *l = ev->host && ev->u.spawn.launcher_pid > 0
                      ? ft__mproc_find(m, 0, ev->u.spawn.launcher_pid)
                      : NULL; /* find after the new row: the array may have moved */
    if (l)
      l->launches = ev->host;
    m->tot.spawned++;
    m->tot.running++;
    break;
  case FT_EV_ZOMBIE:
    /* a watched process whose parent does not reap it */
    if (!(p = ft__mproc_find(m, ev->host, ev->pid))) {
      if (!(p = ft__proc_new(m, ev->host, ev->pid, ev->t_ns)))
        return -ENOMEM;
      ft__copy_name(p->name, sizeof p->name, ev->name);
      m->tot.spawned++;
      m->tot.running++;
    }
    p->ppid = ev->ppid;
    p->zombie = true;
    p->state = 'Z';
    break;
  case FT_EV_EXEC:
    if ((p = ft__mproc_find(m, ev->host, ev->pid)))
      ft__apply_exec(p, ev);
    break;
  case FT_EV_EXIT:
    ft__root_learn(m, ev->u.exit.orphan ? ev->ppid : 0, ev->t_ns);
    ft__apply_exit(m, ev);
    break;
  case FT_EV_OUTPUT:
    if ((p = ft__mproc_find(m, ev->host, ev->pid)))
      rc = ft__mlines_add(&p->out, m->o.out_lines, m->o.out_bytes, ev);
    if (ft__mlines_add(&m->all, m->o.all_lines, m->o.all_lines * 1024, ev) < 0)
      rc = -ENOMEM;
    break;
  case FT_EV_TASK_START:
  case FT_EV_TASK_DONE:
  case FT_EV_TASK_FAIL:
    ft__apply_task(m, ev);
    break;
  case FT_EV_WORKER_REPLACED:
    ft__apply_replaced(m, ev);
    break;
  case FT_EV_POOL_START:
  case FT_EV_POOL_END:
  case FT_EV_SUBMIT:
    rc = ft__apply_pool(m, ev);
    break;
  case FT_EV_ERROR: {
    ft_mexit *e = ft__log(m, FT_MEXIT_ERROR, ev);
    if (e) {
      e->status = ev->u.error.err;
      ft__copy_name(e->what, sizeof e->what, ev->u.error.what);
    }
    break;
  }
  case FT_EV_STAT:
    ft__mhosts_stat(ft__mproc_find(m, ev->host, ev->pid), ev);
    break;
  case FT_EV_QUEUE: {
    ft_mqueue *q = ft__queue(m, ev->name);
    if (!q)
      return -ENOMEM;
    ft__queue_sample(m, q, ev);
    break;
  }
  default:
    break;
  }
  return rc;
}

/* ft_model_apply as a loop hook. */
void ft_model_hook(const ft_event *ev, void *ud) { (void)ft_model_apply(ud, ev); }

/* ------------------------------------------------------------ reading */

/* The current state, read-only. */
const ft_model_snap *ft_model_snapshot(ft_model *m) {
  ft_model_snap *s = &m->snap;
  s->t0 = m->t0;
  s->now = m->now > m->last_t ? m->now : m->last_t;
  s->gen = m->gen;
  s->root_pid = m->root;
  s->procs = m->procs;
  s->nprocs = m->nprocs;
  s->pools = m->pools;
  s->npools = m->npools;
  s->queues = m->queues;
  s->nqueues = m->nqueues;
  s->hosts = m->hosts.h;
  s->nhosts = m->hosts.n;
  s->exits = m->log;
  s->nexits = m->nlog;
  s->exit_head = m->loghead;
  s->exit_cap = m->o.log_max;
  s->all_output = &m->all;
  s->totals = m->tot;
  return s;
}

/* A number that changes whenever the model does. */
uint64_t ft_model_gen(const ft_model *m) { return m->gen; }

/* The newest event's time. */
uint64_t ft_model_last_t(const ft_model *m) { return m->last_t; }

/* Whether pid is alive in the model. */
bool ft_model_alive(const ft_model *m, pid_t pid) { return ft_model_alive_on(m, 0, pid); }

/* Whether pid of host is alive in the model. */
bool ft_model_alive_on(const ft_model *m, uint32_t host, pid_t pid) {
  const ft_mproc *p = ft__mproc_find(m, host, pid);
  return p && !p->exited;
}

/* Index of a process in a snapshot (a linear walk: snapshots are small
 * next to the cost of drawing them, and copies have no map). */
ssize_t ft_model_snap_find_on(const ft_model_snap *s, uint32_t host, pid_t pid) {
  for (size_t i = 0; i < s->nprocs; i++)
    if (s->procs[i].pid == pid && s->procs[i].host == host)
      return (ssize_t)i;
  return -1;
}

/* Index of a local process in a snapshot. */
ssize_t ft_model_snap_find(const ft_model_snap *s, pid_t pid) {
  return ft_model_snap_find_on(s, 0, pid);
}

/* A host of the snapshot. */
const ft_mhost *ft_model_snap_host(const ft_model_snap *s, uint32_t id) {
  for (size_t i = 0; id && i < s->nhosts; i++)
    if (s->hosts[i].id == id)
      return &s->hosts[i];
  return NULL;
}

/* Record a read of one process. */
/* A zombie has been reaped. */
void ft_model_zombie_gone(ft_model *m, pid_t pid) {
  ft_mproc *p = ft__mproc_find(m, 0, pid);
  if (p && p->zombie) {
    p->zombie = false;
    p->state = 0; /* unknown until the next read (if it is still there at all) */
    m->gen++;
  }
}

/* Record a read of pid. */
void ft_model_set_stat(ft_model *m, const ft_mstat *st, uint64_t now) {
  ft_mproc *p = ft__mproc_find(m, 0, st->pid);
  if (!p || p->exited)
    return;
  if (p->scan_t && now > p->scan_t && st->ticks >= p->scan_ticks)
    p->cpu = (double)(st->ticks - p->scan_ticks) / (double)m->hz /
             ((double)(now - p->scan_t) / 1e9) * 100.0;
  if (p->state != st->state || p->rss_kb != st->rss_kb || p->threads != st->threads)
    m->gen++;
  if (st->ppid > 0 && st->ppid != p->ppid && p->ppid > 0) {
    /* reparented since we last knew */
    p->ppid = st->ppid;
    p->orphan = p->orphan || st->ppid == m->root;
    m->gen++;
  }
  p->state = st->state;
  p->threads = st->threads;
  p->rss_kb = st->rss_kb;
  p->scan_ticks = st->ticks;
  p->scan_t = now;
  if (!st->rich)
    return;
  if (st->io_known && p->io_t && now > p->io_t && st->io_r >= p->io_r && st->io_w >= p->io_w) {
    double dt = (double)(now - p->io_t) / 1e9;
    p->io_rrate = (double)(st->io_r - p->io_r) / dt;
    p->io_wrate = (double)(st->io_w - p->io_w) / dt;
  }
  if (st->io_known) {
    p->io_r = st->io_r;
    p->io_w = st->io_w;
    p->io_t = now;
  }
  if (!p->rich || p->nice != st->nice || p->uid != st->uid)
    m->gen++;
  p->rich = true;
  p->uid = st->uid;
  p->nice = st->nice;
  if (st->user)
    snprintf(p->user, sizeof p->user, "%s", st->user);
  /* a kernel thread or a zombie has no command line: keep what was known */
  if (st->args && st->args[0] && strncmp(p->args, st->args, sizeof p->args - 1) != 0) {
    snprintf(p->args, sizeof p->args, "%s", st->args);
    m->gen++;
  }
}

/* ------------------------------------------------------------- life */

/* Make an empty model. */
int ft_model_new(const ft_model_opts *opts, ft_model **out) {
  ft_model *m = calloc(1, sizeof *m);
  if (!m)
    return -ENOMEM;
  if (opts)
    m->o = *opts;
  if (!m->o.linger_ns)
    m->o.linger_ns = 30 * FT__NS;
  if (!m->o.max_exited)
    m->o.max_exited = 500;
  if (!m->o.out_lines)
    m->o.out_lines = 64;
  if (!m->o.out_bytes)
    m->o.out_bytes = 16 * 1024;
  if (!m->o.all_lines)
    m->o.all_lines = 256;
  if (!m->o.log_max)
    m->o.log_max = 512;
  m->t0 = m->o.t0;
  m->hz = sysconf(_SC_CLK_TCK);
  if (m->hz <= 0)
    m->hz = 100;
  if (!(m->log = calloc(m->o.log_max, sizeof *m->log)) || ft__mproc_rebuild(m, 32) < 0) {
    ft_model_free(m);
    return -ENOMEM;
  }
  ft__root_learn(m, m->o.root_pid, m->t0);
  *out = m;
  return 0;
}

/* Free the model. */
void ft_model_free(ft_model *m) {
  if (!m)
    return;
  for (size_t i = 0; i < m->nprocs; i++)
    ft__mlines_free(&m->procs[i].out);
  ft__mlines_free(&m->all);
  free(m->procs);
  free(m->map);
  free(m->pools);
  free(m->queues);
  ft__mhosts_free(&m->hosts);
  free(m->log);
  free(m);
}
