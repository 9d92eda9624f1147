/* ft_guard.c - nothing a run starts outlives forktop, whatever kills it.
 *
 * SIGKILL, or any signal forktop does not catch, ends forktop without a
 * word to its children; as a subreaper it would have reaped them, but dead
 * it hands them to init, and a queue writer among them blocks forever.  So
 * a second process, the guardian, is forked at the start of a run, before
 * any of the run's processes: it does nothing until forktop is gone (a
 * pidfd of forktop becomes readable), then kills what forktop started and
 * exits.  It is a grandchild made orphan at once (double fork, new
 * session): not forktop's child, so forktop's reaping, its watch of its
 * descendants and its summary never see it; in a session of its own, the
 * terminal's Ctrl-C, Ctrl-\ and hangup never reach it.
 *
 * What forktop started is found two ways:
 * - a cgroup v2, forktop-<pid>.<start time>, made by the guardian (which stays
 *   outside) under forktop's own and entered by forktop before its first
 *   fork for the run: every process of the run is born in it, and no double fork, setsid or
 * scrubbed environment gets out.  The guardian writes 1 to its cgroup.kill, waits for "populated 0"
 * in cgroup.events and removes it (and any cgroup a nested forktop left in it).
 * - everywhere, an environment tag FORKTOP_GUARD=<pid>.<start time>, set
 *   in forktop's environment so that every program the run executes
 *   inherits it: the guardian stops and kills every process whose
 *   /proc/PID/environ holds it, round after round until none is left (a
 *   process may fork while it is being killed).  This is the whole of it
 *   without a cgroup (not root, no cgroup v2): /proc/PID/environ shows what
 *   a process was executed with, so it misses a program that scrubs its
 *   environment and a forked function's own forks that do not exec; the
 *   loop's direct children get PR_SET_PDEATHSIG (ft_guard_bind).
 * With FT_GUARD_HANGUP (a watched command's tree) the guardian first hangs
 * up every process of the run (SIGHUP, SIGCONT), as a terminal that closes
 * does, and gives it FT_GUARD_HANGUP_MS to end before it kills the rest.
 * A child may be spared (ft__spawn_opts.spare, ft_guard_outer_procs): it
 * leaves the run's cgroup, runs without the tag or a parent-death signal,
 * and outlives forktop by what it takes to end by other means (a Slurm
 * pool's srun, which must hear its remote worker end; the allocation's
 * release ends it otherwise).
 * On a normal end forktop leaves the cgroup and sends the guardian a byte;
 * the guardian kills what may be left, removes the cgroup and exits, and
 * forktop waits for that, so that nothing of the run, the guardian
 * included, is there once forktop has exited. */
#include "ft_guard.h"
#include "ft_guard_int.h"
#include "ft_internal.h"
#include "ft_tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FT__GUARD_WAIT_MS 5000              /* the longest forktop waits for the guardian */
#define FT__GUARD_KILL_NS (5 * FT_NS_PER_S) /* the longest the guardian kills */
#define FT__GUARD_HUNG 64                   /* children the kernel hangs up, known */
#define FT__GUARD_MSG_HUNG 'H'              /* then a pid and a start time */

struct ft_guard {
  pid_t pid;        /* forktop: who is guarded */
  int down;         /* ours to write: 'D' when the run ended normally */
  int up;           /* ours to read: a byte once the guardian runs, EOF once it has gone */
  int cg_parent;    /* our own cgroup's directory, or -1 */
  int cg;           /* the run's cgroup directory, or -1 */
  bool hangup;      /* FT_GUARD_HANGUP */
  char cg_name[72]; /* forktop-<tag>: no later forktop of our pid takes the name */
  char tag[64];
};

/* What the guardian holds. */
typedef struct ft__guardian {
  pid_t watched;
  int pidfd;   /* forktop's, or -1 (no pidfd here: the pipe tells) */
  bool gone;   /* forktop died before the guardian could watch it */
  bool hangup; /* SIGHUP first when forktop dies (FT_GUARD_HANGUP) */
  int down, up, cg, cg_parent;
  const char *cg_name;
  const char *tag; /* "FORKTOP_GUARD=<pid>.<start time>" */
  /* forktop's children that the kernel hangs up as it dies (their parent
   * death signal is SIGHUP): (pid, start time), told by forktop */
  struct {
    pid_t pid;
    uint64_t start_ticks;
  } hung[FT__GUARD_HUNG];
  int nhung;
} ft__guardian;

