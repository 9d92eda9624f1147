/* ft_child.c - forking children with clean hands and capturing their
 * output line by line; reaping them (and any orphan handed to us) is
 * ft_child_reap.c. */
#include "ft_internal.h"
#include "ft_spawn.h"
#include "ft_sys.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

_Static_assert(sizeof(ft__child) <= FT__SLAB_BLOCK, "a child's record fits a slab block");
_Static_assert(sizeof(ft__stream) <= FT__SLAB_BLOCK, "a stream fits a slab block");
_Static_assert(sizeof(ft__watch) <= FT__SLAB_BLOCK, "a watch fits a slab block");

/* ------------------------------------------------------------- spawning */

/* Child and parent ends of one standard stream. */

static int ft__stdio_prepare(ft_loop *loop, const ft_stdio *io, int target, ft__fdpair *p) {
  p->child = p->parent = -1;
  p->to_stdout = p->borrowed = p->late = false;
  ft_stdio_mode mode = io->mode;
  if (mode == FT_STDIO_DEFAULT)
    mode = target == 0 ? FT_STDIO_NULL : FT_STDIO_CAPTURE;
  int rdonly = target == 0;
  switch (mode) {
  case FT_STDIO_NULL:
    p->child = loop->devnull;
    p->borrowed = true;
    return 0;
  case FT_STDIO_CAPTURE:
    if (target == 0)
      return FT_EINVAL;
    /* fallthrough */
  case FT_STDIO_PIPE: {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0)
      return -errno;
    p->child = rdonly ? fds[0] : fds[1];
    p->parent = rdonly ? fds[1] : fds[0];
    /* Only the parent's end is non-blocking; the child's stays blocking. */
    if (fcntl(p->parent, F_SETFL, O_NONBLOCK) < 0)
      return -errno;
    return 0;
  }
  case FT_STDIO_INHERIT:
    return 0;
  case FT_STDIO_FILE: {
    if (!io->path)
      return FT_EINVAL;
    int fl = rdonly ? O_RDONLY : (O_WRONLY | O_CREAT | (io->append ? O_APPEND : O_TRUNC));
    p->child = open(io->path, fl | O_CLOEXEC, 0666);
    return p->child < 0 ? -errno : 0;
  }
  case FT_STDIO_FD:
    if (io->fd < 0)
      return FT_EINVAL;
    p->child = fcntl(io->fd, F_DUPFD_CLOEXEC, 3);
    return p->child < 0 ? -errno : 0;
  case FT_STDIO_STDOUT:
    if (target != 2)
      return FT_EINVAL;
    p->to_stdout = true;
    return 0;
  default:
    return FT_EINVAL;
  }
}

static void ft__fdpair_close(ft__fdpair *p) {
  if (p->child >= 0 && !p->borrowed)
    close(p->child);
  if (p->parent >= 0)
    close(p->parent);
  p->child = p->parent = -1;
}

static void ft__child_write_errno(int fd, int err) {
  while (ft__sys_write(fd, &err, sizeof err) == -EINTR) {
  }
}

/* The code a child runs between fork and its function or exec is kept
 * together, in one section (GCC and clang put "hot" functions at the
 * front of .text): a child maps each page of code it runs with a fault
 * of its own, and spread over the file this path took three. */
#define FT__CHILD_PATH __attribute__((hot, noinline))

/* In a forked function's child: close what ft__loop_child_fds listed, a
 * run of consecutive fds (the usual case: they were opened one after the
 * other) in one call. */
static inline void ft__child_close_fds(const ft__fdlist *l) {
  for (size_t i = 0; i < l->n;) {
    size_t j = i;
    while (j + 1 < l->n && l->fds[j + 1] <= l->fds[j] + 1)
      j++;
    if (ft__sys_close_range((unsigned)l->fds[i], (unsigned)l->fds[j]) < 0)
      for (size_t k = i; k <= j; k++)
        ft__sys_close(l->fds[k]);
    i = j + 1;
  }
}

