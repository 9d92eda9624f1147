/* test_subprocess.c - call, run, check_output, popen + communicate: output
 * to events, files and pipes, stdin input without deadlock, timeouts, and
 * exec errors returned as errors. */
#include "ft_test.h"

#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NS_PER_S 1000000000ull

/* "Sat, 28 Nov 2026 19:28:30 +0000": the shape of RFC 2822 (date -R). */
static bool is_rfc2822(const char *s, size_t len) {
  static const char *re = "^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-3][0-9] "
                          "(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} "
                          "[0-2][0-9]:[0-5][0-9]:[0-6][0-9] [+-][0-9]{4}$";
  regex_t rx;
  assert_int_equal(regcomp(&rx, re, REG_EXTENDED | REG_NOSUB), 0);
  char *copy = strndup(s, len);
  assert_non_null(copy);
  bool ok = regexec(&rx, copy, 0, NULL, 0) == 0;
  free(copy);
  regfree(&rx);
  return ok;
}

/* A buffer holds exactly one line (with its newline) shaped like date -R. */
static bool is_date_line(const char *s, size_t len) {
  return len > 1 && s[len - 1] == '\n' && !memchr(s, '\n', len - 1) && is_rfc2822(s, len - 1);
}

static bool buf_is(const ft_buf *b, const char *want) {
  size_t n = strlen(want);
  return b->len == n && (n == 0 || memcmp(b->data, want, n) == 0);
}

static pid_t spawned_pid(const ft_test *t, size_t i) {
  const ft_rec_event *sp = ft_test_find(t, FT_EV_SPAWN, 0, i);
  assert_non_null(sp);
  return sp->ev.pid;
}

static char *date_argv[] = {"date", "-R", NULL};

