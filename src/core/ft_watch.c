/* ft_watch.c - watch a process tree forktop did not build: every
 * descendant of a root, its exec and its exit (with the code when it can
 * be known), and zombies with the parent that fails to reap them.
 *
 * With the kernel's process-event connector (root or CAP_NET_ADMIN) every
 * fork, exec and exit is seen, however short-lived the process; without
 * it, the tree is scanned from /proc ten times a second, which sees what
 * lives long enough and cannot know the exit codes of others' children. */
#include "ft_watch.h"

#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ft_internal.h"
#include "ft_tree.h"

#define FT__SCAN_NS (100ull * 1000 * 1000)

typedef struct ft__wproc {
  pid_t pid, ppid;
  char comm[32];
  bool ours;  /* forked by the loop: the loop reports it */
  bool zombie_said;
  unsigned zombie_scans; /* scans in a row that found it a zombie */
  bool seen; /* in the latest scan */
} ft__wproc;

struct ft_watch {
  ft_loop *loop;
  pid_t root;
  int nl; /* the connector socket, or -1 */
  ft__watch *nlw;
  ft_timer *scan;
  ft_tree tree;
  ft__wproc *procs;
  size_t n, cap;
  uint64_t lost; /* connector messages dropped by the kernel */
  /* Exits of processes not (yet) known: the connector delivers each CPU's
   * events in order, but a child's exit on one CPU can overtake its fork
   * on another.  A fork that finds its child here is followed at once by
   * that exit. */
  struct {
    pid_t pid, ppid;
    int status;
  } early[256];
  unsigned nearly;
};

static ft__wproc *ft__wfind(ft_watch *w, pid_t pid) {
  for (size_t i = 0; i < w->n; i++)
    if (w->procs[i].pid == pid)
      return &w->procs[i];
  return NULL;
}

static ft__wproc *ft__wadd(ft_watch *w, pid_t pid, pid_t ppid) {
  if (w->n == w->cap) {
    size_t cap = w->cap ? w->cap * 2 : 64;
    ft__wproc *v = realloc(w->procs, cap * sizeof *v);
    if (!v)
      return NULL;
    w->procs = v;
    w->cap = cap;
  }
  w->procs[w->n] = (ft__wproc){.pid = pid, .ppid = ppid};
  return &w->procs[w->n++];
}

static void ft__wdel(ft_watch *w, pid_t pid) {
  for (size_t i = 0; i < w->n; i++)
    if (w->procs[i].pid == pid) {
      w->procs[i] = w->procs[--w->n];
      return;
    }
}

static void ft__wemit(ft_watch *w, ft_event_kind kind, pid_t pid, pid_t ppid, const char *name) {
  ft_event ev = {.kind = kind, .pid = pid, .ppid = ppid, .name = name};
  if (kind == FT_EV_SPAWN) {
    ev.u.spawn.role = "watched";
    ev.u.spawn.worker = -1;
  }
  if (kind == FT_EV_EXEC)
    ev.u.exec.path = name;
  ft__emit(w->loop, &ev);
}

/* A descendant we learnt of: say so (the loop speaks for its own children). */
static void ft__wspawn(ft_watch *w, pid_t pid, pid_t ppid) {
  ft__wproc *p;
  if (ft__wfind(w, pid) || !(p = ft__wadd(w, pid, ppid)))
    return;
  ft__read_comm(pid, p->comm, sizeof p->comm);
  if (!p->comm[0]) {
    /* gone already (its exit came first): a child starts with its parent's name */
    const ft__wproc *parent = ft__wfind(w, ppid);
    if (parent)
      memcpy(p->comm, parent->comm, sizeof p->comm);
  }
  p->ours = ft__ptab_get(w->loop, pid) != NULL;
  if (!p->ours)
    ft__wemit(w, FT_EV_SPAWN, pid, ppid, p->comm);
}

/* A descendant ended.  Our own children and the orphans handed to us are
 * reported by the loop when it reaps them, with their status; so are the
 * others here, when the connector told us their status (code >= -1 only
 * when known). */
