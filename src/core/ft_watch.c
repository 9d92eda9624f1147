/* ft_watch.c - watch a process tree forktop did not build: every
 * descendant of a root, its execs and its exit (with the code when it can
 * be known), and zombies with the parent that fails to reap them.
 *
 * A process is (pid, start time), seen once from its spawn to its reaping.
 * Each one known has a record here from its fork (or the scan that first
 * saw it) until it is reaped: a process that has exited stays, dead, while
 * it is a zombie, so no scan can take it for a new one.  The record goes
 * when /proc no longer shows that pid with that start time, or when the
 * loop reaps it as an orphan (ft__watch_orphan says whether its exit was
 * told already).
 *
 * With the kernel's process-event connector (root or CAP_NET_ADMIN) every
 * fork, exec and exit is seen, however short-lived the process, and the
 * scan adds nothing the connector does not tell; taskstats then gives the
 * name each process had as it exited (a program whose exec event is read
 * after it was reaped can no longer be named from /proc) and its exact
 * lifetime.  Without them, the tree is scanned from /proc ten times a
 * second, which sees what lives long enough and cannot know the exit codes
 * of others' children. */
#include "ft_watch.h"

#include <linux/cn_proc.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "ft_cnproc.h"
#include "ft_internal.h"
#include "ft_taskstats.h"
#include "ft_tree.h"

#define FT__SCAN_NS (100ull * 1000 * 1000)
#define FT__EARLY 256      /* exits kept that came before their fork */
#define FT__GONE_SCANS 10  /* scans a vanished process waits for its connector exit */
#define FT__QUIET_READS 64 /* quiet processes read per scan, with the connector */
#define FT__FORGOTTEN 256  /* records deleted lately, kept against their late forks */
#define FT__TICK_SLACK_NS (20ull * 1000 * 1000) /* /proc's start times are in ticks */

typedef struct ft__wproc {
  pid_t pid, ppid;
  uint64_t start_ticks; /* its start in /proc (0: not read yet): with pid, who it is */
  uint64_t born_ns;     /* its start on CLOCK_MONOTONIC (the connector's fork, or /proc's) */
  uint64_t died_ns;     /* its exit on CLOCK_MONOTONIC, when the connector told */
  unsigned status;      /* then its status, as wait(2) gives it */
  char comm[32];
  bool ours;      /* forked by the loop: the loop reports it */
  bool dead;      /* it has exited; kept (a zombie) until it is reaped */
  bool said;      /* its exit was reported */
  bool exec_late; /* an exec read after /proc lost it: said, named, with its exit */
  bool zombie_said;
  bool seen;             /* in the latest scan */
  unsigned zombie_scans; /* scans in a row that found it a zombie */
  unsigned gone_scans;   /* scans that found it gone before its exit came */
  uint64_t sent;         /* signals ft_watch_signal sent it (bit s for signal s) */
  uint64_t walk_exec_ns; /* a walk after lost messages told an exec of it, read then */
} ft__wproc;

struct ft_watch {
  ft_loop *loop;
  ft_watch_opts o;
  ft__cnproc cn; /* the connector (cn.fd -1 without) */
  ft__tstats ts; /* taskstats (ts.fd -1 without) */
  ft__watch *nlw, *tsw, *pidw;
  ft_timer *scan;
  ft_tree tree;
  ft__wproc *procs;
  size_t n, cap;
  uint64_t lost_walked; /* cn.drops as of the last walk: more since, the next scan walks */
  uint64_t scans;       /* scans so far: which quiet processes this one reads */
  ft__pidx index;       /* pid -> its record in procs */
  bool finished, root_exited;
  bool lost_walk; /* this scan walks /proc for what lost messages did not tell */
  int stop_signo; /* the last ft_watch_signal: what a process born since gets */
  int root_code, root_signo;
  /* Exits of processes not (yet) known, kept in case their fork comes
   * after them: an exit matches a fork only if it is not older.  The
   * first FT__EARLY are those whose parent is in the tree, the next
   * FT__EARLY the rest (any exit on the machine): each ring is
   * overwritten only by its own kind, so that a busy machine's exits
   * cannot push ours out. */
  struct {
    pid_t pid, ppid;
    unsigned status;
    uint64_t t_ns;
  } early[2 * FT__EARLY];
  unsigned nearly[2];
  /* Records deleted lately (reaped, told): a fork read after its process
   * was forgotten is not a second one (ft__wforgotten). */
  struct {
    pid_t pid;
    uint64_t start_ticks, born_ns, end_ns;
    bool exact; /* end_ns is its exit's time stamp, not only when it went */
  } forgotten[FT__FORGOTTEN];
  unsigned nforgotten;
};

