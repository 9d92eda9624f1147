/* ft_test_mp.h - the mp room's test support for child processes: ones that
 * run a target to its end, and ones that are meant to die (test_queue.c,
 * test_queue_many.c, test_queue_wake.c).  Part of the mp room's test support
 * library (ft_test_mp). */
#ifndef FT_TEST_MP_H
#define FT_TEST_MP_H

#include "ft_test.h"

/* Kill the calling process with SIGKILL, at once: set it as one of the
 * engine's test hooks to die at the worst moment. */
void ft_test_die_now(void);
/* Start target(arg) in a child process; the test fails if it cannot. */
ft_process *ft_test_child_start(ft_loop *loop, ft_target_fn target, void *arg);
/* Wait for p to end (timeout seconds at most: the test fails otherwise,
 * naming it by what, or "a child" for NULL), free it, and return its exit
 * code: the status, or -signal. */
int ft_test_child_end(ft_process *p, double timeout, const char *what);
/* Run target(arg) in a child process to its end (10 s at most; the test
 * fails otherwise) and return its exit code: the status, or -signal. */
int ft_test_child_exit(ft_loop *loop, ft_target_fn target, void *arg);

#endif
