/* test_pool.c - Pool: apply_async, map, map_async, starmap, imap,
 * chunksize, maxtasksperchild, close/join/terminate, and workers that die. */
#include "ft_test.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Sleep the given milliseconds, return our pid. */
static int sleep_ms(void *ctx, ft_slice arg, ft_buf *out) {
  (void)ctx;
  uint32_t ms;
  memcpy(&ms, arg.ptr, sizeof ms);
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
  return put_u64(out, (uint64_t)getpid());
}

/* Sleep a millisecond; the result is the argument. */
static int sleep_ms_u64(void *ctx, ft_slice arg, ft_buf *out) {
  (void)ctx;
  struct timespec ts = {0, 1000000L};
  nanosleep(&ts, NULL);
  return put_u64(out, get_u64(arg));
}

static int square(void *ctx, ft_slice arg, ft_buf *out) {
  (void)ctx;
  uint64_t v = get_u64(arg);
  return put_u64(out, v * v);
}

static int my_pid(void *ctx, ft_slice arg, ft_buf *out) {
  (void)ctx;
  (void)arg;
  return put_u64(out, (uint64_t)getpid());
}

typedef struct counter {
  int ok, err;
} counter;

static void count_ok(ft_result *r, void *ud) {
  (void)r;
  ((counter *)ud)->ok++;
}

static void count_err(ft_result *r, void *ud) {
  (void)r;
  ((counter *)ud)->err++;
}

static ft_pool *new_pool(ft_test *t, int workers, unsigned maxtasks) {
  ft_pool *p;
  ft_pool_opts o = {.name = "testpool", .workers = workers, .maxtasksperchild = maxtasks};
  assert_int_equal(ft_pool_new(t->loop, &o, &p), 0);
  return p;
}

/* The seed: Pool(35), 35 apply_async random sleeps; all complete, on many workers. */
static void test_pool35_apply_async_random_sleeps(void **state) {
  ft_test *t = *state;
  ft_pool *p = new_pool(t, 35, 0);
  ft_pool_stats st;
  ft_pool_stats_get(p, &st);
  assert_int_equal(st.alive, 35);
  assert_int_equal(ft_test_count(t, FT_EV_SPAWN, 0), 35);
  srand(42);
  ft_result *rs[35];
  counter c = {0, 0};
  for (int i = 0; i < 35; i++) {
    uint32_t ms = (uint32_t)(rand() % 300);
    assert_int_equal(ft_pool_apply_async(p, sleep_ms, (ft_slice){&ms, sizeof ms}, count_ok,
                                         count_err, &c, &rs[i]),
                     0);
  }
  for (int i = 0; i < 35; i++) {
    ft_item it;
    assert_int_equal(ft_result_get(rs[i], 10, &it), 0);
    assert_int_equal(it.status, 0);
    assert_true(ft_result_ready(rs[i]));
    assert_int_equal(ft_result_successful(rs[i]), 1);
    assert_int_equal((pid_t)get_u64(it.value), it.worker);
    ft_result_free(rs[i]);
  }
  assert_int_equal(c.ok, 35);
  assert_int_equal(c.err, 0);
  assert_int_equal(ft_test_count(t, FT_EV_TASK_START, 0), 35);
  assert_int_equal(ft_test_count(t, FT_EV_TASK_DONE, 0), 35);
  assert_true(ft_test_distinct_task_pids(t, FT_EV_TASK_DONE) >= 5);
  close_join_free(p);
  assert_int_equal(ft_test_count(t, FT_EV_EXIT, 0), 35);
  assert_int_equal(ft_test_count(t, FT_EV_POOL_END, 0), 1);
}

/* map and map_async with a callback: results in order. */
static void test_map_and_map_async_in_order(void **state) {
  ft_test *t = *state;
  ft_pool *p = new_pool(t, 2, 0);
  enum { N = 1000 };
  uint64_t vals[N];
  ft_slice items[N];
  for (int i = 0; i < N; i++) {
    vals[i] = (uint64_t)i;
    items[i] = (ft_slice){&vals[i], sizeof vals[i]};
  }
  ft_result *r;
  assert_int_equal(ft_pool_map(p, square, items, N, 0, &r), 0);
  assert_int_equal(ft_result_count(r), N);
  for (size_t i = 0; i < N; i++) {
    ft_item it;
    assert_int_equal(ft_result_item(r, i, &it), 0);
    assert_int_equal(get_u64(it.value), i * i);
  }
  ft_result_free(r);

  counter c = {0, 0};
  assert_int_equal(ft_pool_map_async(p, square, items, N, 10, count_ok, count_err, &c, &r), 0);
  assert_false(ft_result_ready(r));
  assert_int_equal(ft_result_successful(r), FT_ENOTREADY);
  assert_int_equal(ft_result_wait(r, 10), 0);
  assert_int_equal(c.ok, 1);
  ft_item it;
  assert_int_equal(ft_result_item(r, N - 1, &it), 0);
  assert_int_equal(get_u64(it.value), (uint64_t)(N - 1) * (N - 1));
  ft_result_free(r);
  close_join_free(p);
}

/* Big maps one after another, each on a new pool: their bookkeeping takes
 * megabytes (huge-page mappings); every result is right every time, a
 * failure included. */
static int square_or_fail(void *ctx, ft_slice arg, ft_buf *out) {
  (void)ctx;
  uint64_t v = get_u64(arg);
  if (v == 7777)
    return 3;
  return put_u64(out, v * v);
}

