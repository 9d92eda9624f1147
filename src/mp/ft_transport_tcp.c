/* ft_transport_tcp.c - the TCP worker transport, parent's side: a listener
 * on one address (ephemeral port), one local process per worker (the
 * worker command, or srun in front of it: ft_transport_tcp_launch.c, with
 * what its end means), workers that connect back and prove a one-time
 * token, chunks framed and sent to a
 * worker with room (2 in flight, up to 16 for a worker whose chunks are
 * quick: FT__DEPTH_MAX; a turn's frames in one send), results read from
 * the connections, many frames a read.  The frames: ft_transport_tcp.h;
 * the worker: ft_transport_tcp_worker.c.
 *
 * A death is only ever learnt from the launcher's exit (ft_transport.h): a
 * connection that drops, a worker silent past the heartbeat, a connection
 * that never comes, or a frame that breaks the protocol makes us SIGKILL the
 * launcher, and the pool hears of it through that exit. */
#include "ft_guard.h"
#include "ft_transport_tcp_int.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

/* Chunks sent to a worker ahead of its results: FT__DEPTH, or more for a
 * worker whose chunks take little time (up to FT__DEPTH_MAX, about
 * FT__AHEAD_NS of its work), so that a fast worker finds its next chunk
 * already there instead of waiting a round trip for it.  What waits at
 * one worker is at most that much work, which another worker might have
 * started sooner. */
#define FT__DEPTH 2
#define FT__DEPTH_MAX 16
#define FT__AHEAD_NS (1000ull * 1000)
#define FT__HELLO_NS (2ull * 1000 * 1000 * 1000) /* from accept to hello */
#define FT__TICK_NS (250ull * 1000 * 1000)
#define FT__LAUNCHER_GRACE_NS (1000ull * 1000 * 1000) /* a launcher's own exit, after EOF */
#define FT__CHUNK_BYTES                                                                            \
  (1u << 20) /* a chunk's items take at most this (one item may take more)                         \
              */

/* (the transport's types: ft_transport_tcp_int.h) */

/* Kill worker w's launcher: how a death learnt from the channel reaches
 * the pool (through that process's exit). */
static void ft__tcp_kill(ft__tcp *t, int w) {
  ft__worker *wk = &t->base.pool->workers[w];
  if (wk->state == FT__W_ALIVE && wk->child)
    ft__child_signal(wk->child, SIGKILL);
}

/* Worker w's connection is gone.  A local worker is killed at once; a
 * launcher (srun) is given FT__LAUNCHER_GRACE_NS to exit by itself with
 * the remote worker's real status, which it learns a few ms after we see
 * the EOF; the tick kills it after that. */
static void ft__tcp_lost(ft__tcp *t, int w) {
  if (!t->launcher)
    ft__tcp_kill(t, w);
  else if (!t->ws[w].dropped)
    t->ws[w].dropped = ft_now_ns();
}

static void ft__conn_free(ft__tcp *t, ft__conn *c) {
  if (!c)
    return;
  if (c->w)
    ft__watch_close(t->base.pool->loop, c->w); /* closes the fd */
  else if (c->fd >= 0)
    close(c->fd);
  ft_buf_free(&c->in);
  ft_buf_free(&c->out);
  free(c);
}

/* Write what c has queued; the rest waits for EPOLLOUT. */
static void ft__conn_flush(ft__tcp *t, ft__conn *c) {
  while (c->out_off < c->out.len) {
    ssize_t k = send(c->fd, c->out.data + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);
    if (k < 0 && errno == EINTR)
      continue;
    if (k < 0) {
      if (errno != EAGAIN && c->worker >= 0)
        ft__tcp_lost(t, c->worker); /* the link is gone */
      break;
    }
    c->out_off += (size_t)k;
  }
  if (c->out_off == c->out.len)
    c->out.len = c->out_off = 0;
  uint32_t ev = EPOLLIN | (c->out.len ? (uint32_t)EPOLLOUT : 0u);
  if (c->w && !c->eof && c->w->events != ev) /* an epoll_ctl only when it changes */
    ft__watch_modify(t->base.pool->loop, c->w, ev);
}