/* Parse the hex mask after "key" in /proc/self/status text. */
static uint64_t ft__status_mask(const char *text, const char *key) {
  const char *p = strstr(text, key);
  uint64_t m = 0;
  if (!p)
    return ~0ull;
  for (p += strlen(key); *p == '\t' || *p == ' '; p++) {
  }
  for (; *p && *p != '\n'; p++) {
    int d = *p >= '0' && *p <= '9' ? *p - '0' : *p >= 'a' && *p <= 'f' ? *p - 'a' + 10 : -1;
    if (d < 0)
      return ~0ull;
    m = m << 4 | (uint64_t)d;
  }
  return m;
}

/* The signals that are caught or ignored (bit s-1 for signal s).  The
 * kernel says which in /proc/self/status (one read instead of 64
 * sigactions); if it cannot be read, every signal counts.  SIGKILL and
 * SIGSTOP cannot be reset, and the C library's own real-time signals
 * (below SIGRTMIN) are the library's business, so none of them count. */
static uint64_t ft__handled_signals(ft_loop *loop) {
  char *text = loop->scratch->status;
  uint64_t mask = ~0ull;
  int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ssize_t n = read(fd, text, sizeof loop->scratch->status - 1);
    close(fd);
    if (n > 0) {
      text[n] = '\0';
      mask = ft__status_mask(text, "SigIgn:") | ft__status_mask(text, "SigCgt:");
    }
  }
  mask &= ~(1ull << (SIGKILL - 1) | 1ull << (SIGSTOP - 1));
  for (int s = 32; s < SIGRTMIN && s <= 64; s++)
    mask &= ~(1ull << (s - 1));
  return mask;
}

/* Whether f holds output not yet written.  __fpending would say, but in a
 * child that is one more libc page to fault in (see ft_sys.h); glibc's
 * FILE shows it directly. */
static bool ft__pending(FILE *f) {
#ifdef __GLIBC__
  return f->_IO_write_ptr > f->_IO_write_base;
#else
  return __fpending(f) > 0;
#endif
}

/* Append s (at most its first max bytes) to d[*n] within cap (keeping a NUL's room). */
static inline void ft__title_put(char *d, size_t *n, size_t cap, const char *s, size_t max) {
  for (size_t i = 0; i < max && s[i] && *n + 1 < cap; i++)
    d[(*n)++] = s[i];
}

/* A forked function's child names itself after what it is, so that ps,
 * top, htop and pkill tell the workers apart: "forktop: pool main worker
 * 3", "forktop: process writer".  The short name (comm: 15 bytes, what
 * top and plain pkill see) is "main/3" or "writer" (PR_SET_NAME).  The
 * command line is the argv area, overwritten in place as setproctitle
 * does, only as far as the title goes: a NUL after it and the area's last
 * byte set non-NUL, which makes the kernel read /proc/PID/cmdline as the
 * one string up to that NUL (the old arguments behind it stay unread).
 * The area is this child's own copy (a fork): one page is copied when it
 * is written.  No printf here: its code would be paged in by every child. */
FT__CHILD_PATH static void ft__child_retitle(const ft__spawn_opts *o, const ft__forkinfo *fi) {
  char t[160], num[12];
  size_t n = 0, k = 0;
  const char *name = o->name ? o->name : "";
  /* o->role is "worker", compared without strcmp: its first call here
   * would cost the dynamic linker's lookup in every child. */
  const char *r = o->role ? o->role : "";
  bool worker = r[0] == 'w' && r[1] == 'o' && r[2] == 'r' && r[3] == 'k' && r[4] == 'e' &&
                r[5] == 'r' && r[6] == '\0' && o->worker >= 0;
  for (unsigned v = worker ? (unsigned)o->worker : 0; k == 0 || v; v /= 10)
    num[k++] = (char)('0' + v % 10);
  char digits[12];
  for (size_t i = 0; i < k; i++)
    digits[i] = num[k - 1 - i];
  digits[k] = '\0';
  char comm[16];
  size_t c = 0;
  ft__title_put(comm, &c, sizeof comm, name, 64);
  if (worker) {
    /* the number is what tells workers apart: the name is cut to leave it room */
    c = c + 1 + k < sizeof comm ? c : sizeof comm - 2 - k;
    ft__title_put(comm, &c, sizeof comm, "/", 1);
    ft__title_put(comm, &c, sizeof comm, digits, k);
  }
  comm[c] = '\0';
  if (c)
    ft__sys4(SYS_prctl, 15 /* PR_SET_NAME */, (long)comm, 0, 0);
  if (!fi->title_at)
    return;
  ft__title_put(t, &n, sizeof t, fi->prog, 32);
  ft__title_put(t, &n, sizeof t, ": ", 2);
  ft__title_put(t, &n, sizeof t, worker ? "pool" : o->role ? o->role : "process", 32);
  if (*name) {
    ft__title_put(t, &n, sizeof t, " ", 1);
    ft__title_put(t, &n, sizeof t, name, 100);
  }
  if (worker) {
    ft__title_put(t, &n, sizeof t, " worker ", 8);
    ft__title_put(t, &n, sizeof t, digits, k);
  }
  size_t cap = fi->title_cap; /* at least 2 */
  if (n > cap - 1)
    n = cap - 1;
  memcpy(fi->title_at, t, n);
  fi->title_at[n] = '\0';
  if (n + 1 < cap)
    fi->title_at[cap - 1] = ' ';
}