static void test_big_maps_reuse_buffers(void **state) {
  ft_test *t = *state;
  enum { N = 70000 }; /* its outcomes take more than 2 MiB: a big buffer */
  uint64_t *vals = malloc(N * sizeof *vals);
  ft_slice *items = malloc(N * sizeof *items);
  size_t n = N;
  for (int round = 0; round < 3; round++) {
    ft_pool *p = new_pool(t, 2, 0);
    for (size_t i = 0; i < n; i++) {
      vals[i] = (uint64_t)i + (uint64_t)round * 1000000u;
      items[i] = (ft_slice){&vals[i], sizeof vals[i]};
    }
    ft_result *r;
    int rc = ft_pool_map(p, square_or_fail, items, n, round == 1 ? 0 : 1000, &r);
    assert_int_equal(rc, round == 0 ? FT_ETASK : 0);
    assert_int_equal(ft_result_count(r), n);
    for (size_t i = 0; i < n; i++) {
      ft_item it;
      assert_int_equal(ft_result_item(r, i, &it), 0);
      if (round == 0 && i == 7777) {
        assert_int_equal(it.status, FT_ETASK);
        assert_int_equal(it.code, 3);
        continue;
      }
      assert_int_equal(it.status, 0);
      assert_int_equal(get_u64(it.value), vals[i] * vals[i]);
    }
    ft_result_free(r);
    close_join_free(p);
  }
  free(vals);
  free(items);
}

static int add(void *ctx, size_t argc, const ft_slice *argv, ft_buf *out) {
  (void)ctx;
  uint64_t s = 0;
  for (size_t i = 0; i < argc; i++)
    s += get_u64(argv[i]);
  return put_u64(out, s);
}

typedef struct scale {
  uint64_t mul;
  uint64_t calls; /* bumped by the tasks: in each worker's own copy */
} scale;

static int scaled(void *ctx, ft_slice arg, ft_buf *out) {
  scale *sc = ctx;
  sc->calls++;
  return put_u64(out, get_u64(arg) * sc->mul);
}

static int add_scaled(void *ctx, size_t argc, const ft_slice *argv, ft_buf *out) {
  const scale *sc = ctx;
  uint64_t s = 0;
  for (size_t i = 0; i < argc; i++)
    s += get_u64(argv[i]);
  return put_u64(out, s * sc->mul);
}

/* The pool's ctx reaches every task function, map and starmap alike; what
 * a task writes through it stays in its worker. */
static void test_ctx_reaches_tasks(void **state) {
  ft_test *t = *state;
  scale sc = {.mul = 7};
  ft_pool *p;
  assert_int_equal(ft_pool_new(t->loop, &(ft_pool_opts){.workers = 2, .ctx = &sc}, &p), 0);
  enum { N = 40 };
  uint64_t v[N];
  ft_slice items[N];
  ft_args star[N];
  for (int i = 0; i < N; i++) {
    v[i] = (uint64_t)i;
    items[i] = (ft_slice){&v[i], 8};
    star[i] = (ft_args){2, &items[i == N - 1 ? 0 : i]};
  }
  ft_result *r;
  assert_int_equal(ft_pool_map(p, scaled, items, N, 3, &r), 0);
  for (size_t i = 0; i < N; i++) {
    ft_item it;
    assert_int_equal(ft_result_item(r, i, &it), 0);
    assert_int_equal(get_u64(it.value), i * 7);
  }
  ft_result_free(r);
  assert_int_equal(ft_pool_starmap(p, add_scaled, star, N - 1, 2, &r), 0);
  for (size_t i = 0; i < N - 1; i++) {
    ft_item it;
    assert_int_equal(ft_result_item(r, i, &it), 0);
    assert_int_equal(get_u64(it.value), (2 * i + 1) * 7);
  }
  ft_result_free(r);
  assert_int_equal(sc.calls, 0);
  close_join_free(p);
}

/* starmap: several arguments per item. */
static void test_starmap(void **state) {
  ft_test *t = *state;
  ft_pool *p = new_pool(t, 2, 0);
  enum { N = 50 };
  uint64_t a[N], b[N];
  ft_slice sl[N][2];
  ft_args items[N];
  for (int i = 0; i < N; i++) {
    a[i] = (uint64_t)i;
    b[i] = (uint64_t)i * 100;
    sl[i][0] = (ft_slice){&a[i], 8};
    sl[i][1] = (ft_slice){&b[i], 8};
    items[i] = (ft_args){2, sl[i]};
  }
  ft_result *r;
  assert_int_equal(ft_pool_starmap(p, add, items, N, 3, &r), 0);
  for (size_t i = 0; i < N; i++) {
    ft_item it;
    ft_result_item(r, i, &it);
    assert_int_equal(get_u64(it.value), i * 101);
  }
  ft_result_free(r);
  close_join_free(p);
}

/* The number of dispatches is ceil(n / chunksize); Python's automatic rule otherwise. */
static void test_chunksize_dispatches(void **state) {
  ft_test *t = *state;
  ft_pool *p = new_pool(t, 2, 0);
  uint64_t v = 3;
  ft_slice items[100];
  for (int i = 0; i < 100; i++)
    items[i] = (ft_slice){&v, 8};
  ft_result *r;
  ft_pool_stats st;
  assert_int_equal(ft_pool_map(p, square, items, 100, 7, &r), 0);
  ft_result_free(r);
  ft_pool_stats_get(p, &st);
  assert_int_equal(st.dispatches, 15); /* ceil(100 / 7) */
  assert_int_equal(ft_pool_map(p, square, items, 100, 0, &r), 0);
  ft_result_free(r);
  ft_pool_stats_get(p, &st);
  assert_int_equal(st.dispatches, 15 + 8); /* auto: ceil(100 / 8) = 13 per chunk */
  assert_int_equal(st.tasks_done, 200);
  close_join_free(p);
}