/* Queue a frame on c; dispatch writes each connection's frames at once. */
static int ft__conn_send(ft__conn *c, const void *frame, size_t len) {
  return ft_buf_append(&c->out, frame, len);
}

/* Send worker w what it may take: queued chunks (oldest first), then BYE
 * once closing and nothing is left to send (or once terminated: the
 * chunks not sent are the pool's to cancel). */
static int ft__tcp_depth(const ft__tw *tw) {
  if (!tw->chunk_ns)
    return FT__DEPTH;
  uint64_t d = FT__AHEAD_NS / tw->chunk_ns;
  return d < FT__DEPTH ? FT__DEPTH : d > FT__DEPTH_MAX ? FT__DEPTH_MAX : (int)d;
}

static void ft__tcp_dispatch(ft__tcp *t) {
  bool queued = false;
  for (uint64_t s = t->oldest; s < t->next && !t->stopped; s++) {
    ft__tchunk *ch = &t->chunks[s & (t->nslots - 1)];
    if (!ch->live || ch->owner != -1)
      continue;
    int best = -1;
    for (int w = 0; w < t->n; w++) {
      ft__tw *tw = &t->ws[w];
      if (tw->c && !tw->c->eof && !tw->bye_sent && tw->inflight < ft__tcp_depth(tw) &&
          (best < 0 || tw->inflight < t->ws[best].inflight))
        best = w;
    }
    if (best < 0) {
      queued = true;
      break;
    }
    ch->owner = best; /* ownership recorded as it is sent, never inferred */
    t->ws[best].inflight++;
    ft__conn_send(t->ws[best].c, ch->frame, ch->len);
  }
  for (int w = 0; t->closing && !queued && w < t->n; w++) {
    ft__tw *tw = &t->ws[w];
    if (tw->c && !tw->bye_sent) {
      ft__fhdr bye = {sizeof bye, FT__F_BYE};
      tw->bye_sent = true;
      ft__conn_send(tw->c, &bye, sizeof bye);
    }
  }
  /* One send a connection for all it was given this turn. */
  for (int w = 0; w < t->n; w++)
    if (t->ws[w].c && t->ws[w].c->out.len > t->ws[w].c->out_off)
      ft__conn_flush(t, t->ws[w].c);
}

/* A hello: the token names the worker slot it was made for; it is used
 * once.  Every live token is compared, whichever matches. */
static bool ft__tcp_hello(ft__tcp *t, ft__conn *c, const char *f) {
  ft__f_hello h;
  memcpy(&h, f, sizeof h);
  int found = -1;
  for (int w = 0; w < t->n; w++)
    if (ft__token_eq(h.token, t->ws[w].token) && t->ws[w].token_live && found < 0)
      found = w;
  if (found < 0 || h.version != FT__TCP_VERSION || t->ws[found].c)
    return false;
  ft__tw *tw = &t->ws[found];
  if (t->nhosts && t->hosts[t->host[found]].lost) {
    tw->token_live = false; /* launched there before it was given up: it goes */
    explicit_bzero(tw->token, sizeof tw->token);
    return false;
  }
  if (t->nhosts)
    t->hosts[t->host[found]].start_fails = 0; /* its host starts workers */
  tw->token_live = false;
  explicit_bzero(tw->token, sizeof tw->token);
  tw->c = c;
  tw->hello = true;
  c->worker = found;
  /* its step, when it runs in the pool's job: how it is signalled */
  char job[24];
  snprintf(job, sizeof job, "%u", (unsigned)h.job);
  if (t->job[0] && h.step != FT__NO_STEP && strcmp(job, t->job) == 0)
    snprintf(tw->step, sizeof tw->step, "%s.%u", t->job, (unsigned)h.step);
  /* the host (the node its step was placed on, when the launcher places
   * them: srun -w NODE), the worker there */
  ft__pool_on_hello(t->base.pool, found, (pid_t)h.pid, c->fd,
                    t->hostarg ? tw->argv[t->hostarg] : NULL, tw->step[0] ? tw->step : NULL);
  ft__f_setup s = {{(uint32_t)(sizeof s + FT__ALIGN8(t->setup.len)), FT__F_SETUP},
                   (uint32_t)found,
                   t->maxtasks,
                   (uint32_t)(t->heartbeat_ns / 1000000),
                   (uint32_t)t->setup.len};
  uint64_t zero = 0;
  if (ft_buf_append(&c->out, &s, sizeof s) < 0 ||
      ft_buf_append(&c->out, t->setup.data, t->setup.len) < 0 ||
      ft_buf_append(&c->out, &zero, FT__ALIGN8(t->setup.len) - t->setup.len) < 0)
    return false;
  ft__conn_flush(t, c);
  return true;
}

