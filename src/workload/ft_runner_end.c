/* ft_runner_end.c - how a run ends: when it is done, a stop (SIGTERM to
 * the whole tree below forktop, SIGKILL after the grace period), what is
 * left alive killed once the work is over, the summary and the exit
 * status. */
#include "ft_runner_int.h"
#include "ft_tree.h"

#include <unistd.h>

/* Every part finished or will never start; after a stop, also every
 * descendant has gone (or could not be made to go, a second after SIGKILL),
 * so that what is reported and counted is what happened, and nothing is
 * left for ft_loop_free to kill unseen. */
bool ft_runner_done(const ft_runner *r) {
  if (r->nrunning || (r->nwaiting && !r->stopping))
    return false;
  return !r->stopping || r->given_up || ft_loop_children(r->loop) <= 0;
}

/* Signal the whole tree below forktop: the loop's own children through
 * their pidfds, then every other descendant (what tasks exec, leaked
 * children, orphans) by pid.  A process forked after the scan misses this
 * round but is signalled when its spawn is seen (ft__runner_hook); the
 * SIGKILL round scans again, and ft_loop_free kills in rounds until no
 * child is left.  A pid could be reused between the scan and the
 * kill only by a process that is not ours if the scanned one was reaped in
 * between: the scanned ones are our descendants, and ours are reaped only
 * by this loop (not yet), theirs only by their parents, all being stopped.
 *
 * The scan reads forktop's children, then theirs: a process whose parent
 * dies between the two reads (the first signal kills it) is reparented to
 * forktop after forktop's children were read, and is in neither list.  So
 * the scan is repeated until a round finds no descendant, ours included,
 * that an earlier round had not: at least two rounds, since the first
 * finds everything new (a few rounds; each is cheap next to a stop). */
static void ft__signal_tree(ft_runner *r, int signo) {
  ft_loop_signal_all(r->loop, signo);
  ft_tree t = {0}, seen = {0};
  for (int round = 0; round < 8 && ft_tree_scan(getpid(), &t) == 0; round++) {
    bool fresh = false; /* a descendant not seen before, ours included */
    for (size_t i = 0; i < t.n; i++) {
      pid_t pid = t.procs[i].pid;
      if (ft_tree_find(&seen, pid) >= 0)
        continue;
      if (!ft__ptab_get(r->loop, pid)) /* ours were signalled through their pidfds */
        kill(pid, signo);
      fresh = true;
      if (ft__grow((void **)&seen.procs, &seen.cap, seen.n, sizeof *seen.procs) == 0)
        seen.procs[seen.n++] = t.procs[i];
    }
    if (!fresh)
      break;
  }
  ft_tree_free(&t);
  ft_tree_free(&seen);
}

static void ft__give_up(ft_timer *t, void *ud) {
  (void)t;
  ((ft_runner *)ud)->given_up = true;
}

static void ft__grace_over(ft_timer *t, void *ud) {
  ft_runner *r = ud;
  r->killed = true;
  ft__signal_tree(r, SIGKILL);
  ft_timer_start(t, 1000ull * 1000 * 1000, 0, ft__give_up, r);
}

/* Stop: nothing new starts, everything running gets SIGTERM (the whole
 * tree, grandchildren included), then SIGKILL after grace_s seconds. */
void ft_runner_stop(ft_runner *r, double grace_s) {
  if (r->stopping)
    return;
  r->stopping = true;
  r->sum.interrupted = true;
  for (size_t i = 0; i < r->nunits; i++) {
    ft__unit *u = &r->units[i];
    if (u->state == FT__U_RUNNING)
      ft__unit_stop(r, u);
  }
  ft__signal_tree(r, SIGTERM);
  ft_timer_start(r->grace, (uint64_t)(grace_s * 1e9), 0, ft__grace_over, r);
}

/* Counts so far.  A pool that never started (a stop came first, or what it
 * waited for failed) submitted none of its items: they count as not run. */
void ft_runner_summary(const ft_runner *r, ft_run_summary *s) {
  *s = r->sum;
  for (size_t i = 0; i < r->nunits; i++) {
    const ft__unit *u = &r->units[i];
    if (u->is_pool && !u->args)
      s->tasks_not_run += r->plan->pools[u->idx].nitems;
  }
}

/* What is still alive once the work is over (a leaked child, a program a
 * task left running) is killed here, while the runner still counts: the
 * loop reaps it (an orphan) and its exit is in the summary, not a failure
 * of the work.  Returns the number of processes signalled. */
int ft_runner_kill_rest(ft_runner *r) {
  r->cleaning = true;
  int n = ft_loop_children(r->loop);
  if (n > 0)
    ft__signal_tree(r, SIGKILL);
  return n;
}

/* 0 when all succeeded. */
int ft_runner_exit_status(const ft_runner *r) {
  return r->own_failed || r->sum.tasks_failed || r->sum.interrupted || r->sum.error[0] ? 1 : 0;
}
