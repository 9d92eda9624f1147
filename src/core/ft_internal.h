/* ft_internal.h - private structures and helpers shared by the engine's files. */
#ifndef FT_INTERNAL_H
#define FT_INTERNAL_H

#include "forktop.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>

#define FT_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define FT_NS_PER_S 1000000000ull
/* Longest captured line; longer ones are cut and flagged truncated. */
#define FT_LINE_MAX 8192
/* How much output is read from a stream at once when its child exits. */
#define FT_DRAIN_MAX (1u << 20)
/* The most arguments an event's argv holds in the JSON stream (more are
 * cut: argv_truncated); ft_json_write.c and ft_json.c. */
#define FT_JSON_MAX_ARGV 4096

/* ------------------------------------------------------------ fd watches */

typedef struct ft__watch ft__watch;
/* Fixed-size blocks in shared memory for the loop's per-child records. */
typedef struct ft__slab ft__slab;
typedef struct ft__hosts ft__hosts;
#define FT__SLAB_BLOCK 320
typedef void (*ft__watch_cb)(ft_loop *loop, ft__watch *w, uint32_t events);

/* An fd in the epoll set.  Watches are allocated by the loop and freed at
 * the end of a loop turn, so a watch closed from a callback is never used
 * after free by a later event of the same epoll batch. */
struct ft__watch {
  int fd;
  uint32_t events;
  ft__watch_cb cb;
  void *data;
  bool closed;
  bool own_fd; /* close fd with the watch; also closed in forked children */
  ft__watch *prev, *next;
};

ft__watch *ft__watch_new(ft_loop *loop, int fd, uint32_t events, ft__watch_cb cb, void *data,
                         bool own_fd);
int ft__watch_modify(ft_loop *loop, ft__watch *w, uint32_t events);
void ft__watch_close(ft_loop *loop, ft__watch *w);

/* --------------------------------------------------------------- children */

typedef struct ft__child ft__child;
typedef void (*ft__exit_cb)(ft__child *c, void *owner);

/* The read side of a captured stdout or stderr. */
typedef struct ft__stream {
  ft__watch *w;
  ft__child *child;
  int stream;      /* 1 or 2 */
  int hold;        /* the child's end of the pipe, kept until it is reaped, or -1 */
  bool discarding; /* the rest of an over-long line is being skipped */
  size_t len;
  char *line; /* FT_LINE_MAX bytes, allocated when a partial line must wait */
} ft__stream;

/* A process forked by the loop.  Owned by the loop: it is freed once it is
 * reaped, its captured streams reached EOF, and its owner released it. */
struct ft__child {
  ft_loop *loop;
  ft__slab *slab; /* where this record lives: it may outlive the loop */
  pid_t pid, ppid;
  char *name; /* namebuf, or the heap for a long one */
  char namebuf[64];
  const char *role;
  int worker;
  int pidfd;
  ft__watch *pidw;
  ft__stream *streams[3]; /* [1] stdout, [2] stderr when captured */
  int pipe_fd[3];         /* parent ends of FT_STDIO_PIPE streams, or -1 */
  uint64_t start_ns, end_ns;
  bool reaped;
  bool released;
  bool dispatching; /* inside its exit dispatch: not freed until it ends */
  bool core;
  int exit_code;   /* valid when reaped and exit_signal == 0 */
  int exit_signal; /* terminating signal or 0 */
  uint64_t sent;   /* signals sent through ft__child_signal, bit n for signal n */
  ft__exit_cb on_exit;
  void *owner;
  /* The owner's buffer (errtail_cap bytes, NUL-terminated) that the first
   * of its captured stderr lines are copied into, joined by "; ", until
   * full (a launcher's own error, said as a cause); NULL: none.  Dropped
   * when the owner lets go. */
  char *errtail;
  size_t errtail_cap;
};

