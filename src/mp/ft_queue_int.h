/* ft_queue_int.h - the queue's shared mapping, between ft_queue.c (the
 * ring, puts and gets, sleeping and waking) and ft_queue_sleep.c (the
 * sleepers' slots, which keep the counts of the blocked exact though a
 * sleeper be killed asleep). */
#ifndef FT_QUEUE_INT_H
#define FT_QUEUE_INT_H

#include "ft_internal.h"

#include <pthread.h>

#define FT__Q_LINE 64
#define FT__Q_SLOTS 8192 /* sleepers of one side with a slot (more are counted as before) */

/* One side of the queue: its lock, its end of the ring, its counters, in
 * three parts on cache lines apart, so that nothing one side writes on
 * every operation shares a line with what the other side reads:
 *  - the lock, this side's cached view of the other side and its ring
 *    offset (written by this side only, under its lock);
 *  - pos, items, bytes: written by this side at each commit, read by the
 *    other side only when its cached view runs out;
 *  - seq, armed and the waiting statistics: written only when someone
 *    sleeps, read by the other side at each commit (ft__q_must_wake). */
typedef struct ft__qside {
  _Alignas(FT__Q_LINE) pthread_mutex_t lock;
  uint64_t seen_pos, seen_items, seen_bytes; /* the other side's pos, items, bytes when last */
                                             /* looked at (under this side's lock) */
  _Atomic uint64_t off, off_pos;             /* pos % ring_cap, and the pos it is for */
  _Alignas(FT__Q_LINE) _Atomic uint64_t pos; /* tail (producers) or head (consumers), monotonic */
  _Atomic uint64_t items;                    /* puts or gets */
  _Atomic uint64_t bytes;                    /* bytes in or out */
  _Alignas(FT__Q_LINE) _Atomic uint32_t seq; /* futex: bumped by a commit that wakes */
  _Atomic uint32_t armed;      /* some of this side sleep on the other's seq (its lock guards it) */
  _Atomic uint32_t nslots;     /* sleeper slots made so far (the other side's lock guards them) */
  uint32_t hint;               /* where the next sleeper looks for a free slot (the same) */
  _Atomic uint32_t blocked;    /* of this side, blocked right now without a slot */
  _Atomic uint64_t blocked_ns; /* the time of sleeps without a slot */
} ft__qside;

/* A sleeper's slot: the sleeper holds its robust mutex while it sleeps,
 * so when the kernel reaps a sleeper killed asleep the mutex says
 * EOWNERDEAD to the next one to try it (see ft__q_claim). */
typedef struct ft__qslot {
  pthread_mutex_t m;
  _Atomic uint32_t state; /* 1: a sleeper is in it (counted as blocked) */
  _Atomic uint64_t t0;    /* when that sleeper began to block */
  _Atomic uint64_t base;  /* ns when it came in */
  _Atomic uint64_t ns;    /* blocked time of every sleep this slot has held */
} ft__qslot;

typedef struct ft__qshm {
  uint64_t ring_cap, max_items, max_bytes; /* read-only after ft_queue_new */
  _Atomic uint32_t closed;
  _Atomic uint32_t owner_deaths;
  _Alignas(FT__Q_LINE) _Atomic uint64_t high_water; /* written by producers, under their lock */
  ft__qside put;
  ft__qside get;
  uint64_t slots_off; /* where the slots are: FT__Q_SLOTS producers', then consumers' */
  _Alignas(FT__Q_LINE) char ring[];
} ft__qshm;

/* Make a robust process-shared mutex (0 or an errno). */
int ft__q_mutex_init(pthread_mutex_t *m);
/* A sleeper of side me takes a slot, the other side's lock held (NULL:
 * none free, it is counted in me->blocked); t0 is when it began to block. */
ft__qslot *ft__q_claim(ft__qshm *s, ft__qside *me, uint64_t t0);
/* The sleeper woke: its time stored, its slot (or the count) let go. */
void ft__q_unclaim(ft__qside *me, ft__qslot *sl, uint64_t t0);
/* Side me's sleepers alive now and their time, the dead reclaimed. */
void ft__q_sleepers(ft__qshm *s, ft__qside *me, uint32_t *blocked, uint64_t *ns);

#endif
