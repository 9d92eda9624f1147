/* ft_transport_tcp_worker.c - a TCP pool's worker: connect back, prove the
 * token, take the setup, then run chunks (functions resolved by registered
 * name) and send their results, until told to leave or the connection
 * drops.  A heartbeat thread says we are alive while a task runs, and ends
 * the process the moment the connection is gone: a worker never lingers
 * after its pool. */
#include "ft_transport_tcp.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <sys/socket.h>
#include <unistd.h>

#define FT__FLUSH_NS (2ull * 1000 * 1000)
#define FT__SLOW_ITEM_NS (50ull * 1000)

typedef struct ft__tw_state {
  int fd;
  pthread_mutex_t lock; /* one writer at a time: the main thread and the heartbeat */
  unsigned beat_ms;
  ft_buf in, rec, out;
  size_t in_off;  /* the frame being run is at in.data + in_off */
  size_t in_next; /* where the frames not yet taken start */
  ft_buf pend;    /* frames written but not sent yet (see ft__pend_flush) */
  void *ctx;
} ft__tw_state;

static int ft__send_all(ft__tw_state *s, const void *p, size_t len) {
  int rc = 0;
  pthread_mutex_lock(&s->lock);
  const char *d = p;
  while (len) {
    ssize_t k = send(s->fd, d, len, MSG_NOSIGNAL);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0) {
      rc = -errno;
      break;
    }
    d += k;
    len -= (size_t)k;
  }
  pthread_mutex_unlock(&s->lock);
  return rc;
}

/* The connection's other end is watched for a hang-up only (not for data,
 * which the main thread reads), so a pool that is gone ends us even in the
 * middle of a long task. */
static void *ft__beat_main(void *arg) {
  ft__tw_state *s = arg;
  ft__fhdr beat = {sizeof beat, FT__F_BEAT};
  for (;;) {
    struct pollfd pf = {.fd = s->fd, .events = POLLRDHUP};
    int k = poll(&pf, 1, (int)s->beat_ms);
    if (k > 0 && (pf.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)))
      _exit(1);
    if (ft__send_all(s, &beat, sizeof beat) < 0)
      _exit(1);
  }
  return NULL;
}

/* Send what is pending: results and the START of the next chunk go out
 * together, in one send, when the next chunk was already here.  Pending
 * output is always sent before a blocking read and before a chunk's first
 * item runs, so a START is never held while its task runs (a death then
 * fails that task, as it must) and the pool never waits on us for it. */
static int ft__pend_flush(ft__tw_state *s) {
  if (!s->pend.len)
    return 0;
  int rc = ft__send_all(s, s->pend.data, s->pend.len);
  ft_buf_reset(&s->pend);
  return rc;
}

/* Take the next whole frame: s->in.data + s->in_off, checked; its length,
 * 0 at EOF, < 0 on error.  Reads as much as the socket holds (frames sent
 * ahead are parsed from the buffer, a recv for many of them); blocks only
 * with nothing pending to send. */
static long ft__recv_frame(ft__tw_state *s) {
  s->in_off = s->in_next;
  for (;;) {
    long len = ft__frame_check(s->in.data + s->in_off, s->in.len - s->in_off, false);
    if (len != 0) {
      if (len > 0)
        s->in_next = s->in_off + (size_t)len;
      return len;
    }
    if (s->in_off) { /* keep what is left at the start */
      memmove(s->in.data, s->in.data + s->in_off, s->in.len - s->in_off);
      s->in.len -= s->in_off;
      s->in_off = s->in_next = 0;
    }
    ft__fhdr h;
    size_t want = sizeof h;
    if (s->in.len >= sizeof h) {
      memcpy(&h, s->in.data, sizeof h);
      want = h.len;
    }
    size_t room = want > s->in.len + (64u << 10) ? want - s->in.len : 64u << 10;
    if (ft_buf_reserve(&s->in, room) < 0)
      return -ENOMEM;
    ssize_t k =
        recv(s->fd, s->in.data + s->in.len, s->in.cap - s->in.len, s->pend.len ? MSG_DONTWAIT : 0);
    if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      int rc = ft__pend_flush(s); /* nothing came: send, then wait */
      if (rc < 0)
        return rc;
      continue;
    }
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0)
      return k == 0 ? 0 : -errno;
    s->in.len += (size_t)k;
  }
}

/* Send the results gathered; or (last) leave them pending, to go with
 * whatever is sent next (ft__pend_flush). */
static int ft__flush(ft__tw_state *s, uint64_t seq, uint32_t *first, uint32_t *count, bool last) {
  if (!*count)
    return 0;
  ft__f_result r = {{(uint32_t)s->rec.len, FT__F_RESULT}, seq, *first, *count};
  memcpy(s->rec.data, &r, sizeof r);
  int rc = ft_buf_append(&s->pend, s->rec.data, s->rec.len);
  if (!rc && !last)
    rc = ft__pend_flush(s);
  *first += *count;
  *count = 0;
  s->rec.len = sizeof r;
  return rc;
}

