/* ft_guard.h - nothing a run starts outlives it, whatever kills forktop:
 * a guardian process that ends the run's processes once forktop is gone. */
#ifndef FT_GUARD_H
#define FT_GUARD_H

#include "forktop.h"

typedef struct ft_guard ft_guard;

/* ft_guard_start flags */
enum {
  FT_GUARD_NO_CGROUP = 1, /* do not try a cgroup: find the run's processes by their environment */
  FT_GUARD_HANGUP = 2,    /* once forktop is gone, SIGHUP (and SIGCONT) first, as a terminal that
                             closes does; SIGKILL what is left after FT_GUARD_HANGUP_MS */
};

/* How long what gets SIGHUP (FT_GUARD_HANGUP) has to end before SIGKILL. */
#define FT_GUARD_HANGUP_MS 2000

/* The environment variable that tags every process of a guarded run. */
#define FT_GUARD_ENV "FORKTOP_GUARD"

/* Start guarding this process: fork the guardian, which makes a cgroup v2
 * (forktop-<pid>.<start time>, under our own) where it can; enter it (the guardian
 * stays outside); set FT_GUARD_ENV=<pid>.<start time> in our environment
 * (inherited by every program the run executes).  Call it before the
 * run's first fork, with no other thread running.  Once we are gone (exit, SIGKILL, any signal),
 * the guardian kills every process in the cgroup and every tagged process
 * (with FT_GUARD_HANGUP: hangs them up first), removes the cgroup and exits.  0 or -errno (then
 * nothing is guarded). */
int ft_guard_start(unsigned flags, ft_guard **out);
/* Have loop's children close the guard's fds, and get SIGKILL when we die
 * (PR_SET_PDEATHSIG: the environment tag's only hold on forked functions).
 * NULL is a no-op. */
void ft_guard_bind(ft_guard *g, ft_loop *loop);
/* An fd (O_WRONLY, O_CLOEXEC) on cgroup.procs of the cgroup above the
 * run's (forktop-<pid>, where ft_guard_start put this process), or
 * -errno.  A child that writes "0" there, its environment without the
 * guard's tag and without a parent-death signal (ft__spawn_opts.spare),
 * is spared when forktop dies: for a launcher that must outlive forktop
 * by the moments its remote process takes to end (srun: see
 * ft_transport_tcp.c), whose end someone else ensures. */
int ft_guard_outer_procs(void);
/* The run ended and everything it started was reaped: leave the cgroup,
 * have the guardian kill what may remain and remove the cgroup, and wait
 * (at most a few seconds) until it has.  NULL is a no-op. */
void ft_guard_free(ft_guard *g);

#endif