/* The checker itself must be able to say no. */
static void test_date_shape_checker(void **state) {
  (void)state;
  const char *good = "Sat, 28 Nov 2026 19:28:30 +0000";
  assert_true(is_rfc2822(good, strlen(good)));
  const char *bad[] = {"hello", "Sat 28 Nov 2026 19:28:30 +0000", "Sat, 28 Nov 2026 19:28:30",
                       "2026-11-28T19:28:30+00:00"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_false(is_rfc2822(bad[i], strlen(bad[i])));
  assert_false(is_date_line("Sat, 28 Nov 2026 19:28:30 +0000", 31)); /* no newline */
}

/* call: exit code 0 and one captured output line shaped like a date. */
static void test_call_date(void **state) {
  ft_test *t = *state;
  int code = -1;
  assert_int_equal(ft_subprocess_call(t->loop, date_argv, NULL, &code), 0);
  assert_int_equal(code, 0);
  pid_t pid = spawned_pid(t, 0);
  assert_int_equal(ft_test_count(t, FT_EV_OUTPUT, pid), 1);
  const ft_rec_event *out = ft_test_find(t, FT_EV_OUTPUT, pid, 0);
  assert_int_equal(out->ev.u.output.stream, 1);
  assert_true(is_rfc2822(out->line, strlen(out->line)));
  const ft_rec_event *ex = ft_test_find(t, FT_EV_EXIT, pid, 0);
  assert_non_null(ex);
  assert_int_equal(ex->ev.u.exit.code, 0);
  assert_int_equal(ft_loop_live_children(t->loop), 0);
}

/* call: a non-zero exit is an exit code, not an error; stderr is captured. */
static void test_call_exit_code_and_stderr(void **state) {
  ft_test *t = *state;
  char *argv[] = {"sh", "-c", "echo oops >&2; exit 2", NULL};
  int code = -1;
  assert_int_equal(ft_subprocess_call(t->loop, argv, NULL, &code), 0);
  assert_int_equal(code, 2);
  pid_t pid = spawned_pid(t, 0);
  assert_int_equal(ft_test_count(t, FT_EV_OUTPUT, pid), 1);
  const ft_rec_event *out = ft_test_find(t, FT_EV_OUTPUT, pid, 0);
  assert_int_equal(out->ev.u.output.stream, 2);
  assert_string_equal(out->line, "oops");
}

/* run: stdout to a file. */
static void test_run_stdout_to_file(void **state) {
  ft_test *t = *state;
  char path[] = "/tmp/forktop-test-date-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  ft_run_opts o = {.out = {.mode = FT_STDIO_FILE, .path = path}};
  ft_run_result res;
  assert_int_equal(ft_subprocess_run(t->loop, date_argv, &o, &res), 0);
  assert_int_equal(res.exitcode, 0);
  assert_int_equal(res.pid, spawned_pid(t, 0));
  assert_int_equal(res.out.len, 0);
  assert_int_equal(ft_test_count(t, FT_EV_OUTPUT, 0), 0);
  char buf[128];
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  size_t n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  unlink(path);
  assert_true(is_date_line(buf, n));
  ft_run_result_free(&res);
}

/* run: stdout to a pipe, collected in res.out. */
static void test_run_stdout_to_pipe(void **state) {
  ft_test *t = *state;
  ft_run_opts o = {.out = {.mode = FT_STDIO_PIPE}};
  ft_run_result res;
  assert_int_equal(ft_subprocess_run(t->loop, date_argv, &o, &res), 0);
  assert_int_equal(res.exitcode, 0);
  assert_true(is_date_line(res.out.data, res.out.len));
  assert_int_equal(res.err.len, 0);
  assert_int_equal(ft_test_count(t, FT_EV_OUTPUT, 0), 0);
  ft_run_result_free(&res);
  ft_run_result_free(&res); /* freed buffers are empty: again is harmless */
  ft_run_result_free(NULL);
}

/* check_output: stdout on success; FT_EFAILED with code and stderr on failure. */
static void test_check_output(void **state) {
  ft_test *t = *state;
  ft_run_result res;
  assert_int_equal(ft_subprocess_check_output(t->loop, date_argv, NULL, &res), 0);
  assert_int_equal(res.exitcode, 0);
  assert_true(is_date_line(res.out.data, res.out.len));
  assert_int_equal(res.err.len, 0);
  ft_run_result_free(&res);

  char *argv[] = {"sh", "-c", "echo bad >&2; exit 3", NULL};
  assert_int_equal(ft_subprocess_check_output(t->loop, argv, NULL, &res), FT_EFAILED);
  assert_int_equal(res.exitcode, 3);
  assert_true(buf_is(&res.err, "bad\n"));
  assert_int_equal(res.out.len, 0);
  assert_int_equal(ft_test_count(t, FT_EV_OUTPUT, 0), 0);
  ft_run_result_free(&res);
}

/* popen + communicate: stdin fed to filters. */
static void test_popen_communicate_filter(void **state) {
  ft_test *t = *state;
  ft_run_opts o = {.in = {.mode = FT_STDIO_PIPE}, .out = {.mode = FT_STDIO_PIPE}};
  char *tr[] = {"tr", "a-z", "A-Z", NULL};
  ft_popen *p;
  assert_int_equal(ft_popen_new(t->loop, tr, &o, &p), 0);
  assert_true(ft_process_pid(ft_popen_process(p)) > 0);
  const char *in = "hello, world\n";
  ft_run_result res;
  assert_int_equal(ft_popen_communicate(p, (ft_slice){in, strlen(in)}, 10, &res), 0);
  assert_true(buf_is(&res.out, "HELLO, WORLD\n"));
  assert_int_equal(res.exitcode, 0);
  assert_int_equal(res.pid, ft_process_pid(ft_popen_process(p)));
  ft_run_result_free(&res);
  int code = -1;
  assert_int_equal(ft_popen_wait(p, 1, &code), 0); /* already exited */
  assert_int_equal(code, 0);
  ft_popen_free(p);

  char *sort[] = {"sort", NULL};
  assert_int_equal(ft_popen_new(t->loop, sort, &o, &p), 0);
  in = "pear\napple\nfig\n";
  assert_int_equal(ft_popen_communicate(p, (ft_slice){in, strlen(in)}, 10, &res), 0);
  assert_true(buf_is(&res.out, "apple\nfig\npear\n"));
  ft_run_result_free(&res);
  ft_popen_free(p);
}

/* Megabytes in and out through cat at the same time: no deadlock, no loss. */
static void test_popen_communicate_large(void **state) {
  ft_test *t = *state;
  size_t n = 6u << 20;
  char *in = malloc(n);
  assert_non_null(in);
  for (size_t i = 0; i < n; i++)
    in[i] = (char)(i * 7 % 251);
  ft_run_opts o = {.in = {.mode = FT_STDIO_PIPE},
                   .out = {.mode = FT_STDIO_PIPE},
                   .err = {.mode = FT_STDIO_PIPE}};
  char *cat[] = {"cat", NULL};
  ft_popen *p;
  assert_int_equal(ft_popen_new(t->loop, cat, &o, &p), 0);
  ft_run_result res;
  assert_int_equal(ft_popen_communicate(p, (ft_slice){in, n}, 60, &res), 0);
  assert_int_equal(res.exitcode, 0);
  assert_int_equal(res.out.len, n);
  assert_memory_equal(res.out.data, in, n);
  assert_int_equal(res.err.len, 0);
  ft_run_result_free(&res);
  ft_popen_free(p);

  /* The same through run. */
  ft_run_opts ro = {.input = {in, n}, .out = {.mode = FT_STDIO_PIPE}};
  assert_int_equal(ft_subprocess_run(t->loop, cat, &ro, &res), 0);
  assert_int_equal(res.out.len, n);
  assert_memory_equal(res.out.data, in, n);
  ft_run_result_free(&res);
  free(in);
}

/* Every entry point returns the exec errno; nothing is left running. */
static void expect_exec_error(ft_test *t, char *const argv[], int err) {
  int code = 12345;
  assert_int_equal(ft_subprocess_call(t->loop, argv, NULL, &code), err);
  assert_int_equal(code, 12345);
  ft_run_result res;
  ft_run_opts o = {.input = {"x", 1}, .out = {.mode = FT_STDIO_PIPE}};
  assert_int_equal(ft_subprocess_run(t->loop, argv, &o, &res), err);
  assert_null(res.out.data);
  ft_run_result_free(&res);
  assert_int_equal(ft_subprocess_check_output(t->loop, argv, NULL, &res), err);
  ft_run_result_free(&res);
  ft_popen *p = (ft_popen *)&code;
  assert_int_equal(ft_popen_new(t->loop, argv, &o, &p), err);
  assert_null(p);
  assert_int_equal(ft_loop_live_children(t->loop), 0);
  assert_int_equal(ft_test_count(t, FT_EV_EXEC, 0), 4);
  for (size_t i = 0; i < 4; i++) {
    const ft_rec_event *ex = ft_test_find(t, FT_EV_EXEC, 0, i);
    assert_int_equal(ex->ev.u.exec.err, err);
    const ft_rec_event *exit = ft_test_find(t, FT_EV_EXIT, ex->ev.pid, 0);
    assert_non_null(exit); /* reaped, not left a zombie */
  }
  ft_test_clear(t);
}

static void test_exec_errors(void **state) {
  ft_test *t = *state;
  char *missing[] = {"/nonexistent/forktop-no-such-program", NULL};
  expect_exec_error(t, missing, -ENOENT);
  char *missing_in_path[] = {"forktop-no-such-program-in-path", NULL};
  expect_exec_error(t, missing_in_path, -ENOENT);

  char path[] = "/tmp/forktop-test-noexec-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, "#!/bin/sh\n", 10), 10);
  close(fd);
  chmod(path, 0644);
  char *noexec[] = {path, NULL};
  expect_exec_error(t, noexec, -EACCES);
  unlink(path);
}

/* run with a timeout: FT_ETIMEDOUT soon, the child killed and reaped. */
static void test_run_timeout(void **state) {
  ft_test *t = *state;
  char *argv[] = {"sleep", "30", NULL};
  ft_run_opts o = {.timeout = 0.3, .out = {.mode = FT_STDIO_PIPE}};
  ft_run_result res;
  uint64_t t0 = ft_now_ns();
  assert_int_equal(ft_subprocess_run(t->loop, argv, &o, &res), FT_ETIMEDOUT);
  uint64_t took = ft_now_ns() - t0;
  assert_true(took >= 250000000ull);
  assert_true(took < 10 * NS_PER_S); /* nowhere near the 30 s of sleep */
  assert_int_equal(res.exitcode, -SIGKILL);
  pid_t pid = spawned_pid(t, 0);
  assert_int_equal(res.pid, pid);
  const ft_rec_event *ex = ft_test_find(t, FT_EV_EXIT, pid, 0);
  assert_non_null(ex);
  assert_int_equal(ex->ev.u.exit.signal, SIGKILL);
  assert_int_equal(ft_loop_live_children(t->loop), 0);
  ft_run_result_free(&res);

  /* call gives the exit code of the killed child too. */
  int code = 0;
  o.timeout = 0.1;
  assert_int_equal(ft_subprocess_call(t->loop, argv, &o, &code), FT_ETIMEDOUT);
  assert_int_equal(code, -SIGKILL);
}

/* Input for a program that never reads it: EPIPE is "stop writing". */
static void test_input_not_read(void **state) {
  ft_test *t = *state;
  size_t n = 1u << 20;
  char *in = calloc(1, n);
  assert_non_null(in);
  char *tru[] = {"true", NULL};
  ft_run_opts o = {.input = {in, n}};
  ft_run_result res;
  assert_int_equal(ft_subprocess_run(t->loop, tru, &o, &res), 0);
  assert_int_equal(res.exitcode, 0);
  ft_run_result_free(&res);

  /* One that reads a little and exits. */
  memset(in, 'a', n);
  char *head[] = {"head", "-c", "10", NULL};
  o.out.mode = FT_STDIO_PIPE;
  assert_int_equal(ft_subprocess_run(t->loop, head, &o, &res), 0);
  assert_int_equal(res.exitcode, 0);
  assert_true(buf_is(&res.out, "aaaaaaaaaa"));
  ft_run_result_free(&res);
  free(in);
}

/* stderr merged into stdout (2>&1). */
static void test_run_stderr_to_stdout(void **state) {
  ft_test *t = *state;
  char *argv[] = {"sh", "-c", "echo out; echo err >&2; echo out2", NULL};
  ft_run_opts o = {.out = {.mode = FT_STDIO_PIPE}, .err = {.mode = FT_STDIO_STDOUT}};
  ft_run_result res;
  assert_int_equal(ft_subprocess_run(t->loop, argv, &o, &res), 0);
  assert_true(buf_is(&res.out, "out\nerr\nout2\n"));
  assert_int_equal(res.err.len, 0);
  assert_int_equal(ft_test_count(t, FT_EV_OUTPUT, 0), 0);
  ft_run_result_free(&res);
}

/* /dev/null, cwd, environment, and input with another stdin refused. */
static void test_run_options(void **state) {
  ft_test *t = *state;
  char *argv[] = {"sh", "-c", "pwd; echo \"$FOO\"; echo hidden >&2", NULL};
  char *envp[] = {"FOO=bar", NULL};
  ft_run_opts o = {
      .cwd = "/", .envp = envp, .out = {.mode = FT_STDIO_PIPE}, .err = {.mode = FT_STDIO_NULL}};
  ft_run_result res;
  assert_int_equal(ft_subprocess_run(t->loop, argv, &o, &res), 0);
  assert_true(buf_is(&res.out, "/\nbar\n"));
  assert_int_equal(res.err.len, 0);
  assert_int_equal(ft_test_count(t, FT_EV_OUTPUT, 0), 0);
  ft_run_result_free(&res);

  ft_run_opts bad = {.input = {"x", 1}, .in = {.mode = FT_STDIO_NULL}};
  assert_int_equal(ft_subprocess_run(t->loop, argv, &bad, &res), FT_EINVAL);
  assert_int_equal(ft_subprocess_run(t->loop, NULL, NULL, &res), FT_EINVAL);
  assert_int_equal(ft_test_count(t, FT_EV_SPAWN, 0), 1);
}

/* communicate times out, the child keeps running, later calls continue and
 * every byte of output arrives once. */
static void test_popen_timeout_then_continue(void **state) {
  ft_test *t = *state;
  char *argv[] = {"sh", "-c", "read x; echo got $x; exec sleep 30", NULL};
  ft_run_opts o = {.in = {.mode = FT_STDIO_PIPE}, .out = {.mode = FT_STDIO_PIPE}};
  ft_popen *p;
  assert_int_equal(ft_popen_new(t->loop, argv, &o, &p), 0);
  char input[] = "hi\n";
  ft_run_result res;
  assert_int_equal(ft_popen_communicate(p, (ft_slice){input, 3}, 0.2, &res), FT_ETIMEDOUT);
  memset(input, 0, sizeof input); /* the caller's input may go away now */
  assert_true(ft_process_is_alive(ft_popen_process(p)));
  ft_run_result_free(&res);
  assert_int_equal(ft_popen_communicate(p, (ft_slice){"again", 5}, 1, &res), FT_ESTATE);
  for (int i = 0; i < 100 && res.out.len < 7; i++) {
    ft_run_result_free(&res);
    assert_int_equal(ft_popen_communicate(p, (ft_slice){0}, 0.1, &res), FT_ETIMEDOUT);
  }
  assert_true(buf_is(&res.out, "got hi\n"));
  ft_run_result_free(&res);
  assert_int_equal(ft_process_kill(ft_popen_process(p)), 0);
  assert_int_equal(ft_popen_communicate(p, (ft_slice){0}, 10, &res), 0);
  assert_true(buf_is(&res.out, "got hi\n"));
  assert_int_equal(res.exitcode, -SIGKILL);
  ft_run_result_free(&res);
  ft_popen_free(p);
}

/* wait with a timeout; free kills and reaps a running child at once. */
static void test_popen_wait_and_free(void **state) {
  ft_test *t = *state;
  char *sleeper[] = {"sleep", "30", NULL};
  ft_popen *p;
  assert_int_equal(ft_popen_new(t->loop, sleeper, NULL, &p), 0);
  pid_t pid = ft_process_pid(ft_popen_process(p));
  int code = 12345;
  assert_int_equal(ft_popen_wait(p, 0.1, &code), FT_ETIMEDOUT);
  assert_int_equal(code, 12345);
  ft_popen_free(p);
  const ft_rec_event *ex = ft_test_find(t, FT_EV_EXIT, pid, 0);
  assert_non_null(ex);
  assert_int_equal(ex->ev.u.exit.signal, SIGKILL);
  assert_int_equal(ft_loop_live_children(t->loop), 0);
  ft_popen_free(NULL);

  /* Default stdio: output still becomes events; communicate just waits. */
  char *argv[] = {"sh", "-c", "echo hi; exit 5", NULL};
  assert_int_equal(ft_popen_new(t->loop, argv, NULL, &p), 0);
  assert_int_equal(ft_popen_communicate(p, (ft_slice){"x", 1}, 10, NULL), FT_EINVAL);
  assert_int_equal(ft_popen_wait(p, 10, &code), 0);
  assert_int_equal(code, 5);
  ft_run_result res;
  assert_int_equal(ft_popen_communicate(p, (ft_slice){0}, 10, &res), 0);
  assert_int_equal(res.exitcode, 5);
  assert_int_equal(res.out.len, 0);
  pid = ft_process_pid(ft_popen_process(p));
  assert_string_equal(ft_test_find(t, FT_EV_OUTPUT, pid, 0)->line, "hi");
  ft_popen_free(p);
}

static void call_from_callback(ft_timer *tm, void *ud) {
  (void)tm;
  ft_test *t = ((void **)ud)[0];
  int *rc = ((void **)ud)[1];
  int code;
  *rc = ft_subprocess_call(t->loop, date_argv, NULL, &code);
}

/* Blocking calls are refused from inside a loop callback. */
static void test_refused_in_callback(void **state) {
  ft_test *t = *state;
  int rc = 1;
  void *ud[2] = {t, &rc};
  ft_timer *tm;
  assert_int_equal(ft_timer_new(t->loop, &tm), 0);
  assert_int_equal(ft_timer_start(tm, 1000, 0, call_from_callback, ud), 0);
  for (int i = 0; i < 1000 && rc == 1; i++)
    assert_int_equal(ft_loop_run(t->loop, FT_RUN_ONCE), 0);
  assert_int_equal(rc, FT_EBUSY);
  assert_int_equal(ft_test_count(t, FT_EV_SPAWN, 0), 0);
  ft_timer_free(tm);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      FT_TEST(test_date_shape_checker),
      FT_TEST(test_call_date),
      FT_TEST(test_call_exit_code_and_stderr),
      FT_TEST(test_run_stdout_to_file),
      FT_TEST(test_run_stdout_to_pipe),
      FT_TEST(test_check_output),
      FT_TEST(test_popen_communicate_filter),
      FT_TEST(test_popen_communicate_large),
      FT_TEST(test_exec_errors),
      FT_TEST(test_run_timeout),
      FT_TEST(test_input_not_read),
      FT_TEST(test_run_stderr_to_stdout),
      FT_TEST(test_run_options),
      FT_TEST(test_popen_timeout_then_continue),
      FT_TEST(test_popen_wait_and_free),
      FT_TEST(test_refused_in_callback),
  };
  return FT_TEST_RUN(tests, 110);
}