/* One frame from worker w's connection.  START and RESULT must name a
 * chunk sent to this worker, in order: anything else is refused (false),
 * and the worker is then killed.  A chunk retired meanwhile (a terminate)
 * is no error: its late records are dropped. */
static bool ft__tcp_frame(ft__tcp *t, int w, const char *f, bool *progress) {
  ft__fhdr h;
  memcpy(&h, f, sizeof h);
  ft__tw *tw = &t->ws[w];
  if (h.type == FT__F_BEAT)
    return true;
  if (h.type == FT__F_BYE) {
    tw->recycled = true;
    return true;
  }
  if (h.type != FT__F_START && h.type != FT__F_RESULT)
    return false; /* a second hello */
  uint64_t seq;
  memcpy(&seq, f + sizeof h, sizeof seq);
  if (seq >= t->next)
    return false; /* never published */
  ft__tchunk *ch = &t->chunks[seq & (t->nslots - 1)];
  if (seq < t->oldest || !ch->live || ch->seq != seq)
    return true; /* retired: dropped */
  if (ch->owner != w)
    return false; /* not this worker's */
  *progress = true;
  if (h.type == FT__F_START) {
    if (ch->started)
      return false;
    ft__f_start s;
    memcpy(&s, f, sizeof s);
    ch->started = true;
    ch->t_start = s.t;
    ft__pool_on_start(t->base.pool, w, seq, s.t);
    return true;
  }
  ft__f_result r;
  memcpy(&r, f, sizeof r);
  if (!ch->started || r.first != ch->reported || r.count > ch->nitems - ch->reported)
    return false;
  ch->reported += r.count;
  if (ch->reported == ch->nitems) {
    tw->inflight--;
    /* The chunk's time: its START to its last item's end (checked whole
     * by ft__frame_check, so the walk stays inside the frame). */
    const char *p = f + sizeof r;
    ft__rec_item it = {0};
    for (uint32_t i = 0; i < r.count; i++) {
      memcpy(&it, p, sizeof it);
      p += sizeof it + FT__ALIGN8((size_t)it.len);
    }
    uint64_t d = it.t_end > ch->t_start ? it.t_end - ch->t_start : 1;
    tw->chunk_ns = tw->chunk_ns ? (3 * tw->chunk_ns + d) / 4 : d;
  }
  ft__pool_on_results(t->base.pool, w, seq, r.first, r.count, f + sizeof r);
  return true;
}

/* Hand over every whole frame c has buffered.  False when c must go. */
static bool ft__conn_parse(ft__tcp *t, ft__conn *c, bool *progress) {
  size_t off = 0;
  bool ok = true;
  while (ok) {
    long len = ft__frame_check(c->in.data + off, c->in.len - off, true);
    if (len == 0)
      break;
    if (len < 0) {
      ok = false;
      break;
    }
    const char *f = c->in.data + off;
    ft__fhdr h;
    memcpy(&h, f, sizeof h);
    if (c->worker < 0)
      ok = h.type == FT__F_HELLO && ft__tcp_hello(t, c, f);
    else
      ok = ft__tcp_frame(t, c->worker, f, progress);
    off += (size_t)len;
  }
  if (!ok) { /* nothing more is read from this connection */
    t->refused++;
    c->eof = true;
    off = c->in.len;
    if (c->w)
      ft__watch_modify(t->base.pool->loop, c->w, 0);
  }
  memmove(c->in.data, c->in.data + off, c->in.len - off);
  c->in.len -= off;
  return ok;
}

