/* test_json.c - events as JSON lines and back (docs/json.md): every kind
 * round-trips with its optional fields on and off, the exact text of a few
 * events, hostile output stays valid JSON, malformed lines are refused. */
#include "ft_test.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 1000000ull /* the run's start, in ns */

static ft_event base(ft_event_kind k) {
  return (ft_event){.kind = k, .t_ns = T0 + 1234567000ull, .pid = 42, .ppid = 7, .name = "main"};
}

static void encode(const ft_event *ev, ft_buf *out) {
  ft_buf_reset(out);
  assert_int_equal(ft_event_to_json(ev, T0, out), 0);
  ft_buf_append(out, "", 1);
  out->len--; /* NUL-terminated for the string asserts */
}

/* The encoded line is one line of valid JSON, an object, with no raw control byte. */
static json_t *parse_line(const ft_buf *b) {
  assert_true(b->len > 0 && b->data[b->len - 1] == '\n');
  for (size_t i = 0; i + 1 < b->len; i++)
    if ((unsigned char)b->data[i] < 0x20)
      fail_msg("raw control byte 0x%02x at %zu", (unsigned char)b->data[i], i);
  json_error_t e;
  json_t *o = json_loadb(b->data, b->len, JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, &e);
  if (!o)
    fail_msg("invalid JSON (%s): %.200s", e.text, b->data);
  assert_true(json_is_object(o));
  return o;
}

/* Every counter of two queue samples is equal (not memcmp: padding). */
static void assert_queue_stats_equal(const ft_queue_stats *a, const ft_queue_stats *b) {
  assert_int_equal(a->puts, b->puts);
  assert_int_equal(a->gets, b->gets);
  assert_int_equal(a->bytes_in, b->bytes_in);
  assert_int_equal(a->bytes_out, b->bytes_out);
  assert_int_equal(a->depth, b->depth);
  assert_int_equal(a->depth_bytes, b->depth_bytes);
  assert_int_equal(a->high_water, b->high_water);
  assert_int_equal(a->capacity, b->capacity);
  assert_int_equal(a->capacity_bytes, b->capacity_bytes);
  assert_int_equal(a->put_blocked_ns, b->put_blocked_ns);
  assert_int_equal(a->get_blocked_ns, b->get_blocked_ns);
  assert_int_equal(a->producers_blocked, b->producers_blocked);
  assert_int_equal(a->consumers_blocked, b->consumers_blocked);
  assert_int_equal(a->owner_deaths, b->owner_deaths);
  assert_int_equal(a->closed, b->closed);
}

/* Every field the schema carries is equal. */

/* Two command lines (NULL: none) hold the same arguments. */
static void assert_argv_equal(const char *const *a, const char *const *b) {
  assert_int_equal(a == NULL, b == NULL);
  for (size_t i = 0; a && (a[i] || b[i]); i++) {
    assert_non_null(a[i]);
    assert_non_null(b[i]);
    assert_string_equal(a[i], b[i]);
  }
}

static void assert_same(const ft_event *a, const ft_event *b) {
  assert_int_equal(a->kind, b->kind);
  assert_int_equal(a->t_ns, b->t_ns);
  assert_int_equal(a->host, b->host);
  assert_int_equal(a->pid, b->pid);
  assert_int_equal(a->ppid, b->ppid);
  assert_string_equal(a->name, b->name);
  switch (a->kind) {
  case FT_EV_SPAWN:
    assert_string_equal(a->u.spawn.role, b->u.spawn.role);
    assert_int_equal(a->u.spawn.worker, b->u.spawn.worker);
    assert_int_equal(a->u.spawn.step != NULL, b->u.spawn.step != NULL);
    if (a->u.spawn.step)
      assert_string_equal(a->u.spawn.step, b->u.spawn.step);
    assert_int_equal(a->u.spawn.launcher_pid, b->u.spawn.launcher_pid);
    assert_argv_equal(a->u.spawn.argv, b->u.spawn.argv);
    assert_int_equal(a->u.spawn.argv_cut, b->u.spawn.argv_cut);
    break;
  case FT_EV_HOST:
    assert_int_equal(a->u.host.lost, b->u.host.lost);
    assert_string_equal(a->u.host.launcher, b->u.host.launcher);
    assert_int_equal(a->u.host.address != NULL, b->u.host.address != NULL);
    assert_int_equal(a->u.host.job != NULL, b->u.host.job != NULL);
    assert_int_equal(a->u.host.cause != NULL, b->u.host.cause != NULL);
    if (a->u.host.address)
      assert_string_equal(a->u.host.address, b->u.host.address);
    if (a->u.host.job)
      assert_string_equal(a->u.host.job, b->u.host.job);
    if (a->u.host.cause)
      assert_string_equal(a->u.host.cause, b->u.host.cause);
    break;
  case FT_EV_STAT:
    assert_int_equal(a->u.stat.state, b->u.stat.state);
    assert_int_equal(a->u.stat.threads, b->u.stat.threads);
    assert_true(a->u.stat.cpu == b->u.stat.cpu);
    assert_int_equal(a->u.stat.rss_kb, b->u.stat.rss_kb);
    break;
  case FT_EV_EXEC:
    assert_string_equal(a->u.exec.path, b->u.exec.path);
    assert_int_equal(a->u.exec.err, b->u.exec.err);
    assert_argv_equal(a->u.exec.argv, b->u.exec.argv);
    assert_int_equal(a->u.exec.argv_cut, b->u.exec.argv_cut);
    break;
  case FT_EV_EXIT:
    assert_int_equal(a->u.exit.code, b->u.exit.code);
    assert_int_equal(a->u.exit.signal, b->u.exit.signal);
    assert_int_equal(a->u.exit.core, b->u.exit.core);
    assert_int_equal(a->u.exit.orphan, b->u.exit.orphan);
    assert_int_equal(a->u.exit.runtime_ns, b->u.exit.runtime_ns);
    break;
  case FT_EV_OUTPUT:
    assert_int_equal(a->u.output.stream, b->u.output.stream);
    assert_int_equal(a->u.output.len, b->u.output.len);
    assert_memory_equal(a->u.output.line, b->u.output.line, a->u.output.len);
    assert_int_equal(a->u.output.truncated, b->u.output.truncated);
    break;
  case FT_EV_TASK_START:
  case FT_EV_TASK_DONE:
  case FT_EV_TASK_FAIL:
    assert_int_equal(a->u.task.task, b->u.task.task);
    assert_int_equal(a->u.task.item, b->u.task.item);
    assert_int_equal(a->u.task.batch, b->u.task.batch);
    assert_int_equal(a->u.task.worker, b->u.task.worker);
    assert_int_equal(a->u.task.status, b->u.task.status);
    assert_int_equal(a->u.task.code, b->u.task.code);
    assert_int_equal(a->u.task.signal, b->u.task.signal);
    assert_int_equal(a->u.task.dur_ns, b->u.task.dur_ns);
    assert_int_equal(a->u.task.cause != NULL, b->u.task.cause != NULL);
    if (a->u.task.cause)
      assert_string_equal(a->u.task.cause, b->u.task.cause);
    break;
  case FT_EV_WORKER_REPLACED:
    /* field by field: memcmp would compare the padding too */
    assert_int_equal(a->u.replaced.worker, b->u.replaced.worker);
    assert_int_equal(a->u.replaced.old_pid, b->u.replaced.old_pid);
    assert_int_equal(a->u.replaced.new_pid, b->u.replaced.new_pid);
    assert_int_equal(a->u.replaced.reason, b->u.replaced.reason);
    break;
  case FT_EV_POOL_START:
  case FT_EV_POOL_END:
    assert_int_equal(a->u.pool.workers, b->u.pool.workers);
    break;
  case FT_EV_SUBMIT:
    assert_int_equal(a->u.submit.batch, b->u.submit.batch);
    assert_int_equal(a->u.submit.first, b->u.submit.first);
    assert_int_equal(a->u.submit.count, b->u.submit.count);
    break;
  case FT_EV_QUEUE:
    assert_queue_stats_equal(&a->u.queue, &b->u.queue);
    break;
  case FT_EV_ERROR:
    assert_int_equal(a->u.error.err, b->u.error.err);
    assert_string_equal(a->u.error.what, b->u.error.what);
    break;
  default:
    fail_msg("unexpected kind %d", a->kind);
  }
}