/* Through the index: every connector event of the machine asks, and a
 * walk of the records cost each of them the size of the tree. */
static ft__wproc *ft__wfind(ft_watch *w, pid_t pid) {
  int32_t i = ft__pidx_get(&w->index, pid);
  return i >= 0 ? &w->procs[i] : NULL;
}

/* (Two records of one pid, while a reused pid's old one waits for its
 * exit: the index holds the newer, and each record moves or goes from it
 * only where it is the one indexed.)  remember: keep it a while among the
 * forgotten, against its own fork read late (ft__wforgotten). */
static void ft__wdel(ft_watch *w, ft__wproc *p, bool remember) {
  if (remember) {
    unsigned k = w->nforgotten++ % FT__FORGOTTEN;
    w->forgotten[k].pid = p->pid;
    w->forgotten[k].start_ticks = p->start_ticks;
    w->forgotten[k].born_ns = p->born_ns;
    w->forgotten[k].end_ns = p->died_ns ? p->died_ns : ft_now_ns(); /* it died before now */
    w->forgotten[k].exact = p->died_ns != 0;
  }
  int32_t at = (int32_t)(p - w->procs), last = (int32_t)w->n - 1;
  if (ft__pidx_get(&w->index, p->pid) == at)
    ft__pidx_del(&w->index, p->pid);
  *p = w->procs[last];
  w->n--;
  if (at != last && ft__pidx_get(&w->index, p->pid) == last)
    ft__pidx_put(&w->index, p->pid, at); /* a slot it has: no failure */
}

/* Tell of p: its spawn and exec carry its command line from /proc (a
 * late exec, told with its exit, has none left to read). */
static void ft__wemit(ft_watch *w, ft_event_kind kind, const ft__wproc *p, uint64_t t_ns) {
  ft_event ev = {.kind = kind, .pid = p->pid, .ppid = p->ppid, .name = p->comm, .t_ns = t_ns};
  char buf[FT__ARGV_BYTES];
  const char *vec[FT__ARGV_MAX + 1];
  if (kind == FT_EV_SPAWN) {
    ev.u.spawn.role = "watched";
    ev.u.spawn.worker = -1;
    ev.u.spawn.argv = ft__read_argv(p->pid, buf, vec, &ev.u.spawn.argv_cut);
  }
  if (kind == FT_EV_EXEC) {
    ev.u.exec.path = p->comm;
    if (!p->exec_late)
      ev.u.exec.argv = ft__read_argv(p->pid, buf, vec, &ev.u.exec.argv_cut);
  }
  ft__emit(w->loop, &ev);
}

static void ft__wsignal(ft_watch *w, ft__wproc *p, int signo);

/* ------------------------------------------------------------ taskstats */

static void ft__on_connector(ft_loop *loop, ft__watch *nw, uint32_t events);

/* Records are waiting: the connector's exits first, which take theirs as
 * they go (ft__ts_drain), then the rest, which are not ours yet. */
static void ft__on_taskstats(ft_loop *loop, ft__watch *nw, uint32_t events) {
  (void)events;
  ft_watch *w = nw->data;
  if (w->nlw)
    ft__on_connector(loop, w->nlw, 0);
  ft__tstats_drain(&w->ts, 0);
}

/* Listen to taskstats, read through the loop; without it exits keep the
 * names /proc gave. */
static void ft__ts_open(ft_watch *w) {
  if (ft__tstats_open(&w->ts) < 0)
    return;
  if (!(w->tsw = ft__watch_new(w->loop, w->ts.fd, EPOLLIN, ft__on_taskstats, w, true)))
    ft__tstats_free(&w->ts, true);
}

/* ------------------------------------------------------------ processes */

/* A process we learnt of: a record, and its spawn (the loop speaks for its
 * own children).  tp: what /proc said of it, or NULL to read it now; t_ns:
 * the spawn's time stamp (0: now). */
