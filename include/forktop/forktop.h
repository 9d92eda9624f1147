/* forktop.h - the public API of the forktop engine.
 *
 * The engine runs multi-process workloads under one single-threaded
 * supervisor loop: processes (a C function or an exec'd argv), pools of
 * forked workers, shared-memory queues and subprocess helpers in the style
 * of Python's multiprocessing and subprocess modules.  It never prints:
 * everything that happens is reported as an ft_event to the hooks installed
 * on the loop.
 *
 * Conventions: every function that can fail returns an int, 0 on success or
 * a negative error code (FT_E* below, or -errno for a failed system call);
 * ft_strerror() and ft_err_name() describe any of them.  Objects are opaque
 * and freed with their _free function; _free(NULL) is a no-op.  Durations
 * given as "timeout" are in seconds; a negative timeout waits forever.
 *
 * Blocking calls (join, get, wait, map, run, ...) turn the loop until what
 * they wait for has happened, so events keep flowing while they wait.  They
 * must not be called from inside a loop callback (FT_EBUSY).  Queue put and
 * get block on the queue itself, without turning the loop.
 *
 * Threads: the engine is not thread-safe.  One loop per process, and the
 * loop and everything made from it are used from the thread that created
 * it.  ft_loop_new blocks SIGCHLD and SIGPIPE in the calling thread only:
 * create the loop before starting other threads (they inherit the mask), or
 * block SIGCHLD in them, else a SIGCHLD taken by another thread is lost and
 * exits of adopted orphans go unseen until the next reap.  No other thread
 * may wait for children: the loop reaps every child of the process.
 *
 * Fork: the loop reaps every child of the process, including ones forked
 * with fork() or popen(), whose own waitpid may then fail with ECHILD.  In a
 * child forked from the loop's process the loop is the parent's:
 * ft_process_new and every call that turns the loop fail with FT_EFORKED,
 * ft_process_free does nothing, and ft_loop_free only closes the child's
 * copies of the loop's fds (call it only in a child of your own fork():
 * Process targets and pool workers start with those fds already closed).
 * Queues made before the fork work in the child.  A child may make a loop
 * of its own.
 *
 * Ownership: what a call needs after it returns is copied (option strings,
 * apply_async's argument, map_async's, starmap's and imap's items, queue
 * items), except where a comment below says otherwise (ft_pool_map's items,
 * ft_process_opts.role, the pool's stdio paths, user data pointers, which
 * are borrowed).  Pointers a call gives back belong to the object they came
 * from and live as long as it (an event's: the hook call; an ft_item's
 * value: its result).  Free pools, queues and Popen objects before their
 * loop.  docs/api.md has every function's errors and ownership.
 */
#ifndef FORKTOP_H
#define FORKTOP_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FT_VERSION "0.1.0"

/* ---------------------------------------------------------------- errors */

/* forktop's error codes.  Where an errno means the same thing the code is
 * that -errno (FT_EINVAL == -EINVAL, as libuv's UV_EINVAL), so a caller may
 * compare with either; codes with no errno counterpart are below -4000.
 * Every other error is returned as -errno. */
#define FT_ERRNO_MAP(XX)                                                                           \
  XX(EINVAL, -EINVAL, "invalid argument")                                                          \
  XX(ESTATE, -4002, "operation not valid in the object's current state")                           \
  XX(ETIMEDOUT, -ETIMEDOUT, "timed out")                                                           \
  XX(EBUSY, -EBUSY, "busy (a blocking call from inside a loop callback?)")                         \
  XX(ENOTREADY, -4005, "result is not ready")                                                      \
  XX(ERUNNING, -4006, "pool is still running (close or terminate it before join)")                 \
  XX(ENOTRUNNING, -4007, "pool is not running (closed or terminated)")                             \
  XX(ETASK, -4008, "a task returned an error")                                                     \
  XX(EWORKER, -4009, "a worker died while running the task")                                       \
  XX(ECANCELED, -ECANCELED, "canceled (a task of a terminated pool?)")                             \
  XX(ECLOSED, -4011, "queue is closed")                                                            \
  XX(EFULL, -4012, "queue is full")                                                                \
  XX(EEMPTY, -4013, "queue is empty")                                                              \
  XX(E2BIG, -E2BIG, "too big (an item, result or argument list past its limit)")                   \
  XX(EFAILED, -4015, "child exited with a non-zero status")                                        \
  XX(EFORKED, -4016, "the loop belongs to the parent process")                                     \
  XX(EOF, -4017, "no more items")                                                                  \
  XX(ENOTEXITED, -4018, "process has not exited")                                                  \
  XX(ENOTREG, -4019,                                                                               \
     "task function not registered by name (ft_task_register): a remote pool needs it")

typedef enum ft_errno {
#define FT_ERR_ENUM_(name, value, msg) FT_##name = value,
  FT_ERRNO_MAP(FT_ERR_ENUM_)
#undef FT_ERR_ENUM_
} ft_errno;