typedef struct ft__spawn_opts {
  const char *name;
  const char *role;
  int worker;
  ft_target_fn target;
  void *arg;
  char *const *argv;
  char *const *envp;
  const char *cwd;
  ft_stdio in, out, err;
  const int *keep_fds; /* loop-owned fds the forked function keeps */
  int nkeep;
  int spare_fd; /* with spare: see below (in the padding: a Process holds these options) */
  ft__exit_cb on_exit;
  void *owner;
  char *errtail; /* see ft__child (err must be captured); NULL: none */
  uint16_t errtail_cap;
  /* Spared by the run's guard when forktop dies: no parent-death signal,
   * and the child writes "0" to spare_fd (ft_guard_outer_procs: the
   * cgroup above the run's; -1: none) before it execs.  Its environment
   * must not carry the guard's tag either (give envp without it). */
  bool spare;
} ft__spawn_opts;

int ft__spawn(ft_loop *loop, const ft__spawn_opts *o, ft__child **out);
/* Fork n forked functions at once; rc[i] is 0 (out[i] set) or child i's error. */
void ft__spawn_batch(ft_loop *loop, const ft__spawn_opts *o, int n, ft__child **out, int *rc);
/* The owner lets go; a live child is killed and reaped later by the loop. */
void ft__child_release(ft__child *c);
/* Python-style exit code: status >= 0 or -signal. */
int ft__child_exitcode(const ft__child *c);
int ft__child_signal(ft__child *c, int signo);
/* Reap every child that has exited and dispatch their exits. */
void ft__loop_reap(ft_loop *loop);
/* Reap exited children until none is left (true), or, with unwatched,
 * until one with a pidfd watch is met (false: left to its watch). */
bool ft__loop_reap_some(ft_loop *loop, bool unwatched);
/* Close the captured streams still open (loop teardown). */
void ft__streams_close_all(ft_loop *loop);
/* Free every child record (loop teardown, after all were reaped). */
void ft__children_free_all(ft_loop *loop);
/* A child's pidfd is readable: it exited; reap it (ft_child_reap.c). */
void ft__on_pidfd(ft_loop *loop, ft__watch *w, uint32_t events);
/* Room for one more element in an array of n, doubling; 0 or -ENOMEM. */
int ft__grow(void **arr, size_t *cap, size_t n, size_t size);
/* The fds a forked function's child closes, sorted.  It lives on the
 * forking caller's stack: each child reads its own copy of the list as it
 * was at its fork, whatever the parent forks next. */
typedef struct ft__fdlist {
  int *fds; /* inline, or the heap for a long list */
  size_t n, cap;
  int inline_fds[64];
} ft__fdlist;
/* Before forking a function: list the loop's fds its child must close
 * (all but keep[], and also[]).  0 or -ENOMEM; ft__fdlist_free after. */
int ft__loop_child_fds(ft_loop *loop, const int *keep, int nkeep, const int *also, int nalso,
                       ft__fdlist *l);
void ft__fdlist_free(ft__fdlist *l);
/* Emit a last partial line, stop watching, free (ft_stream.c). */
void ft__stream_close(ft__stream *s);
/* A captured stream of c on fd, the parent's end, watched. */
ft__stream *ft__stream_new(ft__child *c, int stream, int fd);
int ft__stream_adopt(ft__child *c, int stream, int rfd, int wfd);
/* Receive the late pipes of a batch's children (ft__spawn_batch): got[i]
 * is {-2} until child i's message came. */
void ft__late_take(int sock, int (*got)[4], int n, int *have, int want, bool wait);
/* The fds this process may still open: the limit less those open now
 * (*open, counted in /proc/self/fd). */
long ft__fd_room(long *open);
/* Read what is there (at most limit bytes); true at EOF or error. */
bool ft__stream_read(ft__stream *s, size_t limit);
/* Free c if it is reaped, released and its streams are closed. */
void ft__child_maybe_free(ft__child *c);

/* pid -> child table */
int ft__ptab_put(ft_loop *loop, ft__child *c);
ft__child *ft__ptab_get(const ft_loop *loop, pid_t pid);
void ft__ptab_del(ft_loop *loop, pid_t pid);

/* Take ownership of the parent end of a process's FT_STDIO_PIPE stream. */
int ft__process_take_fd(ft_process *p, int stream);
ft_loop *ft__process_loop(const ft_process *p);

