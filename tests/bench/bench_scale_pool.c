/* bench_scale_pool.c - a pool's start-up against its size: Pool(N) create +
 * close + join for each N given (default 100 1000 4000), the sizes
 * interleaved round after round in this one process, medians printed with
 * the time per worker and the CPU time (this process and its reaped
 * workers, from getrusage, which a shared machine's waiting leaves out).
 * Run by tests/bench/bench_scale.sh.  The target: a cost per worker flat
 * in the pool's size, Pool(4000) at most 4.5x Pool(1000). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "forktop.h"
#include "ui_stats.h"

static double cpu_s(void) {
  struct rusage a, b;
  getrusage(RUSAGE_SELF, &a);
  getrusage(RUSAGE_CHILDREN, &b);
  return (double)(a.ru_utime.tv_sec + a.ru_stime.tv_sec + b.ru_utime.tv_sec + b.ru_stime.tv_sec) +
         (double)(a.ru_utime.tv_usec + a.ru_stime.tv_usec + b.ru_utime.tv_usec +
                  b.ru_stime.tv_usec) /
             1e6;
}

int main(int argc, char **argv) {
  int sizes[16] = {100, 1000, 4000}, nsizes = 3, rounds = 3;
  if (argc > 1) {
    nsizes = 0;
    for (int i = 1; i < argc && nsizes < 16; i++)
      if (argv[i][0] == '-' && argv[i][1] == 'r')
        rounds = atoi(argv[i] + 2);
      else
        sizes[nsizes++] = atoi(argv[i]);
  }
  if (rounds < 1 || rounds > 64)
    rounds = 3;
  ft_loop *loop;
  if (ft_loop_new(&loop))
    return 1;
  double wall[16][64], cpu[16][64];
  for (int r = 0; r < rounds; r++)
    for (int i = 0; i < nsizes; i++) {
      ft_pool *p;
      ft_pool_opts o = {.workers = sizes[i]};
      double c0 = cpu_s();
      uint64_t t0 = ft_now_ns();
      int rc = ft_pool_new(loop, &o, &p);
      if (rc) {
        fprintf(stderr, "bench_scale_pool: Pool(%d): %s\n", sizes[i], ft_strerror(rc));
        return 1;
      }
      ft_pool_close(p);
      ft_pool_join(p, -1);
      ft_pool_free(p);
      wall[i][r] = (double)(ft_now_ns() - t0) / 1e9;
      cpu[i][r] = cpu_s() - c0;
    }
  double mw[16], mc[16];
  for (int i = 0; i < nsizes; i++) {
    mw[i] = ui_stats_median(wall[i], (size_t)rounds);
    mc[i] = ui_stats_median(cpu[i], (size_t)rounds);
    printf("case=pool_start_%d value=%.1f unit=ms better=lower desc=Pool(%d) create + close + "
           "join, median of %d: %.0f us a worker; CPU %.1f ms (%.0f us a worker)\n",
           sizes[i], mw[i] * 1e3, sizes[i], rounds, mw[i] * 1e6 / sizes[i], mc[i] * 1e3,
           mc[i] * 1e6 / sizes[i]);
  }
  for (int i = 1; i < nsizes; i++)
    printf("case=pool_start_ratio_%d_%d value=%.2f unit=x better=lower desc=Pool(%d) / Pool(%d): "
           "wall %.2fx, CPU %.2fx, for %.1fx the workers\n",
           sizes[i], sizes[i - 1], mw[i] / mw[i - 1], sizes[i], sizes[i - 1], mw[i] / mw[i - 1],
           mc[i] / mc[i - 1], (double)sizes[i] / sizes[i - 1]);
  ft_loop_free(loop);
  return 0;
}