static void ft__wexit(ft_watch *w, pid_t pid, pid_t ppid, bool known, int code, int signo) {
  ft__wproc *p = ft__wfind(w, pid);
  if (!p)
    return;
  char comm[32];
  bool ours = p->ours;
  if (ppid <= 0)
    ppid = p->ppid; /* the kernel did not say (an exit reported before its fork) */
  memcpy(comm, p->comm, sizeof comm);
  ft__wdel(w, pid);
  if (ours || ppid == w->loop->pid || ft__ptab_get(w->loop, pid))
    return; /* the loop's to report */
  ft_event ev = {.kind = FT_EV_EXIT, .pid = pid, .ppid = ppid, .name = comm};
  ev.u.exit.code = known ? code : -1;
  ev.u.exit.signal = known ? signo : 0;
  ft__emit(w->loop, &ev);
}

/* ------------------------------------------------------------ connector */

static void ft__on_connector(ft_loop *loop, ft__watch *nw, uint32_t events) {
  (void)loop;
  (void)events;
  ft_watch *w = nw->data;
  char buf[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
  for (;;) {
    ssize_t n = recv(nw->fd, buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == ENOBUFS) {
        w->lost++; /* the kernel dropped some: a scan fills the gap */
        continue;
      }
      return;
    }
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_type != NLMSG_DONE)
        continue;
      struct cn_msg *cm = NLMSG_DATA(h);
      if (cm->id.idx != CN_IDX_PROC || cm->id.val != CN_VAL_PROC)
        continue;
      /* cn_msg's data is only 4-byte aligned; proc_event holds a u64 */
      struct proc_event ev_copy, *pe = &ev_copy;
      memset(&ev_copy, 0, sizeof ev_copy);
      memcpy(&ev_copy, cm->data, cm->len < sizeof ev_copy ? cm->len : sizeof ev_copy);
      switch (pe->what) {
      case PROC_EVENT_FORK: {
        pid_t parent = pe->event_data.fork.parent_tgid, child = pe->event_data.fork.child_tgid;
        if (pe->event_data.fork.child_pid != child)
          break; /* a thread, not a process */
        if (parent != w->root && !ft__wfind(w, parent))
          break;
        ft__wspawn(w, child, parent);
        for (unsigned i = 0; i < w->nearly && i < FT_ARRAY_LEN(w->early); i++)
          if (w->early[i].pid == child) {
            int st = w->early[i].status;
            w->early[i].pid = 0;
            ft__wexit(w, child, w->early[i].ppid, true, (st >> 8) & 0xff, st & 0x7f);
          }
        break;
      }
      case PROC_EVENT_EXEC: {
        pid_t pid = pe->event_data.exec.process_tgid;
        ft__wproc *p = ft__wfind(w, pid);
        if (pe->event_data.exec.process_pid == pid && p) {
          char comm[sizeof p->comm];
          ft__read_comm(pid, comm, sizeof comm);
          if (comm[0]) /* gone already: keep the name it had */
            memcpy(p->comm, comm, sizeof comm);
          if (!p->ours)
            ft__wemit(w, FT_EV_EXEC, pid, p->ppid, p->comm);
        }
        break;
      }
      case PROC_EVENT_EXIT: {
        pid_t pid = pe->event_data.exit.process_tgid;
        if (pe->event_data.exit.process_pid != pid)
          break;
        unsigned st = pe->event_data.exit.exit_code;
        if (!ft__wfind(w, pid)) { /* maybe ahead of its fork: keep it a while */
          unsigned k = w->nearly++ % FT_ARRAY_LEN(w->early);
          w->early[k].pid = pid;
          w->early[k].ppid = pe->event_data.exit.parent_tgid;
          w->early[k].status = (int)st;
          break;
        }
        ft__wexit(w, pid, pe->event_data.exit.parent_tgid, true, (int)((st >> 8) & 0xff), (int)(st & 0x7f));
        break;
      }
      default:
        break;
      }
    }
  }
}

