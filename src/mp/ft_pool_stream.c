/* ft_pool_stream.c - imap over a stream of items: Python's imap and
 * imap_unordered over an iterator, in bounded memory.
 *
 * Items are pulled from the caller's source in batches, each submitted to
 * the pool as one result (so each is cut into chunks, published, failed and
 * retried like any other).  A batch is pulled only while the items in
 * flight or waiting to be yielded stay within a window of a few batches,
 * and it is pulled when results are taken (ft_iter_next): a stream of any
 * length holds at most that window in memory, arguments and results, and a
 * consumer that stops taking results stops the pulling too.
 *
 * A source that has no item yet (a pipe's writer is slow) says -EAGAIN: what
 * it gave goes as a smaller batch, and it is asked again at the next
 * ft_iter_next, and each loop turn while one waits.
 *
 * In order: the batches are yielded oldest first, each item once it has
 * ended.  In completion order: each outcome is noted as it comes (the
 * result's on_item hook) in a ring, and yielded from it. */
#include "ft_pool_int.h"

#define FT__STREAM_SLOTS 8  /* batches held at most (in completion order, any may finish last) */
#define FT__STREAM_WINDOW 4 /* batches' worth of items in flight or not yet yielded, at most */
#define FT__STREAM_BATCH_MIN 4096
#define FT__STREAM_BATCH_MAX (1u << 20)

typedef struct ft__sbatch {
  ft_result *res; /* NULL: a free slot */
  size_t base;    /* the stream index of its first item */
  size_t yielded;
} ft__sbatch;

struct ft__istream {
  ft_pool *pool; /* NULL once the pool is freed */
  ft_loop *loop;
  ft__istream *next; /* in the pool's list */
  uintptr_t fn;
  ft_source_fn source;
  void *ud;
  bool ordered;
  bool ended; /* the source is done with (its end, an error, the pool stopped) */
  int err;    /* the source's error, returned once every item before it is yielded */
  size_t chunksize, batch;
  size_t pulled, yielded;
  ft__sbatch b[FT__STREAM_SLOTS];
  int retire; /* the slot whose last item was yielded last: freed at the next call, or -1 */
  /* completion order: (slot, item) of each outcome not yet yielded, a ring */
  uint32_t (*done)[2];
  size_t dcap, dhead, dn;
  /* one batch as it is pulled */
  ft_buf bytes;
  size_t *offs;
  ft_slice *items;
};

/* The source is done with: the pool may close once every stream is. */
static void ft__stream_end(ft__istream *s, int err) {
  if (s->ended)
    return;
  s->ended = true;
  s->err = err;
  if (s->pool)
    s->pool->nstreams--;
}

/* The pool stops: its streams pull nothing more.  When it goes, they
 * forget it too (their batches hold their own references). */
void ft__pool_streams_stop(ft_pool *p, bool gone) {
  for (ft__istream *s = p->streams; s; s = s->next) {
    ft__stream_end(s, 0);
    if (gone)
      s->pool = NULL;
  }
  if (gone)
    p->streams = NULL;
}

static void ft__stream_on_item(const ft_result *r, size_t i, void *ud) {
  ft__istream *s = ud;
  for (uint32_t k = 0; k < FT__STREAM_SLOTS; k++)
    if (s->b[k].res == r) {
      size_t at = (s->dhead + s->dn++) % s->dcap;
      s->done[at][0] = k;
      s->done[at][1] = (uint32_t)i;
      return;
    }
}

/* Pull and submit batches while the window has room. */
static void ft__stream_fill(ft__istream *s) {
  while (!s->ended && s->pulled - s->yielded + s->batch <= FT__STREAM_WINDOW * s->batch) {
    int slot = -1;
    for (int k = 0; k < FT__STREAM_SLOTS && slot < 0; k++)
      if (!s->b[k].res && k != s->retire)
        slot = k;
    if (slot < 0)
      return;
    size_t n = 0;
    int rc = 1;
    ft_buf_reset(&s->bytes);
    while (n < s->batch && (rc = s->source(s->ud, &s->items[n])) > 0) {
      if (s->items[n].len > UINT32_MAX) {
        rc = FT_E2BIG;
        break;
      }
      s->offs[n] = s->bytes.len;
      if (ft_buf_append(&s->bytes, s->items[n].ptr, s->items[n].len) < 0) {
        rc = -ENOMEM;
        break;
      }
      n++;
    }
    bool later = rc == -EAGAIN;    /* none now: what was pulled goes, the rest later */
    for (size_t i = 0; i < n; i++) /* the bytes may have moved as they grew */
      s->items[i].ptr = s->bytes.data + s->offs[i];
    ft_result *r = NULL;
    int sub =
        n ? ft__pool_submit(s->pool, s->fn, s->items, n, s->chunksize, !s->ordered, true, &r) : 0;
    if (sub < 0) {
      ft__stream_end(s, sub);
      return;
    }
    if (r) {
      r->on_item = s->ordered ? NULL : ft__stream_on_item;
      r->on_item_ud = s;
      s->b[slot] = (ft__sbatch){.res = r, .base = s->pulled};
      s->pulled += n;
    }
    if (later)
      return;
    if (rc <= 0)
      ft__stream_end(s, rc);
  }
}

/* The slot holding the item the ordered stream yields next, or -1. */
static int ft__stream_head(const ft__istream *s) {
  for (int k = 0; k < FT__STREAM_SLOTS; k++) {
    const ft__sbatch *b = &s->b[k];
    if (b->res && b->base <= s->yielded && s->yielded - b->base < b->res->n)
      return k;
  }
  return -1;
}

