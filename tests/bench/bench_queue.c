/* bench_queue.c - Queue throughput between processes; the single-item cases
 * are run in Python too by bench_queue.py (run both with tests/bench/run).
 *
 * Next to them, in the same run, the hardware's own figures: a bare
 * single-producer single-consumer ring of 8-byte slots between two
 * processes (what shared memory can move with nothing else to do: no
 * lock, no bounds in bytes, no crash recovery, no statistics) and the
 * machine's memory-copy bandwidth (memcpy between two buffers far larger
 * than the caches).  The batch calls (ft_queue_put_many, get_many) are
 * measured against them: 8-byte items one producer to one consumer, four
 * to four, and 1 KiB items. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "forktop.h"

#define BATCH 256

static ft_queue *q;
static size_t item_size, count;

_Noreturn static void die(const char *what, int rc) {
  fprintf(stderr, "bench_queue: %s: %s\n", what, ft_strerror(rc));
  exit(1);
}

static void *shared(size_t len) {
  void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    die("mmap", FT_EINVAL);
  return p;
}

static inline void relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

/* ------------------------------------------------------------ single */

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
  if (rc || (rc = ft_process_new(loop, &o, &p)))
    die("queue", rc);
  char *buf = malloc(size);
  size_t len;
  uint64_t t0 = ft_now_ns();
  ft_process_start(p);
  for (size_t i = 0; i < n; i++)
    if ((rc = ft_queue_get(q, buf, size, &len, -1)))
      die("get", rc);
  double dt = (double)(ft_now_ns() - t0) / 1e9;
  ft_process_join(p, -1);
  ft_process_free(p);
  ft_queue_free(q);
  free(buf);
  return dt;
}

/* ------------------------------------------------------------- batched */

/* Put count items of item_size bytes in batches of BATCH (items numbered
 * from arg's start), then leave. */
static int batch_producer(void *arg) {
  size_t start = (size_t)(uintptr_t)arg;
  char *buf = calloc(BATCH, item_size);
  ft_slice it[BATCH];
  for (size_t i = 0; i < count; i += BATCH) {
    size_t m = count - i < BATCH ? count - i : BATCH;
    for (size_t k = 0; k < m; k++) {
      size_t v = start + i + k;
      memcpy(buf + k * item_size, &v, sizeof v);
      it[k] = (ft_slice){buf + k * item_size, item_size};
    }
    if (ft_queue_put_many(q, it, m, NULL, -1))
      return 1;
  }
  free(buf);
  return 0;
}

/* Take items in batches until the queue is closed and drained; the sum of
 * their numbers goes to *arg's slot. */
static int batch_consumer(void *arg) {
  _Atomic uint64_t *sum = arg;
  char *buf = malloc(BATCH * ((item_size + 7) & ~(size_t)7));
  ft_slice it[BATCH];
  size_t got;
  uint64_t s = 0;
  while (ft_queue_get_many(q, buf, BATCH * ((item_size + 7) & ~(size_t)7), it, BATCH, &got, -1) ==
         0)
    for (size_t k = 0; k < got; k++) {
      uint64_t v;
      memcpy(&v, it[k].ptr, sizeof v);
      s += v;
    }
  atomic_fetch_add(sum, s);
  free(buf);
  return 0;
}

/* n items of size bytes from np producers to nc consumers (processes), in
 * batches; seconds from the first start to the last consumer's end. */
static double run_batched(ft_loop *loop, size_t size, size_t n, int np, int nc) {
  item_size = size;
  count = n / (size_t)np;
  n = count * (size_t)np;
  int rc = ft_queue_new(loop, "bench-batch", 8192, 4u << 20, &q);
  if (rc)
    die("queue", rc);
  _Atomic uint64_t *sum = shared(4096);
  ft_process *ps[16];
  for (int i = 0; i < np + nc; i++) {
    ft_process_opts o = {.target = i < np ? batch_producer : batch_consumer,
                         .arg = i < np ? (void *)(uintptr_t)(count * (size_t)i) : (void *)sum};
    if ((rc = ft_process_new(loop, &o, &ps[i])))
      die("process", rc);
  }
  uint64_t t0 = ft_now_ns();
  for (int i = 0; i < np + nc; i++)
    if ((rc = ft_process_start(ps[i])))
      die("start", rc);
  for (int i = 0; i < np; i++)
    ft_process_join(ps[i], -1);
  ft_queue_close(q);
  for (int i = np; i < np + nc; i++)
    ft_process_join(ps[i], -1);
  double dt = (double)(ft_now_ns() - t0) / 1e9;
  ft_queue_stats st;
  ft_queue_stats_get(q, &st);
  if (st.gets != n || atomic_load(sum) != (uint64_t)n * (n - 1) / 2)
    die("batched: items lost or doubled", FT_EINVAL);
  for (int i = 0; i < np + nc; i++)
    ft_process_free(ps[i]);
  ft_queue_free(q);
  munmap((void *)sum, 4096);
  return dt;
}

/* ---------------------------------------------------------- the anchors */

