/* test_pool_terminate.c - what ft_pool_terminate counts, against ground
 * truth the tasks write themselves: a task that began is counted as run
 * (done, or failed under its worker), never as not run, whether its START
 * was collected or not and however the terminate races with the workers
 * taking work. */
#include "ft_test.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static ft_pool *new_pool(ft_test *t, int workers, unsigned maxtasks) {
  ft_pool *p;
  ft_pool_opts o = {.name = "testpool", .workers = workers, .maxtasksperchild = maxtasks};
  assert_int_equal(ft_pool_new(t->loop, &o, &p), 0);
  return p;
}

/* Ground truth for terminate, from the workers themselves: a shared
 * mapping (made before the pool forks) where each task marks its item as
 * begun, as the first thing it does. */
#define MARK_MAX 64
static unsigned char *g_began; /* MARK_MAX flags, then a count */

typedef struct mark_arg {
  uint32_t idx, us;
} mark_arg;

static unsigned began_count(void) {
  return __atomic_load_n((unsigned *)(g_began + MARK_MAX), __ATOMIC_ACQUIRE);
}

/* Mark the item begun, then sleep arg.us microseconds. */
static int mark_and_sleep(void *ctx, ft_slice arg, ft_buf *out) {
  (void)ctx;
  mark_arg a;
  memcpy(&a, arg.ptr, sizeof a);
  __atomic_store_n(&g_began[a.idx], 1, __ATOMIC_RELEASE);
  __atomic_fetch_add((unsigned *)(g_began + MARK_MAX), 1, __ATOMIC_ACQ_REL);
  struct timespec ts = {a.us / 1000000, (long)(a.us % 1000000) * 1000};
  nanosleep(&ts, NULL);
  return put_u64(out, a.idx);
}

/* One terminate of a 2-worker pool running n items (chunksize cs) that
 * sleep us each, once `wait` of them have begun.  With turns, the loop runs
 * while we wait (STARTs and results collected); without, it does not (the
 * STARTs the workers wrote are not collected when terminate comes).  Then
 * every item must be counted as what it was: done only if it began, failed
 * under a worker if it began and did not finish, never run (worker 0) only
 * if it did not begin.  A worker may be killed between taking an item and
 * beginning it: that item fails under it unbegun, one per worker at most. */
static void terminate_round(ft_test *t, size_t n, size_t cs, uint32_t us, unsigned wait,
                            bool turns) {
  memset(g_began, 0, MARK_MAX + sizeof(unsigned));
  ft_pool *p = new_pool(t, 2, 0);
  mark_arg args[MARK_MAX];
  ft_slice items[MARK_MAX];
  for (size_t i = 0; i < n; i++) {
    args[i] = (mark_arg){(uint32_t)i, us};
    items[i] = (ft_slice){&args[i], sizeof args[i]};
  }
  ft_result *r;
  assert_int_equal(ft_pool_map_async(p, mark_and_sleep, items, n, cs, NULL, NULL, NULL, &r), 0);
  ft_loop_run(t->loop, FT_RUN_NOWAIT); /* publish */
  uint64_t end = ft_now_ns() + 5000000000ull;
  while (began_count() < wait && ft_now_ns() < end)
    if (turns)
      ft_loop_run(t->loop, FT_RUN_NOWAIT);
  assert_true(began_count() >= wait);
  assert_int_equal(ft_pool_terminate(p), 0);
  assert_int_equal(ft_result_wait(r, 10), 0);
  assert_int_equal(ft_pool_join(p, 10), 0);
  unsigned began = 0, done = 0, failed_under = 0, unbegun_under = 0;
  for (size_t i = 0; i < n; i++) {
    ft_item it;
    assert_int_equal(ft_result_item(r, i, &it), 0);
    bool b = __atomic_load_n(&g_began[i], __ATOMIC_ACQUIRE);
    began += b;
    if (it.status == 0) {
      assert_true(b); /* done, so it began */
      done++;
      continue;
    }
    assert_int_equal(it.status, FT_ECANCELED);
    if (it.worker == 0) {
      if (b)
        fail_msg("item %zu began but was counted as never run", i);
      continue;
    }
    failed_under++;
    unbegun_under += !b;
  }
  assert_int_equal(began, began_count());
  assert_int_equal(failed_under - unbegun_under + done, began); /* every begun item ran */
  assert_true(unbegun_under <= 2);
  ft_result_free(r);
  ft_pool_free(p);
}

/* terminate counts a task that began as failed (under its worker), never
 * as not run: neither when its START was written but not yet collected,
 * nor when a worker took it just as the pool canceled the queued work. */
static void test_terminate_counts_begun_tasks_as_run(void **state) {
  ft_test *t = *state;
  g_began = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  assert_true(g_began != MAP_FAILED);
  /* Both workers inside a long task, their STARTs not collected: exact. */
  for (int round = 0; round < 30; round++) {
    terminate_round(t, 9, round % 2 ? 3 : 1, 20000000, 2, round % 3 == 0);
    unsigned under = 0;
    for (size_t i = 0; i < 9; i++)
      under += __atomic_load_n(&g_began[i], __ATOMIC_ACQUIRE);
    assert_int_equal(under, 2);
  }
  /* Short tasks, terminate at a random point: workers claim, begin and
   * finish items all around the terminate. */
  srand(7);
  for (int round = 0; round < 60; round++)
    terminate_round(t, 40, round % 4 == 3 ? 2 : 1, (uint32_t)(rand() % 300),
                    1 + (unsigned)(rand() % 20), round % 2);
  munmap(g_began, 4096);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      FT_TEST(test_terminate_counts_begun_tasks_as_run),
  };
  return FT_TEST_RUN(tests, 110);
}
