/* test_queue.c - the shared-memory Queue: the seed's writer/reader, full
 * and empty with timeouts, close, sizes, many producers and consumers, and
 * a producer killed in the middle of a put. */
#include "ft_test_mp.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

extern void (*ft__queue_put_midpoint_hook)(void);

static ft_queue *q, *q2;

static int writer(void *arg) {
  (void)arg;
  const char *items[] = {"A", "B", "C"};
  for (int i = 0; i < 3; i++) {
    if (i)
      usleep(200000);
    if (ft_queue_put(q, items[i], 1, -1))
      return 1;
  }
  return 0;
}

static int reader(void *arg) {
  (void)arg;
  char buf[16];
  size_t len;
  while (ft_queue_get(q, buf, sizeof buf, &len, -1) == 0) {
    printf("%.*s\n", (int)len, buf);
    fflush(stdout);
  }
  return 0;
}

/* The seed: a writer puts A, B, C apart; the reader, terminated after the
 * writer joins, printed them in order and exits with -SIGTERM. */
static void test_writer_reader(void **state) {
  ft_test *t = *state;
  assert_int_equal(ft_queue_new(t->loop, "q", 10, 1024, &q), 0);
  ft_process *w, *r;
  ft_process_opts wo = {.name = "writer", .target = writer},
                  ro = {.name = "reader", .target = reader};
  assert_int_equal(ft_process_new(t->loop, &ro, &r), 0);
  assert_int_equal(ft_process_new(t->loop, &wo, &w), 0);
  assert_int_equal(ft_process_start(r), 0);
  assert_int_equal(ft_process_start(w), 0);
  assert_int_equal(ft_process_join(w, 10), 0);
  int code = -1;
  assert_int_equal(ft_process_exitcode(w, &code), 0);
  assert_int_equal(code, 0);
  /* give the reader time to print the last item, then stop it */
  uint64_t end = ft_now_ns() + 5000000000ull;
  while (ft_test_count(t, FT_EV_OUTPUT, ft_process_pid(r)) < 3 && ft_now_ns() < end)
    ft_loop_run(t->loop, FT_RUN_ONCE);
  assert_int_equal(ft_process_terminate(r), 0);
  assert_int_equal(ft_process_join(r, 10), 0);
  assert_int_equal(ft_process_exitcode(r, &code), 0);
  assert_int_equal(code, -SIGTERM);
  const char *want[] = {"A", "B", "C"};
  for (size_t i = 0; i < 3; i++)
    assert_string_equal(ft_test_find(t, FT_EV_OUTPUT, ft_process_pid(r), i)->line, want[i]);
  ft_queue_stats st;
  ft_queue_stats_get(q, &st);
  assert_int_equal(st.puts, 3);
  assert_int_equal(st.gets, 3);
  assert_int_equal(st.depth, 0);
  assert_int_equal(st.bytes_in, 3);
  ft_process_free(w);
  ft_process_free(r);
  ft_queue_free(q);
}

/* Full and empty: FT_EFULL / FT_EEMPTY at once, FT_ETIMEDOUT after the timeout. */
static void test_full_and_empty_with_timeouts(void **state) {
  ft_test *t = *state;
  assert_int_equal(ft_queue_new(t->loop, "small", 2, 1024, &q), 0);
  char buf[8];
  size_t len;
  assert_int_equal(ft_queue_get(q, buf, sizeof buf, &len, 0), FT_EEMPTY);
  assert_int_equal(ft_queue_put(q, "1", 1, 0), 0);
  assert_int_equal(ft_queue_put(q, "2", 1, 0), 0);
  assert_int_equal(ft_queue_put(q, "3", 1, 0), FT_EFULL);
  uint64_t t0 = ft_now_ns();
  assert_int_equal(ft_queue_put(q, "3", 1, 0.2), FT_ETIMEDOUT);
  uint64_t dt = ft_now_ns() - t0;
  assert_true(dt >= 190000000ull && dt < 2000000000ull);
  ft_queue_stats st;
  ft_queue_stats_get(q, &st);
  assert_int_equal(st.depth, 2);
  assert_int_equal(st.high_water, 2);
  assert_true(st.put_blocked_ns >= 150000000ull);
  assert_int_equal(ft_queue_get(q, buf, sizeof buf, &len, 0), 0);
  assert_int_equal(len, 1);
  assert_int_equal(buf[0], '1');
  assert_int_equal(ft_queue_get(q, buf, sizeof buf, &len, 0), 0);
  assert_int_equal(buf[0], '2');
  t0 = ft_now_ns();
  assert_int_equal(ft_queue_get(q, buf, sizeof buf, &len, 0.2), FT_ETIMEDOUT);
  assert_true(ft_now_ns() - t0 >= 190000000ull);
  ft_queue_free(q);
}

