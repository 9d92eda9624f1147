/* test_queue_wake.c - the Queue's sleeping and waking: a sleeper arms the
 * other side under that side's lock, and the first commit to see it wakes
 * it (src/mp/ft_queue.c).  A lost wake shows as a call that times out
 * although the other side did its part; every case runs many times, with
 * random delays, so that the commits fall on every step of a sleeper's
 * arming. */
#include "ft_test.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
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
  ft_process *p;
  ft_process_opts o = {.target = pinger, .arg = (void *)(uintptr_t)7};
  assert_int_equal(ft_process_new(t->loop, &o, &p), 0);
  assert_int_equal(ft_process_start(p), 0);
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
  assert_int_equal(ft_process_join(p, 30), 0);
  int code = -1;
  ft_process_exitcode(p, &code);
  assert_int_equal(code, 0);
  ft_queue_stats st;
  ft_queue_stats_get(q, &st);
  assert_int_equal(st.puts, PINGS);
  assert_int_equal(st.gets, PINGS);
  assert_int_equal(st.high_water, 1);
  assert_true(st.put_blocked_ns > 0 && st.get_blocked_ns > 0);
  assert_int_equal(st.producers_blocked + st.consumers_blocked, 0);
  ft_process_free(p);
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

/* Wait until the stats say one of the side is blocked (5 s at most). */
static void await_blocked(bool producer) {
  uint64_t end = ft_now_ns() + 5000000000ull;
  ft_queue_stats st;
  do {
    ft_queue_stats_get(q, &st);
  } while ((producer ? st.producers_blocked : st.consumers_blocked) < 1 && ft_now_ns() < end);
  assert_int_equal(producer ? st.producers_blocked : st.consumers_blocked, 1);
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
    assert_int_equal(ft_queue_new(t->loop, "wake", 1, 64, &q), 0);
    if (producer)
      assert_int_equal(ft_queue_put(q, "g", 1, 0), 0);
    ft_process *p;
    ft_process_opts o = {.target = producer ? put_one : get_one};
    assert_int_equal(ft_process_new(t->loop, &o, &p), 0);
    assert_int_equal(ft_process_start(p), 0);
    await_blocked(producer);
    uint64_t end = ft_now_ns() + (uint64_t)(rand_r(&seed) % 300) * 1000u;
    while (ft_now_ns() < end)
      ;
    char c;
    size_t len;
    if (producer)
      assert_int_equal(ft_queue_get(q, &c, 1, &len, 0), 0);
    else
      assert_int_equal(ft_queue_put(q, "g", 1, 0), 0);
    if (ft_process_join(p, 10))
      fail_msg("round %d: the blocked %s was not woken", round, producer ? "put" : "get");
    int code = -1;
    ft_process_exitcode(p, &code);
    assert_int_equal(code, 0);
    ft_queue_stats st;
    ft_queue_stats_get(q, &st);
    assert_int_equal(st.depth, producer ? 1 : 0); /* its item went in, or it took ours */
    ft_process_free(p);
    ft_queue_free(q);
  }
}

static void die_now(void) { raise(SIGKILL); }

static int dying_sleeper(void *arg) {
  (void)arg;
  ft__queue_arm_hook = die_now;
  char c;
  size_t len;
  ft_queue_get(q, &c, 1, &len, -1);
  return 0;
}

/* A consumer killed as it arms the producers, their lock in its hands:
 * the next put takes the lock over (an owner death) and goes in, and a
 * consumer blocked later is still woken by a put. */
static void test_sleeper_killed_while_arming(void **state) {
  ft_test *t = *state;
  assert_int_equal(ft_queue_new(t->loop, "armed", 4, 64, &q), 0);
  ft_process *p;
  ft_process_opts o = {.target = dying_sleeper};
  assert_int_equal(ft_process_new(t->loop, &o, &p), 0);
  assert_int_equal(ft_process_start(p), 0);
  assert_int_equal(ft_process_join(p, 10), 0);
  int code = 0;
  ft_process_exitcode(p, &code);
  assert_int_equal(code, -SIGKILL);
  ft_process_free(p);
  assert_int_equal(ft_queue_put(q, "a", 1, 1), 0);
  ft_queue_stats st;
  ft_queue_stats_get(q, &st);
  assert_int_equal(st.owner_deaths, 1);
  char c = 0;
  size_t len;
  assert_int_equal(ft_queue_get(q, &c, 1, &len, 1), 0);
  assert_int_equal(c, 'a');
  ft_process_opts go = {.target = get_one};
  assert_int_equal(ft_process_new(t->loop, &go, &p), 0);
  assert_int_equal(ft_process_start(p), 0);
  /* (the dead one may still count as blocked: wait for one more) */
  ft_queue_stats_get(q, &st);
  uint32_t before = st.consumers_blocked;
  uint64_t end = ft_now_ns() + 5000000000ull;
  do
    ft_queue_stats_get(q, &st);
  while (st.consumers_blocked <= before && ft_now_ns() < end);
  assert_int_equal(st.consumers_blocked, before + 1);
  assert_int_equal(ft_queue_put(q, "g", 1, 0), 0);
  assert_int_equal(ft_process_join(p, 10), 0);
  ft_process_exitcode(p, &code);
  assert_int_equal(code, 0);
  ft_process_free(p);
  ft_queue_free(q);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      FT_TEST(test_capacity_one_ping_pong),
      FT_TEST(test_one_call_wakes_the_blocked),
      FT_TEST(test_sleeper_killed_while_arming),
  };
  return FT_TEST_RUN(tests, 100);
}
