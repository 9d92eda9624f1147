/* test_view.c - the dashboard without a terminal: the display list
 * (tree, folding, sorting, filtering), the cells (exit-code rows, pools,
 * queues, narrow and tiny sizes, hostile child output) and the keys. */
#include "ft_test_view.h"

#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ui_safe.h"

#define S FX_S
#define ROOT FX_ROOT
#define T0 FX_T0

static void ev_exit(ft_model *m, pid_t pid, const char *name, int code, int sig, bool orphan) {
  ft_event ev = {.kind = FT_EV_EXIT, .t_ns = T0 + S, .pid = pid, .ppid = ROOT, .name = name};
  ev.u.exit.code = code;
  ev.u.exit.signal = sig;
  ev.u.exit.orphan = orphan;
  assert_int_equal(ft_model_apply(m, &ev), 0);
}

static void ev_output(ft_model *m, pid_t pid, const char *line, size_t len, int stream) {
  ft_event ev = {.kind = FT_EV_OUTPUT, .t_ns = T0 + S, .pid = pid, .ppid = ROOT, .name = "p"};
  ev.u.output.stream = stream;
  ev.u.output.line = line;
  ev.u.output.len = len;
  assert_int_equal(ft_model_apply(m, &ev), 0);
}

/* No cell may hold a control character or anything a terminal would act on. */
static void assert_grid_inert(const ui_grid *g) {
  for (int y = 0; y < g->h; y++)
    for (int x = 0; x < g->w; x++) {
      uint32_t c = UI_CELL(g, x, y)->ch;
      if (!c)
        continue; /* second half of a wide character */
      assert_true(c >= 0x20);
      assert_true(c != 0x7F);
      assert_false(c >= 0x80 && c < 0xA0);
      assert_false(c >= 0x202A && c <= 0x202E);
      assert_false(c >= 0x2066 && c <= 0x2069);
      assert_true(c <= 0x10FFFF);
    }
}

/* Workers hang under forktop's own pid; a known grandchild under its parent. */
static void test_tree_rows(void **state) {
  (void)state;
  fx *f = fx_new(false);
  fx_build(f);
  assert_int_equal(f->v.nrows, 6);
  assert_int_equal(fx_row_pid(f, 0), ROOT);
  assert_int_equal(f->v.rows[0].depth, 0);
  assert_true(f->v.rows[0].has_children);
  assert_int_equal(fx_row_pid(f, 1), 2001);
  assert_int_equal(f->v.rows[1].depth, 1);
  assert_int_equal(fx_row_pid(f, 4), 2100);
  assert_true(f->v.rows[4].last);
  assert_false(f->v.rows[1].last);
  assert_int_equal(fx_row_pid(f, 5), 2101);
  assert_int_equal(f->v.rows[5].depth, 2);
  assert_true(f->v.rows[5].last);

  fx_render(f, 120, 40);
  int yr = fx_find(f, "forktop (supervisor)");
  assert_true(yr > 0);
  assert_true(strstr(f->line, "1000") != NULL);
  int y1 = fx_find(f, "main worker 0");
  assert_true(y1 == yr + 1);
  assert_true(strstr(f->line, "2001") != NULL);
  assert_true(strstr(f->line, "\xe2\x94\x9c\xe2\x94\x80 main worker 0") != NULL); /* ├─ */
  assert_true(fx_find(f, "\xe2\x94\x94\xe2\x94\x80 producer") == yr + 4);         /* └─ */
  assert_true(fx_find(f, "helper (subprocess)") == yr + 5);
  fx_free(f);

  /* --ascii */
  f = fx_new(true);
  fx_render(f, 120, 40);
  assert_true(fx_find(f, "|- main worker 1") > 0);
  assert_true(fx_find(f, "`- producer") > 0);
  assert_true(fx_find(f, "   `- helper") > 0);
  for (int y = 0; y < f->g.h; y++)
    for (int x = 0; x < f->g.w; x++)
      assert_true(UI_CELL(&f->g, x, y)->ch < 0x80);
  fx_free(f);
}