/* Human-readable message for any error code (forktop's or -errno). */
const char *ft_strerror(int err);
/* Symbolic name for any error code ("FT_ETIMEDOUT", "ENOENT"). */
const char *ft_err_name(int err);

/* ----------------------------------------------------------- basic types */

/* A read-only view of bytes. */
typedef struct ft_slice {
  const void *ptr;
  size_t len;
} ft_slice;

/* A growable byte buffer owned by whoever holds it. */
typedef struct ft_buf {
  char *data;
  size_t len;
  size_t cap;
} ft_buf;

/* Make room for n more bytes; returns 0 or -ENOMEM. */
int ft_buf_reserve(ft_buf *b, size_t n);
/* Append n bytes to b, growing it; returns 0 or -ENOMEM. */
int ft_buf_append(ft_buf *b, const void *p, size_t n);
/* Append a printf-formatted string (without its NUL) to b. */
int ft_buf_printf(ft_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Forget the contents but keep the memory. */
void ft_buf_reset(ft_buf *b);
/* Release the memory; the buffer is empty and reusable afterwards. */
void ft_buf_free(ft_buf *b);

/* The name of a signal ("SIGKILL" for 9), or "SIG?" for one without a name. */
const char *ft_signal_name(int signo);
/* Parse a signal: "SIGKILL", "KILL", "sigkill" or "9"; 0 or FT_EINVAL. */
int ft_parse_signal(const char *s, int *out);

/* Nanoseconds on CLOCK_MONOTONIC, the clock of every event time stamp. */
uint64_t ft_now_ns(void);
/* Number of online CPUs (at least 1). */
int ft_cpu_count(void);

typedef struct ft_loop ft_loop;
typedef struct ft_process ft_process;
typedef struct ft_pool ft_pool;
typedef struct ft_result ft_result;
typedef struct ft_iter ft_iter;
typedef struct ft_queue ft_queue;
typedef struct ft_popen ft_popen;
typedef struct ft_timer ft_timer;

/* ---------------------------------------------------------------- events */

#define FT_EVENT_MAP(XX)                                                                           \
  XX(SPAWN, "spawn")                     /* a child was forked */                                  \
  XX(EXEC, "exec")                       /* a child exec'd a program (or failed) */                \
  XX(EXIT, "exit")                       /* a child or reparented orphan exited */                 \
  XX(OUTPUT, "output")                   /* one line of a child's stdout/stderr */                 \
  XX(TASK_START, "task_start")           /* a worker started a task */                             \
  XX(TASK_DONE, "task_done")             /* a task returned success */                             \
  XX(TASK_FAIL, "task_fail")             /* a task failed or its worker died */                    \
  XX(WORKER_REPLACED, "worker_replaced") /* a pool worker was replaced */                          \
  XX(POOL_START, "pool_start")           /* a pool's workers were all forked */                    \
  XX(POOL_END, "pool_end")               /* a pool's workers have all exited */                    \
  XX(SUBMIT, "submit")                   /* tasks were submitted to a pool */                      \
  XX(ERROR, "error")                     /* something failed and was survived */                   \
  XX(ZOMBIE, "zombie") /* a watched process is a zombie its parent does not reap */                \
  XX(QUEUE, "queue")   /* a sample of a queue's counters */                                        \
  XX(HOST, "host")     /* a host joined, or its state changed (up / lost) */                       \
  XX(STAT, "stat")     /* a sample of a remote process (a per-node agent's) */

typedef enum ft_event_kind {
#define FT_EV_ENUM_(name, str) FT_EV_##name,
  FT_EVENT_MAP(FT_EV_ENUM_)
#undef FT_EV_ENUM_
      FT_EV_COUNT_
} ft_event_kind;

/* The wire name of an event kind ("task_done"). */
const char *ft_event_kind_name(ft_event_kind kind);

/* Why a pool worker was replaced. */
typedef enum ft_replace_reason {
  FT_REPLACE_DIED = 1,    /* it died (signal or unexpected exit) */
  FT_REPLACE_RECYCLED = 2 /* it reached maxtasksperchild */
} ft_replace_reason;

/* Counters of a queue; they live in shared memory and any process may read them. */
typedef struct ft_queue_stats {
  uint64_t puts, gets;          /* items put / got so far */
  uint64_t bytes_in, bytes_out; /* payload bytes put / got */
  uint64_t depth, depth_bytes;  /* items / bytes in the queue now */
  uint64_t high_water;          /* largest depth seen */
  uint64_t capacity;            /* most items it holds */
  uint64_t capacity_bytes;      /* most payload bytes it holds */
  uint64_t put_blocked_ns;      /* total time producers spent blocked */
  uint64_t get_blocked_ns;      /* total time consumers spent blocked */
  uint32_t producers_blocked;   /* producers blocked right now */
  uint32_t consumers_blocked;   /* consumers blocked right now */
  uint32_t owner_deaths;        /* times a process died holding the lock */
  bool closed;
} ft_queue_stats;

/* One thing that happened.  Pointers inside are valid only during the hook call. */
typedef struct ft_event {
  ft_event_kind kind;
  uint64_t t_ns;    /* CLOCK_MONOTONIC time stamp */
  uint32_t host;    /* 0: this machine */
  pid_t pid;        /* the process it is about (the worker, for tasks) */
  pid_t ppid;       /* its parent */
  const char *name; /* process, pool or queue name; never NULL */
  union {
    struct {
      const char *role; /* "process", "worker", "subprocess", "command", "checked", "watched" */
      int worker;       /* worker number in its pool, or -1 */
      /* its command line, NULL-terminated; NULL when unknown (a forked
       * function: it has its parent's).  A watched process's is
       * /proc/PID/cmdline read when the event was handled, at most 4 KiB
       * and 256 arguments of it (argv_cut says it was cut). */
      const char *const *argv;
      bool argv_cut;
      const char *step;   /* a remote worker's launcher step ("1234.5" for Slurm), or NULL */
      pid_t launcher_pid; /* a remote worker: the local process that launched it, or 0 */
    } spawn;
    struct {
      const char *path;        /* the program */
      int err;                 /* 0 on success, -errno when exec failed */
      const char *const *argv; /* what it exec'd with, as spawn's; NULL when unknown */
      bool argv_cut;
    } exec;
    struct {
      int code;       /* exit status, valid when signal == 0; -1 unknown (watched by scanning) */
      int signal;     /* terminating signal, or 0 */
      bool core;      /* a core was dumped */
      bool orphan;    /* a reparented descendant, not one forktop forked */
      bool requested; /* it died of a signal forktop sent it (terminate, kill, a stop rule) */
      uint64_t runtime_ns;
    } exit;
    struct {
      int stream;       /* 1 stdout, 2 stderr */
      const char *line; /* without its newline; not NUL-terminated */
      size_t len;
      bool truncated; /* the line was longer than the limit and was cut */
    } output;
    struct {
      uint64_t task;   /* pool-wide task number, in submission order */
      uint64_t item;   /* index within its map / batch */
      uint64_t batch;  /* which submission (apply_async or map call) */
      int worker;      /* worker number */
      int status;      /* 0, FT_ETASK, FT_EWORKER, FT_ECANCELED, FT_E2BIG */
      int code;        /* the task's return code (FT_ETASK) or worker exit code */
      int signal;      /* the signal that killed the worker (FT_EWORKER) */
      uint64_t dur_ns; /* run time, for done / fail */
      /* FT_EWORKER: why, in words, when its worker's exit does not say it
       * (a remote worker's host lost; a launcher that could not start
       * it: srun's message), or NULL.  Untrusted text (a launcher's). */
      const char *cause;
    } task;
    struct {
      int worker;
      pid_t old_pid;
      pid_t new_pid;
      ft_replace_reason reason;
    } replaced;
    struct {
      int workers;
    } pool;
    struct {
      int err;          /* the error code (FT_E* or -errno) */
      const char *what; /* what could not be done, e.g. "fork worker 3" */
    } error;
    struct {
      uint64_t batch; /* the submission's number within its pool */
      uint64_t first; /* pool-wide number of its first task */
      uint64_t count; /* how many tasks */
    } submit;
    ft_queue_stats queue;
    struct {                /* FT_EV_HOST: `host` is its id, `name` its name */
      const char *address;  /* where it is reached from here ("10.0.0.2"), or NULL */
      const char *launcher; /* how its workers start: "tcp", "slurm" */
      const char *job;      /* the launcher's job id ("1234"), or NULL */
      bool lost;            /* false: up */
      const char *cause;    /* why it was lost (or came back), or NULL */
    } host;
    struct {      /* FT_EV_STAT: a remote process read by its node's agent */
      char state; /* 'R', 'S', 'D', 'Z', 'T', ... */
      int threads;
      double cpu;      /* % of one CPU since the agent's previous read */
      uint64_t rss_kb; /* resident memory */
    } stat;
  } u;
} ft_event;

/* Callback types.  One naming rule: a `_cb` is called back by the loop, in
 * the parent, on the loop's thread (events, signals, fds, timers, results);
 * a `_fn` is work forktop runs in a child (a Process target, a pool task,
 * an initializer). */
typedef void (*ft_event_cb)(const ft_event *ev, void *ud);
typedef void (*ft_sleep_cb)(ft_loop *loop, void *ud);
typedef void (*ft_signal_cb)(int signo, void *ud);
typedef void (*ft_fd_cb)(int fd, uint32_t epoll_events, void *ud);
typedef void (*ft_timer_cb)(ft_timer *t, void *ud);

/* One event as one line of JSON (newline included) appended to out; the
 * schema is in docs/json.md.  t0 is the run's start: "t" is seconds since. */
int ft_event_to_json(const ft_event *ev, uint64_t t0, ft_buf *out);
/* Parse one line written by ft_event_to_json back into an event (t_ns is
 * the line's "t" in nanoseconds).  Strings of the event point into *strings,
 * valid until the next call with the same buffer.  FT_EINVAL for a line that
 * is not an event (the summary line, say), or is malformed. */
int ft_event_from_json(const char *line, size_t len, ft_event *ev, ft_buf *strings);
/* Append n bytes of s to out as a JSON string literal (quotes included),
 * by the event stream's rules: cleaned to valid UTF-8, and every control
 * (C0, DEL, C1) and bidi control written as \uXXXX.  0 or -ENOMEM. */
int ft_json_append_string(ft_buf *out, const char *s, size_t n);

/* ------------------------------------------------------------------ loop */

typedef enum ft_run_mode {
  FT_RUN_DEFAULT = 0, /* until ft_loop_stop() */
  FT_RUN_ONCE,        /* one turn, sleeping until something happens */
  FT_RUN_NOWAIT       /* one turn without sleeping */
} ft_run_mode;

/* Create the supervisor loop; it makes this process a child subreaper and
 * takes SIGCHLD through a signalfd.  One loop per process, used from the
 * thread that creates it; SIGCHLD and SIGPIPE are blocked in that thread
 * only (see "Threads" above). */
int ft_loop_new(ft_loop **out);
/* Kill (SIGKILL) and reap every child still alive, close every fd, free.
 * In a child forked from the loop's process it only closes that child's
 * copies of the loop's own fds: the loop's records are its parent's.  Not
 * in a Process target or a pool worker: those closed the fds as they
 * started, and the numbers may since be the child's own fds. */
void ft_loop_free(ft_loop *loop);
/* Make ft_loop_free leave live children running (forktop check without --kill). */
void ft_loop_disown(ft_loop *loop);
/* Turn the loop. */
int ft_loop_run(ft_loop *loop, ft_run_mode mode);
/* Make ft_loop_run(FT_RUN_DEFAULT) return after the current turn. */
void ft_loop_stop(ft_loop *loop);
/* Install a hook that receives every event; returns 0 or -ENOMEM.  ud is
 * borrowed until the hook is removed. */
int ft_loop_add_hook(ft_loop *loop, ft_event_cb fn, void *ud);
/* Remove a hook installed with the same fn and ud. */
void ft_loop_remove_hook(ft_loop *loop, ft_event_cb fn, void *ud);
/* Install a function run once per turn, before the loop sleeps. */
int ft_loop_add_before_sleep(ft_loop *loop, ft_sleep_cb fn, void *ud);
/* Remove a before-sleep function (not from inside one). */
void ft_loop_remove_before_sleep(ft_loop *loop, ft_sleep_cb fn, void *ud);
/* Call fn(signo, ud) from the loop when signo arrives (via the signalfd). */
int ft_loop_on_signal(ft_loop *loop, int signo, ft_signal_cb fn, void *ud);
/* Watch fd for readability (and, when want_write, writability). */
int ft_loop_watch_fd(ft_loop *loop, int fd, bool want_write, ft_fd_cb fn, void *ud);
/* Stop watching fd (the fd itself stays open). */
void ft_loop_unwatch_fd(ft_loop *loop, int fd);
/* Interval between FT_EV_QUEUE samples (default 100 ms; 0 turns them off). */
void ft_loop_set_sample_interval(ft_loop *loop, uint64_t ns);
/* Live children of this process, the adopted orphans included (read from /proc). */
int ft_loop_children(const ft_loop *loop);
/* Number of children forked by this loop that have not been reaped. */
int ft_loop_live_children(const ft_loop *loop);
/* Children forked from now on get signo (0: none) when this process dies,
 * however it dies (PR_SET_PDEATHSIG); 0 or -EINVAL. */
int ft_loop_set_parent_death_signal(ft_loop *loop, int signo);
/* Signal every child still alive (for a clean stop: SIGTERM, then SIGKILL). */
void ft_loop_signal_all(ft_loop *loop, int signo);
/* Signal process pid of a remote host (host != 0) through that host's
 * launcher (a pool over TCP, Slurm's scancel), never as a local pid: 0,
 * -EINVAL for host 0 or a bad signal, -ESRCH when no launcher of that host
 * knows pid, -ENOTSUP when its launcher cannot signal one process. */
int ft_loop_signal_host(ft_loop *loop, uint32_t host, pid_t pid, int signo);

/* A timer on the loop. */
int ft_timer_new(ft_loop *loop, ft_timer **out);
/* Fire fn after first_ns, then every repeat_ns (0: once). */
int ft_timer_start(ft_timer *t, uint64_t first_ns, uint64_t repeat_ns, ft_timer_cb fn, void *ud);
/* Disarm the timer. */
void ft_timer_stop(ft_timer *t);
/* Disarm and free the timer. */
void ft_timer_free(ft_timer *t);

/* --------------------------------------------------------------- process */

typedef enum ft_stdio_mode {
  FT_STDIO_DEFAULT = 0, /* stdin: /dev/null; stdout, stderr: FT_STDIO_CAPTURE */
  FT_STDIO_CAPTURE,     /* lines become FT_EV_OUTPUT events (stdout / stderr only) */
  FT_STDIO_PIPE,        /* a pipe the parent reads or writes (popen / communicate) */
  FT_STDIO_INHERIT,     /* the parent's own fd */
  FT_STDIO_NULL,        /* /dev/null */
  FT_STDIO_FILE,        /* the file at path (created or truncated; appended with append) */
  FT_STDIO_FD,          /* the caller's open fd */
  FT_STDIO_STDOUT       /* stderr only: the same place as stdout (2>&1) */
} ft_stdio_mode;

typedef struct ft_stdio {
  ft_stdio_mode mode;
  const char *path; /* FT_STDIO_FILE */
  bool append;      /* FT_STDIO_FILE */
  int fd;           /* FT_STDIO_FD */
} ft_stdio;

/* The code a forked function runs; its return value is the exit status.
 * What it printed to stdout and stderr is flushed after it returns; what
 * the parent had buffered there is flushed before the fork, as Python
 * does, so that no child writes it again. */
typedef int (*ft_target_fn)(void *arg);

typedef struct ft_process_opts {
  const char *name;    /* shown in events; default "process" or argv[0] */
  ft_target_fn target; /* run this function in the child ... */
  void *arg;
  char *const *argv; /* ... or exec this argv (searched in PATH) */
  char *const *envp; /* environment for exec; NULL: inherit */
  const char *cwd;   /* working directory; NULL: inherit */
  ft_stdio in, out, err;
  const char *role; /* event role; default "process" */
} ft_process_opts;
/* The strings and arrays of ft_process_opts are copied by ft_process_new,
 * except role, which must outlive the process (a string literal).  arg is
 * given as is to the target, which sees the child's copy of the parent's
 * memory as it was at ft_process_start. */

/* Create a process (not started).  Exactly one of opts->target and opts->argv. */
int ft_process_new(ft_loop *loop, const ft_process_opts *opts, ft_process **out);
/* Fork it (and exec, for an argv).  An exec failure is returned as -errno. */
int ft_process_start(ft_process *p);
/* Wait until it exits; FT_ETIMEDOUT if it has not within timeout seconds. */
int ft_process_join(ft_process *p, double timeout);
/* Send SIGTERM. */
int ft_process_terminate(ft_process *p);
/* Send SIGKILL. */
int ft_process_kill(ft_process *p);
/* Send any signal (through its pidfd, so a recycled pid is never hit). */
int ft_process_signal(ft_process *p, int signo);
/* Started and not yet reaped. */
bool ft_process_is_alive(const ft_process *p);
/* Its exit code: status >= 0, or -signal as in Python; FT_ENOTEXITED before. */
int ft_process_exitcode(const ft_process *p, int *code);
/* Its pid (0 before start). */
pid_t ft_process_pid(const ft_process *p);
/* Its parent's pid (this process, for a child we forked). */
pid_t ft_process_ppid(const ft_process *p);
/* Its name. */
const char *ft_process_name(const ft_process *p);
/* For FT_STDIO_PIPE streams: the parent's end (0 stdin, 1 stdout, 2 stderr) or -1. */
int ft_process_stdio_fd(const ft_process *p, int stream);
/* Free; a process still running is killed (SIGKILL) and reaped by the loop.
 * In a forked child of the loop's process it does nothing (the record is
 * the parent's); ft_process_new there fails with FT_EFORKED. */
void ft_process_free(ft_process *p);

/* ------------------------------------------------------------------ pool */

/* A pool worker's initializer: run once in each worker, before its first
 * task; a non-zero return makes the worker exit with it. */
typedef int (*ft_init_fn)(void *arg);
/* A task: read arg, write the result into out, return 0; or return a
 * non-zero code and leave an error message in out.  ctx is the pool's
 * (ft_pool_opts.ctx), seen in the worker, a forked copy of the caller: it
 * points to what was at that address when the worker was forked (a
 * replacement worker is forked later), and what a task writes there stays
 * in its worker. */
typedef int (*ft_task_fn)(void *ctx, ft_slice arg, ft_buf *out);
/* A starmap task: several arguments; ctx as for ft_task_fn. */
typedef int (*ft_star_fn)(void *ctx, size_t argc, const ft_slice *argv, ft_buf *out);
/* Result callbacks run in the parent, from the loop. */
typedef void (*ft_result_cb)(ft_result *r, void *ud);

typedef struct ft_pool_opts {
  const char *name;          /* default "pool" */
  int workers;               /* default: online CPUs */
  unsigned maxtasksperchild; /* 0: unlimited */
  size_t result_ring_bytes;  /* per worker; default 256 KiB; half of it bounds one result
                                (results go round a window of it, 64 KiB up to the whole ring
                                as the pool's size allows, until a bigger one comes) */
  size_t arg_arena_bytes;    /* default 1 MiB; bounds one item's arguments (chunks go round a
                                128 KiB window of it, grown when a bigger item comes) */
  ft_stdio out, err;         /* workers' stdout / stderr; default captured; a
                                path is NOT copied: it must outlive the pool */
  ft_init_fn initializer;    /* run in each worker before its first task */
  void *initarg;             /* borrowed for the pool's life (replacement
                                workers are forked later) */
  void *ctx; /* passed to every task function (see ft_task_fn); borrowed for the pool's life */
} ft_pool_opts;

/* ---------------------------------------------------- remote pool workers
 * A pool whose workers are separate processes that connect back over TCP
 * (the path pools on other hosts take) can run only functions registered
 * by name, the same names in both programs: the name is what travels. */

/* Register fn under name (at most 63 bytes); registering the same pair
 * again is a no-op; another function under a taken name is FT_EINVAL. */
int ft_task_register(const char *name, ft_task_fn fn);
/* The same for a starmap function. */
int ft_star_register(const char *name, ft_star_fn fn);

/* How a TCP pool starts and reaches its workers. */
typedef struct ft_pool_tcp {
  const char *bind;  /* address to listen on (an ephemeral port); default 127.0.0.1 */
  char *const *argv; /* the worker command; "--connect ADDR:PORT" is appended and the
                        one-time token is passed in its environment (FORKTOP_TOKEN) */
  ft_slice setup;    /* bytes given to every worker before its first task */
  double heartbeat;  /* seconds; a worker silent longer is killed; default 3 */
  /* A launcher put in front of argv (srun ...), NULL-terminated, or NULL.
   * With one, the launcher's exit 128+N is read as the worker's signal N,
   * and a worker whose connection drops is given 1 s for its launcher to
   * exit with the remote status before the launcher is killed. */
  char *const *launch;
  /* With launch: worker w is placed on hosts[w % nhosts] ("-w HOST" after
   * launch); NULL-terminated, or NULL. */
  char *const *hosts;
  /* With launch: the Slurm job the workers' steps run in ("1234"), or
   * NULL.  A worker whose hello names a step of that job (its
   * SLURM_STEP_ID) is then signalled (ft_loop_signal_host, the dashboard's
   * k) through `scancel --signal=N JOB.STEP`, never through its local
   * launcher, and its spawn event carries "JOB.STEP" as its step. */
  const char *job;
  /* With launch: when forktop dies (SIGKILL included), its launchers are
   * spared by the run's guard (not killed with the rest; no parent-death
   * signal), so that each outlives it by the moments its worker takes to
   * end (a worker leaves when its connection closes) and reports that end
   * where it must: srun killed first leaves its step completing for 2.3 s
   * while slurmstepd retries the dead srun.  Whoever sets it must end the
   * launchers by other means too (Slurm: the allocation's release). */
  bool spare_launchers;
} ft_pool_tcp;

/* A pool whose workers run argv and connect back over TCP (opts->initializer
 * is not supported: FT_EINVAL).  Unregistered functions: FT_ENOTREG at submit. */
int ft_pool_new_tcp(ft_loop *loop, const ft_pool_opts *opts, const ft_pool_tcp *tcp, ft_pool **out);

/* Worker side: what setup gives becomes every task's ctx. */
typedef int (*ft_worker_setup_fn)(ft_slice setup, void **ctx, void *ud);
/* Be a TCP pool's worker: connect to addr ("HOST:PORT"), prove the token
 * from the environment (FORKTOP_TOKEN, erased from it), run chunks until
 * told to leave (returns 0) or the connection drops (returns 1).  Returns
 * 2 with a message in err on a setup or protocol error. */
int ft_worker_serve(const char *addr, ft_worker_setup_fn setup, void *ud, ft_buf *err);

/* Per-item outcome of a result. */
typedef struct ft_item {
  int status;     /* 0, FT_ETASK, FT_EWORKER, FT_ECANCELED, FT_E2BIG */
  int code;       /* task return code (FT_ETASK) or worker exit code (FT_EWORKER) */
  int signal;     /* signal that killed the worker (FT_EWORKER) */
  pid_t worker;   /* pid of the worker that ran it */
  ft_slice value; /* the result, or the task's error message, or (FT_EWORKER)
                     why its worker is gone when the exit status does not
                     say (a remote host lost; srun's message); points into
                     the result: valid until ft_result_free (ft_iter_free) */
} ft_item;

typedef struct ft_pool_stats {
  int workers;         /* configured size */
  int alive;           /* workers alive now */
  uint64_t dispatches; /* chunks handed to workers */
  uint64_t tasks_submitted, tasks_done, tasks_failed;
  uint64_t workers_started;  /* forks, including replacements */
  uint64_t workers_replaced; /* after a death */
  uint64_t workers_recycled; /* after maxtasksperchild */
  uint64_t start_ns;         /* time to fork the initial workers */
} ft_pool_stats;

/* Fork the workers. */
int ft_pool_new(ft_loop *loop, const ft_pool_opts *opts, ft_pool **out);
/* Submit one task; callback or error_callback runs when it ends. */
int ft_pool_apply_async(ft_pool *p, ft_task_fn fn, ft_slice arg, ft_result_cb callback,
                        ft_result_cb error_callback, void *ud, ft_result **out);
/* Run fn over items (chunksize 0: Python's automatic rule) and wait.
 * Returns 0 when every item succeeded, else the first failing item's status;
 * *out is set either way and holds every item's outcome, in order.  The
 * items are read where they are (not copied) while it waits. */
int ft_pool_map(ft_pool *p, ft_task_fn fn, const ft_slice *items, size_t n, size_t chunksize,
                ft_result **out);
/* The same without waiting; callback or error_callback once all are done.
 * The items are copied before it returns. */
int ft_pool_map_async(ft_pool *p, ft_task_fn fn, const ft_slice *items, size_t n, size_t chunksize,
                      ft_result_cb callback, ft_result_cb error_callback, void *ud,
                      ft_result **out);
/* Arguments of one starmap item. */
typedef struct ft_args {
  size_t argc;
  const ft_slice *argv;
} ft_args;
/* starmap: fn(argc, argv) for each item; waits like ft_pool_map. */
int ft_pool_starmap(ft_pool *p, ft_star_fn fn, const ft_args *items, size_t n, size_t chunksize,
                    ft_result **out);
/* starmap without waiting. */
int ft_pool_starmap_async(ft_pool *p, ft_star_fn fn, const ft_args *items, size_t n,
                          size_t chunksize, ft_result_cb callback, ft_result_cb error_callback,
                          void *ud, ft_result **out);
/* imap: an iterator yielding results in order (chunksize 0 means 1, as Python). */
int ft_pool_imap(ft_pool *p, ft_task_fn fn, const ft_slice *items, size_t n, size_t chunksize,
                 ft_iter **out);
/* imap_unordered: results in completion order. */
int ft_pool_imap_unordered(ft_pool *p, ft_task_fn fn, const ft_slice *items, size_t n,
                           size_t chunksize, ft_iter **out);
/* Where a streamed imap pulls its items from: set *item (its bytes need
 * stay valid only until the next call) and return 1; return 0 at the end,
 * -EAGAIN when no item is there yet (it is asked again at the next
 * ft_iter_next, and each loop turn while one waits: have something wake
 * the loop, a timer or an fd watch), or another negative error, which ends
 * the stream too (ft_iter_next returns it once the items before it are
 * yielded). */
typedef int (*ft_source_fn)(void *ud, ft_slice *item);
/* imap over items pulled from source as results are taken (Python's imap
 * over an iterator, in bounded memory): at most a few batches of items are
 * in flight or waiting to be yielded, whatever the stream's length.  Results
 * come in item order; ud is borrowed until the stream ends or the iterator
 * is freed.  A yielded item's value is valid until the next ft_iter_next. */
int ft_pool_imap_stream(ft_pool *p, ft_task_fn fn, ft_source_fn source, void *ud, size_t chunksize,
                        ft_iter **out);
/* The same, results in completion order. */
int ft_pool_imap_unordered_stream(ft_pool *p, ft_task_fn fn, ft_source_fn source, void *ud,
                                  size_t chunksize, ft_iter **out);
/* No more submissions; workers exit once the queued work is done. */
int ft_pool_close(ft_pool *p);
/* Stop at once: workers get SIGTERM; unfinished tasks fail with FT_ECANCELED
 * (worker -1 for those no worker took; a task a worker had taken fails at
 * that worker's exit, so its result's callbacks may run later, from the
 * loop or ft_pool_free: their ud must live until the pool is joined or
 * freed). */
int ft_pool_terminate(ft_pool *p);
/* Wait for the workers to exit; FT_ERUNNING before close or terminate. */
int ft_pool_join(ft_pool *p, double timeout);
/* Counters. */
void ft_pool_stats_get(const ft_pool *p, ft_pool_stats *st);
/* Pid of worker i (0 when none is alive in that slot). */
pid_t ft_pool_worker_pid(const ft_pool *p, int i);
/* The pool's name. */
const char *ft_pool_name(const ft_pool *p);
/* Terminate if needed (the error callbacks of what that cancels run now)
 * and free, without waiting: live workers are killed and reaped later by
 * the loop (ft_pool_join first for an orderly end).  Results still held
 * stay valid.  Free the pool before its loop. */
void ft_pool_free(ft_pool *p);

/* Wait for the result and give the first item's outcome; returns its status
 * (0, FT_ETASK, FT_EWORKER, ...) or FT_ETIMEDOUT. */
int ft_result_get(ft_result *r, double timeout, ft_item *item);
/* Wait until ready; 0 or FT_ETIMEDOUT. */
int ft_result_wait(ft_result *r, double timeout);
/* Every item has ended. */
bool ft_result_ready(const ft_result *r);
/* 1 when ready and every item succeeded, 0 when some failed, FT_ENOTREADY. */
int ft_result_successful(const ft_result *r);
/* Number of items. */
size_t ft_result_count(const ft_result *r);
/* Number of failed items (so far). */
size_t ft_result_failed(const ft_result *r);
/* Outcome of item i; FT_ENOTREADY if it has not ended. */
int ft_result_item(const ft_result *r, size_t i, ft_item *item);
/* Release the caller's reference (the pool finishes the work regardless).
 * A result callback's r is borrowed for the call: do not free it there. */
void ft_result_free(ft_result *r);

/* Next result of an imap iterator: 0 with *index and *item set, FT_EOF when
 * all were yielded, FT_ETIMEDOUT; a streamed imap's source's error once.
 * A streamed imap's item->value is valid until the next call. */
int ft_iter_next(ft_iter *it, double timeout, size_t *index, ft_item *item);
/* Free the iterator. */
void ft_iter_free(ft_iter *it);

/* ----------------------------------------------------------------- queue */

/* A bounded multi-producer multi-consumer queue of byte items in shared
 * memory, usable by every process forked after it was made.  A process
 * killed in the middle of put or get does not wedge it. */
int ft_queue_new(ft_loop *loop, const char *name, size_t max_items, size_t max_bytes,
                 ft_queue **out);
/* Put an item; block up to timeout when full (0: do not block): FT_EFULL /
 * FT_ETIMEDOUT when it stays full, FT_ECLOSED after close. */
int ft_queue_put(ft_queue *q, const void *data, size_t len, double timeout);
/* Get an item into buf: FT_E2BIG (with *len the size needed, item kept) when
 * cap is too small; FT_EEMPTY / FT_ETIMEDOUT when none came; FT_ECLOSED
 * once the queue is closed and drained. */
int ft_queue_get(ft_queue *q, void *buf, size_t cap, size_t *len, double timeout);
/* Put items[0..n) in order, each run of them that there is room for at
 * once (one lock, one commit); block up to timeout while full.  0 when all
 * were put, else the error of ft_queue_put; *done (may be NULL): how many
 * were put, in either case. */
int ft_queue_put_many(ft_queue *q, const ft_slice *items, size_t n, size_t *done, double timeout);
/* Get up to max items at once (blocking up to timeout for the first):
 * their bytes go one after the other into buf (each at an 8-byte aligned
 * offset), items[i] points at each, *got says how many.  FT_E2BIG (with
 * items[0].len the size needed, item kept) when the first does not fit in
 * cap; otherwise the errors of ft_queue_get, when none came. */
int ft_queue_get_many(ft_queue *q, void *buf, size_t cap, ft_slice *items, size_t max, size_t *got,
                      double timeout);
/* Close: puts fail, gets drain what is left and then fail with FT_ECLOSED. */
int ft_queue_close(ft_queue *q);
/* Read the counters (without taking the queue's lock). */
void ft_queue_stats_get(const ft_queue *q, ft_queue_stats *st);
/* The queue's name. */
const char *ft_queue_name(const ft_queue *q);
/* Unmap (in the parent: also stop sampling it).  Before ft_loop_free. */
void ft_queue_free(ft_queue *q);

/* ------------------------------------------------------------ subprocess */

typedef struct ft_run_opts {
  const char *name;
  char *const *envp;
  const char *cwd;
  ft_slice input;        /* written to stdin (stdin is a pipe when input.ptr != NULL) */
  ft_stdio in, out, err; /* out / err FT_STDIO_PIPE: collected into the result */
  double timeout;        /* <= 0: none; on expiry the child is killed, FT_ETIMEDOUT */
} ft_run_opts;

typedef struct ft_run_result {
  int exitcode; /* >= 0, or -signal */
  pid_t pid;
  ft_buf out; /* collected stdout (FT_STDIO_PIPE) */
  ft_buf err; /* collected stderr (FT_STDIO_PIPE) */
} ft_run_result;

/* Release the buffers of a run result.  The calls below that fill a result
 * zero it first: free an earlier one before reusing it. */
void ft_run_result_free(ft_run_result *r);
/* subprocess.call: run argv, wait, give its exit code (stdout/stderr captured as events). */
int ft_subprocess_call(ft_loop *loop, char *const argv[], const ft_run_opts *opts, int *exitcode);
/* subprocess.run: run argv with input, redirections and timeout; res filled. */
int ft_subprocess_run(ft_loop *loop, char *const argv[], const ft_run_opts *opts,
                      ft_run_result *res);
/* subprocess.check_output: stdout collected into res->out; FT_EFAILED when the
 * exit code is not 0 (res->exitcode and res->err tell why). */
int ft_subprocess_check_output(ft_loop *loop, char *const argv[], const ft_run_opts *opts,
                               ft_run_result *res);
/* subprocess.Popen: start argv with the given stdio (FT_STDIO_PIPE for pipes). */
int ft_popen_new(ft_loop *loop, char *const argv[], const ft_run_opts *opts, ft_popen **out);
/* Popen.communicate: write input, close stdin, collect stdout and stderr
 * until EOF, wait for exit. */
int ft_popen_communicate(ft_popen *p, ft_slice input, double timeout, ft_run_result *res);
/* Popen.wait. */
int ft_popen_wait(ft_popen *p, double timeout, int *exitcode);
/* The underlying process (pid, signals). */
ft_process *ft_popen_process(ft_popen *p);
/* Free (a running child is killed and reaped).  Before ft_loop_free. */
void ft_popen_free(ft_popen *p);

#ifdef __cplusplus
}
#endif
#endif
