/* ft_tree.c - the descendants of a process, read from /proc: for watching
 * a tree forktop did not build, and for `forktop check`. */
#include "ft_tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
             "%c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d %llu %*u %ld",
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
  if (t->n == t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 64;
    ft_tree_proc *v = realloc(t->procs, cap * sizeof *v);
    if (!v)
      return -ENOMEM;
    t->procs = v;
    t->cap = cap;
  }
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
