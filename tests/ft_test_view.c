/* ft_test_view.c - the view tests' fixture (ft_test_view.h). */
#include "ft_test_view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* forktop alone. */
fx *fx_empty(bool ascii) {
  fx *f = calloc(1, sizeof *f);
  assert_non_null(f);
  ft_model_opts o = {.root_pid = FX_ROOT, .t0 = FX_T0};
  assert_int_equal(ft_model_new(&o, &f->m), 0);
  ui_view_init(&f->v, "demo", ascii, true, false);
  f->v.now = FX_T0 + 2 * FX_S;
  return f;
}

/* forktop, a pool of three workers, a producer with a child. */
fx *fx_new(bool ascii) {
  fx *f = fx_empty(ascii);
  fx_spawn(f->m, 2001, FX_ROOT, "main", "worker", 0);
  fx_spawn(f->m, 2002, FX_ROOT, "main", "worker", 1);
  fx_spawn(f->m, 2003, FX_ROOT, "main", "worker", 2);
  fx_spawn(f->m, 2100, FX_ROOT, "producer", "process", -1);
  fx_spawn(f->m, 2101, 2100, "helper", "subprocess", -1);
  return f;
}

/* Free the fixture. */
void fx_free(fx *f) {
  ui_view_free(&f->v);
  ui_grid_free(&f->g);
  ft_model_free(f->m);
  free(f);
}

/* A spawn event. */
void fx_spawn(ft_model *m, pid_t pid, pid_t ppid, const char *name, const char *role, int w) {
  ft_event ev = {
      .kind = FT_EV_SPAWN, .t_ns = FX_T0 + (uint64_t)pid, .pid = pid, .ppid = ppid, .name = name};
  ev.u.spawn.role = role;
  ev.u.spawn.worker = w;
  assert_int_equal(ft_model_apply(m, &ev), 0);
}

/* Build the view. */
void fx_build(fx *f) {
  ft_model_tick(f->m, f->v.now);
  assert_int_equal(ui_view_build(&f->v, ft_model_snapshot(f->m)), 0);
}

/* Render the view. */
void fx_render(fx *f, int w, int h) {
  fx_build(f);
  assert_int_equal(ui_grid_resize(&f->g, w, h), 0);
  ui_cells_render(&f->g, &f->v);
  if (getenv("FT_DUMP"))
    for (int y = 0; y < f->g.h; y++)
      fprintf(stderr, "%2d|%s\n", y, ui_grid_line(&f->g, y, f->line, sizeof f->line));
}

/* Find a screen line. */
int fx_find(fx *f, const char *needle) {
  for (int y = 0; y < f->g.h; y++)
    if (strstr(ui_grid_line(&f->g, y, f->line, sizeof f->line), needle))
      return y;
  return -1;
}

/* A row's pid. */
pid_t fx_row_pid(const fx *f, size_t i) { return f->v.snap->procs[f->v.rows[i].proc].pid; }