/* In a batch's child: make the pipes of the streams captured late and send
 * both ends of each home (the read end to watch, the write end to hold),
 * with our index in the batch, in one message; keep the write ends.  The
 * read end is made non-blocking here, on its own open file (the write
 * end's stays blocking): two system calls a child fewer for the parent,
 * which makes them one after the other. */
FT__CHILD_PATH static long ft__child_late_pipes(ft__fdpair io[3], int sock, int index) {
  int fds[4], n = 0;
  long err = 0;
  for (int t = 1; t < 3 && !err; t++)
    if (io[t].late && !(err = ft__sys_pipe2(&fds[n], O_CLOEXEC))) {
      io[t].child = fds[n + 1];
      n += 2;
      err = ft__sys4(SYS_fcntl, fds[n - 2], F_SETFL, O_NONBLOCK, 0); /* 0 or -errno */
    }
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(sizeof fds)];
  } u;
  struct iovec iov = {.iov_base = &index, .iov_len = sizeof index};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
  if (!err && n) {
    m.msg_control = u.buf;
    m.msg_controllen = CMSG_SPACE((size_t)n * sizeof(int));
    u.h.cmsg_level = SOL_SOCKET;
    u.h.cmsg_type = SCM_RIGHTS;
    u.h.cmsg_len = CMSG_LEN((size_t)n * sizeof(int));
    for (int k = 0; k < n; k++) /* no memcpy: one more libc page */
      ((int *)(void *)CMSG_DATA(&u.h))[k] = fds[k];
  }
  if (!err)
    err = ft__sys_sendmsg(sock, &m, MSG_NOSIGNAL);
  for (int k = 0; k < n; k += 2)
    ft__sys_close(fds[k]); /* the read ends are the parent's now */
  return err < 0 ? err : 0;
}

/* Runs in the child between fork and exec (or the target function):
 * default signal dispositions, an empty mask, stdio in place, the parent's
 * loop fds closed.  Leaves only with exec or _exit.  Up to the function or
 * the exec, every system call is made inline (ft_sys.h). */