/* maxtasksperchild: workers are recycled and new pids appear. */
static void test_maxtasksperchild(void **state) {
  ft_test *t = *state;
  ft_pool *p = new_pool(t, 2, 2);
  ft_slice items[10];
  for (int i = 0; i < 10; i++)
    items[i] = (ft_slice){"", 0};
  ft_result *r;
  assert_int_equal(ft_pool_map(p, my_pid, items, 10, 1, &r), 0);
  pid_t seen[10];
  size_t nseen = 0;
  for (size_t i = 0; i < 10; i++) {
    ft_item it;
    ft_result_item(r, i, &it);
    pid_t pid = (pid_t)get_u64(it.value);
    size_t j = 0;
    while (j < nseen && seen[j] != pid)
      j++;
    if (j == nseen)
      seen[nseen++] = pid;
  }
  ft_result_free(r);
  assert_true(nseen >= 5); /* 10 tasks, at most 2 per process */
  ft_pool_stats st;
  ft_pool_stats_get(p, &st);
  assert_true(st.workers_recycled >= 3);
  if (!t->heard)
    assert_int_equal(st.workers_replaced, 0); /* recycled, each of them, not died */
  const ft_rec_event *rep = ft_test_find(t, FT_EV_WORKER_REPLACED, 0, 0);
  if (t->heard) {
    assert_non_null(rep);
    assert_int_equal(rep->ev.u.replaced.reason, FT_REPLACE_RECYCLED);
    assert_int_not_equal(rep->ev.u.replaced.old_pid, rep->ev.u.replaced.new_pid);
  }
  close_join_free(p);
}

/* Item 7 kills its worker (SIGKILL), item 9 segfaults, item 11 _exits(3). */
static int fragile(void *ctx, ft_slice arg, ft_buf *out) {
  (void)ctx;
  uint64_t v = get_u64(arg);
  if (v == 7)
    raise(SIGKILL);
  if (v == 9)
    raise(SIGSEGV);
  if (v == 11)
    _exit(3);
  usleep(2000);
  return put_u64(out, v);
}

/* Workers that die mid-task fail that task, are replaced, and the rest finishes. */
static void test_worker_killed_mid_task(void **state) {
  ft_test *t = *state;
  ft_pool *p = new_pool(t, 2, 0);
  enum { N = 40 };
  uint64_t vals[N];
  ft_slice items[N];
  for (int i = 0; i < N; i++) {
    vals[i] = (uint64_t)i;
    items[i] = (ft_slice){&vals[i], 8};
  }
  ft_result *r;
  assert_int_equal(ft_pool_map(p, fragile, items, N, 1, &r), FT_EWORKER);
  assert_int_equal(ft_result_failed(r), 3);
  assert_int_equal(ft_result_successful(r), 0);
  for (size_t i = 0; i < N; i++) {
    ft_item it;
    assert_int_equal(ft_result_item(r, i, &it), 0);
    if (i == 7) {
      assert_int_equal(it.status, FT_EWORKER);
      assert_int_equal(it.signal, SIGKILL);
    } else if (i == 9) {
      assert_int_equal(it.status, FT_EWORKER);
      assert_int_equal(it.signal, SIGSEGV);
    } else if (i == 11) {
      assert_int_equal(it.status, FT_EWORKER);
      assert_int_equal(it.signal, 0);
      assert_int_equal(it.code, 3);
    } else {
      assert_int_equal(it.status, 0);
      assert_int_equal(get_u64(it.value), i);
    }
  }
  ft_item first;
  assert_int_equal(ft_result_get(r, 1, &first), FT_EWORKER);
  assert_int_equal(first.signal, SIGKILL); /* the first failing item, 7 */
  ft_result_free(r);
  ft_pool_stats st;
  ft_pool_stats_get(p, &st);
  assert_int_equal(st.workers_replaced, 3);
  assert_int_equal(st.alive, 2);
  if (t->heard) {
    assert_int_equal(ft_test_count(t, FT_EV_WORKER_REPLACED, 0), 3);
    assert_int_equal(ft_test_count(t, FT_EV_TASK_FAIL, 0), 3);
  }
  close_join_free(p);
}

/* With chunks, only the item that was running fails; the chunk's unstarted
 * items are run again by another worker. */
static void requeue_case(void **state, bool async) {
  ft_test *t = *state;
  ft_pool *p = new_pool(t, 2, 0);
  enum { N = 30 };
  uint64_t vals[N];
  ft_slice items[N];
  for (int i = 0; i < N; i++) {
    vals[i] = (uint64_t)i + 100;
    items[i] = (ft_slice){&vals[i], 8};
  }
  vals[13] = 7; /* fragile: SIGKILL */
  ft_result *r;
  if (async) { /* arguments copied at submission, gone from the caller at once */
    assert_int_equal(ft_pool_map_async(p, fragile, items, N, 10, NULL, NULL, NULL, &r), 0);
    uint64_t saved[N];
    memcpy(saved, vals, sizeof vals);
    memset(vals, 0xee, sizeof vals);
    assert_int_equal(ft_result_wait(r, 30), 0);
    memcpy(vals, saved, sizeof vals);
  } else { /* map: arguments read from the caller's items */
    assert_int_equal(ft_pool_map(p, fragile, items, N, 10, &r), FT_EWORKER);
  }
  assert_int_equal(ft_result_failed(r), 1);
  for (size_t i = 0; i < N; i++) {
    ft_item it;
    assert_int_equal(ft_result_item(r, i, &it), 0);
    if (i == 13) {
      assert_int_equal(it.status, FT_EWORKER);
      assert_int_equal(it.signal, SIGKILL);
    } else {
      assert_int_equal(it.status, 0);
      assert_int_equal(get_u64(it.value), vals[i]);
    }
  }
  ft_result_free(r);
  ft_pool_stats st;
  ft_pool_stats_get(p, &st);
  assert_int_equal(st.dispatches, 4); /* 3 chunks, and the rest of the broken one */
  close_join_free(p);
}

