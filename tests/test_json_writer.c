/* test_json_writer.c - the JSON stream's writer (src/core/ft_json_write.c)
 * writes each event as jansson would dump it: random events of every kind,
 * with hostile strings (invalid UTF-8, C0 and C1 controls, DEL, bidi
 * marks, quotes, NUL), extreme integers and times of every size, are each
 * parsed by jansson, dumped again by it (compact, fields in order, reals
 * with 15 digits) with the stream's terminal-safe escapes applied, and the
 * two texts must be the same bytes. */
#include "ft_test.h"

#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static unsigned long long rs = 88172645463325252ull;
static unsigned long long rnd(void) {
  rs ^= rs << 13;
  rs ^= rs >> 7;
  rs ^= rs << 17;
  return rs;
}

/* The stream's rule, stated again: these code points are written \uXXXX. */
static bool unsafe_cp(uint32_t cp) {
  return cp == 0x7F || (cp >= 0x80 && cp < 0xA0) || cp == 0x061C || cp == 0x200E || cp == 0x200F ||
         (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2028 ||
         cp == 0x2029 || cp == 0xFEFF;
}

/* jansson's dump of the parsed line, with the unsafe code points escaped
 * (the dump is valid UTF-8), then a newline. */
static void reference(const char *line, size_t len, ft_buf *out) {
  json_error_t e;
  json_t *o = json_loadb(line, len, JSON_ALLOW_NUL | JSON_DECODE_ANY, &e);
  if (!o)
    fail_msg("jansson refuses (%s): %.300s", e.text, line);
  char *d =
      json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15) | JSON_ENCODE_ANY);
  assert_non_null(d);
  ft_buf_reset(out);
  const unsigned char *p = (const unsigned char *)d;
  for (size_t i = 0; p[i];) {
    size_t n = p[i] < 0x80 ? 1 : p[i] < 0xE0 ? 2 : p[i] < 0xF0 ? 3 : 4;
    uint32_t cp = n == 1 ? p[i] : n == 2 ? p[i] & 0x1Fu : n == 3 ? p[i] & 0x0Fu : p[i] & 0x07u;
    for (size_t k = 1; k < n; k++)
      cp = cp << 6 | (p[i + k] & 0x3Fu);
    char esc[8];
    if (unsafe_cp(cp)) {
      snprintf(esc, sizeof esc, "\\u%04X", (unsigned)cp);
      ft_buf_append(out, esc, 6);
    } else {
      ft_buf_append(out, d + i, n);
    }
    i += n;
  }
  ft_buf_append(out, "\n", 1);
  free(d);
  json_decref(o);
}

static char pool[64][48];
static size_t plen[64];

static const char *rstr(size_t *n) {
  int k = (int)(rnd() % 64);
  *n = plen[k];
  return pool[k];
}

static const char *rstr0(void) {
  size_t n;
  const char *s = rstr(&n);
  return strlen(s) == n ? s : "";
}

static uint64_t rns(void) {
  static const uint64_t mod[] = {1, 1000, 100000, 1000000000ull, 100000000000000ull};
  unsigned k = (unsigned)(rnd() % 6);
  return k < 5 ? rnd() % mod[k] : rnd();
}

static int rint_(void) {
  static const int fixed[] = {0, -1, INT_MIN, INT_MAX, 7};
  return rnd() % 2 ? fixed[rnd() % 5] : (int)rnd();
}