/* -------------------------------------------------------------- the loop */

typedef struct ft__hook {
  ft_event_cb fn;
  void *ud;
} ft__hook;

typedef struct ft__sleep_fn {
  void (*fn)(ft_loop *, void *);
  void *ud;
} ft__sleep_fn;

/* An engine-internal prepare step run each turn before sleeping; returns true
 * when it has more to do right away (the loop then does not sleep). */
typedef struct ft__prepare {
  bool (*fn)(ft_loop *, void *);
  void *ud;
} ft__prepare;

typedef struct ft__sig {
  void (*fn)(int, void *);
  void *ud;
} ft__sig;

struct ft_timer {
  ft_loop *loop;
  uint64_t deadline, repeat;
  void (*fn)(ft_timer *, void *);
  void *ud;
  int heap_index; /* -1 when not armed */
};

/* Buffers for what a turn reads, in shared memory rather than on the
 * stack: writing there after a fork costs no fault (ft__shared_alloc).
 * Each has one user, and turns do not nest. */
#define FT__NEVS 64
typedef struct ft__scratch {
  struct epoll_event evs[FT__NEVS];
  struct signalfd_siginfo si[16];
  char status[4096];    /* /proc/self/status, read before each fork */
  siginfo_t peek, done; /* ft__loop_reap's waitid */
  char comm[64];        /* an orphan's name */
  char rbuf[65536];     /* children's captured output */
} ft__scratch;

/* Who reports a reaped orphan (a descendant the kernel handed to us, the
 * subreaper): returns true when it did, or when that exit was said already
 * (ft_watch.c); false leaves it to the loop.  comm is its name, read
 * before the reap. */
typedef bool (*ft__orphan_fn)(ft_loop *loop, const siginfo_t *si, const char *comm, void *ud);
/* Called before each child (the loop's own or an orphan) is reaped, while
 * it is still a zombie whose /proc entry can be read (ft_watch.c reads
 * what the kernel queued about it first: its fork, execs and exit). */
typedef void (*ft__prereap_fn)(ft_loop *loop, void *ud);

typedef struct ft__sampler {
  void (*fn)(ft_loop *loop, void *ud);
  void (*detach)(void *ud); /* the loop is going: forget it (may be NULL) */
  void *ud;
} ft__sampler;

struct ft_loop {
  pid_t pid;
  int epfd;
  int devnull; /* /dev/null for children's stdin, opened once */
  int sigfd;
  ft__watch *sigw;
  sigset_t sigmask, oldmask;
  int prev_subreaper;
  int hold_below; /* fds from here up are not held (ft__spawn_finish) */
  bool stop;
  bool disowned; /* ft_loop_free leaves live children alone */
  /* the guard's pipes, which forked functions close (ft_guard_bind) */
  int guard_fds[2];
  int depth; /* > 0 while callbacks of a turn run */
  uint64_t t0;
  ft__watch *watches; /* live watches */
  ft__watch *closed;  /* watches to free at the end of the turn */
  ft__hook *hooks;
  size_t nhooks, caphooks;
  ft__sleep_fn *sleepers;
  size_t nsleepers;
  ft__prepare *prepares;
  size_t nprepares;
  ft__sig sigs[65];
  ft_timer **heap;
  size_t nheap, capheap;
  /* pid table (open addressing) */
  ft__child **ptab;
  size_t ptab_cap, ptab_len;
  int live_children;
  /* what is sampled into events every sample_ns (queues' counters) */
  ft__sampler *samplers;
  size_t nsamplers;
  ft_timer *sample_timer;
  ft_timer *reap_timer; /* the deferred scan for exits (ft__loop_reap_soon) */
  bool reap_pending;
  uint64_t sample_ns;
  ft__scratch *scratch;
  ft__slab *slab;          /* watches, children, streams, processes */
  ft__orphan_fn orphan_fn; /* NULL: the loop reports orphans itself */
  void *orphan_ud;
  ft__prereap_fn prereap_fn; /* NULL: nothing to do before a reap (ud: orphan_ud) */
  int pdeath_signal;         /* what children get when this process dies (0: nothing) */
  ft__hosts *hosts;          /* remote hosts met so far (ft_host.c), NULL before the first */
  /* The argv area a forked function's child retitles (ft__title_area):
   * looked up at the first such fork; title_cap 0 when there is none. */
  bool title_known;
  char *title_at;
  size_t title_cap;
  char title_prog[32]; /* the program's name, the title's first word */
};

