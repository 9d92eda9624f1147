/* test_dashkeys.c - the dashboard's htop habits without a terminal: search
 * and filter over what the screen shows, the flat list and the sort menu,
 * tags and the signal menu, --readonly, the COMMAND column and its
 * ellipsis, the extra columns, the meters, the setup screen and forktoprc,
 * and the layouts of small terminals. */
#include "ft_test_view.h"

#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S FX_S
#define ROOT FX_ROOT
#define T0 FX_T0

static ui_action key(fx *f, int code) {
  ui_key k = {.code = code};
  ui_action a = ui_keys_handle(&f->v, &k);
  assert_int_equal(ui_view_build(&f->v, ft_model_snapshot(f->m)), 0);
  return a;
}

static void type(fx *f, const char *s) {
  for (; *s; s++)
    key(f, (unsigned char)*s);
}

/* A rich read of pid, as ft_scan makes for the rows on screen. */
static void rich(fx *f, pid_t pid, const char *args, uint64_t ticks, uint64_t io_r, uint64_t t) {
  ft_mstat st = {.pid = pid,
                 .state = 'S',
                 .threads = 3,
                 .ticks = ticks,
                 .rss_kb = 2048,
                 .rich = true,
                 .uid = 0,
                 .user = "root",
                 .nice = 5,
                 .io_r = io_r,
                 .io_w = io_r / 2,
                 .io_known = true,
                 .args = args};
  ft_model_set_stat(f->m, &st, t);
}

/* F3 and /: each key moves to the first match at or after the selection;
 * F3 the next, Shift-F3 the previous, Enter keeps the row. */
static void test_search(void **state) {
  (void)state;
  fx *f = fx_new(false);
  fx_render(f, 120, 40);
  key(f, '/');
  assert_int_equal(f->v.mode, UI_MODE_SEARCH);
  type(f, "worker");
  assert_int_equal(f->v.sel_pid, 2001);
  key(f, UI_K_F3);
  assert_int_equal(f->v.sel_pid, 2002);
  key(f, UI_K_F3);
  assert_int_equal(f->v.sel_pid, 2003);
  key(f, UI_K_SF3);
  assert_int_equal(f->v.sel_pid, 2002);
  type(f, " 2"); /* "worker 2": the text shown, across a space */
  assert_int_equal(f->v.sel_pid, 2003);
  assert_false(f->v.search_fail);
  fx_render(f, 120, 40);
  assert_true(fx_find(f, "Search: worker 2_") == 39);
  key(f, UI_K_ENTER);
  assert_int_equal(f->v.mode, UI_MODE_NORMAL);
  assert_int_equal(f->v.sel_pid, 2003);
  assert_int_equal(f->v.nrows, 6); /* a search hides nothing */
  /* F3 later goes on with the same text */
  key(f, UI_K_HOME);
  key(f, UI_K_F3);
  assert_int_equal(f->v.sel_pid, 2003);
  key(f, UI_K_ESC);
  key(f, '/');
  type(f, "zz");
  assert_true(f->v.search_fail);
  assert_int_equal(f->v.sel_pid, 2003);
  fx_render(f, 120, 40);
  assert_true(fx_find(f, "not found") == 39);
  fx_free(f);
}

/* F4 and \: the filter keeps rows whose shown text matches, any column. */
static void test_filter_columns(void **state) {
  (void)state;
  fx *f = fx_new(false);
  rich(f, 2101, "gzip -9 /data/file3.txt", 0, 0, T0 + S);
  key(f, UI_K_F4);
  assert_int_equal(f->v.mode, UI_MODE_FILTER);
  type(f, "worker 2");
  assert_int_equal(f->v.nrows, 2); /* forktop as context, worker 2 */
  assert_int_equal(fx_row_pid(f, 1), 2003);
  key(f, UI_K_ENTER);
  ui_view_set_filter(&f->v, "file3.TXT"); /* the command line, any case */
  key(f, UI_K_NONE);
  assert_int_equal(f->v.nrows, 3);
  assert_int_equal(fx_row_pid(f, 2), 2101);
  ui_view_set_filter(&f->v, "exit"); /* nothing has exited */
  key(f, UI_K_NONE);
  assert_int_equal(f->v.nrows, 0);
  key(f, UI_K_ESC);
  assert_int_equal(f->v.nrows, 6);
  fx_free(f);
}

/* F5 flat, F6 the sort menu (the same column again reverses), I, a click
 * on a column's title. */
