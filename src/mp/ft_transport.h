/* ft_transport.h - how a pool reaches its workers: the worker transport.
 *
 * The pool (ft_pool.c, ft_pool_io.c) schedules work, keeps every item's
 * outcome, runs callbacks, emits task events and supervises its workers
 * (replacement, backoff, maxtasksperchild).  It never touches the channel
 * to a worker: it goes through the ops below, and the transport calls the
 * pool back (ft__pool_on_start, ft__pool_on_results) with what came in.
 * Every op is called in the parent, on the loop's thread; the worker's
 * side is the transport's own.  Shared memory (ft_transport_shm.c, its
 * worker in ft_transport_shm_worker.c) is the first transport; TCP
 * (ft_transport_tcp*.c: workers as separate processes that connect back,
 * functions by registered name) the second.
 *
 * Chunks.  The pool numbers every chunk it hands out with a sequence
 * number `seq` (0, 1, 2, ... per pool, never reused), and keeps at most
 * p->nslots chunks in flight (published and not yet retired).  A chunk is
 * a run of items of one result, all with one function; the pool offers
 * `n` items and the transport takes as many as fit (at least one unless
 * it has no room now).  Items travel in wire form (below); the function
 * travels as an address, and the pool's ctx is read from the worker's
 * forked copy of the pool (a forked worker shares the parent's image; a
 * remote one needs functions registered by name, issue 16).
 *
 * Results.  A worker's results come back as records naming the chunk's
 * seq: a START (the worker began the chunk, at time t) and RESULT batches
 * (ft__rec + count x [ft__rec_item, value padded to 8]), items in order.
 * The transport hands them to the pool, from the loop thread, in `collect`
 * (once a loop turn) and `worker_exited`; records for a seq the pool no
 * longer knows (a pool being freed let go of it) are ignored by the pool.
 *
 * Deaths.  A worker is a local child process of the loop (ft__child), and
 * its death is reported in one way only: the exit of that process.  The
 * pool then calls, in this order, `worker_exited` (hand over every result
 * the worker committed; say whether it left on purpose after
 * maxtasksperchild), `held` for every chunk in flight (which chunks the
 * worker owned, and the first item of each it had surely not started),
 * and `worker_clear`.  The item the worker was in fails with its exit
 * code or signal; items it finished whose results never arrived fail with
 * it; the items after it go back to the front of the line for the others.
 * Ownership must be exact (recorded by the transport when the worker takes
 * a chunk, never inferred later), so a death fails exactly what was lost.
 * The status the items fail with is the local process's exit status, as
 * the transport reads it (`exit_code`: srun exits 128+N for signal N),
 * unless the transport knows better why the worker is gone (`exit_cause`:
 * its host was lost, its launcher could not start it): the items then
 * fail with that cause in words too (and with no code or signal when the
 * launcher was killed by the transport: that signal is ours, not the
 * worker's; exit_code says 0).
 *
 * Terminate.  The pool first tells the transport (`terminate`: no chunk is
 * sent to a worker any more; shared-memory workers, which claim chunks
 * themselves, may still claim one until it is canceled), then takes every
 * record already written
 * (`collect`), then `cancel`s each chunk in flight.  Only a chunk no worker
 * has taken is canceled (its items fail as never run, worker -1): cancel
 * takes it back atomically against a worker taking it at that very moment
 * (shared memory: a compare-and-swap QUEUED -> FREE of the slot's state
 * word, which a claiming worker races with its own QUEUED -> RUNNING).  A
 * chunk some worker holds stays in flight until that worker's death, as
 * for any death: the item it was in fails (FT_ECANCELED) under it, so a
 * task that began is never counted as not run, and the items after it fail
 * as never run.
 *
 * What a socket transport (workers on other hosts, started by srun) must
 * implement, op by op:
 *  - worker_start: make the local process the pool supervises the remote
 *    worker's launcher (a forked function that execs `srun ... forktop
 *    worker`), with the fds it keeps; the worker connects back and proves
 *    itself (token) before it is given work.
 *  - publish / kick: queue the chunk (frame it: seq, function by
 *    registered name, items in wire form) and send it to a worker that has
 *    room, recording which worker it went to; `kick` ends a batch (flush).
 *    Copy what is taken before returning (map lends the caller's items).
 *    Refuse (FT_E2BIG) an item larger than a frame may be.
 *  - retire: forget the chunk (its frames, its owner); has_queued: a
 *    chunk not yet sent to any worker (it decides whether a dead worker
 *    is replaced after close).
 *  - cancel: a chunk not yet sent is never sent (true); one sent to a
 *    worker is its until its death (false), started or not.
 *  - collect: read the connections (from the transport's own fd watches),
 *    length-check every frame, and hand START and RESULT records to the
 *    pool; frames from a worker or seq that is not current are refused.
 *  - held: a chunk sent to worker w that it never started (pipelining)
 *    is held with *from = 0: all of it runs elsewhere, nothing fails.  A
 *    chunk it started is held with *from = the item after the last one
 *    it reported as begun (a progress frame, or the results so far).
 *  - worker_exited: drain what the connection still holds, then close it;
 *    say whether the worker announced it was leaving (maxtasksperchild).
 *  - A death learnt otherwise (the link lost, no heartbeat, the host
 *    gone) is made into the exit of the local process: the transport ends
 *    the srun step (scancel / SIGKILL to srun), and the pool hears of it
 *    through that exit like any other death.  Late frames from that worker
 *    are refused (its connection is closed in worker_exited).
 *  - close: tell every worker no more work comes (they leave once idle);
 *    terminate: send no more chunks, tell them to stop now (the pool also
 *    signals the local processes); free: close the listener and
 *    connections.
 *  - arm: nothing to arm when results arrive on fds the loop polls (return
 *    false); shared memory needs it because its workers write no fd.
 */
