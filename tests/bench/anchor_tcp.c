/* anchor_tcp.c - the raw TCP master/worker anchor for a pool across hosts
 * (tests/bench/bench_tcp.sh; issue 16), on loopback: no engine, no
 * framing beyond 8 bytes a task.
 *
 *   anchor_tcp TASKS WORKERS DEPTH
 *
 * The master listens on 127.0.0.1 (an ephemeral port), forks WORKERS
 * workers that connect back with TCP_NODELAY, sends each DEPTH 8-byte
 * tasks, and sends one more for every result that comes back, until
 * TASKS results have come.  A worker answers each task with an 8-byte
 * result (the task + 1) as it reads them.  Prints tasks per second, from
 * the first task sent to the last result read. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAXW 64

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what) {
  perror(what);
  exit(1);
}

static void send_all(int fd, const void *p, size_t len) {
  const char *d = p;
  while (len) {
    ssize_t k = send(fd, d, len, MSG_NOSIGNAL);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0)
      die("send");
    d += k;
    len -= (size_t)k;
  }
}

/* A worker: answer every whole task read, in one write a read. */
static int worker(const struct sockaddr_in *sa) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0 || connect(fd, (const struct sockaddr *)sa, sizeof *sa) < 0)
    return 1;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  static uint64_t buf[8192];
  size_t have = 0;
  for (;;) {
    ssize_t k = recv(fd, (char *)buf + have, sizeof buf - have, 0);
    if (k <= 0)
      return 0;
    have += (size_t)k;
    size_t n = have / 8;
    for (size_t i = 0; i < n; i++)
      buf[i] += 1;
    send_all(fd, buf, n * 8);
    memmove(buf, (char *)buf + n * 8, have - n * 8);
    have -= n * 8;
  }
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: anchor_tcp TASKS WORKERS DEPTH\n");
    return 2;
  }
  long tasks = atol(argv[1]);
  int nw = atoi(argv[2]);
  int depth = atoi(argv[3]);
  if (tasks <= 0 || nw <= 0 || nw > MAXW || depth <= 0 || depth > 4096) {
    fprintf(stderr, "anchor_tcp: bad arguments\n");
    return 2;
  }
  struct sockaddr_in sa = {.sin_family = AF_INET};
  inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  socklen_t sl = sizeof sa;
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, MAXW) < 0 ||
      getsockname(lfd, (struct sockaddr *)&sa, &sl) < 0)
    die("listen");
  pid_t pids[MAXW];
  for (int i = 0; i < nw; i++) {
    pids[i] = fork();
    if (pids[i] < 0)
      die("fork");
    if (pids[i] == 0) {
      close(lfd);
      _exit(worker(&sa));
    }
  }
  int conns[MAXW], ep = epoll_create1(EPOLL_CLOEXEC);
  for (int i = 0; i < nw; i++) {
    conns[i] = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (conns[i] < 0)
      die("accept");
    int one = 1;
    setsockopt(conns[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
    epoll_ctl(ep, EPOLL_CTL_ADD, conns[i], &ev);
  }
  static uint64_t out[4096], in[8192];
  static size_t have[MAXW];
  static char part[MAXW][8];
  long sent = 0, done = 0;
  double t0 = now();
  for (int i = 0; i < nw; i++) {
    long k = depth < tasks - sent ? depth : tasks - sent;
    for (long j = 0; j < k; j++)
      out[j] = (uint64_t)(sent + j);
    send_all(conns[i], out, (size_t)k * 8);
    sent += k;
  }
  while (done < tasks) {
    struct epoll_event evs[MAXW];
    int n = epoll_wait(ep, evs, MAXW, -1);
    if (n < 0 && errno != EINTR)
      die("epoll_wait");
    for (int e = 0; e < n; e++) {
      int i = (int)evs[e].data.u32;
      memcpy(in, part[i], have[i]);
      ssize_t k = recv(conns[i], (char *)in + have[i], sizeof in - have[i], 0);
      if (k <= 0)
        die("recv");
      size_t total = have[i] + (size_t)k, got = total / 8;
      have[i] = total - got * 8;
      memcpy(part[i], (char *)in + got * 8, have[i]);
      done += (long)got;
      long more = (long)got < tasks - sent ? (long)got : tasks - sent;
      for (long j = 0; j < more; j++)
        out[j] = (uint64_t)(sent + j);
      if (more > 0)
        send_all(conns[i], out, (size_t)more * 8);
      sent += more;
    }
  }
  double dt = now() - t0;
  for (int i = 0; i < nw; i++)
    close(conns[i]);
  for (int i = 0; i < nw; i++)
    waitpid(pids[i], NULL, 0);
  printf("%.0f\n", (double)tasks / dt);
  return 0;
}
