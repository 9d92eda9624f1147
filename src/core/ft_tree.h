/* ft_tree.h - reading a process tree from /proc (descendants, states, names). */
#ifndef FT_TREE_H
#define FT_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct ft_tree_proc {
  pid_t pid, ppid;
  char state; /* R, S, D, Z, T, ... */
  char comm[64];
  uint64_t start_ticks; /* after boot, in clock ticks */
  uint64_t cpu_ticks;   /* user + system */
  uint64_t rss_kb;
} ft_tree_proc;

typedef struct ft_tree {
  ft_tree_proc *procs;
  size_t n, cap;
} ft_tree;

/* Read one process; 0 or -errno (-ENOENT when it is gone). */
int ft_tree_read(pid_t pid, ft_tree_proc *p);
/* Its command line with spaces for NULs; "" when it has none (a zombie, a kernel thread). */
void ft_tree_cmdline(pid_t pid, char *buf, size_t cap);
/* Every descendant of root, parents before children; t is reused between scans. */
int ft_tree_scan(pid_t root, ft_tree *t);
/* Index of pid in t, or -1. */
ssize_t ft_tree_find(const ft_tree *t, pid_t pid);
/* Release a scan. */
void ft_tree_free(ft_tree *t);
/* Seconds a process started at start_ticks has lived. */
double ft_tree_age(uint64_t start_ticks);
/* The CLOCK_MONOTONIC time (ns, the clock of event time stamps) of a start
 * at start_ticks; 0 if it cannot be told. */
uint64_t ft_tree_start_ns(uint64_t start_ticks);

#define FT_PIPE_ENDS 16

/* One end of a pipe: who holds it, as which fd, reading or writing. */
typedef struct ft_pipe_end {
  pid_t pid;
  int fd;
  bool write;
  char comm[32];
} ft_pipe_end;

typedef struct ft_pipe {
  uint64_t inode;
  ft_pipe_end ends[FT_PIPE_ENDS];
  size_t nends;
} ft_pipe;

/* The pipes pid holds, each with its ends held by pid or by processes in
 * among[]; *out is malloc'd (free it). */
int ft_tree_pipes(pid_t pid, const pid_t *among, size_t namong, ft_pipe **out, size_t *nout);
/* Bytes read and written so far by pid (rchar, wchar of /proc/PID/io). */
int ft_tree_io(pid_t pid, uint64_t *rchar, uint64_t *wchar);

#endif