/* Turn the loop until done(ud) or the deadline (ns on CLOCK_MONOTONIC, 0 = never). */
int ft__loop_run_until(ft_loop *loop, bool (*done)(void *), void *ud, uint64_t deadline);
/* Deadline for a timeout in seconds (negative: 0, never). */
uint64_t ft__deadline(double timeout);
/* This process's pid. */
pid_t ft__getpid(void);
/* 0 if the loop can run blocking calls here, FT_EBUSY / FT_EFORKED if not. */
int ft__loop_check(const ft_loop *loop);
int ft__loop_add_prepare(ft_loop *loop, bool (*fn)(ft_loop *, void *), void *ud);
void ft__loop_remove_prepare(ft_loop *loop, bool (*fn)(ft_loop *, void *), void *ud);
/* Call fn(loop, ud) at every sample interval until removed (a queue emits
 * its counters so); the loop knows nothing of what is sampled.  If the loop
 * is freed first, detach(ud) is called, so ud drops its loop pointer. */
int ft__loop_add_sampler(ft_loop *loop, void (*fn)(ft_loop *, void *), void (*detach)(void *),
                         void *ud);
/* Stop sampling ud (no call is made after this returns). */
void ft__loop_remove_sampler(ft_loop *loop, void *ud);
/* Run every timer whose deadline has passed (ft_loop_timer.c). */
void ft__timers_run(ft_loop *loop);

/* Fill in time, host and defaults, and hand ev to every hook. */
void ft__emit(ft_loop *loop, ft_event *ev);

/* ----------------------------------------------------------------- hosts */

/* What a launcher says of a host it reaches (see ft_host.c). */
typedef struct ft__host_info {
  const char *name;     /* "node2", or the address for a TCP pool */
  const char *address;  /* where it is reached from ("10.0.0.2"), or NULL */
  const char *launcher; /* "tcp", "slurm" */
  const char *job;      /* the launcher's job id, or NULL */
  bool lost;            /* ft__host_join: a host first met lost (given up before any */
  const char *cause;    /* of its workers reached us), and why; else up */
} ft__host_info;
/* Signal remote pid of host through one launcher: 0, -ESRCH (not mine),
 * -ENOTSUP (it cannot), or another -errno. */
typedef int (*ft__host_signal_cb)(ft_loop *loop, uint32_t host, pid_t pid, int signo, void *ud);
/* The host's number (1, 2, ...), announced by a `host` event the first
 * time (state up, or lost with info->cause when info->lost). */
int ft__host_join(ft_loop *loop, const ft__host_info *info, uint32_t *id);
/* A `host` event when host id goes up or lost (cause: why; info NULL:
 * the name and launcher it joined with). */
void ft__host_set_state(ft_loop *loop, uint32_t id, const ft__host_info *info, bool lost,
                        const char *cause);
/* Let fn signal host id's processes (ft_loop_signal_host). */
int ft__host_on_signal(ft_loop *loop, uint32_t id, ft__host_signal_cb fn, void *ud);
/* Drop every signal hook registered with ud. */
void ft__host_forget(ft_loop *loop, const void *ud);
void ft__hosts_free(ft_loop *loop);

/* ------------------------------------------------------------------ misc */

void *ft__xalloc(size_t n);        /* zeroed; NULL on failure */
#define FT__BIG_ALLOC (128u << 10) /* ft__xalloc: calloc from here up */
void *ft__xalloc_nofork(size_t n); /* zeroed, not copied by fork; NULL on failure */
/* pid -> index, open addressing (ft_util.c): a lookup costs the same at
 * 10 processes and at 10,000. */