/* Encode, check the line, decode, compare with what the schema carries;
 * decoding and encoding again gives the same text. */
static void round_trip(const ft_event *in, const char *must_contain) {
  ft_buf line = {0}, again = {0}, strings = {0};
  encode(in, &line);
  if (must_contain && !strstr(line.data, must_contain))
    fail_msg("%s does not contain %s", line.data, must_contain);
  json_t *o = parse_line(&line);
  assert_int_equal(json_object_get(o, "name") != NULL, *in->name != '\0');
  assert_int_equal(json_object_get(o, "host") != NULL, in->host != 0);
  json_decref(o);

  ft_event want = *in, out;
  want.t_ns = in->t_ns > T0 ? (in->t_ns - T0) / 1000 * 1000 : 0;
  if (in->kind == FT_EV_EXIT) {
    want.u.exit.runtime_ns = in->u.exit.runtime_ns / 1000 * 1000;
    if (in->u.exit.signal)
      want.u.exit.code = 0; /* not carried */
  }
  if (in->kind == FT_EV_SPAWN && !in->u.spawn.role)
    want.u.spawn.role = "process";
  assert_int_equal(ft_event_from_json(line.data, line.len, &out, &strings), 0);
  assert_same(&want, &out);

  ft_event out2;
  ft_buf strings2 = {0};
  out.t_ns += T0;
  encode(&out, &again);
  assert_string_equal(again.data, line.data);
  assert_int_equal(ft_event_from_json(again.data, again.len - 1, &out2, &strings2), 0);
  assert_same(&want, &out2);
  ft_buf_free(&line);
  ft_buf_free(&again);
  ft_buf_free(&strings);
  ft_buf_free(&strings2);
}

/* spawn, exec, exit and output, optional fields on and off. */
static void test_round_trip_process_kinds(void **state) {
  (void)state;
  ft_event e = base(FT_EV_SPAWN);
  e.u.spawn.role = "worker";
  e.u.spawn.worker = 3;
  round_trip(&e, "\"role\":\"worker\",\"worker\":3}");
  e.u.spawn.worker = -1;
  e.u.spawn.role = "process";
  e.name = "";
  round_trip(&e, "\"ppid\":7,\"role\":\"process\"}");
  e.u.spawn.role = NULL; /* written as "process" */
  e.host = 5;
  round_trip(&e, "\"host\":5,");

  /* a command line, a control character in it escaped, cut or not */
  static const char *const argv[] = {"cc", "-c", "a b.c", "x\x1b[2J", "", NULL};
  e.u.spawn.argv = argv;
  round_trip(&e, "\"argv\":[\"cc\",\"-c\",\"a b.c\",\"x\\u001B[2J\",\"\"]}");
  e.u.spawn.argv_cut = true;
  round_trip(&e,
             "\"argv\":[\"cc\",\"-c\",\"a b.c\",\"x\\u001B[2J\",\"\"],\"argv_truncated\":true}");
  static const char *const none[] = {NULL};
  e.u.spawn.argv = none;
  e.u.spawn.argv_cut = false;
  round_trip(&e, "\"argv\":[]}");

  e = base(FT_EV_EXEC);
  e.u.exec.path = "/bin/true";
  round_trip(&e, "\"path\":\"/bin/true\"}");
  e.u.exec.argv = argv;
  round_trip(&e, "\"path\":\"/bin/true\",\"argv\":[\"cc\",");
  e.u.exec.argv = NULL;
  e.u.exec.err = -ENOENT;
  round_trip(&e, "\"error\":\"ENOENT\",\"errno\":2}");
  e.u.exec.err = -EACCES;
  e.u.exec.path = "ca\xfft"; /* a path is bytes too */
  ft_buf b = {0};
  encode(&e, &b);
  assert_non_null(strstr(b.data, "\"path\":\"ca\xEF\xBF\xBDt\""));
  ft_buf_free(&b);

  e = base(FT_EV_EXIT);
  e.u.exit.code = 3;
  e.u.exit.runtime_ns = 2500001999ull; /* cut to the microsecond */
  round_trip(&e, "\"code\":3,\"runtime\":2.500001}");
  e.u.exit.code = 0;
  round_trip(&e, "\"code\":0,");
  e.u.exit.signal = SIGKILL;
  e.u.exit.code = 137; /* not carried when a signal is */
  e.u.exit.core = true;
  e.u.exit.orphan = true;
  e.host = 4000000000u;
  round_trip(&e, "\"signal\":\"SIGKILL\",\"signo\":9,\"core\":true,\"orphan\":true,");
  e.u.exit.signal = 40; /* no name: signo carries it */
  e.u.exit.core = e.u.exit.orphan = false;
  round_trip(&e, "\"signal\":\"SIG?\",\"signo\":40,\"runtime\"");

  e = base(FT_EV_OUTPUT);
  e.u.output.stream = 2;
  e.u.output.line = "hello";
  e.u.output.len = 5;
  e.u.output.truncated = true;
  round_trip(&e, "\"stream\":\"stderr\",\"line\":\"hello\",\"truncated\":true}");
  e.u.output.stream = 1;
  e.u.output.truncated = false;
  e.u.output.len = 0;
  round_trip(&e, "\"stream\":\"stdout\",\"line\":\"\"}");
}

