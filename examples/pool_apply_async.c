/* pool_apply_async.c - the seed's Pool example: Pool(35) and 35 tasks
 * submitted with apply_async, each sleeping a while, with a callback.
 *
 * Each task gets its argument as bytes (an ft_slice) and writes its result
 * as bytes into an ft_buf; the pool copies the argument when apply_async
 * returns, so it may live on the stack.  The callback runs in the parent,
 * from the loop, as each task ends; ft_result_get waits for one result.
 *
 * Build: cc pool_apply_async.c $(pkg-config --cflags --libs forktop) -o pool_apply_async
 * Output:
 *   35 workers
 *   task 0: slept 0 ms, 0 squared is 0
 *   ...
 *   task 34: slept 80 ms, 34 squared is 1156
 *   35 callbacks, 0 error callbacks
 */
#include <forktop/forktop.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define NTASKS 35

/* Runs in a worker: sleep, then return the square of the argument.  A
 * non-zero return would fail the task (FT_ETASK) with out as its message. */
static int sleep_square(void *ctx, ft_slice arg, ft_buf *out) {
  (void)ctx; /* the pool's ft_pool_opts.ctx: unused here */
  uint32_t v;
  memcpy(&v, arg.ptr, sizeof v);
  usleep((v * 7 % 10) * 10 * 1000); /* 0 to 90 ms, like the seed's random sleeps */
  uint64_t sq = (uint64_t)v * v;
  return ft_buf_append(out, &sq, sizeof sq);
}

/* What the callbacks saw. */
typedef struct counts {
  int done, failed;
} counts;

/* Result callbacks run in the parent, from the loop, once per result:
 * callback when it succeeded, error_callback when it failed. */
static void on_done(ft_result *r, void *ud) {
  (void)r;
  ((counts *)ud)->done++;
}

static void on_error(ft_result *r, void *ud) {
  (void)r;
  ((counts *)ud)->failed++;
}

int main(void) {
  ft_loop *loop = NULL;
  ft_pool *pool = NULL;
  ft_result *res[NTASKS] = {0};
  int rc;
  counts seen = {0, 0};

  if ((rc = ft_loop_new(&loop)) < 0)
    goto fail;
  /* Pool(35): 35 workers, forked now. */
  if ((rc = ft_pool_new(loop, &(ft_pool_opts){.name = "sleepers", .workers = 35}, &pool)) < 0)
    goto fail;
  ft_pool_stats st;
  ft_pool_stats_get(pool, &st);
  printf("%d workers\n", st.alive);

  for (uint32_t i = 0; i < NTASKS; i++) {
    ft_slice arg = {&i, sizeof i}; /* copied by apply_async */
    if ((rc = ft_pool_apply_async(pool, sleep_square, arg, on_done, on_error, &seen, &res[i])) < 0)
      goto fail;
  }
  for (uint32_t i = 0; i < NTASKS; i++) {
    ft_item it; /* it.value points into res[i], valid until ft_result_free */
    if ((rc = ft_result_get(res[i], 10.0, &it)) != 0)
      goto fail;
    uint64_t sq;
    memcpy(&sq, it.value.ptr, sizeof sq);
    printf("task %u: slept %u ms, %u squared is %llu\n", i, i * 7 % 10 * 10, i,
           (unsigned long long)sq);
  }
  printf("%d callbacks, %d error callbacks\n", seen.done, seen.failed);

  /* Python's close + join: no more work, wait for the workers to exit. */
  if ((rc = ft_pool_close(pool)) < 0 || (rc = ft_pool_join(pool, 10.0)) < 0)
    goto fail;
  for (int i = 0; i < NTASKS; i++)
    ft_result_free(res[i]);
  ft_pool_free(pool);
  ft_loop_free(loop);
  return seen.done == NTASKS && seen.failed == 0 ? 0 : 1;

fail:
  fprintf(stderr, "pool_apply_async: %s\n", ft_strerror(rc));
  for (int i = 0; i < NTASKS; i++)
    ft_result_free(res[i]);
  ft_pool_free(pool);
  ft_loop_free(loop);
  return 1;
}