/* Sizes: an item over the byte bound, and a buffer too small (item kept). */
static void test_sizes(void **state) {
  ft_test *t = *state;
  assert_int_equal(ft_queue_new(t->loop, "sizes", 10, 64, &q), 0);
  char big[100] = {0};
  assert_int_equal(ft_queue_put(q, big, sizeof big, 0), FT_E2BIG);
  assert_int_equal(ft_queue_put(q, "hello world", 11, 0), 0);
  char small[4];
  size_t len = 0;
  assert_int_equal(ft_queue_get(q, small, sizeof small, &len, 0), FT_E2BIG);
  assert_int_equal(len, 11);
  char ok[16];
  assert_int_equal(ft_queue_get(q, ok, sizeof ok, &len, 0), 0);
  assert_memory_equal(ok, "hello world", 11);
  /* the byte bound, not only the item count, limits what fits */
  char item[40] = {0};
  assert_int_equal(ft_queue_put(q, item, 40, 0), 0);
  assert_int_equal(ft_queue_put(q, item, 40, 0), FT_EFULL);
  ft_queue_free(q);
}

static int blocked_getter(void *arg) {
  (void)arg;
  char buf[8];
  size_t len;
  return ft_queue_get(q, buf, sizeof buf, &len, -1) == FT_ECLOSED ? 42 : 1;
}

static int blocked_putter(void *arg) {
  (void)arg;
  return ft_queue_put(q2, "x", 1, -1) == 0 ? 43 : 1;
}

/* Close wakes a blocked consumer (FT_ECLOSED); a get makes room for a blocked producer. */
static void test_close_and_wakeups(void **state) {
  ft_test *t = *state;
  assert_int_equal(ft_queue_new(t->loop, "c1", 4, 64, &q), 0);
  assert_int_equal(ft_queue_new(t->loop, "c2", 1, 64, &q2), 0);
  assert_int_equal(ft_queue_put(q2, "y", 1, 0), 0);
  ft_process *g, *p;
  ft_process_opts go = {.target = blocked_getter}, po = {.target = blocked_putter};
  assert_int_equal(ft_process_new(t->loop, &go, &g), 0);
  assert_int_equal(ft_process_new(t->loop, &po, &p), 0);
  assert_int_equal(ft_process_start(g), 0);
  assert_int_equal(ft_process_start(p), 0);
  /* both block */
  uint64_t end = ft_now_ns() + 5000000000ull;
  ft_queue_stats a, b;
  do {
    usleep(10000);
    ft_queue_stats_get(q, &a);
    ft_queue_stats_get(q2, &b);
  } while ((a.consumers_blocked < 1 || b.producers_blocked < 1) && ft_now_ns() < end);
  assert_int_equal(a.consumers_blocked, 1);
  assert_int_equal(b.producers_blocked, 1);
  assert_int_equal(ft_queue_close(q), 0);
  char buf[8];
  size_t len;
  assert_int_equal(ft_queue_get(q2, buf, sizeof buf, &len, 0), 0);
  assert_int_equal(ft_process_join(g, 10), 0);
  assert_int_equal(ft_process_join(p, 10), 0);
  int code;
  ft_process_exitcode(g, &code);
  assert_int_equal(code, 42);
  ft_process_exitcode(p, &code);
  assert_int_equal(code, 43);
  assert_int_equal(ft_queue_put(q, "z", 1, 0), FT_ECLOSED);
  assert_int_equal(ft_queue_get(q, buf, sizeof buf, &len, 0), FT_ECLOSED);
  ft_queue_stats_get(q, &a);
  assert_true(a.closed);
  ft_process_free(g);
  ft_process_free(p);
  ft_queue_free(q);
  ft_queue_free(q2);
}

enum { PER_PRODUCER = 20000, NPROD = 3, NCONS = 3 };

static int producer(void *arg) {
  uint32_t base = (uint32_t)(uintptr_t)arg * PER_PRODUCER;
  for (uint32_t i = 0; i < PER_PRODUCER; i++) {
    uint32_t v = base + i;
    if (ft_queue_put(q, &v, sizeof v, -1))
      return 1;
  }
  return 0;
}

/* A consumer reports the count and the sum of what it got through q2. */
static int consumer(void *arg) {
  (void)arg;
  uint64_t n = 0, sum = 0;
  uint32_t v;
  size_t len;
  while (ft_queue_get(q, &v, sizeof v, &len, -1) == 0) {
    n++;
    sum += v;
  }
  uint64_t r[2] = {n, sum};
  return ft_queue_put(q2, r, sizeof r, -1) ? 1 : 0;
}

