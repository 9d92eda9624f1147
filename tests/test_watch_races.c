/* test_watch_races.c - orders of the kernel's process events that real runs
 * give only now and then (once under full-suite load), forced: the watch
 * still tells each process once, from one spawn to one exit. */
#include "ft_test.h"

#include <linux/cn_proc.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ft_cnproc.h"
#include "ft_internal.h"
#include "ft_tree.h"
#include "ft_watch.h"

/* A root process R with one child C, which R reaps as soon as it dies;
 * C's pid written to *child. */
static pid_t start_tree(pid_t *child) {
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  pid_t r = fork();
  assert_true(r >= 0);
  if (r == 0) {
    close(fds[0]);
    pid_t c = fork();
    if (c == 0) {
      for (;;)
        pause();
    }
    if (write(fds[1], &c, sizeof c) != (ssize_t)sizeof c)
      _exit(1);
    close(fds[1]);
    while (waitpid(c, NULL, 0) < 0) {
    }
    for (;;)
      pause();
  }
  close(fds[1]);
  assert_int_equal(read(fds[0], child, sizeof *child), (ssize_t)sizeof *child);
  close(fds[0]);
  return r;
}

static bool gone(pid_t pid) {
  ft_tree_proc tp;
  for (int i = 0; i < 5000; i++) {
    if (ft_tree_read(pid, &tp) < 0)
      return true;
    usleep(1000);
  }
  return false;
}

static struct proc_event event(unsigned what, pid_t pid, pid_t ppid, uint64_t t_ns) {
  struct proc_event pe;
  memset(&pe, 0, sizeof pe);
  pe.what = what;
  pe.timestamp_ns = t_ns;
  if (what == PROC_EVENT_FORK) {
    pe.event_data.fork.parent_pid = pe.event_data.fork.parent_tgid = ppid;
    pe.event_data.fork.child_pid = pe.event_data.fork.child_tgid = pid;
  } else {
    pe.event_data.exit.process_pid = pe.event_data.exit.process_tgid = pid;
    pe.event_data.exit.parent_pid = pe.event_data.exit.parent_tgid = ppid;
    pe.event_data.exit.exit_code = SIGKILL;
  }
  return pe;
}

/* A child's exit queued before its parent's word of its fork, and read
 * with the child found by a scan meanwhile: its exit is told, it is
 * reaped, a scan forgets it, and only then is its fork read.  That fork is
 * the process told already, not a second one (before: spawned twice, the
 * second exit "unknown").  A fork of its pid after its death is a new
 * process (a pid reused), and is told. */
static void test_fork_read_after_the_record_went(void **state) {
  ft_test *t = *state;
  pid_t c, r = start_tree(&c);
  ft_tree_proc tp;
  assert_int_equal(ft_tree_read(c, &tp), 0);
  uint64_t fork_ns = ft_tree_start_ns(tp.start_ticks) + 1000000; /* stamped after its start */
  ft_watch *w;
  ft_watch_opts o = {.root = r, .connector = true};
  assert_int_equal(ft_watch_open(t->loop, &o, &w), 0);
  bool connector = strcmp(ft_watch_mode(w), "connector") == 0;
  if (connector) {
    assert_int_equal(ft_test_count(t, FT_EV_SPAWN, c), 1); /* the first scan found it */
    kill(c, SIGKILL);
    assert_true(gone(c)); /* R reaped it */
    struct proc_event pe = event(PROC_EVENT_EXIT, c, r, ft_now_ns());
    ft__watch_feed(w, &pe);
    assert_int_equal(ft_test_count(t, FT_EV_EXIT, c), 1);
    ft__watch_scan(w); /* gone: forgotten */
    assert_int_equal(ft_watch_count(w), 0);
    pe = event(PROC_EVENT_FORK, c, r, fork_ns);
    ft__watch_feed(w, &pe);
    assert_int_equal(ft_watch_count(w), 0);
    assert_int_equal(ft_test_count(t, FT_EV_SPAWN, c), 1);
    /* the same pid forked after that death: another process */
    pe = event(PROC_EVENT_FORK, c, r, ft_now_ns());
    ft__watch_feed(w, &pe);
    assert_int_equal(ft_test_count(t, FT_EV_SPAWN, c), 2);
  }
  kill(r, SIGKILL);
  assert_int_equal(waitpid(r, NULL, 0), r);
  ft_watch_free(w);
  if (!connector)
    skip(); /* the connector needs root: a scan alone never reads a fork */
}

#define NKIDS 64

/* A root R with NKIDS children, each blocked reading go until it is
 * closed, then exiting with code 10 + its index; R reaps them all and
 * writes a byte to *done.  Their pids, in index order, in kids. */
