/* ft_runner.h - run a workload plan on a loop: queues, pools and processes
 * started in dependency order, stop rules applied, outcomes tallied. */
#ifndef FT_RUNNER_H
#define FT_RUNNER_H

#include "ft_workload.h"

typedef struct ft_runner ft_runner;

typedef struct ft_run_summary {
  unsigned processes; /* processes the workload forked (workers included) */
  unsigned exited;    /* of them, exited so far */
  unsigned failed;    /* exited with a failure (not counting those stopped by a rule) */
  uint64_t tasks;     /* tasks submitted */
  uint64_t tasks_done;
  uint64_t tasks_failed;  /* ran (a worker took them) and failed */
  unsigned orphans;       /* reparented descendants reaped */
  unsigned not_started;   /* processes the plan asked for that could not be started */
  uint64_t tasks_not_run; /* tasks never submitted, or cancelled before they ran */
  bool interrupted;       /* stopped by ft_runner_stop */
  char error[704];        /* why the work did not run as asked ("" when it did) */
} ft_run_summary;

/* Make a runner for plan (which must outlive it); nothing starts yet.
 * It installs its own event hook to keep its tallies. */
int ft_runner_new(ft_loop *loop, const ft_plan *plan, ft_runner **out);
/* Create the queues and start every part that waits for nothing. */
int ft_runner_start(ft_runner *r);
/* Every part has finished (or was never started because of a stop). */
bool ft_runner_done(const ft_runner *r);
/* Stop everything: SIGTERM now, SIGKILL after grace_s seconds. */
void ft_runner_stop(ft_runner *r, double grace_s);
/* Counts so far. */
void ft_runner_summary(const ft_runner *r, ft_run_summary *s);
/* Kill (SIGKILL) whatever of the workload's tree is still alive once its
 * work is over; the loop's next turns reap it and the runner counts those
 * exits (not as failures).  Returns how many direct children there were. */
int ft_runner_kill_rest(ft_runner *r);
/* 0 when every task and process succeeded, else 1. */
int ft_runner_exit_status(const ft_runner *r);
/* Register the runner's task functions by name (what a remote worker
 * resolves); done by ft_runner_new too. */
void ft_runner_register(void);
/* A runner that only runs pool tasks, with no loop: a remote worker's ctx
 * (ft_worker_serve), for plan parsed with ft_plan_parse_tasks. */
int ft_runner_new_tasks(const ft_plan *plan, ft_runner **out);
/* Free (anything still running is killed and left to the loop to reap). */
void ft_runner_free(ft_runner *r);

#endif
