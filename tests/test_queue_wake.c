/* test_queue_wake.c - the Queue's sleeping and waking: a sleeper arms the
 * other side under that side's lock, and the first commit to see it wakes
 * it (src/mp/ft_queue.c).  A lost wake shows as a call that times out
 * although the other side did its part; every case runs many times, with
 * random delays, so that the commits fall on every step of a sleeper's
 * arming.  The stats stay exact when a sleeper is killed: it is no longer
 * counted as blocked, and its time up to then is. */
#include "ft_test_mp.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

extern void (*ft__queue_arm_hook)(void);

static ft_queue *q;

enum { PINGS = 20000 };

/* Busy for a random while now and then: long enough, at times, that the
 * other side gives up spinning and sleeps. */
static void jitter(unsigned *seed) {
  if (rand_r(seed) % 32)
    return;
  uint64_t end = ft_now_ns() + (uint64_t)(rand_r(seed) % 200) * 1000u;
  while (ft_now_ns() < end)
    ;
}

static int pinger(void *arg) {
  unsigned seed = (unsigned)(uintptr_t)arg;
  for (uint32_t i = 0; i < PINGS; i++) {
    jitter(&seed);
    if (ft_queue_put(q, &i, sizeof i, 10))
      return 1; /* a lost wake: the consumer kept taking */
  }
  return 0;
}

/* A queue of one item between two processes: each side blocks on the
 * other at almost every call, and every item arrives, in order, without a
 * timeout.  Both sides must have slept (not only spun) for it to count. */
static void test_capacity_one_ping_pong(void **state) {
  ft_test *t = *state;
  assert_int_equal(ft_queue_new(t->loop, "pingpong", 1, 64, &q), 0);
  ft_process *p = ft_test_child_start(t->loop, pinger, (void *)(uintptr_t)7);
  unsigned seed = 11;
  for (uint32_t i = 0; i < PINGS; i++) {
    uint32_t v = 0;
    size_t len = 0;
    jitter(&seed);
    int rc = ft_queue_get(q, &v, sizeof v, &len, 10);
    if (rc)
      fail_msg("get %u: %s (a lost wake)", i, ft_strerror(rc));
    assert_int_equal(v, i);
  }
  assert_int_equal(ft_test_child_end(p, 30, "the pinger"), 0);
  ft_queue_stats st;
  ft_queue_stats_get(q, &st);
  assert_int_equal(st.puts, PINGS);
  assert_int_equal(st.gets, PINGS);
  assert_int_equal(st.high_water, 1);
  assert_true(st.put_blocked_ns > 0 && st.get_blocked_ns > 0);
  assert_int_equal(st.producers_blocked + st.consumers_blocked, 0);
  ft_queue_free(q);
}

static int put_one(void *arg) {
  (void)arg;
  return ft_queue_put(q, "p", 1, -1) == 0 ? 0 : 1;
}

static int get_one(void *arg) {
  (void)arg;
  char c;
  size_t len;
  return ft_queue_get(q, &c, 1, &len, -1) == 0 && c == 'g' ? 0 : 1;
}

/* How many of one side (producers, or consumers) the stats count blocked. */
static uint32_t blocked_of(const ft_queue_stats *st, bool producer) {
  return producer ? st->producers_blocked : st->consumers_blocked;
}

/* Wait until the stats count n of one side blocked (5 s at most). */
static void await_blocked(bool producer, uint32_t n) {
  uint64_t end = ft_now_ns() + 5000000000ull;
  ft_queue_stats st;
  do
    ft_queue_stats_get(q, &st);
  while (blocked_of(&st, producer) < n && ft_now_ns() < end);
  assert_int_equal(blocked_of(&st, producer), n);
}

/* A new queue q of one item, named name, that a producer blocks on (it is
 * full) or a consumer blocks on (it is empty). */
static void new_queue(ft_test *t, const char *name, bool producer) {
  assert_int_equal(ft_queue_new(t->loop, name, 1, 64, &q), 0);
  if (producer)
    assert_int_equal(ft_queue_put(q, "g", 1, 0), 0);
}

/* Start a process blocked in put on a full queue (producer) or in get on
 * an empty one, and wait until the stats count it. */
static ft_process *start_blocked(ft_test *t, bool producer) {
  ft_process *p = ft_test_child_start(t->loop, producer ? put_one : get_one, NULL);
  await_blocked(producer, 1);
  return p;
}

/* The one call of the other side that lets p, blocked in put (producer)
 * or in get, go on: a get, or a put of the 'g' get_one wants.  p must then
 * end (10 s at most, named what if it does not), its own call done. */
static void wake_blocked(ft_process *p, bool producer, const char *what) {
  char c;
  size_t len;
  if (producer)
    assert_int_equal(ft_queue_get(q, &c, 1, &len, 0), 0);
  else
    assert_int_equal(ft_queue_put(q, "g", 1, 0), 0);
  assert_int_equal(ft_test_child_end(p, 10, what), 0);
}

/* A producer blocked on a full queue is woken by one get, and a consumer
 * blocked on an empty one by one put, whatever step of its arming it is
 * at (the blocked count goes up before it arms): 40 times each, the get
 * or put after a random delay. */
static void test_one_call_wakes_the_blocked(void **state) {
  ft_test *t = *state;
  unsigned seed = 3;
  for (int round = 0; round < 80; round++) {
    bool producer = round % 2 == 0;
    new_queue(t, "wake", producer);
    ft_process *p = start_blocked(t, producer);
    uint64_t end = ft_now_ns() + (uint64_t)(rand_r(&seed) % 300) * 1000u;
    while (ft_now_ns() < end)
      ;
    char what[64];
    snprintf(what, sizeof what, "round %d: the blocked %s", round, producer ? "put" : "get");
    wake_blocked(p, producer, what);
    ft_queue_stats st;
    ft_queue_stats_get(q, &st);
    assert_int_equal(st.depth, producer ? 1 : 0); /* its item went in, or it took ours */
    ft_queue_free(q);
  }
}