/* Folding hides a subtree and counts it; fold all and unfold all. */
static void test_folding(void **state) {
  (void)state;
  fx *f = fx_new(false);
  fx_build(f);
  ui_view_set_fold(&f->v, 2100, true);
  fx_build(f);
  assert_int_equal(f->v.nrows, 5);
  assert_true(f->v.rows[4].folded);
  assert_int_equal(f->v.rows[4].hidden, 1);
  ui_view_set_fold(&f->v, ROOT, true);
  fx_render(f, 120, 40);
  assert_int_equal(f->v.nrows, 1);
  assert_int_equal(f->v.rows[0].hidden, 5);
  assert_true(fx_find(f, "[+5]") > 0);
  ui_view_fold_all(&f->v, false);
  fx_build(f);
  assert_int_equal(f->v.nrows, 6);
  /* keys: * folds everything, * again unfolds; Enter toggles the selected row */
  ui_key c = {.code = '*'};
  ui_keys_handle(&f->v, &c);
  fx_build(f);
  assert_int_equal(f->v.nrows, 1);
  ui_keys_handle(&f->v, &c);
  fx_build(f);
  assert_int_equal(f->v.nrows, 6);
  ui_view_select(&f->v, UI_P_TREE, 4); /* producer */
  ui_key enter = {.code = UI_K_ENTER};
  ui_keys_handle(&f->v, &enter);
  fx_build(f);
  assert_int_equal(f->v.nrows, 5);
  assert_true(ui_view_is_folded(&f->v, 2100));
  ui_keys_handle(&f->v, &enter);
  fx_build(f);
  assert_int_equal(f->v.nrows, 6);
  fx_free(f);
}

/* Siblings sort by the key; exited rows go after live ones. */
static void test_sorting(void **state) {
  (void)state;
  fx *f = fx_new(false);
  uint64_t t = T0 + S;
  for (pid_t p = 2001; p <= 2003; p++) {
    ft_mstat st = {.pid = p, .state = 'R', .ticks = 0, .rss_kb = (uint64_t)(4000 - p)};
    ft_model_set_stat(f->m, &st, t);
  }
  long hz = sysconf(_SC_CLK_TCK);
  ft_mstat st = {.pid = 2002, .state = 'R', .ticks = (uint64_t)hz, .rss_kb = 10};
  ft_model_set_stat(f->m, &st, t + S);
  st = (ft_mstat){.pid = 2003, .state = 'R', .ticks = (uint64_t)hz / 2, .rss_kb = 10};
  ft_model_set_stat(f->m, &st, t + S);
  f->v.sort = UI_SORT_CPU;
  f->v.dirty = true;
  fx_build(f);
  assert_int_equal(fx_row_pid(f, 1), 2002);
  assert_int_equal(fx_row_pid(f, 2), 2003);
  assert_int_equal(fx_row_pid(f, 3), 2001);
  ui_key s = {.code = 'M'};
  ui_keys_handle(&f->v, &s); /* to RSS, as htop's M */
  assert_int_equal(f->v.sort, UI_SORT_RSS);
  fx_build(f);
  assert_int_equal(fx_row_pid(f, 1), 2001); /* 1999 KiB */
  /* the selection follows its process through a re-sort */
  ui_view_select(&f->v, UI_P_TREE, 1);
  assert_int_equal(f->v.sel_pid, 2001);
  ev_exit(f->m, 2001, "main", 0, 0, false);
  fx_spawn(f->m, 1500, ROOT, "early", "process", -1);
  f->v.sort = UI_SORT_PID;
  f->v.dirty = true;
  fx_build(f);
  assert_int_equal(fx_row_pid(f, 1), 1500);
  assert_int_equal(fx_row_pid(f, 4), 2100);
  assert_int_equal(fx_row_pid(f, 6), 2001); /* exited: after the live ones */
  assert_int_equal(fx_row_pid(f, f->v.sel[UI_P_TREE]), 2001);
  fx_free(f);
}

/* A filter keeps the matches and their ancestors (as context). */
static void test_filtering(void **state) {
  (void)state;
  fx *f = fx_new(false);
  ui_view_set_filter(&f->v, "HELP");
  fx_build(f);
  assert_int_equal(f->v.nrows, 3);
  assert_int_equal(fx_row_pid(f, 0), ROOT);
  assert_true(f->v.rows[0].context);
  assert_int_equal(fx_row_pid(f, 1), 2100);
  assert_true(f->v.rows[1].context);
  assert_int_equal(fx_row_pid(f, 2), 2101);
  assert_false(f->v.rows[2].context);
  ui_view_set_filter(&f->v, "2002");
  fx_build(f);
  assert_int_equal(f->v.nrows, 2);
  assert_int_equal(fx_row_pid(f, 1), 2002);
  /* typed through the keys (\\ or F4, as in htop), with Backspace; Esc clears */
  ui_key k = {.code = '\\'};
  ui_view_set_filter(&f->v, "");
  ui_keys_handle(&f->v, &k);
  assert_int_equal(f->v.mode, UI_MODE_FILTER);
  const char *typed = "workerx";
  for (const char *p = typed; *p; p++) {
    k.code = *p;
    ui_keys_handle(&f->v, &k);
  }
  k.code = UI_K_BACKSPACE;
  ui_keys_handle(&f->v, &k);
  assert_string_equal(f->v.filter, "worker");
  fx_render(f, 120, 40);
  assert_int_equal(f->v.nrows, 4);
  assert_true(fx_find(f, "filter \"worker\"") == 0);
  assert_true(fx_find(f, "Filter: worker_") == 39);
  k.code = UI_K_ESC;
  ui_keys_handle(&f->v, &k);
  fx_build(f);
  assert_int_equal(f->v.nrows, 6);
  assert_int_equal(f->v.mode, UI_MODE_NORMAL);
  ui_view_set_filter(&f->v, "nothing-like-this");
  fx_render(f, 120, 40);
  assert_int_equal(f->v.nrows, 0);
  assert_true(fx_find(f, "no process matches the filter") > 0);
  fx_free(f);
}