/* Task, pool, submit and queue kinds. */
static void test_round_trip_pool_kinds(void **state) {
  (void)state;
  for (ft_event_kind k = FT_EV_TASK_START; k <= FT_EV_TASK_FAIL; k++) {
    ft_event e = base(k);
    e.u.task.task = 10;
    e.u.task.item = 4;
    e.u.task.batch = 2;
    e.u.task.worker = 1;
    if (k != FT_EV_TASK_START)
      e.u.task.dur_ns = 5000;
    if (k == FT_EV_TASK_FAIL)
      e.u.task.status = FT_ECANCELED;
    round_trip(
        &e, "\"pool\":\"main\",\"task\":10,\"item\":4,\"batch\":2,\"worker\":1,\"worker_pid\":42");
  }
  const struct {
    int status, code, signal;
    const char *want;
  } fails[] = {
      {FT_ETASK, 5, 0, "\"status\":\"FT_ETASK\",\"code\":5}"},
      {FT_ETASK, -1, 0, "\"status\":\"FT_ETASK\",\"code\":-1}"},
      {FT_EWORKER, 0, SIGSEGV, "\"status\":\"FT_EWORKER\",\"signal\":\"SIGSEGV\",\"signo\":11}"},
      {FT_EWORKER, 3, 0, "\"status\":\"FT_EWORKER\",\"code\":3}"},
      {FT_EWORKER, 1, 34, "\"code\":1,\"signal\":\"SIG?\",\"signo\":34}"},
      {FT_E2BIG, 0, 0, "\"status\":\"FT_E2BIG\"}"},
      {-ENOMEM, 0, 0, "\"status\":\"ENOMEM\"}"},
  };
  for (size_t i = 0; i < sizeof fails / sizeof fails[0]; i++) {
    ft_event e = base(FT_EV_TASK_FAIL);
    e.u.task.status = fails[i].status;
    e.u.task.code = fails[i].code;
    e.u.task.signal = fails[i].signal;
    e.u.task.dur_ns = 1500000000ull;
    e.u.task.task = UINT64_C(1) << 40;
    round_trip(&e, fails[i].want);
  }
  { /* a worker gone for a reason its exit does not say: the cause, as given */
    ft_event e = base(FT_EV_TASK_FAIL);
    e.u.task.status = FT_EWORKER;
    e.u.task.cause = "host n2 lost: no word from its workers for 3.0 s (heartbeat)";
    round_trip(&e, "\"status\":\"FT_EWORKER\",\"cause\":\"host n2 lost: no word from its "
                   "workers for 3.0 s (heartbeat)\"}");
  }

  ft_event e = base(FT_EV_WORKER_REPLACED);
  e.u.replaced.worker = 2;
  e.u.replaced.old_pid = 100;
  e.u.replaced.new_pid = 101;
  e.u.replaced.reason = FT_REPLACE_RECYCLED;
  round_trip(&e, "\"worker\":2,\"old_pid\":100,\"new_pid\":101,\"reason\":\"recycled\"}");
  e.u.replaced.reason = FT_REPLACE_DIED;
  round_trip(&e, "\"reason\":\"died\"}");
  e = base(FT_EV_POOL_START);
  e.u.pool.workers = 35;
  round_trip(&e, "\"workers\":35}");
  e = base(FT_EV_POOL_END);
  round_trip(&e, "\"workers\":0}");
  e = base(FT_EV_SUBMIT);
  e.u.submit.batch = 1;
  e.u.submit.first = 10;
  e.u.submit.count = 5;
  round_trip(&e, "\"batch\":1,\"first\":10,\"count\":5}");
  e = base(FT_EV_ERROR);
  e.u.error.err = -EMFILE;
  e.u.error.what = "fork worker 5";
  round_trip(
      &e, "\"what\":\"fork worker 5\",\"error\":\"EMFILE\",\"message\":\"Too many open files\"}");
  e.u.error.err = FT_ENOTRUNNING;
  round_trip(&e, "\"error\":\"FT_ENOTRUNNING\"");
  e = base(FT_EV_QUEUE);
  e.name = "q";
  round_trip(&e, "\"queue\":\"q\",\"puts\":0,");
  e.u.queue = (ft_queue_stats){.puts = 3,
                               .gets = 2,
                               .bytes_in = 30,
                               .bytes_out = 20,
                               .depth = 1,
                               .depth_bytes = 10,
                               .high_water = 2,
                               .capacity = 10,
                               .capacity_bytes = 1024,
                               .put_blocked_ns = 1000000,
                               .get_blocked_ns = 2000,
                               .producers_blocked = 1,
                               .consumers_blocked = 2,
                               .owner_deaths = 1,
                               .closed = true};
  round_trip(&e, "\"put_blocked\":0.001,\"get_blocked\":2e-6,");
  e.u.queue.puts = (uint64_t)INT64_MAX;
  e.u.queue.owner_deaths = UINT32_MAX;
  round_trip(&e, "\"closed\":true}");
}

