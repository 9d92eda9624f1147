/* ft_guard_int.h - what the guardian reads of a process (ft_guard_proc.c):
 * private to ft_guard.c. */
#ifndef FT_GUARD_INT_H
#define FT_GUARD_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Whether process pid was executed with the entry tag ("NAME=VALUE") in
 * its environment; *buf (of *cap bytes) is reused between calls. */
bool ft__proc_tagged(pid_t pid, const char *tag, char **buf, size_t *cap);
/* Whether process pid is in the cgroup cg_name or one below it. */
bool ft__proc_in_cg(pid_t pid, const char *cg_name);
/* Whether pid's credentials are ours (its parent death signal kept). */
bool ft__same_creds(pid_t pid);
/* Take the run tags out of our own environment as /proc shows it. */
void ft__guard_untag_self(void);

#endif