static bool ft__stream_ready(void *ud) {
  ft__istream *s = ud;
  if (s->pulled == s->yielded) { /* nothing in flight: the end, or a source with none yet */
    ft__stream_fill(s);
    return s->ended || s->pulled > s->yielded;
  }
  if (!s->ordered)
    return s->dn > 0;
  int k = ft__stream_head(s);
  return k >= 0 && ft__item_done(s->b[k].res, s->yielded - s->b[k].base);
}

static void ft__slot_free(ft__istream *s, int k) {
  s->b[k].res->on_item = NULL;
  ft_result_free(s->b[k].res);
  s->b[k] = (ft__sbatch){0};
}

/* Next result of a streamed imap. */
int ft__stream_next(ft_iter *it, double timeout, size_t *index, ft_item *item) {
  ft__istream *s = it->st;
  if (s->retire >= 0) { /* the last item given out is the caller's no more */
    ft__slot_free(s, s->retire);
    s->retire = -1;
  }
  ft__stream_fill(s);
  if (!ft__stream_ready(s)) {
    int rc = ft__loop_run_until(s->loop, ft__stream_ready, s, ft__deadline(timeout));
    if (rc < 0)
      return rc;
  }
  if (s->pulled == s->yielded) {
    int err = s->err;
    s->err = 0;
    return err ? err : FT_EOF;
  }
  int k;
  size_t i;
  if (s->ordered) {
    k = ft__stream_head(s);
    i = s->yielded - s->b[k].base;
  } else {
    k = (int)s->done[s->dhead][0];
    i = s->done[s->dhead][1];
    s->dhead = (s->dhead + 1) % s->dcap;
    s->dn--;
  }
  ft__sbatch *b = &s->b[k];
  const ft__item_out *o = &b->res->items[i];
  if (item) {
    item->status = o->status;
    item->code = o->code;
    item->signal = o->signal;
    item->worker = o->worker;
    item->value = (ft_slice){o->len <= sizeof o->v.inline_ ? o->v.inline_ : o->v.value, o->len};
  }
  if (index)
    *index = b->base + i;
  s->yielded++;
  if (++b->yielded == b->res->n)
    s->retire = k;
  ft__stream_fill(s); /* a batch was yielded: the next may be pulled while this is looked at */
  return 0;
}

/* Free a stream: what it submitted runs on (the pool holds it); it pulls
 * no more. */
void ft__stream_free(ft__istream *s) {
  if (!s)
    return;
  ft__stream_end(s, 0);
  if (s->pool)
    for (ft__istream **sp = &s->pool->streams; *sp; sp = &(*sp)->next)
      if (*sp == s) {
        *sp = s->next;
        break;
      }
  for (int k = 0; k < FT__STREAM_SLOTS; k++)
    if (s->b[k].res)
      ft__slot_free(s, k);
  free(s->done);
  free(s->offs);
  free(s->items);
  ft_buf_free(&s->bytes);
  free(s);
}

static int ft__imap_stream(ft_pool *p, ft_task_fn fn, ft_source_fn source, void *ud,
                           size_t chunksize, bool ordered, ft_iter **out) {
  int rc = FT_EINVAL;
  if (out)
    *out = NULL;
  if (!p || !fn || !source || !out)
    return FT_EINVAL;
  if (p->closed || p->terminated)
    return FT_ENOTRUNNING;
  if (p->tr->ops->check_fn && (rc = p->tr->ops->check_fn(p->tr, (uintptr_t)fn, FT__KIND_TASK)) < 0)
    return rc;
  ft_iter *it = ft__xalloc(sizeof *it);
  ft__istream *s = ft__xalloc(sizeof *s);
  if (!it || !s)
    goto nomem;
  chunksize = chunksize ? chunksize : 1;
  size_t batch = 4 * (size_t)p->nworkers * chunksize;
  batch = batch < FT__STREAM_BATCH_MIN ? FT__STREAM_BATCH_MIN : batch;
  batch = batch > FT__STREAM_BATCH_MAX ? FT__STREAM_BATCH_MAX : batch;
  *s = (ft__istream){.pool = p,
                     .loop = p->loop,
                     .fn = (uintptr_t)fn,
                     .source = source,
                     .ud = ud,
                     .ordered = ordered,
                     .chunksize = chunksize,
                     .batch = batch,
                     .retire = -1,
                     .dcap = FT__STREAM_WINDOW * batch};
  s->offs = malloc(batch * sizeof *s->offs);
  s->items = malloc(batch * sizeof *s->items);
  s->done = ordered ? NULL : malloc(s->dcap * sizeof *s->done);
  if (!s->offs || !s->items || (!ordered && !s->done))
    goto nomem;
  s->next = p->streams;
  p->streams = s;
  p->nstreams++;
  it->st = s;
  it->ordered = ordered;
  *out = it;
  ft__stream_fill(s); /* the first batches start now, as imap's would */
  return 0;
nomem:
  if (s) {
    free(s->offs);
    free(s->items);
    free(s->done);
  }
  free(s);
  free(it);
  return -ENOMEM;
}

/* imap over a stream: results in order. */
int ft_pool_imap_stream(ft_pool *p, ft_task_fn fn, ft_source_fn source, void *ud, size_t chunksize,
                        ft_iter **out) {
  return ft__imap_stream(p, fn, source, ud, chunksize, true, out);
}

/* imap_unordered over a stream: results as they come. */
int ft_pool_imap_unordered_stream(ft_pool *p, ft_task_fn fn, ft_source_fn source, void *ud,
                                  size_t chunksize, ft_iter **out) {
  return ft__imap_stream(p, fn, source, ud, chunksize, false, out);
}
