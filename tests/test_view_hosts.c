/* test_view_hosts.c - the dashboard grouped by host (issue 16), without a
 * terminal: a header row per host, a HOST column once a remote host exists,
 * the filter matching host names, the selection and `k` keyed by (host,
 * pid) where a remote pid equals a live local one. */
#include "ft_test_view.h"

#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S FX_S
#define ROOT FX_ROOT
#define T0 FX_T0

static void apply(fx *f, ft_event ev) { assert_int_equal(ft_model_apply(f->m, &ev), 0); }

static void spawn(fx *f, uint32_t host, pid_t pid, pid_t ppid, const char *name, const char *role,
                  int w) {
  ft_event ev = {.kind = FT_EV_SPAWN, .t_ns = T0 + 1, .host = host, .pid = pid, .ppid = ppid};
  ev.name = name;
  ev.u.spawn.role = role;
  ev.u.spawn.worker = w;
  ev.u.spawn.launcher_pid = host && w >= 0 ? 2001 : 0;
  apply(f, ev);
}

static void host(fx *f, uint32_t id, const char *name, bool lost, const char *cause) {
  ft_event ev = {.kind = FT_EV_HOST, .t_ns = T0 + 2, .host = id, .pid = ROOT, .name = name};
  ev.u.host.launcher = "slurm";
  ev.u.host.job = "77";
  ev.u.host.lost = lost;
  ev.u.host.cause = cause;
  apply(f, ev);
}

/* forktop with a local worker 2000 and its launcher 2001; host node2 runs
 * a worker that is 2000 there too, with a child 3000; node3 has nothing. */
static fx *hosts_new(void) {
  fx *f = fx_empty(false);
  spawn(f, 0, 2000, ROOT, "p", "worker", 0);
  spawn(f, 0, 2001, ROOT, "srun", "process", -1);
  host(f, 1, "node2", false, NULL);
  spawn(f, 1, 2000, 0, "p", "worker", 1);
  spawn(f, 1, 3000, 2000, "sh", "process", -1);
  ft_event ts = {.kind = FT_EV_TASK_START, .t_ns = T0 + 3, .host = 1, .pid = 2000, .name = "p"};
  ts.u.task.task = 5;
  apply(f, ts);
  host(f, 2, "node3", false, NULL);
  return f;
}

/* Index of the row of (host, pid), or of host's header with pid 0. */
static size_t row_of(const fx *f, uint32_t h, pid_t pid) {
  for (size_t i = 0; i < f->v.nrows; i++) {
    const ui_row *r = &f->v.rows[i];
    if (r->host == h && (pid ? !r->header && f->v.snap->procs[r->proc].pid == pid : r->header))
      return i;
  }
  fail_msg("no row for host %u pid %d", h, (int)pid);
  return 0;
}

static void test_grouped_rows(void **state) {
  (void)state;
  fx *f = hosts_new();
  fx_render(f, 140, 40);
  /* local rows first, then each host: its header, its processes one level down */
  assert_int_equal(f->v.nrows, 7);
  size_t h1 = row_of(f, 1, 0), r2000 = row_of(f, 1, 2000), r3000 = row_of(f, 1, 3000);
  size_t h2 = row_of(f, 2, 0), l2000 = row_of(f, 0, 2000);
  assert_true(l2000 < h1 && h1 + 1 == r2000 && r2000 + 1 == r3000 && r3000 + 1 == h2);
  assert_int_equal(f->v.rows[r2000].depth, 1);
  assert_int_equal(f->v.rows[r3000].depth, 2);
  assert_true(f->v.rows[h1].has_children);
  assert_false(f->v.rows[h2].has_children);
  /* the header row and the HOST column */
  int y = fx_find(f, "host node2 (slurm job 77)");
  assert_true(y > 0);
  assert_non_null(strstr(f->line, "up  1 worker alive"));
  assert_true(fx_find(f, "PID* HOST          PPID") > 0);
  assert_true(fx_find(f, "2000 node2") > y);
  y = fx_find(f, "2000 local");
  assert_true(y > 0 && y < fx_find(f, "host node2"));
  assert_true(fx_find(f, "host node3") > 0);
  /* lost, with its cause */
  /* the local launcher says where its worker runs */
  assert_non_null(strstr((fx_find(f, "2001 local"), f->line), "launcher \xe2\x86\x92 node2"));
  host(f, 1, "node2", true, "no heartbeat for 4 s");
  ft_event ex = {.kind = FT_EV_EXIT, .t_ns = T0 + 4, .host = 1, .pid = 2000, .name = "p"};
  ex.u.exit.signal = SIGKILL;
  apply(f, ex);
  fx_render(f, 140, 40);
  assert_true(fx_find(f, "host node2 (slurm job 77)  LOST: no heartbeat for 4 s") > 0);
  /* the exit log names a remote pid's host; the local 2000 lives on */
  assert_true(fx_find(f, "2000 @node2 SIGKILL") > 0);
  assert_true(ft_model_alive(f->m, 2000));
  fx_free(f);
}

