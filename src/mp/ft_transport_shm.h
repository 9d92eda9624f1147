/* ft_transport_shm.h - the shared-memory worker transport's layout.
 *
 * One anonymous shared mapping per pool, made before the workers fork:
 *
 *   [header][slots x nslots][argument arena][result ring per worker]
 *
 * nslots is the pool's slot ring (ft__slots_for: a power of two, at least
 * 1024 and twice the workers), fixed at creation and written into the
 * header before any worker forks.
 *
 * The parent publishes chunks of work into slots (arguments copied into the
 * arena); workers claim a slot by a compare-and-swap of its state word, which
 * records the claimer, so a worker that dies always leaves behind exactly the
 * slot it was running, never a task lost between "taken" and "noted".  Each
 * worker writes start and result records into its own single-producer ring;
 * the parent drains the rings once per loop turn.  Nobody makes a system call
 * unless the other side is asleep: workers sleep on a futex of the header,
 * the parent sleeps in epoll and is woken through an eventfd.
 */
#ifndef FT_TRANSPORT_SHM_H
#define FT_TRANSPORT_SHM_H

#include "ft_transport.h"

#define FT__CACHELINE 64
#ifndef FT__ARENA_WIN
#define FT__ARENA_WIN (128u << 10) /* the arena window chunks start in */
#endif
#ifndef FT__RING_WIN
#define FT__RING_WIN (64u << 10) /* the result ring window records start in, at least */
#endif
#ifndef FT__RING_BUDGET
#define FT__RING_BUDGET (4u << 20) /* ... and the pool's ring windows together, at most */
#endif

/* slot state word: seq << 24 | worker << 2 | tag.  The sequence number
 * keeps its low 40 bits: a slot is reused every nslots sequence numbers
 * (seq & (nslots - 1)), nslots a power of two far below 2^40 (at most
 * 2^23: twice FT__MAX_WORKERS), so nslots divides 2^40, the low 40 bits
 * name the slot as the whole seq does, and no two chunks in flight at once
 * (fewer than nslots apart) share their low 40 bits: 40 bits tell a slot's
 * uses apart as well as 64, and every comparison of a
 * whole sequence number with a state's goes through FT__SEQ_LOW (it wraps
 * after 2^40 chunks, about 30 hours at 10 million a second, harmlessly). */
enum { FT__SLOT_FREE = 0, FT__SLOT_QUEUED = 1, FT__SLOT_RUNNING = 2 };
#define FT__STATE(seq, w, tag) (((uint64_t)(seq) << 24) | ((uint64_t)(w) << 2) | (uint64_t)(tag))
#define FT__STATE_SEQ(s) ((s) >> 24)
#define FT__SEQ_LOW(seq) ((uint64_t)(seq) & ((1ull << 40) - 1))
#define FT__STATE_WORKER(s) ((int)(((s) >> 2) & 0x3fffff))
#define FT__STATE_TAG(s) ((int)((s)&3))
_Static_assert(FT__MAX_WORKERS <= 0x3fffff, "a worker number fits the state word");
_Static_assert(2ull * FT__MAX_WORKERS < (1ull << 40), "nslots divides 2^40");

typedef struct ft__slot {
  _Atomic uint64_t state;
  uintptr_t fn;
  uint32_t kind;
  uint32_t nitems;
  uint64_t arg_off; /* offset in the arena */
  uint64_t arg_len;
  char pad_[FT__CACHELINE - 40];
} ft__slot;

/* A single-producer (worker) single-consumer (parent) byte ring. */
typedef struct ft__ring {
  _Atomic uint64_t head;         /* bytes committed by the worker */
  _Atomic uint32_t recycled;     /* the worker left after maxtasksperchild */
  _Atomic uint32_t progress;     /* items of progress_seq's chunk finished */
  _Atomic uint64_t progress_seq; /* the chunk's seq + 1 (0: none) */
  _Atomic uint64_t wrap;         /* the window of the ring in use (see ft__ring_grow) */
  char pad0_[FT__CACHELINE - 32];
  _Atomic uint64_t tail;           /* bytes consumed by the parent */
  _Atomic uint32_t tail_seq;       /* futex: bumped when a waiting writer may go on */
  _Atomic uint32_t writer_waiting; /* the worker sleeps for room */
  char pad1_[FT__CACHELINE - 16];
} ft__ring;

typedef struct ft__pool_shm {
  _Atomic uint32_t publish_seq; /* futex: bumped on publish and on closing */
  _Atomic uint32_t idle;        /* workers asleep on publish_seq */
  _Atomic uint32_t closing;     /* no more work will be published */
  _Atomic uint32_t timed;       /* someone listens for task events: time every item */
  char pad0_[FT__CACHELINE - 16];
  _Atomic uint64_t published; /* slots published so far (next seq) */
  char pad1_[FT__CACHELINE - 8];
  _Atomic uint64_t hint; /* no queued slot below this seq */
  char pad2_[FT__CACHELINE - 8];
  _Atomic uint32_t parent_sleeping;
  int efd; /* the parent's eventfd (same number in the workers) */
  char pad3_[FT__CACHELINE - 8];
  uint64_t nslots; /* slots below; set before the workers fork, never changed */
  char pad4_[FT__CACHELINE - 8];
  ft__slot slots[]; /* nslots of them */
} ft__pool_shm;

typedef struct ft__shm ft__shm;

/* What a worker process is started with. */
typedef struct ft__shm_worker {
  ft__shm *t;
  int idx;
} ft__shm_worker;

/* The parent's side of the transport (the workers read it as forked). */
struct ft__shm {
  ft__transport base;
  int nworkers;
  int ncpu; /* online CPUs when the pool was made */
  void *map;
  size_t map_len;
  ft__pool_shm *shm;
  char *arena;
  size_t arena_cap; /* the whole arena: the largest item's arguments */
  size_t arena_win; /* the part in use: chunks go round in it (see ft__shm_publish) */
  char *rings;
  size_t ring_cap, ring_stride;
  size_t ring_win; /* a ring's first window (ft__ring.wrap), set by its worker */
  bool *used;      /* per worker: its ring was ever written (ft__shm_ring_used) */
  /* Bit w set: worker w committed a record since the parent last looked
   * (after its head, sequentially consistent, so a parent that clears the
   * bit and then reads the head sees the record).  The parent drains the
   * rings whose bits it takes, not all of them: a turn of the loop costs
   * the workers that wrote, not the pool's size. */
  _Atomic uint64_t *dirty;
  size_t ndirty; /* words */
  int efd;
  ft__watch *efw;
  ft__shm_worker *wargs;
  uint64_t oldest;       /* oldest seq not yet retired */
  uint64_t arena_head;   /* next arena offset (monotonic) */
  uint64_t nslots;       /* the pool's slot ring (a power of two) */
  uint64_t *arena_start; /* per slot: where its chunk began in the arena */
  bool *live;            /* per slot: published and not yet retired */
  ft_buf scratch;
};

static inline ft__ring *ft__shm_ring(const ft__shm *t, int w) {
  return (ft__ring *)(t->rings + (size_t)w * t->ring_stride);
}
static inline char *ft__ring_data(ft__ring *r) { return (char *)(r + 1); }

/* ft_transport_shm_worker.c: the body of a worker process. */
int ft__shm_worker_main(void *arg);

#endif