/* The exact text of a few events. */
static void test_exact_text(void **state) {
  (void)state;
  ft_buf b = {0};
  ft_event e = base(FT_EV_SPAWN);
  e.u.spawn.role = "worker";
  e.u.spawn.worker = 0;
  e.host = 2;
  encode(&e, &b);
  assert_string_equal(b.data,
                      "{\"t\":1.234567,\"ev\":\"spawn\",\"pid\":42,\"ppid\":7,\"name\":\"main\","
                      "\"host\":2,\"role\":\"worker\",\"worker\":0}\n");
  e = base(FT_EV_EXIT);
  e.t_ns = T0 + 1500000000ull;
  e.u.exit.signal = SIGTERM;
  e.u.exit.runtime_ns = 250000000ull;
  encode(&e, &b);
  assert_string_equal(b.data, "{\"t\":1.5,\"ev\":\"exit\",\"pid\":42,\"ppid\":7,\"name\":\"main\","
                              "\"signal\":\"SIGTERM\",\"signo\":15,\"runtime\":0.25}\n");
  e = base(FT_EV_OUTPUT);
  e.t_ns = T0 - 1; /* before t0: 0 */
  e.name = "";
  e.u.output.stream = 1;
  e.u.output.line = "\x1b[31mred\x1b[0m\t\"q\\\x7f/";
  e.u.output.len = strlen(e.u.output.line);
  encode(&e, &b);
  assert_string_equal(b.data,
                      "{\"t\":0.0,\"ev\":\"output\",\"pid\":42,\"ppid\":7,\"stream\":\"stdout\","
                      "\"line\":\"\\u001B[31mred\\u001B[0m\\t\\\"q\\\\\\u007F/\"}\n");
  /* C1 and a bidi override: escaped as jansson escapes C0 */
  e.u.output.line = "\xc2\x9b"
                    "1m\xe2\x80\xae!";
  e.u.output.len = strlen(e.u.output.line);
  encode(&e, &b);
  assert_string_equal(b.data,
                      "{\"t\":0.0,\"ev\":\"output\",\"pid\":42,\"ppid\":7,\"stream\":\"stdout\","
                      "\"line\":\"\\u009B1m\\u202E!\"}\n");
  /* a string by the same rules, for lines written outside the encoder */
  ft_buf_reset(&b);
  assert_int_equal(ft_json_append_string(&b, "w\x1b]0;\xc2\x9d\xff\"", 9), 0);
  assert_int_equal(b.len, strlen("\"w\\u001B]0;\\u009D\xef\xbf\xbd\\\"\""));
  assert_memory_equal(b.data, "\"w\\u001B]0;\\u009D\xef\xbf\xbd\\\"\"", b.len);
  e = base(FT_EV_TASK_FAIL);
  e.u.task.task = 7;
  e.u.task.item = 3;
  e.u.task.batch = 1;
  e.u.task.worker = 2;
  e.u.task.status = FT_EWORKER;
  e.u.task.signal = SIGKILL;
  e.u.task.dur_ns = 5000000;
  encode(&e, &b);
  assert_string_equal(
      b.data, "{\"t\":1.234567,\"ev\":\"task_fail\",\"pid\":42,\"ppid\":7,\"name\":\"main\","
              "\"pool\":\"main\",\"task\":7,\"item\":3,\"batch\":1,\"worker\":2,"
              "\"worker_pid\":42,\"dur\":0.005,\"status\":\"FT_EWORKER\","
              "\"signal\":\"SIGKILL\",\"signo\":9}\n");
  e = base(FT_EV_QUEUE);
  e.name = "q";
  e.u.queue = (ft_queue_stats){.puts = 3,
                               .gets = 3,
                               .bytes_in = 3,
                               .bytes_out = 3,
                               .high_water = 1,
                               .capacity = 10,
                               .capacity_bytes = 1048576,
                               .get_blocked_ns = 97581000,
                               .consumers_blocked = 1};
  encode(&e, &b);
  assert_string_equal(b.data,
                      "{\"t\":1.234567,\"ev\":\"queue\",\"pid\":42,\"ppid\":7,\"name\":\"q\","
                      "\"queue\":\"q\",\"puts\":3,\"gets\":3,\"bytes_in\":3,\"bytes_out\":3,"
                      "\"depth\":0,\"depth_bytes\":0,\"high_water\":1,\"capacity\":10,"
                      "\"capacity_bytes\":1048576,\"put_blocked\":0.0,\"get_blocked\":0.097581,"
                      "\"producers_blocked\":0,\"consumers_blocked\":1,\"owner_deaths\":0,"
                      "\"closed\":false}\n");
  /* lines are appended: what the buffer held stays */
  ft_buf_reset(&b);
  ft_buf_append(&b, "x\n", 2);
  assert_int_equal(ft_event_to_json(&e, T0, &b), 0);
  assert_memory_equal(b.data, "x\n{\"t\":1.234567,", 16);
  /* bad arguments leave the buffer alone */
  size_t len = b.len;
  e.kind = FT_EV_COUNT_;
  assert_int_equal(ft_event_to_json(&e, T0, &b), FT_EINVAL);
  assert_int_equal(ft_event_to_json(NULL, T0, &b), FT_EINVAL);
  assert_int_equal(b.len, len);
  ft_buf_free(&b);
}

/* The encoded line holds nothing raw that would drive a terminal: no C0
 * control but its final newline, no DEL, no C1 (U+0080-U+009F), no bidi
 * control or separator: each is a \uXXXX escape. */
