/* ft_model.h - the state built from events: the process tree, pools,
 * queues, the exit log and captured output, enriched by libproc2 reads
 * (ft_scan) of the processes someone is looking at.  It knows nothing of
 * curses: readers take a read-only snapshot and draw it however they like.
 *
 * Memory is bounded: exited processes leave after a linger time (or when
 * too many have exited), each process keeps a bounded ring of output
 * lines, and the exit log is a ring. */
#ifndef FT_MODEL_H
#define FT_MODEL_H

#include "forktop.h"

#define FT_MODEL_NAME_MAX 48
#define FT_MODEL_CMD_MAX 96
#define FT_MODEL_ARGS_MAX 256 /* the command line kept, arguments joined by spaces */
#define FT_MODEL_USER_MAX 16
#define FT_MODEL_SPARK 60 /* sparkline buckets: one a second, the last minute */
#define FT_MODEL_HIST 16  /* samples kept for rates */

typedef struct ft_model ft_model;

/* ------------------------------------------------------------ output */

/* One captured line, raw: it may hold any byte; sanitize before drawing. */
typedef struct ft_mline {
  uint64_t t_ns;
  pid_t pid;
  uint8_t stream; /* 1 stdout, 2 stderr */
  bool truncated; /* the child wrote more than the engine's line limit */
  uint32_t len;
  char *text; /* not NUL-terminated */
} ft_mline;

/* A bounded ring of lines; the oldest go when either limit is reached. */
typedef struct ft_mlines {
  ft_mline *slot;
  uint32_t cap, head, n; /* head: slot of the oldest line */
  size_t bytes;          /* text bytes held */
  uint64_t total;        /* lines ever added */
} ft_mlines;

/* The i-th line kept, 0 being the oldest; NULL past the end. */
const ft_mline *ft_mlines_get(const ft_mlines *r, size_t i);

/* ---------------------------------------------------------- processes */

typedef enum ft_mrole {
  FT_MROLE_ROOT,       /* forktop itself, the supervisor */
  FT_MROLE_PROCESS,    /* a Process */
  FT_MROLE_WORKER,     /* a pool worker */
  FT_MROLE_SUBPROCESS, /* a subprocess helper's child */
  FT_MROLE_ORPHAN      /* a descendant reparented to forktop, not forked by it */
} ft_mrole;

typedef struct ft_mproc {
  uint32_t host;
  pid_t pid, ppid;
  ft_mrole role;
  int worker;                   /* worker number in its pool, or -1 */
  char name[FT_MODEL_NAME_MAX]; /* the process's or the pool's name */
  char cmd[FT_MODEL_CMD_MAX];   /* the program it exec'd, "" when none */
  int exec_err;                 /* -errno when its exec failed */
  uint64_t t_start, t_exit;     /* spawn (or first seen) and exit times */
  bool exited, orphan, core;
  bool requested;       /* it died of a signal forktop sent (a stop): not a failure */
  bool zombie;          /* exited, and its parent does not reap it (a zombie event) */
  unsigned zombie_kids; /* children of it that are zombies it does not reap */
  int code, signal;     /* exit code (signal == 0) or terminating signal */
  /* tasks, for pool workers */
  bool busy;       /* holds a task now */
  uint64_t task;   /* the task it holds, or its last one */
  uint64_t task_t; /* when it started that task */
  uint64_t tasks_done, tasks_failed;
  uint32_t launches;                /* a local launcher: the host its worker runs on, or 0 */
  pid_t replaced_by;                /* the worker that took its place */
  pid_t replaces;                   /* the worker whose place it took */
  ft_replace_reason replace_reason; /* 0, or why it was replaced */
  /* from ft_scan: zero until read */
  char state; /* 'R', 'S', 'D', 'Z', 'T', ...; 0 before the first read */
  int threads;
  double cpu; /* % of one CPU between the last two reads */
  uint64_t rss_kb;
  uint64_t scan_ticks, scan_t; /* the last read's CPU ticks and time */
  /* from the rich reads of the rows on screen (ft_scan_update's pids): zero until read */
  bool rich;                    /* read at least once */
  unsigned uid;                 /* effective user */
  char user[FT_MODEL_USER_MAX]; /* its name ("" unknown) */
  int nice;                     /* -20 .. 19 */
  uint64_t io_r, io_w, io_t;    /* read_bytes, write_bytes and when */
  double io_rrate, io_wrate;    /* bytes a second between the last two rich reads */
  char args[FT_MODEL_ARGS_MAX]; /* the command line, raw (sanitize before drawing); "" unknown */
  ft_mlines out;                /* its output */
} ft_mproc;

/* Whether a process ended badly (a non-zero code, or a signal forktop did
 * not send it). */
bool ft_mproc_failed(const ft_mproc *p);

/* --------------------------------------------------------- pools, queues */