#ifndef FT_TRANSPORT_H
#define FT_TRANSPORT_H

#include "ft_internal.h"

/* Chunks in flight of a pool of n workers (its slot ring): a power of two
 * at least 1024 and at least twice the workers, so every worker can hold a
 * chunk and as many wait published behind them however large the pool (a
 * fixed 1024 ran at most 1024 tasks at once).  Small pools keep 1024. */
#define FT__SLOTS_MIN 1024u
static inline size_t ft__slots_for(int n) {
  size_t want = 2 * (size_t)(n > 0 ? n : 1), s = FT__SLOTS_MIN;
  while (s < want)
    s *= 2;
  return s;
}
/* Workers of one pool at most: a worker's number fits the shared-memory
 * slot's state word (22 bits), more than the kernel's pid_max can ever be
 * (2^22), so no pool is refused for its size alone: the process, open-file
 * and memory limits bind first, and a pool says which one when they do. */
#define FT__MAX_WORKERS ((1 << 22) - 1)

/* What a chunk's function is. */
enum { FT__KIND_TASK = 0, FT__KIND_STAR = 1 };

/* ----------------------------------------------------- argument wire form
 * An item is [u32 len][u32 pad][len bytes][zeros to a multiple of 8]; a
 * starmap item's bytes are [u32 argc][u32 pad] and argc such items. */

#define FT__ALIGN8(n) (((n) + 7u) & ~(size_t)7u)

/* Bytes of the item in wire form at p. */
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

/* -------------------------------------------------------- result records */

/* Records from a worker; every record is a multiple of 8 bytes.  A
 * PACKED record is a RESULT without per-item times, for when nobody
 * listens for task events: count x [ft__rec_packed, value padded to 8],
 * 16 bytes an item for an 8-byte value instead of 40, and the record's
 * `t` the end of its last item (shared memory only). */
enum { FT__REC_START = 1, FT__REC_RESULT = 2, FT__REC_PACKED = 3 };

