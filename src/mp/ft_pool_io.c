/* ft_pool_io.c - the pool's traffic with its workers, through its
 * transport (ft_transport.h): cutting pending work into chunks and
 * publishing them, turning the records that come back into item outcomes
 * and task events, and failing or requeueing what a dead worker held. */
#include "ft_pool_int.h"

#include <limits.h>
#include <unistd.h>

static ft__chunk *ft__chunk_of(ft_pool *p, uint64_t seq) {
  ft__chunk *ch = &p->chunks[seq & (p->nslots - 1)];
  return ch->live && ch->seq == seq ? ch : NULL;
}

static void ft__emit_task(ft_pool *p, ft_event_kind kind, ft_result *r, size_t i, int w, pid_t pid,
                          uint64_t t, const ft__item_out *it, uint64_t dur) {
  if (!p->loop->nhooks)
    return; /* nobody listens: a map of millions need not build events */
  ft_event ev = {.kind = kind, .t_ns = t, .pid = pid, .ppid = p->loop->pid, .name = p->name};
  if (w >= 0 && w < p->nworkers && p->workers[w].host && p->workers[w].pid == pid) {
    ev.host = p->workers[w].host; /* a remote worker: its own pid, on its host */
    ev.pid = p->workers[w].rpid;
    ev.ppid = 0;
  }
  ev.u.task.task = r->task0 + i;
  ev.u.task.item = i;
  ev.u.task.batch = r->batch;
  ev.u.task.worker = w;
  if (it) {
    ev.u.task.status = it->status;
    ev.u.task.code = it->code;
    ev.u.task.signal = it->signal;
    if (kind == FT_EV_TASK_FAIL && it->status == FT_EWORKER)
      ev.u.task.cause = p->cause;
  }
  ev.u.task.dur_ns = dur;
  ft__emit(p->loop, &ev);
}

static char *ft__result_store(ft_result *r, const void *v, size_t len) {
  ft__block *b = r->blocks;
  if (!b || b->cap - b->used < len) {
    /* Blocks grow with the result, up to 4 MiB each. */
    size_t cap = b ? (b->cap < (4u << 20) ? b->cap * 2 : b->cap) : 16384;
    if (cap < len)
      cap = len;
    ft__block *nb = malloc(sizeof *nb + cap);
    if (!nb)
      return NULL;
    nb->next = b;
    nb->used = 0;
    nb->cap = cap;
    r->blocks = b = nb;
  }
  char *d = b->data + b->used;
  if (len)
    memcpy(d, v, len);
  b->used += len;
  return d;
}

/* Record item i's outcome (once); when the last item ends the result is
 * ready, its callback runs and the pool drops its reference. */
void ft__result_item_done(ft_result *r, size_t i, int status, int code, int signo, pid_t worker,
                          const void *value, size_t len) {
  ft__item_out *it = &r->items[i];
  if (ft__item_done(r, i))
    return;
  if (len <= sizeof it->v.inline_) {
    if (len == sizeof it->v.inline_) /* the common case, without a call */
      memcpy(it->v.inline_, value, sizeof it->v.inline_);
    else if (len)
      memcpy(it->v.inline_, value, len);
    it->len = (uint32_t)len;
  } else {
    it->v.value = ft__result_store(r, value, len);
    it->len = it->v.value ? (uint32_t)len : 0;
    if (!it->v.value && !status)
      status = -ENOMEM;
  }
  it->status = status;
  it->code = code;
  it->signal = (uint16_t)signo;
  it->worker = (uint32_t)worker;
  ft__item_set_done(r, i);
  if (r->order)
    r->order[r->ndone] = i;
  r->ndone++;
  if (r->pool) {
    if (status)
      r->pool->stats.tasks_failed++;
    else
      r->pool->stats.tasks_done++;
  }
  if (status)
    r->nfailed++;
  if (r->on_item)
    r->on_item(r, i, r->on_item_ud);
  if (r->ndone < r->n)
    return;
  r->ready = true;
  if (r->nfailed ? r->ecb : r->cb)
    (r->nfailed ? r->ecb : r->cb)(r, r->ud);
  ft__result_unref(r);
}