/* ------------------------------------------------------------- the tag */

/* "<pid>.<start time>": the start time (field 22 of /proc/PID/stat) tells
 * this process from a later one with its pid. */
static int ft__guard_make_tag(pid_t pid, char *buf, size_t cap) {
  ft_tree_proc self;
  int rc = ft_tree_read(pid, &self);
  if (rc < 0)
    return rc;
  snprintf(buf, cap, "%d.%llu", (int)pid, (unsigned long long)self.start_ticks);
  return 0;
}

/* SIGKILL and close pidfds[0..n); returns 0. */
static int ft__kill_all(const int *pidfds, int n) {
  for (int i = 0; i < n; i++) {
    ft__pidfd_signal(pidfds[i], SIGKILL);
    close(pidfds[i]);
  }
  return 0;
}

/* What a walk asks of each process (ft__each_proc): 1 if it is one of
 * those looked for, else 0.  pidfd holds it (-1 where there are no
 * pidfds: valgrind); fn may keep it, setting *pidfd to -1, else the walker
 * closes it. */
typedef int ft__proc_fn(const ft__guardian *a, pid_t pid, int *pidfd, void *ud);

/* Call fn for every process in /proc but the guardian and forktop; returns
 * the sum of what fn returned.  The race: a pid read from /proc may end and
 * be reused by an unrelated process at any moment, between the listing,
 * the test (its environment, its cgroup) and the signal.  So each is held
 * by a pidfd taken BEFORE it is tested: the pidfd refers to the process
 * that was there when it was opened, a signal through it reaches that
 * process or none, and a pid reused after the test is never hit.  One
 * reused between the listing and the pidfd is what the test then looks at,
 * and is signalled only if it is itself one of the run's.  Where there are
 * no pidfds (valgrind) fn signals by pid, and that race is open. */
static int ft__each_proc(const ft__guardian *a, ft__proc_fn *fn, void *ud) {
  int found = 0;
  DIR *d = opendir("/proc");
  if (!d)
    return 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    char *end;
    long pid = strtol(e->d_name, &end, 10);
    if (*end || pid <= 0 || pid == getpid() || pid == a->watched)
      continue;
    int pfd = ft__pidfd_open((pid_t)pid);
    if (pfd < 0 && errno != ENOSYS)
      continue; /* gone */
    found += fn(a, (pid_t)pid, &pfd, ud);
    if (pfd >= 0)
      close(pfd);
  }
  closedir(d);
  return found;
}

/* A sweep round's state: the environment buffer, and the pidfds of the
 * processes it stopped and has yet to kill. */
typedef struct ft__sweep_walk {
  char **buf;
  size_t *cap;
  int fds[256], n;
} ft__sweep_walk;

/* A tagged process: SIGSTOP it and keep its pidfd for the SIGKILL. */
static int ft__sweep_one(const ft__guardian *a, pid_t pid, int *pidfd, void *ud) {
  ft__sweep_walk *w = ud;
  if (!ft__proc_tagged(pid, a->tag, w->buf, w->cap))
    return 0;
  if (*pidfd < 0) { /* no pidfds here (valgrind): by pid */
    kill(pid, SIGKILL);
    return 1;
  }
  ft__pidfd_signal(*pidfd, SIGSTOP);
  w->fds[w->n++] = *pidfd;
  *pidfd = -1;
  if (w->n == (int)FT_ARRAY_LEN(w->fds))
    w->n = ft__kill_all(w->fds, w->n);
  return 1;
}

/* One round: SIGSTOP every tagged process (so none forks on while its
 * kin are being found), then SIGKILL them.  Returns how many were found. */
static int ft__sweep_round(const ft__guardian *a, char **buf, size_t *cap) {
  ft__sweep_walk w = {.buf = buf, .cap = cap, .n = 0};
  int found = ft__each_proc(a, ft__sweep_one, &w);
  ft__kill_all(w.fds, w.n);
  return found;
}