/* Exited rows keep their exit code or signal, dimmed, failures in colour;
 * the exit log lists them newest first; orphans are marked. */
static void test_exit_rows(void **state) {
  (void)state;
  fx *f = fx_new(false);
  ev_exit(f->m, 2001, "main", 0, 0, false);
  ev_exit(f->m, 2002, "main", 3, 0, false);
  ev_exit(f->m, 2003, "main", 0, SIGKILL, false);
  ev_exit(f->m, 4444, "sleep", 0, 0, true);
  fx_render(f, 120, 40);
  int y = fx_find(f, "main worker 1");
  assert_true(y > 0);
  assert_true(strstr(f->line, "exit 3") != NULL);
  assert_true(strstr(f->line, " X ") != NULL);
  /* the whole row is in the failure style, the PID cell included */
  int x = (int)(strstr(f->line, "2002") - f->line);
  assert_int_equal(UI_CELL(&f->g, x, y)->style, UI_S_FAIL);
  y = fx_find(f, "main worker 2");
  assert_true(strstr(f->line, "SIGKILL") != NULL);
  y = fx_find(f, "main worker 0");
  assert_true(strstr(f->line, "exit 0") != NULL);
  x = (int)(strstr(f->line, "2001") - f->line);
  assert_int_equal(UI_CELL(&f->g, x, y)->style, UI_S_DIM);
  y = fx_find(f, "sleep [orphan]");
  assert_true(y > 0);
  assert_true(strstr(f->line, "4444") != NULL);
  /* the exit log: newest first */
  int e1 = fx_find(f, "  4444 exit 0");
  int e2 = fx_find(f, "  2003 SIGKILL");
  int e3 = fx_find(f, "  2002 exit 3");
  assert_true(e1 > 0 && e2 == e1 + 1 && e3 == e2 + 1);
  assert_true(fx_find(f, "Processes: 2 running, 3 exited, 2 failed, 1 orphans") == 1);
  fx_free(f);
}

/* A child's output cannot drive the terminal: escapes, OSC 52, C1,
 * bidi overrides, invalid UTF-8 and NUL come out as visible text. */
static void test_hostile_output(void **state) {
  (void)state;
  fx *f = fx_new(false);
  static const char evil[] = "A\x1b[2J\x1b]52;c;SGVsbG8=\x07"
                             "B\r\b\x9b"
                             "31m\xc2\x9b"
                             "C\xe2\x80\xae"
                             "D\xff\xfe\x00"
                             "E\tF\xe4\xb8\xad!";
  ev_output(f->m, 2100, evil, sizeof evil - 1, 2);
  ev_output(f->m, 2100, "plain line", 10, 1);
  fx_build(f);
  ui_view_select(&f->v, UI_P_TREE, 4);
  fx_render(f, 240, 40);
  assert_int_equal(ui_view_output_pid(&f->v), 2100);
  assert_grid_inert(&f->g);
  int y = fx_find(
      f, "A\\x1b[2J\\x1b]52;c;SGVsbG8=\\x07B\\x0d\\x08\\x9b31m\\u{9b}C\\u{202e}D\\xff\\xfe\\x00E");
  assert_true(y > 0);
  assert_non_null(strstr(f->line, "\\x00E   ")); /* the tab became spaces to the next stop */
  assert_null(strchr(f->line, '\t'));
  assert_non_null(strstr(f->line, "F\xe4\xb8\xad!"));
  /* the wide character takes two cells */
  int x = 0;
  while (x < f->g.w && UI_CELL(&f->g, x, y)->ch != 0x4E2D)
    x++;
  assert_true(x < f->g.w);
  assert_int_equal(UI_CELL(&f->g, x + 1, y)->ch, 0);
  assert_int_equal(UI_CELL(&f->g, x + 2, y)->ch, '!');
  assert_true(fx_find(f, "plain line") == y + 1);
  /* the same line in a terminal without UTF-8: every byte >= 0x80 escaped */
  f->v.utf8 = false;
  f->v.ascii = true;
  fx_render(f, 240, 40);
  assert_grid_inert(&f->g);
  assert_true(fx_find(f, "F\\xe4\\xb8\\xad!") > 0);
  /* names are untrusted too */
  static const char badname[] = "x\x1b]0;pwned\x07";
  fx_spawn(f->m, 2200, ROOT, badname, "process", -1);
  fx_render(f, 120, 40);
  assert_grid_inert(&f->g);
  assert_true(fx_find(f, "x\\x1b]0;pwned\\x07") > 0);
  fx_free(f);
}

