/* map1000.c - map a function over 1000 items on a pool of 4 workers and
 * check every result.
 *
 * Build: cc map1000.c $(pkg-config --cflags --libs forktop) -o map1000
 *    or: find_package(forktop) and target_link_libraries(map1000 forktop::forktop)
 * Output:
 *   1000 of 1000 results correct
 */
#include <forktop/forktop.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define N 1000

/* Runs in a worker: a uint64_t in, 3 * v + 1 out. */
static int triple_plus_one(void *ctx, ft_slice arg, ft_buf *out) {
  (void)ctx; /* the pool's ft_pool_opts.ctx: unused here */
  uint64_t v;
  if (arg.len != sizeof v) {
    ft_buf_printf(out, "item of %zu bytes", arg.len); /* the error message */
    return 1;                                         /* the task failed */
  }
  memcpy(&v, arg.ptr, sizeof v);
  v = 3 * v + 1;
  return ft_buf_append(out, &v, sizeof v);
}

int main(void) {
  static uint64_t nums[N];
  static ft_slice items[N];
  ft_loop *loop = NULL;
  ft_pool *pool = NULL;
  ft_result *r = NULL;
  size_t good = 0;
  int rc;

  for (size_t i = 0; i < N; i++) {
    nums[i] = i;
    items[i] = (ft_slice){&nums[i], sizeof nums[i]}; /* read in place by map */
  }
  if ((rc = ft_loop_new(&loop)) < 0 ||
      (rc = ft_pool_new(loop, &(ft_pool_opts){.workers = 4}, &pool)) < 0)
    goto fail;
  /* 0 when every item succeeded; r is set either way */
  if ((rc = ft_pool_map(pool, triple_plus_one, items, N, 0, &r)) != 0)
    goto fail;
  for (size_t i = 0; i < N; i++) {
    ft_item it;
    uint64_t v;
    if (ft_result_item(r, i, &it) == 0 && it.status == 0 && it.value.len == sizeof v) {
      memcpy(&v, it.value.ptr, sizeof v);
      good += v == 3 * i + 1;
    }
  }
  printf("%zu of %d results correct\n", good, N);
  ft_result_free(r);
  r = NULL;
  if ((rc = ft_pool_close(pool)) < 0 || (rc = ft_pool_join(pool, 10.0)) < 0)
    goto fail;
  ft_pool_free(pool);
  ft_loop_free(loop);
  return good == N ? 0 : 1;

fail:
  fprintf(stderr, "map1000: %s\n", ft_strerror(rc));
  ft_result_free(r);
  ft_pool_free(pool);
  ft_loop_free(loop);
  return 1;
}