/* Read what the socket holds (up to a frame's worth a turn). */
static void ft__conn_read(ft__tcp *t, ft__conn *c) {
  size_t got = 0;
  while (!c->eof && got < FT__FRAME_MAX) {
    if (ft_buf_reserve(&c->in, 64u << 10) < 0)
      break;
    ssize_t k = recv(c->fd, c->in.data + c->in.len, c->in.cap - c->in.len, 0);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0) {
      if (k == 0 || errno != EAGAIN) {
        c->eof = true; /* the link is gone: the worker with it */
        ft__watch_modify(t->base.pool->loop, c->w, 0);
        if (c->worker >= 0)
          ft__tcp_lost(t, c->worker);
      }
      break;
    }
    size_t room = c->in.cap - c->in.len;
    c->in.len += (size_t)k;
    got += (size_t)k;
    c->last_heard = ft_now_ns();
    if ((size_t)k < room)
      break; /* drained: a recv more would only say EAGAIN (epoll is level-triggered) */
  }
}

static void ft__conn_on_io(ft_loop *loop, ft__watch *w, uint32_t events) {
  (void)loop;
  ft__conn *c = w->data;
  if (events & EPOLLOUT)
    ft__conn_flush(c->t, c);
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
    ft__conn_read(c->t, c); /* the frames are handed over in collect */
}

static void ft__tcp_on_accept(ft_loop *loop, ft__watch *lw, uint32_t events) {
  (void)events;
  ft__tcp *t = lw->data;
  for (;;) {
    int fd = accept4(t->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0)
      return;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ft__conn *c = ft__xalloc(sizeof *c);
    if (!c) {
      close(fd);
      continue;
    }
    *c = (ft__conn){.t = t, .fd = fd, .worker = -1, .t_open = ft_now_ns()};
    c->last_heard = c->t_open;
    c->w = ft__watch_new(loop, fd, EPOLLIN, ft__conn_on_io, c, true);
    if (!c->w) {
      ft__conn_free(t, c);
      continue;
    }
    c->next = t->pending;
    t->pending = c;
  }
}

/* A host is lost when every worker connected from it has been silent past
 * the heartbeat (one silent worker among talking ones is that worker's
 * problem, not its host's): its workers are killed now, their tasks fail,
 * and their replacements are placed on the hosts still answering
 * (ft__tcp_worker_start).  A lost host is not used again in this pool. */
static void ft__tcp_hosts_check(ft__tcp *t, uint64_t now) {
  for (int h = 0; h < t->nhosts; h++) {
    int conns = 0, silent = 0, live = 0;
    for (int w = 0; w < t->n; w++) {
      ft__tw *tw = &t->ws[w];
      if (t->host[w] != h || t->base.pool->workers[w].state != FT__W_ALIVE || !tw->c || tw->dropped)
        continue;
      conns++;
      silent += now - tw->c->last_heard > t->heartbeat_ns;
    }
    for (int k = 0; k < t->nhosts; k++)
      live += !t->hosts[k].lost && k != h;
    if (t->hosts[h].lost || !conns || silent < conns || !live)
      continue; /* the last host answering is never given up */
    char cause[64];
    snprintf(cause, sizeof cause, "no word from its workers for %.1f s (heartbeat)",
             (double)t->heartbeat_ns / 1e9);
    ft__tcp_host_lost(t, h, cause);
  }
  ft__tcp_starts_check(t);
}

/* Every 250 ms: a hello late by 2 s closes its connection; a worker that
 * never connected in 10 s, or fell silent past the heartbeat, is killed. */
