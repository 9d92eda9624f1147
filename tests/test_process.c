/* test_process.c - Process: fork a function or exec an argv; pid and ppid,
 * captured output, exit codes, join timeouts, exec errors, orphans. */
#include "ft_test.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void run_until_events(ft_test *t, ft_event_kind kind, size_t n) {
  uint64_t end = ft_now_ns() + 10ull * 1000000000ull;
  while (ft_test_count(t, kind, 0) < n && ft_now_ns() < end)
    assert_int_equal(ft_loop_run(t->loop, FT_RUN_ONCE), 0);
}

static int say_pids(void *arg) {
  (void)arg;
  printf("child pid=%d ppid=%d\n", (int)getpid(), (int)getppid());
  return 0;
}

/* The seed's os.fork() demo: the child reports pid and ppid. */
static void test_fork_reports_pid_and_ppid(void **state) {
  ft_test *t = *state;
  ft_process *p;
  ft_process_opts o = {.name = "forked", .target = say_pids};
  assert_int_equal(ft_process_new(t->loop, &o, &p), 0);
  assert_int_equal(ft_process_start(p), 0);
  pid_t pid = ft_process_pid(p);
  assert_true(pid > 0);
  assert_int_equal(ft_process_ppid(p), getpid());
  assert_int_equal(ft_process_join(p, 10), 0);

  const ft_rec_event *sp = ft_test_find(t, FT_EV_SPAWN, pid, 0);
  assert_non_null(sp);
  assert_int_equal(sp->ev.ppid, getpid());
  assert_string_equal(sp->ev.name, "forked");
  const ft_rec_event *out = ft_test_find(t, FT_EV_OUTPUT, pid, 0);
  assert_non_null(out);
  char want[64];
  snprintf(want, sizeof want, "child pid=%d ppid=%d", (int)pid, (int)getpid());
  assert_string_equal(out->line, want);
  int code = -1;
  assert_int_equal(ft_process_exitcode(p, &code), 0);
  assert_int_equal(code, 0);
  assert_false(ft_process_is_alive(p));
  ft_process_free(p);
}

static int print_123(void *arg) {
  (void)arg;
  for (int i = 1; i <= 3; i++) {
    printf("%d\n", i);
    fflush(stdout);
    usleep(20000);
  }
  return 0;
}

/* A Process printing 1 2 3: captured in order, before its exit, code 0. */
static void test_process_prints_1_2_3(void **state) {
  ft_test *t = *state;
  ft_process *p;
  ft_process_opts o = {.target = print_123};
  assert_int_equal(ft_process_new(t->loop, &o, &p), 0);
  assert_int_equal(ft_process_exitcode(p, &(int){0}), FT_ENOTEXITED);
  assert_int_equal(ft_process_start(p), 0);
  assert_true(ft_process_is_alive(p));
  assert_int_equal(ft_process_start(p), FT_ESTATE);
  assert_int_equal(ft_process_join(p, 10), 0);
  pid_t pid = ft_process_pid(p);
  assert_int_equal(ft_test_count(t, FT_EV_OUTPUT, pid), 3);
  const char *want[] = {"1", "2", "3"};
  size_t last_out = 0, exit_at = 0;
  for (size_t i = 0, k = 0; i < t->nevs; i++) {
    if (t->evs[i].ev.kind == FT_EV_OUTPUT && t->evs[i].ev.pid == pid) {
      assert_string_equal(t->evs[i].line, want[k++]);
      assert_int_equal(t->evs[i].ev.u.output.stream, 1);
      last_out = i;
    }
    if (t->evs[i].ev.kind == FT_EV_EXIT && t->evs[i].ev.pid == pid)
      exit_at = i;
  }
  assert_true(exit_at > last_out);
  int code = -1;
  assert_int_equal(ft_process_exitcode(p, &code), 0);
  assert_int_equal(code, 0);
  ft_process_free(p);
}

static int exit_3(void *arg) {
  (void)arg;
  fprintf(stderr, "failing on purpose\n");
  return 3;
}

static int die_by_signal(void *arg) {
  raise(*(int *)arg);
  return 0;
}

static int sleep_long(void *arg) {
  (void)arg;
  sleep(30);
  return 0;
}

static int run_target(ft_test *t, ft_target_fn fn, void *arg) {
  ft_process *p;
  ft_process_opts o = {.target = fn, .arg = arg};
  assert_int_equal(ft_process_new(t->loop, &o, &p), 0);
  assert_int_equal(ft_process_start(p), 0);
  assert_int_equal(ft_process_join(p, 10), 0);
  int code = 12345;
  assert_int_equal(ft_process_exitcode(p, &code), 0);
  ft_process_free(p);
  return code;
}

