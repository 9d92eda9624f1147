/* test_transport.c - the pool through its worker transport interface
 * (src/mp/ft_transport.h), driven by a scripted transport: what the pool
 * publishes, how it takes records, and what it fails and runs again when a
 * worker dies holding chunks, including a chunk sent to the worker but
 * never started (what a pipelining socket transport reports), which
 * shared memory never produces. */
#include "ft_test.h"

#include "ft_internal.h"
#include "ft_pool_int.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NCH 16

/* A scripted transport: workers are processes that wait to be killed;
 * the test says which worker holds which chunk and what comes back. */
typedef struct fake {
  ft__transport base;
  struct {
    uint64_t seq;
    uint32_t n;
    uintptr_t fn;
    uint64_t vals[8];
    bool retired;
    int owner; /* -1: taken by no worker yet */
    int from;  /* held's answer for its owner */
  } ch[NCH];
  size_t nch;
  int starts, kicks, closes, terminates, clears, exits;
  bool gone; /* the workers were told to leave */
  struct {
    int type;
    uint64_t seq;
    uint32_t first, count;
    uint64_t vals[8];
  } out[8]; /* records delivered at the next collect */
  size_t nout;
} fake;

static int fake_frees;

static int fake_worker(void *arg) {
  (void)arg;
  for (;;)
    pause();
  return 0;
}

static void fake_worker_start(ft__transport *t, int w, ft__spawn_opts *so) {
  (void)w;
  ((fake *)t)->starts++;
  so->target = fake_worker;
}

static bool fake_worker_exited(ft__transport *t, int w) {
  (void)w;
  ((fake *)t)->exits++;
  return false;
}

static bool fake_held(ft__transport *t, int w, uint64_t seq, uint32_t *from) {
  fake *f = (fake *)t;
  for (size_t i = 0; i < f->nch; i++)
    if (f->ch[i].seq == seq && f->ch[i].owner == w) {
      *from = (uint32_t)f->ch[i].from;
      return true;
    }
  return false;
}

static void fake_worker_clear(ft__transport *t, int w) {
  (void)w;
  ((fake *)t)->clears++;
}

/* Takes every item offered; an item that is not 8 bytes "never fits". */
static int fake_publish(ft__transport *t, const ft__chunk_args *c, uint32_t *taken, size_t *bytes) {
  fake *f = (fake *)t;
  size_t off = 0;
  assert_true(c->n >= 1 && c->n <= 8);
  assert_true(f->nch < NCH);
  assert_int_equal(c->kind, FT__KIND_TASK);
  for (size_t i = 0; i < c->n; i++) {
    size_t len = c->src ? c->src[i].len : ft__wire_size(c->wire + off) - 8;
    if (len != 8) {
      if (i > 0)
        break;
      *bytes = ft__wire_len(len);
      return FT_E2BIG;
    }
    const void *v = c->src ? c->src[i].ptr : c->wire + off + 8;
    memcpy(&f->ch[f->nch].vals[i], v, 8);
    off += ft__wire_len(8);
    *taken = (uint32_t)i + 1;
  }
  f->ch[f->nch].seq = c->seq;
  f->ch[f->nch].n = *taken;
  f->ch[f->nch].fn = c->fn;
  f->ch[f->nch].owner = -1;
  f->nch++;
  *bytes = off;
  return 0;
}

static void fake_kick(ft__transport *t, uint64_t n) {
  assert_true(n >= 1);
  ((fake *)t)->kicks++;
}

static void fake_retire(ft__transport *t, uint64_t seq) {
  fake *f = (fake *)t;
  for (size_t i = 0; i < f->nch; i++)
    if (f->ch[i].seq == seq) {
      assert_false(f->ch[i].retired);
      f->ch[i].retired = true;
    }
}

static bool fake_has_queued(const ft__transport *t) {
  const fake *f = (const fake *)t;
  for (size_t i = 0; i < f->nch; i++)
    if (!f->ch[i].retired && f->ch[i].owner < 0)
      return true;
  return false;
}

static bool fake_collect(ft__transport *t, bool timed) {
  (void)timed;
  fake *f = (fake *)t;
  size_t n = f->nout;
  for (size_t i = 0; i < n; i++) {
    char buf[sizeof(ft__rec) + 8 * (sizeof(ft__rec_item) + 8)];
    ft__rec h = {.type = (uint32_t)f->out[i].type,
                 .seq = f->out[i].seq,
                 .first = f->out[i].first,
                 .count = f->out[i].count};
    if (h.type == FT__REC_START) {
      ft__pool_on_start(t->pool, 0, h.seq, ft_now_ns());
      continue;
    }
    char *d = buf;
    for (uint32_t k = 0; k < h.count; k++) {
      ft__rec_item it = {.len = 8};
      memcpy(d, &it, sizeof it);
      memcpy(d + sizeof it, &f->out[i].vals[k], 8);
      d += sizeof it + 8;
    }
    ft__pool_on_results(t->pool, 0, h.seq, h.first, h.count, buf);
  }
  f->nout = 0;
  /* Closed, and every chunk done: the idle workers leave. */
  bool idle = f->closes > 0 && !f->gone;
  for (size_t i = 0; i < f->nch; i++)
    idle = idle && f->ch[i].retired;
  for (int w = 0; idle && w < t->pool->nworkers; w++)
    if (ft_pool_worker_pid(t->pool, w))
      kill(ft_pool_worker_pid(t->pool, w), SIGTERM);
  f->gone |= idle;
  return n > 0;
}