/* One set of rules: the plain-text sanitizer (the headless printer, list,
 * replay, the summaries) and the cells give the same verdict on every
 * character; only the tab is laid out differently (kept / spaces). */
static void test_one_rule_for_text_and_cells(void **state) {
  (void)state;
  static const char evil[] = "A\x1b[2J\x1b]52;c;SGVsbG8=\x07"
                             "B\r\b\x9b"
                             "31m\xc2\x9b"
                             "C\xe2\x80\xae"
                             "D\xff\xfe\x00"
                             "E\x7f\xc2\x85\xe2\x81\xa6\xe2\x80\xa8\xef\xbb\xbf\xc0\xaf"
                             "\tF\xe4\xb8\xad\xc3\xa9!";
  static const char want[] = "A\\x1b[2J\\x1b]52;c;SGVsbG8=\\x07B\\x0d\\x08\\x9b31m\\u{9b}C"
                             "\\u{202e}D\\xff\\xfe\\x00E\\x7f\\u{85}\\u{2066}\\u{2028}"
                             "\\u{feff}\\xc0\\xaf\tF\xe4\xb8\xad\xc3\xa9!";
  ft_buf text = {0};
  assert_int_equal(ui_safe_append(&text, evil, sizeof evil - 1, true), 0);
  assert_int_equal(text.len, strlen(want));
  assert_memory_equal(text.data, want, text.len);
  /* the cells: the same text, the tab as spaces to the next stop */
  ui_grid g = {0};
  assert_int_equal(ui_grid_resize(&g, 300, 1), 0);
  ui_put_text(&g, 0, 0, 300, UI_S_NORMAL, evil, sizeof evil - 1, true);
  char line[1024], expect[1024];
  size_t tab = (size_t)(strchr(want, '\t') - want), k = tab;
  memcpy(expect, want, tab);
  do
    expect[k++] = ' ';
  while (k % 8);
  snprintf(expect + k, sizeof expect - k, "%s", want + tab + 1);
  assert_string_equal(ui_grid_line(&g, 0, line, sizeof line), expect);
  /* without UTF-8 every byte >= 0x80 is escaped, in both */
  ft_buf_reset(&text);
  assert_int_equal(ui_safe_append(&text, "\xc3\xa9\t.", 4, false), 0);
  assert_int_equal(text.len, strlen("\\xc3\\xa9\t."));
  assert_memory_equal(text.data, "\\xc3\\xa9\t.", text.len);
  ui_grid_resize(&g, 300, 1);
  ui_put_text(&g, 0, 0, 300, UI_S_NORMAL, "\xc3\xa9\t.", 4, false);
  assert_string_equal(ui_grid_line(&g, 0, line, sizeof line), "\\xc3\\xa9        .");
  ui_grid_free(&g);
  ft_buf_free(&text);
}

/* Every size from 1x1 up renders without overrunning the grid; below
 * 80x24 one panel shows at a time and Tab moves between them. */
