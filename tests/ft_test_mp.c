/* ft_test_mp.c - processes that are meant to die, for the mp tests (ft_test_mp.h). */
#include "ft_test_mp.h"

#include <signal.h>

/* Kill the calling process with SIGKILL. */
void ft_test_die_now(void) { raise(SIGKILL); }

/* Run target(arg) in a child to its end and return its exit code. */
int ft_test_child_exit(ft_loop *loop, ft_target_fn target, void *arg) {
  ft_process *p;
  ft_process_opts o = {.target = target, .arg = arg};
  assert_int_equal(ft_process_new(loop, &o, &p), 0);
  assert_int_equal(ft_process_start(p), 0);
  assert_int_equal(ft_process_join(p, 10), 0);
  int code = 0;
  assert_int_equal(ft_process_exitcode(p, &code), 0);
  ft_process_free(p);
  return code;
}
