/* bench_queue.c - Queue throughput between two processes; the same cases in
 * Python are in bench_queue.py (run both with tests/bench/run). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forktop.h"

static ft_queue *q;
static size_t item_size, count;

static int producer(void *arg) {
  (void)arg;
  char *buf = calloc(1, item_size);
  for (size_t i = 0; i < count; i++) {
    memcpy(buf, &i, item_size < sizeof i ? item_size : sizeof i);
    if (ft_queue_put(q, buf, item_size, -1))
      return 1;
  }
  free(buf);
  return 0;
}

/* count items of size bytes from a producer process to this one; seconds. */
static double run(ft_loop *loop, size_t size, size_t n) {
  item_size = size;
  count = n;
  int rc = ft_queue_new(loop, "bench", 1024, 4u << 20, &q);
  ft_process *p;
  ft_process_opts o = {.target = producer};
  if (rc || (rc = ft_process_new(loop, &o, &p))) {
    fprintf(stderr, "bench_queue: %s\n", ft_strerror(rc));
    exit(1);
  }
  char *buf = malloc(size);
  size_t len;
  uint64_t t0 = ft_now_ns();
  ft_process_start(p);
  for (size_t i = 0; i < n; i++)
    if ((rc = ft_queue_get(q, buf, size, &len, -1))) {
      fprintf(stderr, "bench_queue: get: %s\n", ft_strerror(rc));
      exit(1);
    }
  double dt = (double)(ft_now_ns() - t0) / 1e9;
  ft_process_join(p, -1);
  ft_process_free(p);
  ft_queue_free(q);
  free(buf);
  return dt;
}

int main(void) {
  ft_loop *loop;
  ft_loop_new(&loop);
  size_t n = 1000000;
  printf("case=queue_8b_msgs value=%.0f unit=msgs/s better=higher desc=1M 8-byte items, 1 producer "
         "process, 1 consumer\n",
         (double)n / run(loop, 8, n));
  n = 500000;
  printf("case=queue_1k_MBps value=%.1f unit=MB/s better=higher desc=500k 1 KiB items, 1 producer "
         "process, 1 consumer\n",
         (double)n * 1024 / run(loop, 1024, n) / 1e6);
  ft_loop_free(loop);
  return 0;
}
