/* ft_pool_int.h - the pool's shared-memory layout and private structures.
 *
 * One anonymous shared mapping per pool, made before the workers fork:
 *
 *   [header][slots x FT__SLOTS][argument arena][result ring per worker]
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
#ifndef FT_POOL_INT_H
#define FT_POOL_INT_H

#include "ft_internal.h"

#define FT__SLOTS 1024u /* chunks in flight at most; a power of two */
#define FT__MAX_WORKERS 4096
#define FT__CACHELINE 64
#ifndef FT__ARENA_WIN
#define FT__ARENA_WIN (128u << 10) /* the arena window chunks start in */
#endif
#ifndef FT__RING_WIN
#define FT__RING_WIN (64u << 10) /* the result ring window records start in */
#endif

/* slot state word: seq << 16 | worker << 2 | tag */
enum { FT__SLOT_FREE = 0, FT__SLOT_QUEUED = 1, FT__SLOT_RUNNING = 2 };
#define FT__STATE(seq, w, tag) (((uint64_t)(seq) << 16) | ((uint64_t)(w) << 2) | (uint64_t)(tag))
#define FT__STATE_SEQ(s) ((s) >> 16)
#define FT__STATE_WORKER(s) ((int)(((s) >> 2) & 0x3fff))
#define FT__STATE_TAG(s) ((int)((s)&3))

/* What a slot's function is. */
enum { FT__KIND_TASK = 0, FT__KIND_STAR = 1 };

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
  _Atomic uint64_t head;     /* bytes committed by the worker */
  _Atomic uint32_t recycled; /* the worker left after maxtasksperchild */
  _Atomic uint32_t progress; /* items of progress_seq's chunk finished */
  _Atomic uint64_t progress_seq;
  _Atomic uint64_t wrap; /* the window of the ring in use (see ft__ring_grow) */
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
  ft__slot slots[FT__SLOTS];
} ft__pool_shm;

/* Records in a result ring; every record is a multiple of 8 bytes. */
enum { FT__REC_START = 1, FT__REC_RESULT = 2 };

typedef struct ft__rec {
  uint32_t len; /* whole record, header included */
  uint32_t type;
  uint64_t seq;   /* the slot's sequence number */
  uint64_t t;     /* START: when the chunk began */
  uint32_t first; /* RESULT: index of the first item within the chunk */
  uint32_t count; /* RESULT: items in this record */
} ft__rec;

typedef struct ft__rec_item {
  int32_t status; /* 0, FT_ETASK, FT_E2BIG */
  int32_t code;   /* the task's return code */
  uint64_t t_start, t_end;
  uint32_t len; /* value bytes following, padded to 8 */
  uint32_t pad_;
} ft__rec_item;

#define FT__ALIGN8(n) (((n) + 7u) & ~(size_t)7u)

/* Bytes of the item in wire form at p: [u32 len][u32 pad][len bytes][pad to 8]. */
static inline size_t ft__wire_size(const char *p) {
  uint32_t len;
  memcpy(&len, p, sizeof len);
  return 8 + FT__ALIGN8(len);
}

/* Bytes in wire form of a slice of len bytes. */
static inline size_t ft__wire_len(size_t len) { return 8 + FT__ALIGN8(len); }

/* Write a slice in wire form at d; returns the bytes written. */
static inline size_t ft__wire_write(char *d, const void *data, size_t len) {
  uint32_t h[2] = {(uint32_t)len, 0};
  uint64_t zero = 0;
  size_t padded = FT__ALIGN8(len);
  memcpy(d, h, sizeof h);
  if (padded != len) /* zero the last word first: the value covers all but the padding */
    memcpy(d + padded, &zero, sizeof zero);
  if (len == 8) /* the common case, without a call */
    memcpy(d + 8, data, 8);
  else if (len)
    memcpy(d + 8, data, len);
  return 8 + padded;
}

/* ------------------------------------------------------ parent side */

typedef enum ft__worker_state {
  FT__W_EMPTY = 0, /* no process in this slot (waiting for a respawn) */
  FT__W_ALIVE,
  FT__W_GONE /* exited and not to be replaced */
} ft__worker_state;

typedef struct ft__worker {
  ft_pool *pool;
  int idx;
  ft__worker_state state;
  ft__child *child;
  pid_t pid;
  pid_t old_pid; /* the pid it replaces, for the event */
  ft_replace_reason reason;
  uint64_t started_ns;
  uint64_t respawn_at;   /* EMPTY: when to try again */
  unsigned quick_deaths; /* deaths in a row before doing anything: backoff */
  unsigned tasks;        /* chunks this process finished */
  unsigned records;      /* records received from this process */
  bool spawn_failed;     /* the last fork for this slot failed (and was reported) */
} ft__worker;