typedef struct ft__pidx_slot {
  pid_t pid; /* 0: empty */
  int32_t idx;
} ft__pidx_slot;
typedef struct ft__pidx {
  ft__pidx_slot *t;
  size_t cap, n;
} ft__pidx;
int ft__pidx_put(ft__pidx *x, pid_t pid, int32_t idx);
int32_t ft__pidx_get(const ft__pidx *x, pid_t pid);
void ft__pidx_del(ft__pidx *x, pid_t pid);
void ft__pidx_free(ft__pidx *x);
void ft__xfree_nofork(void *p, size_t n);
void *ft__big_alloc(size_t n); /* zeroed; huge pages when large */
void ft__big_free(void *p, size_t n);
/* The same, not zeroed: a buffer freed with ft__big_free_dirty may come
 * back (kept, not forked, in between). */
void *ft__big_alloc_dirty(size_t n);
void ft__big_free_dirty(void *p, size_t n);
void *ft__shared_alloc(size_t n); /* zeroed, MAP_SHARED: see ft_util.c */
void ft__shared_free(void *p, size_t n);
/* Zeroed FT__SLAB_BLOCK-byte records in shared memory (see ft_util.c):
 * the slab is unmapped once released and its last block freed.  Only the
 * process that made it (ft__slab_owned) may allocate or free. */
ft__slab *ft__slab_new(void);
bool ft__slab_owned(const ft__slab *s);
void *ft__slab_alloc(ft__slab *s);
void ft__slab_free(ft__slab *s, void *p);
void ft__slab_release(ft__slab *s);
/* A copy of s in buf[cap] when it fits, else strdup'ed (NULL if that
 * fails); ft__name_free frees the latter only. */
char *ft__name_dup(const char *s, char *buf, size_t cap);
void ft__name_free(char *name, const char *buf);
char *ft__strdup(const char *s);
void ft__set_cloexec_nonblock(int fd, bool nonblock);
int ft__pidfd_open(pid_t pid);
int ft__pidfd_signal(int pidfd, int signo);
/* Read /proc/PID/NAME (PID 0: /proc/self/NAME) into buf[cap] (cap > 0), at most
 * cap - 1 bytes, NUL-terminated, *len of them.  0 when all of it was read,
 * -EFBIG when it is longer (buf holds its start), -errno when it cannot
 * be opened (buf empty) or a read fails (buf holds what came before). */
int ft__read_proc_file(pid_t pid, const char *name, char *buf, size_t cap, size_t *len);
/* The same, all of it, into *buf (*cap bytes, malloc'ed, reused between
 * calls), grown by doubling from 64 KiB up to max bytes; no NUL added.
 * -EFBIG (past max) or -ENOMEM: *buf holds its first *len bytes. */
int ft__read_proc_grow(pid_t pid, const char *name, char **buf, size_t *cap, size_t max,
                       size_t *len);
/* Read /proc/PID/comm into buf (empty string on failure). */
void ft__read_comm(pid_t pid, char *buf, size_t cap);
/* Find this process's argv area (/proc/self/stat's arg_start and arg_end)
 * and its program's name for the titles of forked functions' children. */
void ft__title_area(ft_loop *loop);
/* The most bytes and arguments of a command line ft__read_argv keeps. */
#define FT__ARGV_BYTES 4096
#define FT__ARGV_MAX 256
/* Read /proc/PID/cmdline into buf (FT__ARGV_BYTES) and split it into vec
 * (FT__ARGV_MAX + 1 entries, NULL-terminated); *cut says more was left.
 * Returns vec, or NULL when there is none (gone, a zombie, a kernel thread). */
const char *const *ft__read_argv(pid_t pid, char *buf, const char **vec, bool *cut);
/* Sleep on a shared futex word while it still holds val (deadline 0: forever). */
int ft__futex_wait(_Atomic uint32_t *addr, uint32_t val, uint64_t deadline);
void ft__futex_wake(_Atomic uint32_t *addr, int n);

#endif