static ft__wproc *ft__wspawn(ft_watch *w, pid_t pid, pid_t ppid, uint64_t born_ns,
                             const ft_tree_proc *tp, uint64_t t_ns) {
  if (w->n == w->cap) {
    size_t cap = w->cap ? w->cap * 2 : 64;
    ft__wproc *v = realloc(w->procs, cap * sizeof *v);
    if (!v)
      return NULL;
    w->procs = v;
    w->cap = cap;
  }
  if (ft__pidx_put(&w->index, pid, (int32_t)w->n) < 0)
    return NULL;
  ft__wproc *p = &w->procs[w->n++];
  *p = (ft__wproc){.pid = pid, .ppid = ppid, .born_ns = born_ns};
  ft_tree_proc now;
  if (!tp && ft_tree_read(pid, &now) == 0 && now.ppid == ppid)
    tp = &now;
  if (tp) {
    p->start_ticks = tp->start_ticks;
    if (!p->born_ns)
      p->born_ns = ft_tree_start_ns(tp->start_ticks);
    ft__read_comm(pid, p->comm, sizeof p->comm); /* all of it: stat's may be cut */
    if (!p->comm[0])
      snprintf(p->comm, sizeof p->comm, "%.31s", tp->comm);
  }
  if (!p->comm[0]) {
    /* gone already: a child starts with its parent's name */
    const ft__wproc *parent = ft__wfind(w, ppid);
    if (parent)
      memcpy(p->comm, parent->comm, sizeof p->comm);
  }
  if (!p->born_ns)
    p->born_ns = ft_now_ns();
  p->ours = ft__ptab_get(w->loop, pid) != NULL;
  if (!p->ours)
    ft__wemit(w, FT_EV_SPAWN, p, t_ns);
  if (w->stop_signo && !p->ours)
    ft__wsignal(w, p, w->stop_signo); /* born while the tree is stopped */
  return p;
}

/* Report p's exit (status: code, or signal when signo; code -1 unknown). */
static void ft__wsay(ft_watch *w, ft__wproc *p, pid_t ppid, int code, int signo, bool orphan,
                     uint64_t runtime_ns) {
  if (p->exec_late) {
    ft__wemit(w, FT_EV_EXEC, p, 0); /* while late: no argv, its pid may be another's now */
    p->exec_late = false;
  }
  ft_event ev = {.kind = FT_EV_EXIT, .pid = p->pid, .ppid = ppid, .name = p->comm};
  ev.u.exit.code = signo ? 0 : code;
  ev.u.exit.signal = signo;
  ev.u.exit.core = signo && (code & 0x80);
  ev.u.exit.orphan = orphan;
  ev.u.exit.requested = signo > 0 && signo < 64 && (p->sent >> signo & 1);
  ev.u.exit.runtime_ns = runtime_ns;
  p->said = true;
  if (p->pid == w->o.root && w->o.with_root) {
    w->root_exited = true;
    w->root_code = code;
    w->root_signo = signo;
  }
  ft__emit(w->loop, &ev);
}

/* What taskstats knew of p's exit: its last name (and p's exec said late
 * gets it); the lifetime, or 0. */
static uint64_t ft__wlast_name(ft_watch *w, ft__wproc *p, unsigned *status, bool *got) {
  const ft__tstat *r = ft__tstats_take(&w->ts, p->pid);
  *got = r != NULL;
  if (!r) {
    p->exec_late = false; /* that exec's name is lost: better unsaid than wrong */
    return 0;
  }
  if (r->comm[0])
    memcpy(p->comm, r->comm, sizeof p->comm);
  if (status)
    *status = r->status;
  return r->etime_us * 1000;
}

/* The connector says p exited (status as wait(2) gives it).  The loop
 * reports its own children, and the orphans it reaps: then the record
 * waits for the reap (ft__watch_orphan). */
static void ft__wdied(ft_watch *w, ft__wproc *p, pid_t ppid, unsigned status, uint64_t t_ns) {
  bool got;
  uint64_t life = ft__wlast_name(w, p, NULL, &got);
  p->dead = true;
  p->died_ns = t_ns;
  p->status = status;
  if (ppid > 0)
    p->ppid = ppid;
  if (p->ours || (p->ppid == w->loop->pid && p->pid != w->o.root))
    return;
  if (!life)
    life = t_ns > p->born_ns ? t_ns - p->born_ns : 0;
  int signo = (int)(status & 0x7f);
  ft__wsay(w, p, p->ppid, signo ? (int)status : (int)((status >> 8) & 0xff), signo, false, life);
}

/* The loop reaped pid, an orphan handed to us: tell its exit unless that
 * was told already, and forget it (it is reaped). */
static bool ft__watch_orphan(ft_loop *loop, const siginfo_t *si, const char *comm, void *ud) {
  ft_watch *w = ud;
  ft__wproc *p = ft__wfind(w, si->si_pid);
  if (!p)
    return false; /* never seen: the loop tells it as it always did */
  if (!p->said) {
    bool got = false; /* a dead one had its record taken as it died */
    uint64_t life = p->dead ? 0 : ft__wlast_name(w, p, NULL, &got);
    if (!got && comm && comm[0] && !p->dead)
      snprintf(p->comm, sizeof p->comm, "%s", comm);
    uint64_t end = p->died_ns ? p->died_ns : ft_now_ns();
    if (!life)
      life = end > p->born_ns ? end - p->born_ns : 0;
    bool exited = si->si_code == CLD_EXITED;
    int code = exited ? si->si_status : (si->si_code == CLD_DUMPED ? 0x80 : 0);
    ft__wsay(w, p, loop->pid, code, exited ? 0 : si->si_status, true, life);
  }
  ft__wdel(w, p, true);
  return true;
}

