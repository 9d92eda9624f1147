/* ft_loop.c - the supervisor loop: epoll over a signalfd, fd watches,
 * timers (ft_loop_timer.c), before-sleep hooks and event hooks. */
#include "ft_internal.h"
#include "ft_sys.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void ft__on_signalfd(ft_loop *loop, ft__watch *w, uint32_t events);
static void ft__prepares_compact(ft_loop *loop);
static void ft__user_watch_cb(ft_loop *loop, ft__watch *w, uint32_t events);

/* ------------------------------------------------------------- watches */

ft__watch *ft__watch_new(ft_loop *loop, int fd, uint32_t events, ft__watch_cb cb, void *data,
                         bool own_fd) {
  ft__watch *w = ft__slab_alloc(loop->slab);
  if (!w) {
    errno = ENOMEM;
    return NULL;
  }
  w->fd = fd;
  w->events = events;
  w->cb = cb;
  w->data = data;
  w->own_fd = own_fd;
  struct epoll_event ev = {.events = events, .data.ptr = w};
  if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
    int e = errno;
    ft__slab_free(loop->slab, w);
    errno = e;
    return NULL;
  }
  w->next = loop->watches;
  if (loop->watches)
    loop->watches->prev = w;
  loop->watches = w;
  return w;
}

int ft__watch_modify(ft_loop *loop, ft__watch *w, uint32_t events) {
  struct epoll_event ev = {.events = events, .data.ptr = w};
  if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, w->fd, &ev) < 0)
    return -errno;
  w->events = events;
  return 0;
}

/* Remove from epoll, close the fd if owned, and free at the end of the turn. */
void ft__watch_close(ft_loop *loop, ft__watch *w) {
  if (!w || w->closed)
    return;
  epoll_ctl(loop->epfd, EPOLL_CTL_DEL, w->fd, NULL);
  if (w->own_fd)
    close(w->fd);
  w->closed = true;
  if (w->prev)
    w->prev->next = w->next;
  else
    loop->watches = w->next;
  if (w->next)
    w->next->prev = w->prev;
  w->prev = NULL;
  w->next = loop->closed;
  loop->closed = w;
}

static void ft__watches_free_closed(ft_loop *loop) {
  while (loop->closed) {
    ft__watch *w = loop->closed;
    loop->closed = w->next;
    ft__slab_free(loop->slab, w);
  }
}

/* ---------------------------------------------------------------- loop */

/* Create the loop: epoll, a signalfd for SIGCHLD and SIGPIPE, subreaper. */
int ft_loop_new(ft_loop **out) {
  int rc;
  ft_loop *loop = ft__xalloc(sizeof *loop);
  if (!loop)
    return -ENOMEM;
  loop->epfd = loop->sigfd = loop->devnull = -1;
  loop->guard_fds[0] = loop->guard_fds[1] = -1;
  loop->pid = ft__getpid();
  if (!(loop->slab = ft__slab_new()))
    goto fail_nomem;
  struct rlimit rl;
  loop->hold_below = INT_MAX;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)INT_MAX)
    loop->hold_below = (int)(rl.rlim_cur / 2);
  loop->t0 = ft_now_ns();
  loop->sample_ns = 100 * 1000 * 1000;

  loop->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (loop->epfd < 0)
    goto fail_errno;
  loop->devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (loop->devnull < 0)
    goto fail_errno;

  /* SIGCHLD and SIGPIPE are taken through the signalfd: SIGCHLD drives
   * reaping, and a write to a pipe whose reader is gone fails with EPIPE
   * instead of killing us (the pending SIGPIPE is read and dropped). */
  sigemptyset(&loop->sigmask);
  sigaddset(&loop->sigmask, SIGCHLD);
  sigaddset(&loop->sigmask, SIGPIPE);
  if ((rc = pthread_sigmask(SIG_BLOCK, &loop->sigmask, &loop->oldmask)) != 0) {
    errno = rc;
    goto fail_errno;
  }
  loop->sigfd = signalfd(-1, &loop->sigmask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (loop->sigfd < 0)
    goto fail_errno;
  loop->sigw = ft__watch_new(loop, loop->sigfd, EPOLLIN, ft__on_signalfd, NULL, true);
  if (!loop->sigw)
    goto fail_errno;

  if (prctl(PR_GET_CHILD_SUBREAPER, &loop->prev_subreaper) < 0)
    loop->prev_subreaper = 0;
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
    goto fail_errno;

  loop->ptab_cap = 64;
  loop->ptab = ft__shared_alloc(loop->ptab_cap * sizeof *loop->ptab);
  loop->scratch = ft__shared_alloc(sizeof *loop->scratch);
  if (!loop->ptab || !loop->scratch)
    goto fail_nomem;
  *out = loop;
  return 0;

fail_nomem:
  errno = ENOMEM;
fail_errno:
  rc = -errno;
  ft_loop_free(loop);
  *out = NULL;
  return rc;
}