static void assert_terminal_safe(const ft_buf *b) {
  const unsigned char *p = (const unsigned char *)b->data;
  assert_true(b->len > 0 && p[b->len - 1] == '\n');
  for (size_t i = 0; i + 1 < b->len; i++) {
    assert_true(p[i] >= 0x20 && p[i] != 0x7f);
    if (p[i] == 0xc2)
      assert_false(p[i + 1] >= 0x80 && p[i + 1] < 0xa0); /* C1 */
    if (p[i] == 0xe2 && i + 2 < b->len) {
      unsigned cp = 0x2000u | ((p[i + 1] & 0x3fu) << 6) | (p[i + 2] & 0x3fu);
      assert_false((cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ||
                   cp == 0x2028 || cp == 0x2029 || cp == 0x200e || cp == 0x200f);
    }
  }
}

/* Decode a hostile line: valid JSON, and the text given back is want. */
static void hostile(const char *s, size_t n, const char *want, size_t want_len) {
  ft_event e = base(FT_EV_OUTPUT), back;
  e.u.output.stream = 2;
  e.u.output.line = s;
  e.u.output.len = n;
  ft_buf b = {0}, strings = {0};
  encode(&e, &b);
  json_t *o = parse_line(&b); /* jansson checks the UTF-8 too */
  json_t *line = json_object_get(o, "line");
  assert_int_equal(json_string_length(line), want_len);
  assert_memory_equal(json_string_value(line), want, want_len);
  json_decref(o);
  assert_null(memchr(b.data, 0x1b, b.len)); /* escaped, never raw */
  assert_terminal_safe(&b);
  assert_int_equal(ft_event_from_json(b.data, b.len, &back, &strings), 0);
  assert_int_equal(back.u.output.len, want_len);
  assert_memory_equal(back.u.output.line, want, want_len);
  assert_int_equal(back.u.output.line[want_len], '\0');
  ft_buf_free(&b);
  ft_buf_free(&strings);
}

#define HOSTILE(s, want) hostile(s, sizeof(s) - 1, want, sizeof(want) - 1)
#define FFFD "\xEF\xBF\xBD"

/* Escape sequences, NULs, invalid UTF-8 and huge lines stay valid JSON. */
static void test_hostile_output(void **state) {
  (void)state;
  HOSTILE("\x1b[2J\x1b]52;c;aGk=\x07\x1b]0;owned\x07\x1b"
          "c",
          "\x1b[2J\x1b]52;c;aGk=\x07\x1b]0;owned\x07\x1b"
          "c");
  HOSTILE("a\0b\0", "a\0b\0");
  HOSTILE("\r\n\b\f\x01\x1f\x7f", "\r\n\b\f\x01\x1f\x7f");
  HOSTILE("bad \xff\xfe utf8 \xc0\x80 end", "bad " FFFD FFFD " utf8 " FFFD FFFD " end");
  HOSTILE("cut \xe2\x82", "cut " FFFD FFFD);
  HOSTILE("surrogate \xed\xa0\x80", "surrogate " FFFD FFFD FFFD);
  HOSTILE("too big \xf4\x90\x80\x80", "too big " FFFD FFFD FFFD FFFD);
  HOSTILE("\x80x\xbf", FFFD "x" FFFD);
  HOSTILE("ok \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xef\xbf\xbd",
          "ok \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xef\xbf\xbd");
  /* C1 controls as UTF-8 (CSI, OSC, ST), bidi overrides and isolates,
   * separators: valid text, kept, but escaped in the stream */
  HOSTILE("c1 \xc2\x9b"
          "31m \xc2\x9d"
          "0;x\xc2\x9c \xc2\x80\xc2\x9f",
          "c1 \xc2\x9b"
          "31m \xc2\x9d"
          "0;x\xc2\x9c \xc2\x80\xc2\x9f");
  HOSTILE("bidi \xe2\x80\xae"
          "cod.exe \xe2\x81\xa6 \xe2\x80\xa8 \xe2\x80\xa9 \xe2\x80\x8f",
          "bidi \xe2\x80\xae"
          "cod.exe \xe2\x81\xa6 \xe2\x80\xa8 \xe2\x80\xa9 \xe2\x80\x8f");

  /* every byte value */
  char all[256], want_all[128 + 128 * 3];
  size_t w = 0;
  for (int i = 0; i < 256; i++) {
    all[i] = (char)i;
    if (i < 0x80)
      want_all[w++] = (char)i;
    else
      memcpy(want_all + w, FFFD, 3), w += 3;
  }
  hostile(all, sizeof all, want_all, w);

  /* 100 KB: plain, and all invalid (cleaned on the heap, 300 KB) */
  size_t n = 100 * 1024;
  char *big = malloc(n), *want = malloc(3 * n);
  assert_non_null(big);
  assert_non_null(want);
  memset(big, 'x', n);
  big[n / 2] = '\0';
  hostile(big, n, big, n);
  memset(big, 0xff, n);
  for (size_t i = 0; i < n; i++)
    memcpy(want + 3 * i, FFFD, 3);
  hostile(big, n, want, 3 * n);
  free(big);
  free(want);
}

/* Malformed lines and lines that are not events are refused. */
static void test_malformed_lines(void **state) {
  (void)state;
  const char *bad[] = {
      "",
      " ",
      "\n",
      "not json",
      "{",
      "}",
      "[1,2,3]",
      "[{\"t\":1,\"ev\":\"spawn\",\"pid\":1,\"ppid\":1,\"role\":\"process\"}]",
      "42",
      "\"spawn\"",
      "null",
      "true",
      "{}",
      "{\"t\":1}",
      "{\"t\":1,\"pid\":1,\"ppid\":1,\"role\":\"process\"}",                  /* no ev */
      "{\"t\":1,\"ev\":\"nope\",\"pid\":1,\"ppid\":1}",                       /* unknown ev */
      "{\"t\":1,\"ev\":\"SPAWN\",\"pid\":1,\"ppid\":1,\"role\":\"process\"}", /* case matters */
      "{\"t\":1,\"ev\":\"spawn\\u0000x\",\"pid\":1,\"ppid\":1,\"role\":\"p\"}",
      "{\"t\":1,\"ev\":7,\"pid\":1,\"ppid\":1}",
      "{\"t\":1,\"ev\":\"spawn\",\"pid\":1,\"ppid\":1,\"role\":\"p\",\"argv\":\"sh\"}",
      "{\"t\":1,\"ev\":\"spawn\",\"pid\":1,\"ppid\":1,\"role\":\"p\",\"argv\":[\"sh\",1]}",
      "{\"t\":1,\"ev\":\"exec\",\"pid\":1,\"ppid\":1,\"path\":\"p\",\"argv\":[\"a\\u0000b\"]}",
      "{\"t\":1,\"ev\":\"exec\",\"pid\":1,\"ppid\":1,\"path\":\"p\",\"argv\":[],"
      "\"argv_truncated\":1}",
      "{\"t\":1,\"ev\":null,\"pid\":1,\"ppid\":1}",
      "{\"ev\":\"spawn\",\"pid\":1,\"ppid\":1,\"role\":\"process\"}", /* no t */
      "{\"t\":\"x\",\"ev\":\"exit\",\"pid\":1,\"ppid\":1,\"code\":0,\"runtime\":0}",
      "{\"t\":-1,\"ev\":\"exit\",\"pid\":1,\"ppid\":1,\"code\":0,\"runtime\":0}",
      "{\"t\":1e300,\"ev\":\"exit\",\"pid\":1,\"ppid\":1,\"code\":0,\"runtime\":0}",
      "{\"t\":1e400,\"ev\":\"exit\",\"pid\":1,\"ppid\":1,\"code\":0,\"runtime\":0}",
      "{\"t\":1,\"ev\":\"exit\",\"pid\":-5,\"ppid\":1,\"code\":0,\"runtime\":0}",
      "{\"t\":1,\"ev\":\"exit\",\"pid\":99999999999999,\"ppid\":1,\"code\":0,\"runtime\":0}",
      "{\"t\":1,\"ev\":\"exit\",\"pid\":99999999999999999999999,\"ppid\":1,\"code\":0,\"runtime\":"
      "0}",
      "{\"t\":1,\"ev\":\"exit\",\"pid\":1.5,\"ppid\":1,\"code\":0,\"runtime\":0}",
      "{\"t\":1,\"ev\":\"exit\",\"pid\":\"1\",\"ppid\":1,\"code\":0,\"runtime\":0}",
      "{\"t\":1,\"ev\":\"exit\",\"pid\":1,\"code\":0,\"runtime\":0}", /* no ppid */
      "{\"t\":1,\"ev\":\"exit\",\"pid\":1,\"ppid\":1,\"runtime\":0}", /* no code or signal */
      "{\"t\":1,\"ev\":\"exit\",\"pid\":1,\"ppid\":1,\"code\":0}",    /* no runtime */
      "{\"t\":1,\"ev\":\"exit\",\"pid\":1,\"ppid\":1,\"code\":4294967296,\"runtime\":0}",
      "{\"t\":1,\"ev\":\"exit\",\"pid\":1,\"ppid\":1,\"signal\":\"SIGFOO\",\"runtime\":0}",
      "{\"t\":1,\"ev\":\"exit\",\"pid\":1,\"ppid\":1,\"signal\":9,\"runtime\":0}",
      "{\"t\":1,\"ev\":\"exit\",\"pid\":1,\"ppid\":1,\"signo\":65,\"runtime\":0}",
      "{\"t\":1,\"ev\":\"exit\",\"pid\":1,\"ppid\":1,\"code\":0,\"core\":1,\"runtime\":0}",
      "{\"t\":1,\"ev\":\"exit\",\"pid\":1,\"ppid\":1,\"code\":0,\"runtime\":\"1\"}",
      "{\"t\":1,\"ev\":\"exit\",\"pid\":1,\"ppid\":1,\"code\":0,\"runtime\":0,\"host\":-1}",
      "{\"t\":1,\"ev\":\"exit\",\"pid\":1,\"ppid\":1,\"code\":0,\"runtime\":0,\"name\":5}",
      "{\"t\":1,\"ev\":\"exit\",\"pid\":1,\"ppid\":1,\"code\":0,\"runtime\":0", /* truncated */
      "{\"t\":1,\"ev\":\"exit\",\"pid\":1,\"ppid\":1,\"code\":0,\"runtime\":0}}",
      "{\"t\":1,\"ev\":\"exit\",\"pid\":1,\"ppid\":1,\"code\":0,\"runtime\":0}{}",
      "{\"t\":1,\"t\":2,\"ev\":\"exit\",\"pid\":1,\"ppid\":1,\"code\":0,\"runtime\":0}",
      "{\"t\":1,\"ev\":\"spawn\",\"pid\":1,\"ppid\":1}", /* no role */
      "{\"t\":1,\"ev\":\"spawn\",\"pid\":1,\"ppid\":1,\"role\":[]}",
      "{\"t\":1,\"ev\":\"spawn\",\"pid\":1,\"ppid\":1,\"role\":\"p\",\"worker\":-1}",
      "{\"t\":1,\"ev\":\"exec\",\"pid\":1,\"ppid\":1,\"path\":\"x\",\"errno\":0}",
      "{\"t\":1,\"ev\":\"exec\",\"pid\":1,\"ppid\":1,\"path\":\"x\",\"error\":2}",
      "{\"t\":1,\"ev\":\"output\",\"pid\":1,\"ppid\":1}",
      "{\"t\":1,\"ev\":\"output\",\"pid\":1,\"ppid\":1,\"stream\":\"stdout\"}",
      "{\"t\":1,\"ev\":\"output\",\"pid\":1,\"ppid\":1,\"stream\":\"stdin\",\"line\":\"\"}",
      "{\"t\":1,\"ev\":\"output\",\"pid\":1,\"ppid\":1,\"stream\":\"stdout\",\"line\":null}",
      "{\"t\":1,\"ev\":\"output\",\"pid\":1,\"ppid\":1,\"stream\":\"stdout\",\"line\":\"\xff\"}",
      "{\"t\":1,\"ev\":\"output\",\"pid\":1,\"ppid\":1,\"stream\":\"stdout\",\"line\":\"\\ud800\"}",
      "{\"t\":1,\"ev\":\"task_start\",\"pid\":1,\"ppid\":1,\"task\":1,\"item\":1,\"batch\":1,"
      "\"worker\":1}",
      "{\"t\":1,\"ev\":\"task_start\",\"pid\":1,\"ppid\":1,\"pool\":\"p\",\"task\":-1,\"item\":1,"
      "\"batch\":1,"
      "\"worker\":1}",
      "{\"t\":1,\"ev\":\"task_done\",\"pid\":1,\"ppid\":1,\"pool\":\"p\",\"task\":1,\"item\":1,"
      "\"batch\":1,"
      "\"worker\":1}",
      "{\"t\":1,\"ev\":\"task_fail\",\"pid\":1,\"ppid\":1,\"pool\":\"p\",\"task\":1,\"item\":1,"
      "\"batch\":1,"
      "\"worker\":1,\"dur\":0}",
      "{\"t\":1,\"ev\":\"task_fail\",\"pid\":1,\"ppid\":1,\"pool\":\"p\",\"task\":1,\"item\":1,"
      "\"batch\":1,"
      "\"worker\":1,\"dur\":0,\"status\":\"UNKNOWN\"}",
      "{\"t\":1,\"ev\":\"task_fail\",\"pid\":1,\"ppid\":1,\"pool\":\"p\",\"task\":1,\"item\":1,"
      "\"batch\":1,"
      "\"worker\":1,\"dur\":0,\"status\":\"FT_EWHATEVER\"}",
      "{\"t\":1,\"ev\":\"worker_replaced\",\"pid\":1,\"ppid\":1,\"worker\":1,\"old_pid\":2,\"new_"
      "pid\":3,"
      "\"reason\":\"bored\"}",
      "{\"t\":1,\"ev\":\"pool_start\",\"pid\":1,\"ppid\":1}",
      "{\"t\":1,\"ev\":\"submit\",\"pid\":1,\"ppid\":1,\"batch\":1,\"first\":1}",
      "{\"t\":1,\"ev\":\"queue\",\"pid\":1,\"ppid\":1,\"queue\":\"q\",\"puts\":1}",
      "{\"t\":1,\"ev\":\"summary\",\"workload\":\"x\",\"processes\":2,\"exited\":2,\"failed\":0,"
      "\"tasks\":0,\"tasks_done\":0,\"tasks_failed\":0,\"exit_status\":0}",
      "{\"t\":0.105253,\"ev\":\"summary\",\"workload\":\"queue\",\"processes\":2,\"exited\":2,"
      "\"failed\":0,"
      "\"orphans\":0,\"tasks\":0,\"tasks_done\":0,\"tasks_failed\":0,\"interrupted\":false,\"exit_"
      "status\":0}",
  };
  ft_buf strings = {0};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ft_event e;
    if (ft_event_from_json(bad[i], strlen(bad[i]), &e, &strings) != FT_EINVAL)
      fail_msg("accepted: %s", bad[i]);
    assert_int_equal(e.kind, 0);
    assert_string_equal(e.name, "");
  }
  /* NULs and garbage bytes, deep nesting, a long line of junk */
  ft_event e;
  assert_int_equal(ft_event_from_json("{\0}", 3, &e, &strings), FT_EINVAL);
  assert_int_equal(ft_event_from_json(NULL, 0, &e, &strings), FT_EINVAL);
  assert_int_equal(ft_event_from_json("{}", 2, &e, NULL), FT_EINVAL);
  assert_int_equal(ft_event_from_json("{}", 2, NULL, &strings), FT_EINVAL);
  size_t n = 200000;
  char *junk = malloc(n);
  assert_non_null(junk);
  memset(junk, '[', n);
  assert_int_equal(ft_event_from_json(junk, n, &e, &strings), FT_EINVAL);
  memset(junk, '{', n);
  assert_int_equal(ft_event_from_json(junk, n, &e, &strings), FT_EINVAL);
  for (size_t i = 0; i < n; i++)
    junk[i] = (char)(i * 7919 % 251);
  assert_int_equal(ft_event_from_json(junk, n, &e, &strings), FT_EINVAL);
  free(junk);
  ft_buf_free(&strings);
}