/* The filter matches a host's name: its header and its processes show,
 * the other host's header does not. */
static void test_filter_by_host(void **state) {
  (void)state;
  fx *f = hosts_new();
  ui_view_set_filter(&f->v, "NODE2");
  fx_render(f, 140, 40);
  assert_int_equal(f->v.nrows, 3);
  row_of(f, 1, 0);
  row_of(f, 1, 2000);
  row_of(f, 1, 3000);
  assert_int_equal(fx_find(f, "host node3"), -1);
  fx_free(f);
}

/* k on the remote 2000 asks for host 1's 2000; on the local one for the
 * local one: never the one for the other.  The selection follows (host, pid). */
static void test_signal_keyed_by_host(void **state) {
  (void)state;
  fx *f = hosts_new();
  fx_render(f, 140, 40);
  ui_key k = {.code = 'k'}, enter = {.code = UI_K_ENTER};
  ui_view_select(&f->v, UI_P_TREE, row_of(f, 1, 2000));
  assert_int_equal(f->v.sel_pid, 2000);
  assert_int_equal(f->v.sel_host, 1);
  spawn(f, 0, 2500, ROOT, "late", "process", -1); /* rows move; the selection follows */
  fx_render(f, 140, 40);
  assert_int_equal(f->v.sel[UI_P_TREE], row_of(f, 1, 2000));
  assert_int_equal(ui_view_selected(&f->v)->host, 1);
  ui_keys_handle(&f->v, &k);
  assert_int_equal(f->v.mode, UI_MODE_SIGNAL);
  ui_action a = ui_keys_handle(&f->v, &enter);
  assert_int_equal(a.kind, UI_ACT_SIGNAL);
  assert_int_equal(a.pid, 2000);
  assert_int_equal(a.host, 1);
  assert_int_equal(a.signo, SIGTERM);
  ui_view_select(&f->v, UI_P_TREE, row_of(f, 0, 2000));
  ui_keys_handle(&f->v, &k);
  a = ui_keys_handle(&f->v, &enter);
  assert_int_equal(a.kind, UI_ACT_SIGNAL);
  assert_int_equal(a.pid, 2000);
  assert_int_equal(a.host, 0);
  /* a header row is not a process */
  ui_view_select(&f->v, UI_P_TREE, row_of(f, 2, 0));
  assert_null(ui_view_selected(&f->v));
  ui_keys_handle(&f->v, &k);
  assert_int_equal(f->v.mode, UI_MODE_NORMAL);
  assert_non_null(strstr(f->v.status, "a host's row"));
  fx_render(f, 140, 40);
  assert_int_equal(f->v.sel[UI_P_TREE], row_of(f, 2, 0));
  fx_free(f);
}

/* Without another host there is no HOST column and no header. */
static void test_local_only(void **state) {
  (void)state;
  fx *f = calloc(1, sizeof *f);
  ft_model_opts o = {.root_pid = ROOT, .t0 = T0};
  assert_int_equal(ft_model_new(&o, &f->m), 0);
  spawn(f, 0, 2000, ROOT, "p", "worker", 0);
  ui_view_init(&f->v, "demo", false, true, false);
  fx_render(f, 140, 40);
  assert_int_equal(f->v.nrows, 2);
  assert_int_equal(fx_find(f, "HOST"), -1);
  assert_int_equal(fx_find(f, "host "), -1);
  fx_free(f);
}

int main(void) {
  setlocale(LC_ALL, "C.UTF-8");
  const struct CMUnitTest tests[] = {
      FT_TEST(test_grouped_rows),
      FT_TEST(test_filter_by_host),
      FT_TEST(test_signal_keyed_by_host),
      FT_TEST(test_local_only),
  };
  return FT_TEST_RUN(tests, 60);
}
