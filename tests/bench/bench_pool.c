/* bench_pool.c - the pool and process cases of the benchmark table; the
 * same cases in Python are in bench_pool.py (run both with tests/bench/run). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "forktop.h"
#include "ui_stats.h"

static void die(const char *what, int rc) {
  fprintf(stderr, "bench_pool: %s: %s\n", what, ft_strerror(rc));
  exit(1);
}

static int trivial(void *ctx, ft_slice arg, ft_buf *out) {
  (void)ctx;
  return ft_buf_append(out, arg.ptr, arg.len);
}

static int nothing(void *arg) {
  (void)arg;
  return 0;
}

static void *bench_alloc(size_t len) {
  void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    die("mmap", -errno);
  return p;
}

static double secs(uint64_t ns) { return (double)ns / 1e9; }

/* n trivial tasks through map with the given chunksize; tasks per second. */
static double map_rate(ft_loop *loop, size_t n, size_t chunksize) {
  ft_pool *p;
  ft_pool_opts o = {.workers = 2};
  int rc = ft_pool_new(loop, &o, &p);
  if (rc)
    die("pool", rc);
  /* The harness's own arrays are mapped and unmapped, not malloc'd: freed
   * malloc memory of this size stays in the heap, and every later fork
   * (the Process and Pool(35) cases, the bare-fork floor) would copy and
   * tear down its page tables, measuring the harness instead of forktop. */
  uint64_t *vals = bench_alloc(n * sizeof *vals);
  ft_slice *items = bench_alloc(n * sizeof *items);
  for (size_t i = 0; i < n; i++) {
    vals[i] = i;
    items[i] = (ft_slice){&vals[i], sizeof vals[i]};
  }
  ft_result *r;
  uint64_t t0 = ft_now_ns();
  if ((rc = ft_pool_map(p, trivial, items, n, chunksize, &r)))
    die("map", rc);
  uint64_t dt = ft_now_ns() - t0;
  ft_item it;
  ft_result_item(r, n - 1, &it);
  if (memcmp(it.value.ptr, &vals[n - 1], 8))
    die("map result", FT_EINVAL);
  ft_result_free(r);
  ft_pool_close(p);
  ft_pool_join(p, -1);
  ft_pool_free(p);
  munmap(vals, n * sizeof *vals);
  munmap(items, n * sizeof *items);
  return (double)n / secs(dt);
}

int main(void) {
  ft_loop *loop;
  int rc = ft_loop_new(&loop);
  if (rc)
    die("loop", rc);
  const size_t n = 200000;

  printf("case=pool_map_chunksize1 value=%.0f unit=tasks/s better=higher desc=200k trivial tasks, "
         "map, chunksize 1, 2 workers\n",
         map_rate(loop, n, 1));
  /* The best of a few chunk sizes, the automatic one included, each the
   * median of three maps (one map is 2-4 ms here: one alone moved by a
   * third from run to run; the anchor takes the median of three too). */
  double best = 0;
  size_t sizes[] = {0, 1000, 5000};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    double r[3];
    for (int k = 0; k < 3; k++)
      r[k] = map_rate(loop, n, sizes[i]);
    double m = ui_stats_median(r, 3);
    best = m > best ? m : best;
  }
  printf("case=pool_map_best_chunksize value=%.0f unit=tasks/s better=higher desc=200k trivial "
         "tasks, map, best chunksize, 2 workers\n",
         best);

  /* Process start + join, 100 in a row. */
  uint64_t t0 = ft_now_ns();
  for (int i = 0; i < 100; i++) {
    ft_process *p;
    ft_process_opts o = {.target = nothing};
    if ((rc = ft_process_new(loop, &o, &p)) || (rc = ft_process_start(p)) ||
        (rc = ft_process_join(p, -1)))
      die("process", rc);
    ft_process_free(p);
  }
  printf("case=process_start_join value=%.3f unit=ms better=lower desc=Process start + join, "
         "each of 100 in a row\n",
         secs(ft_now_ns() - t0) * 1000 / 100);

  /* The floor: bare fork + _exit + waitpid. */
  t0 = ft_now_ns();
  for (int i = 0; i < 100; i++) {
    pid_t pid = fork();
    if (pid == 0)
      _exit(0);
    waitpid(pid, NULL, 0);
  }
  printf("case=bare_fork_exit_wait value=%.3f unit=ms better=lower desc=bare fork + _exit + "
         "waitpid (the floor for the line above)\n",
         secs(ft_now_ns() - t0) * 1000 / 100);

  /* Pool(35): create + close + join, the median of five in a row (one
   * alone moved by a third from run to run; the anchor does the same). */
  double life[5];
  for (int k = 0; k < 5; k++) {
    t0 = ft_now_ns();
    ft_pool *p;
    ft_pool_opts o = {.workers = 35};
    if ((rc = ft_pool_new(loop, &o, &p)))
      die("pool35", rc);
    ft_pool_close(p);
    ft_pool_join(p, -1);
    ft_pool_free(p);
    life[k] = secs(ft_now_ns() - t0) * 1000;
  }
  printf("case=pool35_lifecycle value=%.3f unit=ms better=lower desc=Pool(35) create + close + "
         "join, median of 5\n",
         ui_stats_median(life, 5));
  ft_loop_free(loop);
  return 0;
}