static void test_flat_and_sort(void **state) {
  (void)state;
  fx *f = fx_new(false);
  fx_render(f, 120, 40);
  key(f, UI_K_F5);
  assert_true(f->v.flat);
  assert_int_equal(f->v.nrows, 6);
  for (size_t i = 0; i < f->v.nrows; i++)
    assert_int_equal(f->v.rows[i].depth, 0);
  assert_int_equal(fx_row_pid(f, 5), 2101);
  key(f, UI_K_F6);
  assert_int_equal(f->v.mode, UI_MODE_SORT);
  fx_render(f, 120, 40);
  assert_true(fx_find(f, "sort by") > 0);
  key(f, UI_K_ENTER); /* PID, the sort already: reversed */
  assert_true(f->v.sort_rev);
  assert_int_equal(fx_row_pid(f, 0), ROOT); /* forktop stays first */
  assert_int_equal(fx_row_pid(f, 1), 2101);
  fx_render(f, 120, 40);
  assert_true(fx_find(f, "PID^") == 2);
  key(f, 'I');
  assert_false(f->v.sort_rev);
  assert_int_equal(fx_row_pid(f, 1), 2001);
  /* the sort menu lists the columns shown: pick PROCESS */
  key(f, '>');
  for (int i = 0; i < f->v.ncols && f->v.cols[f->v.menu_sel] != UI_C_PROCESS; i++)
    key(f, UI_K_DOWN);
  key(f, UI_K_ENTER);
  assert_int_equal(f->v.sort, UI_C_PROCESS);
  assert_int_equal(fx_row_pid(f, 1), 2101); /* helper < main < producer */
  /* a click on PPID's title */
  fx_render(f, 120, 40);
  int x = (int)(strstr(ui_grid_line(&f->g, 2, f->line, sizeof f->line), "PPID") - f->line);
  ui_key m = {.code = UI_K_MOUSE, .x = x, .y = 2, .button = 1};
  ui_keys_handle(&f->v, &m);
  assert_int_equal(f->v.sort, UI_C_PPID);
  key(f, 't'); /* t: back to the tree */
  assert_false(f->v.flat);
  assert_int_equal(f->v.rows[5].depth, 2);
  assert_true(f->v.settings_changed);
  fx_free(f);
}

/* Space tags and moves on, c tags a subtree, the signal menu then sends
 * to the tagged; U untags; --readonly sends nothing. */
static void test_tags_and_readonly(void **state) {
  (void)state;
  fx *f = fx_new(false);
  fx_render(f, 120, 40);
  key(f, UI_K_DOWN);
  assert_int_equal(f->v.sel_pid, 2001);
  key(f, ' ');
  assert_int_equal(f->v.sel_pid, 2002);
  assert_true(ui_view_is_tagged(&f->v, 2001));
  key(f, UI_K_END);
  key(f, UI_K_UP); /* producer */
  key(f, 'c');
  assert_true(ui_view_is_tagged(&f->v, 2100));
  assert_true(ui_view_is_tagged(&f->v, 2101));
  assert_int_equal(f->v.ntagged, 3);
  fx_render(f, 120, 40);
  int y = fx_find(f, "main worker 0");
  assert_int_equal(ui_grid_line(&f->g, y, f->line, sizeof f->line)[0], '*');
  key(f, 'k');
  assert_int_equal(f->v.mode, UI_MODE_SIGNAL);
  fx_render(f, 120, 40);
  assert_true(fx_find(f, "send to 3 tagged") > 0);
  ui_action a = key(f, UI_K_ENTER);
  assert_int_equal(a.kind, UI_ACT_SIGNAL);
  assert_int_equal(a.pid, 0);
  assert_int_equal(a.signo, SIGTERM);
  key(f, 'U');
  assert_int_equal(f->v.ntagged, 0);
  /* forktop itself is never tagged; a tagged process that exits loses its tag */
  key(f, UI_K_HOME);
  key(f, ' ');
  assert_int_equal(f->v.ntagged, 0);
  key(f, ' '); /* worker 0 */
  assert_true(ui_view_is_tagged(&f->v, 2001));
  ft_event ev = {.kind = FT_EV_EXIT, .t_ns = T0 + S, .pid = 2001, .ppid = ROOT, .name = "main"};
  assert_int_equal(ft_model_apply(f->m, &ev), 0);
  key(f, UI_K_NONE);
  assert_int_equal(f->v.ntagged, 0);
  /* --readonly: neither k nor F9 opens the menu; no key sends */
  f->v.readonly = true;
  key(f, UI_K_F9);
  assert_int_equal(f->v.mode, UI_MODE_NORMAL);
  assert_non_null(strstr(f->v.status, "--readonly"));
  f->v.mode = UI_MODE_SIGNAL; /* even if the menu were open */
  assert_int_equal(key(f, UI_K_ENTER).kind, UI_ACT_NONE);
  fx_render(f, 120, 40);
  assert_true(fx_find(f, "F9 Kill") < 0);
  assert_true(fx_find(f, "READ-ONLY") == 0);
  fx_free(f);
}

