/* test_tree.c - reading process trees, pipes and I/O counters from /proc. */
#include "ft_test.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ft_internal.h"
#include "ft_tree.h"

static int rfd = -1;

static int hold_read_end(void *arg) {
  (void)arg;
  char c;
  /* keeps the read end (fd rfd) open until the parent writes */
  return read(rfd, &c, 1) == 1 ? 0 : 1;
}

/* A child's pipe, and who holds its other end: the test process, writing. */
static void test_pipes_and_their_other_ends(void **state) {
  ft_test *t = *state;
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  rfd = fds[0];
  ft_process *p;
  ft_process_opts o = {
      .target = hold_read_end, .out = {.mode = FT_STDIO_NULL}, .err = {.mode = FT_STDIO_NULL}};
  assert_int_equal(ft_process_new(t->loop, &o, &p), 0);
  assert_int_equal(ft_process_start(p), 0);
  pid_t child = ft_process_pid(p), me = getpid();
  ft_pipe *pipes;
  size_t n;
  assert_int_equal(ft_tree_pipes(child, &me, 1, &pipes, &n), 0);
  const ft_pipe *found = NULL;
  for (size_t i = 0; i < n; i++) {
    bool child_reads = false, i_write = false;
    for (size_t k = 0; k < pipes[i].nends; k++) {
      const ft_pipe_end *e = &pipes[i].ends[k];
      child_reads |= e->pid == child && e->fd == rfd && !e->write;
      i_write |= e->pid == me && e->fd == fds[1] && e->write;
    }
    if (child_reads && i_write)
      found = &pipes[i];
  }
  assert_non_null(found);
  free(pipes);
  uint64_t r0 = 0, w0 = 0, r1 = 0, w1 = 0;
  assert_int_equal(ft_tree_io(getpid(), &r0, &w0), 0);
  assert_int_equal(write(fds[1], "x", 1), 1);
  assert_int_equal(ft_tree_io(getpid(), &r1, &w1), 0);
  assert_true(w1 >= w0 + 1);
  assert_int_equal(ft_process_join(p, 10), 0);
  int code = -1;
  ft_process_exitcode(p, &code);
  assert_int_equal(code, 0);
  ft_process_free(p);
  close(fds[0]);
  close(fds[1]);
}

static int sleeper(void *arg) {
  (void)arg;
  usleep(500000);
  return 0;
}

/* The descendants of this process, with their parents and states. */
static void test_scan_descendants(void **state) {
  ft_test *t = *state;
  ft_process *p;
  ft_process_opts o = {.name = "sleeper", .target = sleeper};
  assert_int_equal(ft_process_new(t->loop, &o, &p), 0);
  assert_int_equal(ft_process_start(p), 0);
  ft_tree tree = {0};
  assert_int_equal(ft_tree_scan(getpid(), &tree), 0);
  ssize_t i = ft_tree_find(&tree, ft_process_pid(p));
  assert_true(i >= 0);
  assert_int_equal(tree.procs[i].ppid, getpid());
  assert_true(strchr("RSD", tree.procs[i].state) != NULL);
  assert_true(ft_tree_age(tree.procs[i].start_ticks) < 60);
  char cmd[256];
  ft_tree_cmdline(getpid(), cmd, sizeof cmd);
  assert_non_null(strstr(cmd, "test_tree"));
  ft_tree_free(&tree);
  assert_int_equal(ft_process_join(p, 10), 0);
  ft_process_free(p);
  ft_tree_proc gone;
  assert_true(ft_tree_read(999999999, &gone) < 0);
}

/* The pid index the watch finds its records by: random puts, updates and
 * deletions (the backward shift of linear probing, wrapping round the
 * table's end included) against a plain array, every key checked. */
static void test_pid_index(void **state) {
  (void)state;
  enum { KEYS = 3000 };
  static int32_t ref[KEYS];
  ft__pidx x = {0};
  for (int i = 0; i < KEYS; i++)
    ref[i] = -1;
  srand(7);
  for (int op = 0; op < 200000; op++) {
    pid_t pid = 1 + rand() % (KEYS - 1);
    if (rand() % 3) {
      int32_t v = rand() % 100000;
      assert_int_equal(ft__pidx_put(&x, pid, v), 0);
      ref[pid] = v;
    } else {
      ft__pidx_del(&x, pid);
      ref[pid] = -1;
    }
    if (op % 5000 == 0)
      for (pid_t k = 1; k < KEYS; k++)
        assert_int_equal(ft__pidx_get(&x, k), ref[k]);
  }
  size_t n = 0;
  for (pid_t k = 1; k < KEYS; k++) {
    assert_int_equal(ft__pidx_get(&x, k), ref[k]);
    n += ref[k] >= 0;
  }
  assert_int_equal(x.n, n);
  assert_int_equal(ft__pidx_get(&x, 0), -1);
  ft__pidx_free(&x);
  assert_int_equal(ft__pidx_get(&x, 5), -1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      FT_TEST(test_pipes_and_their_other_ends),
      FT_TEST(test_scan_descendants),
      FT_TEST(test_pid_index),
  };
  return FT_TEST_RUN(tests, 30);
}