/* Kill every live child of this process (those we forked and any orphans
 * reparented to us) and reap them all, so nothing outlives the loop.  Killing
 * a child can hand us its own children (we are their subreaper), so this
 * goes in rounds until no child is left. */
static void ft__loop_kill_and_reap_all(ft_loop *loop) {
  char path[64];
  snprintf(path, sizeof path, "/proc/self/task/%d/children", (int)getpid());
  for (;;) {
    ft_loop_signal_all(loop, SIGKILL);
    FILE *f = fopen(path, "re");
    if (f) {
      int pid;
      while (fscanf(f, "%d", &pid) == 1)
        if (!ft__ptab_get(loop, pid))
          kill(pid, SIGKILL);
      fclose(f);
    }
    siginfo_t si;
    memset(&si, 0, sizeof si);
    if (waitid(P_ALL, 0, &si, WEXITED | WNOWAIT) < 0) {
      if (errno == EINTR)
        continue;
      break; /* ECHILD: none left */
    }
    ft__loop_reap(loop);
  }
}

/* Let the children live on after ft_loop_free (they are reaped if they
 * have already exited, and otherwise left to the next reaper up). */
void ft_loop_disown(ft_loop *loop) { loop->disowned = true; }

/* ft_loop_free in a forked child: close this process's copies of the
 * loop's own fds (epoll, signalfd, /dev/null) and unmap its copies of the
 * buffers.  Watches, children and the pid table are not walked, nor the
 * slab's bookkeeping written: they live in memory shared with the parent
 * (ft__shared_alloc, the slab), where they are the parent's current ones,
 * not this copy's.  Forktop's own children closed every loop fd as they
 * started; this is for a child the application forked itself. */
static void ft__loop_free_inherited(ft_loop *loop) {
  if (loop->sigfd >= 0)
    close(loop->sigfd);
  if (loop->epfd >= 0)
    close(loop->epfd);
  if (loop->devnull >= 0)
    close(loop->devnull);
  ft__shared_free(loop->ptab, loop->ptab_cap * sizeof *loop->ptab);
  ft__shared_free(loop->scratch, sizeof *loop->scratch);
  free(loop);
}

