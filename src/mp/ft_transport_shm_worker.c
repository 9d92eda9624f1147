/* ft_transport_shm_worker.c - a pool worker of the shared-memory
 * transport: claim a chunk, run its items, write the results into this
 * worker's ring, until the pool closes. */
#include "ft_pool_int.h"
#include "ft_sys.h"
#include "ft_transport_shm.h"

#include <stdio.h>
#include <stdio_ext.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef FT__SPIN
#define FT__SPIN 256 /* claims tried before sleeping, when each process has a CPU */
#endif
#ifndef FT__SPIN_CROWDED
#define FT__SPIN_CROWDED 8 /* ... and when the workers and the parent share them */
#endif
#define FT__FLUSH_NS (2ull * 1000 * 1000)
#define FT__SLOW_ITEM_NS (50ull * 1000)
#define FT__FAST_ITEM_NS 1000ull
#define FT__MAX_STRIDE 64u

/* Whether stdout holds output not yet written: __fpending(stdout), read
 * from glibc's FILE directly, as each item pays for it. */
static inline bool ft__stdout_pending(void) {
#ifdef __GLIBC__
  return stdout->_IO_write_ptr > stdout->_IO_write_base;
#else
  return __fpending(stdout) > 0;
#endif
}

static inline void ft__cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

/* Advance the claim hint to at least to (it only ever grows). */
static void ft__hint_raise(ft__pool_shm *shm, uint64_t to) {
  uint64_t h = atomic_load_explicit(&shm->hint, memory_order_relaxed);
  while (h < to && !atomic_compare_exchange_weak(&shm->hint, &h, to)) {
  }
}

/* Claim the oldest queued slot.  A slot below `published` that is not
 * QUEUED for its own sequence number has been claimed (or finished) and can
 * never be queued again for that number, so the hint may pass it.  The CAS
 * both takes the slot and records which worker holds it, which is what lets
 * the parent fail exactly that chunk if this process dies. */
static bool ft__try_claim(ft__pool_shm *shm, int w, uint64_t *seq_out) {
  uint64_t mask = shm->nslots - 1; /* a read-only cache line */
  uint64_t pub = atomic_load_explicit(&shm->published, memory_order_acquire);
  uint64_t s = atomic_load_explicit(&shm->hint, memory_order_relaxed);
  for (; s < pub; s++) {
    ft__slot *sl = &shm->slots[s & mask];
    uint64_t want = FT__STATE(s, 0, FT__SLOT_QUEUED);
    if (atomic_load_explicit(&sl->state, memory_order_acquire) != want)
      continue;
    if (atomic_compare_exchange_strong(&sl->state, &want, FT__STATE(s, w, FT__SLOT_RUNNING))) {
      ft__hint_raise(shm, s + 1);
      *seq_out = s;
      return true;
    }
  }
  ft__hint_raise(shm, pub);
  return false;
}

/* Wait for a chunk.  The idle count is raised before publish_seq is read,
 * and the parent bumps publish_seq before it reads the idle count (both
 * sequentially consistent), so a publish can never slip between our last
 * look and our sleep unnoticed.  False when the pool is closing and no work
 * is left. */
static bool ft__claim(ft__pool_shm *shm, int w, int spin, uint64_t *seq) {
  for (;;) {
    for (int i = 0; i < spin; i++) {
      if (ft__try_claim(shm, w, seq))
        return true;
      ft__cpu_relax();
    }
    atomic_fetch_add(&shm->idle, 1);
    uint32_t ps = atomic_load(&shm->publish_seq);
    if (ft__try_claim(shm, w, seq)) {
      atomic_fetch_sub(&shm->idle, 1);
      return true;
    }
    if (atomic_load(&shm->closing)) {
      atomic_fetch_sub(&shm->idle, 1);
      return false;
    }
    ft__futex_wait(&shm->publish_seq, ps, 0);
    atomic_fetch_sub(&shm->idle, 1);
  }
}