/* ------------------------------------------------------------ connector */

/* One of the loop's own children exec'd.  The loop told of the exec it
 * made (its argv[0]); a later one (`sh -c 'exec make'`) is told here, and
 * the child takes the new name, which its exit then carries. */
static void ft__wexec_ours(ft_watch *w, ft__wproc *p) {
  ft__child *c = ft__ptab_get(w->loop, p->pid);
  char comm[sizeof p->comm];
  ft__read_comm(p->pid, comm, sizeof comm);
  if (!c || !comm[0])
    return;
  const char *base = strrchr(c->name, '/') ? strrchr(c->name, '/') + 1 : c->name;
  if (strncmp(base, comm, 15) == 0)
    return; /* the exec the loop told of */
  char *name = ft__name_dup(comm, c->namebuf, sizeof c->namebuf);
  if (!name)
    return;
  char *old = c->name;
  c->name = name;
  ft__name_free(old, c->namebuf);
  memcpy(p->comm, comm, sizeof comm);
  ft_event ev = {.kind = FT_EV_EXEC, .pid = p->pid, .ppid = c->ppid, .name = c->name};
  ev.u.exec.path = c->name;
  char buf[FT__ARGV_BYTES];
  const char *vec[FT__ARGV_MAX + 1];
  ev.u.exec.argv = ft__read_argv(p->pid, buf, vec, &ev.u.exec.argv_cut);
  ft__emit(w->loop, &ev);
}

/* Whether a fork of pid at t_ns is that of a process whose record was
 * deleted already.  The race: the connector's messages are sent from the
 * CPU each event happens on, so a child's exit may be queued before its
 * parent's word that it was forked; a scan may find the child meanwhile.
 * Then its exit is read and told, its parent reaps it, a scan finds it
 * gone and its record is deleted, and only then is its fork read: taken
 * for a new process, it was spawned twice (and exited twice, the second
 * time unknown).  A process is (pid, start time): a deleted one that was
 * born by this fork and died at or after it is the one forked (no other
 * can have held its pid meanwhile, even if the pid is another's by now:
 * with pid_max 32768 a busy machine reuses it within seconds).  Where its
 * exit was not read, its end is only when it was found gone: then a
 * process under that pid now, with another start, may be the one forked. */
static bool ft__wforgotten(ft_watch *w, pid_t pid, uint64_t t_ns) {
  for (unsigned i = 0; i < FT__FORGOTTEN; i++) { /* a slot not used yet: pid 0 */
    if (w->forgotten[i].pid != pid || t_ns > w->forgotten[i].end_ns ||
        w->forgotten[i].born_ns > t_ns + FT__TICK_SLACK_NS)
      continue;
    ft_tree_proc tp;
    if (!w->forgotten[i].exact && w->forgotten[i].start_ticks && ft_tree_read(pid, &tp) == 0 &&
        tp.start_ticks != w->forgotten[i].start_ticks)
      continue;
    return true;
  }
  return false;
}

