/* ft_stream.c - a child's captured stdout or stderr: read from its pipe,
 * cut into lines, each line an output event. */
#include "ft_internal.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

/* The first stderr lines of a child whose owner keeps them (errtail). */
static void ft__errtail_add(ft__child *c, const char *p, size_t n) {
  size_t have = strnlen(c->errtail, c->errtail_cap), room;
  if (have + 3 >= c->errtail_cap || !n)
    return;
  if (have) {
    memcpy(c->errtail + have, "; ", 2);
    have += 2;
  }
  room = c->errtail_cap - have - 1;
  memcpy(c->errtail + have, p, n < room ? n : room);
  c->errtail[have + (n < room ? n : room)] = '\0';
}

static void ft__emit_line(ft__stream *s, const char *p, size_t n, bool truncated) {
  ft__child *c = s->child;
  if (s->stream == 2 && c->errtail)
    ft__errtail_add(c, p, n);
  ft_event ev = {.kind = FT_EV_OUTPUT, .pid = c->pid, .ppid = c->ppid, .name = c->name};
  ev.u.output.stream = s->stream;
  ev.u.output.line = p;
  ev.u.output.len = n;
  ev.u.output.truncated = truncated;
  ft__emit(c->loop, &ev);
}

/* Split bytes into lines.  A line longer than FT_LINE_MAX is emitted cut,
 * flagged truncated, and the rest of it is skipped: memory stays bounded
 * however much a child writes. */
static void ft__stream_feed(ft__stream *s, const char *p, size_t n) {
  while (n) {
    const char *nl = memchr(p, '\n', n);
    size_t take = nl ? (size_t)(nl - p) : n;
    if (s->discarding) {
      if (nl)
        s->discarding = false;
    } else if (!s->len && nl && take <= FT_LINE_MAX) {
      ft__emit_line(s, p, take, false); /* whole line in the read buffer */
    } else {
      if (!s->line && !(s->line = malloc(FT_LINE_MAX))) {
        ft__emit_line(s, p, take < FT_LINE_MAX ? take : FT_LINE_MAX, !nl || take > FT_LINE_MAX);
        s->discarding = !nl; /* no memory to wait for the rest: show what we have */
        goto next;
      }
      size_t room = FT_LINE_MAX - s->len;
      size_t copy = take < room ? take : room;
      memcpy(s->line + s->len, p, copy);
      s->len += copy;
      /* cppcheck-suppress knownConditionTrueFalse ; take > room when the line overflows */
      if (take > copy) {
        ft__emit_line(s, s->line, s->len, true);
        s->len = 0;
        s->discarding = !nl;
      } else if (nl) {
        ft__emit_line(s, s->line, s->len, false);
        s->len = 0;
      }
    }
  next:
    if (!nl)
      break;
    n -= take + 1;
    p += take + 1;
  }
}

void ft__stream_close(ft__stream *s) {
  if (!s)
    return;
  if (s->len)
    ft__emit_line(s, s->line, s->len, false); /* last line without newline */
  ft__child *c = s->child;
  if (s->hold >= 0)
    close(s->hold);
  ft__watch_close(c->loop, s->w);
  c->streams[s->stream] = NULL;
  free(s->line);
  ft__slab_free(c->slab, s);
}