FT__CHILD_PATH static void ft__child_main(const ft__spawn_opts *o, ft__fdpair io[3], int errfd,
                                          const ft__forkinfo *fi, int index) {
  long err = 0;
  for (int s = 1; s <= 64; s++)
    if ((fi->handled >> (s - 1)) & 1)
      ft__sys_sigdefault(s);
  ft__sys_unblock_all();
  /* Die with the loop's process when asked (ft_loop_set_parent_death_signal,
   * ft_guard_bind).  The signal is asked for first and the parent checked
   * after: had it died between the fork and the prctl, the child would
   * already belong to another reaper and no signal would ever come, so it
   * sends itself the signal.  The kernel sends it when the forking THREAD
   * ends: right only because the loop's thread is the program's only one
   * (forktop's is). */
  if (o->spare && o->spare_fd >= 0)
    ft__sys_write(o->spare_fd, "0", 1); /* out of the run's cgroup: see ft_guard_outer_procs */
  if (fi->pdeath && !o->spare) {
    ft__sys_pdeathsig(fi->pdeath);
    if (ft__sys_getppid() != fi->parent)
      ft__sys4(SYS_kill, ft__sys4(SYS_getpid, 0, 0, 0, 0), fi->pdeath, 0, 0);
  }
  if (fi->sock >= 0 && (err = ft__child_late_pipes(io, fi->sock, index)) < 0)
    goto fail;

  /* Lift child ends out of 0..2 first so that dup2 never clobbers one. */
  for (int t = 0; t < 3; t++)
    if (io[t].child >= 0 && io[t].child < 3) {
      long fd = ft__sys_dupfd_cloexec(io[t].child, 3);
      if ((err = fd) < 0)
        goto fail;
      io[t].child = (int)fd;
    }
  for (int t = 0; t < 3; t++)
    if (io[t].child >= 0 && (err = ft__sys_dup2(io[t].child, t)) < 0)
      goto fail;
  if (io[2].to_stdout && (err = ft__sys_dup2(1, 2)) < 0)
    goto fail;
  if (o->cwd && (err = ft__sys_chdir(o->cwd)) < 0)
    goto fail;

  if (o->argv) {
    if (o->envp)
      execvpe(o->argv[0], o->argv, o->envp);
    else
      execvp(o->argv[0], o->argv);
    err = -errno;
    goto fail;
  }
  /* A forked function: the parent's loop is not ours to use. */
  ft__child_retitle(o, fi);
  ft__child_close_fds(fi->close);
  for (int t = 0; t < 3; t++)
    if (io[t].child >= 3 && !io[t].borrowed)
      ft__sys_close(io[t].child);
  int rc = o->target(o->arg);
  /* Flush what the function printed, as Python does before os._exit: only
   * stdout and stderr, since the parent's other FILEs may hold unflushed
   * data of the parent's that must not be written twice. */
  if (ft__pending(stdout))
    fflush(stdout);
  if (ft__pending(stderr))
    fflush(stderr);
  ft__sys_exit(rc & 0xff);

fail:
  if (errfd >= 0)
    ft__child_write_errno(errfd, (int)-err);
  ft__sys_exit(127);
}

/* Wait for the child's report over the close-on-exec pipe: EOF means exec
 * (or setup, for a function) succeeded, an int is the errno of the failure. */
static int ft__read_exec_result(int fd) {
  int err = 0;
  ssize_t n;
  do
    n = read(fd, &err, sizeof err);
  while (n < 0 && errno == EINTR);
  return n == (ssize_t)sizeof err ? -err : 0;
}

/* Undo a preparation (the fork failed, or never happened). */
void ft__spawn_abort(ft_loop *loop, ft__prep *s) {
  for (int t = 0; t < 3; t++)
    ft__fdpair_close(&s->io[t]);
  for (int e = 0; e < 2; e++)
    if (s->errpipe[e] >= 0)
      close(s->errpipe[e]);
  for (int t = 1; t < 3 && s->c; t++)
    if (s->c->streams[t]) {
      ft__watch_close(loop, s->c->streams[t]->w);
      ft__slab_free(loop->slab, s->c->streams[t]);
    }
  ft__child_free(s->c);
  s->c = NULL;
}

/* Everything but the fork: the child's record, its stdio (pipes and the
 * watches on their parent ends) and, for an argv, the exec report pipe. */
