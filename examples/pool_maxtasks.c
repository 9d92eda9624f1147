/* pool_maxtasks.c - maxtasksperchild: each worker retires after 2 tasks
 * and the pool forks a new one in its place, with a new pid.
 *
 * Replacements are reported as FT_EV_WORKER_REPLACED events (reason
 * FT_REPLACE_RECYCLED), counted here by a hook on the loop.
 *
 * Build: cc pool_maxtasks.c $(pkg-config --cflags --libs forktop) -o pool_maxtasks
 * Output:
 *   12 tasks, all succeeded: yes
 *   each worker ran at most 2 tasks: yes
 *   workers recycled: 3 or more
 */
#include <forktop/forktop.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define NTASKS 12

/* Runs in a worker: give back the worker's pid. */
static int whoami(void *ctx, ft_slice arg, ft_buf *out) {
  (void)ctx; /* the pool's ft_pool_opts.ctx: unused here */
  (void)arg;
  pid_t me = getpid();
  usleep(5 * 1000);
  return ft_buf_append(out, &me, sizeof me);
}

/* Count the recycled workers (ud is an int). */
static void on_event(const ft_event *ev, void *ud) {
  if (ev->kind == FT_EV_WORKER_REPLACED && ev->u.replaced.reason == FT_REPLACE_RECYCLED)
    ++*(int *)ud;
}

int main(void) {
  ft_loop *loop = NULL;
  ft_pool *pool = NULL;
  ft_result *r = NULL;
  int rc, recycled = 0;
  ft_slice items[NTASKS];
  for (size_t i = 0; i < NTASKS; i++)
    items[i] = (ft_slice){NULL, 0}; /* empty items: the task needs no argument */

  if ((rc = ft_loop_new(&loop)) < 0 || (rc = ft_loop_add_hook(loop, on_event, &recycled)) < 0)
    goto fail;
  ft_pool_opts opts = {.name = "recycling", .workers = 3, .maxtasksperchild = 2};
  if ((rc = ft_pool_new(loop, &opts, &pool)) < 0)
    goto fail;
  /* chunksize 1: one task per hand-out, so the limit falls between tasks */
  rc = ft_pool_map(pool, whoami, items, NTASKS, 1, &r);
  printf("%d tasks, all succeeded: %s\n", NTASKS, rc == 0 ? "yes" : "no");
  if (rc < 0)
    goto fail;

  /* How many tasks each worker pid ran. */
  pid_t pids[NTASKS];
  int runs[NTASKS] = {0}, npids = 0, most = 0;
  for (size_t i = 0; i < NTASKS; i++) {
    ft_item it;
    if ((rc = ft_result_item(r, i, &it)) < 0)
      goto fail;
    int k = 0;
    while (k < npids && pids[k] != it.worker)
      k++;
    if (k == npids)
      pids[npids++] = it.worker;
    if (++runs[k] > most)
      most = runs[k];
  }
  printf("each worker ran at most 2 tasks: %s\n", most <= 2 ? "yes" : "no");
  if ((rc = ft_pool_close(pool)) < 0 || (rc = ft_pool_join(pool, 10.0)) < 0)
    goto fail;
  /* 12 tasks, 2 per worker: 6 workers ran them, 3 of them replacements;
   * the pool may also recycle the last ones before it sees the close. */
  printf("workers recycled: %s\n", recycled >= 3 ? "3 or more" : "fewer than 3");
  ft_result_free(r);
  ft_pool_free(pool);
  ft_loop_free(loop);
  return most <= 2 && recycled >= 3 ? 0 : 1;

fail:
  fprintf(stderr, "pool_maxtasks: %s\n", ft_strerror(rc));
  ft_result_free(r);
  ft_pool_free(pool);
  ft_loop_free(loop);
  return 1;
}