static void ft__connector_event(ft_watch *w, const struct proc_event *pe) {
  switch (pe->what) {
  case PROC_EVENT_FORK: {
    pid_t parent = pe->event_data.fork.parent_tgid, child = pe->event_data.fork.child_tgid;
    if (pe->event_data.fork.child_pid != child)
      return; /* a thread, not a process */
    ft__wproc *pp = ft__wfind(w, parent), *p = ft__wfind(w, child);
    if (parent != w->o.root && (!pp || pp->dead))
      return;
    /* A dead record under this pid is a process reaped since (its pid is
     * reused) if it died before this fork; one that died at or after it
     * is this very process, which a scan found and whose exit was read
     * before its fork (a process is (pid, start time): one spawn).  A live
     * one was found by a scan before this was read. */
    if (p && p->dead && (!p->died_ns || p->died_ns < pe->timestamp_ns)) {
      ft__wdel(w, p, false); /* older than this fork: not its own */
      p = NULL;
    }
    if (!p && ft__wforgotten(w, child, pe->timestamp_ns))
      return; /* told from its spawn to its exit already */
    if (!p && !(p = ft__wspawn(w, child, parent, pe->timestamp_ns, NULL, 0)))
      return;
    if (p->born_ns > pe->timestamp_ns)
      p->born_ns = pe->timestamp_ns;
    for (unsigned i = 0; i < 2 * FT__EARLY; i++)
      if (w->early[i].pid == child && w->early[i].t_ns >= pe->timestamp_ns) {
        w->early[i].pid = 0;
        ft__wdied(w, p, w->early[i].ppid, w->early[i].status, w->early[i].t_ns);
        break;
      }
    return;
  }
  case PROC_EVENT_EXEC: {
    pid_t pid = pe->event_data.exec.process_tgid;
    ft__wproc *p = ft__wfind(w, pid);
    if (pe->event_data.exec.process_pid != pid || !p || p->dead)
      return;
    if (p->ours) {
      ft__wexec_ours(w, p);
      return;
    }
    if (p->walk_exec_ns && pe->timestamp_ns <= p->walk_exec_ns) {
      p->walk_exec_ns = 0; /* the exec a walk found, its message read only now: told */
      return;
    }
    /* A zombie still has its name in /proc; a process reaped already has
     * none: then its exec is told with its exit, named by taskstats. */
    char comm[sizeof p->comm];
    ft__read_comm(pid, comm, sizeof comm);
    if (!comm[0]) {
      p->exec_late = true;
      return;
    }
    memcpy(p->comm, comm, sizeof comm);
    ft__wemit(w, FT_EV_EXEC, p, 0);
    if (w->stop_signo)
      ft__wsignal(w, p, w->stop_signo); /* an exec resets the handler it may have had */
    return;
  }
  case PROC_EVENT_EXIT: {
    pid_t pid = pe->event_data.exit.process_tgid;
    if (pe->event_data.exit.process_pid != pid)
      return;
    ft__wproc *p = ft__wfind(w, pid);
    if (!p) { /* maybe ahead of its fork: keep it a while */
      pid_t ppid = pe->event_data.exit.parent_tgid;
      unsigned ring = ppid == w->o.root || ft__wfind(w, ppid) ? 0 : 1;
      unsigned k = ring * FT__EARLY + w->nearly[ring]++ % FT__EARLY;
      w->early[k].pid = pid;
      w->early[k].ppid = pe->event_data.exit.parent_tgid;
      w->early[k].status = pe->event_data.exit.exit_code;
      w->early[k].t_ns = pe->timestamp_ns;
      return;
    }
    if (!p->dead)
      ft__wdied(w, p, pe->event_data.exit.parent_tgid, pe->event_data.exit.exit_code,
                pe->timestamp_ns);
    return;
  }
  default:
    return;
  }
}

static void ft__on_cnproc(void *ud, const struct proc_event *pe) { ft__connector_event(ud, pe); }

static void ft__on_connector(ft_loop *loop, ft__watch *nw, uint32_t events) {
  (void)loop;
  (void)events;
  ft_watch *w = nw->data;
  ft__cnproc_read(&w->cn, ft__on_cnproc, w);
}

/* The loop is about to reap a child.  The kernel queued the child's fork
 * and execs on the connector before the child could exit, but the loop may
 * not have read them yet (a command that execs twice and exits within the
 * first milliseconds, while forktop starts up).  Read them now, while the
 * zombie's name can still be read: told after the reap, its fork would
 * find no child of the loop's under that pid and be taken for a new
 * process, and its execs would be lost. */
static void ft__watch_prereap(ft_loop *loop, void *ud) {
  ft_watch *w = ud;
  if (w->nlw)
    ft__on_connector(loop, w->nlw, 0);
}

/* Subscribe to the connector, read through the loop; -errno when not
 * permitted. */
static int ft__connector_open(ft_watch *w) {
  int rc = ft__cnproc_open(&w->cn);
  if (rc < 0)
    return rc;
  w->nlw = ft__watch_new(w->loop, w->cn.fd, EPOLLIN, ft__on_connector, w, true);
  if (!w->nlw) {
    ft__cnproc_free(&w->cn, true);
    return -ENOMEM;
  }
  return 0;
}

/* ------------------------------------------------------------------ scan */