#define BARE_SLOTS (1u << 16)
typedef struct bare {
  _Alignas(64) _Atomic uint64_t head;
  _Alignas(64) _Atomic uint64_t tail;
  _Alignas(64) uint64_t slot[BARE_SLOTS];
} bare;

/* A bare ring between a forked producer and this process: n 8-byte items,
 * each published with its own release store; seconds. */
static double run_bare(size_t n) {
  bare *r = shared(sizeof *r);
  uint64_t t0 = ft_now_ns();
  pid_t pid = fork();
  if (pid == 0) {
    uint64_t head = 0;
    for (uint64_t i = 0; i < n; i++) {
      while (i - head == BARE_SLOTS) {
        head = atomic_load_explicit(&r->head, memory_order_acquire);
        relax();
      }
      r->slot[i % BARE_SLOTS] = i;
      atomic_store_explicit(&r->tail, i + 1, memory_order_release);
    }
    _exit(0);
  }
  uint64_t tail = 0, sum = 0;
  for (uint64_t i = 0; i < n; i++) {
    while (i == tail) {
      tail = atomic_load_explicit(&r->tail, memory_order_acquire);
      if (i == tail)
        relax();
    }
    sum += r->slot[i % BARE_SLOTS];
    atomic_store_explicit(&r->head, i + 1, memory_order_release);
  }
  double dt = (double)(ft_now_ns() - t0) / 1e9;
  waitpid(pid, NULL, 0);
  munmap(r, sizeof *r);
  if (sum != (uint64_t)n * (n - 1) / 2)
    die("bare ring: wrong sum", FT_EINVAL);
  return dt;
}

/* memcpy between two 64 MiB buffers, best of 5; bytes per second. */
static double copy_bandwidth(void) {
  size_t len = 64u << 20;
  char *a = malloc(len), *b = malloc(len);
  if (!a || !b)
    die("malloc", FT_EINVAL);
  memset(a, 1, len);
  memset(b, 2, len);
  double best = 0;
  for (int i = 0; i < 5; i++) {
    uint64_t t0 = ft_now_ns();
    memcpy(i % 2 ? a : b, i % 2 ? b : a, len);
    double bw = (double)len / ((double)(ft_now_ns() - t0) / 1e9);
    best = bw > best ? bw : best;
  }
  volatile char sink = a[len / 2] + b[len / 3];
  (void)sink;
  free(a);
  free(b);
  return best;
}

int main(void) {
  ft_loop *loop;
  if (ft_loop_new(&loop))
    return 1;
  size_t n = 1000000;
  printf("case=queue_8b_msgs value=%.0f unit=msgs/s better=higher desc=1M 8-byte items, 1 producer "
         "process, 1 consumer\n",
         (double)n / run(loop, 8, n));
  n = 500000;
  printf("case=queue_1k_MBps value=%.1f unit=MB/s better=higher desc=500k 1 KiB items, 1 producer "
         "process, 1 consumer\n",
         (double)n * 1024 / run(loop, 1024, n) / 1e6);

  n = 20000000;
  double bare_rate = (double)n / run_bare(n);
  printf("case=bare_ring_8b value=%.0f unit=items/s better=higher desc=anchor: a bare 1P1C ring "
         "of 8-byte slots between two processes\n",
         bare_rate);
  n = 10000000;
  double b11 = (double)n / run_batched(loop, 8, n, 1, 1);
  printf("case=queue_8b_batch_1p1c value=%.0f unit=items/s better=higher desc=10M 8-byte items, "
         "put_many/get_many of %d, 1 producer, 1 consumer\n",
         b11, BATCH);
  printf("case=queue_8b_batch_vs_bare value=%.3f unit=ratio better=higher desc=the line above / "
         "the bare ring (target >= 0.1)\n",
         b11 / bare_rate);
  double b44 = (double)n / run_batched(loop, 8, n, 4, 4);
  printf("case=queue_8b_batch_4p4c value=%.0f unit=items/s better=higher desc=10M 8-byte items, "
         "put_many/get_many of %d, 4 producers, 4 consumers\n",
         b44, BATCH);
  printf("case=queue_8b_4p4c_vs_1p1c value=%.3f unit=ratio better=higher desc=4P4C / 1P1C "
         "(target >= 0.5)\n",
         b44 / b11);
  double bw = copy_bandwidth();
  printf("case=memcpy_MBps value=%.1f unit=MB/s better=higher desc=anchor: memcpy between two 64 "
         "MiB buffers, best of 5\n",
         bw / 1e6);
  n = 1000000;
  double k1 = (double)n * 1024 / run_batched(loop, 1024, n, 1, 1);
  printf("case=queue_1k_batch_MBps value=%.1f unit=MB/s better=higher desc=1M 1 KiB items, "
         "put_many/get_many of %d, 1 producer, 1 consumer\n",
         k1 / 1e6, BATCH);
  printf("case=queue_1k_batch_vs_memcpy value=%.3f unit=ratio better=higher desc=the line above "
         "/ memcpy bandwidth (target >= 0.5)\n",
         k1 / bw);
  ft_loop_free(loop);
  return 0;
}