int ft__spawn_prepare(ft_loop *loop, const ft__spawn_opts *o, ft__prep *s, bool late) {
  *s = (ft__prep){.io = {{-1, -1, false, false}, {-1, -1, false, false}, {-1, -1, false, false}},
                  .errpipe = {-1, -1}};
  if (!o->target == !o->argv)
    return FT_EINVAL;
  ft__child *c = s->c = ft__slab_alloc(loop->slab);
  if (!c)
    return -ENOMEM;
  c->loop = loop;
  c->slab = loop->slab;
  c->pidfd = -1;
  c->pipe_fd[0] = c->pipe_fd[1] = c->pipe_fd[2] = -1;
  c->worker = o->worker;
  c->role = o->role ? o->role : "process";
  c->name = ft__name_dup(o->name   ? o->name
                         : o->argv ? o->argv[0]
                                   : "process",
                         c->namebuf, sizeof c->namebuf);
  c->on_exit = o->on_exit;
  c->owner = o->owner;
  c->errtail = o->errtail_cap ? o->errtail : NULL;
  c->errtail_cap = o->errtail_cap;
  c->ppid = loop->pid;
  int rc = c->name ? 0 : -ENOMEM;
  const ft_stdio *ios[3] = {&o->in, &o->out, &o->err};
  for (int t = 0; t < 3 && !rc; t++) {
    ft_stdio_mode mode = ios[t]->mode;
    if (late && t > 0 && (mode == FT_STDIO_DEFAULT || mode == FT_STDIO_CAPTURE)) {
      s->io[t].late = true; /* the child makes the pipe (ft__spawn_batch) */
      continue;
    }
    if ((rc = ft__stdio_prepare(loop, ios[t], t, &s->io[t])) < 0 || s->io[t].parent < 0)
      continue;
    ft_stdio_mode m = ios[t]->mode == FT_STDIO_DEFAULT ? FT_STDIO_CAPTURE : ios[t]->mode;
    if (t > 0 && m == FT_STDIO_CAPTURE) {
      if (!(c->streams[t] = ft__stream_new(c, t, s->io[t].parent))) {
        rc = -ENOMEM;
        continue;
      }
    } else {
      c->pipe_fd[t] = s->io[t].parent;
    }
    s->io[t].parent = -1;
  }
  if (!rc && o->argv && pipe2(s->errpipe, O_CLOEXEC) < 0)
    rc = -errno;
  if (rc)
    ft__spawn_abort(loop, s);
  return rc;
}

/* Get ready to fork: flush the caller's stdout and stderr if forked
 * functions are to run (functions: the fds they close; NULL for an exec),
 * block every signal, and read which signals the child must reset.
 *
 * The flush, as Python's multiprocessing does before it forks: output the
 * parent had buffered would otherwise be written again by every child.
 * (Dropping it in the child instead cost each child two faults, on libc's
 * code and on the FILE.)  An exec'd child drops it with the rest of its
 * memory, so then there is nothing to flush.
 *
 * Signals are blocked across fork so that no handler of ours runs in the
 * child before it has reset the dispositions.  Which those are is read
 * here, in the parent, not in the child: there every page written after
 * the fork is a copy-on-write fault, and /proc/self/status needs a page of
 * buffer.  With every signal blocked nothing of ours can install a handler
 * in between; the engine is single-threaded, so only another thread of the
 * application could, and a handler it caught would be reset by exec
 * anyway. */
void ft__fork_begin(ft_loop *loop, const ft__fdlist *functions, sigset_t *old, ft__forkinfo *fi) {
  if (functions && ft__pending(stdout))
    fflush(stdout);
  if (functions && ft__pending(stderr))
    fflush(stderr);
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, old);
  fi->handled = ft__handled_signals(loop);
  fi->close = functions;
  fi->sock = -1;
  fi->pdeath = loop->pdeath_signal;
  fi->parent = loop->pid;
  if (functions && !loop->title_known)
    ft__title_area(loop);
  fi->title_at = functions && loop->title_cap ? loop->title_at : NULL;
  fi->title_cap = loop->title_cap;
  fi->prog = loop->title_prog;
  fi->split = NULL;
}

int ft__split_test_die_after = -1;

#ifdef SYS_clone3
/* clone3's arguments, as far as the version we use (CLONE_ARGS_SIZE_VER0). */
typedef struct ft__clone_args {
  uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
} ft__clone_args;
#endif

/* In a batch's first child, before anything else: fork the siblings the
 * parent handed us (ft__spawn_batch), as its children, not ours
 * (CLONE_PARENT), so that two CPUs fork the batch at once.
 *
 * The kernel writes each sibling's pid into the shared slot as it makes
 * it (CLONE_PARENT_SETTID), before the sibling runs and before clone3
 * returns: killed at any point, we cannot leave the parent a child it does
 * not know of.  A slot left at 0 was not forked, and the parent forks it
 * itself; so does a clone3 this kernel lacks (ENOSYS), or a refusal.
 *
 * clone3 is not libc's fork, which tells the kernel where the thread's
 * cached tid lives (CLONE_CHILD_SETTID) and registers the child's
 * robust-mutex list anew: both are done here by hand, from where the
 * kernel says they are in us (our list is empty: fork emptied it).
 * Without them a robust mutex the sibling locks would bear our tid, and
 * the sibling's death while holding it would go unnoticed. */