/* One random event of kind k (strings from the pool; argv given). */
static ft_event random_event(ft_event_kind k, const char **argv) {
  size_t n;
  ft_event ev = {.kind = k, .t_ns = rns(), .pid = rint_(), .ppid = rint_()};
  ev.host = rnd() % 3 ? 0 : (uint32_t)rnd();
  ev.name = rnd() % 4 ? rstr0() : "";
  const char *const *av = rnd() % 2 ? argv : NULL;
  switch (k) {
  case FT_EV_SPAWN:
    ev.u.spawn.role = rnd() % 2 ? rstr0() : NULL;
    ev.u.spawn.worker = rint_();
    ev.u.spawn.step = rnd() % 2 ? rstr0() : NULL;
    ev.u.spawn.launcher_pid = rint_();
    ev.u.spawn.argv = av;
    ev.u.spawn.argv_cut = rnd() % 2;
    break;
  case FT_EV_EXEC:
    ev.u.exec.path = rnd() % 2 ? rstr0() : NULL;
    ev.u.exec.err = rnd() % 2 ? -(int)(rnd() % 140) : 0;
    ev.u.exec.argv = av;
    ev.u.exec.argv_cut = rnd() % 2;
    break;
  case FT_EV_EXIT:
    ev.u.exit.code = rint_();
    ev.u.exit.signal = rnd() % 2 ? (int)(rnd() % 70) : 0;
    ev.u.exit.core = rnd() % 2;
    ev.u.exit.orphan = rnd() % 2;
    ev.u.exit.requested = rnd() % 2;
    ev.u.exit.runtime_ns = rns();
    break;
  case FT_EV_OUTPUT:
    ev.u.output.stream = 1 + (int)(rnd() % 2);
    ev.u.output.line = rstr(&n);
    ev.u.output.len = n;
    ev.u.output.truncated = rnd() % 2;
    break;
  case FT_EV_TASK_START:
  case FT_EV_TASK_DONE:
  case FT_EV_TASK_FAIL:
    ev.u.task.task = rnd() % 2 ? rnd() : rnd() % 1000;
    ev.u.task.item = rnd();
    ev.u.task.batch = rnd() % 10;
    ev.u.task.worker = rint_();
    ev.u.task.status = rnd() % 2 ? -(int)(rnd() % 140) : FT_EWORKER;
    ev.u.task.code = rnd() % 2 ? rint_() : 0;
    ev.u.task.signal = rnd() % 2 ? (int)(rnd() % 70) : 0;
    ev.u.task.dur_ns = rns();
    ev.u.task.cause = rnd() % 2 ? rstr0() : NULL;
    break;
  case FT_EV_QUEUE:
    ev.u.queue = (ft_queue_stats){.puts = rnd(),
                                  .gets = rnd() % 100,
                                  .depth = rnd() % 9,
                                  .put_blocked_ns = rns(),
                                  .get_blocked_ns = rns(),
                                  .producers_blocked = rint_(),
                                  .closed = rnd() % 2};
    break;
  case FT_EV_HOST:
    ev.u.host.address = rnd() % 2 ? rstr0() : NULL;
    ev.u.host.launcher = rstr0();
    ev.u.host.job = rnd() % 2 ? rstr0() : NULL;
    ev.u.host.lost = rnd() % 2;
    ev.u.host.cause = rnd() % 2 ? rstr0() : NULL;
    break;
  case FT_EV_STAT: {
    static const double cpu[] = {0, 0.05, 0.15, 12.345, 99.95, 1e-7, 1e20, 123456.789};
    ev.u.stat.state = "RSDZ"[rnd() % 4];
    ev.u.stat.threads = rint_();
    ev.u.stat.cpu = rnd() % 2 ? cpu[rnd() % 8] : (double)(rnd() % 100000) / 97.0;
    ev.u.stat.rss_kb = rnd();
    break;
  }
  case FT_EV_ERROR:
    ev.u.error.what = rstr0();
    ev.u.error.err = -(int)(rnd() % 140);
    break;
  default:
    ev.u.pool.workers = rint_();
    break;
  }
  return ev;
}

static void test_writer_writes_what_jansson_dumps(void **state) {
  (void)state;
  static const unsigned char special[] = {
      0,    1,    8,    9,    10,   12,   13,   27,   31,   '"',  '\\', '/',  0x7F, 0xC2,
      0x80, 0x9B, 0xE2, 0x80, 0xAE, 0xEF, 0xBB, 0xBF, 0xF0, 0x9F, 0x98, 0x80, 0xC0, 0xAF,
      0xED, 0xA0, 0x80, 0xF4, 0x90, 0xD8, 0x9C, 0xE2, 0x81, 0xA6, 'a',  'Z',  ' ',  0xC3};
  for (int k = 0; k < 64; k++) {
    size_t n = k < 4 ? (size_t)k : rnd() % 40;
    for (size_t i = 0; i < n; i++)
      pool[k][i] = (char)(rnd() % 3 ? special[rnd() % sizeof special] : rnd() % 256);
    pool[k][n] = 0;
    plen[k] = n;
  }
  const char *argv[6];
  ft_buf line = {0}, want = {0};
  for (int it = 0; it < 200000; it++) {
    int na = (int)(rnd() % 5);
    for (int i = 0; i < na; i++)
      argv[i] = rstr0();
    argv[na] = NULL;
    ft_event ev = random_event((ft_event_kind)(rnd() % FT_EV_COUNT_), argv);
    ft_buf_reset(&line);
    assert_int_equal(ft_event_to_json(&ev, rnd() % 3 ? 0 : rns(), &line), 0);
    reference(line.data, line.len - 1, &want);
    if (line.len != want.len || memcmp(line.data, want.data, line.len) != 0)
      fail_msg("event %d differs:\n ours    %.*s jansson %.*s", it, (int)line.len, line.data,
               (int)want.len, want.data);
  }
  /* a string alone, by the same rules */
  for (int k = 0; k < 64; k++) {
    ft_buf_reset(&line);
    assert_int_equal(ft_json_append_string(&line, pool[k], plen[k]), 0);
    reference(line.data, line.len, &want);
    want.len--; /* no newline */
    assert_int_equal(line.len, want.len);
    assert_memory_equal(line.data, want.data, line.len);
  }
  ft_buf_free(&line);
  ft_buf_free(&want);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      FT_TEST(test_writer_writes_what_jansson_dumps),
  };
  return FT_TEST_RUN(tests, 60);
}
