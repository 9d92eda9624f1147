/* ft_pool_io.c - the parent's side of a pool's shared memory: publishing
 * chunks into slots, draining the workers' result rings, and turning what
 * comes back into item outcomes and task events. */
#include "ft_pool_int.h"

#include <limits.h>
#include <unistd.h>

static ft__chunk *ft__chunk_of(ft_pool *p, uint64_t seq) {
  ft__chunk *ch = &p->chunks[seq & (FT__SLOTS - 1)];
  return ch->live && ch->seq == seq ? ch : NULL;
}

static void ft__emit_task(ft_pool *p, ft_event_kind kind, ft_result *r, size_t i, int w, pid_t pid,
                          uint64_t t, const ft__item_out *it, uint64_t dur) {
  if (!p->loop->nhooks)
    return; /* nobody listens: a map of millions need not build events */
  ft_event ev = {.kind = kind, .t_ns = t, .pid = pid, .ppid = p->loop->pid, .name = p->name};
  ev.u.task.task = r->task0 + i;
  ev.u.task.item = i;
  ev.u.task.batch = r->batch;
  ev.u.task.worker = w;
  if (it) {
    ev.u.task.status = it->status;
    ev.u.task.code = it->code;
    ev.u.task.signal = it->signal;
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
  if (it->done)
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
  it->worker = worker;
  it->done = true;
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
  if (r->ndone < r->n)
    return;
  r->ready = true;
  if (r->nfailed ? r->ecb : r->cb)
    (r->nfailed ? r->ecb : r->cb)(r, r->ud);
  ft__result_unref(r);
}

/* Wire bytes of item i of r, found at offset off of r->args when copied. */
static size_t ft__arg_wire(const ft_result *r, size_t i, size_t off) {
  return r->src ? ft__wire_len(r->src[i].len) : ft__wire_size(r->args + off);
}

static void ft__chunk_free(ft_pool *p, ft__chunk *ch) {
  ch->live = false;
  atomic_store_explicit(&p->shm->slots[ch->seq & (FT__SLOTS - 1)].state,
                        FT__STATE(ch->seq, 0, FT__SLOT_FREE), memory_order_release);
  uint64_t pub = atomic_load_explicit(&p->shm->published, memory_order_relaxed);
  while (p->oldest < pub && !p->chunks[p->oldest & (FT__SLOTS - 1)].live)
    p->oldest++;
}

/* Fail the items of a chunk that have no outcome yet. */
static void ft__chunk_fail_rest(ft_pool *p, ft__chunk *ch, int status, int code, int signo,
                                pid_t pid) {
  ft_result *r = ch->res;
  ft__item_out it = {.status = status, .code = code, .signal = signo};
  uint64_t now = ft_now_ns();
  while (ch->ndone < ch->nitems) {
    size_t i = ch->first + ch->ndone++;
    ft__emit_task(p, FT_EV_TASK_FAIL, r, i, ch->worker, pid, now, &it,
                  ch->started ? now - ch->t_start : 0);
    ft__result_item_done(r, i, status, code, signo, pid, NULL, 0);
  }
  ft__chunk_free(p, ch);
}

static void ft__pool_on_record(ft_pool *p, int w, const ft__rec *h, const char *body) {
  ft__chunk *ch = ft__chunk_of(p, h->seq);
  if (!ch)
    return; /* canceled by terminate while the worker was running it */
  ft__worker *wk = &p->workers[w];
  wk->records++; /* it got as far as working: its death is no start-up failure */
  if (h->type == FT__REC_START) {
    ch->started = true;
    ch->t_start = h->t;
    ch->worker = w;
    ft__emit_task(p, FT_EV_TASK_START, ch->res, ch->first, w, wk->pid, h->t, NULL, 0);
    return;
  }
  ft_result *r = ch->res;
  bool heard = p->loop->nhooks > 0; /* a map of millions need not call for nobody */
  for (uint32_t k = 0; k < h->count; k++) {
    ft__rec_item it;
    memcpy(&it, body, sizeof it);
    const char *val = body + sizeof it;
    body += sizeof it + FT__ALIGN8(it.len);
    size_t i = ch->first + h->first + k;
    if (heard) {
      if (h->first + k > 0)
        ft__emit_task(p, FT_EV_TASK_START, r, i, w, wk->pid, it.t_start, NULL, 0);
      ft__item_out o = {.status = it.status, .code = it.code};
      ft__emit_task(p, it.status ? FT_EV_TASK_FAIL : FT_EV_TASK_DONE, r, i, w, wk->pid, it.t_end,
                    &o, it.t_end - it.t_start);
    }
    ch->ndone++;
    ft__result_item_done(r, i, it.status, it.code, 0, wk->pid, val, it.len);
  }
  if (ch->ndone == ch->nitems) {
    wk->tasks++;
    ft__chunk_free(p, ch);
  }
}

static void ft__ring_copy(ft__ring *r, uint64_t cap, uint64_t pos, void *dst, size_t len) {
  const char *d = ft__ring_data(r);
  size_t off = pos % cap, first = len < cap - off ? len : cap - off;
  memcpy(dst, d + off, first);
  memcpy((char *)dst + first, d, len - first);
}

/* Process every record worker w has committed, then tell it about the
 * room if it waits for some (tail stored, fence, then the flag checked:
 * the mirror of the worker's flag-then-look in ft__ring_put). */
bool ft__pool_drain_ring(ft_pool *p, int w) {
  ft__ring *r = ft__pool_ring(p, w);
  uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
  /* Read after head: the worker changes the window only when the ring is
   * empty, and before it commits a record under the new one. */
  uint64_t cap = atomic_load_explicit(&r->wrap, memory_order_relaxed);
  uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
  if (tail == head)
    return false;
  while (tail < head) {
    ft__rec h;
    ft__ring_copy(r, cap, tail, &h, sizeof h);
    size_t off = (tail + sizeof h) % cap, blen = h.len - sizeof h;
    const char *body = ft__ring_data(r) + off;
    if (off + blen > cap) { /* the record wraps: make it contiguous */
      if (p->scratch.cap < blen) {
        char *nd = realloc(p->scratch.data, blen);
        if (!nd)
          break; /* try again next turn */
        p->scratch.data = nd;
        p->scratch.cap = blen;
      }
      ft__ring_copy(r, cap, tail + sizeof h, p->scratch.data, blen);
      body = p->scratch.data;
    }
    ft__pool_on_record(p, w, &h, body);
    tail += h.len;
  }
  atomic_store_explicit(&r->tail, tail, memory_order_release);
  atomic_thread_fence(memory_order_seq_cst);
  if (atomic_load(&r->writer_waiting)) {
    atomic_store(&r->writer_waiting, 0);
    atomic_fetch_add(&r->tail_seq, 1);
    ft__futex_wake(&r->tail_seq, 1);
  }
  return true;
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
 * another worker (unless the pool is going away); items it finished whose
 * results it had not yet written fail with it too, since their results
 * are gone. */
void ft__pool_fail_running(ft_pool *p, int w, int status, int code, int signo) {
  uint64_t pub = atomic_load_explicit(&p->shm->published, memory_order_relaxed);
  pid_t pid = p->workers[w].pid;
  ft__ring *ring = ft__pool_ring(p, w);
  for (uint64_t s = p->oldest; s < pub; s++) {
    ft__chunk *ch = ft__chunk_of(p, s);
    if (!ch)
      continue;
    uint64_t st = atomic_load(&p->shm->slots[s & (FT__SLOTS - 1)].state);
    if (FT__STATE_TAG(st) == FT__SLOT_RUNNING && FT__STATE_WORKER(st) == w &&
        FT__STATE_SEQ(st) == s) {
      ch->worker = w;
      uint32_t running = ch->ndone;
      if (atomic_load(&ring->progress_seq) == s)
        running = atomic_load(&ring->progress);
      if (status == FT_EWORKER && running + 1 < ch->nitems)
        ft__chunk_requeue(p, ch, running + 1);
      ft__chunk_fail_rest(p, ch, status, code, signo, pid);
    }
  }
}

/* Fail item i of r, which no worker ran. */
static void ft__item_cancel(ft_pool *p, ft_result *r, size_t i, int status, int code, int signo) {
  ft__item_out it = {.status = status, .code = code, .signal = (uint16_t)signo};
  ft__emit_task(p, FT_EV_TASK_FAIL, r, i, -1, 0, ft_now_ns(), &it, 0);
  ft__result_item_done(r, i, status, code, signo, 0, NULL, 0);
}

/* Fail everything not finished: pending items and every live chunk. */
void ft__pool_cancel_all(ft_pool *p, int status, int code, int signo) {
  while (p->retries) {
    ft__retry *rt = p->retries;
    p->retries = rt->next;
    for (size_t i = rt->item; i < rt->end; i++)
      ft__item_cancel(p, rt->r, i, status, code, signo);
    ft__result_unref(rt->r);
    free(rt);
  }
  uint64_t pub = atomic_load_explicit(&p->shm->published, memory_order_relaxed);
  for (uint64_t s = p->oldest; s < pub; s++) {
    ft__chunk *ch = ft__chunk_of(p, s);
    if (ch) {
      pid_t pid = ch->started ? p->workers[ch->worker].pid : 0;
      ft__chunk_fail_rest(p, ch, status, code, signo, pid);
    }
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

/* Fail the items of r that are not yet in the arena (still pending, or
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

/* Work queued in a slot or still pending in the parent. */
bool ft__pool_has_work(const ft_pool *p) {
  if (p->pending_head || p->retries)
    return true;
  uint64_t pub = atomic_load_explicit(&p->shm->published, memory_order_relaxed);
  for (uint64_t s = p->oldest; s < pub; s++)
    if (FT__STATE_TAG(atomic_load(&p->shm->slots[s & (FT__SLOTS - 1)].state)) == FT__SLOT_QUEUED)
      return true;
  return false;
}

static bool ft__pool_has_chunks(const ft_pool *p) {
  return p->oldest < atomic_load_explicit(&p->shm->published, memory_order_relaxed);
}

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

/* Publish as many chunks as slots and arena room allow.  A slot's fields
 * are written before its state becomes QUEUED (release) and the state
 * before `published` moves (release), so a worker that sees the new
 * `published` sees a complete slot. */
static bool ft__pool_publish(ft_pool *p) {
  ft__pool_shm *shm = p->shm;
  uint64_t seq = atomic_load_explicit(&shm->published, memory_order_relaxed);
  uint64_t first_seq = seq;
  ft__src src;
  while (seq - p->oldest < FT__SLOTS && ft__next_source(p, &src)) {
    ft_result *r = src.r;
    size_t left = src.end - *src.next;
    size_t want = left < r->chunksize ? left : r->chunksize;
    size_t a0 = *src.off, bytes = 0, k = 0;
    size_t c = *src.next / r->chunksize;
    /* An item bigger than a quarter of the window grows the window (up to
     * the whole arena), once nothing is in flight: chunk offsets are taken
     * modulo the window, so it can change only while no chunk uses it. */
    size_t first = ft__arg_wire(r, *src.next, a0);
    if (first > p->arena_win / 4 && p->arena_win < p->arena_cap && first <= p->arena_cap) {
      if (p->oldest < seq)
        break; /* wait for the chunks in flight */
      while (p->arena_win < 4 * first && p->arena_win < p->arena_cap)
        p->arena_win *= 2;
      if (p->arena_win > p->arena_cap)
        p->arena_win = p->arena_cap;
    }
    /* A chunk takes at most a quarter of the window, so several are in
     * flight and no worker waits for another's chunk to free the room;
     * a bigger one goes out in pieces (each piece is a dispatch). */
    size_t most = p->arena_win / 4;
    if (!src.retry && r->chunk_off && *src.next % r->chunksize == 0 &&
        r->chunk_off[c + 1] - r->chunk_off[c] <= most) {
      k = want; /* a whole chunk, as planned at submission */
      bytes = r->chunk_off[c + 1] - r->chunk_off[c];
    }
    while (k < want) { /* as many items as the chunk wants and the room allows */
      size_t one = ft__arg_wire(r, *src.next + k, a0 + bytes);
      if (k > 0 && bytes + one > most)
        break;
      bytes += one;
      k++;
    }
    if (bytes > p->arena_cap) { /* one item larger than the whole arena */
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
    size_t win = p->arena_win;
    if (p->oldest == seq)
      p->arena_head = 0; /* nothing in flight: start the window afresh, so any chunk fits */
    uint64_t off = p->arena_head, pos = off % win;
    if (pos + bytes > win)
      off += win - pos; /* never wrap one chunk's arguments */
    uint64_t arena_tail =
        p->oldest < seq ? p->chunks[p->oldest & (FT__SLOTS - 1)].arena_start : p->arena_head;
    if (off + bytes - arena_tail > win)
      break;      /* wait for older chunks to finish */
    if (r->src) { /* borrowed: straight from the caller's items */
      char *d = p->arena + off % win;
      for (size_t q = *src.next; q < *src.next + k; q++)
        d += ft__wire_write(d, r->src[q].ptr, r->src[q].len);
    } else {
      memcpy(p->arena + off % win, r->args + a0, bytes);
    }
    ft__chunk *ch = &p->chunks[seq & (FT__SLOTS - 1)];
    *ch = (ft__chunk){.seq = seq,
                      .res = r,
                      .first = *src.next,
                      .nitems = (uint32_t)k,
                      .args_off = a0,
                      .arena_start = p->arena_head,
                      .arena_end = off + bytes,
                      .live = true,
                      .worker = -1};
    ft__slot *sl = &shm->slots[seq & (FT__SLOTS - 1)];
    sl->fn = r->fn;
    sl->kind = r->kind;
    sl->nitems = (uint32_t)k;
    sl->arg_off = off % win;
    sl->arg_len = bytes;
    atomic_store_explicit(&sl->state, FT__STATE(seq, 0, FT__SLOT_QUEUED), memory_order_release);
    p->arena_head = off + bytes;
    *src.next += k;
    *src.off += bytes;
    ft__source_done(p, &src);
    seq++;
    atomic_store_explicit(&shm->published, seq, memory_order_release);
    p->stats.dispatches++;
  }
  if (seq != first_seq) {
    atomic_fetch_add(&shm->publish_seq, 1);
    uint32_t idle = atomic_load(&shm->idle);
    if (idle)
      ft__futex_wake(&shm->publish_seq, seq - first_seq < idle ? (int)(seq - first_seq) : INT_MAX);
  }
  return seq != first_seq;
}

/* Once per loop turn: drain every ring, publish pending work, and arm the
 * wake-up (returns true, so the loop does not sleep, when anything moved).
 * parent_sleeping is set and then the rings are looked at again
 * (sequentially consistent), mirroring the workers' commit-then-look: a
 * record committed after our look finds the flag set and writes the eventfd. */
bool ft__pool_prepare(ft_loop *loop, void *ud) {
  (void)loop;
  ft_pool *p = ud;
  ft__pool_shm *shm = p->shm;
  bool progress = false;
  atomic_store_explicit(&shm->parent_sleeping, 0, memory_order_relaxed);
  uint32_t timed = p->loop->nhooks > 0;
  if (atomic_load_explicit(&shm->timed, memory_order_relaxed) != timed)
    atomic_store_explicit(&shm->timed, timed, memory_order_relaxed);
  for (int w = 0; w < p->nworkers; w++)
    progress |= ft__pool_drain_ring(p, w);
  if (!p->terminated)
    progress |= ft__pool_publish(p);
  if (p->closed && !p->pending_head && !atomic_load(&shm->closing)) {
    atomic_store(&shm->closing, 1);
    atomic_fetch_add(&shm->publish_seq, 1);
    ft__futex_wake(&shm->publish_seq, INT_MAX);
  }
  /* Something happened this turn: let the caller look before we sleep. */
  if (progress)
    return true;
  if (!ft__pool_has_chunks(p))
    return false;
  atomic_store(&shm->parent_sleeping, 1);
  for (int w = 0; w < p->nworkers; w++) {
    ft__ring *r = ft__pool_ring(p, w);
    if (atomic_load(&r->head) != atomic_load_explicit(&r->tail, memory_order_relaxed)) {
      atomic_store(&shm->parent_sleeping, 0);
      return true;
    }
  }
  return false;
}