/* A dead worker's item's value: the cause of its death in words, when
 * the transport gave one (p->cause), as a failed task's value is its
 * message. */
static const char *ft__cause(const ft_pool *p, int status) {
  return status == FT_EWORKER ? p->cause : NULL;
}
static size_t ft__cause_len(const ft_pool *p, int status) {
  const char *c = ft__cause(p, status);
  return c ? strlen(c) : 0;
}

/* Wire bytes of item i of r, found at offset off of r->args when copied. */
static size_t ft__arg_wire(const ft_result *r, size_t i, size_t off) {
  return r->src ? ft__wire_len(r->src[i].len) : ft__wire_size(r->args + off);
}

static void ft__chunk_free(ft_pool *p, ft__chunk *ch) {
  ch->live = false;
  p->tr->ops->retire(p->tr, ch->seq);
  while (p->oldest < p->next_seq && !p->chunks[p->oldest & (p->nslots - 1)].live)
    p->oldest++;
}

/* Fail the items of a chunk that have no outcome yet, then free it: those
 * before item `ran` under its worker (pid), with code and signo; the rest
 * as never run (worker -1), with rest_code and rest_signo.  The last item
 * may free the result, so nothing reads it after. */
static void ft__chunk_fail_rest(ft_pool *p, ft__chunk *ch, uint32_t ran, int status, int code,
                                int signo, pid_t pid, int rest_code, int rest_signo) {
  ft_result *r = ch->res;
  uint64_t now = ft_now_ns();
  while (ch->ndone < ch->nitems) {
    uint32_t k = ch->ndone++;
    size_t i = ch->first + k;
    if (k >= ran) {
      ft__item_out it = {.status = status, .code = rest_code, .signal = (uint16_t)rest_signo};
      ft__emit_task(p, FT_EV_TASK_FAIL, r, i, -1, 0, now, &it, 0);
      ft__result_item_done(r, i, status, rest_code, rest_signo, 0, ft__cause(p, status),
                           ft__cause_len(p, status));
      continue;
    }
    ft__item_out it = {.status = status, .code = code, .signal = (uint16_t)signo};
    ft__emit_task(p, FT_EV_TASK_FAIL, r, i, ch->worker, pid, now, &it,
                  ch->started ? now - ch->t_start : 0);
    ft__result_item_done(r, i, status, code, signo, pid, ft__cause(p, status),
                         ft__cause_len(p, status));
  }
  ft__chunk_free(p, ch);
}

/* Worker w began chunk seq at t. */
void ft__pool_on_start(ft_pool *p, int w, uint64_t seq, uint64_t t) {
  ft__chunk *ch = ft__chunk_of(p, seq);
  if (!ch)
    return; /* let go of (the pool is being freed) */
  ft__worker *wk = &p->workers[w];
  wk->records++; /* it got as far as working: its death is no start-up failure */
  ch->started = true;
  ch->t_start = t;
  ch->worker = w;
  ft__emit_task(p, FT_EV_TASK_START, ch->res, ch->first, w, wk->pid, t, NULL, 0);
}

/* The common outcome, recorded without a call: a success of at most 8
 * bytes, in a result nobody follows item by item (no order kept, no
 * stream), and not its last item (which makes the result ready: that
 * goes through ft__result_item_done).  False when it is not that case. */
static inline bool ft__item_plain(ft_pool *p, ft_result *r, size_t i, pid_t pid, const char *val,
                                  uint32_t len) {
  ft__item_out *it = &r->items[i];
  if (len > sizeof it->v.inline_ || r->order || r->on_item || r->ndone + 1 >= r->n)
    return false;
  if (ft__item_done(r, i))
    return true; /* an outcome is recorded once */
  ft__item_set_done(r, i);
  *it = (ft__item_out){.worker = (uint32_t)pid, .len = len};
  if (len == sizeof it->v.inline_)
    memcpy(it->v.inline_, val, sizeof it->v.inline_);
  else if (len)
    memcpy(it->v.inline_, val, len);
  r->ndone++;
  p->stats.tasks_done++;
  return true;
}