/* The rest of a killed worker's chunk runs again elsewhere: for map, whose
 * arguments are the caller's own, and for map_async, which copies them. */
static void test_worker_killed_mid_chunk_requeues_the_rest(void **state) {
  requeue_case(state, false);
}

static void test_worker_killed_mid_chunk_requeues_the_rest_async(void **state) {
  requeue_case(state, true);
}

static int fails_on_odd(void *ctx, ft_slice arg, ft_buf *out) {
  (void)ctx;
  uint64_t v = get_u64(arg);
  if (v % 2) {
    ft_buf_printf(out, "odd item %llu", (unsigned long long)v);
    return 5;
  }
  return put_u64(out, v);
}

/* A task returning an error: FT_ETASK with its code and message, error callback. */
static void test_task_returns_error(void **state) {
  ft_test *t = *state;
  ft_pool *p = new_pool(t, 2, 0);
  uint64_t v = 3;
  counter c = {0, 0};
  ft_result *r;
  assert_int_equal(
      ft_pool_apply_async(p, fails_on_odd, (ft_slice){&v, 8}, count_ok, count_err, &c, &r), 0);
  ft_item it;
  assert_int_equal(ft_result_get(r, 10, &it), FT_ETASK);
  assert_int_equal(it.code, 5);
  assert_int_equal(it.value.len, strlen("odd item 3"));
  assert_memory_equal(it.value.ptr, "odd item 3", it.value.len);
  assert_int_equal(c.err, 1);
  assert_int_equal(c.ok, 0);
  ft_result_free(r);
  close_join_free(p);
}

/* Item i: a failure (code 4, a 9-byte message) when i % 4 == 0, else a
 * value of i % 4 * 6 - 6 bytes (0, 6 or 12), each byte (char)i. */
static int mixed(void *ctx, ft_slice arg, ft_buf *out) {
  (void)ctx;
  uint64_t i = get_u64(arg);
  if (i % 4 == 0) {
    ft_buf_append(out, "no, this.", 9);
    return 4;
  }
  char v[12];
  memset(v, (char)i, sizeof v);
  return ft_buf_append(out, v, (size_t)(i % 4) * 6 - 6);
}

/* Outcomes of every kind within one chunk (successes of 0, 6 and 12
 * bytes, failures with a message), in a map of many chunks: each item
 * gets exactly its own, whether results come packed (nobody listens)
 * or with their times. */
static void test_mixed_outcomes(void **state) {
  ft_test *t = *state;
  ft_pool *p = new_pool(t, 2, 0);
  enum { N = 20000 };
  uint64_t *vals = malloc(N * sizeof *vals);
  ft_slice *items = malloc(N * sizeof *items);
  for (size_t i = 0; i < N; i++) {
    vals[i] = i;
    items[i] = (ft_slice){&vals[i], 8};
  }
  ft_result *r;
  assert_int_equal(ft_pool_map(p, mixed, items, N, 3000, &r), FT_ETASK);
  assert_int_equal(ft_result_failed(r), N / 4);
  for (size_t i = 0; i < N; i++) {
    ft_item it;
    assert_int_equal(ft_result_item(r, i, &it), 0);
    if (i % 4 == 0) {
      assert_int_equal(it.status, FT_ETASK);
      assert_int_equal(it.code, 4);
      assert_int_equal(it.value.len, 9);
      assert_memory_equal(it.value.ptr, "no, this.", 9);
      continue;
    }
    assert_int_equal(it.status, 0);
    assert_int_equal(it.code, 0);
    assert_int_equal(it.value.len, i % 4 * 6 - 6);
    for (size_t k = 0; k < it.value.len; k++)
      assert_int_equal(((const char *)it.value.ptr)[k], (char)i);
  }
  ft_pool_stats st;
  ft_pool_stats_get(p, &st);
  assert_int_equal(st.tasks_done, N - N / 4);
  assert_int_equal(st.tasks_failed, N / 4);
  ft_result_free(r);
  free(vals);
  free(items);
  close_join_free(p);
}

/* join before close is an error, as in Python; so is submitting after close. */
static void test_join_before_close(void **state) {
  ft_test *t = *state;
  ft_pool *p = new_pool(t, 1, 0);
  assert_int_equal(ft_pool_join(p, 1), FT_ERUNNING);
  assert_string_equal(ft_err_name(FT_ERUNNING), "FT_ERUNNING");
  assert_non_null(strstr(ft_strerror(FT_ERUNNING), "still running"));
  assert_int_equal(ft_pool_close(p), 0);
  uint64_t v = 1;
  ft_result *r;
  assert_int_equal(ft_pool_apply_async(p, square, (ft_slice){&v, 8}, NULL, NULL, NULL, &r),
                   FT_ENOTRUNNING);
  assert_null(r);
  assert_int_equal(ft_pool_join(p, 10), 0);
  ft_pool_free(p);
}

/* imap yields in order; imap_unordered yields each index once. */
static void test_imap(void **state) {
  ft_test *t = *state;
  ft_pool *p = new_pool(t, 2, 0);
  enum { N = 64 };
  uint64_t vals[N];
  ft_slice items[N];
  for (int i = 0; i < N; i++) {
    vals[i] = (uint64_t)i;
    items[i] = (ft_slice){&vals[i], 8};
  }
  ft_iter *it;
  assert_int_equal(ft_pool_imap(p, square, items, N, 0, &it), 0);
  size_t idx;
  ft_item item;
  for (size_t i = 0; i < N; i++) {
    assert_int_equal(ft_iter_next(it, 10, &idx, &item), 0);
    assert_int_equal(idx, i);
    assert_int_equal(get_u64(item.value), i * i);
  }
  assert_int_equal(ft_iter_next(it, 10, &idx, &item), FT_EOF);
  ft_iter_free(it);

  assert_int_equal(ft_pool_imap_unordered(p, square, items, N, 4, &it), 0);
  bool seen[N] = {false};
  for (size_t i = 0; i < N; i++) {
    assert_int_equal(ft_iter_next(it, 10, &idx, &item), 0);
    assert_false(seen[idx]);
    seen[idx] = true;
    assert_int_equal(get_u64(item.value), idx * idx);
  }
  assert_int_equal(ft_iter_next(it, 10, &idx, &item), FT_EOF);
  ft_iter_free(it);
  close_join_free(p);
}