/* Readers ignore unknown fields; a trailing newline is fine; strings are reset per call. */
static void test_lenient_where_documented(void **state) {
  (void)state;
  ft_buf strings = {0};
  ft_event e;
  const char *l = "{\"t\":0.011298,\"ev\":\"spawn\",\"pid\":9906,\"ppid\":9904,\"name\":\"main\","
                  "\"role\":\"worker\",\"worker\":0,\"future\":{\"x\":[1,null]},\"cpu\":0.5}\r\n";
  assert_int_equal(ft_event_from_json(l, strlen(l), &e, &strings), 0);
  assert_int_equal(e.kind, FT_EV_SPAWN);
  assert_int_equal(e.t_ns, 11298000);
  assert_int_equal(e.pid, 9906);
  assert_string_equal(e.name, "main");
  assert_string_equal(e.u.spawn.role, "worker");
  assert_int_equal(e.u.spawn.worker, 0);
  /* an older recording: queue without name; t as an integer; signal by name only */
  l = "{\"t\":2,\"ev\":\"queue\",\"pid\":9900,\"ppid\":1,\"queue\":\"q\",\"puts\":2,\"gets\":2,"
      "\"bytes_in\":2,\"bytes_out\":2,\"depth\":0,\"depth_bytes\":0,\"high_water\":1,\"capacity\":"
      "10,"
      "\"capacity_bytes\":1048576,\"put_blocked\":0.0,\"get_blocked\":0.047175,"
      "\"producers_blocked\":0,\"consumers_blocked\":1,\"owner_deaths\":0,\"closed\":false}";
  assert_int_equal(ft_event_from_json(l, strlen(l), &e, &strings), 0);
  assert_int_equal(e.t_ns, 2000000000ull);
  assert_string_equal(e.name, "q");
  assert_int_equal(e.u.queue.get_blocked_ns, 47175000);
  size_t before = strings.len;
  l = "{\"t\":1,\"ev\":\"exit\",\"pid\":1,\"ppid\":0,\"signal\":\"SIGTERM\",\"runtime\":0.5}";
  assert_int_equal(ft_event_from_json(l, strlen(l), &e, &strings), 0);
  assert_int_equal(e.u.exit.signal, SIGTERM);
  assert_int_equal(e.u.exit.runtime_ns, 500000000);
  assert_true(strings.len <= before); /* reset, not appended to */
  ft_buf_free(&strings);
}

