/* ft_model_tick.c - the model's work once a frame: the walks over every
 * process (re-parenting orphans, letting exited rows go, totals, zombies)
 * and the pools' rates, kept out of the per-event path of ft_model.c. */
#include "ft_model_int.h"

#include <stdlib.h>

static int ft__cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* Drop exited rows past their linger time, and the oldest exited rows
 * beyond max_exited; the pid map is rebuilt once if anything went. */
static void ft__expire(ft_model *m, uint64_t now) {
  size_t nexited = 0;
  for (size_t i = 0; i < m->nprocs; i++)
    nexited += m->procs[i].exited;
  m->nexited = nexited;
  uint64_t cut = now > m->o.linger_ns ? now - m->o.linger_ns : 0;
  if (nexited > m->o.max_exited) {
    uint64_t *ts = malloc(nexited * sizeof *ts);
    if (ts) {
      size_t k = 0;
      for (size_t i = 0; i < m->nprocs; i++)
        if (m->procs[i].exited)
          ts[k++] = m->procs[i].t_exit;
      qsort(ts, k, sizeof *ts, ft__cmp_u64);
      uint64_t keep_from = ts[k - m->o.max_exited]; /* rows that exited before go */
      if (keep_from > cut)
        cut = keep_from;
      free(ts);
    }
  }
  size_t k = 0;
  for (size_t i = 0; i < m->nprocs; i++) {
    ft_mproc *p = &m->procs[i];
    if (p->exited && p->t_exit < cut) {
      ft__mlines_free(&p->out);
      continue;
    }
    if (k != i)
      m->procs[k] = *p;
    k++;
  }
  if (k != m->nprocs) {
    m->nprocs = k;
    m->gen++;
    ft__mproc_rebuild(m, m->nprocs ? m->nprocs : 1);
  }
}

static void ft__pool_rate(ft_mpool *p, uint64_t now) {
  uint64_t n = p->done + p->failed;
  unsigned newest = (p->hhead + FT_MODEL_HIST - 1) % FT_MODEL_HIST;
  if (!p->nhist || now >= p->hist_t[newest] + FT__NS / 4) {
    p->hist_t[p->hhead] = now;
    p->hist_n[p->hhead] = n;
    p->hhead = (p->hhead + 1) % FT_MODEL_HIST;
    if (p->nhist < FT_MODEL_HIST)
      p->nhist++;
  }
  unsigned oldest = (p->hhead + FT_MODEL_HIST - p->nhist) % FT_MODEL_HIST;
  double dt = now > p->hist_t[oldest] ? (double)(now - p->hist_t[oldest]) / 1e9 : 0;
  if (dt > 0.2)
    p->rate = (double)(n - p->hist_n[oldest]) / dt;
  uint64_t left = p->total > n ? p->total - n : 0;
  uint64_t from = p->t_first ? p->t_first : p->t_start;
  if (!left && p->total && from && p->t_last > from)
    p->rate = (double)n / ((double)(p->t_last - from) / 1e9); /* all ended: the run's own rate */
  if (!left)
    p->eta_s = p->total ? 0 : -1;
  else
    p->eta_s = p->rate > 0 ? (double)left / p->rate : -1;
}

/* Whether pid's chain of parents in the model reaches forktop (bounded:
 * pids recycled into a loop must not hang us). */
static bool ft__under_root(const ft_model *m, pid_t pid) {
  for (int depth = 0; depth < 64 && pid > 0; depth++) {
    if (pid == m->root)
      return true;
    const ft_mproc *p = ft__mproc_find(m, 0, pid);
    if (!p)
      return false;
    pid = p->ppid;
  }
  return false;
}

/* A live process whose parent exited was handed to forktop, the child
 * subreaper, by the kernel: show it there, marked as an orphan.  (A tree
 * watched with -p is not below forktop: its orphans go elsewhere, and the
 * /proc reads say where.) */
static void ft__reparent(ft_model *m) {
  if (!m->root)
    return;
  for (size_t i = 0; i < m->nprocs; i++) {
    ft_mproc *p = &m->procs[i];
    if (p->exited || p->ppid == m->root || p->ppid <= 0 || p->host)
      continue; /* a remote process's parent is on its host, never forktop */
    const ft_mproc *parent = ft__mproc_find(m, p->host, p->ppid);
    if (parent && parent->exited && ft__under_root(m, parent->ppid)) {
      p->ppid = m->root;
      p->orphan = true;
      m->gen++;
    }
  }
}

/* Move time on.  The tick's walks of every process are kept few: one for the totals and
 * the zombies, the others only when a process has exited (to re-parent
 * its children, to let it go) or is a zombie (to name its parent). */
void ft_model_tick(ft_model *m, uint64_t now) {
  m->now = now;
  if (m->nexited) {
    ft__reparent(m); /* before expiry: the exited parent must still be known */
    ft__expire(m, now);
  }
  for (size_t i = 0; i < m->npools; i++)
    ft__pool_rate(&m->pools[i], now);
  for (size_t i = 0; i < m->nqueues; i++) {
    ft_mqueue *q = &m->queues[i];
    if (q->t_last && now > q->t_last + 2 * FT__NS)
      q->put_rate = q->get_rate = 0; /* no samples any more: nothing moves */
  }
  m->tot.cpu = 0;
  m->tot.rss_kb = 0;
  m->tot.zombies = 0;
  size_t zombies = 0;
  for (size_t i = 0; i < m->nprocs; i++) {
    ft_mproc *p = &m->procs[i];
    p->zombie_kids = 0;
    zombies += p->zombie;
    if (p->exited || p->zombie)
      continue;
    m->tot.cpu += p->cpu;
    m->tot.rss_kb += p->rss_kb;
    m->tot.zombies += p->state == 'Z';
  }
  for (size_t i = 0; zombies && i < m->nprocs; i++) {
    const ft_mproc *p = &m->procs[i];
    if (!p->zombie)
      continue;
    m->tot.zombies++;
    ft_mproc *parent = ft__mproc_find(m, p->host, p->ppid);
    if (parent)
      parent->zombie_kids++; /* the parent that fails to reap it */
  }
  ft__mhosts_sum(&m->hosts, m->procs, m->nprocs); /* per host: its own walk */
}