/* A source of the numbers 0 .. n-1 (then fail_with, when not 0), counting
 * what it gave; the window bounds how far it may run ahead of the consumer. */
typedef struct isource {
  uint64_t next, n, val;
  int fail_with;
  bool later; /* isource_slow: this call says -EAGAIN */
} isource;

static int isource_next(void *ud, ft_slice *item) {
  isource *c = ud;
  if (c->next == c->n)
    return c->fail_with ? c->fail_with : 0;
  c->val = c->next++;
  *item = (ft_slice){&c->val, sizeof c->val};
  return 1;
}

/* Streamed imap: in order, pulled lazily (never more than the window ahead
 * of what was taken), then FT_EOF; unordered: each index once. */
static void test_imap_stream(void **state) {
  ft_test *t = *state;
  ft_pool *p = new_pool(t, 2, 0);
  enum { N = 100000, AHEAD = 5 * 4096 }; /* the window: four batches, and one being pulled */
  isource c = {.n = N};
  ft_iter *it;
  assert_int_equal(ft_pool_imap_stream(p, square, isource_next, &c, 0, &it), 0);
  assert_true(c.next > 0 && c.next <= AHEAD); /* the first batches start at once */
  size_t idx;
  ft_item item;
  for (size_t i = 0; i < N; i++) {
    assert_int_equal(ft_iter_next(it, 10, &idx, &item), 0);
    assert_int_equal(idx, i);
    assert_int_equal(item.status, 0);
    assert_int_equal(get_u64(item.value), i * i);
    assert_true(c.next <= i + 1 + AHEAD);
  }
  assert_int_equal(ft_iter_next(it, 10, &idx, &item), FT_EOF);
  assert_int_equal(ft_iter_next(it, 10, &idx, &item), FT_EOF);
  ft_iter_free(it);

  c = (isource){.n = N};
  assert_int_equal(ft_pool_imap_unordered_stream(p, square, isource_next, &c, 3, &it), 0);
  bool *seen = calloc(N, sizeof *seen);
  assert_non_null(seen);
  for (size_t i = 0; i < N; i++) {
    assert_int_equal(ft_iter_next(it, 10, &idx, &item), 0);
    assert_true(idx < N);
    assert_false(seen[idx]);
    seen[idx] = true;
    assert_int_equal(get_u64(item.value), idx * idx);
    assert_true(c.next <= i + 1 + AHEAD);
  }
  assert_int_equal(ft_iter_next(it, 10, &idx, &item), FT_EOF);
  ft_iter_free(it);
  free(seen);
  ft_pool_stats st;
  ft_pool_stats_get(p, &st);
  assert_int_equal(st.tasks_done, 2 * N);
  close_join_free(p);
}

/* Every other call, nothing yet (-EAGAIN, a slow pipe): then the next number. */
static int isource_slow(void *ud, ft_slice *item) {
  isource *c = ud;
  c->later = !c->later;
  return c->later ? -EAGAIN : isource_next(ud, item);
}

/* A source with nothing yet: what it gave runs as a smaller batch, and it is
 * asked again; every item comes once, in order. */
static void test_imap_stream_eagain(void **state) {
  ft_test *t = *state;
  ft_pool *p = new_pool(t, 2, 0);
  isource c = {.n = 300};
  ft_iter *it;
  assert_int_equal(ft_pool_imap_stream(p, square, isource_slow, &c, 0, &it), 0);
  size_t idx;
  ft_item item;
  for (size_t i = 0; i < 300; i++) {
    assert_int_equal(ft_iter_next(it, 10, &idx, &item), 0);
    assert_int_equal(idx, i);
    assert_int_equal(get_u64(item.value), i * i);
  }
  assert_int_equal(ft_iter_next(it, 10, &idx, &item), FT_EOF);
  ft_iter_free(it);
  close_join_free(p);
}

/* A source's error comes after the items before it; close while a stream
 * still pulls lets it finish, and join waits for it; a stream freed half
 * way stops pulling and keeps no close waiting; terminate ends a stream. */
