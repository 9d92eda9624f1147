/* ft_child_reap.c - the table of children by pid, and reaping them: each
 * child's exit through its pidfd (or a SIGCHLD), its record's release, and
 * any orphan handed to us as the child subreaper. */
#include "ft_internal.h"
#include "ft_spawn.h"
#include "ft_sys.h"

#include <stdio.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

/* ------------------------------------------------------------ pid table */

static size_t ft__ptab_slot(size_t cap, pid_t pid) {
  return ((size_t)(uint32_t)pid * 2654435761u) & (cap - 1);
}

/* Make room for n more entries, so that the puts after a fork cannot fail. */
int ft__ptab_reserve(ft_loop *loop, int n) {
  if ((loop->ptab_len + (size_t)n) * 2 > loop->ptab_cap) {
    size_t cap = loop->ptab_cap * 2;
    while ((loop->ptab_len + (size_t)n) * 2 > cap)
      cap *= 2;
    ft__child **t = ft__shared_alloc(cap * sizeof *t);
    if (!t)
      return -ENOMEM;
    for (size_t i = 0; i < loop->ptab_cap; i++) {
      ft__child *o = loop->ptab[i];
      if (!o)
        continue;
      size_t j = ft__ptab_slot(cap, o->pid);
      while (t[j])
        j = (j + 1) & (cap - 1);
      t[j] = o;
    }
    ft__shared_free(loop->ptab, loop->ptab_cap * sizeof *t);
    loop->ptab = t;
    loop->ptab_cap = cap;
  }
  return 0;
}

int ft__ptab_put(ft_loop *loop, ft__child *c) {
  int rc = ft__ptab_reserve(loop, 1);
  if (rc < 0)
    return rc;
  size_t j = ft__ptab_slot(loop->ptab_cap, c->pid);
  while (loop->ptab[j])
    j = (j + 1) & (loop->ptab_cap - 1);
  loop->ptab[j] = c;
  loop->ptab_len++;
  return 0;
}

ft__child *ft__ptab_get(const ft_loop *loop, pid_t pid) {
  size_t mask = loop->ptab_cap - 1;
  for (size_t j = ft__ptab_slot(loop->ptab_cap, pid); loop->ptab[j]; j = (j + 1) & mask)
    if (loop->ptab[j]->pid == pid)
      return loop->ptab[j];
  return NULL;
}

/* Linear probing with backward-shift deletion: no tombstones. */
void ft__ptab_del(ft_loop *loop, pid_t pid) {
  size_t mask = loop->ptab_cap - 1;
  size_t j = ft__ptab_slot(loop->ptab_cap, pid);
  while (loop->ptab[j] && loop->ptab[j]->pid != pid)
    j = (j + 1) & mask;
  if (!loop->ptab[j])
    return;
  loop->ptab[j] = NULL;
  loop->ptab_len--;
  for (size_t k = (j + 1) & mask; loop->ptab[k]; k = (k + 1) & mask) {
    size_t home = ft__ptab_slot(loop->ptab_cap, loop->ptab[k]->pid);
    /* Move k back to the hole j unless its home lies cyclically in (j, k]. */
    bool stays = (j <= k) ? (home > j && home <= k) : (home > j || home <= k);
    if (!stays) {
      loop->ptab[j] = loop->ptab[k];
      loop->ptab[k] = NULL;
      j = k;
    }
  }
}

/* -------------------------------------------------------------- reaping */

int ft__child_exitcode(const ft__child *c) {
  return c->exit_signal ? -c->exit_signal : c->exit_code;
}

int ft__child_signal(ft__child *c, int signo) {
  if (c->reaped)
    return FT_ESTATE;
  if (signo > 0 && signo < 64)
    c->sent |= 1ull << signo;
  if (c->pidfd >= 0) {
    if (ft__pidfd_signal(c->pidfd, signo) < 0)
      return -errno;
    return 0;
  }
  return kill(c->pid, signo) < 0 ? -errno : 0;
}

void ft__child_free(ft__child *c) {
  for (int s = 0; s < 3; s++)
    if (c->pipe_fd[s] >= 0)
      close(c->pipe_fd[s]);
  ft__name_free(c->name, c->namebuf);
  ft__slab_free(c->slab, c);
}

void ft__child_maybe_free(ft__child *c) {
  if (!c->dispatching && c->reaped && c->released && !c->streams[1] && !c->streams[2])
    ft__child_free(c);
}

/* The owner lets go; a live child is killed and reaped later by the loop. */
void ft__child_release(ft__child *c) {
  if (!c)
    return;
  c->released = true;
  c->on_exit = NULL;
  c->owner = NULL;
  c->errtail = NULL; /* the owner's buffer: its stderr may go on after */
  if (!c->reaped)
    ft__child_signal(c, SIGKILL);
  ft__child_maybe_free(c);
}