static void ft__tcp_on_tick(ft_timer *tm, void *ud) {
  (void)tm;
  ft__tcp *t = ud;
  uint64_t now = ft_now_ns();
  for (ft__conn **cp = &t->pending; *cp;) {
    ft__conn *c = *cp;
    if (c->eof || now - c->t_open > FT__HELLO_NS) {
      *cp = c->next;
      ft__conn_free(t, c);
    } else {
      cp = &c->next;
    }
  }
  ft__tcp_hosts_check(t, now);
  for (int w = 0; w < t->n; w++) {
    ft__tw *tw = &t->ws[w];
    if (t->base.pool->workers[w].state != FT__W_ALIVE)
      continue;
    tw->no_hello = !tw->dropped && !tw->c && now - tw->launched > FT__CONNECT_NS;
    if (tw->dropped ? now - tw->dropped > FT__LAUNCHER_GRACE_NS
        : tw->c     ? now - tw->c->last_heard > t->heartbeat_ns
                    : tw->no_hello)
      ft__tcp_kill(t, w);
  }
}

/* ------------------------------------------------------------- the ops */

static bool ft__tcp_worker_exited(ft__transport *tr, int w) {
  ft__tcp *t = (ft__tcp *)tr;
  ft__tw *tw = &t->ws[w];
  tw->token_live = false;
  ft__tcp_launcher_exited(t, w);
  ft__conn *c = tw->c;
  if (c) {
    bool progress = false;
    ft__conn_read(t, c); /* what the worker sent before it went */
    ft__conn_parse(t, c, &progress);
  }
  return tw->recycled;
}

static bool ft__tcp_held(ft__transport *tr, int w, uint64_t seq, uint32_t *from) {
  ft__tcp *t = (ft__tcp *)tr;
  ft__tchunk *ch = &t->chunks[seq & (t->nslots - 1)];
  if (!ch->live || ch->seq != seq || ch->owner != w)
    return false;
  if (!ch->started)
    *from = 0; /* sent, never begun: all of it runs elsewhere */
  else
    *from = (ch->reported > *from ? ch->reported : *from) + 1;
  return true;
}

static void ft__tcp_worker_clear(ft__transport *tr, int w) {
  ft__tcp *t = (ft__tcp *)tr;
  ft__tw *tw = &t->ws[w];
  ft__conn_free(t, tw->c); /* late frames from it are never read */
  tw->c = NULL;
  tw->inflight = 0;
  for (uint64_t s = t->oldest; s < t->next; s++)
    if (t->chunks[s & (t->nslots - 1)].owner == w)
      t->chunks[s & (t->nslots - 1)].owner = -2; /* the pool dealt with it */
}

static int ft__tcp_publish(ft__transport *tr, const ft__chunk_args *c, uint32_t *taken,
                           size_t *bytes_out) {
  ft__tcp *t = (ft__tcp *)tr;
  if (c->seq - t->oldest >= t->nslots)
    return -EAGAIN;
  const char *name = ft__task_name(c->fn, c->kind);
  if (!name)
    return FT_ENOTREG; /* submission checks this first */
  size_t nlen = strlen(name), head = sizeof(ft__f_chunk) + FT__ALIGN8(nlen);
  size_t bytes = 0, k = 0;
  while (k < c->n) {
    size_t one = c->src ? ft__wire_len(c->src[k].len) : ft__wire_size(c->wire + bytes);
    if (k > 0 && bytes + one > FT__CHUNK_BYTES)
      break;
    bytes += one;
    k++;
    if (head + bytes > FT__FRAME_MAX) {
      *bytes_out = bytes;
      return FT_E2BIG; /* one item larger than a frame may be */
    }
  }
  *bytes_out = bytes;
  ft__tchunk *ch = &t->chunks[c->seq & (t->nslots - 1)];
  char *f = malloc(head + bytes);
  if (!f)
    return -EAGAIN;
  ft__f_chunk h = {
      {(uint32_t)(head + bytes), FT__F_CHUNK}, c->seq, c->kind, (uint32_t)k, (uint32_t)nlen, 0};
  memcpy(f, &h, sizeof h);
  memset(f + sizeof h, 0, FT__ALIGN8(nlen));
  memcpy(f + sizeof h, name, nlen);
  char *d = f + head;
  if (c->src)
    for (size_t q = 0; q < k; q++)
      d += ft__wire_write(d, c->src[q].ptr, c->src[q].len);
  else
    memcpy(d, c->wire, bytes);
  free(ch->frame);
  *ch = (ft__tchunk){.seq = c->seq,
                     .live = true,
                     .owner = -1,
                     .nitems = (uint32_t)k,
                     .frame = f,
                     .len = head + bytes};
  t->next = c->seq + 1;
  *taken = (uint32_t)k;
  return 0;
}

