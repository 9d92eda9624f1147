/* ft_model_hosts.c - the model's other hosts: one record a host, made by
 * its first event (a `host` event names it; any other remote event before
 * that makes a record named by its number), kept for the whole run (a host
 * is few and its header row must not vanish when its workers do).  The
 * per-host sums (live processes and workers, CPU, RSS) are taken once a
 * tick over the processes, like the model's totals. */
#include "ft_model_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ft_mhost *ft__mhost(ft__mhosts *hs, uint32_t id, uint64_t t) {
  for (size_t i = 0; i < hs->n; i++)
    if (hs->h[i].id == id)
      return &hs->h[i];
  if (ft__grow((void **)&hs->h, &hs->cap, hs->n, sizeof *hs->h) < 0)
    return NULL;
  ft_mhost *h = &hs->h[hs->n++];
  memset(h, 0, sizeof *h);
  h->id = id;
  snprintf(h->name, sizeof h->name, "host %u", (unsigned)id);
  h->t_join = h->t_state = t;
  return h;
}

#define FT__SET(dst, src) snprintf((dst), sizeof(dst), "%s", (src) ? (src) : "")

/* Apply what ev says of its host. */
int ft__mhosts_apply(ft__mhosts *hs, const ft_event *ev) {
  if (!ev->host)
    return 0;
  ft_mhost *h = ft__mhost(hs, ev->host, ev->t_ns);
  if (!h)
    return -ENOMEM;
  if (ev->t_ns > h->last_heard)
    h->last_heard = ev->t_ns;
  switch (ev->kind) {
  case FT_EV_HOST:
    FT__SET(h->name, ev->name);
    FT__SET(h->address, ev->u.host.address);
    FT__SET(h->launcher, ev->u.host.launcher);
    FT__SET(h->job, ev->u.host.job);
    FT__SET(h->cause, ev->u.host.cause);
    if (h->lost != ev->u.host.lost)
      h->t_state = ev->t_ns;
    h->lost = ev->u.host.lost;
    break;
  case FT_EV_SPAWN:
    h->spawned++;
    break;
  case FT_EV_EXIT:
    h->exited++;
    h->failed += ev->u.exit.signal ? !ev->u.exit.requested : ev->u.exit.code > 0;
    break;
  default:
    break;
  }
  return 0;
}

/* An agent's read of a remote process: what ft_scan reads locally. */
void ft__mhosts_stat(ft_mproc *p, const ft_event *ev) {
  if (!p || p->exited)
    return;
  p->state = ev->u.stat.state;
  p->threads = ev->u.stat.threads;
  p->cpu = ev->u.stat.cpu;
  p->rss_kb = ev->u.stat.rss_kb;
  p->scan_t = ev->t_ns;
}

/* Sum every host's live processes. */
void ft__mhosts_sum(ft__mhosts *hs, const ft_mproc *procs, size_t n) {
  for (size_t i = 0; i < hs->n; i++) {
    ft_mhost *h = &hs->h[i];
    h->procs = h->workers = 0;
    h->cpu = 0;
    h->rss_kb = 0;
  }
  for (size_t k = 0; k < n && hs->n; k++) {
    const ft_mproc *p = &procs[k];
    if (!p->host || p->exited)
      continue;
    for (size_t i = 0; i < hs->n; i++)
      if (hs->h[i].id == p->host) {
        ft_mhost *h = &hs->h[i];
        h->procs++;
        h->workers += p->role == FT_MROLE_WORKER;
        h->cpu += p->cpu;
        h->rss_kb += p->rss_kb;
        break;
      }
  }
}

void ft__mhosts_free(ft__mhosts *hs) {
  free(hs->h);
  memset(hs, 0, sizeof *hs);
}
