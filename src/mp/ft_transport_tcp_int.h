/* ft_transport_tcp_int.h - the TCP transport's parent side, shared by
 * ft_transport_tcp.c (the listener, connections, chunks, the ops) and
 * ft_transport_tcp_launch.c (a worker's local process and what its end
 * means: the launcher, srun in front of it, its exit status and cause,
 * signalling a worker in a Slurm step). */
#ifndef FT_TRANSPORT_TCP_INT_H
#define FT_TRANSPORT_TCP_INT_H

#include "ft_pool_int.h"
#include "ft_transport_tcp.h"

#define FT__CONNECT_NS (10ull * 1000 * 1000 * 1000) /* from launch to hello */

typedef struct ft__conn {
  struct ft__tcp *t;
  int fd;
  ft__watch *w;
  int worker; /* -1 until its hello */
  bool eof;
  uint64_t t_open, last_heard;
  ft_buf in, out;
  size_t out_off;
  struct ft__conn *next; /* connections without a worker yet */
} ft__conn;

typedef struct ft__tw {
  uint8_t token[FT__TOKEN_LEN];
  bool token_live; /* not yet used */
  ft__conn *c;
  uint64_t launched;
  pid_t parent; /* the loop's process, which the launcher must not outlive */
  bool bye_sent, recycled;
  int inflight;
  uint64_t chunk_ns; /* its chunks' time, worker's clock (a moving average), or 0 */
  uint64_t dropped;  /* when its connection dropped (a launcher's grace), or 0 */
  char *argv[96];
  char **envp;
  char tokenenv[16 + 2 * FT__TOKEN_LEN];
  char cause[256];   /* why it was killed when its exit will not say (its host lost), or "" */
  bool hello;        /* it said hello: its launcher did start it */
  bool no_hello;     /* killed for no hello in FT__CONNECT_NS */
  char step[40];     /* its Slurm step, "JOB.STEP", from its hello (job: the pool's), or "" */
  bool spare;        /* its launcher is spared by the run's guard (ft_pool_tcp.spare_launchers) */
  char errtail[512]; /* a launcher's first stderr lines (srun's own errors) */
} ft__tw;

/* A host the workers are placed on (ft_pool_tcp.hosts). */
typedef struct ft__thost {
  bool lost;       /* given up: no worker is placed there again */
  int start_fails; /* launches there in a row whose worker never said hello */
  char why[512];   /* the last of those launchers' own words (srun's stderr), or "" */
} ft__thost;

typedef struct ft__tchunk {
  uint64_t seq;
  bool live;
  int owner; /* -1: not sent yet */
  bool started;
  uint64_t t_start; /* the worker's clock, from its START */
  uint32_t nitems, reported;
  char *frame;
  size_t len;
} ft__tchunk;

typedef struct ft__tcp {
  ft__transport base;
  int n;
  int lfd;
  ft__watch *lw;
  char connect[64]; /* ADDR:PORT */
  char **argv;      /* the worker command (copied), NULL-terminated */
  bool launcher;    /* argv starts with a launcher (srun): see ft_pool_tcp */
  char job[24];     /* the launcher's Slurm job (ft_pool_tcp.job), or "" */
  bool spare;       /* ft_pool_tcp.spare_launchers */
  int spare_fd;     /* ft_guard_outer_procs, or -1 */
  int nhosts;       /* hosts the workers are placed on (-w HOST), or 0 */
  size_t hostarg;   /* where HOST is in a worker's argv */
  ft__thost *hosts; /* nhosts of them */
  int *host;        /* per worker: the host it runs on */
  ft_buf setup;
  uint32_t maxtasks;
  uint64_t heartbeat_ns;
  ft_timer *tick;
  ft__tw *ws;
  ft__conn *pending;
  ft__tchunk *chunks;    /* nslots of them, indexed by seq & (nslots - 1) */
  size_t nslots;         /* the pool's */
  uint64_t oldest, next; /* seqs: oldest live, next to publish */
  bool closing;
  bool stopped;     /* terminated: no chunk is sent any more */
  uint64_t refused; /* frames refused (a protocol break) */
} ft__tcp;

/* ft_transport_tcp_launch.c: the ops about a worker's local process. */
void ft__tcp_worker_start(ft__transport *tr, int w, ft__spawn_opts *so);
int ft__tcp_exit_code(ft__transport *tr, int w, int code);
const char *ft__tcp_exit_cause(ft__transport *tr, int w);
int ft__tcp_signal_worker(ft__transport *tr, int w, int signo);
bool ft__tcp_never_started(ft__transport *tr, int w);
/* Worker w's launcher exited: count a start that failed on its host. */
void ft__tcp_launcher_exited(ft__tcp *t, int w);
/* Give up every host where FT__MAX_QUICK_DEATHS launches in a row failed
 * to start a worker, while another host runs workers. */
void ft__tcp_starts_check(ft__tcp *t);
/* Host h is given up for cause: a `host` event (state lost), no worker
 * is placed there again, and its workers alive are killed, their tasks
 * failing with "host NAME lost: cause". */
void ft__tcp_host_lost(ft__tcp *t, int h, const char *cause);

#endif
