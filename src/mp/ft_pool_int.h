/* ft_pool_int.h - the pool's private structures: workers, chunks in
 * flight, results.  How chunks reach the workers and how results and deaths
 * come back is the transport's (ft_transport.h); the pool never touches the
 * channel itself.
 */
#ifndef FT_POOL_INT_H
#define FT_POOL_INT_H

#include "ft_transport.h"

/* ------------------------------------------------------ parent side */

/* Quick deaths in a row (a worker that dies young without finishing a
 * task, or whose launcher never got it started) after which, with no
 * worker alive, the pool fails its work with the cause; and, on a pool
 * across hosts, the launches in a row that failed to start a worker on
 * one host after which that host is given up (ft_transport_tcp.c). */
#define FT__MAX_QUICK_DEATHS 5

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
  uint32_t host;         /* a remote worker: its host, once it said hello (0: local) */
  pid_t rpid;            /* and its pid there (ft_pool_host.c) */
} ft__worker;

/* What the parent knows about a published slot. */
typedef struct ft__chunk {
  uint64_t seq;
  ft_result *res;
  size_t first; /* index of the first item within res */
  uint32_t nitems;
  uint32_t ndone;  /* items whose outcome is known */
  size_t args_off; /* its first item's offset in res->args */
  bool live;       /* published and not yet freed */
  bool started;
  uint64_t t_start;
  int worker;
} ft__chunk;

/* One item's outcome: 24 bytes, since a map may hold millions of them
 * (every byte of them is a fresh page to clear: 32 bytes cost a map of
 * 200,000 items a fourth huge page, 0.2 ms here). */
typedef struct ft__item_out {
  int32_t status, code;
  uint32_t worker : 23; /* its pid: pids are below 2^22 (PID_MAX_LIMIT) */
  uint32_t signal : 9;
  uint32_t len;
  union {
    const char *value; /* len > 8: in the result's blocks */
    char inline_[8];   /* len <= 8: right here */
  } v;
} ft__item_out;
_Static_assert(sizeof(ft__item_out) == 24, "an outcome is 24 bytes");

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
  ft__item_out *items; /* not zeroed: an item is read only once its bit in done is set */
  uint64_t *done;      /* a bit per item: its outcome is in items */
  size_t ndone, nfailed;
  size_t *order; /* completion order (imap_unordered only, else NULL) */
  ft__block *blocks;
  ft_result_cb cb, ecb;
  void *ud;
  bool ready;
  bool in_pending;
  ft_result *next_pending;
  void (*on_item)(const ft_result *r, size_t i, void *ud); /* each outcome, as it comes (streams) */
  void *on_item_ud;
};

/* Whether item i of r has its outcome; record that it has. */
static inline bool ft__item_done(const ft_result *r, size_t i) {
  return r->done[i / 64] >> (i % 64) & 1;
}
static inline void ft__item_set_done(ft_result *r, size_t i) {
  r->done[i / 64] |= 1ull << (i % 64);
}

/* Items to publish again: the unstarted rest of a dead worker's chunk. */
typedef struct ft__retry {
  struct ft__retry *next;
  ft_result *r;
  size_t item, end, off; /* next item to publish, end, its offset in r->args */
} ft__retry;

typedef struct ft__istream ft__istream;

struct ft_iter {
  ft_result *res;  /* the one result of an imap over an array, or NULL ... */
  ft__istream *st; /* ... a streamed imap's batches (ft_pool_stream.c) */
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
  void *ctx;         /* every task function's first argument */
  ft__transport *tr; /* how chunks reach the workers */
  /* parent bookkeeping */
  ft__worker *workers;
  int alive;
  ft__chunk *chunks; /* the slot ring: nslots, indexed by seq & (nslots - 1) */
  size_t nslots;     /* ft__slots_for(nworkers), a power of two */
  uint64_t oldest;   /* oldest seq not yet freed */
  uint64_t next_seq; /* the next chunk's seq */
  ft_result *pending_head, *pending_tail;
  ft__retry *retries;
  uint64_t next_task, next_batch;
  bool closed, terminated, ended;
  bool told_close;      /* the transport was told to close (or terminate) */
  ft__istream *streams; /* streamed imaps not yet freed */
  unsigned nstreams;    /* of them, those still pulling items: close waits for them */
  ft_timer *respawn_timer;
  ft_pool_stats stats;
  /* While a dead worker's items are failed (ft__worker_on_exit): why it
   * is gone when its exit status does not say (the transport's
   * exit_cause), or NULL.  Each item's task_fail and value carry it. */
  const char *cause;
};

/* ft_pool_io.c: publishing, outcomes, failures. */
bool ft__pool_prepare(ft_loop *loop, void *ud);
void ft__pool_fail_running(ft_pool *p, int w, int status, int code, int signo);
/* A remote worker's exit, from its launcher's (ft_pool_host.c); it
 * forgets its remote identity. */
void ft__pool_host_exit(ft_pool *p, ft__worker *wk, const ft__child *c, int code);
void ft__pool_cancel_all(ft_pool *p, int status, int code, int signo);
void ft__pool_cancel_result(ft_pool *p, ft_result *r, int status);
void ft__result_item_done(ft_result *r, size_t i, int status, int code, int signo, pid_t worker,
                          const void *value, size_t len);
bool ft__pool_has_work(const ft_pool *p);
void ft__result_unref(ft_result *r);
/* ft_pool.c: submit n items (copied); stream: the next batch of a streamed
 * imap, taken after close too (the stream was submitted before it). */
int ft__pool_submit(ft_pool *p, uintptr_t fn, const ft_slice *items, size_t n, size_t chunksize,
                    bool unordered, bool stream, ft_result **out);
/* ft_pool_stream.c */
int ft__stream_next(ft_iter *it, double timeout, size_t *index, ft_item *item);
void ft__stream_free(ft__istream *s);
/* The pool stops (terminate) or goes (free, gone): its streams pull no more. */
void ft__pool_streams_stop(ft_pool *p, bool gone);

#endif