/* What a scan read of p (in the tree, or found elsewhere by its pid). */
static void ft__wseen(ft_watch *w, ft__wproc *p, const ft_tree_proc *tp) {
  p->seen = true;
  p->gone_scans = 0;
  if (!p->start_ticks)
    p->start_ticks = tp->start_ticks;
  if (p->ours) {
    /* scanning alone, the scan is all that can see the loop's own child
     * exec again (`sh -c 'exec make'`) */
    if (w->cn.fd < 0 && tp->state != 'Z')
      ft__wexec_ours(w, p);
    return;
  }
  if (!p->dead) {
    p->ppid = tp->ppid;
    if ((w->cn.fd < 0 || w->lost_walk) && tp->state != 'Z' &&
        strncmp(p->comm, tp->comm, sizeof p->comm - 1) != 0) {
      /* exec'd between two scans (the connector tells of execs itself,
       * unless the message was lost) */
      ft__read_comm(p->pid, p->comm, sizeof p->comm);
      if (!p->comm[0])
        snprintf(p->comm, sizeof p->comm, "%.31s", tp->comm);
      ft__wemit(w, FT_EV_EXEC, p, 0);
      if (w->lost_walk)
        p->walk_exec_ns = ft_now_ns();
    }
  }
  if (tp->state == 'Z' && !p->died_ns)
    p->died_ns = ft_now_ns(); /* scanning alone: it died before now, its parent not reaping */
  p->zombie_scans = tp->state == 'Z' ? p->zombie_scans + 1 : 0;
  /* a zombie for one scan is a child its parent is about to reap; for
   * two (100 ms) its parent is not reaping it */
  if (p->zombie_scans >= 2 && !p->zombie_said) {
    p->zombie_said = true;
    ft_event ev = {.kind = FT_EV_ZOMBIE, .pid = p->pid, .ppid = tp->ppid, .name = p->comm};
    ft__emit(w->loop, &ev);
  }
}

/* p is no longer in /proc (or its pid is another process's now): it was
 * reaped.  Returns false while it waits for the connector's word. */
static bool ft__wgone(ft_watch *w, ft__wproc *p, bool final) {
  if (p->dead && !p->said && !p->ours) {
    /* the loop's to reap, yet gone: what the connector said is all we have */
    uint64_t end = p->died_ns > p->born_ns ? p->died_ns - p->born_ns : 0;
    int signo = (int)(p->status & 0x7f);
    ft__wsay(w, p, p->ppid, signo ? (int)p->status : (int)((p->status >> 8) & 0xff), signo, false,
             end);
  } else if (!p->dead && !p->ours) {
    /* Reaped by its parent unseen.  With the connector its exit is on
     * its way (the kernel queues it just after the parent can reap), so
     * it gets a few scans, unless messages were lost. */
    if (w->cn.fd >= 0 && w->cn.drops == w->lost_walked && !final &&
        ++p->gone_scans < FT__GONE_SCANS)
      return false;
    /* Its exit message lost (or never sent): taskstats, which the kernel
     * queued before the parent could reap, has its status, unless those
     * were dropped too; then its status is unknown, and said so. */
    unsigned status = 0;
    bool got;
    uint64_t life = ft__wlast_name(w, p, &status, &got);
    uint64_t end = p->died_ns ? p->died_ns : ft_now_ns(); /* seen a zombie, or gone now */
    if (!life)
      life = end > p->born_ns ? end - p->born_ns : 0;
    int signo = got ? (int)(status & 0x7f) : 0;
    ft__wsay(w, p, p->ppid,
             !got    ? -1
             : signo ? (int)status
                     : (int)((status >> 8) & 0xff),
             signo, false, life);
  }
  ft__wdel(w, p, true);
  return true;
}

/* Compare /proc with what we know: zombies named with their parent,
 * reaped ones forgotten (and, scanning alone, new ones spawned and the
 * vanished ones exited, status unknown).  With the connector (and nothing
 * lost) the tree is known from its events: after the first scan no walk
 * of /proc, and none of the loop's own children read (the loop reaps them
 * and says so): a pool of 2,000 workers costs no reads at all.  Nor, then,
 * is every other process read every time: one the connector says has
 * exited is (a zombie, or reaped unseen), and so is one not read yet; a
 * quiet one, alive and read before, has nothing to tell that its events
 * would not, so about FT__QUIET_READS of those are read a scan, in turn
 * (its parent, should it have been re-parented).  Reading all of them
 * cost 12 us each ten times a second: 18 % of a core for 1,500 processes
 * that a pool's tasks had exec'd. */