/* Free the loop; children are killed and reaped first. */
void ft_loop_free(ft_loop *loop) {
  if (!loop)
    return;
  bool owner = loop->pid == ft__getpid();
  if (!owner) {
    ft__loop_free_inherited(loop);
    return;
  }
  if (loop->ptab && loop->disowned) {
    loop->depth++;
    ft__loop_reap(loop);
    loop->depth--;
  } else if (loop->ptab) {
    loop->depth++;
    ft__loop_kill_and_reap_all(loop);
    loop->depth--;
  }
  ft_timer_free(loop->sample_timer);
  ft__hosts_free(loop);
  ft_timer_free(loop->reap_timer);
  ft__streams_close_all(loop);
  for (ft__watch *w = loop->watches, *n; w; w = n) {
    n = w->next;
    if (w->cb == ft__user_watch_cb) /* a caller's fd: its record is ours */
      free(w->data);
    ft__watch_close(loop, w);
  }
  ft__watches_free_closed(loop);
  ft__children_free_all(loop);
  if (loop->epfd >= 0)
    close(loop->epfd);
  if (loop->devnull >= 0)
    close(loop->devnull);
  if (!loop->prev_subreaper)
    prctl(PR_SET_CHILD_SUBREAPER, 0);
  /* Drop any SIGPIPE still pending before the mask is restored. */
  struct timespec zero = {0, 0};
  sigset_t pipe_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  while (sigtimedwait(&pipe_set, NULL, &zero) > 0) {
  }
  pthread_sigmask(SIG_SETMASK, &loop->oldmask, NULL);
  for (size_t i = 0; i < loop->nheap; i++)
    loop->heap[i]->heap_index = -1;
  free(loop->heap);
  ft__shared_free(loop->ptab, loop->ptab_cap * sizeof *loop->ptab);
  free(loop->hooks);
  free(loop->sleepers);
  free(loop->prepares);
  for (size_t i = 0; i < loop->nsamplers; i++) /* a queue may outlive its loop */
    if (loop->samplers[i].detach)
      loop->samplers[i].detach(loop->samplers[i].ud);
  free(loop->samplers);
  ft__shared_free(loop->scratch, sizeof *loop->scratch);
  ft__slab_release(loop->slab);
  free(loop);
}

/* getpid, not cached: a cache refreshed by an atfork handler costs every
 * forked child a copy-on-write fault, far more than this system call. */
pid_t ft__getpid(void) { return getpid(); }

int ft__loop_check(const ft_loop *loop) {
  if (!loop)
    return FT_EINVAL;
  if (loop->pid != ft__getpid())
    return FT_EFORKED;
  if (loop->depth > 0)
    return FT_EBUSY;
  return 0;
}

static void ft__loop_reap_soon(ft_loop *loop);

/* The delayed scan reaps what no pidfd watches (an orphan whose SIGCHLD
 * was merged with a watched child's); met with a watched child's exit
 * first, it leaves that one to its pidfd and looks again later. */
static void ft__on_reap_timer(ft_timer *t, void *ud) {
  (void)t;
  ft_loop *loop = ud;
  loop->reap_pending = false;
  if (!ft__loop_reap_some(loop, true))
    ft__loop_reap_soon(loop);
}

/* A SIGCHLD from a child we watch through a pidfd: that child is reaped
 * when its pidfd says so, and the scan of every child (in the kernel, a
 * look at each: at one per exit, quadratic in a big pool's join) waits a
 * little, so that one scan serves a burst of exits.  It still comes: a
 * SIGCHLD pending when another arrives is not queued twice, so this one
 * may stand for an orphan's too. */
static void ft__loop_reap_soon(ft_loop *loop) {
  if (loop->reap_pending)
    return;
  if (!loop->reap_timer && ft_timer_new(loop, &loop->reap_timer) < 0) {
    ft__loop_reap(loop);
    return;
  }
  loop->reap_pending = true;
  ft_timer_start(loop->reap_timer, 20 * 1000 * 1000, 0, ft__on_reap_timer, loop);
}

/* Whether pid is a child of ours that exited and waits to be reaped (an
 * orphan we adopted).  A SIGCHLD read after its child was reaped through
 * its pidfd names a pid no longer in the table either: taken for an
 * orphan's, it cost a scan of every child, which during a big pool's
 * burst of exits reaped them all at a walk of thousands each. */