/* Every prefix of a valid line is refused; lines with a byte changed never
 * crash, and whatever they decode to encodes and decodes again. */
static void test_mutations(void **state) {
  (void)state;
  ft_event evs[4] = {base(FT_EV_EXIT), base(FT_EV_OUTPUT), base(FT_EV_TASK_FAIL),
                     base(FT_EV_QUEUE)};
  evs[0].u.exit.signal = SIGKILL;
  evs[1].u.output.stream = 2;
  evs[1].u.output.line = "\x1b[1mhi\xff";
  evs[1].u.output.len = 8;
  evs[2].u.task.status = FT_ETASK;
  evs[2].u.task.code = 5;
  evs[3].u.queue.puts = 12;
  const char subst[] = {'"', '0', '9', '-', '\\', '{', '\0', '\x80'};
  ft_buf line = {0}, copy = {0}, again = {0}, strings = {0}, strings2 = {0};
  size_t accepted = 0;
  for (size_t k = 0; k < 4; k++) {
    encode(&evs[k], &line);
    ft_event e, e2;
    for (size_t n = 0; n + 1 < line.len; n++)
      assert_int_equal(ft_event_from_json(line.data, n, &e, &strings), FT_EINVAL);
    for (size_t i = 0; i < line.len; i++) {
      for (size_t s = 0; s < sizeof subst; s++) {
        ft_buf_reset(&copy);
        ft_buf_append(&copy, line.data, line.len);
        copy.data[i] = subst[s];
        if (ft_event_from_json(copy.data, copy.len, &e, &strings) != 0)
          continue;
        accepted++;
        ft_buf_reset(&again);
        assert_int_equal(ft_event_to_json(&e, 0, &again), 0);
        assert_int_equal(ft_event_from_json(again.data, again.len, &e2, &strings2), 0);
        assert_same(&e, &e2);
      }
    }
  }
  assert_true(accepted > 10); /* digits changed, say */
  ft_buf_free(&line);
  ft_buf_free(&copy);
  ft_buf_free(&again);
  ft_buf_free(&strings);
  ft_buf_free(&strings2);
}