static pid_t start_kids(pid_t *kids, int *go_w, int *done_r) {
  int go[2], res[2], fin[2];
  assert_int_equal(pipe(go), 0);
  assert_int_equal(pipe(res), 0);
  assert_int_equal(pipe(fin), 0);
  pid_t r = fork();
  assert_true(r >= 0);
  if (r == 0) {
    close(go[1]);
    close(res[0]);
    close(fin[0]);
    for (int i = 0; i < NKIDS; i++) {
      pid_t c = fork();
      if (c == 0) {
        char b;
        _exit(read(go[0], &b, 1) == 0 ? 10 + i : 1);
      }
      kids[i] = c;
    }
    close(go[0]);
    if (write(res[1], kids, NKIDS * sizeof *kids) != (ssize_t)(NKIDS * sizeof *kids))
      _exit(1);
    for (int n = 0; n < NKIDS;)
      n += wait(NULL) > 0;
    if (write(fin[1], "d", 1) != 1)
      _exit(1);
    for (;;)
      pause();
  }
  close(go[0]);
  close(res[1]);
  close(fin[1]);
  size_t got = 0;
  while (got < NKIDS * sizeof *kids) {
    ssize_t n = read(res[0], (char *)kids + got, NKIDS * sizeof *kids - got);
    assert_true(n > 0);
    got += (size_t)n;
  }
  close(res[0]);
  *go_w = go[1];
  *done_r = fin[0];
  return r;
}

/* The connector's buffer overflows while a tree's processes exit (forktop
 * lagging behind a burst): the kernel drops most of their exit messages.
 * Each exit is still told once, with its real code (from taskstats, which
 * the kernel queued too), and the watch says how many messages were lost
 * (before: those exits were told with code -1, "unknown"). */
static void test_exits_lost_with_the_connector(void **state) {
  ft_test *t = *state;
  pid_t kids[NKIDS];
  int go, done;
  pid_t r = start_kids(kids, &go, &done);
  ft_watch *w;
  ft_watch_opts o = {.root = r, .connector = true};
  assert_int_equal(ft_watch_open(t->loop, &o, &w), 0);
  bool connector = strcmp(ft_watch_mode(w), "connector") == 0;
  if (connector) {
    assert_int_equal(ft_watch_count(w), NKIDS); /* the first scan found them all */
    assert_int_equal(ft__watch_rcvbuf(w, 1), 0);
    close(go); /* they all exit, and are reaped, while the watch does not read */
    char c;
    assert_int_equal(read(done, &c, 1), 1);
    uint64_t until = ft_now_ns() + 5 * FT_NS_PER_S;
    while (ft_test_count(t, FT_EV_EXIT, 0) < NKIDS && ft_now_ns() < until)
      ft_loop_run(t->loop, FT_RUN_ONCE);
    assert_true(ft_watch_lost(w) > 0);
    for (int i = 0; i < NKIDS; i++) {
      assert_int_equal(ft_test_count(t, FT_EV_SPAWN, kids[i]), 1);
      assert_int_equal(ft_test_count(t, FT_EV_EXIT, kids[i]), 1);
      const ft_rec_event *e = ft_test_find(t, FT_EV_EXIT, kids[i], 0);
      assert_int_equal(e->ev.u.exit.signal, 0);
      assert_int_equal(e->ev.u.exit.code, 10 + i);
    }
  } else {
    close(go);
  }
  close(done);
  kill(r, SIGKILL);
  assert_int_equal(waitpid(r, NULL, 0), r);
  ft_watch_free(w);
  if (!connector)
    skip(); /* the connector needs root */
}

/* Nothing lost, nothing said lost: every listener's subscription answer
 * is multicast and numbered in its CPU's sequence with the events (before:
 * each forktop started elsewhere counted as one lost event).  All on one
 * CPU, so that later events follow the answers in that CPU's sequence. */
static void test_no_loss_claimed_without_one(void **state) {
  ft_test *t = *state;
  cpu_set_t was, one;
  assert_int_equal(sched_getaffinity(0, sizeof was, &was), 0);
  CPU_ZERO(&one);
  for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
    if (CPU_ISSET(cpu, &was)) {
      CPU_SET(cpu, &one);
      break;
    }
  assert_int_equal(sched_setaffinity(0, sizeof one, &one), 0);
  pid_t c, r = start_tree(&c);
  ft_watch *w;
  ft_watch_opts o = {.root = r, .connector = true};
  assert_int_equal(ft_watch_open(t->loop, &o, &w), 0);
  bool connector = strcmp(ft_watch_mode(w), "connector") == 0;
  pid_t first = fork(); /* events on that CPU, numbered before the answers */
  if (first == 0)
    _exit(0);
  assert_int_equal(waitpid(first, NULL, 0), first);
  for (int i = 0; connector && i < 5; i++) { /* other listeners come and go */
    ft__cnproc other;
    assert_int_equal(ft__cnproc_open(&other), 0);
    ft__cnproc_free(&other, true);
  }
  kill(c, SIGKILL); /* then events of the tree, on the same CPU */
  uint64_t until = ft_now_ns() + 5 * FT_NS_PER_S;
  while (connector && ft_test_count(t, FT_EV_EXIT, c) < 1 && ft_now_ns() < until)
    ft_loop_run(t->loop, FT_RUN_ONCE);
  if (connector) {
    assert_int_equal(ft_test_count(t, FT_EV_EXIT, c), 1);
    assert_int_equal(ft_watch_lost(w), 0);
  }
  kill(r, SIGKILL);
  assert_int_equal(waitpid(r, NULL, 0), r);
  ft_watch_free(w);
  assert_int_equal(sched_setaffinity(0, sizeof was, &was), 0);
  if (!connector)
    skip(); /* the connector needs root */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      FT_TEST(test_fork_read_after_the_record_went),
      FT_TEST(test_exits_lost_with_the_connector),
      FT_TEST(test_no_loss_claimed_without_one),
  };
  return FT_TEST_RUN(tests, 60);
}
