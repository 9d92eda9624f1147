/* ft_queue_sleep.c - the queue's sleepers' slots: a robust mutex each
 * sleeper holds while it sleeps, so that one killed asleep is noticed
 * (EOWNERDEAD) and the counts of the blocked, and their time, stay exact.
 * Sleeping and waking themselves are ft_queue.c's (ft__q_block). */
#include "ft_queue_int.h"

/* A robust process-shared mutex: the side locks and the sleepers' slots. */
int ft__q_mutex_init(pthread_mutex_t *m) {
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
  int rc = pthread_mutex_init(m, &a);
  pthread_mutexattr_destroy(&a);
  return rc;
}

/* Exact counts of sleepers, though a sleeper may be killed asleep.  It
 * does not hold its side's lock asleep, so that lock's EOWNERDEAD cannot
 * tell of it: a plain count would stay one too high for good, and its
 * time be lost.  So each sleeper, under the other side's lock (which
 * guards this side's slots), trylocks a free slot's robust mutex, notes
 * when it began and sets state; it lets go once awake and its time
 * stored.  The kernel, reaping a sleeper killed in between, marks the
 * mutex, and whoever tries it next is told EOWNERDEAD: ft_queue_stats_get
 * (it tries every slot in use; the sampler calls it at each tick) or a
 * sleeper looking for a slot.  That one counts the dead one's time up to
 * now and frees the slot.  The time is stored, not added (ns = base +
 * elapsed): one killed after storing its own and before clearing state
 * is not counted twice (its time runs to when its death was noticed).
 * One killed between taking the mutex and setting state was never
 * counted.  Past FT__Q_SLOTS sleepers of one side at once, the others go
 * without a slot, on the plain counters (`blocked`, `blocked_ns`). */
static ft__qslot *ft__q_slots(ft__qshm *s, const ft__qside *me) {
  return (ft__qslot *)((char *)s + s->slots_off) + (me == &s->get ? FT__Q_SLOTS : 0);
}

/* A dead sleeper's slot, its mutex now ours: count its time and free it. */
static void ft__q_reclaim(ft__qslot *sl) {
  if (atomic_load(&sl->state)) {
    atomic_store(&sl->ns, atomic_load(&sl->base) + (ft_now_ns() - atomic_load(&sl->t0)));
    atomic_store(&sl->state, 0);
  }
  pthread_mutex_consistent(&sl->m);
}

/* Take a slot for a sleeper of side me (the other side's lock held) and
 * fill it in, or NULL when all FT__Q_SLOTS are held by live sleepers.  The
 * first pass skips slots in use; the second tries them too, for the dead. */
ft__qslot *ft__q_claim(ft__qshm *s, ft__qside *me, uint64_t t0) {
  ft__qslot *sl = ft__q_slots(s, me), *got = NULL;
  uint32_t n = atomic_load_explicit(&me->nslots, memory_order_relaxed);
  for (int pass = 0; pass < 2 && !got; pass++)
    for (uint32_t k = 0, i = me->hint; k < n && !got; k++, i = i + 1 < n ? i + 1 : 0) {
      ft__qslot *c = &sl[i];
      if (!pass && atomic_load_explicit(&c->state, memory_order_relaxed))
        continue;
      int r = pthread_mutex_trylock(&c->m);
      if (r == EOWNERDEAD)
        ft__q_reclaim(c);
      else if (r)
        continue;
      got = c;
      me->hint = i + 1 < n ? i + 1 : 0;
    }
  if (!got && n < FT__Q_SLOTS) { /* a new slot; it exists for others once nslots says so */
    got = &sl[n];
    if (ft__q_mutex_init(&got->m) || pthread_mutex_trylock(&got->m))
      got = NULL; /* (its ns is still 0: only a published slot's sleeper stores it) */
  }
  if (!got)
    atomic_fetch_add(&me->blocked, 1);
  else {
    atomic_store_explicit(&got->base, atomic_load_explicit(&got->ns, memory_order_relaxed),
                          memory_order_relaxed);
    atomic_store_explicit(&got->t0, t0, memory_order_relaxed);
    atomic_store_explicit(&got->state, 1, memory_order_release);
    if (got - sl == n)
      atomic_store_explicit(&me->nslots, n + 1, memory_order_release);
  }
  return got;
}

/* The sleeper woke: its time, then the slot free, then its mutex. */
void ft__q_unclaim(ft__qside *me, ft__qslot *sl, uint64_t t0) {
  uint64_t dt = ft_now_ns() - t0;
  if (!sl) {
    atomic_fetch_sub(&me->blocked, 1);
    atomic_fetch_add(&me->blocked_ns, dt);
    return;
  }
  atomic_store_explicit(&sl->ns, atomic_load_explicit(&sl->base, memory_order_relaxed) + dt,
                        memory_order_relaxed);
  atomic_store_explicit(&sl->state, 0, memory_order_release);
  pthread_mutex_unlock(&sl->m);
}

/* For ft_queue_stats_get: side me's sleepers alive now and their time,
 * the dead among them reclaimed on the way. */
void ft__q_sleepers(ft__qshm *s, ft__qside *me, uint32_t *blocked, uint64_t *ns) {
  ft__qslot *sl = ft__q_slots(s, me);
  uint32_t n = atomic_load_explicit(&me->nslots, memory_order_acquire);
  *blocked = atomic_load(&me->blocked);
  *ns = atomic_load(&me->blocked_ns);
  for (uint32_t i = 0; i < n; i++) {
    if (atomic_load(&sl[i].state)) {
      int r = pthread_mutex_trylock(&sl[i].m);
      *blocked += r == EBUSY; /* its sleeper holds it: alive */
      if (r == EOWNERDEAD)
        ft__q_reclaim(&sl[i]);
      if (r == 0 || r == EOWNERDEAD) /* (0: it woke just now) */
        pthread_mutex_unlock(&sl[i].m);
    }
    *ns += atomic_load(&sl[i].ns);
  }
}
