/* ft_workload.h - workload files (INI, read with libinih) parsed into a plan
 * that the runner executes.  The format is documented in workloads/README.md.
 *
 * A plan is plain data: the parser validates everything (unknown sections,
 * keys and task kinds, bad numbers and durations, duplicates, queues used
 * but not declared, cycles in `after`) so the runner never meets a bad one. */
#ifndef FT_WORKLOAD_H
#define FT_WORKLOAD_H

#include "forktop.h"

/* What one step of a task or a process does. */
typedef enum ft_step_kind {
  FT_STEP_SLEEP, /* sleep d_min (or uniform in [d_min, d_max]) seconds */
  FT_STEP_CPU,   /* n units of fixed CPU work */
  FT_STEP_ALLOC, /* allocate and touch n bytes, hold for d_min seconds */
  FT_STEP_PRINT, /* print text ({} -> the item) to stdout */
  FT_STEP_EXEC,  /* run argv ({} -> the item) and wait; shell: argv is {"sh","-c",cmd} */
  FT_STEP_FAIL,  /* the task fails with code n */
  FT_STEP_CRASH, /* the process kills itself with signal n */
  FT_STEP_LEAK,  /* fork a child that sleeps d_min seconds and outlives its parent */
  FT_STEP_PUT,   /* put values (or count items of size bytes) on queue, pace d_min apart */
  FT_STEP_GET,   /* get count items (0: until the queue closes) from queue; print them */
  FT_STEP_RELAY  /* get from queue, put on queue2, until queue closes */
} ft_step_kind;

typedef struct ft_step {
  ft_step_kind kind;
  double prob;         /* chance this step runs, 0..1 (the "N%" suffix); 1 by default */
  double d_min, d_max; /* durations in seconds; d_max > d_min means a random range */
  uint64_t n;          /* cpu units, alloc bytes, fail code, crash signal, put/get count */
  uint64_t size;       /* put: bytes of each generated item */
  char *text;          /* print: the text */
  char **argv;         /* exec: NULL-terminated */
  int queue;           /* put / get / relay: index into plan->queues, else -1 */
  int queue2;          /* relay: destination queue, else -1 */
  char **values;       /* put: explicit items (NULL-terminated), or NULL */
  bool print;          /* get / relay: print each item */
} ft_step;

typedef enum ft_submit {
  FT_SUBMIT_APPLY_ASYNC,
  FT_SUBMIT_MAP,
  FT_SUBMIT_MAP_ASYNC,
  FT_SUBMIT_STARMAP,
  FT_SUBMIT_IMAP,
  FT_SUBMIT_IMAP_UNORDERED
} ft_submit;

/* Where a pool's workers run. */
typedef enum ft_hosts {
  FT_HOSTS_LOCAL, /* forked children, shared memory (the default) */
  FT_HOSTS_TCP,   /* separate processes over loopback TCP: the remote path, tested locally */
  FT_HOSTS_SLURM  /* Slurm job steps on `nodes` nodes of one allocation, over TCP */
} ft_hosts;

/* A pool's items read, as a streamed items file's are, from a descriptor
 * its caller opened and reads for it (forktop map's stdin), by the
 * caller's rules: every string that sep ends is an item, an empty one too,
 * the last one with or without its sep; with sep '\n' a NUL byte in a
 * line is an error.  Named by the pool's items_stream (with items_from
 * "-"); the plan does not own it. */
typedef struct ft_items_stream {
  int fd;           /* read from here; the caller's, never closed */
  const char *name; /* in messages: "stdin" says "stdin:LINE: ..." */
  char sep;         /* what ends an item: '\n', or '\0' (find -print0) */
  const char *pre;  /* bytes the caller read from fd already, taken first */
  size_t npre;      /* at most 65536 */
  /* each item (numbered from 0) as it is read, before the pool takes it */
  void (*on_item)(void *ud, uint64_t index, const char *item, size_t len);
  void *ud;
  char err[300]; /* set by the runner: what ended the stream with an error */
} ft_items_stream;