static void test_imap_stream_ends(void **state) {
  ft_test *t = *state;
  ft_pool *p = new_pool(t, 2, 0);
  size_t idx;
  ft_item item;
  ft_iter *it;
  isource c = {.n = 10, .fail_with = -EIO};
  assert_int_equal(ft_pool_imap_stream(p, square, isource_next, &c, 0, &it), 0);
  for (size_t i = 0; i < 10; i++) {
    assert_int_equal(ft_iter_next(it, 10, &idx, &item), 0);
    assert_int_equal(idx, i);
  }
  assert_int_equal(ft_iter_next(it, 10, &idx, &item), -EIO);
  assert_int_equal(ft_iter_next(it, 10, &idx, &item), FT_EOF);
  ft_iter_free(it);

  /* close after the stream began: its later batches still go */
  c = (isource){.n = 30000};
  assert_int_equal(ft_pool_imap_unordered_stream(p, square, isource_next, &c, 0, &it), 0);
  assert_int_equal(ft_pool_close(p), 0);
  assert_int_equal(ft_pool_join(p, 0.05), FT_ETIMEDOUT); /* waits for the stream */
  size_t got = 0;
  while (ft_iter_next(it, 10, &idx, &item) == 0)
    got++;
  assert_int_equal(got, 30000);
  assert_int_equal(ft_pool_join(p, 30), 0);
  ft_iter_free(it);
  ft_pool_free(p);

  /* freed half way: close and join do not wait for the rest */
  p = new_pool(t, 2, 0);
  c = (isource){.n = 1000000};
  assert_int_equal(ft_pool_imap_stream(p, square, isource_next, &c, 0, &it), 0);
  for (size_t i = 0; i < 5000; i++)
    assert_int_equal(ft_iter_next(it, 10, &idx, &item), 0);
  ft_iter_free(it);
  assert_true(c.next < 100000);
  close_join_free(p);

  /* terminate: what was pulled fails as cancelled (or ran), then the end */
  p = new_pool(t, 2, 0);
  c = (isource){.n = 1000000};
  assert_int_equal(ft_pool_imap_stream(p, sleep_ms_u64, isource_next, &c, 0, &it), 0);
  assert_int_equal(ft_iter_next(it, 10, &idx, &item), 0);
  assert_int_equal(ft_pool_terminate(p), 0);
  uint64_t pulled = c.next;
  size_t n = 1, cancelled = 0;
  int rc;
  while ((rc = ft_iter_next(it, 10, &idx, &item)) == 0) {
    n++;
    cancelled += item.status == FT_ECANCELED;
  }
  assert_int_equal(rc, FT_EOF);
  assert_int_equal(n, pulled);
  assert_true(cancelled > 0);
  assert_int_equal(c.next, pulled); /* nothing more was pulled */
  assert_int_equal(ft_pool_join(p, 30), 0);
  ft_iter_free(it);
  ft_pool_free(p);
}

/* terminate: running and queued tasks are canceled, workers get SIGTERM. */
static void test_terminate(void **state) {
  ft_test *t = *state;
  ft_pool *p = new_pool(t, 2, 0);
  uint32_t ms = 20000;
  ft_result *rs[5];
  for (int i = 0; i < 5; i++)
    assert_int_equal(ft_pool_apply_async(p, sleep_ms, (ft_slice){&ms, 4}, NULL, NULL, NULL, &rs[i]),
                     0);
  /* let two of them start */
  uint64_t end = ft_now_ns() + 5000000000ull;
  while (ft_test_count(t, FT_EV_TASK_START, 0) < 2 && ft_now_ns() < end)
    ft_loop_run(t->loop, FT_RUN_ONCE);
  assert_int_equal(ft_pool_terminate(p), 0);
  for (int i = 0; i < 5; i++) {
    ft_item it;
    assert_int_equal(ft_result_get(rs[i], 1, &it), FT_ECANCELED);
    ft_result_free(rs[i]);
  }
  uint64_t t0 = ft_now_ns();
  assert_int_equal(ft_pool_join(p, 10), 0);
  assert_true(ft_now_ns() - t0 < 5000000000ull);
  for (size_t i = 0; i < 2; i++) {
    const ft_rec_event *ex = ft_test_find(t, FT_EV_EXIT, 0, i);
    assert_non_null(ex);
    assert_int_equal(ex->ev.u.exit.signal, SIGTERM);
  }
  ft_pool_free(p);
}

static int big_result(void *ctx, ft_slice arg, ft_buf *out) {
  (void)ctx;
  size_t n = (size_t)get_u64(arg);
  char *b = malloc(n);
  memset(b, 'z', n);
  int rc = ft_buf_append(out, b, n);
  free(b);
  return rc;
}

/* A result that cannot fit the ring fails with FT_E2BIG; big ones that fit arrive whole. */
static void test_result_sizes(void **state) {
  ft_test *t = *state;
  ft_pool *p;
  ft_pool_opts o = {.workers = 2, .result_ring_bytes = 8192};
  assert_int_equal(ft_pool_new(t->loop, &o, &p), 0);
  uint64_t sizes[4] = {100, 3000, 3500, 5000};
  ft_slice items[4];
  for (int i = 0; i < 4; i++)
    items[i] = (ft_slice){&sizes[i], 8};
  ft_result *r;
  assert_int_equal(ft_pool_map(p, big_result, items, 4, 4, &r), FT_E2BIG);
  ft_item it;
  for (int i = 0; i < 3; i++) {
    assert_int_equal(ft_result_item(r, (size_t)i, &it), 0);
    assert_int_equal(it.status, 0);
    assert_int_equal(it.value.len, sizes[i]);
    assert_int_equal(((const char *)it.value.ptr)[sizes[i] - 1], 'z');
  }
  assert_int_equal(ft_result_item(r, 3, &it), 0);
  assert_int_equal(it.status, FT_E2BIG);
  ft_result_free(r);
  close_join_free(p);
}

/* Results bigger than the ring's starting window (64 KiB: the pool's
 * 4 MiB of windows shared by 40 workers) arrive whole, small ones around
 * them too; one over half the ring fails alone. */
static void test_big_results_grow_the_ring(void **state) {
  ft_test *t = *state;
  ft_pool *p = new_pool(t, 40, 0);
  uint64_t sizes[7] = {10, 40000, 10, 100000, 131072, 20, 60000};
  ft_slice items[7];
  for (int i = 0; i < 7; i++)
    items[i] = (ft_slice){&sizes[i], 8};
  ft_result *r;
  assert_int_equal(ft_pool_map(p, big_result, items, 7, 2, &r), FT_E2BIG);
  for (size_t i = 0; i < 7; i++) {
    ft_item it;
    assert_int_equal(ft_result_item(r, i, &it), 0);
    if (i == 4) {
      assert_int_equal(it.status, FT_E2BIG);
      continue;
    }
    assert_int_equal(it.status, 0);
    assert_int_equal(it.value.len, sizes[i]);
    const char *v = it.value.ptr;
    assert_true(v[0] == 'z' && v[sizes[i] - 1] == 'z');
  }
  ft_result_free(r);
  close_join_free(p);
}