static int dying_sleeper(void *arg) {
  (void)arg;
  ft__queue_arm_hook = ft_test_die_now;
  char c;
  size_t len;
  ft_queue_get(q, &c, 1, &len, -1);
  return 0;
}

/* A consumer killed as it arms the producers, their lock in its hands:
 * the next put takes the lock over (an owner death) and goes in, the dead
 * one is not counted as blocked, and a consumer blocked later is counted
 * (exactly one) and woken by a put. */
static void test_sleeper_killed_while_arming(void **state) {
  ft_test *t = *state;
  assert_int_equal(ft_queue_new(t->loop, "armed", 4, 64, &q), 0);
  assert_int_equal(ft_test_child_exit(t->loop, dying_sleeper, NULL), -SIGKILL);
  assert_int_equal(ft_queue_put(q, "a", 1, 1), 0);
  ft_queue_stats st;
  ft_queue_stats_get(q, &st);
  assert_int_equal(st.owner_deaths, 1);
  assert_int_equal(st.consumers_blocked, 0);
  assert_true(st.get_blocked_ns > 0); /* counted up to when its death was seen */
  char c = 0;
  size_t len;
  assert_int_equal(ft_queue_get(q, &c, 1, &len, 1), 0);
  assert_int_equal(c, 'a');
  wake_blocked(start_blocked(t, false), false, "the consumer blocked after the death");
  ft_queue_stats_get(q, &st);
  assert_int_equal(st.consumers_blocked + st.producers_blocked, 0);
  ft_queue_free(q);
}

/* Wait (5 s at most) until process pid sleeps in a futex wait, as told by
 * /proc/PID/syscall (the call it is in, and its arguments): looked at
 * from outside, without the queue's stats. */
static void await_futex_wait(pid_t pid) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/syscall", (int)pid);
  uint64_t end = ft_now_ns() + 5000000000ull;
  for (;;) {
    FILE *f = fopen(path, "r");
    long nr = -1;
    if (f && fgets(line, sizeof line, f))
      nr = strtol(line, NULL, 10);
    if (f)
      fclose(f);
    if (nr == SYS_futex)
      return;
    if (ft_now_ns() > end)
      fail_msg("process %d never slept in a futex wait", (int)pid);
  }
}

/* Producers killed asleep in put on a full queue, and consumers in get on
 * an empty one, 20 rounds each, two asleep at a time: after each kill the
 * blocked count is exact at once, and the blocked time grows by at least
 * the time the test saw the killed ones blocked before it killed them
 * (2 ms each), and by at most the time since they were started.  Every other
 * round the stats are not read between the kill and the next sleeper's
 * sleep: that sleeper finds the dead one's slot itself.  (It is counted
 * once asleep: a sleeper that takes over a dead one's slot holds it a
 * moment before it has set it as its own, one killed then is not counted,
 * and under valgrind the moment is long.)  A
 * sleeper left asleep is still woken by the next call of the other side. */
static void test_sleeper_killed_asleep(void **state) {
  ft_test *t = *state;
  for (int side = 0; side < 2; side++) {
    bool producer = side == 0;
    new_queue(t, "killed", producer);
    ft_process *keep = start_blocked(t, producer);
    uint64_t before = 0, from = 0, low = 0;
    for (int round = 0; round < 20; round++) {
      if (!from)
        from = ft_now_ns();
      ft_process *p = ft_test_child_start(t->loop, producer ? put_one : get_one, NULL);
      if (round % 2 == 0 && round > 0)
        await_futex_wait(ft_process_pid(p)); /* the dead one's slot unread until then */
      await_blocked(producer, 2);
      ft_queue_stats st;
      uint64_t seen = ft_now_ns(); /* blocked from before here, and until the kill: */
      do
        ft_queue_stats_get(q, &st);
      while (blocked_of(&st, producer) == 2 && ft_now_ns() < seen + 2000000);
      assert_int_equal(blocked_of(&st, producer), 2);
      low += ft_now_ns() - seen;
      assert_int_equal(ft_process_kill(p), 0);
      assert_int_equal(ft_test_child_end(p, 10, "a killed sleeper"), -SIGKILL);
      if (round % 2)
        continue; /* the next sleeper finds the dead slot */
      ft_queue_stats_get(q, &st);
      uint64_t ns = producer ? st.put_blocked_ns : st.get_blocked_ns;
      if (blocked_of(&st, producer) != 1)
        fail_msg("round %d: %u blocked after a kill, not 1", round, blocked_of(&st, producer));
      uint64_t high = 2 * (ft_now_ns() - from); /* two sleepers since `from` */
      if (ns < before + low || ns > before + high)
        fail_msg("round %d: blocked time grew by %lld ns, not %llu to %llu", round,
                 (long long)(ns - before), (unsigned long long)low, (unsigned long long)high);
      before = ns;
      from = low = 0;
    }
    wake_blocked(keep, producer, "the sleeper left asleep");
    ft_queue_stats st;
    ft_queue_stats_get(q, &st);
    assert_int_equal(st.producers_blocked + st.consumers_blocked, 0);
    ft_queue_free(q);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      FT_TEST(test_capacity_one_ping_pong),
      FT_TEST(test_one_call_wakes_the_blocked),
      FT_TEST(test_sleeper_killed_while_arming),
      FT_TEST(test_sleeper_killed_asleep),
  };
  return FT_TEST_RUN(tests, 100);
}