/* The common start of a record of worker w's outcomes for chunk seq,
 * from its item first (ft__pool_on_packed, ft__pool_on_results). */
typedef struct ft__rec_in {
  ft__chunk *ch;  /* NULL: none (let go of: the pool is being freed) */
  ft__worker *wk; /* the worker, this record counted */
  ft_result *r;
  pid_t pid;
  size_t i;   /* the result's index of item first */
  bool heard; /* someone listens: a map of millions need not call for nobody */
} ft__rec_in;

static inline ft__rec_in ft__chunk_begin(ft_pool *p, int w, uint64_t seq, uint32_t first) {
  ft__rec_in c = {.ch = ft__chunk_of(p, seq)};
  if (!c.ch)
    return c;
  c.wk = &p->workers[w];
  c.wk->records++;
  c.r = c.ch->res;
  c.pid = c.wk->pid;
  c.i = c.ch->first + first;
  c.heard = p->loop->nhooks > 0;
  return c;
}

/* The end of a record: a chunk now done counts for its worker, and is freed. */
static inline void ft__chunk_end(ft_pool *p, const ft__rec_in *c) {
  if (c->ch->ndone == c->ch->nitems) {
    c->wk->tasks++;
    ft__chunk_free(p, c->ch);
  }
}

/* Worker w's outcomes of count items of chunk seq, from its item first,
 * from a PACKED record (no times of their own: the record's end, t). */
void ft__pool_on_packed(ft_pool *p, int w, uint64_t seq, uint32_t first, uint32_t count, uint64_t t,
                        const char *body) {
  ft__rec_in c = ft__chunk_begin(p, w, seq, first);
  if (!c.ch)
    return; /* let go of (the pool is being freed) */
  /* Nobody follows the items one by one: their outcomes are stored in a
   * loop of plain stores (the conditions of ft__item_plain, hoisted),
   * up to an item that needs more (a failure, a long value, the last). */
  bool plain = !c.heard && !c.r->order && !c.r->on_item;
  for (uint32_t k = 0; k < count; k++, c.i++) {
    ft__rec_packed h;
    if (plain) {
      ft__item_out *items = c.r->items;
      uint64_t *done = c.r->done;
      size_t ndone = c.r->ndone, last = c.r->n - 1, k0 = k;
      for (; k < count; k++, c.i++) {
        memcpy(&h, body, sizeof h);
        if (h.code || h.len > sizeof items->v.inline_ || ndone >= last)
          break;
        uint64_t bit = 1ull << (c.i % 64);
        if (!(done[c.i / 64] & bit)) {
          done[c.i / 64] |= bit;
          items[c.i] = (ft__item_out){.worker = (uint32_t)c.pid, .len = h.len};
          if (h.len == sizeof items->v.inline_)
            memcpy(items[c.i].v.inline_, body + sizeof h, sizeof items->v.inline_);
          else if (h.len)
            memcpy(items[c.i].v.inline_, body + sizeof h, h.len);
          ndone++;
        }
        body += sizeof h + FT__ALIGN8(h.len);
      }
      p->stats.tasks_done += ndone - c.r->ndone;
      c.r->ndone = ndone;
      c.ch->ndone += (uint32_t)(k - k0);
      if (k == count)
        break;
    }
    memcpy(&h, body, sizeof h);
    const char *val = body + sizeof h;
    int status = h.code ? FT_ETASK : 0;
    uint32_t len = h.len;
    if (len == FT__PACKED_E2BIG) {
      status = FT_E2BIG;
      len = 0;
    }
    body += sizeof h + FT__ALIGN8(len);
    c.ch->ndone++;
    if (!c.heard && !status && ft__item_plain(p, c.r, c.i, c.pid, val, len))
      continue;
    if (c.heard) {
      if (first + k > 0)
        ft__emit_task(p, FT_EV_TASK_START, c.r, c.i, w, c.pid, t, NULL, 0);
      ft__item_out o = {.status = status, .code = h.code};
      ft__emit_task(p, status ? FT_EV_TASK_FAIL : FT_EV_TASK_DONE, c.r, c.i, w, c.pid, t, &o, 0);
    }
    ft__result_item_done(c.r, c.i, status, h.code, 0, c.pid, val, len);
  }
  ft__chunk_end(p, &c);
}

