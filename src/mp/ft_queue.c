/* ft_queue.c - a bounded multi-producer multi-consumer queue of byte items
 * in shared memory, for every process forked after it was made.
 *
 * One anonymous shared mapping: a header and a byte ring of records
 * [u32 len][u32 pad][bytes][pad to 8].  Producers serialise on one robust
 * process-shared mutex and consumers on another (a two-lock queue), so a
 * producer and a consumer never contend: they meet only through the tail
 * and head words.  Every change becomes visible at its last step (tail or
 * head stored with release), so a process killed in the middle of a put or
 * a get leaves a queue that is whole: the next one to take that side's
 * mutex is told EOWNERDEAD, marks it consistent, and goes on.  Waiting is
 * done on futex words, never on a condition variable: a waiter killed
 * inside pthread_cond_wait can wedge glibc's condvar for everyone else.
 * The sleepers' slots, which keep the counts of the blocked exact, are in
 * ft_queue_sleep.c. */
#include "ft_queue_int.h"

#include <limits.h>
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#define FT__Q_DEFAULT_ITEMS 1000
#define FT__Q_DEFAULT_BYTES (1u << 20)
#define FT__Q_SPIN 400
#define FT__ALIGN8_Q(n) (((uint64_t)(n) + 7u) & ~(uint64_t)7u)

/* Called (when set) in the middle of a put, with the lock held and half the
 * item copied: the tests use it to kill a producer at the worst moment. */
void (*ft__queue_put_midpoint_hook)(void);
/* Called (when set) by a side about to sleep, once it has armed the other
 * side and holds that side's lock: the tests kill a sleeper there. */
void (*ft__queue_arm_hook)(void);

struct ft_queue {
  ft_loop *loop;
  pid_t owner; /* the process that made it */
  char *name;
  ft__qshm *shm;
  size_t map_len;
};

static void ft__queue_sample(ft_loop *loop, void *ud);
static void ft__queue_detach(void *ud) { ((ft_queue *)ud)->loop = NULL; }

