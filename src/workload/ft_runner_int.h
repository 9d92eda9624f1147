/* ft_runner_int.h - the runner's private structures, shared by its files
 * (ft_runner*.c, ft_slurm*.c). */
#ifndef FT_RUNNER_INT_H
#define FT_RUNNER_INT_H

#include "ft_internal.h"
#include "ft_runner.h"

/* A Slurm allocation held for a pool (ft_slurm.c). */
typedef struct ft__slurm ft__slurm;
int ft__slurm_new(int nodes, char *const *args, ft__slurm **out, ft_buf *err);
void ft__slurm_release(ft__slurm *s);
bool ft__slurm_gone(ft__slurm *s);
void ft__slurm_free(ft__slurm *s);
const char *ft__slurm_job(const ft__slurm *s);
char *const *ft__slurm_nodes(const ft__slurm *s);
const char *ft__slurm_bind(const ft__slurm *s);
char *const *ft__slurm_addrs(const ft__slurm *s);
/* Its per-node agents' step, read into events (ft_slurm_agent.c). */
typedef struct ft__slurm_agent ft__slurm_agent;
int ft__slurm_agent_new(ft_loop *loop, const ft__slurm *s, const char *exe, ft__slurm_agent **out);
pid_t ft__slurm_agent_pid(const ft__slurm_agent *a);
void ft__slurm_agent_stop(ft__slurm_agent *a);
bool ft__slurm_agent_done(const ft__slurm_agent *a);
void ft__slurm_agent_free(ft__slurm_agent *a);

typedef enum ft__ustate { FT__U_WAITING, FT__U_RUNNING, FT__U_FINISHED } ft__ustate;

/* A pool or a process section, in one namespace. */
typedef struct ft__unit {
  ft_runner *runner;
  bool is_pool;
  size_t idx; /* into plan->pools or plan->procs */
  const char *name;
  ft__ustate state;
  int after, stop_when; /* unit indexes, or -1 */
  /* the units whose after (stop_when) is this one: a list through them, -1 ends it */
  int first_after, next_after, first_stop, next_stop;
  size_t run_pos; /* RUNNING: its place in runner->running */
  bool stopped;   /* terminated by a stop rule: its signal is no failure */
  /* pool */
  ft_pool *pool;
  ft_result **results; /* one per apply_async, or one for the whole map */
  size_t nresults;
  size_t nready; /* results[0..nready) are ready (a ready result stays so) */
  ft_iter *iter; /* imap / imap_unordered, or any pool whose items are streamed */
  size_t yielded;
  struct ft__feed *feed; /* items = @FILE or -: where they are read from */
  ft_timer *feed_timer;  /* a pipe's items: wakes the loop to look for more */
  ft_slice *args;        /* encoded task arguments */
  char *argbuf;
  ft_timer *chaos;
  ft__slurm *slurm;       /* hosts = slurm:N: its allocation */
  ft__slurm_agent *agent; /* and its nodes' agents, or NULL */
  ft_timer *wake;         /* turns the loop while its allocation is being released */
  /* process */
  ft_process **procs;
  int nprocs;
  char **names;
} ft__unit;

struct ft_runner {
  ft_loop *loop;
  const ft_plan *plan;
  ft__unit *units;
  size_t nunits;
  /* The units RUNNING (polled each turn) and how many are WAITING: a turn
   * and the done check cost what runs, not every part of the plan. */
  size_t *running;
  size_t nrunning, nwaiting;
  ft_queue **queues;
  ft_timer *grace;
  bool started, stopping;
  bool killed;   /* the grace period is over: SIGKILL was sent to the whole tree */
  bool cleaning; /* ft_runner_kill_rest: exits now are no failures */
  bool given_up; /* a second after that: stop waiting for what will not die */
  uint64_t rng;
  ft_run_summary sum;
  int last_err;        /* the errno of the latest error event, for the summary's cause */
  unsigned own_failed; /* of sum.failed, the workload's own processes (workers, processes) */
  struct {
    pid_t pid;
    bool watched; /* reported by the watch, not forked by the workload's engine */
  } * live;       /* spawns seen and not yet exited */
  size_t nlive, caplive;
};

uint64_t ft__rand_next(uint64_t *state);
/* ft_runner_units.c: link the units' after and stop_when (both ways);
 * move a unit to a state, keeping the running list and the waiting count. */
int ft__units_link(ft_runner *r, const ft_plan *plan);
void ft__unit_set(ft_runner *r, size_t ui, ft__ustate state);
/* ft_runner.c: stop a unit: a waiting one never runs, a running one is
 * terminated (ft_runner_end.c stops them all). */
void ft__unit_stop(ft_runner *r, ft__unit *u);
/* ft_runner_feed.c: a pool's items streamed from a file or stdin. */
typedef struct ft__feed ft__feed;
int ft__feed_open(const ft_plan_pool *pp, size_t ui, uint64_t *tasks, ft__feed **out);
int ft__feed_next(void *ud, ft_slice *item);
const char *ft__feed_error(const ft__feed *f);
bool ft__feed_waits(const ft__feed *f);
int ft__feed_start(ft_runner *r, size_t ui, const ft_plan_pool *pp, ft_task_fn fn);
void ft__feed_free(ft__feed *f);
/* Which limit err (from starting a process) stands for, with its value. */
void ft__limit_cause(int err, char *buf, size_t n);
/* seq: the task's number in its pool from 1 ({#}), or the instance number */
int ft__steps_run(ft_runner *r, const ft_step *steps, size_t n, const char *item, uint64_t seq,
                  uint64_t seed, ft_buf *out);

#endif
