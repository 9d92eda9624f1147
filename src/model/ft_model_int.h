/* ft_model_int.h - what the model's files share, not for its readers. */
#ifndef FT_MODEL_INT_H
#define FT_MODEL_INT_H

#include "ft_model.h"

/* Room for one more element in an array of n, doubling (ft_util.c). */
int ft__grow(void **arr, size_t *cap, size_t n, size_t size);
int ft__mlines_add(ft_mlines *r, size_t cap, size_t max_bytes, const ft_event *ev);
void ft__mlines_free(ft_mlines *r);
int ft__mlines_copy(const ft_mlines *src, ft_mlines *dst);

/* The hosts of a model (ft_model_hosts.c). */
typedef struct ft__mhosts {
  ft_mhost *h;
  size_t n, cap;
} ft__mhosts;

/* Apply what ev says of its host (a host event; any event: last heard). */
int ft__mhosts_apply(ft__mhosts *hs, const ft_event *ev);
/* A stat event: an agent's read of process p (NULL: not known; ignored). */
void ft__mhosts_stat(ft_mproc *p, const ft_event *ev);
/* Sum every host's live processes (once a tick). */
void ft__mhosts_sum(ft__mhosts *hs, const ft_mproc *procs, size_t n);
void ft__mhosts_free(ft__mhosts *hs);

#define FT__NS 1000000000ull

/* The model itself: ft_model.c applies events, ft_model_tick.c moves time
 * on over every process. */
struct ft_model {
  ft_model_opts o;
  ft_model_snap snap;
  ft_mproc *procs;
  size_t nprocs, capprocs;
  int32_t *map; /* open addressing: index into procs, -1 empty */
  size_t mapcap;
  ft_mpool *pools;
  size_t npools, cappools;
  ft_mqueue *queues;
  size_t nqueues, capqueues;
  ft__mhosts hosts;
  ft_mexit *log;
  size_t nlog, loghead; /* loghead: the slot the next entry goes to */
  ft_mlines all;
  ft_mtotals tot;
  uint64_t gen, last_t, now, t0;
  size_t nexited; /* exited processes kept, at least: the tick's work on them waits for one */
  pid_t root;
  long hz;
};

/* The process (host, pid) in the model, or NULL (ft_model.c). */
ft_mproc *ft__mproc_find(const ft_model *m, uint32_t host, pid_t pid);
/* Rebuild the pid map for at least want processes (ft_model.c). */
int ft__mproc_rebuild(ft_model *m, size_t want);

#endif
