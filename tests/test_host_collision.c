/* test_host_collision.c - a remote pid equal to a live local pid (issue
 * 16), end to end through a real TCP pool: the "worker" is this test
 * speaking the protocol by hand, and its hello names the pid of a live
 * local process (a decoy this test forked).  That remote worker is (host
 * 1, decoy) in the events, and signalling it goes to its launcher, the
 * local process the pool started: the decoy is never signalled.  And the
 * launchers' side of hosts (ft__host_*): joins, states, signal hooks. */
#include "ft_test_tcp.h"

#include "ft_internal.h"
#include "ft_transport_tcp.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* The recorded exit of (host, pid), or NULL. */
static const ft_event *exit_of(const ft_test *T, uint32_t host, pid_t pid) {
  for (size_t i = 0; i < T->nevs; i++)
    if (T->evs[i].ev.kind == FT_EV_EXIT && T->evs[i].ev.host == host && T->evs[i].ev.pid == pid)
      return &T->evs[i].ev;
  return NULL;
}

static void test_remote_pid_is_a_live_local_pid(void **state) {
  ft_test *T = *state;
  /* the decoy: a live local process whose pid the remote worker will have */
  pid_t decoy = fork();
  assert_true(decoy >= 0);
  if (decoy == 0) {
    execlp("sleep", "sleep", "30", (char *)NULL);
    _exit(127);
  }
  ft_test_tcp hw;
  ft_test_tcp_start(T->loop, &hw, (ft_slice){0});
  ft_pool *p = hw.pool;
  const char *token = hw.token, *addr = hw.addr;
  pid_t launcher = ft_pool_worker_pid(p, 0);
  assert_true(launcher > 0 && launcher != decoy);
  int fd = ft_test_tcp_dial(addr);
  ft_test_tcp_hello(fd, token, decoy);
  ft_buf in = {0};
  FT_TEST_UNTIL(T->loop, (ft_test_tcp_pull(fd, &in), ft__frame_check(in.data, in.len, false) > 0));

  /* the host joined, once; the worker is (host 1, decoy), launched by launcher */
  assert_int_equal(ft_test_count(T, FT_EV_HOST, 0), 1);
  const ft_rec_event *h = ft_test_find(T, FT_EV_HOST, 0, 0);
  assert_int_equal(h->ev.host, 1);
  assert_string_equal(h->name, "127.0.0.1");
  assert_false(h->ev.u.host.lost);
  const ft_rec_event *sp = ft_test_find(T, FT_EV_SPAWN, decoy, 0);
  assert_non_null(sp);
  assert_int_equal(sp->ev.host, 1);
  assert_int_equal(sp->ev.u.spawn.launcher_pid, launcher);
  assert_int_equal(sp->ev.u.spawn.worker, 0);

  /* nothing else can be signalled through the host: not host 0, not a pid
   * no launcher of it runs, not a host that does not exist */
  assert_int_equal(ft_loop_signal_host(T->loop, 0, decoy, SIGTERM), -EINVAL);
  assert_int_equal(ft_loop_signal_host(T->loop, 1, launcher, SIGTERM), -ESRCH);
  assert_int_equal(ft_loop_signal_host(T->loop, 7, decoy, SIGTERM), -ESRCH);

  /* signal the remote worker: its launcher gets it, the decoy does not */
  assert_int_equal(ft_loop_signal_host(T->loop, 1, decoy, SIGTERM), 0);
  FT_TEST_UNTIL(T->loop, exit_of(T, 0, launcher) != NULL);
  const ft_event *lex = exit_of(T, 0, launcher), *rex = exit_of(T, 1, decoy);
  assert_int_equal(lex->u.exit.signal, SIGTERM);
  assert_true(lex->u.exit.requested);
  assert_non_null(rex); /* the remote worker's exit, as its launcher's */
  assert_int_equal(rex->u.exit.signal, SIGTERM);
  assert_int_equal(kill(decoy, 0), 0);
  int st;
  assert_int_equal(waitpid(decoy, &st, WNOHANG), 0); /* alive, never signalled */
  assert_null(exit_of(T, 0, decoy));

  FT_TEST_UNTIL(T->loop, ft_test_tcp_pull(fd, &in) == 0); /* the connection closed with it */
  close(fd);
  ft_pool_terminate(p);
  assert_int_equal(ft_pool_join(p, 10), 0);
  ft_pool_free(p);
  ft_buf_free(&in);
  kill(decoy, SIGKILL);
  waitpid(decoy, &st, 0);
  ft_test_tcp_end(&hw);
}