static void ft__tcp_kick(ft__transport *tr, uint64_t n) {
  (void)n;
  ft__tcp_dispatch((ft__tcp *)tr);
}

static void ft__tcp_retire(ft__transport *tr, uint64_t seq) {
  ft__tcp *t = (ft__tcp *)tr;
  ft__tchunk *ch = &t->chunks[seq & (t->nslots - 1)];
  if (ch->owner >= 0 && ch->reported < ch->nitems && t->ws[ch->owner].inflight > 0)
    t->ws[ch->owner].inflight--; /* its worker died holding it */
  free(ch->frame);
  *ch = (ft__tchunk){.owner = -1};
  while (t->oldest < t->next && !t->chunks[t->oldest & (t->nslots - 1)].live)
    t->oldest++;
}

/* Only the loop's thread sends chunks (dispatch), so a chunk not sent
 * yet (owner -1, or -2: its worker died and the pool dealt with it) can be
 * taken back with nothing to race; one sent is its worker's until that
 * worker's death, whether it began it or not (`held` then says which). */
static bool ft__tcp_cancel(ft__transport *tr, uint64_t seq) {
  ft__tcp *t = (ft__tcp *)tr;
  ft__tchunk *ch = &t->chunks[seq & (t->nslots - 1)];
  if (ch->live && ch->seq == seq && ch->owner >= 0)
    return false;
  ch->owner = -2; /* never sent now, nor counted as queued */
  return true;
}

static bool ft__tcp_has_queued(const ft__transport *tr) {
  const ft__tcp *t = (const ft__tcp *)tr;
  for (uint64_t s = t->oldest; s < t->next; s++)
    if (t->chunks[s & (t->nslots - 1)].live && t->chunks[s & (t->nslots - 1)].owner == -1)
      return true;
  return false;
}

static bool ft__tcp_collect(ft__transport *tr, bool timed) {
  (void)timed; /* a remote worker times every item */
  ft__tcp *t = (ft__tcp *)tr;
  bool progress = false;
  for (ft__conn **cp = &t->pending; *cp;) {
    ft__conn *c = *cp;
    bool ok = !c->in.len || ft__conn_parse(t, c, &progress);
    if (c->worker >= 0) {
      *cp = c->next; /* it is its worker's now */
      progress = true;
      if (!ok)
        ft__tcp_kill(t, c->worker);
    } else if (!ok) {
      *cp = c->next; /* a bad hello: the connection goes, nothing else */
      ft__conn_free(t, c);
    } else {
      cp = &c->next;
    }
  }
  for (int w = 0; w < t->n; w++) {
    ft__conn *c = t->ws[w].c;
    if (c && c->in.len && !ft__conn_parse(t, c, &progress))
      ft__tcp_kill(t, w); /* a refused frame: this worker is not to be trusted */
  }
  ft__tcp_dispatch(t);
  return progress;
}

static bool ft__tcp_arm(ft__transport *tr) {
  (void)tr;
  return false; /* results come on fds the loop polls */
}