/* COMMAND: the whole command line, with or without the program's path (p); cut with
 * an ellipsis; hostile bytes made inert. */
static void test_command_column(void **state) {
  (void)state;
  fx *f = fx_new(false);
  rich(f, 2101,
       "/usr/bin/cc -O2 -c src/very/long/path/to/the/file/being/compiled.c -o build/compiled.o", 0,
       0, T0 + S);
  rich(f, 2100, "sh -c \x1b]0;owned\x07", 0, 0, T0 + S);
  fx_render(f, 200, 40);
  assert_true(
      fx_find(f, "/usr/bin/cc -O2 -c src/very/long/path/to/the/file/being/compiled.c -o build") >
      0);
  assert_true(fx_find(f, "sh -c \\x1b]0;owned\\x07") > 0);
  for (int y = 0; y < f->g.h; y++)
    for (int x = 0; x < f->g.w; x++)
      assert_true(!UI_CELL(&f->g, x, y)->ch || UI_CELL(&f->g, x, y)->ch >= 0x20);
  fx_render(f, 100, 40);
  int y = fx_find(f, "/usr/bin/cc -O2");
  assert_true(y > 0);
  assert_non_null(strstr(f->line, "-O2 -\xe2\x80\xa6"));          /* cut: an ellipsis */
  assert_non_null(strstr(f->line, "helper (subpro\xe2\x80\xa6")); /* our own words too */
  key(f, 'p'); /* as htop's p: without the program's path */
  assert_false(f->v.full_cmd);
  fx_render(f, 100, 40);
  assert_true(fx_find(f, "/usr/bin/cc") < 0);
  y = fx_find(f, "helper");
  assert_true(y > 0);
  assert_non_null(strstr(f->line, " cc -O2 -c src/v"));
  fx_free(f);
}

/* USER, NI, THR, TIME+, IO_R, IO_W from the rich reads; T sorts by TIME+. */
static void test_extra_columns(void **state) {
  (void)state;
  fx *f = fx_new(false);
  long hz = sysconf(_SC_CLK_TCK);
  rich(f, 2001, "w0", (uint64_t)hz * 61, 1000, T0 + S);
  rich(f, 2001, "w0", (uint64_t)hz * 62, 1000 + 2 * 1024 * 1024, T0 + 2 * S);
  rich(f, 2002, "w1", (uint64_t)hz * 90, 0, T0 + 2 * S);
  static const ui_col cols[] = {UI_C_PID,  UI_C_USER, UI_C_NICE,    UI_C_THREADS,
                                UI_C_TIME, UI_C_IOR,  UI_C_PROCESS, UI_C_IOW};
  memcpy(f->v.cols, cols, sizeof cols);
  f->v.ncols = (int)(sizeof cols / sizeof cols[0]);
  fx_render(f, 120, 40);
  assert_true(fx_find(f, "USER") == 2);
  assert_non_null(strstr(f->line, "NI"));
  assert_non_null(strstr(f->line, "THR"));
  assert_non_null(strstr(f->line, "TIME+"));
  assert_non_null(strstr(f->line, "IO_R"));
  int y = fx_find(f, "main worker 0");
  assert_non_null(strstr(f->line, "root"));
  assert_non_null(strstr(f->line, "1:02.00"));
  assert_non_null(strstr(f->line, "2.0M/s"));
  assert_non_null(strstr(f->line, "1.0M/s"));
  (void)y;
  key(f, 'T');
  assert_int_equal(f->v.sort, UI_C_TIME);
  assert_int_equal(fx_row_pid(f, 1), 2002); /* 1:30 before 1:02 */
  fx_free(f);
}

