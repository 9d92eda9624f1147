/* ft_transport_shm.c - the shared-memory worker transport, parent's side:
 * one mapping made before the workers fork, chunks published into slots
 * with their arguments in an arena, results drained from one ring per
 * worker (the layout and its crash-safety argument: ft_transport_shm.h;
 * the worker's side: ft_transport_shm_worker.c). */
#include "ft_transport_shm.h"
#include "ft_pool_int.h"

#include <limits.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

/* A ring as a new worker finds it: all zeros, as the mapping starts
 * (its window, `wrap`, stays: the worker sets it if it is 0). */
static void ft__shm_reset_ring(ft__shm *t, int w) {
  ft__ring *r = ft__shm_ring(t, w);
  atomic_store(&r->progress_seq, 0);
  atomic_store(&r->progress, 0);
  atomic_store(&r->head, 0);
  atomic_store(&r->tail, 0);
  atomic_store(&r->recycled, 0);
  atomic_store(&r->writer_waiting, 0);
}

/* Whether worker w's ring may hold anything: its dirty bit was ever seen.
 * A ring nobody wrote is never touched here: each of its pages would be
 * allocated (shared memory has no zero page) for a pool that may never
 * work (Pool(35) created and joined: 35 pages).  A worker writes its
 * ring's header only once it claimed a chunk, and then commits a START,
 * which sets the bit, before it runs anything. */
static bool ft__shm_ring_used(ft__shm *t, int w) {
  if (!t->used[w] && (atomic_load(&t->dirty[w / 64]) >> (w % 64) & 1))
    t->used[w] = true;
  return t->used[w];
}

/* The ring of a new worker is as its last worker's exit left it: reset by
 * worker_clear, or never used. */
static void ft__shm_worker_start(ft__transport *tr, int w, ft__spawn_opts *so) {
  ft__shm *t = (ft__shm *)tr;
  so->target = ft__shm_worker_main;
  so->arg = &t->wargs[w];
  so->keep_fds = &t->efd;
  so->nkeep = 1;
}

static void ft__ring_copy(ft__ring *r, uint64_t cap, uint64_t pos, void *dst, size_t len) {
  const char *d = ft__ring_data(r);
  size_t off = pos % cap, first = len < cap - off ? len : cap - off;
  memcpy(dst, d + off, first);
  memcpy((char *)dst + first, d, len - first);
}

/* Hand the pool every record worker w has committed, then tell it about
 * the room if it waits for some (tail stored, fence, then the flag
 * checked: the mirror of the worker's flag-then-look in ft__ring_put). */
static bool ft__shm_drain(ft__shm *t, int w) {
  ft__ring *r = ft__shm_ring(t, w);
  t->used[w] = true; /* drained because its bit was set (see ft__shm_ring_used) */
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
      if (t->scratch.cap < blen) {
        char *nd = realloc(t->scratch.data, blen);
        if (!nd) {
          atomic_fetch_or(&t->dirty[w / 64], 1ull << (w % 64));
          break; /* try again next turn */
        }
        t->scratch.data = nd;
        t->scratch.cap = blen;
      }
      ft__ring_copy(r, cap, tail + sizeof h, t->scratch.data, blen);
      body = t->scratch.data;
    }
    if (h.type == FT__REC_START)
      ft__pool_on_start(t->base.pool, w, h.seq, h.t);
    else if (h.type == FT__REC_PACKED)
      ft__pool_on_packed(t->base.pool, w, h.seq, h.first, h.count, h.t, body);
    else
      ft__pool_on_results(t->base.pool, w, h.seq, h.first, h.count, body);
    tail += h.len;
    /* The room goes back record by record: a worker waiting for it goes
     * on while we take in the rest. */
    atomic_store_explicit(&r->tail, tail, memory_order_release);
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&r->writer_waiting, memory_order_relaxed)) {
      atomic_store(&r->writer_waiting, 0);
      atomic_fetch_add(&r->tail_seq, 1);
      ft__futex_wake(&r->tail_seq, 1);
    }
  }
  return true;
}

/* The worker is gone, so its ring holds all it will ever write. */
static bool ft__shm_worker_exited(ft__transport *tr, int w) {
  ft__shm *t = (ft__shm *)tr;
  if (!ft__shm_ring_used(t, w))
    return false; /* it never claimed a chunk (so it never ran maxtasksperchild) */
  ft__shm_drain(t, w);
  return atomic_load(&ft__shm_ring(t, w)->recycled);
}