static bool fake_arm(ft__transport *t) {
  (void)t;
  return false;
}

/* Workers leave once no work is left (see fake_collect). */
static void fake_close(ft__transport *t) { ((fake *)t)->closes++; }

static void fake_terminate(ft__transport *t) { ((fake *)t)->terminates++; }

static void fake_free(ft__transport *t) {
  fake_frees++;
  free(t);
}

static const ft__transport_ops fake_ops = {
    .name = "fake",
    .worker_start = fake_worker_start,
    .worker_exited = fake_worker_exited,
    .held = fake_held,
    .worker_clear = fake_worker_clear,
    .publish = fake_publish,
    .kick = fake_kick,
    .retire = fake_retire,
    .has_queued = fake_has_queued,
    .collect = fake_collect,
    .arm = fake_arm,
    .close = fake_close,
    .terminate = fake_terminate,
    .free = fake_free,
};

static int fake_new(ft_pool *p, int n, const ft_pool_opts *opts, const void *cfg,
                    ft__transport **out) {
  (void)cfg;
  (void)n;
  (void)opts;
  fake *f = calloc(1, sizeof *f);
  if (!f)
    return -ENOMEM;
  f->base = (ft__transport){.ops = &fake_ops, .pool = p};
  *out = &f->base;
  return 0;
}

static int echo(void *ctx, ft_slice arg, ft_buf *out) {
  (void)ctx;
  return ft_buf_append(out, arg.ptr, arg.len);
}

typedef struct until {
  fake *f;
  size_t nch;
  ft_result *r;
  size_t item;
} until;

static bool chunks_published(void *ud) {
  until *u = ud;
  return u->f->nch >= u->nch;
}

static bool item_done(void *ud) {
  until *u = ud;
  ft_item it;
  return ft_result_item(u->r, u->item, &it) != FT_ENOTREADY;
}

static void run_until(ft_loop *loop, bool (*done)(void *), void *ud) {
  assert_int_equal(ft__loop_run_until(loop, done, ud, ft__deadline(10)), 0);
}

static void deliver(fake *f, int type, uint64_t seq, uint32_t first, uint32_t count, uint64_t v0) {
  f->out[f->nout].type = type;
  f->out[f->nout].seq = seq;
  f->out[f->nout].first = first;
  f->out[f->nout].count = count;
  for (uint32_t k = 0; k < count; k++)
    f->out[f->nout].vals[k] = v0 + k;
  f->nout++;
}

static void check_value(ft_result *r, size_t i, uint64_t want) {
  ft_item it;
  uint64_t v;
  assert_int_equal(ft_result_item(r, i, &it), 0);
  assert_int_equal(it.status, 0);
  assert_int_equal(it.value.len, 8);
  memcpy(&v, it.value.ptr, 8);
  assert_int_equal(v, want);
}

/* A worker dies holding two chunks: one it was running (in its second
 * item) and one sent to it but never started.  Exactly the item it was
 * in fails, with its signal; the rest of the first chunk and the whole
 * second one run again, on its replacement. */
