/* test_queue_many.c - the Queue's batch calls, ft_queue_put_many and
 * ft_queue_get_many: order and exact counts across processes, bounded
 * capacity with and without timeouts, an item too big for the buffer kept,
 * and a producer killed in the middle of a batch (none of it appears). */
#include "ft_test_mp.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

extern void (*ft__queue_put_midpoint_hook)(void);

static ft_queue *q;

enum { TOTAL = 200000, BATCH = 100 };

static int batch_producer(void *arg) {
  (void)arg;
  uint64_t v[BATCH];
  ft_slice it[BATCH];
  for (uint64_t i = 0; i < TOTAL; i += BATCH) {
    for (int k = 0; k < BATCH; k++) {
      v[k] = i + (uint64_t)k;
      it[k] = (ft_slice){&v[k], sizeof v[k]};
    }
    size_t done = 0;
    if (ft_queue_put_many(q, it, BATCH, &done, -1) || done != BATCH)
      return 1;
  }
  return 0;
}

/* One producer of batches, this process the consumer of batches: every
 * item once, in order, and the counters exact. */
static void test_batches_in_order(void **state) {
  ft_test *t = *state;
  assert_int_equal(ft_queue_new(t->loop, "many", 1000, 1 << 16, &q), 0);
  ft_process *p = ft_test_child_start(t->loop, batch_producer, NULL);
  uint64_t buf[64], next = 0;
  ft_slice items[64];
  while (next < TOTAL) {
    size_t got = 0;
    assert_int_equal(ft_queue_get_many(q, buf, sizeof buf, items, 64, &got, 30), 0);
    assert_true(got >= 1 && got <= 64);
    for (size_t k = 0; k < got; k++) {
      uint64_t v;
      assert_int_equal(items[k].len, 8);
      memcpy(&v, items[k].ptr, 8);
      assert_int_equal(v, next++);
    }
  }
  assert_int_equal(ft_test_child_end(p, 30, "the producer"), 0);
  ft_queue_stats st;
  ft_queue_stats_get(q, &st);
  assert_int_equal(st.puts, TOTAL);
  assert_int_equal(st.gets, TOTAL);
  assert_int_equal(st.bytes_in, 8ull * TOTAL);
  assert_int_equal(st.bytes_out, 8ull * TOTAL);
  assert_true(st.high_water >= 1 && st.high_water <= 1000);
  ft_queue_free(q);
}

/* Capacity binds a batch as it binds single puts: a run stops at the
 * bound, the rest fails with FT_EFULL (at once) or FT_ETIMEDOUT (after the
 * timeout), *done says how many went in; get_many takes at most max and
 * keeps an item too big for the buffer. */
