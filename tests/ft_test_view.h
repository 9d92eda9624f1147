/* ft_test_view.h - the view tests' fixture, fx (test_view.c,
 * test_dashkeys.c, test_view_hosts.c): a model fed events by hand, a view
 * of it, and a grid the view renders into, read back line by line
 * (FT_DUMP=1 shows every rendered screen).  Part of the view room's test
 * support (ft_test_view). */
#ifndef FT_TEST_VIEW_H
#define FT_TEST_VIEW_H

#include "ft_test.h"

#include "ft_model.h"
#include "ui_view.h"

#define FX_S 1000000000ull /* a second, in ns */
#define FX_ROOT 1000       /* forktop's pid in the model */
#define FX_T0 (100 * FX_S) /* when the run began */

typedef struct fx {
  ft_model *m;
  ui_view v;
  ui_grid g;
  char line[4096]; /* the line fx_find found */
} fx;

/* forktop alone (FX_ROOT, from FX_T0), its view at FX_T0 + 2 s. */
fx *fx_empty(bool ascii);
/* forktop with a pool of three workers (2001-2003, worker 0-2) and a
 * producer 2100 that has a child 2101. */
fx *fx_new(bool ascii);
void fx_free(fx *f);
/* Apply a spawn of pid under ppid (w: its worker number, or -1). */
void fx_spawn(ft_model *m, pid_t pid, pid_t ppid, const char *name, const char *role, int w);
/* Tick the model to the view's now and build the view. */
void fx_build(fx *f);
/* Build, then render into a w x h grid. */
void fx_render(fx *f, int w, int h);
/* The first screen line containing needle (copied to f->line), or -1. */
int fx_find(fx *f, const char *needle);
/* The pid of the view's row i. */
pid_t fx_row_pid(const fx *f, size_t i);

#endif