/* Worker w's outcomes of count items of chunk seq, from its item first. */
void ft__pool_on_results(ft_pool *p, int w, uint64_t seq, uint32_t first, uint32_t count,
                         const char *body) {
  ft__rec_in c = ft__chunk_begin(p, w, seq, first);
  if (!c.ch)
    return; /* let go of (the pool is being freed) */
  for (uint32_t k = 0; k < count; k++, c.i++) {
    ft__rec_item it;
    memcpy(&it, body, sizeof it);
    const char *val = body + sizeof it;
    body += sizeof it + FT__ALIGN8(it.len);
    if (c.heard) {
      if (first + k > 0)
        ft__emit_task(p, FT_EV_TASK_START, c.r, c.i, w, c.pid, it.t_start, NULL, 0);
      ft__item_out o = {.status = it.status, .code = it.code};
      ft__emit_task(p, it.status ? FT_EV_TASK_FAIL : FT_EV_TASK_DONE, c.r, c.i, w, c.pid, it.t_end,
                    &o, it.t_end - it.t_start);
    }
    c.ch->ndone++;
    if (!c.heard && !it.status && ft__item_plain(p, c.r, c.i, c.pid, val, it.len))
      continue;
    ft__result_item_done(c.r, c.i, it.status, it.code, 0, c.pid, val, it.len);
  }
  ft__chunk_end(p, &c);
}

/* Items of a chunk that its dead worker never started go back to the
 * front of the line, to be run by the others. */
static void ft__chunk_requeue(ft_pool *p, ft__chunk *ch, uint32_t from) {
  ft__retry *rt = ft__xalloc(sizeof *rt);
  if (!rt)
    return; /* no memory: they fail with the chunk instead */
  size_t off = ch->args_off;
  for (uint32_t i = 0; i < from; i++)
    off += ft__arg_wire(ch->res, ch->first + i, off);
  *rt = (ft__retry){
      .r = ch->res, .item = ch->first + from, .end = ch->first + ch->nitems, .off = off};
  ch->res->refs++;
  ft__retry **tail = &p->retries;
  while (*tail)
    tail = &(*tail)->next;
  *tail = rt;
  ch->nitems = from; /* what is left of this chunk is what it did run */
}

/* Fail what worker w was running (it died): the item it was in fails with
 * the signal or code; the items after it in the chunk are run again by
 * another worker (status FT_EWORKER), or, the pool being terminated
 * (FT_ECANCELED), fail as never run; items it finished whose results it
 * had not yet written fail with it too, since their results are gone.
 * After a terminate this is how every chunk a worker held ends: the pool
 * cancels only chunks no worker took (ft__pool_cancel_all). */
void ft__pool_fail_running(ft_pool *p, int w, int status, int code, int signo) {
  pid_t pid = p->workers[w].pid;
  for (uint64_t s = p->oldest; s < p->next_seq; s++) {
    ft__chunk *ch = ft__chunk_of(p, s);
    if (!ch)
      continue;
    uint32_t from = ch->ndone;
    if (!p->tr->ops->held(p->tr, w, s, &from))
      continue;
    ch->worker = w;
    if (from < ch->ndone) /* never run again what has an outcome */
      from = ch->ndone;
    if (from > ch->nitems)
      from = ch->nitems;
    if (status == FT_EWORKER && from < ch->nitems)
      ft__chunk_requeue(p, ch, from);
    ft__chunk_fail_rest(p, ch, from, status, code, signo, pid, 0, 0);
  }
}

