/* pool_map.c - map, map with a chunksize, map_async with a callback, and
 * starmap, on one Pool(4).
 *
 * Items are ft_slices: pointer and length of each item's bytes.  map
 * reads them where they are while it waits; map_async and starmap_async
 * copy them before they return.  Every result holds each item's outcome,
 * in item order, whichever worker ran it.
 *
 * Build: cc pool_map.c $(pkg-config --cflags --libs forktop) -o pool_map
 * Output:
 *   map: 10 items, squares 0 1 4 9 16 25 36 49 64 81
 *   map, chunksize 10: 100 items in 10 chunks, sum of squares 328350
 *   map_async: callback saw 20 items, 0 failed
 *   map_async: item 19 is 361
 *   starmap: 1+2=3 3+4=7 5+6=11 7+8=15
 */
#include <forktop/forktop.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Runs in a worker: one uint64_t in, its square out. */
static int square(void *ctx, ft_slice arg, ft_buf *out) {
  (void)ctx; /* the pool's ft_pool_opts.ctx: unused here */
  uint64_t v;
  memcpy(&v, arg.ptr, sizeof v);
  v *= v;
  return ft_buf_append(out, &v, sizeof v);
}

/* Runs in a worker: a starmap item's arguments, here two int32_t. */
static int add(void *ctx, size_t argc, const ft_slice *argv, ft_buf *out) {
  (void)ctx; /* the pool's ft_pool_opts.ctx: unused here */
  int32_t a, b;
  if (argc != 2) { /* a task error: a non-zero code, the message in out */
    ft_buf_printf(out, "want 2 arguments, got %zu", argc);
    return 1;
  }
  memcpy(&a, argv[0].ptr, sizeof a);
  memcpy(&b, argv[1].ptr, sizeof b);
  int32_t sum = a + b;
  return ft_buf_append(out, &sum, sizeof sum);
}

/* The uint64_t result of item i (r must be ready). */
static uint64_t u64_at(const ft_result *r, size_t i) {
  ft_item it;
  uint64_t v = 0;
  if (ft_result_item(r, i, &it) == 0 && it.status == 0 && it.value.len == sizeof v)
    memcpy(&v, it.value.ptr, sizeof v);
  return v;
}

/* map_async's callback: runs in the parent, from the loop, once every item
 * has ended (error_callback instead when one failed). */
static void on_map_done(ft_result *r, void *ud) {
  printf("map_async: callback saw %zu items, %zu failed\n", ft_result_count(r),
         ft_result_failed(r));
  *(int *)ud = 1;
}

int main(void) {
  ft_loop *loop = NULL;
  ft_pool *pool = NULL;
  ft_result *r = NULL;
  int rc, called = 0;
  uint64_t nums[100];
  ft_slice items[100];
  for (size_t i = 0; i < 100; i++) {
    nums[i] = i;
    items[i] = (ft_slice){&nums[i], sizeof nums[i]};
  }

  if ((rc = ft_loop_new(&loop)) < 0 ||
      (rc = ft_pool_new(loop, &(ft_pool_opts){.workers = 4}, &pool)) < 0)
    goto fail;

  /* map: waits; chunksize 0 is Python's rule (n / (4 * workers), rounded up). */
  if ((rc = ft_pool_map(pool, square, items, 10, 0, &r)) < 0)
    goto fail;
  printf("map: %zu items, squares", ft_result_count(r));
  for (size_t i = 0; i < 10; i++)
    printf(" %llu", (unsigned long long)u64_at(r, i));
  printf("\n");
  ft_result_free(r);
  r = NULL;

  /* chunksize: workers take 10 items at a time. */
  ft_pool_stats before, after;
  ft_pool_stats_get(pool, &before);
  if ((rc = ft_pool_map(pool, square, items, 100, 10, &r)) < 0)
    goto fail;
  ft_pool_stats_get(pool, &after);
  uint64_t sum = 0;
  for (size_t i = 0; i < 100; i++)
    sum += u64_at(r, i);
  printf("map, chunksize 10: %zu items in %llu chunks, sum of squares %llu\n", ft_result_count(r),
         (unsigned long long)(after.dispatches - before.dispatches), (unsigned long long)sum);
  ft_result_free(r);
  r = NULL;

  /* map_async: returns at once (the items are copied); the callback runs
   * while something turns the loop, here ft_result_wait. */
  if ((rc = ft_pool_map_async(pool, square, items, 20, 0, on_map_done, on_map_done, &called, &r)) <
          0 ||
      (rc = ft_result_wait(r, 10.0)) < 0)
    goto fail;
  printf("map_async: item 19 is %llu\n", (unsigned long long)u64_at(r, 19));
  ft_result_free(r);
  r = NULL;

  /* starmap: each item is several arguments. */
  int32_t v[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  ft_slice argv[8];
  ft_args args[4];
  for (size_t i = 0; i < 8; i++)
    argv[i] = (ft_slice){&v[i], sizeof v[i]};
  for (size_t i = 0; i < 4; i++)
    args[i] = (ft_args){2, &argv[2 * i]};
  if ((rc = ft_pool_starmap(pool, add, args, 4, 0, &r)) < 0)
    goto fail;
  printf("starmap:");
  for (size_t i = 0; i < 4; i++) {
    ft_item it;
    int32_t s = 0;
    if (ft_result_item(r, i, &it) == 0 && it.status == 0)
      memcpy(&s, it.value.ptr, sizeof s);
    printf(" %d+%d=%d", v[2 * i], v[2 * i + 1], s);
  }
  printf("\n");
  ft_result_free(r);
  r = NULL;

  if ((rc = ft_pool_close(pool)) < 0 || (rc = ft_pool_join(pool, 10.0)) < 0)
    goto fail;
  ft_pool_free(pool);
  ft_loop_free(loop);
  return called ? 0 : 1;

fail:
  /* a failed map still gives its result: the first failed item says why */
  fprintf(stderr, "pool_map: %s\n", ft_strerror(rc));
  ft_result_free(r);
  ft_pool_free(pool);
  ft_loop_free(loop);
  return 1;
}