/* Make a queue (before forking the processes that use it). */
int ft_queue_new(ft_loop *loop, const char *name, size_t max_items, size_t max_bytes,
                 ft_queue **out) {
  int rc;
  *out = NULL;
  if (!loop || !name)
    return FT_EINVAL;
  if (!max_items)
    max_items = FT__Q_DEFAULT_ITEMS;
  if (!max_bytes)
    max_bytes = FT__Q_DEFAULT_BYTES;
  ft_queue *q = ft__xalloc(sizeof *q);
  if (!q)
    return -ENOMEM;
  q->loop = loop;
  q->owner = getpid();
  q->name = strdup(name);
  /* Room for every byte and every record header (with its padding). */
  uint64_t ring =
      FT__ALIGN8_Q(max_bytes) + 16 * (uint64_t)max_items; /* 8-aligned: a header never wraps */
  /* The slots after the ring; untouched (and so not backed) until used. */
  uint64_t slots_off = sizeof(ft__qshm) + FT__ALIGN8_Q(ring);
  q->map_len = slots_off + 2 * FT__Q_SLOTS * sizeof(ft__qslot);
  q->shm = mmap(NULL, q->map_len, PROT_READ | PROT_WRITE,
                MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (q->shm == MAP_FAILED) {
    q->shm = NULL;
    rc = -errno;
    goto fail;
  }
  if (!q->name) {
    rc = -ENOMEM;
    goto fail;
  }
  ft__qshm *s = q->shm;
  s->ring_cap = ring;
  s->max_items = max_items;
  s->max_bytes = max_bytes;
  s->slots_off = slots_off;
  rc = ft__q_mutex_init(&s->put.lock);
  if (!rc)
    rc = ft__q_mutex_init(&s->get.lock);
  if (rc) {
    rc = -rc;
    goto fail;
  }
  if ((rc = ft__loop_add_sampler(loop, ft__queue_sample, ft__queue_detach, q)) < 0)
    goto fail;
  *out = q;
  return 0;
fail:
  if (q->shm)
    munmap(q->shm, q->map_len);
  free(q->name);
  free(q);
  return rc;
}

/* Take one side's lock; a holder that died leaves it to us, and since every
 * change commits last, the state it left is consistent as it stands. */
static void ft__q_lock(ft__qshm *s, ft__qside *side) {
  if (pthread_mutex_lock(&side->lock) == EOWNERDEAD) {
    atomic_fetch_add(&s->owner_deaths, 1);
    pthread_mutex_consistent(&side->lock);
  }
}

static void ft__q_unlock(ft__qside *side) { pthread_mutex_unlock(&side->lock); }

/* The ring offset of a side's pos (its lock held) without a division: a
 * 64-bit division costs as much as the rest of a put.  The offset is kept
 * with the pos it belongs to, both stored after the commit, off_pos last
 * (release stores: in that order, also to the compiler); a process killed
 * between them leaves a pair that does not match pos, and the next one
 * divides. */
static size_t ft__q_off(const ft__qshm *s, const ft__qside *side, uint64_t pos) {
  if (atomic_load_explicit(&side->off_pos, memory_order_relaxed) == pos)
    return atomic_load_explicit(&side->off, memory_order_relaxed);
  return pos % s->ring_cap;
}

/* After a commit that moved the side to pos, at ring offset off (which may
 * have run past the end by less than the ring's size). */
static void ft__q_moved(const ft__qshm *s, ft__qside *side, uint64_t pos, size_t off) {
  atomic_store_explicit(&side->off, off >= s->ring_cap ? off - s->ring_cap : off,
                        memory_order_release);
  atomic_store_explicit(&side->off_pos, pos, memory_order_release);
}

/* Commit n records of bytes payload bytes on side me, moving it to pos at
 * ring offset off: the counters first (readers of pos trust them), then
 * pos with release; only now do the records exist (a put) or are they
 * gone (a get).  Returns the side's new item count. */
static inline uint64_t ft__q_commit(const ft__qshm *s, ft__qside *me, uint64_t n, uint64_t bytes,
                                    uint64_t pos, size_t off) {
  uint64_t items = atomic_load_explicit(&me->items, memory_order_relaxed) + n;
  atomic_store_explicit(&me->items, items, memory_order_relaxed);
  atomic_store_explicit(&me->bytes, atomic_load_explicit(&me->bytes, memory_order_relaxed) + bytes,
                        memory_order_relaxed);
  atomic_store_explicit(&me->pos, pos, memory_order_release);
  ft__q_moved(s, me, pos, off);
  return items;
}

/* The producers' cached view of the consumers, refreshed (their lock held). */
static inline void ft__q_look(ft__qshm *s) {
  s->put.seen_pos = atomic_load_explicit(&s->get.pos, memory_order_acquire);
  s->put.seen_items = atomic_load_explicit(&s->get.items, memory_order_relaxed);
  s->put.seen_bytes = atomic_load_explicit(&s->get.bytes, memory_order_relaxed);
}

/* Copy in or out at ring offset off (less than twice the ring's size),
 * wrapping at its end. */
static void ft__q_copy_in(ft__qshm *s, size_t off, const void *src, size_t n) {
  off = off >= s->ring_cap ? off - s->ring_cap : off;
  size_t first = n < s->ring_cap - off ? n : s->ring_cap - off;
  memcpy(s->ring + off, src, first);
  memcpy(s->ring, (const char *)src + first, n - first);
}

static void ft__q_copy_out(const ft__qshm *s, size_t off, void *dst, size_t n) {
  off = off >= s->ring_cap ? off - s->ring_cap : off;
  size_t first = n < s->ring_cap - off ? n : s->ring_cap - off;
  memcpy(dst, s->ring + off, first);
  memcpy((char *)dst + first, s->ring, n - first);
}

/* Sleeping and waking without a fence on the fast path.  A side that
 * wants to sleep arms the other side, under the OTHER side's lock (having
 * let go of its own: no one holds two locks, so there is no order to
 * keep): it sets `armed`, reads that side's seq, and looks once more
 * whether it may go on.  A committer looks at `armed` of the other side
 * before it lets go of its own lock, and if set, clears it and (after
 * unlocking) bumps its seq and wakes every sleeper.  The lock orders the
 * two: either the arming came first and the committer sees it, or the
 * commit came first and the look after arming sees the commit.  So a
 * commit with nobody asleep costs a plain load of a line that changes
 * only when someone sleeps: no fence, no syscall; and one with sleepers
 * costs one wake, not one per commit until they have run (those woken
 * that find nothing arm again).  All are woken, not one: a sleeper left
 * asleep would have no one to arm for it.  A sleeper killed while armed
 * costs one needless wake.  ft_queue_close bumps both seqs after setting
 * `closed`, so a waiter that read seq before it wakes. */

/* Called by a committer with its lock held: wake the other side (after
 * unlocking, with ft__q_wake)? */
static bool ft__q_must_wake(ft__qside *other) {
  if (!atomic_load_explicit(&other->armed, memory_order_relaxed))
    return false;
  atomic_store_explicit(&other->armed, 0, memory_order_relaxed);
  return true;
}

/* After unlocking: bump our seq and wake the other side's sleepers. */
static void ft__q_wake(ft__qside *me) {
  atomic_fetch_add(&me->seq, 1);
  ft__futex_wake(&me->seq, INT_MAX);
}

/* Let go of side me's lock after a commit (none when !moved), and wake
 * the other side if it armed us. */
static inline void ft__q_leave(ft__qside *me, ft__qside *other, bool moved) {
  bool wake = moved && ft__q_must_wake(other);
  ft__q_unlock(me);
  if (wake)
    ft__q_wake(me);
}

/* Block side `me` until the other side commits, the queue closes, or the
 * deadline passes.  The side's lock is released meanwhile (a producer
 * asleep on a full queue must not hold up the others, nor their timeouts)
 * and taken again before returning.  Spin first (two processes on two
 * cores usually meet within microseconds), then take a slot (ft__q_claim)
 * and sleep as told above.  Returns FT_ETIMEDOUT at the deadline. */
static int ft__q_block(ft__qshm *s, ft__qside *me, ft__qside *other,
                       bool (*ready)(const ft__qshm *, const void *), const void *ud,
                       uint64_t deadline) {
  ft__q_unlock(me);
  int rc = 0;
  /* The looks grow apart (1, 2, 4 ... 32 pauses): each look pulls in a
   * line the other side writes at every commit, and a side looked at
   * after every commit pays a miss per item; looked at less often, it
   * commits several items to a line before the look. */
  for (unsigned i = 0, gap = 1; i < FT__Q_SPIN; i += gap, gap = gap < 32 ? 2 * gap : 32) {
    if (ready(s, ud))
      goto out;
    for (unsigned k = 0; k < gap; k++) {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    }
  }
  uint64_t t0 = ft_now_ns();
  ft__q_lock(s, other);
  ft__qslot *slot = ft__q_claim(s, me, t0); /* (NULL: counted in me->blocked) */
  atomic_store_explicit(&me->armed, 1, memory_order_relaxed);
  if (ft__queue_arm_hook)
    ft__queue_arm_hook();
  uint32_t seen = atomic_load(&other->seq);
  bool go = ready(s, ud);
  ft__q_unlock(other);
  if (!go) {
    if (deadline && t0 >= deadline)
      rc = FT_ETIMEDOUT;
    else
      rc = ft__futex_wait(&other->seq, seen, deadline);
  }
  ft__q_unclaim(me, slot, t0);
out:
  ft__q_lock(s, me);
  return rc;
}

/* What a side waits for: a look under its own lock (1: go on, 0: not yet,
 * or an error to return) and one without any lock, for ft__q_block. */
typedef struct ft__q_want {
  int (*locked)(ft__qshm *s, const void *ud);
  bool (*now)(const ft__qshm *s, const void *ud);
  int none; /* the error when the timeout is 0 */
} ft__q_want;

/* With side me's lock held, and r what want->locked said a moment ago
 * (the caller looks first, with a direct call: that is the fast path),
 * wait until want says go (0, the lock held) or an error (the lock still
 * held; the caller unlocks).  One wait for all four calls.  The deadline is read from the clock
 * only when the call is about to block: a put or a get that finds room or an item reads no clock;
 * *deadline (0 at first) keeps it across calls of a batch. */
static int ft__q_wait(ft__qshm *s, ft__qside *me, ft__qside *other, const ft__q_want *want,
                      const void *ud, int r, double timeout, uint64_t *deadline) {
  for (;; r = want->locked(s, ud)) {
    if (r)
      return r > 0 ? 0 : r;
    if (timeout == 0)
      return want->none;
    if (timeout > 0 && !*deadline)
      *deadline = ft__deadline(timeout);
    int rc = ft__q_block(s, me, other, want->now, ud, *deadline);
    if (rc < 0)
      return want->locked(s, ud) > 0 ? 0 : rc;
  }
}

typedef struct ft__q_need {
  uint64_t bytes; /* ring bytes of the record */
  size_t len;     /* payload */
} ft__q_need;

/* Room for the record?  First against the producers' cached view of the
 * consumers (stale only in the safe direction: it sees fewer gets than there
 * were), and only when that says no, against the consumers' real counters.
 * Called with the producers' lock held; a closed queue takes no more. */
static int ft__q_has_room(ft__qshm *s, const void *ud) {
  const ft__q_need *n = ud;
  ft__qside *p = &s->put;
  if (atomic_load_explicit(&s->closed, memory_order_relaxed))
    return FT_ECLOSED;
  uint64_t puts = atomic_load_explicit(&p->items, memory_order_relaxed);
  uint64_t bin = atomic_load_explicit(&p->bytes, memory_order_relaxed);
  uint64_t tail = atomic_load_explicit(&p->pos, memory_order_relaxed);
  for (int fresh = 0; fresh < 2; fresh++) {
    if (puts - p->seen_items < s->max_items && bin - p->seen_bytes + n->len <= s->max_bytes &&
        tail + n->bytes - p->seen_pos <= s->ring_cap)
      return 1;
    if (fresh)
      break;
    ft__q_look(s);
  }
  return 0;
}

/* The same, for a blocked producer, without its lock: fresh loads, no cache. */
static bool ft__q_room_now(const ft__qshm *s, const void *ud) {
  const ft__q_need *n = ud;
  uint64_t gets = atomic_load(&s->get.items), bout = atomic_load(&s->get.bytes);
  uint64_t head = atomic_load_explicit(&s->get.pos, memory_order_acquire);
  return atomic_load(&s->closed) || (atomic_load(&s->put.items) - gets < s->max_items &&
                                     atomic_load(&s->put.bytes) - bout + n->len <= s->max_bytes &&
                                     atomic_load(&s->put.pos) + n->bytes - head <= s->ring_cap);
}

static const ft__q_want ft__q_room = {ft__q_has_room, ft__q_room_now, FT_EFULL};

/* An item at the head?  Against the consumers' cached tail first.  Called
 * with the consumers' lock held; a closed queue is drained first. */
static int ft__q_has_item(ft__qshm *s, const void *ud) {
  (void)ud;
  ft__qside *g = &s->get;
  uint64_t head = atomic_load_explicit(&g->pos, memory_order_relaxed);
  if (g->seen_pos != head)
    return 1;
  g->seen_pos = atomic_load_explicit(&s->put.pos, memory_order_acquire);
  if (g->seen_pos != head)
    return 1;
  return atomic_load(&s->closed) ? FT_ECLOSED : 0;
}

/* The same, for a blocked consumer, without its lock. */
static bool ft__q_item_now(const ft__qshm *s, const void *ud) {
  (void)ud;
  return atomic_load(&s->closed) ||
         atomic_load_explicit(&s->put.pos, memory_order_acquire) != atomic_load(&s->get.pos);
}

static const ft__q_want ft__q_item = {ft__q_has_item, ft__q_item_now, FT_EEMPTY};

/* A producer's wait for room for a record of len payload bytes (at most
 * max_bytes), with the producers' lock held and still held on return: 0
 * and *need filled in, or an error.  For ft_queue_put and for each run of
 * ft_queue_put_many, whose *deadline carries across its runs. */
static inline int ft__q_enter_put(ft__qshm *s, size_t len, double timeout, uint64_t *deadline,
                                  ft__q_need *need) {
  *need = (ft__q_need){8 + FT__ALIGN8_Q(len), len};
  return ft__q_wait(s, &s->put, &s->get, &ft__q_room, need, ft__q_has_room(s, need), timeout,
                    deadline);
}

/* A consumer's way in, for ft_queue_get and ft_queue_get_many: the
 * consumers' lock, then a wait for an item.  0: an item at the head, *head
 * set and the lock held; or an error, the lock let go. */
static inline int ft__q_enter_get(ft__qshm *s, double timeout, uint64_t *head) {
  uint64_t deadline = 0;
  ft__q_lock(s, &s->get);
  int rc = ft__q_wait(s, &s->get, &s->put, &ft__q_item, NULL, ft__q_has_item(s, NULL), timeout,
                      &deadline);
  if (rc < 0)
    ft__q_unlock(&s->get);
  else
    *head = atomic_load_explicit(&s->get.pos, memory_order_relaxed);
  return rc;
}

/* Put an item, blocking up to timeout while the queue is full. */
int ft_queue_put(ft_queue *q, const void *data, size_t len, double timeout) {
  if (!q || (!data && len))
    return FT_EINVAL;
  ft__qshm *s = q->shm;
  if (len > s->max_bytes || len > UINT32_MAX)
    return FT_E2BIG;
  ft__q_need need;
  uint64_t deadline = 0;
  ft__q_lock(s, &s->put);
  int rc = ft__q_enter_put(s, len, timeout, &deadline, &need);
  if (rc < 0) {
    ft__q_unlock(&s->put);
    return rc;
  }
  uint64_t tail = atomic_load_explicit(&s->put.pos, memory_order_relaxed);
  size_t off = ft__q_off(s, &s->put, tail);
  uint64_t h = (uint32_t)len; /* [u32 len][u32 0], one store; a header never wraps */
  memcpy(s->ring + off, &h, sizeof h);
  if (len == 8 && off + need.bytes <= s->ring_cap && !ft__queue_put_midpoint_hook)
    memcpy(s->ring + off + 8, data, 8); /* inlined: a word */
  else {
    if (ft__queue_put_midpoint_hook && len) {
      ft__q_copy_in(s, off + 8, data, len / 2);
      ft__queue_put_midpoint_hook();
    }
    ft__q_copy_in(s, off + 8, data, len);
  }
  uint64_t puts = ft__q_commit(s, &s->put, 1, len, tail + need.bytes, off + need.bytes);
  /* The high-water mark without a cache miss per put: the cached view
   * overestimates the depth, so only when it passes the mark is the real
   * depth read (and the cache refreshed with it). */
  if (puts - s->put.seen_items > atomic_load_explicit(&s->high_water, memory_order_relaxed)) {
    ft__q_look(s);
    uint64_t depth = puts - s->put.seen_items;
    if (depth > atomic_load_explicit(&s->high_water, memory_order_relaxed))
      atomic_store_explicit(&s->high_water, depth, memory_order_relaxed);
  }
  ft__q_leave(&s->put, &s->get, true);
  return 0;
}

/* Get an item into buf, blocking up to timeout while the queue is empty. */
int ft_queue_get(ft_queue *q, void *buf, size_t cap, size_t *len, double timeout) {
  if (!q || !len || (!buf && cap))
    return FT_EINVAL;
  ft__qshm *s = q->shm;
  uint64_t head;
  int rc = ft__q_enter_get(s, timeout, &head);
  if (rc < 0)
    return rc;
  size_t off = ft__q_off(s, &s->get, head);
  uint32_t n;
  memcpy(&n, s->ring + off, sizeof n); /* a header never wraps */
  *len = n;
  if (n > cap) {
    ft__q_unlock(&s->get);
    return FT_E2BIG;
  }
  uint64_t rec = 8 + FT__ALIGN8_Q(n);
  if (n == 8 && off + rec <= s->ring_cap)
    memcpy(buf, s->ring + off + 8, 8); /* inlined: a word */
  else
    ft__q_copy_out(s, off + 8, buf, n);
  ft__q_commit(s, &s->get, 1, n, head + rec, off + rec);
  ft__q_leave(&s->get, &s->put, true);
  return 0;
}

/* How many of items[0..n) fit now, against the consumers' real counters
 * (one look per batch).  Called with the producers' lock held. */
static size_t ft__q_fit(ft__qshm *s, const ft_slice *items, size_t n) {
  ft__qside *p = &s->put;
  ft__q_look(s);
  uint64_t used_items = atomic_load_explicit(&p->items, memory_order_relaxed) - p->seen_items;
  uint64_t used_bytes = atomic_load_explicit(&p->bytes, memory_order_relaxed) - p->seen_bytes;
  uint64_t used_ring = atomic_load_explicit(&p->pos, memory_order_relaxed) - p->seen_pos;
  size_t m = 0;
  for (; m < n && used_items + m < s->max_items; m++) {
    uint64_t rec = 8 + FT__ALIGN8_Q(items[m].len);
    if (used_bytes + items[m].len > s->max_bytes || used_ring + rec > s->ring_cap)
      break;
    used_bytes += items[m].len;
    used_ring += rec;
  }
  return m;
}

/* Write m records at the tail and commit them with one store of the tail
 * (ft__q_commit): a producer killed before that store leaves none of
 * them.  The lock is held. */
static void ft__q_put_run(ft__qshm *s, const ft_slice *items, size_t m) {
  uint64_t tail = atomic_load_explicit(&s->put.pos, memory_order_relaxed), bytes = 0;
  size_t off = ft__q_off(s, &s->put, tail); /* kept up as we go */
  for (size_t i = 0; i < m; i++) {
    size_t len = items[i].len;
    uint64_t rec = 8 + FT__ALIGN8_Q(len);
    if (off + rec <= s->ring_cap) { /* the usual case: no wrap */
      uint64_t h = (uint32_t)len;
      memcpy(s->ring + off, &h, 8);
      if (len == 8)
        memcpy(s->ring + off + 8, items[i].ptr, 8); /* inlined: a word */
      else
        memcpy(s->ring + off + 8, items[i].ptr, len);
    } else {
      uint64_t h = (uint32_t)len;
      memcpy(s->ring + off, &h, sizeof h); /* a header never wraps */
      ft__q_copy_in(s, off + 8, items[i].ptr, len);
    }
    off += rec;
    off = off >= s->ring_cap ? off - s->ring_cap : off;
    if (ft__queue_put_midpoint_hook && i == m / 2)
      ft__queue_put_midpoint_hook();
    tail += rec;
    bytes += len;
  }
  uint64_t puts = ft__q_commit(s, &s->put, m, bytes, tail, off);
  uint64_t depth = puts - s->put.seen_items; /* seen just now, in ft__q_fit */
  if (depth > atomic_load_explicit(&s->high_water, memory_order_relaxed))
    atomic_store_explicit(&s->high_water, depth, memory_order_relaxed);
}

/* Put several items, each run that fits committed at once. */
int ft_queue_put_many(ft_queue *q, const ft_slice *items, size_t n, size_t *done, double timeout) {
  if (done)
    *done = 0;
  if (!q || (!items && n))
    return FT_EINVAL;
  ft__qshm *s = q->shm;
  uint64_t deadline = 0;
  size_t k = 0;
  int rc = 0;
  ft__q_lock(s, &s->put);
  while (k < n) {
    if (items[k].len > s->max_bytes || items[k].len > UINT32_MAX ||
        (!items[k].ptr && items[k].len)) {
      rc = items[k].ptr || !items[k].len ? FT_E2BIG : FT_EINVAL;
      break;
    }
    ft__q_need need;
    if ((rc = ft__q_enter_put(s, items[k].len, timeout, &deadline, &need)) < 0)
      break;
    size_t m = ft__q_fit(s, items + k, n - k); /* at least 1: item k has room */
    for (size_t i = 1; i < m; i++) /* an item too big or no item: a run ends before it */
      if (items[k + i].len > s->max_bytes || (!items[k + i].ptr && items[k + i].len)) {
        m = i;
        break;
      }
    ft__q_put_run(s, items + k, m);
    k += m;
    if (ft__q_must_wake(&s->get)) /* consumers may take these while we go on */
      ft__q_wake(&s->put);
  }
  ft__q_unlock(&s->put);
  if (done)
    *done = k;
  return rc;
}

/* Get several items at once, their bytes packed into buf. */
int ft_queue_get_many(ft_queue *q, void *buf, size_t cap, ft_slice *items, size_t max, size_t *got,
                      double timeout) {
  if (got)
    *got = 0;
  if (!q || !got || !items || !max || (!buf && cap))
    return FT_EINVAL;
  ft__qshm *s = q->shm;
  uint64_t head, bytes = 0;
  int rc = ft__q_enter_get(s, timeout, &head);
  if (rc < 0)
    return rc;
  /* Every record up to the tail seen now is whole (the tail is stored last). */
  uint64_t tail = atomic_load_explicit(&s->put.pos, memory_order_acquire);
  s->get.seen_pos = tail;
  size_t m = 0, used = 0, off = ft__q_off(s, &s->get, head); /* kept up, as in ft__q_put_run */
  while (m < max && head != tail) {
    uint32_t h[2];
    memcpy(h, s->ring + off, sizeof h); /* a header never wraps: records are 8-aligned */
    if (used + h[0] > cap) {
      if (m == 0) {
        items[0] = (ft_slice){NULL, h[0]};
        rc = FT_E2BIG;
      }
      break;
    }
    uint64_t rec = 8 + FT__ALIGN8_Q(h[0]);
    if (off + rec <= s->ring_cap && h[0] == 8)
      memcpy((char *)buf + used, s->ring + off + 8, 8);
    else if (off + rec <= s->ring_cap)
      memcpy((char *)buf + used, s->ring + off + 8, h[0]);
    else
      ft__q_copy_out(s, off + 8, (char *)buf + used, h[0]);
    off += rec;
    off = off >= s->ring_cap ? off - s->ring_cap : off;
    items[m++] = (ft_slice){(char *)buf + used, h[0]};
    used += FT__ALIGN8_Q(h[0]);
    used = used < cap ? used : cap;
    bytes += h[0];
    head += 8 + FT__ALIGN8_Q(h[0]);
  }
  if (m)
    ft__q_commit(s, &s->get, m, bytes, head, off);
  ft__q_leave(&s->get, &s->put, m != 0);
  *got = m;
  return rc;
}

/* Close: puts fail; gets drain and then fail; everyone blocked wakes. */
int ft_queue_close(ft_queue *q) {
  if (!q)
    return FT_EINVAL;
  ft__qshm *s = q->shm;
  atomic_store(&s->closed, 1);
  atomic_fetch_add(&s->put.seq, 1);
  atomic_fetch_add(&s->get.seq, 1);
  ft__futex_wake(&s->put.seq, INT_MAX);
  ft__futex_wake(&s->get.seq, INT_MAX);
  return 0;
}

/* Read the counters without a lock (each is one atomic word; the pairs are
 * read gets-first so the depth is never negative); the sleepers are
 * counted from their slots, where the dead are found and let go. */
void ft_queue_stats_get(const ft_queue *q, ft_queue_stats *st) {
  ft__qshm *s = q->shm;
  memset(st, 0, sizeof *st);
  st->gets = atomic_load(&s->get.items);
  st->bytes_out = atomic_load(&s->get.bytes);
  st->puts = atomic_load(&s->put.items);
  st->bytes_in = atomic_load(&s->put.bytes);
  st->depth = st->puts >= st->gets ? st->puts - st->gets : 0;
  st->depth_bytes = st->bytes_in >= st->bytes_out ? st->bytes_in - st->bytes_out : 0;
  st->high_water = atomic_load(&s->high_water);
  st->capacity = s->max_items;
  st->capacity_bytes = s->max_bytes;
  ft__q_sleepers(s, &s->put, &st->producers_blocked, &st->put_blocked_ns);
  ft__q_sleepers(s, &s->get, &st->consumers_blocked, &st->get_blocked_ns);
  st->owner_deaths = atomic_load(&s->owner_deaths);
  st->closed = atomic_load(&s->closed) != 0;
}

/* The queue's name. */
const char *ft_queue_name(const ft_queue *q) { return q ? q->name : NULL; }

/* The loop's sampler: the queue's counters as an FT_EV_QUEUE event. */
static void ft__queue_sample(ft_loop *loop, void *ud) {
  ft_queue *q = ud;
  ft_event ev = {.kind = FT_EV_QUEUE, .pid = loop->pid, .ppid = getppid(), .name = q->name};
  ft_queue_stats_get(q, &ev.u.queue);
  ft__emit(loop, &ev);
}

/* Unmap; in the process that made it, also stop sampling it. */
void ft_queue_free(ft_queue *q) {
  if (!q)
    return;
  if (q->owner == getpid() && q->loop) { /* (no loop: it was freed first) */
    /* a last sample, so the stream ends with the queue's final counts */
    ft__queue_sample(q->loop, q);
    ft__loop_remove_sampler(q->loop, q);
  }
  munmap(q->shm, q->map_len);
  free(q->name);
  free(q);
}