/* 3 producers x 3 consumers: every item delivered exactly once. */
static void test_many_producers_many_consumers(void **state) {
  ft_test *t = *state;
  assert_int_equal(ft_queue_new(t->loop, "mpmc", 64, 4096, &q), 0);
  assert_int_equal(ft_queue_new(t->loop, "results", 8, 1024, &q2), 0);
  ft_process *ps[NPROD + NCONS];
  for (int i = 0; i < NPROD + NCONS; i++) {
    ft_process_opts o = {.target = i < NPROD ? producer : consumer, .arg = (void *)(uintptr_t)i};
    assert_int_equal(ft_process_new(t->loop, &o, &ps[i]), 0);
    assert_int_equal(ft_process_start(ps[i]), 0);
  }
  for (int i = 0; i < NPROD; i++)
    assert_int_equal(ft_process_join(ps[i], 60), 0);
  ft_queue_close(q);
  for (int i = NPROD; i < NPROD + NCONS; i++)
    assert_int_equal(ft_process_join(ps[i], 60), 0);
  uint64_t n = 0, sum = 0;
  for (int i = 0; i < NCONS; i++) {
    uint64_t r[2];
    size_t len;
    assert_int_equal(ft_queue_get(q2, r, sizeof r, &len, 1), 0);
    n += r[0];
    sum += r[1];
  }
  uint64_t total = (uint64_t)NPROD * PER_PRODUCER;
  assert_int_equal(n, total);
  assert_int_equal(sum, total * (total - 1) / 2);
  ft_queue_stats st;
  ft_queue_stats_get(q, &st);
  assert_int_equal(st.puts, total);
  assert_int_equal(st.gets, total);
  assert_true(st.high_water <= 64);
  for (int i = 0; i < NPROD + NCONS; i++) {
    int code = -1;
    ft_process_exitcode(ps[i], &code);
    assert_int_equal(code, 0);
    ft_process_free(ps[i]);
  }
  ft_queue_free(q);
  ft_queue_free(q2);
}

static int dying_producer(void *arg) {
  (void)arg;
  ft__queue_put_midpoint_hook = ft_test_die_now;
  ft_queue_put(q, "THIS-MUST-NEVER-APPEAR", 22, -1);
  return 0;
}

/* A producer killed with the lock held and half an item copied: the queue
 * goes on working for the others, and the half item never appears. */
static void test_producer_killed_mid_put(void **state) {
  ft_test *t = *state;
  assert_int_equal(ft_queue_new(t->loop, "robust", 10, 1024, &q), 0);
  assert_int_equal(ft_queue_put(q, "before", 6, 0), 0);
  assert_int_equal(ft_test_child_exit(t->loop, dying_producer, NULL), -SIGKILL);
  assert_int_equal(ft_queue_put(q, "after", 5, 1), 0);
  char buf[64];
  size_t len;
  assert_int_equal(ft_queue_get(q, buf, sizeof buf, &len, 1), 0);
  assert_memory_equal(buf, "before", 6);
  assert_int_equal(ft_queue_get(q, buf, sizeof buf, &len, 1), 0);
  assert_int_equal(len, 5);
  assert_memory_equal(buf, "after", 5);
  assert_int_equal(ft_queue_get(q, buf, sizeof buf, &len, 0), FT_EEMPTY);
  ft_queue_stats st;
  ft_queue_stats_get(q, &st);
  assert_int_equal(st.owner_deaths, 1);
  assert_int_equal(st.puts, 2);
  ft_queue_free(q);
}

/* The loop samples queues into FT_EV_QUEUE events. */
static void test_queue_samples(void **state) {
  ft_test *t = *state;
  ft_loop_set_sample_interval(t->loop, 10 * 1000 * 1000);
  assert_int_equal(ft_queue_new(t->loop, "sampled", 10, 1024, &q), 0);
  assert_int_equal(ft_queue_put(q, "x", 1, 0), 0);
  uint64_t end = ft_now_ns() + 2000000000ull;
  while (ft_test_count(t, FT_EV_QUEUE, 0) < 2 && ft_now_ns() < end)
    ft_loop_run(t->loop, FT_RUN_ONCE);
  const ft_rec_event *e = ft_test_find(t, FT_EV_QUEUE, 0, 0);
  assert_non_null(e);
  assert_string_equal(e->name, "sampled");
  assert_int_equal(e->ev.u.queue.puts, 1);
  assert_int_equal(e->ev.u.queue.depth, 1);
  assert_int_equal(e->ev.u.queue.capacity, 10);
  ft_queue_free(q);
}

/* A queue may be freed after its loop (docs/api.md): it keeps no pointer to
 * a freed loop (ASan and valgrind, which CI runs this under, catch one). */
static void test_queue_outlives_its_loop(void **state) {
  (void)state;
  ft_loop *loop;
  ft_queue *own;
  assert_int_equal(ft_loop_new(&loop), 0);
  assert_int_equal(ft_queue_new(loop, "outlives", 4, 64, &own), 0);
  assert_int_equal(ft_queue_put(own, "x", 1, 0), 0);
  ft_loop_free(loop);
  char buf[8];
  size_t n = 0;
  assert_int_equal(ft_queue_get(own, buf, sizeof buf, &n, 0), 0);
  assert_int_equal(n, 1);
  ft_queue_free(own);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      FT_TEST(test_writer_reader),
      FT_TEST(test_full_and_empty_with_timeouts),
      FT_TEST(test_sizes),
      FT_TEST(test_close_and_wakeups),
      FT_TEST(test_many_producers_many_consumers),
      FT_TEST(test_producer_killed_mid_put),
      FT_TEST(test_queue_samples),
      FT_TEST(test_queue_outlives_its_loop),
  };
  return FT_TEST_RUN(tests, 100);
}