static void test_narrow_widths(void **state) {
  (void)state;
  fx *f = fx_new(false);
  ev_exit(f->m, 2002, "main", 3, 0, false);
  ev_output(f->m, 2100, "\x1b[31mred\x1b[0m", 12, 1);
  ft_event sub = {.kind = FT_EV_SUBMIT, .t_ns = T0, .pid = ROOT, .name = "main"};
  sub.u.submit.count = 20;
  ft_model_apply(f->m, &sub);
  ft_event q = {.kind = FT_EV_QUEUE, .t_ns = T0 + S, .pid = ROOT, .name = "jobs"};
  q.u.queue.capacity = 16;
  q.u.queue.depth = 5;
  ft_model_apply(f->m, &q);
  for (int h = 1; h <= 45; h += 2)
    for (int w = 1; w <= 130; w += 3) {
      for (int p = 0; p < UI_P_COUNT; p++) {
        f->v.focus = (ui_panel)p;
        fx_render(f, w, h);
        assert_int_equal(f->g.w, w);
        assert_grid_inert(&f->g);
        for (int y = 0; y < h; y++)
          assert_true(strlen(ui_grid_line(&f->g, y, f->line, sizeof f->line)) <= (size_t)w * 4);
      }
    }
  f->v.focus = UI_P_TREE;
  /* 60x20: the panels shrink, none hides */
  fx_render(f, 60, 20);
  assert_false(f->v.layout.compact);
  for (int p = 0; p < UI_P_COUNT; p++)
    assert_true(f->v.layout.panel[p].h >= 2);
  assert_true(f->v.layout.panel[UI_P_TREE].h >= 3);
  assert_true(fx_find(f, "Pools (1)") > 0);
  assert_true(fx_find(f, "Exits (") > 0);
  /* 45x20 (too narrow) and 60x11 (too low): one panel at a time */
  fx_render(f, 45, 20);
  assert_true(f->v.layout.compact);
  assert_int_equal(f->v.layout.panel[UI_P_TREE].h, 18);
  assert_int_equal(f->v.layout.panel[UI_P_EXITS].h, 0);
  assert_true(fx_find(f, "2001") > 0); /* pids still show */
  assert_non_null(
      strstr(ui_grid_line(&f->g, 19, f->line, sizeof f->line), "q Quit")); /* the key bar */
  fx_render(f, 60, 11);
  assert_true(f->v.layout.compact);
  ui_key tab = {.code = UI_K_TAB};
  ui_keys_handle(&f->v, &tab);
  assert_int_equal(f->v.focus, UI_P_POOLS);
  fx_render(f, 45, 20);
  assert_true(fx_find(f, "Pools (1)") == 1);
  ui_keys_handle(&f->v, &tab);
  ui_keys_handle(&f->v, &tab);
  fx_render(f, 45, 20);
  assert_int_equal(f->v.focus, UI_P_EXITS);
  assert_true(fx_find(f, "2002 exit 3") > 0);
  /* the full layout shows every panel at once */
  fx_render(f, 120, 40);
  assert_false(f->v.layout.compact);
  for (int p = 0; p < UI_P_COUNT; p++)
    assert_true(f->v.layout.panel[p].h > 0);
  fx_free(f);
}

/* Pools: a bar with done and failed, the count, rate and ETA; queues:
 * depth against capacity, rates, sparkline and blocked counts. */
static void test_pools_and_queues(void **state) {
  (void)state;
  fx *f = fx_new(false);
  ft_event sub = {.kind = FT_EV_SUBMIT, .t_ns = T0, .pid = ROOT, .name = "main"};
  sub.u.submit.count = 20;
  ft_model_apply(f->m, &sub);
  ft_event ps = {.kind = FT_EV_POOL_START, .t_ns = T0, .pid = ROOT, .name = "main"};
  ps.u.pool.workers = 3;
  ft_model_apply(f->m, &ps);
  ft_model_tick(f->m, T0);
  for (int i = 0; i < 10; i++) {
    ft_event t = {.kind = i == 4 ? FT_EV_TASK_FAIL : FT_EV_TASK_DONE,
                  .t_ns = T0 + (uint64_t)i * S / 5,
                  .pid = 2001,
                  .name = "main"};
    t.u.task.task = (uint64_t)i;
    t.u.task.status = FT_ETASK;
    t.u.task.code = 9;
    ft_model_apply(f->m, &t);
    ft_model_tick(f->m, T0 + (uint64_t)i * S / 5);
  }
  ft_event st = {.kind = FT_EV_TASK_START, .t_ns = T0 + 2 * S, .pid = 2002, .name = "main"};
  st.u.task.task = 11;
  ft_model_apply(f->m, &st);
  for (int i = 0; i <= 20; i++) {
    ft_event q = {
        .kind = FT_EV_QUEUE, .t_ns = T0 + (uint64_t)i * S / 10, .pid = ROOT, .name = "jobs"};
    q.u.queue.capacity = 16;
    q.u.queue.depth = 8;
    q.u.queue.puts = (uint64_t)i * 3;
    q.u.queue.gets = (uint64_t)i;
    q.u.queue.high_water = 12;
    q.u.queue.consumers_blocked = 2;
    ft_model_apply(f->m, &q);
  }
  f->v.now = T0 + 2 * S + S / 2;
  fx_render(f, 120, 40);
  int y = fx_find(f, "10/20");
  assert_true(y > 0);
  assert_non_null(strstr(f->line, "main"));
  assert_non_null(strstr(f->line, "1 failed"));
  assert_non_null(strstr(f->line, "ETA"));
  assert_non_null(strstr(f->line, "3 workers"));
  /* the bar: 9 of 20 done, 1 failed */
  int done = 0, failed = 0;
  for (int x = 0; x < f->g.w; x++) {
    done += UI_CELL(&f->g, x, y)->style == UI_S_BAR_DONE;
    failed += UI_CELL(&f->g, x, y)->style == UI_S_BAR_FAIL;
  }
  assert_true(done >= 1 && failed >= 1 && done > failed);
  y = fx_find(f, "8/16");
  assert_true(y > 0);
  assert_non_null(strstr(f->line, "jobs"));
  assert_non_null(strstr(f->line, "put 30.0/s get 10.0/s"));
  assert_non_null(strstr(f->line, "hw 12"));
  assert_non_null(strstr(f->line, "blocked 0 put/2 get"));
  assert_non_null(strstr(f->line, "\xe2\x96\x85")); /* sparkline at about half */
  /* the worker with a task says so in the tree */
  assert_true(fx_find(f, "task 11 0.5s (0 done)") > 0);
  assert_true(fx_find(f, "idle (9 done, 1 failed)") > 0);
  /* the failed task is in the exit log */
  assert_true(fx_find(f, "task 4 failed: code 9") > 0);
  fx_free(f);
}