/* Exit codes follow Python: the status, or minus the signal. */
static void test_exit_codes(void **state) {
  ft_test *t = *state;
  assert_int_equal(run_target(t, exit_3, NULL), 3);
  const ft_rec_event *err = ft_test_find(t, FT_EV_OUTPUT, 0, 0);
  assert_non_null(err);
  assert_int_equal(err->ev.u.output.stream, 2);
  assert_string_equal(err->line, "failing on purpose");
  int sig = SIGSEGV;
  assert_int_equal(run_target(t, die_by_signal, &sig), -SIGSEGV);
  const ft_rec_event *ex = ft_test_find(t, FT_EV_EXIT, 0, 1);
  assert_non_null(ex);
  assert_int_equal(ex->ev.u.exit.signal, SIGSEGV);
  assert_false(ex->ev.u.exit.requested); /* it crashed: nobody asked */
}

static void on_usr2(int signo) { (void)signo; }

/* 0 when every signal has its default disposition and none is blocked. */
static int check_signals(void *arg) {
  (void)arg;
  sigset_t mask;
  sigprocmask(SIG_SETMASK, NULL, &mask);
  for (int s = 1; s <= SIGRTMAX; s++) {
    struct sigaction sa;
    if (s == SIGKILL || s == SIGSTOP || (s >= 32 && s < SIGRTMIN) || sigaction(s, NULL, &sa) < 0)
      continue;
    if (sa.sa_handler != SIG_DFL)
      return 10 + s;
    if (sigismember(&mask, s))
      return 50 + s;
  }
  return 0;
}

/* A child starts with default dispositions and an empty mask, whatever the
 * parent ignores, catches or blocks (the loop blocks SIGCHLD and SIGPIPE),
 * real-time signals included. */
static void test_child_signals_reset(void **state) {
  ft_test *t = *state;
  struct sigaction ign = {.sa_handler = SIG_IGN}, h = {.sa_handler = on_usr2}, old1, old2, old3;
  sigaction(SIGUSR1, &ign, &old1);
  sigaction(SIGUSR2, &h, &old2);
  sigaction(SIGRTMIN + 1, &h, &old3);
  assert_int_equal(run_target(t, check_signals, NULL), 0);
  sigaction(SIGUSR1, &old1, NULL);
  sigaction(SIGUSR2, &old2, NULL);
  sigaction(SIGRTMIN + 1, &old3, NULL);
}

/* Terminate p, join it: its exit code is -SIGTERM; its exit event. */
static const ft_rec_event *terminate_and_join(ft_test *t, ft_process *p) {
  assert_int_equal(ft_process_terminate(p), 0);
  assert_int_equal(ft_process_join(p, 10), 0);
  int code = 0;
  assert_int_equal(ft_process_exitcode(p, &code), 0);
  assert_int_equal(code, -SIGTERM);
  const ft_rec_event *ex = ft_test_find(t, FT_EV_EXIT, ft_process_pid(p), 0);
  assert_non_null(ex);
  return ex;
}

/* join with a timeout returns FT_ETIMEDOUT; terminate gives -SIGTERM. */
static void test_join_timeout_and_terminate(void **state) {
  ft_test *t = *state;
  ft_process *p;
  ft_process_opts o = {.target = sleep_long};
  assert_int_equal(ft_process_new(t->loop, &o, &p), 0);
  assert_int_equal(ft_process_join(p, 0.1), FT_ESTATE); /* not started */
  assert_int_equal(ft_process_start(p), 0);
  uint64_t t0 = ft_now_ns();
  assert_int_equal(ft_process_join(p, 0.2), FT_ETIMEDOUT);
  assert_true(ft_now_ns() - t0 >= 190000000ull);
  assert_true(ft_process_is_alive(p));
  const ft_rec_event *ex = terminate_and_join(t, p);
  assert_true(ex->ev.u.exit.requested);    /* the SIGTERM was ours */
  assert_int_equal(ft_process_kill(p), 0); /* a finished process: no-op */
  ft_process_free(p);
}

/* A missing program is an error with its errno, not an exit code 127. */
static void test_exec_missing_program(void **state) {
  ft_test *t = *state;
  ft_process *p;
  char *argv[] = {"/nonexistent/forktop-no-such-program", NULL};
  ft_process_opts o = {.argv = argv};
  assert_int_equal(ft_process_new(t->loop, &o, &p), 0);
  assert_int_equal(ft_process_start(p), -ENOENT);
  assert_string_equal(ft_err_name(-ENOENT), "ENOENT");
  const ft_rec_event *ex = ft_test_find(t, FT_EV_EXEC, 0, 0);
  assert_non_null(ex);
  assert_int_equal(ex->ev.u.exec.err, -ENOENT);
  assert_int_equal(ft_loop_live_children(t->loop), 0);
  ft_process_free(p);
}

