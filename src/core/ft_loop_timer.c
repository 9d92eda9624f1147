/* ft_loop_timer.c - the loop's timers (a binary heap of deadlines) and
 * its sampler, the one timer that every /proc sampling hangs from. */
#include "ft_internal.h"

#include <stdlib.h>

/* --------------------------------------------------------------- timers */

static void ft__heap_swap(ft_loop *loop, size_t a, size_t b) {
  ft_timer *t = loop->heap[a];
  loop->heap[a] = loop->heap[b];
  loop->heap[b] = t;
  loop->heap[a]->heap_index = (int)a;
  loop->heap[b]->heap_index = (int)b;
}

static void ft__heap_fix(ft_loop *loop, size_t i) {
  while (i > 0 && loop->heap[(i - 1) / 2]->deadline > loop->heap[i]->deadline) {
    ft__heap_swap(loop, i, (i - 1) / 2);
    i = (i - 1) / 2;
  }
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < loop->nheap && loop->heap[l]->deadline < loop->heap[m]->deadline)
      m = l;
    if (r < loop->nheap && loop->heap[r]->deadline < loop->heap[m]->deadline)
      m = r;
    if (m == i)
      break;
    ft__heap_swap(loop, i, m);
    i = m;
  }
}

/* Create a timer. */
int ft_timer_new(ft_loop *loop, ft_timer **out) {
  ft_timer *t = ft__xalloc(sizeof *t);
  if (!t)
    return -ENOMEM;
  t->loop = loop;
  t->heap_index = -1;
  *out = t;
  return 0;
}

/* Arm a timer. */
int ft_timer_start(ft_timer *t, uint64_t first_ns, uint64_t repeat_ns, ft_timer_cb fn, void *ud) {
  ft_loop *loop = t->loop;
  ft_timer_stop(t);
  if (loop->nheap == loop->capheap) {
    size_t cap = loop->capheap ? loop->capheap * 2 : 8;
    ft_timer **h = realloc(loop->heap, cap * sizeof *h);
    if (!h)
      return -ENOMEM;
    loop->heap = h;
    loop->capheap = cap;
  }
  t->deadline = ft_now_ns() + first_ns;
  t->repeat = repeat_ns;
  t->fn = fn;
  t->ud = ud;
  t->heap_index = (int)loop->nheap;
  loop->heap[loop->nheap++] = t;
  ft__heap_fix(loop, (size_t)t->heap_index);
  return 0;
}

/* Disarm a timer. */
void ft_timer_stop(ft_timer *t) {
  if (!t || t->heap_index < 0)
    return;
  ft_loop *loop = t->loop;
  size_t i = (size_t)t->heap_index;
  t->heap_index = -1;
  loop->nheap--;
  if (i != loop->nheap) {
    loop->heap[i] = loop->heap[loop->nheap];
    loop->heap[i]->heap_index = (int)i;
    ft__heap_fix(loop, i);
  }
}

/* Disarm and free a timer. */
void ft_timer_free(ft_timer *t) {
  if (!t)
    return;
  ft_timer_stop(t);
  free(t);
}

/* Run every due timer; a repeating one is re-armed before its callback. */
void ft__timers_run(ft_loop *loop) {
  uint64_t now = ft_now_ns();
  while (loop->nheap && loop->heap[0]->deadline <= now) {
    ft_timer *t = loop->heap[0];
    ft_timer_stop(t);
    if (t->repeat) {
      /* Re-arm before the callback, which may stop or free the timer. */
      uint64_t next = t->deadline + t->repeat;
      if (next <= now)
        next = now + t->repeat;
      ft_timer_start(t, next - now, t->repeat, t->fn, t->ud);
    }
    t->fn(t, t->ud);
  }
}

/* ---------------------------------------------------------- sampling */

static void ft__sample_tick(ft_timer *t, void *ud) {
  (void)t;
  ft_loop *loop = ud;
  for (size_t i = 0; i < loop->nsamplers; i++)
    loop->samplers[i].fn(loop, loop->samplers[i].ud);
}

static void ft__sample_arm(ft_loop *loop) {
  if (!loop->sample_timer)
    return;
  if (loop->nsamplers && loop->sample_ns)
    ft_timer_start(loop->sample_timer, loop->sample_ns, loop->sample_ns, ft__sample_tick, loop);
  else
    ft_timer_stop(loop->sample_timer);
}

/* Sample ud at every interval.  Everything that can fail is done before the
 * sampler is recorded, so a failure leaves no pointer to ud behind. */
int ft__loop_add_sampler(ft_loop *loop, void (*fn)(ft_loop *, void *), void (*detach)(void *),
                         void *ud) {
  if (!loop->sample_timer && ft_timer_new(loop, &loop->sample_timer) < 0)
    return -ENOMEM;
  ft__sampler *v = realloc(loop->samplers, (loop->nsamplers + 1) * sizeof *v);
  if (!v)
    return -ENOMEM;
  loop->samplers = v;
  v[loop->nsamplers++] = (ft__sampler){.fn = fn, .detach = detach, .ud = ud};
  if (loop->nsamplers == 1)
    ft__sample_arm(loop);
  return 0;
}

/* Stop sampling ud. */
// cppcheck-suppress constParameter ; fn and ud match what was added, by identity
void ft__loop_remove_sampler(ft_loop *loop, void *ud) {
  for (size_t i = 0; i < loop->nsamplers; i++)
    if (loop->samplers[i].ud == ud) {
      loop->samplers[i] = loop->samplers[--loop->nsamplers];
      break;
    }
  if (!loop->nsamplers)
    ft__sample_arm(loop);
}

/* Interval of samples (queues' counters). */
void ft_loop_set_sample_interval(ft_loop *loop, uint64_t ns) {
  loop->sample_ns = ns;
  ft__sample_arm(loop);
}