/* Fail item i of r, which no worker ran. */
static void ft__item_cancel(ft_pool *p, ft_result *r, size_t i, int status, int code, int signo) {
  ft__item_out it = {.status = status, .code = code, .signal = (uint16_t)signo};
  ft__emit_task(p, FT_EV_TASK_FAIL, r, i, -1, 0, ft_now_ns(), &it, 0);
  ft__result_item_done(r, i, status, code, signo, 0, ft__cause(p, status),
                       ft__cause_len(p, status));
}

/* Fail everything no worker holds: pending items, retries, and every live
 * chunk the transport takes back (cancel).  A chunk a worker holds (it
 * claimed it, maybe began it) is left to that worker's death
 * (ft__pool_fail_running): failing it here as never run would be a lie
 * if the worker had begun it, and its START may not even be collected
 * yet.  With every worker dead, every chunk is taken back. */
void ft__pool_cancel_all(ft_pool *p, int status, int code, int signo) {
  while (p->retries) {
    ft__retry *rt = p->retries;
    p->retries = rt->next;
    for (size_t i = rt->item; i < rt->end; i++)
      ft__item_cancel(p, rt->r, i, status, code, signo);
    ft__result_unref(rt->r);
    free(rt);
  }
  for (uint64_t s = p->oldest; s < p->next_seq; s++) {
    ft__chunk *ch = ft__chunk_of(p, s);
    if (ch && p->tr->ops->cancel(p->tr, s))
      ft__chunk_fail_rest(p, ch, 0, status, 0, 0, 0, code, signo);
  }
  while (p->pending_head) {
    ft_result *r = p->pending_head;
    p->pending_head = r->next_pending;
    r->in_pending = false;
    r->refs++; /* keep r alive across its own completion */
    while (r->next_pub < r->n)
      ft__item_cancel(p, r, r->next_pub++, status, code, signo);
    ft__result_unref(r);
  }
  p->pending_tail = NULL;
}

/* Fail the items of r that are not yet published (still pending, or
 * waiting to be run again): r's arguments are about to go. */
void ft__pool_cancel_result(ft_pool *p, ft_result *r, int status) {
  r->refs++; /* keep r alive across its own completion */
  for (ft__retry **rp = &p->retries; *rp;) {
    ft__retry *rt = *rp;
    if (rt->r != r) {
      rp = &rt->next;
      continue;
    }
    *rp = rt->next;
    for (size_t i = rt->item; i < rt->end; i++)
      ft__item_cancel(p, r, i, status, 0, 0);
    ft__result_unref(r);
    free(rt);
  }
  if (r->in_pending) {
    ft_result **rp = &p->pending_head, *prev = NULL;
    while (*rp != r) {
      prev = *rp;
      rp = &(*rp)->next_pending;
    }
    *rp = r->next_pending;
    if (p->pending_tail == r)
      p->pending_tail = prev;
    r->next_pending = NULL;
    r->in_pending = false;
    while (r->next_pub < r->n)
      ft__item_cancel(p, r, r->next_pub++, status, 0, 0);
  }
  ft__result_unref(r);
}

/* Work published and not taken by a worker, or still pending in the pool. */
bool ft__pool_has_work(const ft_pool *p) {
  return p->pending_head || p->retries || p->nstreams || p->tr->ops->has_queued(p->tr);
}

static bool ft__pool_has_chunks(const ft_pool *p) { return p->oldest < p->next_seq; }

/* A result leaves the pending list as soon as its last item is handed
 * out, before any outcome can complete (and free) it. */
static void ft__pending_pop_if_done(ft_pool *p, ft_result *r) {
  if (r->next_pub < r->n || p->pending_head != r)
    return;
  p->pending_head = r->next_pending;
  if (!p->pending_head)
    p->pending_tail = NULL;
  r->next_pending = NULL;
  r->in_pending = false;
}

/* Where the next chunk comes from: a retry (items a dead worker never
 * started) before the pending submissions, in order. */
typedef struct ft__src {
  ft_result *r;
  size_t *next, *off; /* the cursor to advance */
  size_t end;
  ft__retry *retry; /* or NULL for a pending result */
} ft__src;