static void ft__tcp_close(ft__transport *tr) {
  ft__tcp *t = (ft__tcp *)tr;
  t->closing = true;
  ft__tcp_dispatch(t);
}

/* No chunk is sent any more; the workers are told BYE (the pool signals
 * their local processes too). */
static void ft__tcp_terminate(ft__transport *tr) {
  ((ft__tcp *)tr)->stopped = true;
  ft__tcp_close(tr);
}

static int ft__tcp_check_fn(ft__transport *tr, uintptr_t fn, uint32_t kind) {
  (void)tr;
  return ft__task_name(fn, kind) ? 0 : FT_ENOTREG;
}

static void ft__tcp_free(ft__transport *tr) {
  ft__tcp *t = (ft__tcp *)tr;
  if (!t)
    return;
  ft_loop *loop = t->base.pool->loop;
  while (t->pending) {
    ft__conn *c = t->pending;
    t->pending = c->next;
    ft__conn_free(t, c);
  }
  for (int w = 0; t->ws && w < t->n; w++) {
    ft__conn_free(t, t->ws[w].c);
    free(t->ws[w].envp);
    explicit_bzero(t->ws[w].tokenenv, sizeof t->ws[w].tokenenv);
    explicit_bzero(t->ws[w].token, sizeof t->ws[w].token);
  }
  for (size_t s = 0; t->chunks && s < t->nslots; s++)
    free(t->chunks[s].frame);
  free(t->chunks);
  if (t->lw)
    ft__watch_close(loop, t->lw); /* closes the listener: nothing listens after */
  else if (t->lfd >= 0)
    close(t->lfd);
  ft_timer_free(t->tick);
  ft_buf_free(&t->setup);
  if (t->spare_fd >= 0)
    close(t->spare_fd);
  for (size_t i = 0; t->argv && t->argv[i]; i++)
    free(t->argv[i]);
  free(t->argv);
  free(t->ws);
  free(t->hosts);
  free(t->host);
  free(t);
}

static const ft__transport_ops ft__tcp_ops = {
    .name = "tcp",
    .worker_start = ft__tcp_worker_start,
    .worker_exited = ft__tcp_worker_exited,
    .held = ft__tcp_held,
    .worker_clear = ft__tcp_worker_clear,
    .publish = ft__tcp_publish,
    .kick = ft__tcp_kick,
    .retire = ft__tcp_retire,
    .cancel = ft__tcp_cancel,
    .has_queued = ft__tcp_has_queued,
    .collect = ft__tcp_collect,
    .arm = ft__tcp_arm,
    .close = ft__tcp_close,
    .terminate = ft__tcp_terminate,
    .free = ft__tcp_free,
    .check_fn = ft__tcp_check_fn,
    .exit_code = ft__tcp_exit_code,
    .exit_cause = ft__tcp_exit_cause,
    .never_started = ft__tcp_never_started,
    .signal_worker = ft__tcp_signal_worker,
};