static void test_bounds_and_timeouts(void **state) {
  ft_test *t = *state;
  assert_int_equal(ft_queue_new(t->loop, "bounded", 5, 64, &q), 0);
  char bytes[8][16];
  ft_slice it[8];
  for (int k = 0; k < 8; k++) {
    memset(bytes[k], 'a' + k, sizeof bytes[k]);
    it[k] = (ft_slice){bytes[k], 4};
  }
  size_t done = 99;
  assert_int_equal(ft_queue_put_many(q, it, 8, &done, 0), FT_EFULL);
  assert_int_equal(done, 5); /* max_items */
  uint64_t t0 = ft_now_ns();
  assert_int_equal(ft_queue_put_many(q, it + 5, 3, &done, 0.2), FT_ETIMEDOUT);
  assert_true(ft_now_ns() - t0 >= 150000000ull);
  assert_int_equal(done, 0);
  char buf[64];
  ft_slice got_items[3];
  size_t got = 0;
  assert_int_equal(ft_queue_get_many(q, buf, sizeof buf, got_items, 3, &got, 0), 0);
  assert_int_equal(got, 3);
  for (size_t k = 0; k < got; k++) {
    assert_int_equal(got_items[k].len, 4);
    assert_memory_equal(got_items[k].ptr, bytes[k], 4);
  }
  /* the byte bound, 64: 8 in use; one 40 fits and not two; then one 16
   * fills it to the byte */
  ft_slice forty[2] = {{buf, 40}, {buf, 40}};
  assert_int_equal(ft_queue_put_many(q, forty, 2, &done, 0), FT_EFULL);
  assert_int_equal(done, 1);
  ft_slice big[2] = {{bytes[0], 16}, {bytes[1], 16}};
  assert_int_equal(ft_queue_put_many(q, big, 2, &done, 0), FT_EFULL);
  assert_int_equal(done, 1);
  /* what fits in the buffer comes; an item bigger than the buffer is kept,
   * with the size it needs */
  assert_int_equal(ft_queue_get_many(q, buf, 16, got_items, 3, &got, 0), 0);
  assert_int_equal(got, 2);
  assert_int_equal(ft_queue_get_many(q, buf, 8, got_items, 3, &got, 0), FT_E2BIG);
  assert_int_equal(got, 0);
  assert_int_equal(got_items[0].len, 40);
  assert_int_equal(ft_queue_get_many(q, buf, sizeof buf, got_items, 3, &got, 0), 0);
  assert_int_equal(got, 2);
  assert_int_equal(got_items[0].len, 40);
  assert_int_equal(got_items[1].len, 16);
  assert_memory_equal(got_items[1].ptr, bytes[0], 16);
  assert_int_equal(ft_queue_get_many(q, buf, sizeof buf, got_items, 3, &got, 0.1), FT_ETIMEDOUT);
  ft_queue_stats st;
  ft_queue_stats_get(q, &st);
  assert_int_equal(st.puts, 7);
  assert_int_equal(st.gets, 7);
  assert_int_equal(st.bytes_in, 5 * 4 + 40 + 16);
  assert_int_equal(st.bytes_out, st.bytes_in);
  assert_int_equal(st.high_water, 5);
  ft_queue_close(q);
  assert_int_equal(ft_queue_put_many(q, it, 1, &done, 0), FT_ECLOSED);
  assert_int_equal(ft_queue_get_many(q, buf, sizeof buf, got_items, 3, &got, 0), FT_ECLOSED);
  ft_queue_free(q);
}

static int dying_batch(void *arg) {
  (void)arg;
  static const char bad[] = "THIS-MUST-NEVER-APPEAR";
  ft_slice it[6];
  for (int k = 0; k < 6; k++)
    it[k] = (ft_slice){bad, sizeof bad - 1};
  ft__queue_put_midpoint_hook = ft_test_die_now;
  ft_queue_put_many(q, it, 6, NULL, -1);
  return 0;
}

/* A producer killed with the lock held, half its batch written: the queue
 * goes on for the others and none of that batch ever appears. */
static void test_producer_killed_mid_batch(void **state) {
  ft_test *t = *state;
  assert_int_equal(ft_queue_new(t->loop, "robust-many", 10, 1024, &q), 0);
  assert_int_equal(ft_queue_put(q, "before", 6, 0), 0);
  assert_int_equal(ft_test_child_exit(t->loop, dying_batch, NULL), -SIGKILL);
  ft_slice after[2] = {{"after", 5}, {"later", 5}};
  size_t done = 0;
  assert_int_equal(ft_queue_put_many(q, after, 2, &done, 1), 0);
  assert_int_equal(done, 2);
  char buf[64];
  ft_slice got_items[8];
  size_t got = 0;
  assert_int_equal(ft_queue_get_many(q, buf, sizeof buf, got_items, 8, &got, 1), 0);
  assert_int_equal(got, 3);
  assert_memory_equal(got_items[0].ptr, "before", 6);
  assert_memory_equal(got_items[1].ptr, "after", 5);
  assert_memory_equal(got_items[2].ptr, "later", 5);
  ft_queue_stats st;
  ft_queue_stats_get(q, &st);
  assert_int_equal(st.owner_deaths, 1);
  assert_int_equal(st.puts, 3);
  ft_queue_free(q);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      FT_TEST(test_batches_in_order),
      FT_TEST(test_bounds_and_timeouts),
      FT_TEST(test_producer_killed_mid_batch),
  };
  return FT_TEST_RUN(tests, 60);
}