/* The claimer is in the slot's state word (see ft__try_claim), so the
 * slot a dead worker was running is known exactly; its ring's progress
 * says how far into the chunk it got. */
static bool ft__shm_held(ft__transport *tr, int w, uint64_t seq, uint32_t *from) {
  ft__shm *t = (ft__shm *)tr;
  uint64_t st = atomic_load(&t->shm->slots[seq & (t->nslots - 1)].state);
  if (FT__STATE_TAG(st) != FT__SLOT_RUNNING || FT__STATE_WORKER(st) != w ||
      FT__STATE_SEQ(st) != FT__SEQ_LOW(seq))
    return false;
  ft__ring *ring = ft__shm_ring(t, w);
  /* The worker stores progress_seq (seq + 1: 0 is none) right after its
   * claim and before its first item: without it, it died between the two
   * and began nothing. */
  if (atomic_load(&ring->progress_seq) != seq + 1) {
    *from = 0;
    return true;
  }
  uint32_t running = atomic_load(&ring->progress);
  *from = (running > *from ? running : *from) + 1;
  return true;
}

/* A used ring is reset for the next worker.  One whose worker died after
 * its claim and before its START (so not seen used) may keep that
 * claim's progress: harmless, since progress is read only for the
 * sequence number stored with it, and that chunk is never claimed again. */
static void ft__shm_worker_clear(ft__transport *tr, int w) {
  ft__shm *t = (ft__shm *)tr;
  if (ft__shm_ring_used(t, w))
    ft__shm_reset_ring(t, w);
}

/* Wire bytes of item i of c, found at offset off of c->wire when copied. */
static size_t ft__shm_item_wire(const ft__chunk_args *c, size_t i, size_t off) {
  return c->src ? ft__wire_len(c->src[i].len) : ft__wire_size(c->wire + off);
}

/* Make chunk seq, k items in bytes of arguments at arena offset off (the
 * arguments already there), QUEUED.  A slot's fields are written before
 * its state becomes QUEUED (release) and the state before `published`
 * moves (release), so a worker that sees the new `published` sees a
 * complete slot. */
static void ft__shm_queue(ft__shm *t, const ft__chunk_args *c, uint64_t off, size_t bytes,
                          size_t k) {
  uint64_t seq = c->seq;
  t->arena_start[seq & (t->nslots - 1)] = t->arena_head;
  t->live[seq & (t->nslots - 1)] = true;
  ft__slot *sl = &t->shm->slots[seq & (t->nslots - 1)];
  sl->fn = c->fn;
  sl->kind = c->kind;
  sl->nitems = (uint32_t)k;
  sl->arg_off = off % t->arena_win;
  sl->arg_len = bytes;
  atomic_store_explicit(&sl->state, FT__STATE(seq, 0, FT__SLOT_QUEUED), memory_order_release);
  t->arena_head = off + bytes;
  atomic_store_explicit(&t->shm->published, seq + 1, memory_order_release);
}