FT__CHILD_PATH static void ft__split_forks(const ft__forkinfo *fi) {
  const ft__split *sp = fi->split;
#ifdef SYS_clone3
  int *tid_at = NULL;
  void *robust = NULL;
  size_t robust_len = 0;
  if (ft__sys4(SYS_prctl, PR_GET_TID_ADDRESS, (long)&tid_at, 0, 0) == 0 && tid_at &&
      ft__sys4(SYS_get_robust_list, 0, (long)&robust, (long)&robust_len, 0) == 0)
    for (int k = 0; k < sp->n; k++) {
      ft__split_slot *sl = &sp->slot[k];
      if (k == ft__split_test_die_after)
        break;
      if (sl->s.index < 0)
        continue; /* its preparation failed */
      sl->start_ns = ft_now_ns();
      ft__clone_args ca = {.flags = CLONE_PARENT | CLONE_PARENT_SETTID | CLONE_CHILD_SETTID |
                                    CLONE_CHILD_CLEARTID,
                           .parent_tid = (uintptr_t)&sl->pid,
                           .child_tid = (uintptr_t)tid_at};
      long pid = ft__sys4(SYS_clone3, (long)&ca, sizeof ca, 0, 0);
      if (pid == 0) {
        ft__sys4(SYS_set_robust_list, (long)robust, (long)robust_len, 0, 0);
        ft__forkinfo mine_fi = *fi;
        mine_fi.split = NULL;
        mine_fi.sock = sl->sock;
        ft__spawn_opts snap = sl->o;
        ft__prep mine = sl->s;
        if (mine.errpipe[0] >= 0)
          ft__sys_close(mine.errpipe[0]);
        ft__child_main(&snap, mine.io, mine.errpipe[1], &mine_fi, mine.index);
      }
      if (pid < 0)
        break; /* the parent forks the rest */
    }
#endif
  if (ft__split_test_die_after >= 0)
    ft__sys4(SYS_kill, ft__sys4(SYS_getpid, 0, 0, 0, 0), SIGKILL, 0, 0);
  char one = 1;
  ft__sys_write(sp->done, &one, 1);
}

/* Fork a prepared child; in the parent, its pid or -errno (the signal mask
 * is the caller's to restore). */
FT__CHILD_PATH pid_t ft__spawn_fork(const ft__spawn_opts *o, ft__prep *s, const ft__forkinfo *fi) {
  s->c->start_ns = ft_now_ns();
  /* The child reads its copies on the stack: a batch's arrays are not
   * forked (ft__xalloc_nofork). */
  ft__spawn_opts snap = *o;
  ft__prep mine = *s;
  pid_t pid = fork();
  if (pid == 0) {
    if (mine.errpipe[0] >= 0)
      ft__sys_close(mine.errpipe[0]);
    if (fi->split)
      ft__split_forks(fi);
    ft__child_main(&snap, mine.io, mine.errpipe[1], fi, mine.index);
  }
  return pid < 0 ? -errno : pid;
}

/* The parent's side once the child runs: its table entry and pidfd, the
 * spawn event and, for an argv, the exec's report. */