/* Keys: moving, paging, panels, help, pause, quit asks while work runs,
 * the signal menu, the mouse. */
static void test_keys(void **state) {
  (void)state;
  fx *f = fx_new(false);
  fx_render(f, 120, 40);
  ui_key k = {.code = UI_K_DOWN};
  assert_int_equal(ui_keys_handle(&f->v, &k).kind, UI_ACT_NONE);
  assert_int_equal(f->v.sel_pid, 2001);
  k.code = UI_K_DOWN;
  ui_keys_handle(&f->v, &k);
  assert_int_equal(f->v.sel_pid, 2002);
  k.code = UI_K_UP;
  ui_keys_handle(&f->v, &k);
  assert_int_equal(f->v.sel_pid, 2001);
  k.code = UI_K_END;
  ui_keys_handle(&f->v, &k);
  assert_int_equal(f->v.sel_pid, 2101);
  k.code = UI_K_PGUP;
  ui_keys_handle(&f->v, &k);
  assert_int_equal(f->v.sel_pid, ROOT);
  /* the signal menu (k, as in htop): not for forktop itself */
  k.code = 'k';
  ui_keys_handle(&f->v, &k);
  assert_int_equal(f->v.mode, UI_MODE_NORMAL);
  assert_non_null(strstr(f->v.status, "forktop itself"));
  k.code = UI_K_DOWN;
  ui_keys_handle(&f->v, &k);
  k.code = 'k';
  ui_keys_handle(&f->v, &k);
  assert_int_equal(f->v.mode, UI_MODE_SIGNAL);
  fx_render(f, 120, 40);
  assert_true(fx_find(f, "send to 2001") > 0);
  assert_true(fx_find(f, "15 SIGTERM") > 0);
  k.code = 'j'; /* in the menu, j and k move */
  ui_keys_handle(&f->v, &k);
  ui_keys_handle(&f->v, &k);
  k.code = 'k';
  ui_keys_handle(&f->v, &k);
  k.code = UI_K_ENTER;
  ui_action a = ui_keys_handle(&f->v, &k);
  assert_int_equal(a.kind, UI_ACT_SIGNAL);
  assert_int_equal(a.pid, 2001);
  assert_int_equal(a.signo, SIGKILL);
  assert_int_equal(f->v.mode, UI_MODE_NORMAL);
  /* help opens and any key closes it */
  k.code = '?';
  ui_keys_handle(&f->v, &k);
  fx_render(f, 120, 40);
  assert_true(fx_find(f, "forktop help") > 0);
  k.code = 'x';
  ui_keys_handle(&f->v, &k);
  assert_int_equal(f->v.mode, UI_MODE_NORMAL);
  /* pause: Z, as htop's */
  k.code = 'Z';
  a = ui_keys_handle(&f->v, &k);
  assert_int_equal(a.kind, UI_ACT_PAUSE);
  assert_true(f->v.paused);
  fx_render(f, 120, 40);
  assert_true(fx_find(f, "PAUSED") == 0);
  ui_keys_handle(&f->v, &k);
  assert_false(f->v.paused);
  /* Tab visits the panels shown (no pools, no queues here) */
  k.code = UI_K_TAB;
  ui_keys_handle(&f->v, &k);
  assert_int_equal(f->v.focus, UI_P_EXITS);
  ui_keys_handle(&f->v, &k);
  assert_int_equal(f->v.focus, UI_P_OUTPUT);
  ui_keys_handle(&f->v, &k);
  assert_int_equal(f->v.focus, UI_P_TREE);
  k.code = UI_K_BTAB;
  ui_keys_handle(&f->v, &k);
  assert_int_equal(f->v.focus, UI_P_OUTPUT);
  /* the mouse: a click on a tree row selects it and focuses the tree */
  int y = fx_find(f, "main worker 2");
  ui_key m = {.code = UI_K_MOUSE, .x = 10, .y = y, .button = 1};
  ui_keys_handle(&f->v, &m);
  assert_int_equal(f->v.focus, UI_P_TREE);
  assert_int_equal(f->v.sel_pid, 2003);
  /* quit asks while work runs: d leaves it running, s stops it */
  k.code = 'q';
  assert_int_equal(ui_keys_handle(&f->v, &k).kind, UI_ACT_NONE);
  assert_int_equal(f->v.mode, UI_MODE_QUIT);
  fx_render(f, 120, 40);
  assert_true(fx_find(f, "leave it running headless") > 0);
  assert_true(fx_find(f, "The workload is still running.") > 0);
  snprintf(f->v.note, sizeof f->v.note, "connector: every process seen"); /* watching */
  fx_render(f, 120, 40);
  assert_true(fx_find(f, "The command is still running.") > 0);
  f->v.note[0] = '\0';
  k.code = UI_K_ESC;
  ui_keys_handle(&f->v, &k);
  assert_int_equal(f->v.mode, UI_MODE_NORMAL);
  k.code = 'q';
  ui_keys_handle(&f->v, &k);
  k.code = 'd';
  assert_int_equal(ui_keys_handle(&f->v, &k).kind, UI_ACT_DETACH);
  k.code = 'q';
  ui_keys_handle(&f->v, &k);
  k.code = 's';
  assert_int_equal(ui_keys_handle(&f->v, &k).kind, UI_ACT_QUIT);
  /* Ctrl-C (the terminal is raw) stops and quits at once, as SIGINT would;
   * Ctrl-Z suspends */
  k.code = UI_K_CTRL_C;
  ui_action ca = ui_keys_handle(&f->v, &k);
  assert_int_equal(ca.kind, UI_ACT_QUIT);
  assert_int_equal(ca.signo, SIGINT);
  k.code = UI_K_CTRL_Z;
  assert_int_equal(ui_keys_handle(&f->v, &k).kind, UI_ACT_SUSPEND);
  /* once the work has finished, q quits at once; the clock stops */
  f->v.finished = true;
  f->v.t_end = T0 + 3 * S;
  f->v.now = T0 + 9 * S;
  f->v.mode = UI_MODE_NORMAL;
  fx_render(f, 120, 40);
  assert_true(fx_find(f, "demo  3.0s") == 0);
  assert_non_null(strstr(f->line, "finished, exit status 0"));
  k.code = 'q';
  assert_int_equal(ui_keys_handle(&f->v, &k).kind, UI_ACT_QUIT);
  /* a replay sends no signals */
  f->v.replay = true;
  ui_view_select(&f->v, UI_P_TREE, 1);
  k.code = UI_K_F9;
  ui_keys_handle(&f->v, &k);
  assert_int_equal(f->v.mode, UI_MODE_NORMAL);
  assert_non_null(strstr(f->v.status, "no signals"));
  fx_free(f);
}

