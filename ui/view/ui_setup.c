/* ui_setup.c - the sort menu (F6) and the setup screen (F2).
 *
 * The sort menu lists the columns shown; Enter sorts by one (the column
 * sorted by already: its order reverses).  The setup screen lists every
 * column, the chosen ones first in their order, then the meters: Space or
 * Enter shows or hides one, F7/F8 (or [ and ]) move a chosen column left
 * or right, Esc, F2 or F10 close it.  What it changes is saved in
 * forktoprc by the dashboard.  The menus' shared parts live here too:
 * moving the selection, and the list drawn scrolled to it (the signal
 * menu uses both).  No curses here. */
#include "ui_view.h"

#include <stdio.h>
#include <string.h>

/* The setup screen's items: the chosen columns in order, the others, the meters. */
static int ui__items(const ui_view *v, int *items) {
  int n = 0;
  bool on[UI_C_COUNT] = {false};
  for (int i = 0; i < v->ncols; i++) {
    items[n++] = v->cols[i];
    on[v->cols[i]] = true;
  }
  for (int c = 0; c < UI_C_COUNT; c++)
    if (!on[c])
      items[n++] = c;
  items[n++] = UI_C_COUNT; /* the meters */
  return n;
}

static int ui__chosen_at(const ui_view *v, ui_col c) {
  for (int i = 0; i < v->ncols; i++)
    if (v->cols[i] == c)
      return i;
  return -1;
}

static void ui__toggle(ui_view *v, int item) {
  if (item == UI_C_COUNT) {
    v->meters_on = !v->meters_on;
    return;
  }
  int at = ui__chosen_at(v, (ui_col)item);
  if (at >= 0) {
    if (item == UI_C_PID || item == UI_C_PROCESS) {
      ui_view_say(v, "PID and PROCESS are always shown");
      return;
    }
    memmove(&v->cols[at], &v->cols[at + 1], (size_t)(v->ncols - at - 1) * sizeof *v->cols);
    v->ncols--;
  } else if (v->ncols < UI_C_COUNT) {
    v->cols[v->ncols++] = (ui_col)item;
  }
}

/* Move a chosen column one place; the selection follows it. */
static void ui__shift(ui_view *v, int item, int dir) {
  int at = item == UI_C_COUNT ? -1 : ui__chosen_at(v, (ui_col)item);
  int to = at + dir;
  if (at < 0 || to < 0 || to >= v->ncols)
    return;
  ui_col t = v->cols[at];
  v->cols[at] = v->cols[to];
  v->cols[to] = t;
  v->menu_sel += dir;
}

/* Move a menu's selection (*sel of n lines) by Up, Down, Home or End. */
bool ui_setup_move(int *sel, int n, int code) {
  switch (code) {
  case UI_K_UP:
    *sel = *sel > 0 ? *sel - 1 : 0;
    return true;
  case UI_K_DOWN:
    *sel = *sel + 1 < n ? *sel + 1 : n - 1;
    return true;
  case UI_K_HOME:
    *sel = 0;
    return true;
  case UI_K_END:
    *sel = n - 1;
    return true;
  default:
    return false;
  }
}

static ui_action ui__sort_key(ui_view *v, const ui_key *k) {
  int n = v->ncols;
  if (ui_setup_move(&v->menu_sel, n, k->code))
    return (ui_action){UI_ACT_NONE, 0, 0};
  switch (k->code) {
  case UI_K_ENTER: {
    v->mode = UI_MODE_NORMAL;
    if (v->menu_sel < 0 || v->menu_sel >= n)
      break;
    ui_col c = v->cols[v->menu_sel];
    v->sort_rev = c == v->sort ? !v->sort_rev : false;
    v->sort = c;
    v->dirty = true;
    v->settings_changed = true;
    char msg[48];
    snprintf(msg, sizeof msg, "sorted by %s%s", ui_sort_name(c), v->sort_rev ? ", reversed" : "");
    ui_view_say(v, msg);
    break;
  }
  case UI_K_ESC:
  case UI_K_F6:
  case UI_K_F10:
  case 'q':
    v->mode = UI_MODE_NORMAL;
    break;
  default:
    break;
  }
  return (ui_action){UI_ACT_NONE, 0, 0};
}

