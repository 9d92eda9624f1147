/* test_json.c - events as JSON lines and back: every kind round-trips,
 * hostile output stays valid JSON, malformed lines are refused. */
#include "ft_test.h"

#include <jansson.h>
#include <string.h>

static void round_trip(const ft_event *in, const char *must_contain) {
  ft_buf line = {0}, strings = {0};
  assert_int_equal(ft_event_to_json(in, 1000, &line), 0);
  assert_true(line.len > 0 && line.data[line.len - 1] == '\n');
  ft_buf_append(&line, "", 1);
  if (must_contain && !strstr(line.data, must_contain))
    fail_msg("%s does not contain %s", line.data, must_contain);
  json_error_t e;
  json_t *o = json_loads(line.data, 0, &e);
  assert_non_null(o);
  json_decref(o);
  ft_event out;
  assert_int_equal(ft_event_from_json(line.data, line.len - 2, &out, &strings), 0);
  assert_int_equal(out.kind, in->kind);
  assert_int_equal(out.t_ns, in->t_ns - 1000);
  assert_int_equal(out.pid, in->pid);
  assert_int_equal(out.ppid, in->ppid);
  assert_int_equal(out.host, in->host);
  if (in->kind != FT_EV_OUTPUT)
    assert_string_equal(out.name, in->name);
  switch (in->kind) {
  case FT_EV_SPAWN:
    assert_string_equal(out.u.spawn.role, in->u.spawn.role);
    assert_int_equal(out.u.spawn.worker, in->u.spawn.worker);
    break;
  case FT_EV_EXEC:
    assert_string_equal(out.u.exec.path, in->u.exec.path);
    assert_int_equal(out.u.exec.err, in->u.exec.err);
    break;
  case FT_EV_EXIT:
    assert_int_equal(out.u.exit.code, in->u.exit.code);
    assert_int_equal(out.u.exit.signal, in->u.exit.signal);
    assert_int_equal(out.u.exit.core, in->u.exit.core);
    assert_int_equal(out.u.exit.orphan, in->u.exit.orphan);
    assert_int_equal(out.u.exit.runtime_ns, in->u.exit.runtime_ns);
    break;
  case FT_EV_OUTPUT:
    assert_int_equal(out.u.output.stream, in->u.output.stream);
    assert_int_equal(out.u.output.len, in->u.output.len);
    assert_memory_equal(out.u.output.line, in->u.output.line, in->u.output.len);
    assert_int_equal(out.u.output.truncated, in->u.output.truncated);
    break;
  case FT_EV_TASK_START:
  case FT_EV_TASK_DONE:
  case FT_EV_TASK_FAIL:
    assert_int_equal(out.u.task.task, in->u.task.task);
    assert_int_equal(out.u.task.item, in->u.task.item);
    assert_int_equal(out.u.task.batch, in->u.task.batch);
    assert_int_equal(out.u.task.worker, in->u.task.worker);
    assert_int_equal(out.u.task.status, in->u.task.status);
    assert_int_equal(out.u.task.code, in->u.task.code);
    assert_int_equal(out.u.task.signal, in->u.task.signal);
    assert_int_equal(out.u.task.dur_ns, in->u.task.dur_ns);
    break;
  case FT_EV_WORKER_REPLACED:
    assert_memory_equal(&out.u.replaced, &in->u.replaced, sizeof in->u.replaced);
    break;
  case FT_EV_POOL_START:
  case FT_EV_POOL_END:
    assert_int_equal(out.u.pool.workers, in->u.pool.workers);
    break;
  case FT_EV_SUBMIT:
    assert_memory_equal(&out.u.submit, &in->u.submit, sizeof in->u.submit);
    break;
  case FT_EV_QUEUE:
    assert_memory_equal(&out.u.queue, &in->u.queue, sizeof in->u.queue);
    break;
  default:
    break;
  }
  ft_buf_free(&line);
  ft_buf_free(&strings);
}

static ft_event base(ft_event_kind k) {
  return (ft_event){.kind = k, .t_ns = 1000 + 1234567000ull, .pid = 42, .ppid = 7, .name = "main"};
}