/* A paused display draws a frozen copy while the model moves on. */
static void test_paused_copy(void **state) {
  (void)state;
  fx *f = fx_new(false);
  fx_build(f);
  ft_model_snap *frozen;
  assert_int_equal(ft_model_snap_copy(ft_model_snapshot(f->m), &frozen), 0);
  ev_exit(f->m, 2001, "main", 7, 0, false);
  fx_spawn(f->m, 2500, ROOT, "late", "process", -1);
  assert_int_equal(ui_view_build(&f->v, frozen), 0);
  assert_int_equal(ui_grid_resize(&f->g, 120, 40), 0);
  ui_cells_render(&f->g, &f->v);
  assert_true(fx_find(f, "late") < 0);
  assert_true(fx_find(f, "exit 7") < 0);
  fx_build(f);
  ui_cells_render(&f->g, &f->v);
  assert_true(fx_find(f, "late") > 0);
  assert_true(fx_find(f, "exit 7") > 0);
  ft_model_snap_free(frozen);
  fx_free(f);
}

/* Two thousand live workers: the display list holds them all, the cells
 * draw only a screenful, and the selection can reach the last one. */
static void test_many_processes(void **state) {
  (void)state;
  fx *f = fx_new(false);
  for (int i = 0; i < 2000; i++)
    fx_spawn(f->m, 10000 + i, ROOT, "big", "worker", i);
  fx_render(f, 120, 40);
  assert_int_equal(f->v.nrows, 2006);
  ui_key k = {.code = UI_K_END};
  ui_keys_handle(&f->v, &k);
  fx_render(f, 120, 40);
  assert_int_equal(f->v.sel_pid, 11999);
  assert_true(fx_find(f, "big worker 1999") > 0);
  assert_true(f->v.top[UI_P_TREE] > 1900);
  fx_free(f);
}