/* Listen on cfg's address (an ephemeral port) for pool p's n workers. */
int ft__transport_tcp_new(ft_pool *p, int n, const ft_pool_opts *opts, const void *cfg,
                          ft__transport **out) {
  const ft_pool_tcp *tc = cfg;
  int rc;
  *out = NULL;
  ft__tcp *t = ft__xalloc(sizeof *t);
  if (!t)
    return -ENOMEM;
  t->base = (ft__transport){.ops = &ft__tcp_ops, .pool = p};
  t->n = n;
  t->lfd = -1;
  t->spare_fd = -1;
  t->maxtasks = opts->maxtasksperchild;
  t->heartbeat_ns = (uint64_t)((tc->heartbeat > 0 ? tc->heartbeat : 3.0) * 1e9);
  t->nslots = p->nslots;
  t->chunks = ft__xalloc(t->nslots * sizeof *t->chunks);
  for (size_t s = 0; t->chunks && s < t->nslots; s++)
    t->chunks[s].owner = -1;
  t->ws = ft__xalloc((size_t)n * sizeof *t->ws);
  if (!t->chunks || !t->ws || ft_buf_append(&t->setup, tc->setup.ptr, tc->setup.len) < 0) {
    rc = -ENOMEM;
    goto fail;
  }
  struct sockaddr_in sa = {.sin_family = AF_INET};
  if (inet_pton(AF_INET, tc->bind ? tc->bind : "127.0.0.1", &sa.sin_addr) != 1) {
    rc = FT_EINVAL;
    goto fail;
  }
  socklen_t sl = sizeof sa;
  t->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (t->lfd < 0 || bind(t->lfd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
      listen(t->lfd, n < 64 ? 64 : n) < 0 || getsockname(t->lfd, (struct sockaddr *)&sa, &sl) < 0) {
    rc = -errno;
    goto fail;
  }
  char host[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &sa.sin_addr, host, sizeof host);
  snprintf(t->connect, sizeof t->connect, "%s:%u", host, (unsigned)ntohs(sa.sin_port));
  /* Copied: replacements are started long after the caller's argv is gone.
   * [launch...] [-w host]... then argv: each worker's argv points into it. */
  size_t nl = 0, nh = 0, na = 0;
  while (tc->launch && tc->launch[nl])
    nl++;
  while (nl && tc->hosts && tc->hosts[nh])
    nh++;
  while (tc->argv[na])
    na++;
  t->launcher = nl > 0;
  if ((t->spare = t->launcher && tc->spare_launchers))
    t->spare_fd = ft_guard_outer_procs(); /* < 0: not in a run's cgroup (the tag is all) */
  if (t->spare_fd < 0)
    t->spare_fd = -1;
  if (t->launcher && tc->job)
    snprintf(t->job, sizeof t->job, "%s", tc->job);
  t->nhosts = (int)nh;
  t->hosts = ft__xalloc((nh ? nh : 1) * sizeof *t->hosts);
  t->host = ft__xalloc((size_t)n * sizeof *t->host);
  if (!t->hosts || !t->host) {
    rc = -ENOMEM;
    goto fail;
  }
  if (nl + 2 + na + 3 > FT_ARRAY_LEN(t->ws[0].argv)) {
    rc = FT_E2BIG;
    goto fail;
  }
  size_t ncopy = nl + nh + na;
  t->argv = ft__xalloc((ncopy + 1) * sizeof *t->argv);
  for (size_t i = 0; t->argv && i < ncopy; i++)
    if (!(t->argv[i] = ft__strdup(i < nl        ? tc->launch[i]
                                  : i < nl + nh ? tc->hosts[i - nl]
                                                : tc->argv[i - nl - nh]))) {
      rc = -ENOMEM;
      goto fail;
    }
  if (!t->argv) {
    rc = -ENOMEM;
    goto fail;
  }
  for (int w = 0; w < n; w++) {
    size_t k = 0;
    for (size_t i = 0; i < nl; i++)
      t->ws[w].argv[k++] = t->argv[i];
    if (nh) {
      t->ws[w].argv[k++] = "-w";
      t->hostarg = k;
      t->host[w] = (int)((size_t)w % nh);
      t->ws[w].argv[k++] = t->argv[nl + (size_t)w % nh];
    }
    for (size_t i = 0; i < na; i++)
      t->ws[w].argv[k++] = t->argv[nl + nh + i];
    t->ws[w].argv[k++] = "--connect";
    t->ws[w].argv[k] = t->connect;
  }
  t->lw = ft__watch_new(p->loop, t->lfd, EPOLLIN, ft__tcp_on_accept, t, true);
  if (!t->lw) {
    rc = -errno;
    goto fail;
  }
  if ((rc = ft_timer_new(p->loop, &t->tick)) < 0 ||
      (rc = ft_timer_start(t->tick, FT__TICK_NS, FT__TICK_NS, ft__tcp_on_tick, t)) < 0)
    goto fail;
  *out = &t->base;
  return 0;

fail:
  ft__tcp_free(&t->base);
  return rc;
}