int ft__spawn_finish(ft_loop *loop, const ft__spawn_opts *o, ft__prep *s, pid_t pid,
                     ft__child **out) {
  ft__child *c = s->c;
  c->pid = pid;
  if (s->errpipe[1] >= 0)
    close(s->errpipe[1]);
  /* The parent keeps the child's end of each captured pipe until the child
   * is reaped.  The kernel closes an exiting child's files before it
   * reports the exit, so otherwise every child would wake us twice as it
   * dies: once for the end of its output, once for its exit, each a round
   * of context switches (on this kind of machine the dearest part of a
   * short-lived child).  Held, the pipe ends when we close our copy at the
   * reap, after its last bytes were read; a grandchild that still holds
   * it keeps the stream open, as before.
   *
   * Each hold is an fd, two more per live child.  fds are numbered lowest
   * first, so a high number means many are in use: past half the limit
   * the end is closed as it used to be, and a spawn never fails for want
   * of an fd that a hold took. */
  for (int t = 1; t < 3; t++)
    if (c->streams[t] && s->io[t].child < loop->hold_below) {
      c->streams[t]->hold = s->io[t].child;
      s->io[t].child = -1;
    }
  for (int t = 0; t < 3; t++)
    ft__fdpair_close(&s->io[t]);
  ft__ptab_put(loop, c); /* cannot fail: room was reserved */
  loop->live_children++;
  /* Without a pidfd (an old kernel, valgrind), signals go by pid and exits
   * are still seen through SIGCHLD. */
  c->pidfd = ft__pidfd_open(pid);
  if (c->pidfd >= 0 && !(c->pidw = ft__watch_new(loop, c->pidfd, EPOLLIN, ft__on_pidfd, c, true))) {
    close(c->pidfd);
    c->pidfd = -1;
  }

  ft_event ev = {
      .kind = FT_EV_SPAWN, .pid = pid, .ppid = c->ppid, .name = c->name, .t_ns = c->start_ns};
  ev.u.spawn.role = c->role;
  ev.u.spawn.worker = o->worker;
  ev.u.spawn.argv = (const char *const *)o->argv; /* what it execs (NULL: a function) */
  ft__emit(loop, &ev);

  if (o->argv) {
    int rc = ft__read_exec_result(s->errpipe[0]);
    close(s->errpipe[0]);
    ft_event ex = {.kind = FT_EV_EXEC, .pid = pid, .ppid = c->ppid, .name = c->name};
    ex.u.exec.path = o->argv[0];
    ex.u.exec.err = rc;
    ex.u.exec.argv = (const char *const *)o->argv;
    ft__emit(loop, &ex);
    if (rc < 0) {
      /* The child is about to _exit(127): reap it now so its exit is
       * reported before the caller hears of the failure. */
      siginfo_t si;
      memset(&si, 0, sizeof si);
      while (waitid(P_PID, (id_t)pid, &si, WEXITED) < 0 && errno == EINTR) {
      }
      c->on_exit = NULL;
      ft__dispatch_exit(loop, c, &si);
      c->released = true;
      ft__child_maybe_free(c);
      return rc;
    }
  }
  *out = c;
  return 0;
}

int ft__spawn_check(ft_loop *loop) {
  int rc = ft__loop_check(loop);
  return rc == FT_EBUSY ? 0 : rc; /* spawning from a callback is fine: it does not turn the loop */
}

/* Fork a child as o describes.  For an argv, an exec failure comes back as
 * -errno (the child is reaped here and its exit reported).
 *
 * Everything that can be written before the fork is: after it, every
 * private page the parent writes is a copy-on-write fault (about 25 us on
 * this kind of machine), so the parent's post-fork work is kept to the
 * pid, the table entry and the pidfd, and what it writes sits in shared
 * memory (the slab, the pid table) where it can. */
int ft__spawn(ft_loop *loop, const ft__spawn_opts *o, ft__child **out) {
  int rc = ft__spawn_check(loop);
  ft__prep s;
  if (rc || (rc = ft__spawn_prepare(loop, o, &s, false)) < 0)
    return rc;
  /* The child reads its options from this copy on the stack: o may sit in
   * the slab, shared memory it has not mapped and whose later contents
   * are the parent's. */
  ft__spawn_opts snap = *o;
  ft__fdlist fl = {.fds = fl.inline_fds};
  if ((rc = ft__ptab_reserve(loop, 1)) < 0 ||
      (o->target && (rc = ft__loop_child_fds(loop, o->keep_fds, o->nkeep, NULL, 0, &fl)) < 0)) {
    ft__fdlist_free(&fl);
    ft__spawn_abort(loop, &s);
    return rc;
  }
  sigset_t old;
  ft__forkinfo fi;
  ft__fork_begin(loop, o->target ? &fl : NULL, &old, &fi);
  pid_t pid = ft__spawn_fork(&snap, &s, &fi);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  ft__fdlist_free(&fl);
  if (pid < 0) {
    ft__spawn_abort(loop, &s);
    return pid;
  }
  return ft__spawn_finish(loop, o, &s, pid, out);
}