/* Publish as many of c's items as the arena's room allows. */
static int ft__shm_publish(ft__transport *tr, const ft__chunk_args *c, uint32_t *taken,
                           size_t *bytes_out) {
  ft__shm *t = (ft__shm *)tr;
  uint64_t seq = c->seq;
  size_t bytes = 0, k = 0;
  if (seq - t->oldest >= t->nslots)
    return -EAGAIN;
  /* An item bigger than a quarter of the window grows the window (up to
   * the whole arena), once nothing is in flight: chunk offsets are taken
   * modulo the window, so it can change only while no chunk uses it. */
  size_t first = ft__shm_item_wire(c, 0, 0);
  if (first > t->arena_win / 4 && t->arena_win < t->arena_cap && first <= t->arena_cap) {
    if (t->oldest < seq)
      return -EAGAIN; /* wait for the chunks in flight */
    while (t->arena_win < 4 * first && t->arena_win < t->arena_cap)
      t->arena_win *= 2;
    if (t->arena_win > t->arena_cap)
      t->arena_win = t->arena_cap;
  }
  /* A chunk takes at most a quarter of the window, so several are in
   * flight and no worker waits for another's chunk to free the room;
   * a bigger one goes out in pieces (each piece is a dispatch). */
  size_t most = t->arena_win / 4, win = t->arena_win;
  if (t->oldest == seq)
    t->arena_head = 0; /* nothing in flight: start the window afresh, so any chunk fits */
  uint64_t arena_tail =
      t->oldest < seq ? t->arena_start[t->oldest & (t->nslots - 1)] : t->arena_head;
  /* The caller's items (map) with room for a whole quarter: written as
   * they are measured, in one pass over them instead of two. */
  if (c->src && first <= most) {
    uint64_t off = t->arena_head, pos = off % win;
    if (pos + most > win)
      off += win - pos; /* never wrap one chunk's arguments */
    if (off + most - arena_tail <= win) {
      char *d0 = t->arena + off % win, *d = d0, *end = d0 + most;
      const ft_slice *src = c->src;
      for (; k < c->n && (size_t)(end - d) >= ft__wire_len(src[k].len); k++)
        d += ft__wire_write(d, src[k].ptr, src[k].len);
      *bytes_out = bytes = (size_t)(d - d0);
      ft__shm_queue(t, c, off, bytes, k);
      *taken = (uint32_t)k;
      return 0;
    }
  }
  if (c->whole && c->whole <= most) {
    k = c->n; /* a whole chunk, as planned at submission */
    bytes = c->whole;
  }
  while (k < c->n) { /* as many items as the chunk wants and the room allows */
    size_t one = ft__shm_item_wire(c, k, bytes);
    if (k > 0 && bytes + one > most)
      break;
    bytes += one;
    k++;
  }
  *bytes_out = bytes;
  if (bytes > t->arena_cap) /* one item larger than the whole arena */
    return FT_E2BIG;
  uint64_t off = t->arena_head, pos = off % win;
  if (pos + bytes > win)
    off += win - pos; /* never wrap one chunk's arguments */
  if (off + bytes - arena_tail > win)
    return -EAGAIN; /* wait for older chunks to finish */
  if (c->src) {     /* borrowed: straight from the caller's items */
    char *d = t->arena + off % win;
    const ft_slice *src = c->src;
    for (size_t q = 0; q < k; q++)
      d += ft__wire_write(d, src[q].ptr, src[q].len);
  } else {
    memcpy(t->arena + off % win, c->wire, bytes);
  }
  ft__shm_queue(t, c, off, bytes, k);
  *taken = (uint32_t)k;
  return 0;
}

/* Wake as many sleeping workers as there are new chunks. */
static void ft__shm_kick(ft__transport *tr, uint64_t n) {
  ft__pool_shm *shm = ((ft__shm *)tr)->shm;
  atomic_fetch_add(&shm->publish_seq, 1);
  uint32_t idle = atomic_load(&shm->idle);
  if (idle)
    ft__futex_wake(&shm->publish_seq, n < idle ? (int)n : INT_MAX);
}

/* A retired slot is FREE for its seq.  The pool retires a chunk only once
 * its worker reported every item or died, or once cancel took it back (a
 * slot is never QUEUED then), so a plain store takes nothing from a
 * worker. */
static void ft__shm_retire(ft__transport *tr, uint64_t seq) {
  ft__shm *t = (ft__shm *)tr;
  t->live[seq & (t->nslots - 1)] = false;
  atomic_store_explicit(&t->shm->slots[seq & (t->nslots - 1)].state,
                        FT__STATE(seq, 0, FT__SLOT_FREE), memory_order_release);
  uint64_t pub = atomic_load_explicit(&t->shm->published, memory_order_relaxed);
  while (t->oldest < pub && !t->live[t->oldest & (t->nslots - 1)])
    t->oldest++;
}

/* Take a queued slot back (terminate).  A worker claims a slot with a CAS
 * QUEUED -> RUNNING(w) (ft__try_claim), and this is a CAS QUEUED -> FREE
 * on the same word: exactly one of them wins.  If the worker did, it may
 * already be running the first item, so the chunk is its own, and the
 * pool learns what became of it from that worker's death (`held` finds
 * RUNNING(w) in the slot); if we did, no worker can ever claim it. */
static bool ft__shm_cancel(ft__transport *tr, uint64_t seq) {
  ft__shm *t = (ft__shm *)tr;
  uint64_t want = FT__STATE(seq, 0, FT__SLOT_QUEUED);
  return atomic_compare_exchange_strong(&t->shm->slots[seq & (t->nslots - 1)].state, &want,
                                        FT__STATE(seq, 0, FT__SLOT_FREE));
}

static bool ft__shm_has_queued(const ft__transport *tr) {
  const ft__shm *t = (const ft__shm *)tr;
  uint64_t pub = atomic_load_explicit(&t->shm->published, memory_order_relaxed);
  for (uint64_t s = t->oldest; s < pub; s++)
    if (FT__STATE_TAG(atomic_load(&t->shm->slots[s & (t->nslots - 1)].state)) == FT__SLOT_QUEUED)
      return true;
  return false;
}

