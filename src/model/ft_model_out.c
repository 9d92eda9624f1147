/* ft_model_out.c - the model's bounded rings of output lines, and the
 * deep copies of snapshots that a paused display keeps. */
#include "ft_model_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ output */

/* The i-th line kept, 0 being the oldest. */
const ft_mline *ft_mlines_get(const ft_mlines *r, size_t i) {
  if (!r || i >= r->n)
    return NULL;
  return &r->slot[(r->head + i) % r->cap];
}

static void ft__mlines_drop_oldest(ft_mlines *r) {
  ft_mline *l = &r->slot[r->head];
  r->bytes -= l->len;
  free(l->text);
  l->text = NULL;
  r->head = (r->head + 1) % r->cap;
  r->n--;
}

/* Add an output event's line, dropping the oldest past cap lines or max_bytes. */
int ft__mlines_add(ft_mlines *r, size_t cap, size_t max_bytes, const ft_event *ev) {
  if (!cap)
    return 0;
  if (!r->slot) {
    if (!(r->slot = calloc(cap, sizeof *r->slot)))
      return -ENOMEM;
    r->cap = (uint32_t)cap;
  }
  size_t len = ev->u.output.len;
  bool cut = ev->u.output.truncated;
  if (len > max_bytes) {
    len = max_bytes;
    cut = true;
  }
  char *text = malloc(len ? len : 1);
  if (!text)
    return -ENOMEM;
  memcpy(text, ev->u.output.line, len);
  while (r->n && (r->n == r->cap || r->bytes + len > max_bytes))
    ft__mlines_drop_oldest(r);
  ft_mline *l = &r->slot[(r->head + r->n) % r->cap];
  *l = (ft_mline){ev->t_ns, ev->pid, (uint8_t)ev->u.output.stream, cut, (uint32_t)len, text};
  r->n++;
  r->bytes += len;
  r->total++;
  return 0;
}

/* Free every line and the ring itself. */
void ft__mlines_free(ft_mlines *r) {
  while (r->n)
    ft__mlines_drop_oldest(r);
  free(r->slot);
  memset(r, 0, sizeof *r);
}

/* A deep copy of a ring, its lines in order. */
int ft__mlines_copy(const ft_mlines *src, ft_mlines *dst) {
  memset(dst, 0, sizeof *dst);
  if (!src->n)
    return 0;
  if (!(dst->slot = calloc(src->n, sizeof *dst->slot)))
    return -ENOMEM;
  dst->cap = src->n;
  for (size_t i = 0; i < src->n; i++) {
    const ft_mline *l = ft_mlines_get(src, i);
    ft_mline *d = &dst->slot[i];
    *d = *l;
    if (!(d->text = malloc(l->len ? l->len : 1))) {
      ft__mlines_free(dst);
      return -ENOMEM;
    }
    memcpy(d->text, l->text, l->len);
    dst->n++;
    dst->bytes += l->len;
  }
  dst->total = src->total;
  return 0;
}

/* ------------------------------------------------------- copies, life */

typedef struct ft__snap_copy {
  ft_model_snap s;
  ft_mproc *procs;
  ft_mpool *pools;
  ft_mqueue *queues;
  ft_mhost *hosts;
  ft_mexit *exits;
  ft_mlines all;
} ft__snap_copy;

static void *ft__dup(const void *src, size_t n, size_t size) {
  void *d = malloc((n + 1) * size);
  if (d && n)
    memcpy(d, src, n * size);
  return d;
}

/* Free a copy. */
void ft_model_snap_free(ft_model_snap *s) {
  if (!s)
    return;
  ft__snap_copy *c = (ft__snap_copy *)s;
  for (size_t i = 0; c->procs && i < s->nprocs; i++)
    ft__mlines_free(&c->procs[i].out);
  free(c->procs);
  free(c->pools);
  free(c->queues);
  free(c->hosts);
  free(c->exits);
  ft__mlines_free(&c->all);
  free(c);
}

/* A deep copy of a snapshot: the arrays, and every ring of output. */
int ft_model_snap_copy(const ft_model_snap *s, ft_model_snap **out) {
  ft__snap_copy *c = calloc(1, sizeof *c);
  if (!c)
    return -ENOMEM;
  c->s = *s;
  c->s.nprocs = 0; /* processes whose output is copied: what free releases */
  c->s.procs = c->procs = ft__dup(s->procs, s->nprocs, sizeof *c->procs);
  c->s.pools = c->pools = ft__dup(s->pools, s->npools, sizeof *c->pools);
  c->s.queues = c->queues = ft__dup(s->queues, s->nqueues, sizeof *c->queues);
  c->s.hosts = c->hosts = ft__dup(s->hosts, s->nhosts, sizeof *c->hosts);
  c->s.exits = c->exits = ft__dup(s->exits, s->exits ? s->exit_cap : 0, sizeof *c->exits);
  c->s.all_output = &c->all;
  if (!c->procs || !c->pools || !c->queues || !c->hosts || !c->exits)
    goto fail;
  for (size_t i = 0; i < s->nprocs; i++, c->s.nprocs++)
    if (ft__mlines_copy(&s->procs[i].out, &c->procs[i].out) < 0)
      goto fail;
  if (s->all_output && ft__mlines_copy(s->all_output, &c->all) < 0)
    goto fail;
  *out = &c->s;
  return 0;
fail:
  ft_model_snap_free(&c->s);
  return -ENOMEM;
}