static bool ft__exited_child(ft_loop *loop, pid_t pid) {
  siginfo_t *si = &loop->scratch->peek;
  memset(si, 0, sizeof *si);
  return ft__sys_waitid(P_PID, pid, si, WEXITED | WNOHANG | WNOWAIT) == 0 && si->si_pid == pid;
}

static void ft__on_signalfd(ft_loop *loop, ft__watch *w, uint32_t events) {
  (void)events;
  struct signalfd_siginfo *si = loop->scratch->si;
  bool chld = false, soon = false;
  /* Until a short read, which emptied the queue: no further read to meet
   * EAGAIN (an errno write, on a page of its own after each fork). */
  ssize_t n;
  do {
    n = read(w->fd, si, sizeof loop->scratch->si);
    for (ssize_t i = 0; i < n / (ssize_t)sizeof si[0]; i++) {
      int signo = (int)si[i].ssi_signo;
      if (signo == SIGCHLD) {
        pid_t pid = (pid_t)si[i].ssi_pid;
        ft__child *c = ft__ptab_get(loop, pid);
        if (c && c->pidw)
          soon = true;
        else if (c || ft__exited_child(loop, pid))
          chld = true;
        else /* reaped already, through its pidfd: a merged signal may stand behind it */
          soon = true;
      } else if (signo > 0 && signo < 65 && loop->sigs[signo].fn)
        loop->sigs[signo].fn(signo, loop->sigs[signo].ud);
    }
  } while (n == (ssize_t)sizeof loop->scratch->si);
  if (chld)
    ft__loop_reap(loop);
  else if (soon)
    ft__loop_reap_soon(loop);
}

/* epoll_pwait2 for its nanosecond timeout; where the kernel (or valgrind)
 * lacks it, epoll_wait with the timeout rounded up to a millisecond. */
static int ft__epoll_wait(int epfd, struct epoll_event *evs, int n, const struct timespec *ts) {
  static bool no_pwait2;
  if (!no_pwait2) {
    int rc = epoll_pwait2(epfd, evs, n, ts, NULL);
    if (rc >= 0 || errno != ENOSYS)
      return rc;
    no_pwait2 = true;
  }
  int ms = -1;
  if (ts) {
    uint64_t ns = (uint64_t)ts->tv_sec * FT_NS_PER_S + (uint64_t)ts->tv_nsec;
    ms = ns > (uint64_t)INT32_MAX * 1000000ull ? INT32_MAX : (int)((ns + 999999) / 1000000);
  }
  return epoll_wait(epfd, evs, n, ms);
}

/* One turn: prepare steps, before-sleep hooks, epoll, callbacks, timers. */
static int ft__loop_turn(ft_loop *loop, bool may_sleep, uint64_t deadline, bool (*done)(void *),
                         void *ud) {
  bool busy = false;
  loop->depth++;
  ft__prepares_compact(loop);
  for (size_t i = 0; i < loop->nprepares; i++)
    if (loop->prepares[i].fn && loop->prepares[i].fn(loop, loop->prepares[i].ud))
      busy = true;
  for (size_t i = 0; i < loop->nsleepers; i++)
    loop->sleepers[i].fn(loop, loop->sleepers[i].ud);
  loop->depth--;
  /* The prepare steps may have finished what the caller waits for. */
  if (done && done(ud))
    busy = true;

  struct timespec ts = {0, 0}, *tsp = &ts;
  if (may_sleep && !busy && !loop->stop) {
    uint64_t wake = deadline;
    if (loop->nheap && (!wake || loop->heap[0]->deadline < wake))
      wake = loop->heap[0]->deadline;
    if (!wake) {
      tsp = NULL;
    } else {
      uint64_t now = ft_now_ns();
      uint64_t d = wake > now ? wake - now : 0;
      ts.tv_sec = (time_t)(d / FT_NS_PER_S);
      ts.tv_nsec = (long)(d % FT_NS_PER_S);
    }
  }
  struct epoll_event *evs = loop->scratch->evs;
  int n = ft__epoll_wait(loop->epfd, evs, FT__NEVS, tsp);
  if (n < 0 && errno != EINTR)
    return -errno;
  loop->depth++;
  for (int i = 0; i < n; i++) {
    ft__watch *w = evs[i].data.ptr;
    if (!w->closed)
      w->cb(loop, w, evs[i].events);
  }
  ft__timers_run(loop);
  loop->depth--;
  ft__watches_free_closed(loop);
  return 0;
}