static int hook_rc;
static pid_t hook_pid;
static int hook_signo;
static int hook(ft_loop *loop, uint32_t host, pid_t pid, int signo, void *ud) {
  (void)loop;
  (void)host;
  (void)ud;
  hook_pid = pid;
  hook_signo = signo;
  return hook_rc;
}

/* The launchers' side of hosts (ft__host_*): a host joins once, by name
 * and launcher; its state changes are events, its repeats are not; signal
 * hooks answer in turn (-ESRCH: not mine) and leave with their owner. */
static void test_host_registry(void **state) {
  ft_test *T = *state;
  ft__host_info a = {.name = "node1", .address = "10.0.0.1", .launcher = "slurm", .job = "77"};
  ft__host_info b = {.name = "node2", .launcher = "slurm"};
  uint32_t ia = 0, ia2 = 0, ib = 0;
  assert_int_equal(ft__host_join(T->loop, &a, &ia), 0);
  assert_int_equal(ft__host_join(T->loop, &b, &ib), 0);
  assert_int_equal(ft__host_join(T->loop, &a, &ia2), 0);
  assert_int_equal(ia, 1);
  assert_int_equal(ib, 2);
  assert_int_equal(ia2, ia);
  assert_int_equal(ft_test_count(T, FT_EV_HOST, 0), 2);
  const ft_rec_event *e = ft_test_find(T, FT_EV_HOST, 0, 0);
  assert_string_equal(e->name, "node1");
  assert_int_equal(e->ev.host, 1);
  ft__host_set_state(T->loop, ib, &b, false, NULL); /* up already: nothing */
  assert_int_equal(ft_test_count(T, FT_EV_HOST, 0), 2);
  ft__host_set_state(T->loop, ib, &b, true, "link down");
  ft__host_set_state(T->loop, ib, &b, true, "link down");
  assert_int_equal(ft_test_count(T, FT_EV_HOST, 0), 3);
  e = ft_test_find(T, FT_EV_HOST, 0, 2);
  assert_int_equal(e->ev.host, 2);
  assert_true(e->ev.u.host.lost);
  /* hooks: the first that knows the pid answers */
  int owner1, owner2;
  assert_int_equal(ft_loop_signal_host(T->loop, ia, 42, SIGTERM), -ESRCH); /* no launcher */
  assert_int_equal(ft__host_on_signal(T->loop, ia, hook, &owner1), 0);
  assert_int_equal(ft__host_on_signal(T->loop, ia, hook, &owner1), 0); /* once */
  assert_int_equal(ft__host_on_signal(T->loop, 9, hook, &owner1), -ESRCH);
  hook_rc = -ENOTSUP;
  assert_int_equal(ft_loop_signal_host(T->loop, ia, 42, SIGUSR1), -ENOTSUP);
  assert_int_equal(hook_pid, 42);
  assert_int_equal(hook_signo, SIGUSR1);
  hook_rc = 0;
  assert_int_equal(ft__host_on_signal(T->loop, ia, hook, &owner2), 0);
  assert_int_equal(ft_loop_signal_host(T->loop, ia, 43, SIGTERM), 0);
  assert_int_equal(ft_loop_signal_host(T->loop, ia, 43, 99), -EINVAL);
  assert_int_equal(ft_loop_signal_host(T->loop, ib, 43, SIGTERM), -ESRCH); /* not its host */
  ft__host_forget(T->loop, &owner1);
  ft__host_forget(T->loop, &owner2);
  hook_pid = 0;
  assert_int_equal(ft_loop_signal_host(T->loop, ia, 43, SIGTERM), -ESRCH);
  assert_int_equal(hook_pid, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      FT_TEST(test_host_registry),
      FT_TEST(test_remote_pid_is_a_live_local_pid),
  };
  return FT_TEST_RUN(tests, 60);
}