static bool ft__shm_collect(ft__transport *tr, bool timed) {
  ft__shm *t = (ft__shm *)tr;
  ft__pool_shm *shm = t->shm;
  bool progress = false;
  atomic_store_explicit(&shm->parent_sleeping, 0, memory_order_relaxed);
  if (atomic_load_explicit(&shm->timed, memory_order_relaxed) != (uint32_t)timed)
    atomic_store_explicit(&shm->timed, (uint32_t)timed, memory_order_relaxed);
  for (size_t i = 0; i < t->ndirty; i++) {
    if (!atomic_load_explicit(&t->dirty[i], memory_order_relaxed))
      continue;
    uint64_t bits = atomic_exchange(&t->dirty[i], 0);
    for (; bits; bits &= bits - 1)
      progress |= ft__shm_drain(t, (int)(i * 64) + __builtin_ctzll(bits));
  }
  return progress;
}

/* parent_sleeping is set and then the rings are looked at again
 * (sequentially consistent), mirroring the workers' commit-then-look: a
 * record committed after our look finds the flag set and writes the
 * eventfd. */
static bool ft__shm_arm(ft__transport *tr) {
  ft__shm *t = (ft__shm *)tr;
  atomic_store(&t->shm->parent_sleeping, 1);
  for (size_t i = 0; i < t->ndirty; i++)
    if (atomic_load(&t->dirty[i])) {
      atomic_store(&t->shm->parent_sleeping, 0);
      return true;
    }
  return false;
}

/* Workers that find no slot to claim and see `closing` leave. */
static void ft__shm_close(ft__transport *tr) {
  ft__pool_shm *shm = ((ft__shm *)tr)->shm;
  atomic_store(&shm->closing, 1);
  atomic_fetch_add(&shm->publish_seq, 1);
  ft__futex_wake(&shm->publish_seq, INT_MAX);
}

/* The same as close: workers leave once they find no slot to claim; the
 * pool takes the queued slots back (cancel) and its SIGTERM stops a
 * running worker. */
static void ft__shm_terminate(ft__transport *tr) { ft__shm_close(tr); }

static void ft__shm_free(ft__transport *tr) {
  ft__shm *t = (ft__shm *)tr;
  if (!t)
    return;
  ft_loop *loop = t->base.pool->loop;
  if (t->efw)
    ft__watch_close(loop, t->efw); /* closes the eventfd */
  else if (t->efd >= 0)
    close(t->efd);
  if (t->map != MAP_FAILED)
    munmap(t->map, t->map_len);
  ft_buf_free(&t->scratch);
  free(t->arena_start);
  free(t->live);
  free(t->wargs);
  free(t->used);
  free(t);
}

static void ft__shm_on_eventfd(ft_loop *loop, ft__watch *w, uint32_t events) {
  (void)loop;
  (void)events;
  uint64_t v;
  ssize_t n = read(w->fd, &v, sizeof v); /* the drain happens in collect */
  (void)n;
}

static const ft__transport_ops ft__shm_ops = {
    .name = "shm",
    .worker_start = ft__shm_worker_start,
    .worker_exited = ft__shm_worker_exited,
    .held = ft__shm_held,
    .worker_clear = ft__shm_worker_clear,
    .publish = ft__shm_publish,
    .kick = ft__shm_kick,
    .retire = ft__shm_retire,
    .cancel = ft__shm_cancel,
    .has_queued = ft__shm_has_queued,
    .collect = ft__shm_collect,
    .arm = ft__shm_arm,
    .close = ft__shm_close,
    .terminate = ft__shm_terminate,
    .free = ft__shm_free,
};

