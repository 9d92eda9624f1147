/* ft_watch.h - watching the descendants of a process forktop did not fork
 * itself (forktop -- CMD, forktop -p PID). */
#ifndef FT_WATCH_H
#define FT_WATCH_H

#include "forktop.h"

typedef struct ft_watch ft_watch;

/* Report every descendant of root as events: spawn (role "watched"), exec,
 * exit (code -1 when it cannot be known), zombie.  Uses the process-event
 * connector when asked and permitted; scans /proc ten times a second always. */
int ft_watch_new(ft_loop *loop, pid_t root, bool connector, ft_watch **out);
/* "connector" (every fork, exec and exit seen) or "scan" (polling only). */
const char *ft_watch_mode(const ft_watch *w);
/* Descendants known right now. */
size_t ft_watch_count(const ft_watch *w);
/* Stop watching. */
void ft_watch_free(ft_watch *w);

#endif