typedef struct ft_plan_pool {
  char *name;
  int line;    /* where its section starts */
  int workers; /* 0: online CPUs */
  ft_submit submit;
  size_t chunksize; /* 0: Python's rule */
  unsigned maxtasksperchild;
  char **items; /* the items, as strings (count N gives "0".."N-1") */
  size_t nitems;
  char *items_from; /* or, streamed one a line as the pool runs: a file's path, or "-" (stdin) */
  ft_items_stream *items_stream; /* or, with items_from "-": read from there (not owned) */
  ft_step *steps;                /* what each task does, in order */
  size_t nsteps;
  char *after;            /* start when this process or pool has finished, or NULL */
  double chaos_kill_rate; /* SIGKILL a random busy worker this many times a second */
  ft_hosts hosts;         /* where the workers run */
  char *bind;             /* tcp, slurm: the address to listen on; NULL: auto (127.0.0.1 for
                             tcp, the one that routes to the nodes for slurm) */
  int nodes;              /* slurm: how many nodes */
  char **slurm_args;      /* slurm: more arguments for salloc, NULL-terminated, or NULL */
  double heartbeat;       /* tcp: seconds a worker may be silent before it is killed; 0: 3 s */
} ft_plan_pool;

typedef struct ft_plan_process {
  char *name;
  int line;
  int count;      /* instances (name.1, name.2, ... when > 1) */
  ft_step *steps; /* what it does, in order */
  size_t nsteps;
  char *after;     /* start when this process or pool has finished, or NULL */
  char *stop_when; /* SIGTERM it when this process or pool has finished, or NULL */
} ft_plan_process;

typedef struct ft_plan_queue {
  char *name;
  int line;
  size_t capacity;   /* items */
  size_t bytes;      /* payload bytes */
  char *close_after; /* close it when this process or pool has finished, or NULL */
} ft_plan_queue;

typedef struct ft_plan {
  char *path;
  char *name;
  char *description;
  uint64_t seed;
  ft_plan_pool *pools;
  size_t npools;
  ft_plan_process *procs;
  size_t nprocs;
  ft_plan_queue *queues;
  size_t nqueues;
  char *text;  /* the workload's text as read (what a remote worker is sent) */
  char **sets; /* the overrides it was parsed with (sent too) */
  size_t nsets;
} ft_plan;

/* Parse the workload file at path, applying overrides ("key=value" or
 * "section.key=value", as given to -s).  On error returns a negative code
 * and leaves one "file:line: what is wrong" line in err. */
int ft_plan_load(const char *path, char *const *overrides, size_t noverrides, ft_plan **out,
                 ft_buf *err);
/* Parse from a string (tests, fuzzing); name is used in messages. */
int ft_plan_parse(const char *name, const char *text, char *const *overrides, size_t noverrides,
                  ft_plan **out, ft_buf *err);
/* Parse the text of a workload for a remote worker: only what tasks run
 * (items are neither read nor required).  Errors as ft_plan_parse. */
int ft_plan_parse_tasks(const char *name, const char *text, char *const *overrides,
                        size_t noverrides, ft_plan **out, ft_buf *err);
/* Free a plan. */
void ft_plan_free(ft_plan *plan);

/* Whether a pool of n workers may be asked for: 0, or FT_EINVAL with why
 * in why (more than a pool takes, or more than the process limit allows,
 * ulimit -u, which binds no root).  There is no other fixed maximum. */
int ft_plan_workers_check(uint64_t n, ft_buf *why);

/* Parse a duration ("1.5", "250ms", "2s", "1m", "1h"): seconds in *out; 0 or FT_EINVAL. */
int ft_parse_duration(const char *s, double *out);
/* Parse a size ("4096", "64K", "1M", "2G"; powers of 1024): bytes in *out. */
int ft_parse_size(const char *s, uint64_t *out);

/* Commands over items (ft_plan_cmd.c). */
/* Does text hold an item placeholder: {} (the item), {.} (without its
 * extension), {/} (basename), {//} (directory), {/.} (basename without
 * extension), {#} (the task's number from 1)? */
bool ft_plan_has_placeholder(const char *text);
/* text with the item's placeholders replaced (each as one shell word when
 * quote is set), {#} by seq, {pid} and {ppid} by the caller's; *out is
 * malloc'd. */
int ft_plan_subst(const char *text, const char *item, uint64_t seq, bool quote, char **out);
/* The argv an exec step with template tmpl runs for item (in `sh -c CMD`
 * the item is one shell word of CMD); free it with ft_plan_argv_free. */
int ft_plan_exec_argv(char *const *tmpl, const char *item, uint64_t seq, char ***out);
/* Free an argv from ft_plan_exec_argv; NULL is a no-op. */
void ft_plan_argv_free(char **argv);
/* A plan of one pool (named name, workers wide, 0: the online CPUs) running
 * argv once per item, without a shell; the item is appended as the last
 * argument when argv holds no placeholder.  FT_EINVAL: empty command. */
int ft_plan_command_pool(const char *name, char *const *argv, char *const *items, size_t nitems,
                         int workers, ft_plan **out);

#endif