/* Read what is there (at most limit bytes); true at EOF or error. */
bool ft__stream_read(ft__stream *s, size_t limit) {
  char *buf = s->child->loop->scratch->rbuf;
  size_t got = 0;
  while (got < limit) {
    ssize_t n = read(s->w->fd, buf, sizeof s->child->loop->scratch->rbuf);
    if (n > 0) {
      ft__stream_feed(s, buf, (size_t)n);
      got += (size_t)n;
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    return !(n < 0 && errno == EAGAIN);
  }
  return false;
}

static void ft__on_stream(ft_loop *loop, ft__watch *w, uint32_t events) {
  (void)loop;
  (void)events;
  ft__stream *s = w->data;
  ft__child *c = s->child;
  if (ft__stream_read(s, FT_DRAIN_MAX)) {
    ft__stream_close(s);
    ft__child_maybe_free(c);
  }
}

/* A captured stream of c on fd (the parent's end), watched. */
ft__stream *ft__stream_new(ft__child *c, int stream, int fd) {
  ft__stream *s = ft__slab_alloc(c->slab);
  if (!s)
    return NULL;
  s->child = c;
  s->stream = stream;
  s->hold = -1;
  s->w = ft__watch_new(c->loop, fd, EPOLLIN, ft__on_stream, s, true);
  if (!s->w) {
    ft__slab_free(c->slab, s);
    return NULL;
  }
  return s;
}

/* Stream `stream` of c from a pipe its child made (ft__spawn_batch): rfd,
 * our end, non-blocking already (ft__child_late_pipes), watched; wfd, the
 * child's end, held as ft__spawn_finish holds one (below
 * loop->hold_below), or closed.  0, or -ENOMEM with both closed. */
int ft__stream_adopt(ft__child *c, int stream, int rfd, int wfd) {
  ft__stream *s = c->streams[stream] = ft__stream_new(c, stream, rfd);
  if (!s)
    close(rfd);
  if (s && wfd < c->loop->hold_below)
    s->hold = wfd;
  else
    close(wfd);
  return s ? 0 : -ENOMEM;
}

/* At loop teardown: close every captured stream still open (a grandchild
 * may hold the pipe after its parent was reaped), freeing the children
 * that only waited for them. */
void ft__streams_close_all(ft_loop *loop) {
  for (ft__watch *w = loop->watches, *n; w; w = n) {
    n = w->next;
    if (w->cb != ft__on_stream)
      continue;
    ft__stream *s = w->data;
    ft__child *c = s->child;
    ft__stream_close(s); /* unlinks w alone: n stays valid */
    ft__child_maybe_free(c);
  }
}

/* The fds this process may still open: the limit less those open now. */
long ft__fd_room(long *open) {
  struct rlimit rl;
  *open = 0;
  if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur > (rlim_t)LONG_MAX / 2)
    return LONG_MAX / 2;
  DIR *d = opendir("/proc/self/fd");
  if (!d) {
    *open = (long)rl.rlim_cur / 2; /* unknown: half of it, as holds do */
    return (long)rl.rlim_cur / 2;
  }
  for (struct dirent *e; (e = readdir(d));)
    *open += e->d_name[0] != '.'; /* not . and .. */
  --*open;                        /* nor the directory's own fd */
  closedir(d);
  return (long)rl.rlim_cur - *open;
}

/* Take home the late pipes' ends the children of a batch sent (see
 * ft__spawn_batch): each child i's message puts the fds it sent in
 * got[i] (-1 where none).  Without wait, what has come; with it, until
 * `want` messages came in all (*have counts them) or EOF, once every child
 * has sent or died.  A child stopped before it sent would hold the socket
 * open: after a grace period its streams are given up (it writes to a
 * pipe nobody reads, as an unwatched child does). */
void ft__late_take(int sock, int (*got)[4], int n, int *have, int want, bool wait) {
  uint64_t give_up = ft_now_ns() + 10ull * 1000 * 1000 * 1000;
  while (*have < want) {
    int index = -1;
    union {
      struct cmsghdr h;
      char buf[CMSG_SPACE(4 * sizeof(int))];
    } u;
    struct iovec iov = {.iov_base = &index, .iov_len = sizeof index};
    struct msghdr m = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
    ssize_t len = recvmsg(sock, &m, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    if (len == 0)
      return; /* every child has sent or died */
    if (len < 0) {
      uint64_t now = ft_now_ns();
      struct pollfd pf = {.fd = sock, .events = POLLIN};
      if (!wait || (errno != EAGAIN && errno != EINTR) || now >= give_up)
        return;
      poll(&pf, 1, (int)((give_up - now) / 1000000 + 1));
      continue;
    }
    int fds[4] = {-1, -1, -1, -1}, nfds = 0;
    struct cmsghdr *h = CMSG_FIRSTHDR(&m);
    if (h && h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS) {
      nfds = (int)((h->cmsg_len - CMSG_LEN(0)) / sizeof(int));
      memcpy(fds, CMSG_DATA(h), (size_t)nfds * sizeof(int));
    }
    if (len == sizeof index && index >= 0 && index < n && got[index][0] == -2) {
      memcpy(got[index], fds, sizeof fds);
      ++*have;
      continue;
    }
    for (int k = 0; k < nfds; k++)
      close(fds[k]);
  }
}