/* Run the chunk in s->in: START, then its outcomes in RESULT frames (slow
 * items one by one, so a death loses no finished result; fast ones in
 * batches of at most 2 ms). */
static int ft__run_chunk(ft__tw_state *s, ft_buf *err) {
  ft__f_chunk c;
  const char *frame = s->in.data + s->in_off;
  memcpy(&c, frame, sizeof c);
  const char *name = frame + sizeof c;
  uintptr_t fn = ft__task_lookup(name, c.namelen, c.kind);
  if (!fn) {
    ft_buf_printf(err, "no task function registered as \"%.*s\"", (int)c.namelen, name);
    return -ENOENT;
  }
  const char *a = name + FT__ALIGN8((size_t)c.namelen);
  ft__f_start st = {{sizeof st, FT__F_START}, c.seq, ft_now_ns()};
  /* With the previous chunk's last results, in one send. */
  int rc = ft_buf_append(&s->pend, &st, sizeof st);
  if (!rc)
    rc = ft__pend_flush(s);
  uint32_t first = 0, count = 0;
  uint64_t t0 = st.t, last_flush = t0;
  ft_buf_reset(&s->rec);
  ft__f_result r0 = {0};
  if (!rc)
    rc = ft_buf_append(&s->rec, &r0, sizeof r0);
  for (uint32_t i = 0; i < c.nitems && !rc; i++) {
    uint32_t len;
    memcpy(&len, a, sizeof len);
    const char *data = a + 8;
    a += 8 + FT__ALIGN8((size_t)len);
    ft_buf_reset(&s->out);
    int trc;
    if (c.kind == FT__KIND_STAR) {
      uint32_t argc;
      memcpy(&argc, data, sizeof argc);
      ft_slice *argv = calloc(argc ? argc : 1, sizeof *argv);
      if (!argv)
        return -ENOMEM;
      const char *q = data + 8;
      for (uint32_t k = 0; k < argc; k++) {
        uint32_t l;
        memcpy(&l, q, sizeof l);
        argv[k] = (ft_slice){q + 8, l};
        q += 8 + FT__ALIGN8((size_t)l);
      }
      trc = ((ft_star_fn)fn)(s->ctx, argc, argv, &s->out);
      free(argv);
    } else {
      trc = ((ft_task_fn)fn)(s->ctx, (ft_slice){data, len}, &s->out);
    }
    if (__fpending(stdout))
      fflush(stdout);
    uint64_t t1 = ft_now_ns();
    ft__rec_item it = {.status = trc ? FT_ETASK : 0, .code = trc, .t_start = t0, .t_end = t1};
    size_t vlen = s->out.len;
    if (sizeof r0 + sizeof it + FT__ALIGN8(vlen) > FT__FRAME_MAX) {
      it.status = FT_E2BIG;
      vlen = 0;
    }
    if (s->rec.len + sizeof it + FT__ALIGN8(vlen) > FT__FRAME_MAX / 2)
      rc = ft__flush(s, c.seq, &first, &count, false);
    it.len = (uint32_t)vlen;
    uint64_t zero = 0;
    if (!rc)
      rc = ft_buf_append(&s->rec, &it, sizeof it);
    if (!rc && vlen)
      rc = ft_buf_append(&s->rec, s->out.data, vlen);
    if (!rc)
      rc = ft_buf_append(&s->rec, &zero, FT__ALIGN8(vlen) - vlen);
    count++;
    if (!rc && (t1 - t0 > FT__SLOW_ITEM_NS || t1 - last_flush > FT__FLUSH_NS)) {
      rc = ft__flush(s, c.seq, &first, &count, false);
      last_flush = t1;
    }
    t0 = t1;
  }
  if (!rc)
    rc = ft__flush(s, c.seq, &first, &count, true);
  return rc;
}