/* Hosts (issue 16): host joins and losses, a remote spawn's step and
 * launcher pid, agent stat samples; their exact text; what is refused. */
static void test_hosts(void **state) {
  (void)state;
  ft_event e = base(FT_EV_HOST);
  e.host = 3;
  e.name = "node2";
  e.u.host.launcher = "slurm";
  round_trip(&e, "\"state\":\"up\"");
  e.u.host.address = "10.0.0.2";
  e.u.host.job = "1234";
  e.u.host.lost = true;
  e.u.host.cause = "no heartbeat for 4 s";
  round_trip(&e, "\"cause\":\"no heartbeat for 4 s\"");
  ft_buf b = {0}, strings = {0};
  encode(&e, &b);
  assert_string_equal(b.data, "{\"t\":1.234567,\"ev\":\"host\",\"pid\":42,\"ppid\":7,"
                              "\"name\":\"node2\",\"host\":3,\"address\":\"10.0.0.2\","
                              "\"launcher\":\"slurm\",\"job\":\"1234\",\"state\":\"lost\","
                              "\"cause\":\"no heartbeat for 4 s\"}\n");

  ft_event s = base(FT_EV_SPAWN);
  s.host = 3;
  s.u.spawn.role = "worker";
  s.u.spawn.worker = 1;
  round_trip(&s, "\"host\":3");
  s.u.spawn.step = "1234.7";
  s.u.spawn.launcher_pid = 4242;
  round_trip(&s, "\"step\":\"1234.7\",\"launcher_pid\":4242");

  ft_event st = base(FT_EV_STAT);
  st.host = 3;
  st.u.stat.state = 'R';
  st.u.stat.threads = 2;
  st.u.stat.cpu = 99.5;
  st.u.stat.rss_kb = 10240;
  round_trip(&st, "\"state\":\"R\",\"threads\":2,\"cpu\":99.5,\"rss_kb\":10240");

  ft_event out;
  static const char *const bad[] = {
      /* a host event about host 0 (this machine), no launcher, an unknown state */
      "{\"t\":1,\"ev\":\"host\",\"pid\":1,\"ppid\":0,\"name\":\"a\",\"launcher\":\"tcp\","
      "\"state\":\"up\"}",
      "{\"t\":1,\"ev\":\"host\",\"pid\":1,\"ppid\":0,\"host\":1,\"state\":\"up\"}",
      "{\"t\":1,\"ev\":\"host\",\"pid\":1,\"ppid\":0,\"host\":1,\"launcher\":\"tcp\","
      "\"state\":\"down\"}",
      /* a stat with a two-letter state, a negative cpu; a spawn's launcher_pid of 0 */
      "{\"t\":1,\"ev\":\"stat\",\"pid\":1,\"ppid\":0,\"host\":1,\"state\":\"RS\","
      "\"threads\":1,\"cpu\":0,\"rss_kb\":1}",
      "{\"t\":1,\"ev\":\"stat\",\"pid\":1,\"ppid\":0,\"host\":1,\"state\":\"R\","
      "\"threads\":1,\"cpu\":-1,\"rss_kb\":1}",
      "{\"t\":1,\"ev\":\"spawn\",\"pid\":1,\"ppid\":0,\"host\":1,\"role\":\"worker\","
      "\"launcher_pid\":0}",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    if (ft_event_from_json(bad[i], strlen(bad[i]), &out, &strings) != FT_EINVAL)
      fail_msg("accepted: %s", bad[i]);
  ft_buf_free(&b);
  ft_buf_free(&strings);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      FT_TEST(test_hosts),
      FT_TEST(test_round_trip_process_kinds),
      FT_TEST(test_round_trip_pool_kinds),
      FT_TEST(test_exact_text),
      FT_TEST(test_hostile_output),
      FT_TEST(test_malformed_lines),
      FT_TEST(test_lenient_where_documented),
      FT_TEST(test_mutations),
  };
  return FT_TEST_RUN(tests, 60);
}