static void ft__wscan(ft_watch *w, bool initial, bool final) {
  /* Messages lost: one walk of /proc fills the gap, not one every scan
   * from then on (at 8,000 processes, half a core). */
  if (w->cn.drops != w->lost_walked && w->nlw)
    ft__on_connector(w->loop, w->nlw, 0); /* first what was not lost */
  uint64_t lost = w->cn.drops;
  bool walk = initial || w->cn.fd < 0 || lost != w->lost_walked;
  if (walk && ft_tree_scan(w->o.root, &w->tree) < 0)
    return;
  w->lost_walk = w->cn.fd >= 0 && lost != w->lost_walked;
  for (size_t i = 0; i < w->n; i++)
    w->procs[i].seen = false;
  if (w->o.with_root && initial) {
    ft_tree_proc tp;
    if (ft_tree_read(w->o.root, &tp) == 0) {
      uint64_t born = ft_tree_start_ns(tp.start_ticks);
      ft__wspawn(w, tp.pid, tp.ppid, born, &tp, born);
    }
  }
  for (size_t i = 0; walk && i < w->tree.n; i++) {
    const ft_tree_proc *tp = &w->tree.procs[i];
    ft__wproc *p = ft__wfind(w, tp->pid);
    if (p && p->start_ticks && p->start_ticks != tp->start_ticks) {
      ft__wgone(w, p, true); /* its pid is another's now */
      p = NULL;
    }
    if (!p) {
      uint64_t born = ft_tree_start_ns(tp->start_ticks);
      p = ft__wspawn(w, tp->pid, tp->ppid, born, tp, initial ? born : 0);
    }
    if (p)
      ft__wseen(w, p, tp);
  }
  size_t period = walk ? 1 : w->n / FT__QUIET_READS + 1, turn = w->scans++ % period;
  for (size_t i = 0; i < w->n;) {
    ft__wproc *p = &w->procs[i];
    ft_tree_proc tp;
    bool quiet = !walk && !final && !p->dead && p->start_ticks && !p->zombie_scans;
    if (p->seen || (quiet && !p->ours && i % period != turn)) {
      p->seen = true;
      i++;
    } else if (p->ours) {
      if (ft__ptab_get(w->loop, p->pid))
        i++;
      else
        ft__wdel(w, p, true); /* reaped, and told, by the loop */
    } else if (ft_tree_read(p->pid, &tp) == 0 &&
               (!p->start_ticks || tp.start_ticks == p->start_ticks)) {
      /* alive, or a zombie; below root or elsewhere (an orphan of a
       * watched tree goes to init, or to another subreaper) */
      ft__wseen(w, p, &tp);
      i++;
    } else if (!ft__wgone(w, p, final)) {
      i++;
    }
  }
  if (walk)
    w->lost_walked = lost;
  w->lost_walk = false;
}

static void ft__on_scan(ft_timer *t, void *ud) {
  (void)t;
  ft_watch *w = ud;
  ft__wscan(w, false, false);
}

/* -p's root has exited: its status from the connector, else taskstats
 * (queued before the pidfd can tell), else unknown. */
static void ft__on_root_exit(ft_loop *loop, ft__watch *nw, uint32_t events) {
  (void)events;
  ft_watch *w = nw->data;
  ft__watch_close(loop, w->pidw);
  w->pidw = NULL;
  if (w->nlw)
    ft__on_connector(loop, w->nlw, 0);
  ft__wproc *p = ft__wfind(w, w->o.root);
  if (!p || p->said) {
    w->root_exited = true;
    return;
  }
  bool got;
  unsigned status = 0;
  uint64_t life = ft__wlast_name(w, p, &status, &got);
  p->dead = true;
  uint64_t now = ft_now_ns();
  if (!life)
    life = now > p->born_ns ? now - p->born_ns : 0;
  int signo = got ? (int)(status & 0x7f) : 0;
  int code = !got ? -1 : signo ? (int)status : (int)((status >> 8) & 0xff);
  ft__wsay(w, p, p->ppid, code, signo, false, life);
}

/* -------------------------------------------------------------- the API */

/* Watch o->root's descendants (and o->root, with with_root). */
int ft_watch_open(ft_loop *loop, const ft_watch_opts *o, ft_watch **out) {
  *out = NULL;
  ft_watch *w = ft__xalloc(sizeof *w);
  if (!w)
    return -ENOMEM;
  w->loop = loop;
  w->o = *o;
  w->cn.fd = w->ts.fd = -1;
  if (o->connector && ft__connector_open(w) == 0)
    ft__ts_open(w); /* not permitted: scanning alone */
  /* Without pidfds (an old kernel, valgrind) the root's exit comes from
   * the connector, or a scan finds it gone. */
  int rc = ft_timer_new(loop, &w->scan), fd = -1;
  if (rc == 0 && o->with_root && (fd = ft__pidfd_open(o->root)) < 0 && errno == ESRCH)
    rc = -ESRCH;
  if (rc == 0 && fd >= 0 &&
      !(w->pidw = ft__watch_new(loop, fd, EPOLLIN, ft__on_root_exit, w, true))) {
    close(fd);
    rc = -ENOMEM;
  }
  if (rc < 0) {
    w->finished = true; /* nothing to tell */
    ft_watch_free(w);
    return rc;
  }
  loop->orphan_fn = ft__watch_orphan;
  loop->prereap_fn = ft__watch_prereap;
  loop->orphan_ud = w;
  /* Subscribed first, then scanned: a process forked in between is seen
   * by one or the other (or both; the first to tell wins). */
  ft__wscan(w, true, false);
  ft_timer_start(w->scan, FT__SCAN_NS, FT__SCAN_NS, ft__on_scan, w);
  *out = w;
  return 0;
}