static int ft__connect(const char *addr, ft_buf *err) {
  char host[64];
  const char *colon = strrchr(addr, ':');
  if (!colon || (size_t)(colon - addr) >= sizeof host) {
    ft_buf_printf(err, "--connect: expected HOST:PORT, got \"%s\"", addr);
    return -EINVAL;
  }
  memcpy(host, addr, (size_t)(colon - addr));
  host[colon - addr] = '\0';
  struct sockaddr_in sa = {.sin_family = AF_INET};
  char *end;
  unsigned long port = strtoul(colon + 1, &end, 10);
  if (inet_pton(AF_INET, host, &sa.sin_addr) != 1 || *end || !port || port > 65535) {
    ft_buf_printf(err, "--connect: expected an IPv4 address and port, got \"%s\"", addr);
    return -EINVAL;
  }
  sa.sin_port = htons((uint16_t)port);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    int e = errno;
    ft_buf_printf(err, "connect to %s: %s", addr, strerror(e));
    if (fd >= 0)
      close(fd);
    return -e;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

/* The token is taken from the environment and erased there, in place too
 * (what /proc/PID/environ shows), so no child of a task inherits it. */
static int ft__take_token(uint8_t token[FT__TOKEN_LEN], ft_buf *err) {
  char *hex = getenv("FORKTOP_TOKEN");
  if (!hex || strlen(hex) != 2 * FT__TOKEN_LEN) {
    ft_buf_printf(err, "FORKTOP_TOKEN: missing or not %d hex digits", 2 * FT__TOKEN_LEN);
    return -EINVAL;
  }
  for (int i = 0; i < FT__TOKEN_LEN; i++) {
    unsigned v;
    if (sscanf(hex + 2 * i, "%2x", &v) != 1) {
      ft_buf_printf(err, "FORKTOP_TOKEN: not hex");
      return -EINVAL;
    }
    token[i] = (uint8_t)v;
  }
  memset(hex, '0', strlen(hex));
  unsetenv("FORKTOP_TOKEN");
  return 0;
}

/* A Slurm id from the environment (srun sets them in a step's tasks), or
 * FT__NO_STEP: the pool signals the worker through its step with it. */
static uint32_t ft__slurm_id(const char *name) {
  const char *v = getenv(name);
  char *end;
  errno = 0;
  unsigned long n = v && *v >= '0' && *v <= '9' ? strtoul(v, &end, 10) : FT__NO_STEP;
  return n < FT__NO_STEP && !errno && v && !*end ? (uint32_t)n : FT__NO_STEP;
}

/* Be a TCP pool's worker until told to leave or the connection drops. */
int ft_worker_serve(const char *addr, ft_worker_setup_fn setup, void *ud, ft_buf *err) {
  /* Static: the heartbeat thread uses it until the process exits, after
   * this returns (one worker a process). */
  static ft__tw_state s = {.fd = -1, .lock = PTHREAD_MUTEX_INITIALIZER};
  ft__f_hello hello = {{sizeof hello, FT__F_HELLO},  FT__TCP_VERSION,
                       (uint32_t)getpid(),           {0},
                       ft__slurm_id("SLURM_JOB_ID"), ft__slurm_id("SLURM_STEP_ID")};
  int status = 2;
  if (ft__take_token(hello.token, err) < 0 || (s.fd = ft__connect(addr, err)) < 0)
    goto done;
  int rc = ft__send_all(&s, &hello, sizeof hello);
  explicit_bzero(hello.token, sizeof hello.token);
  long len = rc < 0 ? rc : ft__recv_frame(&s);
  ft__fhdr h = {0};
  if (len > 0)
    memcpy(&h, s.in.data + s.in_off, sizeof h);
  if (len == 0) {
    status = 1; /* refused, or the pool is gone */
    goto done;
  }
  if (len < 0 || h.type != FT__F_SETUP) {
    ft_buf_printf(err, "the pool did not send its setup");
    goto done;
  }
  ft__f_setup su;
  memcpy(&su, s.in.data + s.in_off, sizeof su);
  if (setup && setup((ft_slice){s.in.data + s.in_off + sizeof su, su.len}, &s.ctx, ud) < 0) {
    if (!err->len)
      ft_buf_printf(err, "the setup was refused");
    goto done;
  }
  s.beat_ms = su.heartbeat_ms / 3 ? su.heartbeat_ms / 3 : 1;
  pthread_t beat;
  if (pthread_create(&beat, NULL, ft__beat_main, &s) != 0) {
    ft_buf_printf(err, "cannot start the heartbeat thread");
    goto done;
  }
  pthread_detach(beat);
  unsigned done = 0;
  for (;;) {
    len = ft__recv_frame(&s);
    if (len <= 0) {
      status = len == 0 ? 1 : 2;
      if (len < 0)
        ft_buf_printf(err, "a frame from the pool was refused (%s)", strerror((int)-len));
      break;
    }
    memcpy(&h, s.in.data + s.in_off, sizeof h);
    if (h.type == FT__F_BYE) {
      status = ft__pend_flush(&s) < 0 ? 1 : 0;
      break;
    }
    if (h.type != FT__F_CHUNK || ft__run_chunk(&s, err) < 0) {
      if (!err->len)
        ft_buf_printf(err, "the pool went away");
      status = err->len ? 2 : 1;
      break;
    }
    if (su.maxtasks && ++done >= su.maxtasks) {
      ft__fhdr bye = {sizeof bye, FT__F_BYE};
      if (ft_buf_append(&s.pend, &bye, sizeof bye) == 0)
        ft__pend_flush(&s);
      status = 0;
      break;
    }
  }
done:
  /* The heartbeat thread may still be running: the process is expected
   * to exit now (the caller does), which ends it. */
  ft__pend_flush(&s); /* results not sent yet: best effort */
  ft_buf_free(&s.in);
  ft_buf_free(&s.pend);
  ft_buf_free(&s.rec);
  ft_buf_free(&s.out);
  return status;
}