/* This process's fds above 2: the pipes' inodes (set, n), and how many are
 * pidfds or epoll instances (returned). */
static int fd_scan(uint64_t *pipes, size_t *n, size_t cap) {
  int anon = 0;
  *n = 0;
  DIR *d = opendir("/proc/self/fd");
  if (!d)
    return -1;
  for (struct dirent *e; (e = readdir(d));) {
    int fd = atoi(e->d_name);
    char path[64], target[128];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    ssize_t len = fd < 3 || fd == dirfd(d) ? -1 : readlink(path, target, sizeof target - 1);
    if (len < 0)
      continue;
    target[len] = '\0';
    if (!strncmp(target, "pipe:[", 6) && *n < cap)
      pipes[(*n)++] = strtoull(target + 6, NULL, 10);
    anon += strstr(target, "pidfd") || strstr(target, "eventpoll");
  }
  closedir(d);
  return anon;
}

/* A worker's view: [pidfds and epolls, then the inode of every pipe it holds]. */
static int foreign_fds(void *ctx, ft_slice arg, ft_buf *out) {
  (void)ctx;
  (void)arg;
  uint64_t v[65];
  size_t n;
  int anon = fd_scan(v + 1, &n, 64);
  if (anon < 0)
    return 1;
  v[0] = (uint64_t)anon;
  return ft_buf_append(out, v, (n + 1) * sizeof *v);
}

/* Workers forked together hold none of each other's pipes (a sibling's
 * stdout would never reach EOF), nor the parent's pidfds or epoll.  Pipes
 * the test process had before the pool (inherited from whoever ran it) may
 * be held: they are not the loop's. */
static void test_workers_hold_no_foreign_fds(void **state) {
  ft_test *t = *state;
  uint64_t before[64], after[64];
  size_t nbefore, nafter;
  assert_true(fd_scan(before, &nbefore, 64) >= 0);
  ft_pool *p = new_pool(t, 4, 0);
  assert_true(fd_scan(after, &nafter, 64) >= 0);
  assert_true(nafter >= nbefore + 8); /* stdout and stderr of 4 workers */
  ft_slice items[8] = {{0}};
  ft_result *r;
  assert_int_equal(ft_pool_map(p, foreign_fds, items, 8, 1, &r), 0);
  for (size_t i = 0; i < 8; i++) {
    ft_item it;
    assert_int_equal(ft_result_item(r, i, &it), 0);
    const uint64_t *v = it.value.ptr;
    assert_int_equal(v[0], 0);
    for (size_t k = 1; k < it.value.len / sizeof *v; k++)
      for (size_t a = 0; a < nafter; a++) {
        bool pools = true; /* a pipe made with the pool */
        for (size_t b = 0; b < nbefore; b++)
          pools &= before[b] != after[a];
        assert_false(pools && v[k] == after[a]);
      }
  }
  ft_result_free(r);
  close_join_free(p);
}

/* Print this worker's pid on stdout and on stderr. */
static int say_pid(void *ctx, ft_slice arg, ft_buf *out) {
  (void)ctx;
  (void)arg;
  (void)out;
  printf("out %d\n", (int)getpid());
  fflush(stdout);
  fprintf(stderr, "err %d\n", (int)getpid());
  return 0;
}

/* Each worker of a pool forked in one batch makes its own captured pipes
 * and sends our ends home (ft__spawn_batch): every line comes back, as an
 * output event of the worker that printed it, on its stream. */
static void test_worker_output_is_its_own(void **state) {
  ft_test *t = *state;
  enum { W = 24, N = 96 };
  ft_test_clear(t);
  ft_pool *p = new_pool(t, W, 0);
  assert_int_equal((int)ft_test_count(t, FT_EV_SPAWN, 0), W);
  ft_slice items[N] = {{0}};
  ft_result *r;
  assert_int_equal(ft_pool_map(p, say_pid, items, N, 1, &r), 0);
  ft_result_free(r);
  close_join_free(p);
  size_t lines[3] = {0};
  for (size_t i = 0; i < t->nevs; i++) {
    const ft_rec_event *e = &t->evs[i];
    if (e->ev.kind != FT_EV_OUTPUT)
      continue;
    char want[64];
    int stream = e->ev.u.output.stream;
    assert_true(stream == 1 || stream == 2);
    snprintf(want, sizeof want, "%s %d", stream == 1 ? "out" : "err", (int)e->ev.pid);
    assert_string_equal(e->line, want);
    assert_int_equal((int)ft_test_count(t, FT_EV_SPAWN, e->ev.pid), 1);
    lines[stream]++;
  }
  assert_int_equal((int)lines[1], N);
  assert_int_equal((int)lines[2], N);
}

/* The length and a checksum of the argument. */
static int arg_digest(void *ctx, ft_slice arg, ft_buf *out) {
  (void)ctx;
  uint64_t d[2] = {arg.len, 0};
  for (size_t i = 0; i < arg.len; i++)
    d[1] = d[1] * 31 + ((const unsigned char *)arg.ptr)[i];
  return ft_buf_append(out, d, sizeof d);
}

/* Arguments of every size up to the arena reach the task whole, small ones
 * before and after big ones (the arena's window grows for them, while
 * other chunks are in flight); one bigger than the arena fails alone. */
