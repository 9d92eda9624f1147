/* ft_spawn.h - between ft_child.c (one child: prepare, fork, finish) and
 * ft_spawn_batch.c (a pool's workers forked in one batch). */
#ifndef FT_SPAWN_H
#define FT_SPAWN_H

#include "ft_internal.h"

#include <signal.h>

typedef struct ft__fdpair {
  int child;      /* what becomes fd 0/1/2 in the child, or -1 for inherit */
  int parent;     /* what the parent keeps (pipe end), or -1 */
  bool to_stdout; /* stderr: 2>&1 */
  bool borrowed;  /* child is the loop's /dev/null: not ours to close */
  bool late;      /* captured through a pipe the child makes (ft__spawn_batch) */
} ft__fdpair;

struct ft__split;

/* What the parent works out for its children just before forking. */
typedef struct ft__forkinfo {
  uint64_t handled;        /* signals to reset (bit s-1 for signal s) */
  const ft__fdlist *close; /* the loop's fds, for a forked function */
  int sock;                /* a batch's socket for late pipes' ends, or -1 */
  int pdeath;              /* signal for the child when we die, or 0 */
  pid_t parent;            /* our pid, as the child must see it */
  char *title_at;          /* the argv area a forked function retitles, or NULL */
  size_t title_cap;
  const char *prog;              /* the title's first word */
  const struct ft__split *split; /* for a batch's first child: the siblings it forks, or NULL */
} ft__forkinfo;

/* A child between its preparation and its fork. */
typedef struct ft__prep {
  ft__fdpair io[3];
  int errpipe[2];
  int index; /* in its batch */
  ft__child *c;
} ft__prep;

/* A sibling a batch's first child forks in our stead (ft__spawn_batch):
 * copies of what ft__spawn_fork reads, and what comes back.  In memory
 * shared with that child (MAP_SHARED). */
typedef struct ft__split_slot {
  ft__spawn_opts o;
  ft__prep s;
  int sock;          /* the forkinfo's sock for this one */
  pid_t pid;         /* written by the kernel as the sibling is made, else 0 */
  uint64_t start_ns; /* when it was forked */
} ft__split_slot;

typedef struct ft__split {
  ft__split_slot *slot;
  int n;
  int done; /* the pipe the forker writes a byte to once it has forked all it could */
} ft__split;

/* For tests: a batch's forker kills itself (SIGKILL) after forking this
 * many siblings, before saying it is done; -1, never. */
extern int ft__split_test_die_after;

/* Room in the pid table for n more children: 0 or -ENOMEM. */
int ft__ptab_reserve(ft_loop *loop, int n);
/* Free a child's record now (ft_child_reap.c). */
void ft__child_free(ft__child *c);
/* A child's exit, as waitid said it: its record, its owner's callback and
 * the exit event (ft_child_reap.c). */
void ft__dispatch_exit(ft_loop *loop, ft__child *c, const siginfo_t *si);
/* 0, or why a spawn cannot happen now. */
int ft__spawn_check(ft_loop *loop);
/* Everything but the fork; late: captured pipes are the child's to make. */
int ft__spawn_prepare(ft_loop *loop, const ft__spawn_opts *o, ft__prep *s, bool late);
/* Undo a preparation (the fork failed, or never happened). */
void ft__spawn_abort(ft_loop *loop, ft__prep *s);
/* Flush, block every signal, and work out what the children need. */
void ft__fork_begin(ft_loop *loop, const ft__fdlist *functions, sigset_t *old, ft__forkinfo *fi);
/* Fork a prepared child: its pid, or -errno. */
pid_t ft__spawn_fork(const ft__spawn_opts *o, ft__prep *s, const ft__forkinfo *fi);
/* The parent's side once the child runs. */
int ft__spawn_finish(ft_loop *loop, const ft__spawn_opts *o, ft__prep *s, pid_t pid,
                     ft__child **out);

#endif
