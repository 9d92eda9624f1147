/* test_pool_split.c - a pool's workers forked on two CPUs: the batch's
 * first worker forks the second half as our children (CLONE_PARENT).
 * Every worker must be ours, known and told once; a robust mutex a
 * sibling dies holding must be marked dead as after any fork; and the
 * forker dying at any point must leave neither an unknown child nor a
 * worker forked twice. */
#include "ft_test.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "ft_spawn.h"

#define N 35

static int my_pid(void *ctx, ft_slice arg, ft_buf *out) {
  (void)ctx;
  (void)arg;
  struct timespec ts = {0, 2000000L};
  nanosleep(&ts, NULL);
  return put_u64(out, (uint64_t)getpid());
}

/* Our children now, zombies left out: their pids into out (at most cap). */
static int live_children(pid_t *out, int cap) {
  DIR *d = opendir("/proc");
  assert_non_null(d);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    char path[300], buf[512];
    if (e->d_name[0] < '0' || e->d_name[0] > '9')
      continue;
    snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
    FILE *f = fopen(path, "r");
    if (!f)
      continue;
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[len] = '\0';
    const char *rp = strrchr(buf, ')');
    char state;
    int ppid;
    if (!rp || sscanf(rp + 1, " %c %d", &state, &ppid) != 2 || ppid != getpid() || state == 'Z')
      continue;
    if (n < cap)
      out[n] = atoi(e->d_name);
    n++;
  }
  closedir(d);
  return n;
}

/* Every live child of ours is one of p's workers, each worker once. */
static void assert_children_are_the_workers(ft_pool *p) {
  pid_t kids[4 * N];
  int nk = live_children(kids, 4 * N);
  ft_pool_stats st;
  ft_pool_stats_get(p, &st);
  assert_int_equal(nk, st.alive);
  for (int k = 0; k < nk; k++) {
    int found = 0;
    for (int i = 0; i < N; i++)
      found += ft_pool_worker_pid(p, i) == kids[k];
    if (found != 1)
      fail_msg("child %d is %s", (int)kids[k], found ? "two workers" : "no worker of the pool");
  }
}

/* Each task's result is the pid of a worker the pool knows. */
static void assert_work_runs_on_known_workers(ft_pool *p) {
  uint64_t vals[2 * N];
  ft_slice items[2 * N];
  for (int i = 0; i < 2 * N; i++) {
    vals[i] = (uint64_t)i;
    items[i] = (ft_slice){&vals[i], sizeof vals[i]};
  }
  ft_result *r;
  assert_int_equal(ft_pool_map(p, my_pid, items, 2 * N, 1, &r), 0);
  for (int i = 0; i < 2 * N; i++) {
    ft_item it;
    assert_int_equal(ft_result_item(r, (size_t)i, &it), 0);
    pid_t pid = (pid_t)get_u64(it.value);
    int found = 0;
    for (int w = 0; w < N; w++)
      found += ft_pool_worker_pid(p, w) == pid;
    assert_int_equal(found, 1);
  }
  ft_result_free(r);
}

/* Pool(35), eight times: 35 workers, all our children, each spawned once
 * in the events, all doing work. */
static void test_split_workers_are_ours_and_told_once(void **state) {
  ft_test *t = *state;
  for (int round = 0; round < 8; round++) {
    ft_test_clear(t);
    ft_pool *p;
    ft_pool_opts o = {.workers = N};
    assert_int_equal(ft_pool_new(t->loop, &o, &p), 0);
    for (int i = 0; i < N; i++) {
      pid_t pid = ft_pool_worker_pid(p, i);
      assert_true(pid > 0);
      assert_int_equal(ft_test_count(t, FT_EV_SPAWN, pid), 1);
    }
    assert_int_equal(ft_test_count(t, FT_EV_SPAWN, 0), N);
    assert_children_are_the_workers(p);
    assert_work_runs_on_known_workers(p);
    close_join_free(p);
  }
}

/* Shared with the workers: one robust mutex each, and a count of holders. */
typedef struct robust {
  pthread_mutex_t m[16];
  atomic_int held;
} robust;

static robust *rb;

/* Lock mutex i, wait until all 16 are held (so that every worker holds
 * one, half of them forked by the first), and die holding it. */
static int lock_and_die(void *ctx, ft_slice arg, ft_buf *out) {
  (void)ctx;
  (void)out;
  uint64_t i = get_u64(arg);
  pthread_mutex_lock(&rb->m[i]);
  atomic_fetch_add(&rb->held, 1);
  for (int k = 0; k < 10000 && atomic_load(&rb->held) < 16; k++)
    usleep(1000);
  _exit(0);
}

/* A robust mutex a worker dies holding is marked dead (EOWNERDEAD) for
 * every worker, the forker's siblings too: without their tid and robust
 * list set up by hand after clone3, it would stay locked for good. */
static void test_split_siblings_robust_mutexes_die_with_them(void **state) {
  ft_test *t = *state;
  rb = mmap(NULL, sizeof *rb, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  assert_true(rb != MAP_FAILED);
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
  for (int i = 0; i < 16; i++)
    pthread_mutex_init(&rb->m[i], &a);
  pthread_mutexattr_destroy(&a);
  ft_pool *p;
  ft_pool_opts o = {.workers = 16};
  assert_int_equal(ft_pool_new(t->loop, &o, &p), 0);
  uint64_t vals[16];
  ft_slice items[16];
  for (int i = 0; i < 16; i++) {
    vals[i] = (uint64_t)i;
    items[i] = (ft_slice){&vals[i], sizeof vals[i]};
  }
  ft_result *r;
  assert_int_not_equal(ft_pool_map(p, lock_and_die, items, 16, 1, &r), 0);
  ft_result_free(r);
  assert_int_equal(atomic_load(&rb->held), 16);
  for (int i = 0; i < 16; i++) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 2;
    int rc = pthread_mutex_timedlock(&rb->m[i], &until);
    if (rc != EOWNERDEAD)
      fail_msg("mutex %d: %s, not EOWNERDEAD", i, strerror(rc));
    pthread_mutex_consistent(&rb->m[i]);
    pthread_mutex_unlock(&rb->m[i]);
    pthread_mutex_destroy(&rb->m[i]);
  }
  close_join_free(p);
  munmap(rb, sizeof *rb);
}

/* The forker killed after forking none, some, or all of its siblings
 * (before saying it is done): the siblings it forked are the pool's, the
 * rest are forked by us, none twice, no child unknown; the pool works
 * and replaces the forker. */
static void test_split_forker_killed_at_any_point(void **state) {
  ft_test *t = *state;
  int points[] = {0, 1, 5, 16, 17};
  for (size_t k = 0; k < sizeof points / sizeof points[0]; k++) {
    ft_test_clear(t);
    ft__split_test_die_after = points[k];
    ft_pool *p;
    ft_pool_opts o = {.workers = N};
    int rc = ft_pool_new(t->loop, &o, &p);
    ft__split_test_die_after = -1;
    assert_int_equal(rc, 0);
    ft_pool_stats st;
    FT_TEST_UNTIL(t->loop, (ft_pool_stats_get(p, &st), st.workers_replaced >= 1 && st.alive == N));
    assert_int_equal(st.workers_started, N + 1);
    assert_children_are_the_workers(p);
    assert_work_runs_on_known_workers(p);
    close_join_free(p);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      FT_TEST(test_split_workers_are_ours_and_told_once),
      FT_TEST(test_split_siblings_robust_mutexes_die_with_them),
      FT_TEST(test_split_forker_killed_at_any_point),
  };
  return FT_TEST_RUN(tests, 120);
}