static void write_file(const char *dir, const char *name, const char *text) {
  char p[512];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  FILE *fp = fopen(p, "w");
  assert_non_null(fp);
  fputs(text, fp);
  fclose(fp);
}

/* The meters from a /proc of our own making. */
static void test_meters(void **state) {
  (void)state;
  char dir[] = "/tmp/ft-meters-XXXXXX";
  assert_non_null(mkdtemp(dir));
  write_file(dir, "stat",
             "cpu  100 0 100 800 0 0 0 0 0 0\ncpu0 50 0 50 400 0 0 0 0\ncpu1 50 0 50 400 0 0 0 0\n"
             "intr 1\n");
  write_file(dir, "meminfo",
             "MemTotal: 1048576 kB\nMemFree: 1000 kB\nMemAvailable: 524288 kB\n"
             "Buffers: 0 kB\nCached: 1000 kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\n");
  write_file(dir, "loadavg", "0.50 0.25 0.10 1/100 4242\n");
  ui_meters *m = calloc(1, sizeof *m);
  assert_int_equal(ui_meters_read(m, dir), 0);
  write_file(dir, "stat",
             "cpu  200 0 200 900 0 0 0 0 0 0\ncpu0 100 0 100 400 0 0 0 0\n"
             "cpu1 60 0 50 490 0 0 0 0\n");
  assert_int_equal(ui_meters_read(m, dir), 0);
  assert_int_equal(m->ncpu, 2);
  assert_true(m->cpu[0] > 99.9 && m->cpu[1] > 9.9 && m->cpu[1] < 10.1);
  fx *f = fx_new(false);
  f->v.meters = m;
  fx_render(f, 120, 40);
  assert_int_equal(f->v.layout.meter_rows, 2);
  assert_true(fx_find(f, "100.0%") == 1);
  assert_non_null(strstr(f->line, "10.0%"));
  assert_true(fx_find(f, "Mem") == 2);
  assert_non_null(strstr(f->line, "512M/1.0G"));
  assert_non_null(strstr(f->line, "Load average: 0.50 0.25 0.10"));
  assert_true(fx_find(f, "PID") == 4); /* the tree under the meters */
  /* the setup screen hides them */
  f->v.meters_on = false;
  fx_render(f, 120, 40);
  assert_int_equal(f->v.layout.meter_rows, 0);
  assert_true(fx_find(f, "Load average") < 0);
  fx_free(f);
  free(m);
  char p[512];
  for (const char *n = "stat\0meminfo\0loadavg\0"; *n; n += strlen(n) + 1) {
    snprintf(p, sizeof p, "%s/%s", dir, n);
    unlink(p);
  }
  rmdir(dir);
}

/* F2: columns shown or hidden and moved; the settings survive a restart
 * through forktoprc (XDG_CONFIG_HOME first, then HOME). */
