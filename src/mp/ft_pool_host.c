/* ft_pool_host.c - a pool's workers on other hosts, as events: a worker
 * that says hello over a socket is process rpid on the host at the other
 * end, which may have nothing to do with its launcher, the local process
 * the pool supervises (srun's pid here, the worker's pid on its node).
 * From its hello on, the worker's spawn, task events and exit carry
 * (host, rpid), and the dashboard signals it through ft_loop_signal_host,
 * which lands here: the transport's signal_worker when it has one (Slurm:
 * scancel --signal), else the launcher (for a TCP worker, the worker
 * itself, exec'd in place).  A launcher that knows its node's name and the
 * worker's step calls ft__pool_on_remote; a socket's hello, ft__pool_on_hello.
 *
 * A remote pid is a number on another machine: it may equal a live local
 * pid, even this worker's launcher's.  Nothing here ever passes it to
 * kill(2); it only picks a worker slot, whose local child is signalled. */
#include "ft_pool_int.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

/* The signal hook of a pool's hosts: a worker of ours at (host, pid). */
static int ft__pool_host_signal(ft_loop *loop, uint32_t host, pid_t pid, int signo, void *ud) {
  (void)loop;
  ft_pool *p = ud;
  for (int w = 0; w < p->nworkers; w++) {
    ft__worker *wk = &p->workers[w];
    if (wk->state == FT__W_ALIVE && wk->child && wk->host == host && wk->rpid == pid)
      return p->tr->ops->signal_worker ? p->tr->ops->signal_worker(p->tr, w, signo)
                                       : ft__child_signal(wk->child, signo);
  }
  return -ESRCH;
}

/* The address at the other end of fd, as text ("127.0.0.1"). */
static void ft__peer_name(int fd, char *out, size_t cap) {
  struct sockaddr_storage sa;
  socklen_t len = sizeof sa;
  snprintf(out, cap, "?");
  if (getpeername(fd, (struct sockaddr *)&sa, &len) < 0)
    return;
  if (sa.ss_family == AF_INET)
    inet_ntop(AF_INET, &((struct sockaddr_in *)&sa)->sin_addr, out, (socklen_t)cap);
  else if (sa.ss_family == AF_INET6)
    inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&sa)->sin6_addr, out, (socklen_t)cap);
}

/* Worker w said hello over fd: it is process rpid on the peer's host. */
void ft__pool_on_hello(ft_pool *p, int w, pid_t rpid, int fd, const char *node, const char *step) {
  char addr[INET6_ADDRSTRLEN];
  ft__peer_name(fd, addr, sizeof addr);
  char job[32] = ""; /* a Slurm step is "JOB.STEP": its host event names the job */
  if (step)
    snprintf(job, sizeof job, "%.*s", (int)strcspn(step, "."), step);
  ft__host_info info = {.name = node ? node : addr,
                        .address = addr,
                        .launcher = node ? "slurm" : p->tr->ops->name,
                        .job = job[0] ? job : NULL};
  ft__pool_on_remote(p, w, rpid, &info, step);
}

/* Host node lost for cause: joined lost when none of its workers ever
 * reached us (it was never up), else marked lost. */
void ft__pool_host_lost(ft_pool *p, const char *node, const char *job, const char *cause) {
  ft__host_info info = {
      .name = node, .launcher = "slurm", .job = job, .lost = true, .cause = cause};
  uint32_t host;
  if (ft__host_join(p->loop, &info, &host) == 0)
    ft__host_set_state(p->loop, host, NULL, true, cause);
}

/* Worker w is process rpid on the host info names. */
void ft__pool_on_remote(ft_pool *p, int w, pid_t rpid, const ft__host_info *info,
                        const char *step) {
  ft__worker *wk = &p->workers[w];
  uint32_t host;
  if (rpid <= 0 || ft__host_join(p->loop, info, &host) < 0)
    return; /* the worker works as before; it is shown as its launcher only */
  if (ft__host_on_signal(p->loop, host, ft__pool_host_signal, p) < 0)
    return;
  wk->host = host;
  wk->rpid = rpid;
  ft_event ev = {.kind = FT_EV_SPAWN, .host = host, .pid = rpid, .name = p->name};
  ev.u.spawn.role = "worker";
  ev.u.spawn.worker = w;
  ev.u.spawn.launcher_pid = wk->pid;
  ev.u.spawn.step = step;
  ft__emit(p->loop, &ev);
}

/* Worker wk's launcher c exited: so did the worker (a launcher ends with
 * its worker, or its worker is lost with it), with the status its
 * transport reads from the launcher's (code: >= 0, or -signal; srun's
 * 128+N is signal N), or, gone for a cause of the transport's own (its
 * host lost), with a status not known (-1). */
void ft__pool_host_exit(ft_pool *p, ft__worker *wk, const ft__child *c, int code) {
  if (!wk->host)
    return;
  ft_event ev = {.kind = FT_EV_EXIT, .host = wk->host, .pid = wk->rpid, .name = p->name};
  ev.u.exit.signal = code < 0 ? -code : 0;
  ev.u.exit.code = p->cause ? -1 : code > 0 ? code : 0;
  ev.u.exit.core = c->core;
  ev.u.exit.requested =
      ev.u.exit.signal > 0 && ev.u.exit.signal < 64 && (c->sent >> ev.u.exit.signal) & 1;
  ev.u.exit.runtime_ns = c->end_ns > c->start_ns ? c->end_ns - c->start_ns : 0;
  ft__emit(p->loop, &ev);
  wk->host = 0;
  wk->rpid = 0;
}