static bool ft__next_source(ft_pool *p, ft__src *src) {
  if (p->retries) {
    ft__retry *rt = p->retries;
    *src = (ft__src){rt->r, &rt->item, &rt->off, rt->end, rt};
    return true;
  }
  if (p->pending_head) {
    ft_result *r = p->pending_head;
    *src = (ft__src){r, &r->next_pub, &r->pub_off, r->n, NULL};
    return true;
  }
  return false;
}

/* The source ran dry: drop the retry, or pop the result from pending. */
static void ft__source_done(ft_pool *p, ft__src *src) {
  if (*src->next < src->end)
    return;
  if (src->retry) {
    p->retries = src->retry->next;
    ft__result_unref(src->retry->r);
    free(src->retry);
  } else {
    ft__pending_pop_if_done(p, src->r);
  }
}

/* Publish as many chunks as the transport takes, the oldest work first;
 * the transport says how many of the items offered fit (a chunk may go out
 * in pieces, each a dispatch), or that it has no room this turn. */
static bool ft__pool_publish(ft_pool *p) {
  ft__transport *t = p->tr;
  uint64_t seq = p->next_seq, first_seq = seq;
  ft__src src;
  while (seq - p->oldest < p->nslots && ft__next_source(p, &src)) {
    ft_result *r = src.r;
    size_t left = src.end - *src.next;
    size_t c = *src.next / r->chunksize;
    ft__chunk_args a = {
        .seq = seq, .fn = r->fn, .kind = r->kind, .n = left < r->chunksize ? left : r->chunksize};
    if (r->src)
      a.src = r->src + *src.next;
    else
      a.wire = r->args + *src.off;
    if (!src.retry && r->chunk_off && *src.next % r->chunksize == 0)
      a.whole = r->chunk_off[c + 1] - r->chunk_off[c]; /* a whole chunk, as planned */
    uint32_t k = 0;
    size_t bytes = 0;
    int rc = t->ops->publish(t, &a, &k, &bytes);
    if (rc == FT_E2BIG) { /* an item too large to ever go out */
      size_t i = (*src.next)++;
      *src.off += bytes;
      ft__item_out it = {.status = FT_E2BIG};
      r->refs++; /* r must outlive its own completion here */
      ft__source_done(p, &src);
      ft__emit_task(p, FT_EV_TASK_FAIL, r, i, -1, 0, ft_now_ns(), &it, 0);
      ft__result_item_done(r, i, FT_E2BIG, 0, 0, 0, NULL, 0);
      ft__result_unref(r);
      continue;
    }
    if (rc < 0)
      break; /* no room: wait for older chunks to finish */
    p->chunks[seq & (p->nslots - 1)] = (ft__chunk){.seq = seq,
                                                   .res = r,
                                                   .first = *src.next,
                                                   .nitems = k,
                                                   .args_off = *src.off,
                                                   .live = true,
                                                   .worker = -1};
    *src.next += k;
    *src.off += bytes;
    ft__source_done(p, &src);
    p->next_seq = ++seq;
    p->stats.dispatches++;
  }
  if (seq != first_seq)
    t->ops->kick(t, seq - first_seq);
  return seq != first_seq;
}

/* Once per loop turn: take what the workers sent, publish pending work,
 * and arm the wake-up (returns true, so the loop does not sleep, when
 * anything moved). */
bool ft__pool_prepare(ft_loop *loop, void *ud) {
  (void)loop;
  ft_pool *p = ud;
  ft__transport *t = p->tr;
  bool progress = t->ops->collect(t, p->loop->nhooks > 0);
  if (!p->terminated)
    progress |= ft__pool_publish(p);
  if (p->closed && !p->pending_head && !p->nstreams && !p->told_close) {
    p->told_close = true;
    t->ops->close(t);
  }
  /* Something happened this turn: let the caller look before we sleep. */
  if (progress)
    return true;
  if (!ft__pool_has_chunks(p))
    return false;
  return t->ops->arm(t);
}