void ft__dispatch_exit(ft_loop *loop, ft__child *c, const siginfo_t *si) {
  c->reaped = true;
  c->end_ns = ft_now_ns();
  c->exit_signal = si->si_code == CLD_EXITED ? 0 : si->si_status;
  c->exit_code = si->si_code == CLD_EXITED ? si->si_status : 0;
  c->core = si->si_code == CLD_DUMPED;
  loop->live_children--;
  ft__ptab_del(loop, c->pid);
  ft__watch_close(loop, c->pidw);
  c->pidw = NULL;
  c->pidfd = -1;
  /* Drain what the child wrote before it died so its output precedes its
   * exit; a grandchild may still hold the pipe, so do not wait for EOF.
   * Our copy of the child's end goes first (see ft__spawn_finish), so
   * that without a grandchild this read ends at EOF. */
  for (int s = 1; s <= 2; s++) {
    ft__stream *st = c->streams[s];
    if (st && st->hold >= 0) {
      close(st->hold);
      st->hold = -1;
    }
    if (st && ft__stream_read(st, FT_DRAIN_MAX))
      ft__stream_close(st);
  }
  ft_event ev = {.kind = FT_EV_EXIT, .pid = c->pid, .ppid = c->ppid, .name = c->name};
  ev.u.exit.code = c->exit_code;
  ev.u.exit.signal = c->exit_signal;
  ev.u.exit.core = c->core;
  ev.u.exit.requested =
      c->exit_signal > 0 && c->exit_signal < 64 && (c->sent >> c->exit_signal & 1);
  ev.u.exit.runtime_ns = c->end_ns - c->start_ns;
  /* A hook or the owner may release c from here; keep it until we are done. */
  c->dispatching = true;
  ft__emit(loop, &ev);
  if (c->on_exit)
    c->on_exit(c, c->owner);
  c->dispatching = false;
  ft__child_maybe_free(c);
}

static void ft__dispatch_orphan(ft_loop *loop, const siginfo_t *si, const char *comm) {
  ft_event ev = {.kind = FT_EV_EXIT, .pid = si->si_pid, .ppid = loop->pid, .name = comm};
  ev.u.exit.code = si->si_code == CLD_EXITED ? si->si_status : 0;
  ev.u.exit.signal = si->si_code == CLD_EXITED ? 0 : si->si_status;
  ev.u.exit.core = si->si_code == CLD_DUMPED;
  ev.u.exit.orphan = true;
  ft__emit(loop, &ev);
}

/* Reap every exited child.  Each zombie is first peeked at with WNOWAIT so
 * that an orphan's name can still be read from /proc before it is reaped;
 * every round reaps one process, so the walk always ends. */
static void ft__reap_pid(ft_loop *loop, pid_t pid, ft__child *c, const char *comm);

void ft__loop_reap(ft_loop *loop) { ft__loop_reap_some(loop, false); }

/* The same; with unwatched, stop at the first exited child that has a
 * pidfd watch (its watch will reap it) and return false, true once no
 * exited child is left.  Each round of the scan is a walk of every child
 * in the kernel, from the first: a scan that met a big pool's burst of
 * exits reaped them all that way, one walk of thousands each (a tenth of
 * Pool(4000)'s join), where their pidfds reap each alone. */
bool ft__loop_reap_some(ft_loop *loop, bool unwatched) {
  /* In the loop's shared buffers, not on the stack (see ft__scratch);
   * nothing a dispatch runs can reap in turn (the loop refuses to turn). */
  siginfo_t *si = &loop->scratch->peek;
  char *comm = loop->scratch->comm;
  for (;;) {
    memset(si, 0, sizeof *si);
    long r = ft__sys_waitid(P_ALL, 0, si, WEXITED | WNOHANG | WNOWAIT);
    if (r == -EINTR)
      continue;
    if (r < 0 || si->si_pid == 0)
      return true;
    ft__child *c = ft__ptab_get(loop, si->si_pid);
    if (unwatched && c && c->pidw)
      return false;
    if (loop->prereap_fn)
      loop->prereap_fn(loop, loop->orphan_ud);
    comm[0] = '\0';
    if (!c)
      ft__read_comm(si->si_pid, comm, sizeof loop->scratch->comm);
    ft__reap_pid(loop, si->si_pid, c, comm);
  }
}

/* Reap pid if it has exited: c its record, or NULL and comm its name. */
static void ft__reap_pid(ft_loop *loop, pid_t pid, ft__child *c, const char *comm) {
  siginfo_t *done = &loop->scratch->done;
  memset(done, 0, sizeof *done);
  if (ft__sys_waitid(P_PID, pid, done, WEXITED | WNOHANG) < 0 || done->si_pid == 0)
    return;
  if (c)
    ft__dispatch_exit(loop, c, done);
  else if (!loop->orphan_fn || !loop->orphan_fn(loop, done, comm, loop->orphan_ud))
    ft__dispatch_orphan(loop, done, comm);
}

/* The child of this pidfd exited: reap it alone.  A scan of every child
 * (ft__loop_reap) costs the kernel a look at each of them, and one per
 * exit made a pool's join quadratic in its workers. */
void ft__on_pidfd(ft_loop *loop, ft__watch *w, uint32_t events) {
  (void)events;
  ft__child *c = w->data;
  ft__reap_pid(loop, c->pid, c, "");
}

void ft__children_free_all(ft_loop *loop) {
  for (size_t i = 0; i < loop->ptab_cap && loop->ptab; i++) {
    ft__child *c = loop->ptab[i];
    if (!c)
      continue;
    loop->ptab[i] = NULL;
    ft__child_free(c);
  }
  loop->ptab_len = 0;
}