typedef struct ft_mpool {
  char name[FT_MODEL_NAME_MAX];
  int workers; /* configured size */
  bool started, ended;
  uint64_t t_start, t_end;
  uint64_t t_first, t_last;     /* first submission, last task to end */
  uint64_t total, done, failed; /* tasks submitted, ended well, ended badly */
  unsigned replaced, recycled;  /* workers replaced after a death / recycled */
  double rate;                  /* tasks ended per second, lately (over the run once all ended) */
  double eta_s;                 /* seconds left at that rate; < 0 unknown */
  uint64_t hist_t[FT_MODEL_HIST], hist_n[FT_MODEL_HIST];
  unsigned nhist, hhead;
} ft_mpool;

typedef struct ft_mqueue {
  char name[FT_MODEL_NAME_MAX];
  ft_queue_stats st; /* the latest sample */
  uint64_t t_first, t_last;
  double put_rate, get_rate; /* items a second, from the samples of the last second or so */
  uint64_t hist_t[FT_MODEL_HIST], hist_puts[FT_MODEL_HIST], hist_gets[FT_MODEL_HIST];
  unsigned nhist, hhead;
  uint64_t spark[FT_MODEL_SPARK]; /* highest depth seen in each second, by second % 60 */
  uint64_t spark_sec;             /* the second of the newest bucket (since the model's t0) */
  bool spark_any;
} ft_mqueue;

/* The last minute of a queue's depth, oldest first, one value a second up
 * to the second of `now` (seconds without a sample repeat the last depth). */
void ft_mqueue_spark(const ft_mqueue *q, uint64_t t0, uint64_t now, uint64_t out[FT_MODEL_SPARK]);

/* -------------------------------------------------------------- hosts */

/* A host other than this one, where a pool runs workers (ft_model_hosts.c):
 * what its `host` events said, and sums over its processes (each of which
 * is (id, pid): its pid is that host's, and may equal a local one). */
typedef struct ft_mhost {
  uint32_t id; /* the number its events carry (never 0) */
  char name[FT_MODEL_NAME_MAX];
  /* cause may hold a launcher's words (srun's stderr: up to 512 bytes) */
  char address[64], launcher[16], job[32], cause[640];
  bool lost;                        /* its last host event said lost */
  uint64_t t_join, t_state;         /* its first host event, its last change of state */
  uint64_t last_heard;              /* its newest event of any kind */
  unsigned procs, workers;          /* live processes on it, and of them pool workers */
  unsigned spawned, exited, failed; /* its processes seen so far */
  double cpu;                       /* % of one CPU, summed over its live processes */
  uint64_t rss_kb;                  /* the same for resident memory */
} ft_mhost;

/* ----------------------------------------------------------- exit log */

typedef enum ft_mexit_kind {
  FT_MEXIT_EXIT,      /* a process exited */
  FT_MEXIT_REPLACED,  /* a pool worker was replaced */
  FT_MEXIT_TASK_FAIL, /* a task failed */
  FT_MEXIT_ERROR      /* the engine survived a failure */
} ft_mexit_kind;

typedef struct ft_mexit {
  ft_mexit_kind kind;
  uint64_t t_ns;
  uint32_t host; /* pid's host (0: this one) */
  pid_t pid;     /* who exited / the old worker / the task's worker */
  pid_t new_pid; /* FT_MEXIT_REPLACED: the new worker */
  ft_mrole role;
  int worker;                   /* worker number or -1 */
  char name[FT_MODEL_NAME_MAX]; /* process or pool name */
  int code, signal;             /* exit, or the task's code / the worker's signal */
  bool core, orphan, requested;
  int status; /* FT_MEXIT_TASK_FAIL: FT_ETASK, FT_EWORKER, ...; ERROR: the error */
  uint64_t task;
  ft_replace_reason reason;
  uint64_t runtime_ns;
  char what[64]; /* FT_MEXIT_ERROR: what could not be done; TASK_FAIL: the cause, or "" */
} ft_mexit;

/* -------------------------------------------------------- the snapshot */

typedef struct ft_mtotals {
  unsigned spawned, running, exited, failed, orphans, zombies;
  uint64_t tasks_total, tasks_done, tasks_failed;
  double cpu;      /* % of one CPU: the sum of the latest reads of the live processes */
  uint64_t rss_kb; /* the same for resident memory */
} ft_mtotals;

/* A read-only view of the model.  The one from ft_model_snapshot() points
 * into the model and is valid until the next apply, tick or scan; a copy
 * (ft_model_snap_copy) owns its memory and never changes. */
typedef struct ft_model_snap {
  uint64_t t0;    /* the run's start (elapsed time is counted from it) */
  uint64_t now;   /* the time of the snapshot */
  uint64_t gen;   /* changes whenever the model does */
  pid_t root_pid; /* forktop's own pid (0 until known) */
  const ft_mproc *procs;
  size_t nprocs;
  const ft_mpool *pools;
  size_t npools;
  const ft_mqueue *queues;
  size_t nqueues;
  const ft_mhost *hosts; /* other hosts, in the order they joined */
  size_t nhosts;
  const ft_mexit *exits; /* a ring: read it with ft_model_snap_exit() */
  size_t nexits, exit_head, exit_cap;
  const ft_mlines *all_output; /* every process's output, interleaved */
  ft_mtotals totals;
} ft_model_snap;

