/* ft_watch.h - watching the descendants of a process forktop did not fork
 * itself (forktop -- CMD, forktop -p PID). */
#ifndef FT_WATCH_H
#define FT_WATCH_H

#include "forktop.h"

typedef struct ft_watch ft_watch;

typedef struct ft_watch_opts {
  pid_t root;     /* whose descendants; the loop's own pid for what the loop's children start */
  bool connector; /* use the process-event connector (and taskstats) when permitted */
  bool with_root; /* report root itself too (-p): its spawn, with its real start, and its exit */
} ft_watch_opts;

/* Report every descendant of o->root as events, each process (pid, start
 * time) once: spawn (role "watched"), exec, exit (code -1 when it cannot be
 * known), zombie.  Uses the connector when asked and permitted; scans /proc
 * ten times a second always.  Exits of orphans reaped by the loop are
 * reported here while the watch lives (ft__orphan_fn). */
int ft_watch_open(ft_loop *loop, const ft_watch_opts *o, ft_watch **out);
/* The same for root's descendants only (root itself is the caller's business). */
int ft_watch_new(ft_loop *loop, pid_t root, bool connector, ft_watch **out);
/* "connector" (every fork, exec and exit seen) or "scan" (polling only). */
const char *ft_watch_mode(const ft_watch *w);
/* Messages the kernel dropped from the connector (its socket's buffer
 * full: forktop lagged behind a burst), at least this many; 0 when none.
 * The exits lost with them are told from taskstats where it can be had,
 * else with code -1 (not observed); the processes that lived and died
 * unseen between two scans are not told at all. */
uint64_t ft_watch_lost(const ft_watch *w);
/* Descendants known right now (those exited but not yet reaped included). */
size_t ft_watch_count(const ft_watch *w);
/* With with_root: whether root has exited; *code and *signo its status
 * (*code -1 when it cannot be known: no connector). */
bool ft_watch_root_exited(const ft_watch *w, int *code, int *signo);
/* Signal every live process of the watched tree that the loop did not
 * fork itself (a stop: its own children the loop signals), and each one
 * seen to start or exec from now on; pids reused since are never hit.  An
 * exit by signo is then told as requested ("sent by forktop"). */
void ft_watch_signal(ft_watch *w, int signo);
/* Say what is left to say: read what the kernel has queued, and report
 * the exits of descendants that are gone (their parents reaped them
 * unseen).  ft_watch_free does it too. */
void ft_watch_finish(ft_watch *w);
/* Stop watching. */
void ft_watch_free(ft_watch *w);

/* For tests: handle one message of the process-event connector as if it
 * had been read now (an order of events the kernel may give, forced),
 * and make one scan of /proc. */
struct proc_event;
void ft__watch_feed(ft_watch *w, const struct proc_event *pe);
void ft__watch_scan(ft_watch *w);
/* For tests: the connector's socket buffer made small (bytes), so that a
 * burst of events overflows it; 0 or -errno. */
int ft__watch_rcvbuf(ft_watch *w, int bytes);

#endif