static void test_argument_sizes(void **state) {
  ft_test *t = *state;
  ft_pool *p = new_pool(t, 2, 0);
  enum { N = 60 };
  size_t sizes[N];
  for (size_t i = 0; i < N; i++)
    sizes[i] = 8 + i % 5;
  sizes[20] = 40u << 10;      /* over a quarter of the 128 KiB window */
  sizes[21] = 200u << 10;     /* over the window */
  sizes[30] = (1u << 20) - 8; /* the whole 1 MiB arena, with its header */
  sizes[40] = (1u << 20) + 1; /* too big */
  sizes[41] = 100u << 10;
  ft_slice items[N];
  for (size_t i = 0; i < N; i++) {
    unsigned char *b = malloc(sizes[i]);
    assert_non_null(b);
    for (size_t k = 0; k < sizes[i]; k++)
      b[k] = (unsigned char)(k * 7 + i);
    items[i] = (ft_slice){b, sizes[i]};
  }
  ft_result *r;
  assert_int_equal(ft_pool_map(p, arg_digest, items, N, 3, &r), FT_E2BIG);
  for (size_t i = 0; i < N; i++) {
    ft_item it;
    assert_int_equal(ft_result_item(r, i, &it), 0);
    if (i == 40) {
      assert_int_equal(it.status, FT_E2BIG);
      continue;
    }
    assert_int_equal(it.status, 0);
    uint64_t want[2];
    ft_buf b = {0};
    assert_int_equal(arg_digest(NULL, items[i], &b), 0);
    memcpy(want, b.data, sizeof want);
    ft_buf_free(&b);
    assert_int_equal(it.value.len, sizeof want);
    assert_memory_equal(it.value.ptr, want, sizeof want);
  }
  ft_result_free(r);
  for (size_t i = 0; i < N; i++)
    free((void *)items[i].ptr);
  close_join_free(p);
}

static int init_fails(void *arg) {
  (void)arg;
  return 3;
}

/* Workers that cannot start fail the work instead of hanging. */
static void test_initializer_failure_does_not_hang(void **state) {
  ft_test *t = *state;
  ft_pool *p;
  ft_pool_opts o = {.workers = 1, .initializer = init_fails};
  assert_int_equal(ft_pool_new(t->loop, &o, &p), 0);
  uint64_t v = 2;
  ft_result *r;
  assert_int_equal(ft_pool_apply_async(p, square, (ft_slice){&v, 8}, NULL, NULL, NULL, &r), 0);
  ft_item it;
  assert_int_equal(ft_result_get(r, 20, &it), FT_EWORKER);
  assert_int_equal(it.code, 3);
  ft_result_free(r);
  ft_pool_terminate(p);
  assert_int_equal(ft_pool_join(p, 10), 0);
  ft_pool_free(p);
}

/* A worker killed while idle is replaced. */
static void test_idle_worker_killed_is_replaced(void **state) {
  ft_test *t = *state;
  ft_pool *p = new_pool(t, 2, 0);
  pid_t victim = ft_pool_worker_pid(p, 0);
  assert_true(victim > 0);
  kill(victim, SIGKILL);
  uint64_t end = ft_now_ns() + 5000000000ull;
  while (ft_test_count(t, FT_EV_WORKER_REPLACED, 0) < 1 && ft_now_ns() < end)
    ft_loop_run(t->loop, FT_RUN_ONCE);
  const ft_rec_event *rep = ft_test_find(t, FT_EV_WORKER_REPLACED, 0, 0);
  assert_non_null(rep);
  assert_int_equal(rep->ev.u.replaced.old_pid, victim);
  assert_int_equal(rep->ev.u.replaced.reason, FT_REPLACE_DIED);
  assert_int_equal(ft_pool_worker_pid(p, 0), rep->ev.u.replaced.new_pid);
  close_join_free(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      FT_TEST(test_pool35_apply_async_random_sleeps),
      FT_TEST(test_map_and_map_async_in_order),
      FT_TEST(test_big_maps_reuse_buffers),
      FT_TEST(test_starmap),
      FT_TEST(test_ctx_reaches_tasks),
      FT_TEST(test_workers_hold_no_foreign_fds),
      FT_TEST(test_worker_output_is_its_own),
      FT_TEST(test_argument_sizes),
      FT_TEST(test_chunksize_dispatches),
      FT_TEST(test_maxtasksperchild),
      FT_TEST(test_worker_killed_mid_task),
      FT_TEST(test_worker_killed_mid_chunk_requeues_the_rest),
      FT_TEST(test_worker_killed_mid_chunk_requeues_the_rest_async),
      FT_TEST(test_task_returns_error),
      FT_TEST(test_join_before_close),
      FT_TEST(test_imap),
      FT_TEST(test_imap_stream),
      FT_TEST(test_imap_stream_ends),
      FT_TEST(test_imap_stream_eagain),
      FT_TEST(test_terminate),
      FT_TEST(test_result_sizes),
      FT_TEST(test_big_results_grow_the_ring),
      FT_TEST(test_initializer_failure_does_not_hang),
      FT_TEST(test_idle_worker_killed_is_replaced),
      FT_TEST(test_mixed_outcomes),
      /* Again with nobody listening: results come back packed. */
      FT_TEST_UNHEARD(test_mixed_outcomes),
      FT_TEST_UNHEARD(test_map_and_map_async_in_order),
      FT_TEST_UNHEARD(test_big_maps_reuse_buffers),
      FT_TEST_UNHEARD(test_starmap),
      FT_TEST_UNHEARD(test_argument_sizes),
      FT_TEST_UNHEARD(test_maxtasksperchild),
      FT_TEST_UNHEARD(test_worker_killed_mid_task),
      FT_TEST_UNHEARD(test_worker_killed_mid_chunk_requeues_the_rest),
      FT_TEST_UNHEARD(test_worker_killed_mid_chunk_requeues_the_rest_async),
      FT_TEST_UNHEARD(test_task_returns_error),
      FT_TEST_UNHEARD(test_imap),
      FT_TEST_UNHEARD(test_result_sizes),
      FT_TEST_UNHEARD(test_big_results_grow_the_ring),
  };
  return FT_TEST_RUN(tests, 110);
}
