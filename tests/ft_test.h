/* ft_test.h - shared test fixture: a loop with an event recorder, and a
 * teardown that proves the test left no child and no new fd behind. */
#ifndef FT_TEST_H
#define FT_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "forktop.h"

/* A copy of one event, with its strings owned. */
typedef struct ft_rec_event {
  ft_event ev;
  char *name;
  char *line; /* output events: the line, NUL-terminated */
} ft_rec_event;

typedef struct ft_test {
  ft_loop *loop;
  ft_rec_event *evs;
  size_t nevs, capevs;
  int fds_before[256];
  int nfds_before;
  bool heard; /* events are recorded (false: ft_test_setup_unheard) */
} ft_test;

/* cmocka setup / teardown. */
int ft_test_setup(void **state);
/* The same with no event hook: the engine's paths for when nobody listens
 * (a pool's untimed, packed results) are taken; nothing is recorded. */
int ft_test_setup_unheard(void **state);
int ft_test_teardown(void **state);
/* Run a group with an alarm so that a hang fails instead of wedging. */
int ft_test_run(const char *name, const struct CMUnitTest *tests, size_t n, unsigned timeout_s);
#define FT_TEST_RUN(tests, timeout_s)                                                              \
  ft_test_run(__FILE__, tests, sizeof(tests) / sizeof((tests)[0]), timeout_s)
#define FT_TEST(fn) cmocka_unit_test_setup_teardown(fn, ft_test_setup, ft_test_teardown)
#define FT_TEST_UNHEARD(fn)                                                                        \
  {                                                                                                \
    .name = #fn " (unheard)", .test_func = fn, .setup_func = ft_test_setup_unheard,                \
    .teardown_func = ft_test_teardown                                                              \
  }

/* Turn the loop until pred holds; fail after ~10 s. */
#define FT_TEST_UNTIL(loop, pred)                                                                  \
  do {                                                                                             \
    int n_ = 0;                                                                                    \
    while (!(pred) && n_++ < 10000) {                                                              \
      ft_loop_run(loop, FT_RUN_NOWAIT);                                                            \
      usleep(1000);                                                                                \
    }                                                                                              \
    assert_true(pred);                                                                             \
  } while (0)

/* Recorded events of a kind (optionally for one pid; 0 = any). */
size_t ft_test_count(const ft_test *t, ft_event_kind kind, pid_t pid);
/* The i-th recorded event of a kind for pid (0 = any), or NULL. */
const ft_rec_event *ft_test_find(const ft_test *t, ft_event_kind kind, pid_t pid, size_t i);
/* Forget recorded events. */
void ft_test_clear(ft_test *t);
/* Number of distinct worker pids seen in task events of the given kind. */
size_t ft_test_distinct_task_pids(const ft_test *t, ft_event_kind kind);

/* A task's 8-byte result, and reading one back (its length checked). */
static inline int put_u64(ft_buf *out, uint64_t v) { return ft_buf_append(out, &v, sizeof v); }

static inline uint64_t get_u64(ft_slice s) {
  uint64_t v = 0;
  assert_int_equal(s.len, sizeof v);
  memcpy(&v, s.ptr, sizeof v);
  return v;
}

/* Close, join (30 s at most) and free a pool, each step succeeding. */
static inline void close_join_free(ft_pool *p) {
  assert_int_equal(ft_pool_close(p), 0);
  assert_int_equal(ft_pool_join(p, 30), 0);
  ft_pool_free(p);
}

#endif