static void test_death_fails_exactly_what_was_held(void **state) {
  ft_test *T = *state;
  ft_pool *p;
  ft_pool_opts o = {.workers = 1};
  int frees = fake_frees;
  assert_int_equal(ft__pool_new(T->loop, &o, fake_new, NULL, &p), 0);
  fake *f = (fake *)p->tr;
  assert_int_equal(f->starts, 1);
  uint64_t vals[6] = {10, 11, 12, 13, 14, 15};
  ft_slice items[6];
  for (int i = 0; i < 6; i++)
    items[i] = (ft_slice){&vals[i], 8};
  ft_result *r;
  assert_int_equal(ft_pool_map_async(p, echo, items, 6, 3, NULL, NULL, NULL, &r), 0);
  until u = {.f = f, .nch = 2, .r = r};
  run_until(T->loop, chunks_published, &u);
  assert_int_equal(f->nch, 2);
  assert_true(f->kicks >= 1);
  for (int c = 0; c < 2; c++) {
    assert_int_equal(f->ch[c].seq, c);
    assert_int_equal(f->ch[c].n, 3);
    assert_int_equal(f->ch[c].fn, (uintptr_t)echo);
    for (int k = 0; k < 3; k++)
      assert_int_equal(f->ch[c].vals[k], 10 + 3 * c + k);
  }
  /* Worker 0 runs chunk 0 (item 0 done, in item 1) and holds chunk 1. */
  f->ch[0].owner = f->ch[1].owner = 0;
  f->ch[0].from = 2;
  f->ch[1].from = 0;
  deliver(f, FT__REC_START, 0, 0, 0, 0);
  deliver(f, FT__REC_RESULT, 0, 0, 1, 100);
  u.item = 0;
  run_until(T->loop, item_done, &u);
  check_value(r, 0, 100);
  pid_t pid = ft_pool_worker_pid(p, 0);
  assert_true(pid > 0);
  assert_int_equal(kill(pid, SIGKILL), 0);
  u.nch = 4;
  run_until(T->loop, chunks_published, &u);
  ft_item it;
  assert_int_equal(ft_result_item(r, 1, &it), 0);
  assert_int_equal(it.status, FT_EWORKER);
  assert_int_equal(it.signal, SIGKILL);
  assert_int_equal(it.worker, pid);
  assert_int_equal(ft_result_item(r, 2, &it), FT_ENOTREADY); /* to be run again */
  assert_int_equal(ft_result_item(r, 3, &it), FT_ENOTREADY);
  assert_true(f->ch[0].retired && f->ch[1].retired);
  assert_int_equal(f->exits, 1);
  assert_int_equal(f->clears, 1);
  assert_int_equal(f->starts, 2); /* replaced at once: it had worked */
  assert_true(ft_pool_worker_pid(p, 0) > 0 && ft_pool_worker_pid(p, 0) != pid);
  /* The unstarted rest, oldest first: item 2, then items 3..5. */
  assert_int_equal(f->ch[2].seq, 2);
  assert_int_equal(f->ch[2].n, 1);
  assert_int_equal(f->ch[2].vals[0], 12);
  assert_int_equal(f->ch[3].seq, 3);
  assert_int_equal(f->ch[3].n, 3);
  for (int k = 0; k < 3; k++)
    assert_int_equal(f->ch[3].vals[k], 13 + k);
  f->ch[2].owner = f->ch[3].owner = 0;
  deliver(f, FT__REC_START, 2, 0, 0, 0);
  deliver(f, FT__REC_RESULT, 2, 0, 1, 102);
  deliver(f, FT__REC_START, 3, 0, 0, 0);
  deliver(f, FT__REC_RESULT, 3, 0, 3, 103);
  assert_int_equal(ft_result_wait(r, 10), 0);
  assert_int_equal(ft_result_failed(r), 1);
  check_value(r, 2, 102);
  for (int i = 3; i < 6; i++)
    check_value(r, (size_t)i, 100 + (uint64_t)i);
  assert_true(f->ch[2].retired && f->ch[3].retired);
  assert_int_equal(ft_pool_terminate(p), 0);
  assert_int_equal(f->terminates, 1);
  assert_int_equal(ft_pool_join(p, 10), 0);
  assert_int_equal(f->closes, 0);
  ft_result_free(r);
  ft_pool_free(p);
  assert_int_equal(fake_frees, frees + 1);
}

/* An item the transport can never carry fails alone, unpublished; close
 * is said once, when nothing is pending, and the pool then ends. */
static void test_too_big_and_close(void **state) {
  ft_test *T = *state;
  ft_pool *p;
  ft_pool_opts o = {.workers = 2};
  assert_int_equal(ft__pool_new(T->loop, &o, fake_new, NULL, &p), 0);
  fake *f = (fake *)p->tr;
  uint64_t a = 1, c = 3;
  char big[16] = {0};
  ft_slice items[3] = {{&a, 8}, {big, sizeof big}, {&c, 8}};
  ft_result *r;
  assert_int_equal(ft_pool_map_async(p, echo, items, 3, 1, NULL, NULL, NULL, &r), 0);
  assert_int_equal(ft_pool_close(p), 0);
  until u = {.f = f, .nch = 2, .r = r, .item = 1};
  run_until(T->loop, chunks_published, &u);
  run_until(T->loop, item_done, &u);
  ft_item it;
  assert_int_equal(ft_result_item(r, 1, &it), 0);
  assert_int_equal(it.status, FT_E2BIG);
  assert_int_equal(f->nch, 2);
  assert_int_equal(f->ch[0].vals[0], 1);
  assert_int_equal(f->ch[1].vals[0], 3);
  assert_int_equal(f->closes, 1); /* said once nothing is pending */
  assert_true(ft_pool_worker_pid(p, 0) > 0 && ft_pool_worker_pid(p, 1) > 0);
  f->ch[0].owner = 0;
  f->ch[1].owner = 1;
  deliver(f, FT__REC_RESULT, 0, 0, 1, 1);
  deliver(f, FT__REC_RESULT, 1, 0, 1, 3);
  assert_int_equal(ft_result_wait(r, 10), 0);
  assert_int_equal(ft_pool_join(p, 10), 0);
  assert_int_equal(f->closes, 1);
  assert_int_equal(f->starts, 2); /* nobody replaced after close */
  assert_int_equal(ft_test_count(T, FT_EV_POOL_END, 0), 1);
  check_value(r, 0, 1);
  check_value(r, 2, 3);
  ft_result_free(r);
  ft_pool_free(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      FT_TEST(test_death_fails_exactly_what_was_held),
      FT_TEST(test_too_big_and_close),
  };
  return FT_TEST_RUN(tests, 60);
}
