/* ft_cnproc.c - the kernel's process-event connector (root or
 * CAP_NET_ADMIN): a message for every fork, exec and exit of the machine,
 * however short-lived the process, sent from the CPU it happened on.
 * When the socket's buffer is full the kernel drops messages and says so
 * once (ENOBUFS); each CPU numbers its messages, so a gap in one CPU's
 * numbers counts what was dropped. */
#include "ft_cnproc.h"

#include <errno.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* A gap in one CPU's numbers is that many dropped.  The answers to
 * subscriptions (ours and every other listener's: they are multicast)
 * are numbered with the rest on recent kernels; older ones said CPU -1,
 * and are not counted.  Those dropped after a CPU's last message read are
 * not known: the count is a floor. */
static void ft__cnproc_count(ft__cnproc *c, uint32_t cpu, uint32_t seq) {
  if (cpu >= c->ncpu)
    return;
  uint32_t gap = seq - (uint32_t)c->cpu_seq[cpu]; /* the one expected: last + 1 */
  if (c->cpu_seq[cpu] && gap < (1u << 31))
    c->dropped += gap;
  c->cpu_seq[cpu] = (uint64_t)seq + 1;
}

/* Read what is queued (see ft_cnproc.h). */
void ft__cnproc_read(ft__cnproc *c, void (*fn)(void *ud, const struct proc_event *pe), void *ud) {
  char buf[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
  while (c->fd >= 0) {
    ssize_t n = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == ENOBUFS) {
        c->drops++; /* the kernel dropped some: the caller fills the gap */
        continue;
      }
      return;
    }
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
         h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_type != NLMSG_DONE)
        continue;
      struct cn_msg *cm = NLMSG_DATA(h);
      if (cm->id.idx != CN_IDX_PROC || cm->id.val != CN_VAL_PROC)
        continue;
      /* cn_msg's data is only 4-byte aligned; proc_event holds a u64 */
      struct proc_event pe;
      memset(&pe, 0, sizeof pe);
      memcpy(&pe, cm->data, cm->len < sizeof pe ? cm->len : sizeof pe);
      ft__cnproc_count(c, pe.cpu, cm->seq);
      fn(ud, &pe);
    }
  }
}

/* Subscribe (see ft_cnproc.h). */
int ft__cnproc_open(ft__cnproc *c) {
  *c = (ft__cnproc){.fd = -1};
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
  long ncpu = sysconf(_SC_NPROCESSORS_CONF);
  c->ncpu = ncpu > 0 ? (size_t)ncpu : 0;
  if (c->ncpu && !(c->cpu_seq = calloc(c->ncpu, sizeof *c->cpu_seq)))
    c->ncpu = 0; /* then what was dropped is counted by the drops alone */
  c->fd = fd;
  return 0;
}

/* Messages dropped, at least (see ft_cnproc.h). */
uint64_t ft__cnproc_lost(const ft__cnproc *c) {
  return c->dropped > c->drops ? c->dropped : c->drops;
}

/* For tests (see ft_cnproc.h). */
int ft__cnproc_rcvbuf(ft__cnproc *c, int bytes) {
  if (c->fd < 0)
    return -ENOTCONN;
  return setsockopt(c->fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes) < 0 ? -errno : 0;
}

/* Release (see ft_cnproc.h). */
void ft__cnproc_free(ft__cnproc *c, bool owns_fd) {
  if (owns_fd && c->fd >= 0)
    close(c->fd);
  free(c->cpu_seq);
  *c = (ft__cnproc){.fd = -1};
}
