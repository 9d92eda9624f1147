/* ft_tree.c - the descendants of a process, read from /proc: for watching
 * a tree forktop did not build, and for `forktop check`. */
#include "ft_tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ft_internal.h"

/* Read /proc/PID/stat: state, ppid, start time (clock ticks after boot).
 * The command name sits in parentheses and may itself hold ") ", so the
 * fields are taken after the last ')'. */
int ft_tree_read(pid_t pid, ft_tree_proc *p) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0)
    return -ESRCH;
  buf[n] = '\0';
  char *open_paren = strchr(buf, '('), *close_paren = strrchr(buf, ')');
  if (!open_paren || !close_paren || close_paren < open_paren)
    return -EINVAL;
  memset(p, 0, sizeof *p);
  p->pid = pid;
  size_t cl = (size_t)(close_paren - open_paren - 1);
  if (cl >= sizeof p->comm)
    cl = sizeof p->comm - 1;
  memcpy(p->comm, open_paren + 1, cl);
  p->comm[cl] = '\0';
  int ppid;
  unsigned long long start = 0, utime = 0, stime = 0;
  long rss = 0;
  /* state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
   * utime stime cutime cstime priority nice threads itrealvalue starttime vsize rss */
  if (sscanf(close_paren + 2,
             "%c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d %llu %*u "
             "%ld",
             &p->state, &ppid, &utime, &stime, &start, &rss) < 5)
    return -EINVAL;
  p->ppid = ppid;
  p->start_ticks = start;
  p->cpu_ticks = utime + stime;
  p->rss_kb = (uint64_t)(rss > 0 ? rss : 0) * (uint64_t)(sysconf(_SC_PAGESIZE) / 1024);
  return 0;
}

/* The command line, NULs turned to spaces (the comm when it has none). */
void ft_tree_cmdline(pid_t pid, char *buf, size_t cap) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  ssize_t n = fd >= 0 ? read(fd, buf, cap - 1) : -1;
  if (fd >= 0)
    close(fd);
  if (n <= 0) {
    buf[0] = '\0';
    return;
  }
  while (n > 0 && buf[n - 1] == '\0')
    n--;
  for (ssize_t i = 0; i < n; i++)
    if (buf[i] == '\0')
      buf[i] = ' ';
  buf[n] = '\0';
}

static int ft__tree_push(ft_tree *t, const ft_tree_proc *p) {
  if (ft__grow((void **)&t->procs, &t->cap, t->n, sizeof *t->procs) < 0)
    return -ENOMEM;
  t->procs[t->n++] = *p;
  return 0;
}

/* Add the children of pid (every thread's) to t, then theirs, breadth first. */
static int ft__tree_children(ft_tree *t, pid_t pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
  DIR *d = opendir(path);
  if (!d)
    return 0; /* gone meanwhile */
  struct dirent *e;
  int rc = 0;
  while (rc == 0 && (e = readdir(d))) {
    if (e->d_name[0] == '.')
      continue;
    char cpath[320];
    snprintf(cpath, sizeof cpath, "/proc/%d/task/%s/children", (int)pid, e->d_name);
    FILE *f = fopen(cpath, "re");
    if (!f)
      continue;
    int child;
    while (rc == 0 && fscanf(f, "%d", &child) == 1) {
      ft_tree_proc p;
      if (ft_tree_read(child, &p) == 0)
        rc = ft__tree_push(t, &p);
    }
    fclose(f);
  }
  closedir(d);
  return rc;
}

/* Every descendant of root (root itself not included), parents before children. */
int ft_tree_scan(pid_t root, ft_tree *t) {
  t->n = 0;
  int rc = ft__tree_children(t, root);
  for (size_t i = 0; rc == 0 && i < t->n; i++)
    rc = ft__tree_children(t, t->procs[i].pid);
  return rc;
}

/* Index of pid in t, or -1. */
ssize_t ft_tree_find(const ft_tree *t, pid_t pid) {
  for (size_t i = 0; i < t->n; i++)
    if (t->procs[i].pid == pid)
      return (ssize_t)i;
  return -1;
}

/* Release the scan's memory. */
void ft_tree_free(ft_tree *t) {
  if (!t)
    return;
  free(t->procs);
  t->procs = NULL;
  t->n = t->cap = 0;
}

/* Seconds since boot of a start time in clock ticks. */
double ft_tree_age(uint64_t start_ticks) {
  double up = 0;
  FILE *f = fopen("/proc/uptime", "re");
  if (f) {
    if (fscanf(f, "%lf", &up) != 1)
      up = 0;
    fclose(f);
  }
  double start = (double)start_ticks / (double)sysconf(_SC_CLK_TCK);
  return up > start ? up - start : 0;
}

/* /proc gives a start in clock ticks after boot (CLOCK_BOOTTIME, which
 * counts suspended time too); events stamp CLOCK_MONOTONIC.  The age is
 * the same on both clocks, so the start is now minus the age. */