int ft__loop_run_until(ft_loop *loop, bool (*done)(void *), void *ud, uint64_t deadline) {
  int rc = ft__loop_check(loop);
  if (rc)
    return rc;
  while (!done(ud)) {
    if (deadline && ft_now_ns() >= deadline)
      return FT_ETIMEDOUT;
    if ((rc = ft__loop_turn(loop, true, deadline, done, ud)) < 0)
      return rc;
  }
  return 0;
}

/* Turn the loop. */
int ft_loop_run(ft_loop *loop, ft_run_mode mode) {
  int rc = ft__loop_check(loop);
  if (rc)
    return rc;
  if (mode == FT_RUN_ONCE || mode == FT_RUN_NOWAIT)
    return ft__loop_turn(loop, mode == FT_RUN_ONCE, 0, NULL, NULL);
  loop->stop = false;
  while (!loop->stop)
    if ((rc = ft__loop_turn(loop, true, 0, NULL, NULL)) < 0)
      return rc;
  loop->stop = false;
  return 0;
}

/* Make ft_loop_run return after this turn. */
void ft_loop_stop(ft_loop *loop) { loop->stop = true; }

/* ---------------------------------------------------------------- hooks */

/* Install an event hook. */
int ft_loop_add_hook(ft_loop *loop, ft_event_cb fn, void *ud) {
  if (ft__grow((void **)&loop->hooks, &loop->caphooks, loop->nhooks, sizeof *loop->hooks) < 0)
    return -ENOMEM;
  loop->hooks[loop->nhooks++] = (ft__hook){fn, ud};
  return 0;
}

/* Remove an event hook. */
// cppcheck-suppress constParameter ; fn and ud match what was added, by identity
void ft_loop_remove_hook(ft_loop *loop, ft_event_cb fn, void *ud) {
  for (size_t i = 0; i < loop->nhooks; i++)
    if (loop->hooks[i].fn == fn && loop->hooks[i].ud == ud) {
      memmove(&loop->hooks[i], &loop->hooks[i + 1], (loop->nhooks - i - 1) * sizeof *loop->hooks);
      loop->nhooks--;
      return;
    }
}

void ft__emit(ft_loop *loop, ft_event *ev) {
  if (!ev->t_ns)
    ev->t_ns = ft_now_ns();
  if (!ev->name)
    ev->name = "";
  /* A hook may remove itself; walk a snapshot of the count. */
  size_t n = loop->nhooks;
  for (size_t i = 0; i < n && i < loop->nhooks; i++)
    loop->hooks[i].fn(ev, loop->hooks[i].ud);
}

/* Install a before-sleep function. */
int ft_loop_add_before_sleep(ft_loop *loop, ft_sleep_cb fn, void *ud) {
  ft__sleep_fn *s = realloc(loop->sleepers, (loop->nsleepers + 1) * sizeof *s);
  if (!s)
    return -ENOMEM;
  loop->sleepers = s;
  s[loop->nsleepers++] = (ft__sleep_fn){fn, ud};
  return 0;
}

/* Remove a before-sleep function installed with the same fn and ud. */
// cppcheck-suppress constParameter ; fn and ud match what was added, by identity
void ft_loop_remove_before_sleep(ft_loop *loop, ft_sleep_cb fn, void *ud) {
  for (size_t i = 0; i < loop->nsleepers; i++)
    if (loop->sleepers[i].fn == fn && loop->sleepers[i].ud == ud) {
      memmove(&loop->sleepers[i], &loop->sleepers[i + 1],
              (loop->nsleepers - i - 1) * sizeof *loop->sleepers);
      loop->nsleepers--;
      return;
    }
}