/* What the parent knows about a published slot. */
typedef struct ft__chunk {
  uint64_t seq;
  ft_result *res;
  size_t first; /* index of the first item within res */
  uint32_t nitems;
  uint32_t ndone;  /* items whose outcome is known */
  size_t args_off; /* its first item's offset in res->args */
  uint64_t arena_start, arena_end;
  bool live; /* published and not yet freed */
  bool started;
  uint64_t t_start;
  int worker;
} ft__chunk;

/* One item's outcome: 24 bytes, since a map may hold millions of them. */
typedef struct ft__item_out {
  int32_t status, code;
  pid_t worker;
  uint16_t signal;
  bool done;
  uint32_t len;
  union {
    const char *value; /* len > 8: in the result's blocks */
    char inline_[8];   /* len <= 8: right here */
  } v;
} ft__item_out;

/* Memory for result values: blocks that never move, so an ft_item handed
 * out stays valid while later results arrive. */
typedef struct ft__block {
  struct ft__block *next;
  size_t used, cap;
  char data[];
} ft__block;

struct ft_result {
  ft_pool *pool;
  int refs; /* the caller's and, while unfinished, the pool's */
  uint64_t batch;
  uint64_t task0; /* pool-wide number of item 0 */
  uintptr_t fn;
  uint32_t kind;
  size_t n, chunksize;
  size_t next_pub;     /* next item to publish */
  size_t pub_off;      /* its offset in args */
  char *args;          /* items in wire form, back to back ... */
  const ft_slice *src; /* ... or the caller's own items (map, which waits for them) */
  size_t args_len;
  size_t *chunk_off; /* nchunks + 1 offsets in args where chunks begin */
  size_t nchunks;
  ft__item_out *items;
  size_t ndone, nfailed;
  size_t *order; /* completion order (imap_unordered only, else NULL) */
  ft__block *blocks;
  ft_result_cb cb, ecb;
  void *ud;
  bool ready;
  bool in_pending;
  ft_result *next_pending;
};

/* Items to publish again: the unstarted rest of a dead worker's chunk. */
typedef struct ft__retry {
  struct ft__retry *next;
  ft_result *r;
  size_t item, end, off; /* next item to publish, end, its offset in r->args */
} ft__retry;

struct ft_iter {
  ft_result *res;
  bool ordered;
  size_t pos;
};

struct ft_pool {
  ft_loop *loop;
  char *name;
  int nworkers;
  unsigned maxtasks;
  ft_stdio out, err;
  int (*initializer)(void *);
  void *initarg;
  /* shared memory */
  void *map;
  size_t map_len;
  ft__pool_shm *shm;
  char *arena;
  size_t arena_cap; /* the whole arena: the largest item's arguments */
  size_t arena_win; /* the part in use: chunks go round in it (see ft__pool_publish) */
  char *rings;
  size_t ring_cap, ring_stride;
  int efd;
  ft__watch *efw;
  /* parent bookkeeping */
  ft__worker *workers;
  int alive;
  ft__chunk chunks[FT__SLOTS];
  uint64_t oldest;     /* oldest seq not yet freed */
  uint64_t arena_head; /* next arena offset (monotonic) */
  ft_result *pending_head, *pending_tail;
  ft__retry *retries;
  uint64_t next_task, next_batch;
  bool closed, terminated, ended;
  ft_timer *respawn_timer;
  ft_buf scratch;
  ft_pool_stats stats;
};

/* ft_pool_io.c: the parent's side of the shared memory. */
bool ft__pool_prepare(ft_loop *loop, void *ud);
bool ft__pool_drain_ring(ft_pool *p, int w);
void ft__pool_fail_running(ft_pool *p, int w, int status, int code, int signo);
void ft__pool_cancel_all(ft_pool *p, int status, int code, int signo);
void ft__pool_cancel_result(ft_pool *p, ft_result *r, int status);
void ft__result_item_done(ft_result *r, size_t i, int status, int code, int signo, pid_t worker,
                          const void *value, size_t len);
bool ft__pool_has_work(const ft_pool *p);
void ft__result_unref(ft_result *r);

/* ft_pool_worker.c: the worker's side. */
int ft__pool_worker_main(void *arg);

static inline ft__ring *ft__pool_ring(const ft_pool *p, int w) {
  return (ft__ring *)(p->rings + (size_t)w * p->ring_stride);
}
static inline char *ft__ring_data(ft__ring *r) { return (char *)(r + 1); }

#endif