uint64_t ft_tree_start_ns(uint64_t start_ticks) {
  struct timespec boot, mono;
  long hz = sysconf(_SC_CLK_TCK);
  if (hz <= 0 || clock_gettime(CLOCK_BOOTTIME, &boot) < 0 ||
      clock_gettime(CLOCK_MONOTONIC, &mono) < 0)
    return 0;
  uint64_t boot_ns = (uint64_t)boot.tv_sec * 1000000000ull + (uint64_t)boot.tv_nsec;
  uint64_t mono_ns = (uint64_t)mono.tv_sec * 1000000000ull + (uint64_t)mono.tv_nsec;
  uint64_t start = start_ticks * (1000000000ull / (uint64_t)hz);
  uint64_t age = boot_ns > start ? boot_ns - start : 0;
  return mono_ns > age ? mono_ns - age : 0;
}

/* ---------------------------------------------------------------- pipes */

/* The inode of fd's pipe, and whether fd writes to it; 0 if not a pipe. */
static uint64_t ft__pipe_inode(pid_t pid, const char *fd, bool *write) {
  char path[96], target[64];
  snprintf(path, sizeof path, "/proc/%d/fd/%.16s", (int)pid, fd);
  ssize_t n = readlink(path, target, sizeof target - 1);
  if (n <= 0)
    return 0;
  target[n] = '\0';
  unsigned long long ino;
  if (sscanf(target, "pipe:[%llu]", &ino) != 1)
    return 0;
  snprintf(path, sizeof path, "/proc/%d/fdinfo/%.16s", (int)pid, fd);
  FILE *f = fopen(path, "re");
  unsigned flags = 0;
  char line[128];
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "flags: %o", &flags) == 1)
      break;
  if (f)
    fclose(f);
  *write = (flags & O_ACCMODE) == O_WRONLY;
  return ino;
}

typedef struct ft__pfd {
  uint64_t inode;
  ft_pipe_end end;
} ft__pfd;

/* Every pipe end pid holds. */
static int ft__pipe_ends(pid_t pid, ft__pfd **v, size_t *n, size_t *cap) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
  DIR *d = opendir(path);
  if (!d)
    return -errno;
  char comm[32];
  ft__read_comm(pid, comm, sizeof comm);
  struct dirent *e;
  while ((e = readdir(d))) {
    bool w;
    uint64_t ino = e->d_name[0] == '.' ? 0 : ft__pipe_inode(pid, e->d_name, &w);
    if (!ino)
      continue;
    if (*n == *cap) {
      size_t nc = *cap ? *cap * 2 : 32;
      ft__pfd *nv = realloc(*v, nc * sizeof *nv);
      if (!nv) {
        closedir(d);
        return -ENOMEM;
      }
      *v = nv;
      *cap = nc;
    }
    ft__pfd *p = &(*v)[(*n)++];
    p->inode = ino;
    p->end = (ft_pipe_end){.pid = pid, .fd = atoi(e->d_name), .write = w};
    snprintf(p->end.comm, sizeof p->end.comm, "%s", comm);
  }
  closedir(d);
  return 0;
}

/* The pipes pid holds, each with every end held by pid or by a process in
 * among[] (the tree on screen): who writes into what pid reads, and back. */
int ft_tree_pipes(pid_t pid, const pid_t *among, size_t namong, ft_pipe **out, size_t *nout) {
  ft__pfd *mine = NULL, *others = NULL;
  size_t nm = 0, cm = 0, no = 0, co = 0;
  *out = NULL;
  *nout = 0;
  int rc = ft__pipe_ends(pid, &mine, &nm, &cm);
  for (size_t i = 0; rc == 0 && i < namong; i++)
    if (among[i] != pid)
      ft__pipe_ends(among[i], &others, &no, &co); /* gone meanwhile: fine */
  ft_pipe *pipes = rc == 0 ? calloc(nm ? nm : 1, sizeof *pipes) : NULL;
  if (!pipes) {
    free(mine);
    free(others);
    return rc < 0 ? rc : -ENOMEM;
  }
  size_t np = 0;
  for (size_t i = 0; i < nm; i++) {
    ft_pipe *p = NULL;
    for (size_t k = 0; k < np; k++)
      if (pipes[k].inode == mine[i].inode)
        p = &pipes[k];
    if (!p) {
      p = &pipes[np++];
      p->inode = mine[i].inode;
      for (size_t k = 0; k < no && p->nends < FT_PIPE_ENDS; k++)
        if (others[k].inode == p->inode)
          p->ends[p->nends++] = others[k].end;
    }
    if (p->nends < FT_PIPE_ENDS)
      p->ends[p->nends++] = mine[i].end;
  }
  free(mine);
  free(others);
  *out = pipes;
  *nout = np;
  return 0;
}

/* Bytes a process has read and written so far (/proc/PID/io). */
int ft_tree_io(pid_t pid, uint64_t *rchar, uint64_t *wchar) {
  char path[64], line[128];
  snprintf(path, sizeof path, "/proc/%d/io", (int)pid);
  FILE *f = fopen(path, "re");
  if (!f)
    return -errno;
  unsigned long long v;
  int got = 0;
  while (fgets(line, sizeof line, f)) {
    if (sscanf(line, "rchar: %llu", &v) == 1) {
      *rchar = v;
      got++;
    } else if (sscanf(line, "wchar: %llu", &v) == 1) {
      *wchar = v;
      got++;
    }
  }
  fclose(f);
  return got == 2 ? 0 : -EINVAL;
}