static void ft__wake_parent(ft__pool_shm *shm) {
  if (atomic_load(&shm->parent_sleeping) && atomic_exchange(&shm->parent_sleeping, 0)) {
    uint64_t one = 1;
    ssize_t n = write(shm->efd, &one, sizeof one);
    (void)n;
  }
}

/* Copy a record into the ring, waiting for room.  Room is announced by the
 * parent bumping tail_seq after it stores a new tail; we flag ourselves as
 * waiting, read tail_seq, and only then look at the tail, so a tail move
 * between the look and the futex wait changes tail_seq and the wait returns. */
static void ft__ring_wait_room(ft__shm *t, ft__ring *r, uint64_t head, size_t len, uint64_t cap) {
  while (head + len - atomic_load_explicit(&r->tail, memory_order_acquire) > cap) {
    ft__wake_parent(t->shm);
    atomic_store(&r->writer_waiting, 1);
    uint32_t ts = atomic_load(&r->tail_seq);
    if (head + len - atomic_load(&r->tail) <= cap)
      break;
    ft__futex_wait(&r->tail_seq, ts, 0);
  }
  atomic_store_explicit(&r->writer_waiting, 0, memory_order_relaxed);
}

/* Make the ring's window hold a record of len bytes in its half (never
 * past the whole ring).  Positions are taken modulo the window, so it
 * changes only once the parent has read everything (waiting for room for
 * the whole window is waiting for an empty ring); the parent reads the
 * window after the head, and we store it before the next head. */
static void ft__ring_grow(ft__shm *t, ft__ring *r, size_t len) {
  uint64_t wrap = atomic_load_explicit(&r->wrap, memory_order_relaxed);
  if (2 * len <= wrap || wrap >= t->ring_cap)
    return;
  uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
  ft__ring_wait_room(t, r, head, wrap, wrap);
  while (wrap < 2 * len && wrap < t->ring_cap)
    wrap *= 2;
  atomic_store_explicit(&r->wrap, wrap < t->ring_cap ? wrap : t->ring_cap, memory_order_relaxed);
}

static void ft__ring_put(ft__shm *t, ft__ring *r, const void *data, size_t len) {
  ft__pool_shm *shm = t->shm;
  uint64_t cap = atomic_load_explicit(&r->wrap, memory_order_relaxed);
  uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
  ft__ring_wait_room(t, r, head, len, cap);
  char *d = ft__ring_data(r);
  size_t off = head % cap, first = len < cap - off ? len : cap - off;
  memcpy(d + off, data, first);
  memcpy(d, (const char *)data + first, len - first);
  atomic_store_explicit(&r->head, head + len, memory_order_release);
  atomic_thread_fence(memory_order_seq_cst);
  int w = (int)(((char *)r - t->rings) / t->ring_stride);
  uint64_t bit = 1ull << (w % 64);
  if (!(atomic_load(&t->dirty[w / 64]) & bit)) /* set: the parent has yet to take it */
    atomic_fetch_or(&t->dirty[w / 64], bit);
  ft__wake_parent(shm);
}

typedef struct ft__wctx {
  ft__shm *t;
  ft__ring *ring;
  ft_buf rec; /* a RESULT record being built */
  ft_buf out; /* one task's result */
  uint64_t seq;
  uint32_t first, count;
  uint64_t last_flush;
  bool packed;     /* this chunk's records are PACKED (nobody times its items) */
  uint64_t t_last; /* the end of the last item added */
  size_t limit;    /* a record's bytes at most: half the ring's window */
} ft__wctx;

static void ft__flush(ft__wctx *c) {
  if (!c->count)
    return;
  ft__rec *h = (ft__rec *)c->rec.data;
  h->len = (uint32_t)c->rec.len;
  h->type = c->packed ? FT__REC_PACKED : FT__REC_RESULT;
  h->seq = c->seq;
  h->t = c->packed ? c->t_last : 0;
  h->first = c->first;
  h->count = c->count;
  ft__ring_put(c->t, c->ring, c->rec.data, c->rec.len);
  c->first += c->count;
  c->count = 0;
  c->rec.len = sizeof(ft__rec);
}

/* Append one item's outcome; flush first when the record would pass half
 * the ring, so one record always fits. */