static void ft__sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
  }
}

/* Kill every tagged process, until a round finds none (or time is up). */
static void ft__sweep(const ft__guardian *a, uint64_t deadline) {
  char *buf = NULL;
  size_t cap = 0;
  while (ft__sweep_round(a, &buf, &cap) > 0 && ft_now_ns() < deadline)
    ft__sleep_ms(2);
  free(buf);
}

/* ------------------------------------------------------------- cgroups */

/* Where cgroup v2 is mounted (with its root at /): /sys/fs/cgroup on a
 * unified system, /sys/fs/cgroup/unified on a hybrid one, else the first. */
static int ft__cgroup2_mount(char *out, size_t cap) {
  FILE *f = fopen("/proc/self/mountinfo", "re");
  if (!f)
    return -errno;
  char line[4096];
  int rank = 0;
  while (fgets(line, sizeof line, f)) {
    char root[PATH_MAX], mnt[PATH_MAX];
    const char *sep = strstr(line, " - ");
    if (!sep || strncmp(sep + 3, "cgroup2 ", 8) != 0)
      continue;
    if (sscanf(line, "%*s %*s %*s %4095s %4095s", root, mnt) != 2 || strcmp(root, "/") != 0)
      continue;
    int r = strcmp(mnt, "/sys/fs/cgroup") == 0           ? 3
            : strcmp(mnt, "/sys/fs/cgroup/unified") == 0 ? 2
                                                         : 1;
    if (r > rank && strlen(mnt) < cap) {
      rank = r;
      snprintf(out, cap, "%s", mnt);
    }
  }
  fclose(f);
  return rank ? 0 : -ENOENT;
}

/* Our own cgroup v2 path ("0::PATH" in /proc/self/cgroup). */
static int ft__cgroup_own(char *out, size_t cap) {
  FILE *f = fopen("/proc/self/cgroup", "re");
  if (!f)
    return -errno;
  char line[PATH_MAX + 16];
  int rc = -ENOENT;
  while (rc < 0 && fgets(line, sizeof line, f)) {
    if (strncmp(line, "0::/", 4) != 0)
      continue;
    line[strcspn(line, "\n")] = '\0';
    if (strlen(line + 3) < cap) {
      snprintf(out, cap, "%s", line + 3);
      rc = 0;
    }
  }
  fclose(f);
  return rc;
}

/* See ft_guard.h. */
int ft_guard_outer_procs(void) {
  char mnt[PATH_MAX], own[PATH_MAX], path[PATH_MAX];
  int rc;
  if ((rc = ft__cgroup2_mount(mnt, sizeof mnt)) < 0 || (rc = ft__cgroup_own(own, sizeof own)) < 0)
    return rc;
  char *slash = strrchr(own, '/');
  if (!slash || strncmp(slash + 1, "forktop-", 8) != 0)
    return -ENOENT; /* not in a run's cgroup */
  *slash = '\0';
  if ((size_t)snprintf(path, sizeof path, "%s%s/cgroup.procs", mnt, own) >= sizeof path)
    return -ENAMETOOLONG;
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  return fd < 0 ? -errno : fd;
}