/* Subscribe to the connector; -errno when not permitted. */
static int ft__connector_open(ft_watch *w) {
  int fd = socket(PF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_CONNECTOR);
  if (fd < 0)
    return -errno;
  int big = 8 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big) < 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = CN_IDX_PROC, .nl_pid = 0};
  /* nlmsghdr, cn_msg, then the op, laid out by hand: cn_msg ends in a
   * flexible array, so it cannot sit inside a struct in ISO C */
  enum proc_cn_mcast_op op = PROC_CN_MCAST_LISTEN;
  char msg[sizeof(struct nlmsghdr) + sizeof(struct cn_msg) + sizeof op] __attribute__((aligned(8)));
  struct nlmsghdr h = {.nlmsg_len = sizeof msg, .nlmsg_type = NLMSG_DONE, .nlmsg_pid = 0};
  struct cn_msg cm = {.id = {.idx = CN_IDX_PROC, .val = CN_VAL_PROC}, .len = sizeof op};
  memcpy(msg, &h, sizeof h);
  memcpy(msg + sizeof h, &cm, sizeof cm);
  memcpy(msg + sizeof h + sizeof cm, &op, sizeof op);
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || send(fd, msg, sizeof msg, 0) < 0) {
    int e = -errno;
    close(fd);
    return e;
  }
  w->nl = fd;
  w->nlw = ft__watch_new(w->loop, fd, EPOLLIN, ft__on_connector, w, true);
  if (!w->nlw) {
    close(fd);
    w->nl = -1;
    return -ENOMEM;
  }
  return 0;
}

/* ------------------------------------------------------------------ scan */

/* Compare the tree with what we know: new ones spawned, missing ones
 * exited (status unknown), zombies named with their parent. */
static void ft__watch_scan(ft_timer *t, void *ud) {
  (void)t;
  ft_watch *w = ud;
  if (ft_tree_scan(w->root, &w->tree) < 0)
    return;
  for (size_t i = 0; i < w->n; i++)
    w->procs[i].seen = false;
  for (size_t i = 0; i < w->tree.n; i++) {
    const ft_tree_proc *tp = &w->tree.procs[i];
    ft__wproc *p = ft__wfind(w, tp->pid);
    if (!p) {
      ft__wspawn(w, tp->pid, tp->ppid);
      p = ft__wfind(w, tp->pid);
    }
    if (!p)
      continue;
    p->seen = true;
    p->ppid = tp->ppid;
    if (strcmp(p->comm, tp->comm) != 0) /* exec'd between two scans */
      snprintf(p->comm, sizeof p->comm, "%.31s", tp->comm);
    p->zombie_scans = tp->state == 'Z' ? p->zombie_scans + 1 : 0;
    /* a zombie for one scan is a child its parent is about to reap; for
     * two (100 ms) its parent is not reaping it */
    if (p->zombie_scans >= 2 && !p->zombie_said) {
      p->zombie_said = true;
      ft_event ev = {.kind = FT_EV_ZOMBIE, .pid = tp->pid, .ppid = tp->ppid, .name = tp->comm};
      ft__emit(w->loop, &ev);
    }
  }
  /* With the connector every exit comes from it, with its status (a
   * scan racing it would report some without); scanning reports them only
   * alone, or when the kernel dropped connector messages. */
  if (w->nl >= 0 && !w->lost)
    return;
  for (size_t i = 0; i < w->n;) {
    if (w->procs[i].seen || w->procs[i].pid == w->root) {
      i++;
      continue;
    }
    ft__wexit(w, w->procs[i].pid, w->procs[i].ppid, false, 0, 0);
  }
}

/* Watch the descendants of root (root itself is the caller's business;
 * give the loop's own pid to watch everything the loop's children start). */
int ft_watch_new(ft_loop *loop, pid_t root, bool connector, ft_watch **out) {
  *out = NULL;
  ft_watch *w = ft__xalloc(sizeof *w);
  if (!w)
    return -ENOMEM;
  w->loop = loop;
  w->root = root;
  w->nl = -1;
  if (connector)
    ft__connector_open(w); /* not permitted: scanning alone */
  int rc = ft_timer_new(loop, &w->scan);
  if (rc < 0) {
    ft_watch_free(w);
    return rc;
  }
  /* Subscribed first, then scanned: a process forked in between is seen
   * by one or the other (or both; the first to tell wins). */
  ft__watch_scan(w->scan, w);
  ft_timer_start(w->scan, FT__SCAN_NS, FT__SCAN_NS, ft__watch_scan, w);
  *out = w;
  return 0;
}

/* "connector" or "scan". */
const char *ft_watch_mode(const ft_watch *w) { return w->nl >= 0 ? "connector" : "scan"; }

/* Descendants known right now. */
size_t ft_watch_count(const ft_watch *w) { return w->n; }

/* Stop watching. */
void ft_watch_free(ft_watch *w) {
  if (!w)
    return;
  if (w->nlw)
    ft__watch_close(w->loop, w->nlw);
  ft_timer_free(w->scan);
  ft_tree_free(&w->tree);
  free(w->procs);
  free(w);
}