int ft__loop_add_prepare(ft_loop *loop, bool (*fn)(ft_loop *, void *), void *ud) {
  ft__prepare *p = realloc(loop->prepares, (loop->nprepares + 1) * sizeof *p);
  if (!p)
    return -ENOMEM;
  loop->prepares = p;
  p[loop->nprepares++] = (ft__prepare){fn, ud};
  return 0;
}

/* Removal only blanks the entry; the turn compacts the array before it
 * walks it, so removing from inside a prepare step skips nobody. */
// cppcheck-suppress constParameter ; fn and ud match what was added, by identity
void ft__loop_remove_prepare(ft_loop *loop, bool (*fn)(ft_loop *, void *), void *ud) {
  for (size_t i = 0; i < loop->nprepares; i++)
    if (loop->prepares[i].fn == fn && loop->prepares[i].ud == ud) {
      loop->prepares[i].fn = NULL;
      return;
    }
}

static void ft__prepares_compact(ft_loop *loop) {
  size_t k = 0;
  for (size_t i = 0; i < loop->nprepares; i++)
    if (loop->prepares[i].fn)
      loop->prepares[k++] = loop->prepares[i];
  loop->nprepares = k;
}

/* Route a signal through the signalfd to fn. */
int ft_loop_on_signal(ft_loop *loop, int signo, ft_signal_cb fn, void *ud) {
  if (signo <= 0 || signo >= 65 || signo == SIGCHLD || signo == SIGKILL || signo == SIGSTOP)
    return FT_EINVAL;
  loop->sigs[signo] = (ft__sig){fn, ud};
  sigset_t one;
  sigemptyset(&one);
  sigaddset(&one, signo);
  if (fn) {
    sigaddset(&loop->sigmask, signo);
    pthread_sigmask(SIG_BLOCK, &one, NULL);
  } else if (signo != SIGPIPE) {
    sigdelset(&loop->sigmask, signo);
    pthread_sigmask(SIG_UNBLOCK, &one, NULL);
  }
  if (signalfd(loop->sigfd, &loop->sigmask, 0) < 0)
    return -errno;
  return 0;
}

typedef struct ft__user_watch {
  void (*fn)(int, uint32_t, void *);
  void *ud;
} ft__user_watch;

static void ft__user_watch_cb(ft_loop *loop, ft__watch *w, uint32_t events) {
  (void)loop;
  ft__user_watch *u = w->data;
  u->fn(w->fd, events, u->ud);
}

/* Watch a caller's fd. */
int ft_loop_watch_fd(ft_loop *loop, int fd, bool want_write, ft_fd_cb fn, void *ud) {
  ft__user_watch *u = ft__xalloc(sizeof *u);
  if (!u)
    return -ENOMEM;
  u->fn = fn;
  u->ud = ud;
  uint32_t evs = EPOLLIN | (want_write ? EPOLLOUT : 0);
  if (!ft__watch_new(loop, fd, evs, ft__user_watch_cb, u, false)) {
    int e = -errno;
    free(u);
    return e;
  }
  return 0;
}

/* Stop watching a caller's fd. */
void ft_loop_unwatch_fd(ft_loop *loop, int fd) {
  for (ft__watch *w = loop->watches; w; w = w->next)
    if (w->fd == fd && w->cb == ft__user_watch_cb) {
      free(w->data);
      w->data = NULL;
      ft__watch_close(loop, w);
      return;
    }
}

static int ft__int_cmp(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  return (x > y) - (x < y);
}