/* A file without execute permission: -EACCES. */
static void test_exec_not_executable(void **state) {
  ft_test *t = *state;
  char path[] = "/tmp/forktop-test-noexec-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, "#!/bin/sh\n", 10), 10);
  close(fd);
  chmod(path, 0644);
  ft_process *p;
  char *argv[] = {path, NULL};
  ft_process_opts o = {.argv = argv};
  assert_int_equal(ft_process_new(t->loop, &o, &p), 0);
  assert_int_equal(ft_process_start(p), -EACCES);
  ft_process_free(p);
  unlink(path);
}

/* exec'd programs: output captured, exit code reported. */
static void test_exec_echo(void **state) {
  ft_test *t = *state;
  ft_process *p;
  char *argv[] = {"sh", "-c", "echo hello; echo oops >&2; exit 4", NULL};
  ft_process_opts o = {.name = "echoer", .argv = argv};
  assert_int_equal(ft_process_new(t->loop, &o, &p), 0);
  assert_int_equal(ft_process_start(p), 0);
  assert_int_equal(ft_process_join(p, 10), 0);
  int code = 0;
  ft_process_exitcode(p, &code);
  assert_int_equal(code, 4);
  pid_t pid = ft_process_pid(p);
  assert_int_equal(ft_test_count(t, FT_EV_EXEC, pid), 1);
  assert_int_equal(ft_test_count(t, FT_EV_OUTPUT, pid), 2);
  ft_process_free(p);
}

static int orphan_maker(void *arg) {
  (void)arg;
  pid_t g = fork();
  if (g == 0) {
    usleep(200000);
    _exit(7);
  }
  return 0;
}

/* A grandchild whose parent exits comes back to us, and is reaped and reported. */
static void test_orphan_reaped_and_reported(void **state) {
  ft_test *t = *state;
  assert_int_equal(run_target(t, orphan_maker, NULL), 0);
  run_until_events(t, FT_EV_EXIT, 2);
  const ft_rec_event *ex = ft_test_find(t, FT_EV_EXIT, 0, 1);
  assert_non_null(ex);
  assert_true(ex->ev.u.exit.orphan);
  assert_int_equal(ex->ev.u.exit.code, 7);
  assert_int_equal(ex->ev.ppid, getpid());
}

/* Freeing a running process kills it; the loop reaps it and reports it. */
static void test_free_running_process(void **state) {
  ft_test *t = *state;
  ft_process *p;
  ft_process_opts o = {.target = sleep_long};
  assert_int_equal(ft_process_new(t->loop, &o, &p), 0);
  assert_int_equal(ft_process_start(p), 0);
  pid_t pid = ft_process_pid(p);
  ft_process_free(p);
  run_until_events(t, FT_EV_EXIT, 1);
  const ft_rec_event *ex = ft_test_find(t, FT_EV_EXIT, pid, 0);
  assert_non_null(ex);
  assert_int_equal(ex->ev.u.exit.signal, SIGKILL);
}

static int print_long(void *arg) {
  (void)arg;
  for (int i = 0; i < 20000; i++)
    putchar('x');
  printf("\nend\nno newline");
  return 0;
}

/* Over-long lines are cut and flagged; a last line without newline still arrives. */
static void test_long_lines_bounded(void **state) {
  ft_test *t = *state;
  assert_int_equal(run_target(t, print_long, NULL), 0);
  assert_int_equal(ft_test_count(t, FT_EV_OUTPUT, 0), 3);
  const ft_rec_event *l0 = ft_test_find(t, FT_EV_OUTPUT, 0, 0);
  assert_true(l0->ev.u.output.truncated);
  assert_int_equal(l0->ev.u.output.len, 8192);
  assert_string_equal(ft_test_find(t, FT_EV_OUTPUT, 0, 1)->line, "end");
  assert_string_equal(ft_test_find(t, FT_EV_OUTPUT, 0, 2)->line, "no newline");
}

/* stdout to a file. */
static void test_stdout_to_file(void **state) {
  ft_test *t = *state;
  char path[] = "/tmp/forktop-test-out-XXXXXX";
  int fd = mkstemp(path);
  close(fd);
  ft_process *p;
  ft_process_opts o = {.target = print_123, .out = {.mode = FT_STDIO_FILE, .path = path}};
  assert_int_equal(ft_process_new(t->loop, &o, &p), 0);
  assert_int_equal(ft_process_start(p), 0);
  assert_int_equal(ft_process_join(p, 10), 0);
  ft_process_free(p);
  char buf[64] = "";
  FILE *f = fopen(path, "r");
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  assert_string_equal(buf, "1\n2\n3\n");
  assert_int_equal(ft_test_count(t, FT_EV_OUTPUT, 0), 0);
  unlink(path);
}

