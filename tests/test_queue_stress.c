/* test_queue_stress.c - 4 producers and 4 consumers move 1,000,000 items
 * through one queue while random producers and consumers are SIGKILLed and
 * replaced: no deadlock, no item delivered twice, and every item that was
 * not delivered is accounted for by a killed process. */
#include "ft_test.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

enum { NP = 4, NC = 4, PER = 250000, TOTAL = NP * PER, MAX_KILLS = 120 };

typedef struct shared {
  _Atomic uint32_t progress[NP];  /* next sequence number each producer slot will put */
  _Atomic uint32_t intent[NP];    /* the one it is putting now (its fate unknown if killed) */
  _Atomic uint8_t got[TOTAL];     /* deliveries of each item, recorded by consumers */
  _Atomic uint8_t retried[TOTAL]; /* times put again by a replacement: may arrive more often */
} shared;

static shared *sh;
static ft_queue *q;

static int producer(void *arg) {
  int p = (int)(uintptr_t)arg;
  for (uint32_t s = atomic_load(&sh->progress[p]); s < PER; s++) {
    uint32_t id = (uint32_t)p * PER + s;
    atomic_store(&sh->intent[p], s);
    if (ft_queue_put(q, &id, sizeof id, -1))
      return 1;
    atomic_store(&sh->progress[p], s + 1);
  }
  return 0;
}

static int consumer(void *arg) {
  (void)arg;
  uint32_t id;
  size_t len;
  int rc;
  while ((rc = ft_queue_get(q, &id, sizeof id, &len, -1)) == 0) {
    if (len != sizeof id || id >= TOTAL)
      return 2; /* a torn or foreign item */
    atomic_fetch_add(&sh->got[id], 1);
  }
  return rc == FT_ECLOSED ? 0 : 3;
}

static ft_process *start(ft_test *t, bool is_producer, int slot) {
  ft_process *p;
  ft_process_opts o = {.target = is_producer ? producer : consumer,
                       .arg = (void *)(uintptr_t)slot,
                       .out = {.mode = FT_STDIO_NULL},
                       .err = {.mode = FT_STDIO_NULL}};
  assert_int_equal(ft_process_new(t->loop, &o, &p), 0);
  assert_int_equal(ft_process_start(p), 0);
  return p;
}

static void test_stress_with_kills(void **state) {
  ft_test *t = *state;
  sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  assert_true(sh != MAP_FAILED);
  assert_int_equal(ft_queue_new(t->loop, "stress", 256, 8192, &q), 0);
  ft_process *procs[NP + NC];
  for (int i = 0; i < NP + NC; i++)
    procs[i] = start(t, i < NP, i < NP ? i : i - NP);
  srand(1234);
  int kills = 0, consumer_kills = 0;
  bool producers_done = false;
  uint64_t deadline = ft_now_ns() + 90ull * 1000000000ull;
  /* Kills go on until 20 have landed even once the producers are done (a
   * fast machine moves the million items in a tenth of a second): the
   * consumers, blocked on the empty queue, are still there to kill. */
  while (!producers_done || kills < 20) {
    assert_true(ft_now_ns() < deadline); /* a deadlock would stop here */
    ft_loop_run(t->loop, FT_RUN_NOWAIT);
    usleep(3000);
    producers_done = true;
    for (int p = 0; p < NP; p++)
      producers_done &= atomic_load(&sh->progress[p]) == PER && !ft_process_is_alive(procs[p]);
    if (kills >= MAX_KILLS || rand() % 3)
      continue;
    int v = rand() % (NP + NC);
    if (!ft_process_is_alive(procs[v]))
      continue;
    assert_int_equal(ft_process_kill(procs[v]), 0);
    assert_int_equal(ft_process_join(procs[v], 10), 0);
    int code = 0;
    ft_process_exitcode(procs[v], &code);
    ft_process_free(procs[v]);
    if (code == -SIGKILL) {
      kills++;
      if (v >= NP)
        consumer_kills++;
      else /* the item it was putting may or may not be in the queue */
        atomic_fetch_add(&sh->retried[v * PER + atomic_load(&sh->intent[v])], 1);
    }
    procs[v] = start(t, v < NP, v < NP ? v : v - NP);
  }
  /* every producer finished its range: close, let the consumers drain */
  assert_int_equal(ft_queue_close(q), 0);
  for (int i = 0; i < NP + NC; i++) {
    assert_int_equal(ft_process_join(procs[i], 30), 0);
    int code = -1;
    ft_process_exitcode(procs[i], &code);
    assert_int_equal(code, 0);
    ft_process_free(procs[i]);
  }
  uint64_t lost = 0, twice = 0;
  for (uint32_t id = 0; id < TOTAL; id++) {
    uint8_t g = atomic_load(&sh->got[id]);
    if (g == 0)
      lost++;
    else if (g > 1 && g <= 1 + atomic_load(&sh->retried[id]))
      twice++; /* put again by a replacement producer: not the queue's doing */
    else if (g != 1)
      fail_msg("item %u delivered %u times", id, g);
  }
  /* a consumer killed between its get and its record loses that one item */
  assert_true(lost <= (uint64_t)consumer_kills);
  assert_true(kills >= 20);
  ft_queue_stats st;
  ft_queue_stats_get(q, &st);
  assert_int_equal(st.depth, 0);
  assert_int_equal(st.puts, st.gets);
  assert_true(st.gets >= TOTAL - lost);
  print_message(
      "%d kills (%d consumers), %llu lost in killed consumers, %llu re-put, %u owner deaths\n",
      kills, consumer_kills, (unsigned long long)lost, (unsigned long long)twice, st.owner_deaths);
  ft_queue_free(q);
  munmap(sh, sizeof *sh);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      FT_TEST(test_stress_with_kills),
  };
  return FT_TEST_RUN(tests, 110);
}