/* The i-th entry of the exit log, 0 being the newest; NULL past the end. */
const ft_mexit *ft_model_snap_exit(const ft_model_snap *s, size_t i);
/* Index of a local process (host 0) in s->procs, or -1. */
ssize_t ft_model_snap_find(const ft_model_snap *s, pid_t pid);
/* Index of process pid of host in s->procs, or -1. */
ssize_t ft_model_snap_find_on(const ft_model_snap *s, uint32_t host, pid_t pid);
/* Host id of the snapshot, or NULL (host 0, or not known). */
const ft_mhost *ft_model_snap_host(const ft_model_snap *s, uint32_t id);
/* A deep copy of a snapshot that stays as it is (a paused display). */
int ft_model_snap_copy(const ft_model_snap *s, ft_model_snap **out);
/* Free a copy made by ft_model_snap_copy (NULL is a no-op). */
void ft_model_snap_free(ft_model_snap *s);

/* ----------------------------------------------------------- the model */

typedef struct ft_model_opts {
  pid_t root_pid;     /* forktop's pid; 0: learn it from the events (replay) */
  uint64_t t0;        /* start of the run; 0: the first event's time */
  uint64_t linger_ns; /* how long an exited process keeps its row (default 30 s) */
  size_t max_exited;  /* and at most this many exited rows (default 500) */
  size_t out_lines;   /* lines of output kept per process (default 64) */
  size_t out_bytes;   /* bytes of output kept per process (default 16 KiB) */
  size_t all_lines;   /* lines kept of everyone's output (default 256) */
  size_t log_max;     /* entries of the exit log (default 512) */
} ft_model_opts;

/* Make an empty model; opts may be NULL for the defaults. */
int ft_model_new(const ft_model_opts *opts, ft_model **out);
/* Apply one event; 0, or -ENOMEM when something could not be kept. */
int ft_model_apply(ft_model *m, const ft_event *ev);
/* ft_model_apply as a loop hook (ud is the model). */
void ft_model_hook(const ft_event *ev, void *ud);
/* Move time on: expire old exited rows, update rates and ETAs. */
void ft_model_tick(ft_model *m, uint64_t now);
/* The current state, read-only (see ft_model_snap). */
const ft_model_snap *ft_model_snapshot(ft_model *m);
/* A number that changes whenever the model does. */
uint64_t ft_model_gen(const ft_model *m);
/* The time of the newest event applied (0 before any). */
uint64_t ft_model_last_t(const ft_model *m);
/* Whether pid is a local process of the model still alive. */
bool ft_model_alive(const ft_model *m, pid_t pid);
/* Whether process pid of host is alive in the model. */
bool ft_model_alive_on(const ft_model *m, uint32_t host, pid_t pid);

/* What a /proc read found about one process. */
typedef struct ft_mstat {
  pid_t pid, ppid;
  char state;
  int threads;
  uint64_t ticks; /* user + system CPU, in clock ticks */
  uint64_t rss_kb;
  /* a rich read (rows on screen) also has these */
  bool rich;
  unsigned uid;
  const char *user; /* NULL: unknown */
  int nice;
  uint64_t io_r, io_w; /* read_bytes, write_bytes */
  bool io_known;       /* /proc/PID/io could be read */
  const char *args;    /* the command line joined by spaces; NULL or "": unknown */
} ft_mstat;

/* A zombie of the model has been reaped (or is gone): unmark it. */
void ft_model_zombie_gone(ft_model *m, pid_t pid);
/* Record a read of pid taken at time now (CPU % comes from the previous one). */
void ft_model_set_stat(ft_model *m, const ft_mstat *st, uint64_t now);
/* Free the model (NULL is a no-op). */
void ft_model_free(ft_model *m);

/* ------------------------------------------------------------ ft_scan */

/* libproc2 reads of CPU, RSS, state and threads, for the processes asked
 * for (what is on screen) plus a few others in rotation, so the totals
 * cover the whole tree without reading all of /proc every time.  The
 * processes asked for are read richly: also user, nice, I/O bytes and
 * the command line (four files each, so only for the rows on screen). */
typedef struct ft_scan ft_scan;

/* Make a scanner. */
int ft_scan_new(ft_scan **out);
/* Read the live processes among pids[0..n) and up to `extra` other live
 * processes of the model (a rotating slice), into the model, at time now. */
int ft_scan_update(ft_scan *s, ft_model *m, const pid_t *pids, size_t n, size_t extra,
                   uint64_t now);
/* Number of processes the last update read (for tests and benchmarks). */
size_t ft_scan_last_count(const ft_scan *s);
/* Free the scanner (NULL is a no-op). */
void ft_scan_free(ft_scan *s);

#endif
