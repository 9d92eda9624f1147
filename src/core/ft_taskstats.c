/* ft_taskstats.c - the kernel's per-exit accounting records (taskstats),
 * read over generic netlink: each process that exited, as it was (its
 * name, its status, its exact lifetime).  The watch names an exit from
 * here, since a program whose exec is read after it was reaped can no
 * longer be named from /proc.  Needs root (CAP_NET_ADMIN), as the
 * process-event connector does; without it ft__tstats_open fails and the
 * watch names exits from what /proc said. */
#include "ft_taskstats.h"

#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/taskstats.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ft_internal.h"

/* Read the taskstats records queued: each process that exited, as it was.
 * With want > 0, stop after the batch that holds want's record.
 *
 * The records are every exit of the system's, ours among them, and the
 * ring keeps the last FT__STATS.  Read all at once after forktop lagged
 * (starved of CPU, stopped) while other programs made thousands of exits,
 * ours were pushed out before their exits were read from the connector,
 * and those exits were named as they were at fork.  The kernel queues
 * both in exit order, so reading only up to the record wanted keeps the
 * rest in the socket until its turn. */
void ft__tstats_drain(ft__tstats *ts, pid_t want) {
  char buf[16384] __attribute__((aligned(NLMSG_ALIGNTO)));
  bool found = false;
  while (ts->fd >= 0 && !found) {
    ssize_t n = recv(ts->fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && errno == ENOBUFS)
      continue; /* some were dropped: those exits keep the names /proc gave */
    if (n <= 0)
      return;
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
         h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_type != ts->family || h->nlmsg_len < NLMSG_LENGTH(GENL_HDRLEN))
        continue;
      const char *a = (const char *)NLMSG_DATA(h) + GENL_HDRLEN,
                 *end = (const char *)h + h->nlmsg_len;
      while (a + NLA_HDRLEN <= end) {
        struct nlattr top;
        memcpy(&top, a, sizeof top);
        if (top.nla_len < NLA_HDRLEN || a + top.nla_len > end)
          break;
        if ((top.nla_type & NLA_TYPE_MASK) == TASKSTATS_TYPE_AGGR_PID) {
          ft__tstat rec = {0};
          struct taskstats st;
          bool got = false;
          memset(&st, 0, sizeof st);
          for (const char *b = a + NLA_HDRLEN; b + NLA_HDRLEN <= a + top.nla_len;) {
            struct nlattr in;
            memcpy(&in, b, sizeof in);
            if (in.nla_len < NLA_HDRLEN || b + in.nla_len > a + top.nla_len)
              break;
            size_t len = in.nla_len - NLA_HDRLEN;
            if (in.nla_type == TASKSTATS_TYPE_PID && len >= sizeof(uint32_t)) {
              uint32_t pid;
              memcpy(&pid, b + NLA_HDRLEN, sizeof pid);
              rec.pid = (pid_t)pid;
            } else if (in.nla_type == TASKSTATS_TYPE_STATS) {
              memcpy(&st, b + NLA_HDRLEN, len < sizeof st ? len : sizeof st);
              got = true;
            }
            b += NLA_ALIGN(in.nla_len);
          }
          if (got && rec.pid > 0) {
            rec.status = st.ac_exitcode;
            rec.etime_us = st.ac_etime;
            snprintf(rec.comm, sizeof rec.comm, "%.*s", (int)sizeof st.ac_comm, st.ac_comm);
            ts->ring[ts->next++ % FT__STATS] = rec;
            found = found || (want > 0 && rec.pid == want);
          }
        }
        a += NLA_ALIGN(top.nla_len);
      }
    }
  }
}

/* The record of pid's exit (the oldest not taken: each exit has one),
 * after reading what is queued; NULL if there is none.  Records of
 * processes not ours stay until pushed out; one of them could be taken
 * for ours only if its pid were reused while it is in the ring, and pids
 * are handed out in turn: that takes pid_max forks, each one an exit
 * (a record) too, far more than the ring holds. */
const ft__tstat *ft__tstats_take(ft__tstats *ts, pid_t pid) {
  if (!ts->ring)
    return NULL;
  for (int pass = 0; pass < 2; pass++) {
    size_t first = ts->next > FT__STATS ? ts->next - FT__STATS : 0;
    for (size_t i = first; i < ts->next; i++) {
      ft__tstat *r = &ts->ring[i % FT__STATS];
      if (r->pid == pid && !r->used) {
        r->used = true;
        return r;
      }
    }
    if (pass == 0)
      ft__tstats_drain(ts, pid);
  }
  return NULL;
}

