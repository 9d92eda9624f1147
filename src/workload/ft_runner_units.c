/* ft_runner_units.c - how the parts of a plan wait for each other: each
 * unit's `after` and `stop_when` found by name, the lists from each unit to
 * those that wait for it, and the list of the units that run.  So that a
 * plan of n parts costs n log n to link and each step of the run costs what
 * it touches, not n. */
#include "ft_runner_int.h"

/* A unit's name and index, to sort and search by name. */
typedef struct ft__byname {
  const char *name;
  int idx;
} ft__byname;

static int ft__byname_cmp(const void *a, const void *b) {
  return strcmp(((const ft__byname *)a)->name, ((const ft__byname *)b)->name);
}

/* The unit named name in byname (n units sorted by name), or -1: a binary
 * search, so linking a plan of n parts costs n log n, not n^2. */
static int ft__unit_find(const ft__byname *byname, size_t n, const char *name) {
  if (!name)
    return -1;
  const ft__byname *hit =
      bsearch(&(ft__byname){name, -1}, byname, n, sizeof *byname, ft__byname_cmp);
  return hit ? hit->idx : -1;
}

/* Link the units of plan in r: after, stop_when and their inverse lists. */
int ft__units_link(ft_runner *r, const ft_plan *plan) {
  ft__byname *byname = malloc((r->nunits ? r->nunits : 1) * sizeof *byname);
  if (!byname)
    return -ENOMEM;
  for (size_t i = 0; i < r->nunits; i++)
    byname[i] = (ft__byname){r->units[i].name, (int)i};
  qsort(byname, r->nunits, sizeof *byname, ft__byname_cmp);
  for (size_t i = 0; i < r->nunits; i++) {
    ft__unit *u = &r->units[i];
    const char *after = u->is_pool ? plan->pools[u->idx].after : plan->procs[u->idx].after;
    u->after = ft__unit_find(byname, r->nunits, after);
    u->stop_when =
        u->is_pool ? -1 : ft__unit_find(byname, r->nunits, plan->procs[u->idx].stop_when);
  }
  /* Who waits for whom, as lists in unit order: a part that finishes
   * reaches its dependents without looking at every part. */
  for (size_t i = 0; i < r->nunits; i++)
    r->units[i].first_after = r->units[i].first_stop = -1;
  for (size_t i = r->nunits; i-- > 0;) {
    ft__unit *u = &r->units[i];
    u->next_after = u->next_stop = -1;
    if (u->after >= 0) {
      u->next_after = r->units[u->after].first_after;
      r->units[u->after].first_after = (int)i;
    }
    if (u->stop_when >= 0) {
      u->next_stop = r->units[u->stop_when].first_stop;
      r->units[u->stop_when].first_stop = (int)i;
    }
  }
  free(byname);
  return 0;
}

/* Move unit ui to state, keeping the list of running units and the count
 * of waiting ones. */
void ft__unit_set(ft_runner *r, size_t ui, ft__ustate state) {
  ft__unit *u = &r->units[ui];
  if (u->state == FT__U_WAITING)
    r->nwaiting--;
  if (u->state == FT__U_RUNNING) {
    size_t last = r->running[--r->nrunning];
    r->running[u->run_pos] = last;
    r->units[last].run_pos = u->run_pos;
  }
  u->state = state;
  if (state == FT__U_WAITING)
    r->nwaiting++;
  if (state == FT__U_RUNNING) {
    u->run_pos = r->nrunning;
    r->running[r->nrunning++] = ui;
  }
}