static int check_no_loop_fds(void *arg) {
  /* Only 0, 1, 2 may be open in a forked function's child (plus what the
   * test process itself had before the loop existed). */
  int limit = *(int *)arg;
  for (int fd = 3; fd < 1024; fd++)
    if (fcntl(fd, F_GETFD) >= 0 && fd >= limit)
      return 10 + fd;
  return 0;
}

/* A forked function holds none of the loop's fds (epoll, signalfd, pidfds, pipes). */
static void test_child_holds_no_loop_fds(void **state) {
  ft_test *t = *state;
  ft_process *sleeper;
  ft_process_opts so = {.target = sleep_long};
  assert_int_equal(ft_process_new(t->loop, &so, &sleeper), 0);
  assert_int_equal(ft_process_start(sleeper), 0);
  int limit = 3;
  for (int i = 0; i < t->nfds_before; i++)
    if (t->fds_before[i] + 1 > limit)
      limit = t->fds_before[i] + 1;
  assert_int_equal(run_target(t, check_no_loop_fds, &limit), 0);
  ft_process_free(sleeper);
}

/* An argv in a directory that does not exist: the chdir's errno comes back. */
static void test_exec_bad_cwd(void **state) {
  ft_test *t = *state;
  char *argv[] = {"true", NULL};
  ft_process *p;
  ft_process_opts o = {.argv = argv, .cwd = "/nonexistent/forktop"};
  assert_int_equal(ft_process_new(t->loop, &o, &p), 0);
  assert_int_equal(ft_process_start(p), -ENOENT);
  ft_process_free(p);
}

static int print_child(void *arg) {
  (void)arg;
  printf("child\n");
  return 0;
}

/* What the parent buffered in stdout and had not flushed is flushed before
 * the fork (as Python does), not written again by the child: its captured
 * output is its own.  The parent's fd 1 points at /dev/null meanwhile. */
static void test_parent_output_flushed_not_repeated(void **state) {
  ft_test *t = *state;
  fflush(stdout);
  int saved = dup(1), null = open("/dev/null", O_WRONLY | O_CLOEXEC);
  assert_true(saved >= 0 && null >= 0);
  dup2(null, 1);
  close(null);
  fputs("parent-unflushed", stdout); /* no newline: held, buffered or not */
  assert_true(__fpending(stdout) > 0);
  int code = run_target(t, print_child, NULL);
  size_t pending = __fpending(stdout);
  dup2(saved, 1);
  close(saved);
  assert_int_equal(pending, 0);
  assert_int_equal(code, 0);
  assert_int_equal(ft_test_count(t, FT_EV_OUTPUT, 0), 1);
  assert_string_equal(ft_test_find(t, FT_EV_OUTPUT, 0, 0)->line, "child");
}

static int late_grandchild(void *arg) {
  (void)arg;
  printf("early\n");
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    usleep(200 * 1000);
    printf("late\n");
    fflush(stdout);
    _exit(0);
  }
  return pid > 0 ? 0 : 1;
}

/* A grandchild that keeps the pipe keeps the stream: its line arrives after
 * its parent's exit, and the pipe closes when it exits. */
static void test_grandchild_output_after_exit(void **state) {
  ft_test *t = *state;
  assert_int_equal(run_target(t, late_grandchild, NULL), 0);
  assert_int_equal(ft_test_count(t, FT_EV_OUTPUT, 0), 1);
  uint64_t end = ft_now_ns() + 10ull * 1000000000ull;
  while ((ft_test_count(t, FT_EV_OUTPUT, 0) < 2 || ft_test_count(t, FT_EV_EXIT, 0) < 2) &&
         ft_now_ns() < end)
    assert_int_equal(ft_loop_run(t->loop, FT_RUN_ONCE), 0);
  assert_string_equal(ft_test_find(t, FT_EV_OUTPUT, 0, 1)->line, "late");
  assert_true(ft_test_find(t, FT_EV_EXIT, 0, 1)->ev.u.exit.orphan);
}

/* A child the application forks itself may free its copy of the loop: that
 * closes its fds there and leaves the parent's children alone (the pid
 * table is shared memory).  The parent still joins its Process. */