static int ft__fdlist_add(ft__fdlist *l, int fd) {
  if (fd < 0)
    return 0;
  if (l->n == l->cap) {
    size_t cap = l->cap * 2;
    int *a = l->fds == l->inline_fds ? malloc(cap * sizeof *a) : realloc(l->fds, cap * sizeof *a);
    if (!a)
      return -ENOMEM;
    if (l->fds == l->inline_fds)
      memcpy(a, l->inline_fds, l->n * sizeof *a);
    l->fds = a;
    l->cap = cap;
  }
  l->fds[l->n++] = fd;
  return 0;
}

static void ft__fdlist_init(ft__fdlist *l) {
  l->fds = l->inline_fds;
  l->n = 0;
  l->cap = FT_ARRAY_LEN(l->inline_fds);
}

void ft__fdlist_free(ft__fdlist *l) {
  if (l->fds != l->inline_fds)
    free(l->fds);
  ft__fdlist_init(l);
}

/* Before forking a function: list, sorted, the loop's fds the child must
 * not hold (epoll, /dev/null, every watched fd but those in keep, other
 * children's pipes, and also[]: the child ends of siblings forked in the
 * same batch).  Done in the parent, where these structures are warm: a
 * child walking them faults in every page they sit on, and with a pool's
 * workers each closing the others' pipes one by one, Pool(35) spent a tenth
 * of its time there.  0 or -ENOMEM (l is then still to be freed). */
int ft__loop_child_fds(ft_loop *loop, const int *keep, int nkeep, const int *also, int nalso,
                       ft__fdlist *l) {
  ft__fdlist_init(l);
  int rc = ft__fdlist_add(l, loop->epfd);
  for (int i = 0; i < nalso && !rc; i++)
    rc = ft__fdlist_add(l, also[i]);
  if (!rc)
    rc = ft__fdlist_add(l, loop->devnull);
  for (int i = 0; i < 2 && !rc; i++)
    rc = ft__fdlist_add(l, loop->guard_fds[i]);
  for (ft__watch *w = loop->watches; w && !rc; w = w->next) {
    bool kept = false;
    for (int i = 0; i < nkeep; i++)
      kept |= keep[i] == w->fd;
    if (w->own_fd && !kept)
      rc = ft__fdlist_add(l, w->fd);
  }
  for (size_t i = 0; i < loop->ptab_cap && !rc; i++) {
    ft__child *c = loop->ptab[i];
    for (int s = 0; c && s < 3 && !rc; s++)
      rc = ft__fdlist_add(l, c->pipe_fd[s]);
    for (int s = 1; c && s < 3 && !rc; s++)
      if (c->streams[s])
        rc = ft__fdlist_add(l, c->streams[s]->hold);
  }
  if (rc)
    return rc;
  qsort(l->fds, l->n, sizeof *l->fds, ft__int_cmp);
  return 0;
}

/* Live children of this process, forked or adopted (from /proc). */
int ft_loop_children(const ft_loop *loop) {
  char path[64];
  snprintf(path, sizeof path, "/proc/self/task/%d/children", (int)loop->pid);
  FILE *f = fopen(path, "re");
  if (!f)
    return -errno;
  int n = 0, pid;
  while (fscanf(f, "%d", &pid) == 1)
    n++;
  fclose(f);
  return n;
}

/* Children forked from now on get signo (0: nothing) when this process
 * dies, however it dies: what a closing terminal gives its programs. */
int ft_loop_set_parent_death_signal(ft_loop *loop, int signo) {
  if (signo < 0 || signo >= 65)
    return -EINVAL;
  loop->pdeath_signal = signo;
  return 0;
}

/* Children forked by this loop and not yet reaped. */
int ft_loop_live_children(const ft_loop *loop) { return loop->live_children; }

/* Signal every live child. */
void ft_loop_signal_all(ft_loop *loop, int signo) {
  for (size_t i = 0; i < loop->ptab_cap; i++) {
    ft__child *c = loop->ptab[i];
    if (c && !c->reaped)
      ft__child_signal(c, signo);
  }
}