/* Write a short string to dir/file; 0 or -errno. */
static int ft__cg_write(int dir, const char *file, const char *s) {
  int fd = openat(dir, file, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  ssize_t n = write(fd, s, strlen(s));
  int rc = n < 0 ? -errno : 0;
  close(fd);
  return rc;
}

/* Move process pid into the cgroup at dir. */
static int ft__cg_enter(int dir, pid_t pid) {
  char s[32];
  snprintf(s, sizeof s, "%d\n", (int)pid);
  return ft__cg_write(dir, "cgroup.procs", s);
}

/* Where the run's cgroup goes: forktop-<pid>.<start time> under our own
 * cgroup (the guardian makes it: see ft__cg_make).  Under our own, not
 * beside it: a forktop run inside a run stays inside the outer run's
 * cgroup (and is killed with it), and a cgroup that holds processes may
 * always have a child cgroup that gets them (v2's no-internal-process
 * rule only bars it when controllers are enabled below, which a cgroup
 * with processes in it cannot have).  The start time makes the name this
 * run's alone: the guardian finds the run's processes by the name
 * (ft__proc_in_cg) and removes the cgroup by it.  With the pid alone
 * (before), a guardian still hanging up a run whose forktop had died
 * (FT_GUARD_HANGUP_MS) took a later forktop that got the same pid, and
 * the cgroup it made again under the same name, for its own: it hung up
 * that forktop and its command, which it had nothing to do with. */
static int ft__cgroup_locate(ft_guard *g) {
  char mnt[PATH_MAX], own[PATH_MAX], dir[PATH_MAX];
  int rc;
  if ((rc = ft__cgroup2_mount(mnt, sizeof mnt)) < 0 || (rc = ft__cgroup_own(own, sizeof own)) < 0)
    return rc;
  if ((size_t)snprintf(dir, sizeof dir, "%s%s", mnt, strcmp(own, "/") ? own : "") >= sizeof dir)
    return -ENAMETOOLONG;
  snprintf(g->cg_name, sizeof g->cg_name, "forktop-%s", g->tag);
  if ((g->cg_parent = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
    return -errno;
  return 0;
}

/* In the guardian: make the run's cgroup and open it; the fd, or -1.  The
 * guardian makes it, not forktop, so that no moment exists where the
 * cgroup is there and nobody would remove it if forktop died.  Its name
 * holds forktop's pid and start time, so one left under that name could
 * only be this forktop's own; it is reused if it is empty (rmdir fails
 * when it is not), never taken over with processes in it. */
static int ft__cg_make(int parent, const char *name) {
  if (mkdirat(parent, name, 0755) < 0 &&
      (errno != EEXIST || unlinkat(parent, name, AT_REMOVEDIR) < 0 ||
       mkdirat(parent, name, 0755) < 0))
    return -1;
  int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    unlinkat(parent, name, AT_REMOVEDIR);
  return fd;
}

/* Remove dir/name and the cgroups below it, deepest first. */
static void ft__cg_remove(int dir, const char *name, int depth) {
  int fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d = fd >= 0 && depth < 32 ? fdopendir(fd) : NULL;
  if (d) {
    struct dirent *e;
    while ((e = readdir(d)))
      if (e->d_type == DT_DIR && strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
        ft__cg_remove(fd, e->d_name, depth + 1);
    closedir(d);
  } else if (fd >= 0) {
    close(fd);
  }
  unlinkat(dir, name, AT_REMOVEDIR);
}

/* Whether the cgroup (or one below it) still holds a process. */
static bool ft__cg_populated(int cg) {
  char buf[256];
  int fd = openat(cg, "cgroup.events", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  buf[n > 0 ? n : 0] = '\0';
  return n > 0 && !strstr(buf, "populated 0");
}

/* Kill everything in the cgroup, wait until it is empty, remove it.
 * Without cgroup.kill (before Linux 5.14) its processes are killed one by
 * one, round after round. */
static void ft__cg_kill(const ft__guardian *a, uint64_t deadline) {
  bool bulk = ft__cg_write(a->cg, "cgroup.kill", "1") == 0;
  while (ft__cg_populated(a->cg) && ft_now_ns() < deadline) {
    FILE *f = bulk ? NULL : fdopen(openat(a->cg, "cgroup.procs", O_RDONLY | O_CLOEXEC), "re");
    int pid;
    while (f && fscanf(f, "%d", &pid) == 1)
      kill(pid, SIGKILL);
    if (f)
      fclose(f);
    ft__sleep_ms(2);
  }
  ft__cg_remove(a->cg_parent, a->cg_name, 0);
}

/* -------------------------------------------------------------- hangup */

/* Whether pid is one of the run's: in its cgroup, or tagged. */
static bool ft__proc_ours(const ft__guardian *a, pid_t pid, char **buf, size_t *cap) {
  return (a->cg >= 0 && ft__proc_in_cg(pid, a->cg_name)) || ft__proc_tagged(pid, a->tag, buf, cap);
}

/* Whether the kernel hung pid up already: one of forktop's children with
 * SIGHUP for its parent's death (ft_guard_bind), still the same process,
 * whose credentials did not change since (which would have cleared it). */
static bool ft__kernel_hung(const ft__guardian *a, pid_t pid) {
  for (int i = 0; i < a->nhung; i++) {
    ft_tree_proc tp;
    if (a->hung[i].pid == pid)
      return ft_tree_read(pid, &tp) == 0 && tp.start_ticks == a->hung[i].start_ticks &&
             ft__same_creds(pid);
  }
  return false;
}

/* A hangup round's state: the environment buffer, and whether to hang
 * up or only count. */
typedef struct ft__hangup_walk {
  char **buf;
  size_t *cap;
  bool hangup;
} ft__hangup_walk;

/* One of the run's: SIGHUP, then SIGCONT (see ft__hangup_round). */
static int ft__hangup_one(const ft__guardian *a, pid_t pid, int *pidfd, void *ud) {
  const ft__hangup_walk *w = ud;
  if (!ft__proc_ours(a, pid, w->buf, w->cap))
    return 0;
  for (int i = w->hangup && ft__kernel_hung(a, pid); w->hangup && i < 2; i++) {
    int signo = i ? SIGCONT : SIGHUP;
    if (*pidfd >= 0)
      ft__pidfd_signal(*pidfd, signo);
    else
      kill(pid, signo); /* no pidfds here (valgrind): by pid */
  }
  return 1;
}

/* Each process of the run, once: SIGHUP, then SIGCONT (so that a stopped
 * one gets its hangup), as a terminal that closes sends them to its
 * session; hangup false only counts them.  One the kernel hung up as
 * forktop died (its parent death signal) gets SIGCONT alone: a program
 * that counts its hangups hears one, as from a terminal.  Each is held by
 * a pidfd from before it is checked (ft__each_proc).  The race: a process
 * may fork while the walk goes on, and its child be missed (it is born
 * after its pid's place in /proc was passed, or gets no hangup of its
 * own); the kill that follows the hangup takes it, as it takes whatever
 * ignores SIGHUP.  Returns how many were found. */
static int ft__hangup_round(const ft__guardian *a, bool hangup, char **buf, size_t *cap) {
  ft__hangup_walk w = {.buf = buf, .cap = cap, .hangup = hangup};
  return ft__each_proc(a, ft__hangup_one, &w);
}

/* Hang up the run (FT_GUARD_HANGUP) and wait, at most
 * FT_GUARD_HANGUP_MS, until nothing of it is left alive. */
static void ft__hangup(const ft__guardian *a) {
  char *buf = NULL;
  size_t cap = 0;
  uint64_t until = ft_now_ns() + (uint64_t)FT_GUARD_HANGUP_MS * 1000000u;
  ft__hangup_round(a, true, &buf, &cap);
  while (ft_now_ns() < until &&
         ((a->cg >= 0 && ft__cg_populated(a->cg)) || ft__hangup_round(a, false, &buf, &cap) > 0))
    ft__sleep_ms(10);
  free(buf);
}

/* ------------------------------------------------------------ guardian */

/* Close every fd but keep[] (sorted), in runs. */
static void ft__close_all_but(const int *keep, int n) {
  unsigned lo = 0;
  for (int i = 0; i <= n; i++) {
    unsigned hi = i < n ? (unsigned)keep[i] : ~0u;
    if (hi > lo && syscall(SYS_close_range, lo, hi - 1, 0) < 0)
      for (unsigned fd = lo; fd < hi && fd < 65536; fd++)
        close((int)fd);
    lo = hi + 1;
  }
}

/* The rest of a FT__GUARD_MSG_HUNG message: a pid and its start time
 * (written whole: less than PIPE_BUF). */
static void ft__guard_read_hung(ft__guardian *a) {
  char msg[sizeof(int32_t) + sizeof(uint64_t)];
  size_t got = 0;
  while (got < sizeof msg) {
    ssize_t n = read(a->down, msg + got, sizeof msg - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return;
    got += (size_t)n;
  }
  if (a->nhung == FT__GUARD_HUNG)
    return; /* past that many, the rest get the guardian's hangup too */
  int32_t pid;
  memcpy(&pid, msg, sizeof pid);
  a->hung[a->nhung].pid = pid;
  memcpy(&a->hung[a->nhung].start_ticks, msg + sizeof pid, sizeof(uint64_t));
  a->nhung++;
}

static int ft__int_cmp(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

/* The guardian: no terminal, no signal of the terminal's, no fd but its
 * own; waits for forktop's end, then kills what it started and exits. */
static _Noreturn void ft__guardian_main(ft__guardian *a) {
  static const int ignored[] = {SIGINT,  SIGTERM, SIGHUP,  SIGQUIT,
                                SIGTSTP, SIGTTIN, SIGTTOU, SIGPIPE};
  for (int s = 1; s < NSIG; s++)
    if (s != SIGKILL && s != SIGSTOP)
      signal(s, SIG_DFL);
  for (size_t i = 0; i < FT_ARRAY_LEN(ignored); i++)
    signal(ignored[i], SIG_IGN);
  prctl(PR_SET_NAME, "forktop-guard");
  ft__guard_untag_self();
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  for (int t = 0; t < 3 && null >= 0; t++)
    dup2(null, t);
  int keep[] = {0, 1, 2, a->pidfd, a->down, a->up, a->cg, a->cg_parent};
  qsort(keep, FT_ARRAY_LEN(keep), sizeof *keep, ft__int_cmp);
  int nkeep = 0;
  for (size_t i = 0; i < FT_ARRAY_LEN(keep); i++)
    if (keep[i] >= 0 && (nkeep == 0 || keep[nkeep - 1] != keep[i]))
      keep[nkeep++] = keep[i];
  ft__close_all_but(keep, nkeep);
  if (chdir("/") < 0) {
    /* nothing holds a mount busy either way but the cwd */
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  if (a->cg_parent >= 0)
    a->cg = ft__cg_make(a->cg_parent, a->cg_name);
  char ready = a->cg >= 0 ? 'C' : 'E'; /* a cgroup, or the environment tag alone */
  while (write(a->up, &ready, 1) < 0 && errno == EINTR) {
  }

  /* Wait for forktop's end (its pidfd is readable), its word that the
   * run ended ('D'), or the end of the pipe: only forktop holds its write
   * end (the loop's children close it as they start, ft_guard_bind), so
   * EOF too means forktop is gone, or let go without a word.  Where there
   * is no pidfd (valgrind), the pipe alone tells.  Before that, forktop
   * may tell of children the kernel will hang up (ft__guard_on_event). */
  struct pollfd p[2] = {{.fd = a->pidfd, .events = POLLIN}, {.fd = a->down, .events = POLLIN}};
  bool ended = false; /* forktop said the run ended: nothing to hang up */
  while (!a->gone) {
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR)
        continue;
      break;
    }
    if (p[0].revents)
      break;
    if (p[1].revents) {
      char c = 0;
      ssize_t n = read(a->down, &c, 1);
      if (n == 1 && c == FT__GUARD_MSG_HUNG) {
        ft__guard_read_hung(a);
        continue;
      }
      ended = n == 1 && c == 'D';
      if (n >= 0 || (errno != EINTR && errno != EAGAIN))
        break; /* 'D', EOF or a broken pipe */
    }
  }
  /* What forktop told before it died and was not read yet (its pidfd
   * woke us first): the children the kernel hangs up. */
  struct pollfd more = {.fd = a->down, .events = POLLIN};
  char c = 0;
  while (!ended && poll(&more, 1, 0) == 1 && read(a->down, &c, 1) == 1 && c == FT__GUARD_MSG_HUNG)
    ft__guard_read_hung(a);
  if (a->hangup && !ended)
    ft__hangup(a);
  uint64_t deadline = ft_now_ns() + FT__GUARD_KILL_NS;
  if (a->cg >= 0)
    ft__cg_kill(a, deadline);
  ft__sweep(a, deadline);
  _exit(0);
}

/* ---------------------------------------------------------------- start */

/* Fork the guardian (a double fork: see the top).  The race: forktop may
 * die before its pidfd is open, and its pid be reused.  So the middle
 * process, forktop's child, opens the pidfd and then checks that its
 * parent is still forktop: if so, the pidfd is forktop's; if not, forktop
 * is gone already and the guardian acts at once. */
static int ft__guard_fork(ft_guard *g, int down_r, int up_w) {
  char tagenv[sizeof g->tag + sizeof FT_GUARD_ENV + 1];
  snprintf(tagenv, sizeof tagenv, "%s=%s", FT_GUARD_ENV, g->tag);
  ft__guardian a = {.watched = g->pid,
                    .pidfd = -1,
                    .down = down_r,
                    .up = up_w,
                    .cg = g->cg,
                    .cg_parent = g->cg_parent,
                    .cg_name = g->cg_name,
                    .tag = tagenv,
                    .hangup = g->hangup};
  /* A subreaper (ft_loop_new makes us one) would adopt the guardian: we
   * are none while it is made. */
  int subreaper = 0;
  if (prctl(PR_GET_CHILD_SUBREAPER, &subreaper) < 0)
    subreaper = 0;
  if (subreaper)
    prctl(PR_SET_CHILD_SUBREAPER, 0);
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  fflush(stdout);
  fflush(stderr);
  pid_t mid = fork();
  if (mid == 0) {
    a.pidfd = ft__pidfd_open(g->pid);
    a.gone = getppid() != g->pid;
    setsid();
    pid_t gd = fork();
    if (gd == 0)
      ft__guardian_main(&a);
    _exit(gd < 0 ? 1 : 0);
  }
  int err = mid < 0 ? errno : 0;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (mid < 0) {
    if (subreaper)
      prctl(PR_SET_CHILD_SUBREAPER, 1);
    return -err;
  }
  int status = 0;
  while (waitpid(mid, &status, 0) < 0 && errno == EINTR) {
  }
  if (subreaper)
    prctl(PR_SET_CHILD_SUBREAPER, 1);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EAGAIN;
}

/* Wait until fd is readable (or hung up), at most ms; true if it is. */
static bool ft__wait_readable(int fd, int ms) {
  uint64_t until = ft_now_ns() + (uint64_t)ms * 1000000u;
  for (;;) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    uint64_t now = ft_now_ns();
    if (now >= until)
      return false;
    int r = poll(&p, 1, (int)((until - now) / 1000000u) + 1);
    if (r > 0)
      return true;
    if (r < 0 && errno != EINTR)
      return false;
  }
}

static void ft__guard_close_fd(int *fd) {
  if (*fd >= 0) {
    close(*fd);
    *fd = -1;
  }
}

static void ft__guard_close(ft_guard *g) {
  ft__guard_close_fd(&g->down);
  ft__guard_close_fd(&g->up);
  ft__guard_close_fd(&g->cg);
  ft__guard_close_fd(&g->cg_parent);
}

/* Start guarding this process (see ft_guard.h). */
int ft_guard_start(unsigned flags, ft_guard **out) {
  int down[2] = {-1, -1}, up[2] = {-1, -1}, rc;
  ft_guard *g = ft__xalloc(sizeof *g);
  *out = NULL;
  if (!g)
    return -ENOMEM;
  g->pid = getpid();
  g->down = g->up = g->cg = g->cg_parent = -1;
  g->hangup = flags & FT_GUARD_HANGUP;
  if ((rc = ft__guard_make_tag(g->pid, g->tag, sizeof g->tag)) < 0)
    goto fail;
  if (!(flags & FT_GUARD_NO_CGROUP))
    ft__cgroup_locate(g); /* without a cgroup, the tag alone holds the run */
  if (pipe2(down, O_CLOEXEC) < 0 || pipe2(up, O_CLOEXEC) < 0) {
    rc = -errno;
    goto fail;
  }
  if ((rc = ft__guard_fork(g, down[0], up[1])) < 0)
    goto fail;
  close(down[0]);
  close(up[1]);
  g->down = down[1];
  g->up = up[0];
  down[0] = down[1] = up[0] = up[1] = -1;
  char ready = 0;
  if (!ft__wait_readable(g->up, FT__GUARD_WAIT_MS) || read(g->up, &ready, 1) != 1) {
    rc = -ECHILD;
    goto fail;
  }
  /* In the cgroup from here on, and so is everything we start; the
   * guardian stays outside.  If we cannot enter it, the tag holds the run
   * (and the guardian removes the empty cgroup at the end). */
  if (ready == 'C')
    g->cg = openat(g->cg_parent, g->cg_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (g->cg >= 0 && ft__cg_enter(g->cg, g->pid) < 0) {
    close(g->cg);
    g->cg = -1;
  }
  /* Every program the run executes inherits the tag (setenv changes
   * environ, which exec passes on; our own /proc/PID/environ keeps what
   * we were started with, so the guardian never takes us for the run). */
  if (setenv(FT_GUARD_ENV, g->tag, 1) < 0) {
    rc = -errno;
    goto fail;
  }
  *out = g;
  return 0;

fail:
  for (int i = 0; i < 2; i++) {
    if (down[i] >= 0)
      close(down[i]);
    if (up[i] >= 0)
      close(up[i]);
  }
  /* A guardian that runs cleans up once the pipe ends, and kills the
   * cgroup: out of it first, or (if we cannot) silent until we exit. */
  if (g->cg >= 0 && ft__cg_enter(g->cg_parent, g->pid) < 0)
    g->down = -1;
  ft__guard_close(g);
  free(g);
  return rc;
}

/* One of the loop's own children was forked with SIGHUP for our death
 * (ft_loop_set_parent_death_signal, as watch mode asks): the kernel hangs
 * it up as we die, so the guardian is told, lest it hang it up a second
 * time.  The race: should we die between the fork and this message, the
 * guardian does not know, and the child may hear two hangups. */
static void ft__guard_on_event(const ft_event *ev, void *ud) {
  ft_loop *loop = ud;
  ft_tree_proc tp;
  if (ev->kind != FT_EV_SPAWN || loop->pdeath_signal != SIGHUP || loop->guard_fds[0] < 0 ||
      !ft__ptab_get(loop, ev->pid) || ft_tree_read(ev->pid, &tp) < 0)
    return;
  char msg[1 + sizeof(int32_t) + sizeof(uint64_t)];
  int32_t pid = ev->pid;
  msg[0] = FT__GUARD_MSG_HUNG;
  memcpy(msg + 1, &pid, sizeof pid);
  memcpy(msg + 1 + sizeof pid, &tp.start_ticks, sizeof tp.start_ticks);
  while (write(loop->guard_fds[0], msg, sizeof msg) < 0 && errno == EINTR) {
  }
}

/* The loop's forked children close the guard's pipes (as they close the
 * loop's own fds) and die with us.  PR_SET_PDEATHSIG fires when the
 * parent THREAD exits, not the process: right only because forktop runs
 * its loop on its one and only thread. */
void ft_guard_bind(ft_guard *g, ft_loop *loop) {
  if (!g)
    return;
  loop->guard_fds[0] = g->down;
  loop->guard_fds[1] = g->up;
  ft_loop_set_parent_death_signal(loop, SIGKILL);
  if (g->hangup)
    ft_loop_add_hook(loop, ft__guard_on_event, loop); /* without it, two hangups at worst */
}

/* The run is over (see ft_guard.h). */
void ft_guard_free(ft_guard *g) {
  if (!g)
    return;
  /* Leave the cgroup before the guardian kills it; if we cannot, say
   * nothing: it cleans up once we have exited. */
  bool told = false;
  if (g->pid == getpid() && (g->cg < 0 || ft__cg_enter(g->cg_parent, g->pid) == 0)) {
    char c = 'D';
    told = write(g->down, &c, 1) == 1;
  }
  /* The guardian holds the other end of up until it exits: EOF then. */
  char c;
  while (told && ft__wait_readable(g->up, FT__GUARD_WAIT_MS) && read(g->up, &c, 1) > 0) {
  }
  /* Untold, the guardian must not see the pipe end before we do: it
   * would kill the cgroup we are still in.  The fd goes with us. */
  if (!told && g->pid == getpid())
    g->down = -1;
  ft__guard_close(g);
  free(g);
}