typedef struct ft__rec {
  uint32_t len; /* whole record, header included */
  uint32_t type;
  uint64_t seq;   /* the chunk's sequence number */
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

/* A PACKED record's item: len FT__PACKED_E2BIG is a result too big for
 * the ring (no value follows); a non-zero code is a failed task. */
typedef struct ft__rec_packed {
  uint32_t len;
  int32_t code;
} ft__rec_packed;
#define FT__PACKED_E2BIG UINT32_MAX

/* ------------------------------------------------------------- the ops */

typedef struct ft__transport ft__transport;

/* A chunk the pool offers: items [0, n) of one result, starting at seq. */
typedef struct ft__chunk_args {
  uint64_t seq;
  uintptr_t fn;
  uint32_t kind;       /* FT__KIND_TASK or FT__KIND_STAR */
  size_t n;            /* items offered */
  const char *wire;    /* the items back to back in wire form ... */
  const ft_slice *src; /* ... or the caller's items, put in wire form on the way */
  size_t whole;        /* bytes of all n items in wire form if known, else 0 */
} ft__chunk_args;

typedef struct ft__transport_ops {
  const char *name;
  /* Fill in what worker w's local process runs (target, arg, fds kept). */
  void (*worker_start)(ft__transport *t, int w, ft__spawn_opts *so);
  /* Worker w's process exited: hand the pool what it committed; true if
   * it left on purpose (maxtasksperchild). */
  bool (*worker_exited)(ft__transport *t, int w);
  /* Whether the dead worker w held chunk seq.  *from comes in as the
   * number of its items the pool has outcomes for, and leaves as the
   * first item w had surely not started. */
  bool (*held)(ft__transport *t, int w, uint64_t seq, uint32_t *from);
  /* Forget worker w's channel, once its chunks were dealt with. */
  void (*worker_clear)(ft__transport *t, int w);
  /* Publish items of c: 0 with *taken (>= 1) and *bytes (their wire
   * size); -EAGAIN when there is no room now (the pool tries next turn);
   * FT_E2BIG when the first item can never fit (*bytes its wire size).
   * What is taken is copied before this returns: c's buffers may go. */
  int (*publish)(ft__transport *t, const ft__chunk_args *c, uint32_t *taken, size_t *bytes);
  /* End of a batch of n published chunks: wake the workers. */
  void (*kick)(ft__transport *t, uint64_t n);
  /* The pool is done with chunk seq: every outcome is known (its worker
   * reported them all, or died and `held` said what it held). */
  void (*retire)(ft__transport *t, uint64_t seq);
  /* After terminate: take chunk seq back if no worker has taken it; true
   * when it was (no worker can take it now; the pool retires it next),
   * false when a worker
   * holds it (claimed, sent, running): it then stays until that worker's
   * death reports it through `held`.  Exact against a worker taking the
   * chunk at the same moment: exactly one of the two wins. */
  bool (*cancel)(ft__transport *t, uint64_t seq);
  /* A published chunk that no worker has taken yet. */
  bool (*has_queued)(const ft__transport *t);
  /* Once a loop turn: hand the pool every record that came in; true if
   * any did.  timed: someone listens for task events (time every item). */
  bool (*collect)(ft__transport *t, bool timed);
  /* Before the loop sleeps with chunks in flight: make sure a record
   * wakes it.  True when one came meanwhile (then do not sleep). */
  bool (*arm)(ft__transport *t);
  /* No more work will be published: workers leave once none is left. */
  void (*close)(ft__transport *t);
  /* Stop now: no chunk is sent to a worker any more (what a worker took
   * is its own until its death; a worker that claims chunks itself may
   * still claim one until cancel takes it back). */
  void (*terminate)(ft__transport *t);
  void (*free)(ft__transport *t);
  /* Optional: whether fn (of kind) can be sent; a negative code refuses
   * the submission (a remote transport needs functions registered by name). */
  int (*check_fn)(ft__transport *t, uintptr_t fn, uint32_t kind);
  /* Optional: signal remote worker w (the dashboard's k; ft_pool_host.c).
   * Without it, its launcher, the local process, is signalled.  TCP: a
   * worker in a Slurm step through scancel --signal, else its launcher
   * (a TCP worker is its launcher exec'd). */
  int (*signal_worker)(ft__transport *t, int w, int signo);
  /* Optional: worker w's exit code (>= 0, or -signal) as its process's
   * exit code reads it (a launcher's 128+N is the worker's signal N). */
  int (*exit_code)(ft__transport *t, int w, int code);
  /* Optional: why worker w is gone, in words, when its process's exit
   * does not say it (its host lost; its launcher's own error), or NULL.
   * Valid until w is started again. */
  const char *(*exit_cause)(ft__transport *t, int w);
  /* Optional: whether worker w's process (a launcher) exited without the
   * worker ever starting (it never said hello): a start-up failure for
   * the pool's backoff, however long the launcher took. */
  bool (*never_started)(ft__transport *t, int w);
} ft__transport_ops;

struct ft__transport {
  const ft__transport_ops *ops;
  ft_pool *pool;
};

/* Make a transport for pool p of n workers (opts as given to the pool;
 * cfg the transport's own, as given to ft__pool_new). */
typedef int (*ft__transport_new_fn)(ft_pool *p, int n, const ft_pool_opts *opts, const void *cfg,
                                    ft__transport **out);
/* The shared-memory transport (ft_pool_new's). */
int ft__transport_shm_new(ft_pool *p, int n, const ft_pool_opts *opts, const void *cfg,
                          ft__transport **out);
/* The TCP transport (ft_pool_new_tcp's; cfg is an ft_pool_tcp). */
int ft__transport_tcp_new(ft_pool *p, int n, const ft_pool_opts *opts, const void *cfg,
                          ft__transport **out);
/* A pool whose workers are reached through the transport make makes. */
int ft__pool_new(ft_loop *loop, const ft_pool_opts *opts, ft__transport_new_fn make,
                 const void *cfg, ft_pool **out);

/* Called by transports: worker w said hello over connection fd: it is
 * process rpid on the host at the connection's other end (named node
 * when the launcher placed it there, srun -w NODE; else by its address).
 * The pool announces the host (a `host` event, the first
 * time), the worker there (a `spawn` with host, launcher_pid and its
 * launcher's step, "JOB.STEP" or NULL), and signals it through the
 * transport's signal_worker, or its launcher, from then on (ft_pool_host.c). */
void ft__pool_on_hello(ft_pool *p, int w, pid_t rpid, int fd, const char *node, const char *step);
/* The same with the host said outright (a launcher that knows the node's
 * name), and the launcher's step id for the worker (NULL: none). */
void ft__pool_on_remote(ft_pool *p, int w, pid_t rpid, const ft__host_info *info, const char *step);
/* Called by transports: host node (the launcher's name for it, srun -w
 * NODE; job: its Slurm job, or NULL) is lost for cause: a `host` event
 * saying so, which announces the host if none of its workers ever said
 * hello (it was never up). */
void ft__pool_host_lost(ft_pool *p, const char *node, const char *job, const char *cause);
/* Called by transports: worker w began chunk seq at t. */
void ft__pool_on_start(ft_pool *p, int w, uint64_t seq, uint64_t t);
/* Called by transports: worker w's outcomes of count items of chunk seq,
 * from its item first: count x [ft__rec_item, value padded to 8] at body. */
void ft__pool_on_results(ft_pool *p, int w, uint64_t seq, uint32_t first, uint32_t count,
                         const char *body);
/* The same from a PACKED record: count x [ft__rec_packed, value padded
 * to 8] at body, the last of them ending at t. */
void ft__pool_on_packed(ft_pool *p, int w, uint64_t seq, uint32_t first, uint32_t count, uint64_t t,
                        const char *body);

#endif