static void pump(int in, int out) {
  static char buf[65536];
  for (;;) {
    if (out >= 0 && write(out, buf, sizeof buf) < 0)
      _exit(1);
    if (in >= 0 && read(in, buf, sizeof buf) <= 0)
      _exit(0);
  }
}

/* The pipes panel: two real processes joined by a pipe, one writing and
 * one reading; the writer's pipe is found with the reader at its other
 * end, both have rates after two reads, and the panel names them. */
static void test_pipes_panel(void **state) {
  (void)state;
  int p[2];
  assert_int_equal(pipe(p), 0);
  pid_t w = fork();
  if (w == 0) {
    dup2(p[1], 1);
    close(p[0]);
    close(p[1]);
    pump(-1, 1);
  }
  pid_t r = fork();
  if (r == 0) {
    dup2(p[0], 0);
    close(p[0]);
    close(p[1]);
    pump(0, -1);
  }
  close(p[0]);
  close(p[1]);
  ui_io *io = calloc(1, sizeof *io);
  pid_t among[] = {r};
  assert_int_equal(ui_io_update(io, w, among, 1, ft_now_ns()), 0);
  usleep(200 * 1000);
  assert_int_equal(ui_io_update(io, w, among, 1, ft_now_ns()), 0);
  const ft_pipe *pp = NULL;
  for (size_t i = 0; i < io->npipes; i++)
    for (size_t k = 0; k < io->pipes[i].nends; k++)
      if (io->pipes[i].ends[k].pid == r && io->pipes[i].ends[k].fd == 0)
        pp = &io->pipes[i]; /* (both may share other pipes: the test's stderr) */
  assert_non_null(pp);
  bool writer_end = false, reader_end = false;
  for (size_t k = 0; k < pp->nends; k++) {
    writer_end |= pp->ends[k].pid == w && pp->ends[k].fd == 1 && pp->ends[k].write;
    reader_end |= pp->ends[k].pid == r && pp->ends[k].fd == 0 && !pp->ends[k].write;
  }
  assert_true(writer_end);
  assert_true(reader_end);
  const ui_io_rate *wr = ui_io_rate_of(io, w), *rr = ui_io_rate_of(io, r);
  assert_non_null(wr);
  assert_non_null(rr);
  assert_true(wr->rated && wr->wr > 0);
  assert_true(rr->rated && rr->rr > 0);
  kill(w, SIGKILL);
  kill(r, SIGKILL);
  waitpid(w, NULL, 0);
  waitpid(r, NULL, 0);

  fx *f = fx_new(false);
  f->v.show_io = true;
  f->v.io = *io;
  fx_render(f, 160, 40);
  char want[96];
  snprintf(want, sizeof want, "Pipes and I/O of %d", (int)w);
  assert_true(fx_find(f, want) > 0);
  int y = fx_find(f, "fd 1 \xe2\x86\x92 pipe");
  assert_true(y > 0);
  snprintf(want, sizeof want, "\xe2\x86\x92 %d ", (int)r);
  int yr = fx_find(f, want);
  assert_true(yr > y);
  assert_non_null(strstr(f->line, "(fd 0)"));
  assert_non_null(strstr(f->line, "reads "));
  /* ASCII, and a panel too small for it all */
  f->v.ascii = true;
  f->v.utf8 = false;
  fx_render(f, 60, 20);
  assert_grid_inert(&f->g);
  fx_render(f, 20, 5);
  f->v.ascii = false;
  f->v.utf8 = true;
  fx_render(f, 160, 40);
  /* i toggles it */
  ui_key k = {.code = 'i'};
  ui_keys_handle(&f->v, &k);
  assert_false(f->v.show_io);
  fx_render(f, 160, 40);
  assert_true(fx_find(f, "Pipes and I/O") < 0);
  fx_free(f);
  free(io);
}

int main(void) {
  setlocale(LC_CTYPE, "C.UTF-8");
  const struct CMUnitTest tests[] = {
      FT_TEST(test_tree_rows),
      FT_TEST(test_folding),
      FT_TEST(test_sorting),
      FT_TEST(test_filtering),
      FT_TEST(test_exit_rows),
      FT_TEST(test_hostile_output),
      FT_TEST(test_narrow_widths),
      FT_TEST(test_pools_and_queues),
      FT_TEST(test_keys),
      FT_TEST(test_paused_copy),
      FT_TEST(test_many_processes),
      FT_TEST(test_pipes_panel),
      FT_TEST(test_one_rule_for_text_and_cells),
  };
  return FT_TEST_RUN(tests, 120);
}