/* Make the shared mapping and the eventfd of pool p's n workers. */
int ft__transport_shm_new(ft_pool *p, int n, const ft_pool_opts *opts, const void *cfg,
                          ft__transport **out) {
  (void)cfg;
  int rc;
  *out = NULL;
  ft__shm *t = ft__xalloc(sizeof *t);
  if (!t)
    return -ENOMEM;
  t->base = (ft__transport){.ops = &ft__shm_ops, .pool = p};
  t->nworkers = n;
  t->ncpu = ft_cpu_count();
  t->efd = -1;
  t->map = MAP_FAILED;
  t->nslots = p->nslots;
  t->wargs = ft__xalloc((size_t)n * sizeof *t->wargs);
  t->used = ft__xalloc((size_t)n * sizeof *t->used);
  t->arena_start = ft__xalloc(t->nslots * sizeof *t->arena_start);
  t->live = ft__xalloc(t->nslots * sizeof *t->live);
  if (!t->wargs || !t->used || !t->arena_start || !t->live) {
    rc = -ENOMEM;
    goto fail;
  }
  for (int w = 0; w < n; w++)
    t->wargs[w] = (ft__shm_worker){.t = t, .idx = w};
  long page = sysconf(_SC_PAGESIZE);
  t->ring_cap = opts->result_ring_bytes ? FT__ALIGN8(opts->result_ring_bytes) : (256u << 10);
  if (t->ring_cap < 4096)
    t->ring_cap = 4096;
  t->ring_stride = (sizeof(ft__ring) + t->ring_cap + (size_t)page - 1) & ~((size_t)page - 1);
  /* The arena holds one item of up to 1 MiB, but chunks go round in a
   * window of 128 KiB of it, grown only for bigger items: every process
   * pays a fault (about 10 us here, even for a page the parent populated:
   * a fork copies no page table of a shared mapping) for each shared page
   * it first touches, and a 1 MiB window cost the parent and each worker
   * 256 of them; measured on a fresh pool's 200,000-item map: 1 MiB 12,
   * 128 KiB 18 M tasks/s. */
  t->arena_cap = opts->arg_arena_bytes ? FT__ALIGN8(opts->arg_arena_bytes) : (1u << 20);
  t->arena_win = t->arena_cap < FT__ARENA_WIN ? t->arena_cap : FT__ARENA_WIN;
  t->ndirty = ((size_t)n + 63) / 64;
  size_t head = sizeof(ft__pool_shm) + t->nslots * sizeof(ft__slot) + t->ndirty * 8;
  head = (head + (size_t)page - 1) & ~((size_t)page - 1);
  size_t arena = (t->arena_cap + (size_t)page - 1) & ~((size_t)page - 1);
  t->map_len = head + arena + (size_t)n * t->ring_stride;
  t->map = mmap(NULL, t->map_len, PROT_READ | PROT_WRITE,
                MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (t->map == MAP_FAILED) {
    rc = -errno;
    goto fail;
  }
  t->shm = t->map;
  t->shm->nslots = t->nslots;
  t->arena = (char *)t->map + head;
  t->rings = t->arena + arena;
  t->dirty = (_Atomic uint64_t *)(void *)&t->shm->slots[t->nslots];
  /* Results go round a window of each ring, grown only for big results,
   * for the same reason as the arena's window: fewer pages to touch.  The
   * windows share FT__RING_BUDGET, each at least FT__RING_WIN: a worker
   * that fills its window waits for the parent to read it, and each such
   * wait is a sleep and a wake-up (2 workers on 2 CPUs: 64 KiB windows
   * cost a 200,000-item map a fifth more of the parent's time than
   * 256 KiB ones), while a pool of thousands must not touch megabytes
   * per worker. */
  t->ring_win = FT__RING_WIN;
  while (t->ring_win * 2 <= FT__RING_BUDGET / (size_t)n && t->ring_win * 2 <= t->ring_cap)
    t->ring_win *= 2;
  if (t->ring_win > t->ring_cap)
    t->ring_win = t->ring_cap;
  /* What the parent writes first (the header, the arena's window) is
   * populated now, as part of the start-up.  Each ring is populated by
   * its worker when it claims its first chunk (ft__shm_worker_main),
   * not here: populating 35 rings' windows (2.4 MB) was a sixth of
   * Pool(35)'s start-up and of its free, for a pool that may never work,
   * and 280 MB at 4,000 workers.  The parent reads a ring's records
   * through read faults, which map 16 pages of it at a time.  The rest
   * of the mapping is left to be faulted in if a big item or result ever
   * needs it.  (Without MADV_POPULATE_WRITE, before Linux 5.14, pages
   * fault in.) */
  madvise(t->map, head + t->arena_win, MADV_POPULATE_WRITE);
  t->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (t->efd < 0) {
    rc = -errno;
    goto fail;
  }
  t->shm->efd = t->efd;
  t->efw = ft__watch_new(p->loop, t->efd, EPOLLIN, ft__shm_on_eventfd, t, true);
  if (!t->efw) {
    rc = -errno;
    goto fail;
  }
  *out = &t->base;
  return 0;

fail:
  ft__shm_free(&t->base);
  return rc;
}