/* A key in the sort menu or the setup screen. */
ui_action ui_setup_key(ui_view *v, const ui_key *k) {
  if (v->mode == UI_MODE_SORT)
    return ui__sort_key(v, k);
  int items[UI_C_COUNT + 1], n = ui__items(v, items);
  if (v->menu_sel >= n)
    v->menu_sel = n - 1;
  int item = items[v->menu_sel];
  if (ui_setup_move(&v->menu_sel, n, k->code))
    return (ui_action){UI_ACT_NONE, 0, 0};
  switch (k->code) {
  case ' ':
  case UI_K_ENTER:
    ui__toggle(v, item);
    /* the selection stays on the item, wherever it went */
    n = ui__items(v, items);
    for (int i = 0; i < n; i++)
      if (items[i] == item)
        v->menu_sel = i;
    v->dirty = true;
    v->settings_changed = true;
    break;
  case '[':
  case UI_K_F7:
    ui__shift(v, item, -1);
    v->settings_changed = true;
    break;
  case ']':
  case UI_K_F8:
    ui__shift(v, item, 1);
    v->settings_changed = true;
    break;
  case UI_K_ESC:
  case UI_K_F2:
  case UI_K_F10:
  case 'q':
    v->mode = UI_MODE_NORMAL;
    break;
  default:
    break;
  }
  return (ui_action){UI_ACT_NONE, 0, 0};
}

/* A menu: a box of n lines; on a short screen, the part around the selection. */
void ui_setup_list(ui_grid *g, const ui_view *v, const char *title, const char *const *lines, int n,
                   int sel) {
  int room = g->h - 2, start = 0;
  if (room > 0 && n > room) {
    start = sel - room / 2;
    start = start < 0 ? 0 : start > n - room ? n - room : start;
    n = room;
  }
  ui_keys_box(g, v, title, lines + start, n, sel - start);
}

/* Draw the sort menu or the setup screen. */
void ui_setup_draw(ui_grid *g, ui_view *v) {
  char lines[UI_C_COUNT + 4][72];
  const char *ptrs[UI_C_COUNT + 4];
  int n = 0, sel = v->menu_sel;
  if (v->mode == UI_MODE_SORT) {
    for (int i = 0; i < v->ncols; i++, n++) {
      ui_col c = v->cols[i];
      snprintf(lines[n], sizeof lines[n], "%s %-12s %s",
               c == v->sort ? (v->sort_rev ? "^" : "v") : " ", ui_col_name(c), ui_col_title(c));
      ptrs[n] = lines[n];
    }
    ui_setup_list(g, v, "sort by (Enter; again: reverse)", ptrs, n, sel);
    return;
  }
  int items[UI_C_COUNT + 1], ni = ui__items(v, items);
  for (int i = 0; i < ni; i++, n++) {
    if (items[i] == UI_C_COUNT)
      snprintf(lines[n], sizeof lines[n], "[%c] %-12s %s", v->meters_on ? 'x' : ' ', "meters",
               "CPUs, memory, swap, load in the header");
    else
      snprintf(lines[n], sizeof lines[n], "[%c] %-12s %s",
               ui__chosen_at(v, (ui_col)items[i]) >= 0 ? 'x' : ' ', ui_col_name(items[i]),
               ui_col_title(items[i]));
    ptrs[n] = lines[n];
  }
  snprintf(lines[n], sizeof lines[n], "Space show/hide  F7 F8 [ ] move  Esc done (saved)");
  ptrs[n] = lines[n];
  n++;
  ui_setup_list(g, v, "setup: columns and meters", ptrs, n, sel);
}
