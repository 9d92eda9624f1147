/* ft_test_mp.c - child processes for the mp tests (ft_test_mp.h). */
#include "ft_test_mp.h"

#include <signal.h>

/* Kill the calling process with SIGKILL. */
void ft_test_die_now(void) { raise(SIGKILL); }

/* Start target(arg) in a child. */
ft_process *ft_test_child_start(ft_loop *loop, ft_target_fn target, void *arg) {
  ft_process *p;
  ft_process_opts o = {.target = target, .arg = arg};
  assert_int_equal(ft_process_new(loop, &o, &p), 0);
  assert_int_equal(ft_process_start(p), 0);
  return p;
}

/* Wait for p, free it, return its exit code. */
int ft_test_child_end(ft_process *p, double timeout, const char *what) {
  int rc = ft_process_join(p, timeout);
  if (rc)
    fail_msg("%s (pid %d) did not end within %g s: %s", what ? what : "a child",
             (int)ft_process_pid(p), timeout, ft_strerror(rc));
  int code = 0;
  assert_int_equal(ft_process_exitcode(p, &code), 0);
  ft_process_free(p);
  return code;
}

/* Run target(arg) in a child to its end and return its exit code. */
int ft_test_child_exit(ft_loop *loop, ft_target_fn target, void *arg) {
  return ft_test_child_end(ft_test_child_start(loop, target, arg), 10, NULL);
}