/* Watch root's descendants. */
int ft_watch_new(ft_loop *loop, pid_t root, bool connector, ft_watch **out) {
  ft_watch_opts o = {.root = root, .connector = connector};
  return ft_watch_open(loop, &o, out);
}

/* "connector" or "scan". */
const char *ft_watch_mode(const ft_watch *w) { return w->cn.fd >= 0 ? "connector" : "scan"; }

/* Messages of the connector the kernel dropped (at least this many). */
uint64_t ft_watch_lost(const ft_watch *w) { return ft__cnproc_lost(&w->cn); }

/* For tests: the connector's socket buffer made small. */
int ft__watch_rcvbuf(ft_watch *w, int bytes) { return ft__cnproc_rcvbuf(&w->cn, bytes); }

/* Descendants known right now. */
size_t ft_watch_count(const ft_watch *w) { return w->n; }

/* Whether -p's root has exited, and how. */
bool ft_watch_root_exited(const ft_watch *w, int *code, int *signo) {
  if (code)
    *code = w->root_code;
  if (signo)
    *signo = w->root_signo;
  return w->root_exited;
}

/* Signal p if it is still the process recorded: through a pidfd opened
 * before its start time is checked, so a pid reused since (p reaped by its
 * parent, the exit not read yet) is never signalled. */
static void ft__wsignal(ft_watch *w, ft__wproc *p, int signo) {
  (void)w;
  if (p->dead || p->ours)
    return;
  int fd = ft__pidfd_open(p->pid);
  ft_tree_proc tp;
  if (fd < 0)
    return;
  if (ft_tree_read(p->pid, &tp) == 0 && (!p->start_ticks || tp.start_ticks == p->start_ticks) &&
      ft__pidfd_signal(fd, signo) == 0 && signo < 64)
    p->sent |= 1ull << signo;
  close(fd);
}

/* Send signo to every live process of the watched tree that is not one of
 * the loop's own children (the loop signals those: ft_loop_signal_all),
 * and to each one born or exec'ing from now on, while the watch lives.
 * Their exits by signo are told as sent by forktop.  The connector's queue
 * is read first, so what has exited is known as such. */
void ft_watch_signal(ft_watch *w, int signo) {
  if (!w || signo <= 0)
    return;
  if (w->nlw)
    ft__on_connector(w->loop, w->nlw, 0);
  w->stop_signo = signo;
  for (size_t i = 0; i < w->n; i++)
    ft__wsignal(w, &w->procs[i], signo);
}

/* Read what is queued, reap, and tell the exits of what is gone. */
void ft_watch_finish(ft_watch *w) {
  if (!w || w->finished)
    return;
  w->finished = true;
  if (w->nlw)
    ft__on_connector(w->loop, w->nlw, 0);
  ft__tstats_drain(&w->ts, 0);
  if (w->loop->depth == 0)
    ft__loop_reap(w->loop); /* orphans reaped while we can still tell them */
  ft__wscan(w, false, true);
}

/* For tests: one message of the connector handled as if read now, so
 * that an order of events the kernel may give can be forced. */
void ft__watch_feed(ft_watch *w, const struct proc_event *pe) { ft__connector_event(w, pe); }

/* For tests: one scan of /proc, as the timer makes. */
void ft__watch_scan(ft_watch *w) { ft__wscan(w, false, false); }

/* Stop watching. */
void ft_watch_free(ft_watch *w) {
  if (!w)
    return;
  ft_watch_finish(w);
  if (w->loop->orphan_ud == w) {
    w->loop->orphan_fn = NULL;
    w->loop->prereap_fn = NULL;
    w->loop->orphan_ud = NULL;
  }
  if (w->nlw)
    ft__watch_close(w->loop, w->nlw);
  if (w->tsw)
    ft__watch_close(w->loop, w->tsw);
  if (w->pidw)
    ft__watch_close(w->loop, w->pidw);
  ft_timer_free(w->scan);
  ft_tree_free(&w->tree);
  ft__tstats_free(&w->ts, false); /* its socket went with its watch */
  ft__cnproc_free(&w->cn, false); /* its socket went with its watch */
  free(w->procs);
  ft__pidx_free(&w->index);
  free(w);
}