/* Every kind, optional fields on and off, comes back equal. */
static void test_round_trip_every_kind(void **state) {
  (void)state;
  ft_event e = base(FT_EV_SPAWN);
  e.u.spawn.role = "worker";
  e.u.spawn.worker = 3;
  round_trip(&e, "\"worker\":3");
  e.u.spawn.worker = -1;
  e.u.spawn.role = "process";
  round_trip(&e, NULL);
  e = base(FT_EV_EXEC);
  e.u.exec.path = "/bin/true";
  round_trip(&e, NULL);
  e.u.exec.err = -2;
  round_trip(&e, "\"error\":\"ENOENT\"");
  e = base(FT_EV_EXIT);
  e.u.exit.code = 3;
  e.u.exit.runtime_ns = 2500000000ull;
  round_trip(&e, "\"code\":3");
  e.u.exit.code = 0;
  e.u.exit.signal = 9;
  e.u.exit.core = true;
  e.u.exit.orphan = true;
  e.host = 5;
  round_trip(&e, "\"signal\":\"SIGKILL\"");
  e = base(FT_EV_OUTPUT);
  e.u.output.stream = 2;
  e.u.output.line = "hello";
  e.u.output.len = 5;
  e.u.output.truncated = true;
  round_trip(&e, "\"stream\":\"stderr\"");
  for (ft_event_kind k = FT_EV_TASK_START; k <= FT_EV_TASK_FAIL; k++) {
    e = base(k);
    e.u.task.task = 10;
    e.u.task.item = 4;
    e.u.task.batch = 2;
    e.u.task.worker = 1;
    if (k != FT_EV_TASK_START)
      e.u.task.dur_ns = 5000;
    if (k == FT_EV_TASK_FAIL) {
      e.u.task.status = FT_EWORKER;
      e.u.task.signal = 11;
      e.u.task.code = 0;
    }
    round_trip(&e, "\"pool\":\"main\"");
  }
  e = base(FT_EV_TASK_FAIL);
  e.u.task.status = FT_ETASK;
  e.u.task.code = 5;
  round_trip(&e, "\"status\":\"FT_ETASK\"");
  e = base(FT_EV_WORKER_REPLACED);
  e.u.replaced.worker = 2;
  e.u.replaced.old_pid = 100;
  e.u.replaced.new_pid = 101;
  e.u.replaced.reason = FT_REPLACE_RECYCLED;
  round_trip(&e, "\"reason\":\"recycled\"");
  e = base(FT_EV_POOL_START);
  e.u.pool.workers = 35;
  round_trip(&e, NULL);
  e = base(FT_EV_POOL_END);
  round_trip(&e, NULL);
  e = base(FT_EV_SUBMIT);
  e.u.submit.batch = 1;
  e.u.submit.first = 10;
  e.u.submit.count = 5;
  round_trip(&e, "\"count\":5");
  e = base(FT_EV_QUEUE);
  e.name = "q";
  e.u.queue = (ft_queue_stats){.puts = 3, .gets = 2, .bytes_in = 30, .bytes_out = 20, .depth = 1,
                               .depth_bytes = 10, .high_water = 2, .capacity = 10, .capacity_bytes = 1024,
                               .put_blocked_ns = 1000000, .get_blocked_ns = 2000, .producers_blocked = 1,
                               .consumers_blocked = 2, .owner_deaths = 1, .closed = true};
  round_trip(&e, "\"queue\":\"q\"");
}

/* The exact text of one event. */
static void test_exact_text(void **state) {
  (void)state;
  ft_event e = base(FT_EV_EXIT);
  e.t_ns = 1000 + 1500000000ull;
  e.u.exit.signal = 15;
  e.u.exit.runtime_ns = 250000000ull;
  ft_buf b = {0};
  assert_int_equal(ft_event_to_json(&e, 1000, &b), 0);
  ft_buf_append(&b, "", 1);
  assert_string_equal(b.data, "{\"t\":1.5,\"ev\":\"exit\",\"pid\":42,\"ppid\":7,\"name\":\"main\","
                              "\"signal\":\"SIGTERM\",\"signo\":15,\"runtime\":0.25}\n");
  ft_buf_free(&b);
}

/* Escape sequences, NULs, invalid UTF-8 and huge lines stay valid JSON. */
static void test_hostile_output(void **state) {
  (void)state;
  static char big[100000];
  memset(big, 'x', sizeof big);
  const struct {
    const char *s;
    size_t n;
  } lines[] = {
      {"\x1b[2J\x1b]52;c;aGk=\x07\x1b]0;owned\x07", 24},
      {"a\0b", 3},
      {"bad \xff\xfe utf8 \xc0\x80 end", 18},
      {big, sizeof big},
  };
  for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
    ft_event e = base(FT_EV_OUTPUT);
    e.u.output.stream = 1;
    e.u.output.line = lines[i].s;
    e.u.output.len = lines[i].n;
    ft_buf b = {0}, strings = {0};
    assert_int_equal(ft_event_to_json(&e, 0, &b), 0);
    json_error_t err;
    json_t *o = json_loadb(b.data, b.len, JSON_ALLOW_NUL, &err);
    assert_non_null(o);
    json_decref(o);
    assert_null(memchr(b.data, 0x1b, b.len)); /* escaped, not raw */
    ft_event back;
    assert_int_equal(ft_event_from_json(b.data, b.len, &back, &strings), 0);
    if (i != 2) {
      assert_int_equal(back.u.output.len, lines[i].n);
      assert_memory_equal(back.u.output.line, lines[i].s, lines[i].n);
    } else {
      assert_non_null(strstr(back.u.output.line, "\xEF\xBF\xBD")); /* U+FFFD */
    }
    ft_buf_free(&b);
    ft_buf_free(&strings);
  }
}

/* Malformed lines and non-events are refused. */
static void test_malformed_lines(void **state) {
  (void)state;
  const char *bad[] = {
      "",
      "not json",
      "[1,2,3]",
      "{\"t\":1}",
      "{\"t\":1,\"ev\":\"nope\",\"pid\":1,\"ppid\":1}",
      "{\"t\":\"x\",\"ev\":\"exit\",\"pid\":1,\"ppid\":1}",
      "{\"t\":1,\"ev\":\"exit\",\"pid\":-5,\"ppid\":1}",
      "{\"t\":1,\"ev\":\"exit\",\"pid\":99999999999999,\"ppid\":1}",
      "{\"t\":1,\"ev\":\"output\",\"pid\":1,\"ppid\":1}",
      "{\"t\":1,\"ev\":\"exit\",\"pid\":1,\"ppid\":1",
      "{\"t\":1,\"ev\":\"summary\",\"workload\":\"x\",\"exit_status\":0}",
      "{\"t\":1,\"t\":2,\"ev\":\"exit\",\"pid\":1,\"ppid\":1}",
  };
  ft_buf strings = {0};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ft_event e;
    assert_int_equal(ft_event_from_json(bad[i], strlen(bad[i]), &e, &strings), FT_EINVAL);
  }
  ft_buf_free(&strings);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      FT_TEST(test_round_trip_every_kind),
      FT_TEST(test_exact_text),
      FT_TEST(test_hostile_output),
      FT_TEST(test_malformed_lines),
  };
  return FT_TEST_RUN(tests, 60);
}