static void test_setup_and_rc(void **state) {
  (void)state;
  char dir[] = "/tmp/ft-rc-XXXXXX", path[600], want[600];
  assert_non_null(mkdtemp(dir));
  setenv("HOME", dir, 1);
  unsetenv("XDG_CONFIG_HOME");
  assert_int_equal(ui_rc_path(path, sizeof path), 0);
  snprintf(want, sizeof want, "%s/.config/forktop/forktoprc", dir);
  assert_string_equal(path, want);
  setenv("XDG_CONFIG_HOME", dir, 1);
  assert_int_equal(ui_rc_path(path, sizeof path), 0);
  snprintf(want, sizeof want, "%s/forktop/forktoprc", dir);
  assert_string_equal(path, want);
  fx *f = fx_new(false);
  fx_render(f, 120, 40);
  key(f, UI_K_F2);
  assert_int_equal(f->v.mode, UI_MODE_SETUP);
  fx_render(f, 120, 40);
  assert_true(fx_find(f, "[x] PPID") > 0);
  assert_true(fx_find(f, "[ ] USER") > 0);
  key(f, UI_K_DOWN); /* PPID: hide it */
  key(f, ' ');
  for (int i = 0; i < 20; i++) { /* down to USER (the line drawn selected): show it */
    fx_render(f, 120, 40);
    int y = fx_find(f, "[ ] USER");
    if (UI_CELL(&f->g, f->g.w / 2, y)->style == UI_S_SEL)
      break;
    key(f, UI_K_DOWN);
  }
  key(f, ' ');
  assert_int_equal(f->v.cols[f->v.ncols - 1], UI_C_USER);
  int at = f->v.menu_sel; /* the selection followed it */
  assert_int_equal(at, f->v.ncols - 1);
  key(f, UI_K_F7); /* one to the left */
  assert_int_equal(f->v.cols[f->v.ncols - 2], UI_C_USER);
  assert_int_equal(f->v.menu_sel, at - 1);
  /* a short screen shows the part of the list around the selection */
  key(f, UI_K_END);
  fx_render(f, 80, 12);
  assert_true(fx_find(f, "[x] meters") > 0);
  assert_true(fx_find(f, "[x] PID") < 0);
  key(f, UI_K_HOME);
  fx_render(f, 80, 12);
  assert_true(fx_find(f, "[x] PID") > 0);
  key(f, UI_K_ESC);
  assert_int_equal(f->v.mode, UI_MODE_NORMAL);
  key(f, UI_K_F5);
  key(f, 'p');
  key(f, 'M');
  fx_render(f, 120, 40);
  assert_true(fx_find(f, "USER") == 2);
  assert_true(fx_find(f, "PPID") < 0);
  assert_int_equal(ui_rc_save(&f->v, path), 0);
  /* a restart: a new view reads them back */
  ui_view v2;
  ui_view_init(&v2, "demo", false, true, false);
  assert_int_equal(ui_rc_load(&v2, path), 0);
  assert_int_equal(v2.ncols, f->v.ncols);
  assert_memory_equal(v2.cols, f->v.cols, (size_t)v2.ncols * sizeof *v2.cols);
  assert_true(v2.flat);
  assert_false(v2.full_cmd);
  assert_int_equal(v2.sort, UI_C_RSS);
  ui_view_free(&v2);
  /* nonsense lines are skipped; a missing file is the defaults */
  FILE *fp = fopen(path, "a");
  fputs("columns=NOPE\nsort=???\nfuture_key=1\n", fp);
  fclose(fp);
  ui_view_init(&v2, "demo", false, true, false);
  assert_int_equal(ui_rc_load(&v2, path), 0);
  assert_int_equal(v2.ncols, f->v.ncols);
  ui_view_free(&v2);
  unlink(path);
  ui_view_init(&v2, "demo", false, true, false);
  assert_int_equal(ui_rc_load(&v2, path), 0);
  assert_int_equal(v2.ncols, 9);
  ui_view_free(&v2);
  snprintf(want, sizeof want, "%s/forktop", dir);
  rmdir(want);
  rmdir(dir);
  unsetenv("XDG_CONFIG_HOME");
  fx_free(f);
}

/* Small terminals: 120x20 and 80x24 show every panel, shrunk. */
static void test_small_layouts(void **state) {
  (void)state;
  fx *f = fx_new(false);
  ft_event sub = {.kind = FT_EV_SUBMIT, .t_ns = T0, .pid = ROOT, .name = "main"};
  sub.u.submit.count = 20;
  ft_model_apply(f->m, &sub);
  ft_event ev = {.kind = FT_EV_EXIT, .t_ns = T0 + S, .pid = 2001, .ppid = ROOT, .name = "main"};
  ev.u.exit.code = 3;
  ft_model_apply(f->m, &ev);
  int sizes[][2] = {{120, 20}, {80, 24}, {100, 16}};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    fx_render(f, sizes[i][0], sizes[i][1]);
    assert_false(f->v.layout.compact);
    assert_true(f->v.layout.panel[UI_P_TREE].h >= 3);
    assert_true(f->v.layout.panel[UI_P_POOLS].h >= 2);
    assert_true(f->v.layout.panel[UI_P_EXITS].h >= 2);
    assert_true(fx_find(f, "Pools (1)") > 0);
    assert_true(fx_find(f, "2001 exit 3") > 0);
    assert_true(fx_find(f, "main worker 1") > 0);
  }
  fx_free(f);
}

int main(void) {
  setlocale(LC_CTYPE, "C.UTF-8");
  const struct CMUnitTest tests[] = {
      FT_TEST(test_search),         FT_TEST(test_filter_columns),
      FT_TEST(test_flat_and_sort),  FT_TEST(test_tags_and_readonly),
      FT_TEST(test_command_column), FT_TEST(test_extra_columns),
      FT_TEST(test_meters),         FT_TEST(test_setup_and_rc),
      FT_TEST(test_small_layouts),
  };
  return FT_TEST_RUN(tests, 120);
}
