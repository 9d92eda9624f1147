/* ft_test_mp.h - the mp room's test support for processes that are meant
 * to die (test_queue.c, test_queue_many.c, test_queue_wake.c).  Part of the
 * mp room's test support library (ft_test_mp). */
#ifndef FT_TEST_MP_H
#define FT_TEST_MP_H

#include "ft_test.h"

/* Kill the calling process with SIGKILL, at once: set it as one of the
 * engine's test hooks to die at the worst moment. */
void ft_test_die_now(void);
/* Run target(arg) in a child process to its end (10 s at most; the test
 * fails otherwise) and return its exit code: the status, or -signal. */
int ft_test_child_exit(ft_loop *loop, ft_target_fn target, void *arg);

#endif