/* Send a generic netlink request and, with ack, read the answer into buf. */
static ssize_t ft__genl_ask(int fd, uint16_t type, uint8_t cmd, uint16_t attr, const char *val,
                            char *buf, size_t cap) {
  size_t vlen = strlen(val) + 1;
  char msg[256] __attribute__((aligned(NLMSG_ALIGNTO)));
  struct nlmsghdr h = {.nlmsg_len = (uint32_t)NLMSG_LENGTH(GENL_HDRLEN + NLA_HDRLEN + vlen),
                       .nlmsg_type = type,
                       .nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK};
  struct genlmsghdr g = {.cmd = cmd, .version = 1};
  struct nlattr a = {.nla_len = (uint16_t)(NLA_HDRLEN + vlen), .nla_type = attr};
  if (NLMSG_ALIGN(h.nlmsg_len) > sizeof msg)
    return -EINVAL;
  memset(msg, 0, sizeof msg);
  memcpy(msg, &h, sizeof h);
  memcpy(msg + NLMSG_HDRLEN, &g, sizeof g);
  memcpy(msg + NLMSG_HDRLEN + GENL_HDRLEN, &a, sizeof a);
  memcpy(msg + NLMSG_HDRLEN + GENL_HDRLEN + NLA_HDRLEN, val, vlen);
  if (send(fd, msg, NLMSG_ALIGN(h.nlmsg_len), 0) < 0)
    return -errno;
  ssize_t n = recv(fd, buf, cap, 0);
  return n < 0 ? -errno : n;
}

/* Listen to taskstats on every CPU: resolve the family, register (see
 * ft_taskstats.h). */
int ft__tstats_open(ft__tstats *ts) {
  char buf[4096] __attribute__((aligned(NLMSG_ALIGNTO)));
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
  struct timeval tv = {.tv_sec = 1};
  ts->fd = -1;
  if (fd < 0)
    return -errno;
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv); /* the answers are at once */
  ssize_t n = ft__genl_ask(fd, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, CTRL_ATTR_FAMILY_NAME,
                           TASKSTATS_GENL_NAME, buf, sizeof buf);
  const struct nlmsghdr *h = (const struct nlmsghdr *)buf;
  uint16_t family = 0;
  if (n > 0 && NLMSG_OK(h, (size_t)n) && h->nlmsg_type == GENL_ID_CTRL) {
    const char *a = (const char *)NLMSG_DATA(h) + GENL_HDRLEN,
               *end = (const char *)h + h->nlmsg_len;
    while (a + NLA_HDRLEN <= end) {
      struct nlattr at;
      memcpy(&at, a, sizeof at);
      if (at.nla_len < NLA_HDRLEN)
        break;
      if (at.nla_type == CTRL_ATTR_FAMILY_ID && at.nla_len >= NLA_HDRLEN + 2)
        memcpy(&family, a + NLA_HDRLEN, sizeof family);
      a += NLA_ALIGN(at.nla_len);
    }
  }
  char cpus[32];
  long ncpu = sysconf(_SC_NPROCESSORS_CONF);
  snprintf(cpus, sizeof cpus, "0-%ld", ncpu > 1 ? ncpu - 1 : 0);
  int err = -1;
  if (family &&
      (n = ft__genl_ask(fd, family, TASKSTATS_CMD_GET, TASKSTATS_CMD_ATTR_REGISTER_CPUMASK, cpus,
                        buf, sizeof buf)) > 0 &&
      NLMSG_OK(h, (size_t)n) && h->nlmsg_type == NLMSG_ERROR) {
    struct nlmsgerr e;
    memcpy(&e, NLMSG_DATA(h), sizeof e);
    err = e.error;
  }
  int big = 8 << 20;
  if (err != 0 || !(ts->ring = calloc(FT__STATS, sizeof *ts->ring))) {
    close(fd);
    return err < 0 ? err : -ENOMEM;
  }
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big) < 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  ft__set_cloexec_nonblock(fd, true);
  ts->fd = fd;
  ts->family = family;
  return 0;
}

/* Release the ring (the socket is its watch's to close, or closed here
 * when it has none: owns_fd). */
void ft__tstats_free(ft__tstats *ts, bool owns_fd) {
  if (owns_fd && ts->fd >= 0)
    close(ts->fd);
  ts->fd = -1;
  free(ts->ring);
  ts->ring = NULL;
}