static void ft__add_result(ft__wctx *c, int rc, uint64_t t0, uint64_t t1) {
  ft__rec_item it = {.status = rc ? FT_ETASK : 0, .code = rc, .t_start = t0, .t_end = t1};
  size_t head = c->packed ? sizeof(ft__rec_packed) : sizeof it;
  size_t vlen = c->out.len;
  if (sizeof(ft__rec) + head + FT__ALIGN8(vlen) > c->t->ring_cap / 2) {
    it.status = FT_E2BIG;
    vlen = 0;
  }
  size_t need = head + FT__ALIGN8(vlen);
  if (c->rec.len + need > c->limit) {
    ft__flush(c);
    ft__ring_grow(c->t, c->ring, sizeof(ft__rec) + need); /* a result too big for the window */
    c->limit = atomic_load_explicit(&c->ring->wrap, memory_order_relaxed) / 2;
  }
  it.len = (uint32_t)vlen;
  if (c->rec.cap - c->rec.len < need && ft_buf_reserve(&c->rec, need) < 0)
    _exit(70); /* out of memory: the parent fails the chunk and replaces us */
  /* One reservation, then plain stores: this runs once per item. */
  char *d = c->rec.data + c->rec.len;
  if (c->packed) {
    ft__rec_packed h = {.len = it.status == FT_E2BIG ? FT__PACKED_E2BIG : it.len, .code = rc};
    memcpy(d, &h, sizeof h);
  } else {
    memcpy(d, &it, sizeof it);
  }
  if (vlen) {
    memset(d + need - 8, 0, 8); /* the padding (the value overwrites what it covers) */
    if (vlen == 8)              /* the common case, without a call */
      memcpy(d + head, c->out.data, 8);
    else
      memcpy(d + head, c->out.data, vlen);
  }
  c->rec.len += need;
  c->count++;
  c->t_last = t1;
}

/* Run every item of a claimed slot.
 *
 * A clock read costs about 26 ns here, as much as a trivial task, so when
 * nobody listens for task events (the parent says so in `timed`) fast items
 * share readings: the clock is read every `every` items, which doubles (up
 * to 64) while items take under a microsecond and drops back to 1 when a
 * stretch is slow.  Items between readings carry the last reading as both
 * start and end.  Slow items are still seen within one stretch (at most 64
 * fast items), so the flush rules below keep their meaning. */
static void ft__run_chunk(ft__wctx *c, const ft__slot *sl) {
  ft__shm *t = c->t;
  const char *a = t->arena + sl->arg_off;
  ft_slice small[16];
  bool timed = atomic_load_explicit(&t->shm->timed, memory_order_relaxed);
  c->packed = !timed; /* items without times of their own: 16 bytes each, not 40 */
  c->limit = atomic_load_explicit(&c->ring->wrap, memory_order_relaxed) / 2;
  void *ctx = t->base.pool->ctx;
  /* One clock read per item at most: an item ends when the next one starts. */
  uint64_t t0 = ft_now_ns();
  uint32_t every = 1, left = 1;
  for (uint32_t i = 0; i < sl->nitems; i++) {
    uint32_t len;
    memcpy(&len, a, sizeof len);
    const char *data = a + 8;
    a += 8 + FT__ALIGN8(len);
    c->out.len = 0; /* ft_buf_reset, without a call */
    int rc;
    if (sl->kind == FT__KIND_STAR) {
      uint32_t argc;
      memcpy(&argc, data, sizeof argc);
      ft_slice *argv = argc <= 16 ? small : malloc(argc * sizeof *argv);
      if (!argv)
        _exit(70);
      const char *q = data + 8;
      for (uint32_t k = 0; k < argc; k++) {
        uint32_t l;
        memcpy(&l, q, sizeof l);
        argv[k] = (ft_slice){q + 8, l};
        q += 8 + FT__ALIGN8(l);
      }
      rc = ((ft_star_fn)sl->fn)(ctx, argc, argv, &c->out);
      if (argv != small)
        free(argv);
    } else {
      rc = ((ft_task_fn)sl->fn)(ctx, (ft_slice){data, len}, &c->out);
    }
    /* Output printed by the task shows up live, not when the worker exits. */
    if (ft__stdout_pending())
      fflush(stdout);
    bool read = timed || --left == 0;
    uint64_t t1 = read ? ft_now_ns() : t0;
    if (read && !timed) {
      if (t1 - t0 < every * FT__FAST_ITEM_NS)
        every = every < FT__MAX_STRIDE ? every * 2 : every;
      else
        every = 1;
      left = every;
    }
    ft__add_result(c, rc, t0, t1);
    atomic_store_explicit(&c->ring->progress, i + 1, memory_order_release);
    /* Items slower than 50 us report one by one (a death then loses no
     * result, and the cost is lost in the item's own time); fast ones are
     * batched, at most 2 ms' worth. */
    if (read && (t1 - t0 > FT__SLOW_ITEM_NS || t1 - c->last_flush > FT__FLUSH_NS)) {
      ft__flush(c);
      c->last_flush = t1;
    }
    t0 = t1;
  }
  ft__flush(c);
}