static void test_loop_free_in_forked_child(void **state) {
  ft_test *t = *state;
  ft_process *p;
  ft_process_opts o = {.target = sleep_long};
  assert_int_equal(ft_process_new(t->loop, &o, &p), 0);
  assert_int_equal(ft_process_start(p), 0);
  pid_t pid = fork();
  if (pid == 0) {
    ft_loop_free(t->loop);
    _exit(0);
  }
  assert_true(pid > 0);
  run_until_events(t, FT_EV_EXIT, 1); /* the forked child, reaped as ours */
  assert_int_equal(ft_test_find(t, FT_EV_EXIT, 0, 0)->ev.pid, pid);
  assert_false(terminate_and_join(t, p)->ev.u.exit.orphan);
  ft_process_free(p);
}

/* A Process may be freed after its loop (the dashboard's watch does): its
 * record outlives the loop's own memory. */
static void test_process_freed_after_loop(void **state) {
  (void)state;
  ft_loop *loop;
  assert_int_equal(ft_loop_new(&loop), 0);
  ft_process *p;
  ft_process_opts o = {.target = print_child};
  assert_int_equal(ft_process_new(loop, &o, &p), 0);
  assert_int_equal(ft_process_start(p), 0);
  assert_int_equal(ft_process_join(p, 10), 0);
  ft_process *running;
  ft_process_opts so = {.target = sleep_long};
  assert_int_equal(ft_process_new(loop, &so, &running), 0);
  assert_int_equal(ft_process_start(running), 0);
  ft_loop_free(loop); /* kills and reaps the sleeper */
  int code = 0;
  assert_int_equal(ft_process_exitcode(p, &code), 0);
  assert_int_equal(code, 0);
  assert_int_equal(ft_process_exitcode(running, &code), 0);
  assert_int_equal(code, -SIGKILL);
  ft_process_free(p);
  ft_process_free(running);
}

static int say_up_then_sleep(void *arg) {
  (void)arg;
  printf("up\n");
  fflush(stdout);
  sleep(30);
  return 0;
}

static void count_output(const ft_event *ev, void *ud) {
  if (ev->kind == FT_EV_OUTPUT)
    (*(int *)ud)++;
}

/* The parent keeps two fds per live child whose output it captures, but
 * not past half the fd limit: a dozen children with 64 fds allowed all
 * start (holding for all would need ~70), and their output still comes. */
static void test_many_processes_near_the_fd_limit(void **state) {
  (void)state;
  struct rlimit saved, low;
  assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved), 0);
  low = saved;
  low.rlim_cur = 64;
  assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
  ft_loop *loop;
  assert_int_equal(ft_loop_new(&loop), 0);
  int lines = 0;
  assert_int_equal(ft_loop_add_hook(loop, count_output, &lines), 0);
  enum { N = 12 };
  ft_process *p[N];
  int rc[N];
  for (int i = 0; i < N; i++) {
    ft_process_opts o = {.target = say_up_then_sleep};
    assert_int_equal(ft_process_new(loop, &o, &p[i]), 0);
    rc[i] = ft_process_start(p[i]);
  }
  uint64_t end = ft_now_ns() + 10ull * 1000000000ull;
  while (lines < N && ft_now_ns() < end)
    assert_int_equal(ft_loop_run(loop, FT_RUN_ONCE), 0);
  for (int i = 0; i < N; i++)
    ft_process_free(p[i]);
  ft_loop_free(loop);
  setrlimit(RLIMIT_NOFILE, &saved);
  for (int i = 0; i < N; i++)
    assert_int_equal(rc[i], 0);
  assert_int_equal(lines, N);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      FT_TEST(test_fork_reports_pid_and_ppid),
      FT_TEST(test_process_prints_1_2_3),
      FT_TEST(test_exit_codes),
      FT_TEST(test_join_timeout_and_terminate),
      FT_TEST(test_child_signals_reset),
      FT_TEST(test_exec_missing_program),
      FT_TEST(test_exec_not_executable),
      FT_TEST(test_exec_echo),
      FT_TEST(test_orphan_reaped_and_reported),
      FT_TEST(test_free_running_process),
      FT_TEST(test_long_lines_bounded),
      FT_TEST(test_stdout_to_file),
      FT_TEST(test_child_holds_no_loop_fds),
      FT_TEST(test_exec_bad_cwd),
      FT_TEST(test_parent_output_flushed_not_repeated),
      FT_TEST(test_grandchild_output_after_exit),
      FT_TEST(test_loop_free_in_forked_child),
      FT_TEST(test_process_freed_after_loop),
      FT_TEST(test_many_processes_near_the_fd_limit),
  };
  return FT_TEST_RUN(tests, 100);
}