/* The body of a worker process (runs in the child; returns its exit status). */
int ft__shm_worker_main(void *arg) {
  ft__shm_worker *wk = arg;
  ft__shm *t = wk->t;
  ft_pool *p = t->base.pool;
  ft__pool_shm *shm = t->shm;
  /* Never outlive the supervisor.  (System calls made inline, as in
   * ft_child.c: a libc function the parent never called would cost this
   * process the dynamic linker's lookup and a page of the GOT.) */
  ft__sys_pdeathsig(SIGKILL);
  if (ft__sys_getppid() != p->loop->pid)
    return 1;

  if (p->initializer) {
    int rc = p->initializer(p->initarg);
    if (rc)
      return rc;
  }
  ft__wctx c = {.t = t, .ring = ft__shm_ring(t, wk->idx)};
  ft__rec start = {.len = sizeof start, .type = FT__REC_START};
  unsigned done = 0;
  uint64_t seq;
  bool ready = false;
  /* Spinning for the next chunk saves a sleep and a wake-up only while
   * the parent, which publishes it, has a CPU of its own: with as many
   * workers as CPUs or more, a spinning worker takes the very CPU the
   * parent needs (measured on 2 CPUs, 2 workers: a tenth of the workers'
   * time was spent spinning). */
  int spin = t->nworkers < t->ncpu ? FT__SPIN : FT__SPIN_CROWDED;
  while (ft__claim(shm, wk->idx, spin, &seq)) {
    const ft__slot *sl = &shm->slots[seq & (shm->nslots - 1)];
    if (!ready) {
      /* Our ring is ours to make ready, once there is work: its window
       * (kept from a worker before us in this slot, if it grew it),
       * stored before our first record, which the parent reads it
       * after, and its pages, in one call rather than a fault each (a
       * pool that never works never allocates them; ft__shm_ring_used). */
      if (!atomic_load_explicit(&c.ring->wrap, memory_order_relaxed))
        atomic_store_explicit(&c.ring->wrap, t->ring_win, memory_order_relaxed);
      madvise(c.ring, sizeof *c.ring + atomic_load_explicit(&c.ring->wrap, memory_order_relaxed),
              MADV_POPULATE_WRITE);
      /* The record buffer too waits for work: an idle worker allocates
       * nothing (each heap page it wrote would be a copy-on-write fault). */
      if (ft_buf_append(&c.rec, &start, sizeof start) < 0)
        return 70;
      ready = true;
    }
    start.seq = seq;
    start.t = c.last_flush = ft_now_ns();
    atomic_store_explicit(&c.ring->progress, 0, memory_order_relaxed);
    atomic_store_explicit(&c.ring->progress_seq, seq + 1, memory_order_release);
    ft__ring_put(t, c.ring, &start, sizeof start);
    c.seq = seq;
    c.first = c.count = 0;
    ft__run_chunk(&c, sl);
    if (p->maxtasks && ++done >= p->maxtasks) {
      atomic_store(&c.ring->recycled, 1);
      break;
    }
  }
  return 0;
}
