/* ui_keys.c - what a key does, htop's keys where htop has one: arrows,
 * PgUp/PgDn, Home/End move; F1 or ? help; F2 or S setup; F3 or / search
 * (incremental, F3 the next match); F4 or \ filter; F5 or t tree or flat;
 * F6, < or > the sort menu, I reverses, P M T sort by CPU, memory, time;
 * F9 or k the signal menu; F10 or q quit (asking first while work runs);
 * p the full or short command line; Space tags, c tags the subtree, U
 * untags.  forktop's own: Enter, + and - fold, * folds all, Tab between
 * panels, i pipes, Z pause.  Keys change the view; what needs the engine
 * (a signal, a quit) comes back as an action for ui_dash.c to carry out.
 * No curses. */
#include "ui_view.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

/* The signals of the menu, in order. */
const int ui_menu_signals[] = {SIGTERM, SIGKILL, SIGINT,  SIGHUP, SIGQUIT,
                               SIGSTOP, SIGCONT, SIGUSR1, SIGUSR2};
const size_t ui_menu_nsignals = sizeof ui_menu_signals / sizeof ui_menu_signals[0];

static bool ui__panel_on(const ui_view *v, ui_panel p) {
  if (v->layout.compact || (!v->layout.w && !v->layout.h))
    return true;
  return v->layout.panel[p].h > 0;
}

static void ui__next_panel(ui_view *v, int dir) {
  for (int i = 1; i <= UI_P_COUNT; i++) {
    ui_panel p = (ui_panel)(((int)v->focus + dir * i + UI_P_COUNT * 2) % UI_P_COUNT);
    if (ui__panel_on(v, p)) {
      v->focus = p;
      return;
    }
  }
}

static long ui__page(const ui_view *v, ui_panel p) {
  int h = v->layout.list[p].h;
  return h > 1 ? h - 1 : 1;
}

static ui_action ui__none(void) { return (ui_action){UI_ACT_NONE, 0, 0}; }

/* Fold or unfold the selected row of the tree. */
static void ui__fold(ui_view *v, int how /* -1 fold, 0 toggle, 1 unfold */) {
  if (v->focus != UI_P_TREE || !v->nrows)
    return;
  const ui_row *r = &v->rows[v->sel[UI_P_TREE]];
  if (!r->has_children || r->host) /* folds are kept by local pid */
    return;
  pid_t pid = v->snap->procs[r->proc].pid;
  bool fold = how < 0 ? true : how > 0 ? false : !r->folded;
  ui_view_set_fold(v, pid, fold);
}

/* Enter on an exit entry: select that process in the tree, if it is still there. */
static void ui__jump(ui_view *v) {
  const ft_mexit *e = v->snap ? ft_model_snap_exit(v->snap, v->sel[UI_P_EXITS]) : NULL;
  if (!e)
    return;
  for (size_t i = 0; i < v->nrows; i++)
    if (!v->rows[i].header && v->rows[i].host == e->host &&
        v->snap->procs[v->rows[i].proc].pid == e->pid) {
      ui_view_select(v, UI_P_TREE, i);
      v->focus = UI_P_TREE;
      return;
    }
  ui_view_say(v, "that process has left the tree");
}

/* Sort by column c; the same column again reverses the order. */
static void ui__sort_by(ui_view *v, ui_col c) {
  if (v->sort == c)
    v->sort_rev = !v->sort_rev;
  else
    v->sort_rev = false;
  v->sort = c;
  v->dirty = true;
  v->settings_changed = true;
  char msg[48];
  snprintf(msg, sizeof msg, "sorted by %s%s", ui_sort_name(c), v->sort_rev ? ", reversed" : "");
  ui_view_say(v, msg);
}

static ui_action ui__mouse(ui_view *v, const ui_key *k) {
  for (int p = 0; p < UI_P_COUNT; p++) {
    ui_rect r = v->layout.panel[p], L = v->layout.list[p];
    if (r.h <= 0 || k->x < r.x || k->x >= r.x + r.w || k->y < r.y || k->y >= r.y + r.h)
      continue;
    v->focus = (ui_panel)p;
    if (p == UI_P_TREE && k->button == 1 && k->y == r.y) { /* a column's header sorts by it */
      const ui_layout *lay = &v->layout;
      for (int i = 0; i < lay->ncolumns; i++)
        if (k->x - r.x >= lay->colx[i] && k->x - r.x < lay->colx[i] + lay->colw[i]) {
          ui__sort_by(v, lay->column[i]);
          break;
        }
    } else if (k->button == 4 || k->button == 5) {
      ui_view_move(v, (ui_panel)p, k->button == 4 ? -3 : 3);
    } else if (k->button == 1 && L.h > 0 && k->y >= L.y && k->y < L.y + L.h) {
      size_t i = v->top[p] + (size_t)(k->y - L.y);
      if (i < ui_view_count(v, (ui_panel)p))
        ui_view_select(v, (ui_panel)p, i);
    }
    break;
  }
  return ui__none();
}

static ui_action ui__signal_menu(ui_view *v, const ui_key *k) {
  int code = k->code == 'k' ? UI_K_UP : k->code == 'j' ? UI_K_DOWN : k->code; /* vi's too */
  if (ui_setup_move(&v->sig_sel, (int)ui_menu_nsignals, code))
    return ui__none();
  switch (k->code) {
  case UI_K_ENTER: {
    v->mode = UI_MODE_NORMAL;
    if (v->readonly)
      return ui__none();
    if (v->ntagged) /* htop: the tagged processes, when there are any */
      return (ui_action){UI_ACT_SIGNAL, 0, ui_menu_signals[v->sig_sel]};
    const ft_mproc *p = ui_view_selected(v);
    if (!p || p->pid != v->sel_pid || p->host != v->sel_host)
      return ui__none();
    /* a remote process goes with its host: never a local kill of its pid */
    return (ui_action){UI_ACT_SIGNAL, p->pid, ui_menu_signals[v->sig_sel], p->host};
  }
  case UI_K_ESC:
  case 'q':
    v->mode = UI_MODE_NORMAL;
    break;
  default:
    break;
  }
  return ui__none();
}

static void ui__open_signal_menu(ui_view *v) {
  const ft_mproc *p = ui_view_selected(v);
  char msg[96];
  if (v->replay) {
    ui_view_say(v, "a recording: no signals can be sent");
  } else if (v->readonly) {
    ui_view_say(v, "--readonly: no signals are sent");
  } else if (v->observer) {
    ui_view_say(v, "-p watches read-only: no signals are sent");
  } else if (v->ntagged) {
    v->mode = UI_MODE_SIGNAL;
    v->sig_sel = 0;
  } else if (!p) {
    ui_view_say(v,
                v->sel_host ? "a host's row: select one of its processes" : "no process selected");
  } else if (p->role == FT_MROLE_ROOT) {
    ui_view_say(v, "that is forktop itself: q quits");
  } else if (p->exited) {
    snprintf(msg, sizeof msg, "process %d has exited", (int)p->pid);
    ui_view_say(v, msg);
  } else {
    v->mode = UI_MODE_SIGNAL;
    v->sig_sel = 0;
  }
}

/* Edit a line of text with a key: true when the text changed. */
static bool ui__edit(char *text, size_t cap, const ui_key *k) {
  size_t n = strlen(text);
  if (k->code == UI_K_BACKSPACE) {
    while (n > 0 && ((unsigned char)text[n - 1] & 0xC0) == 0x80)
      n--; /* a whole UTF-8 character */
    if (n > 0)
      n--;
    text[n] = '\0';
    return true;
  }
  if (k->code >= 0x20 && k->code < 0x110000 && k->code != 0x7F) {
    char b[4];
    size_t len = 0;
    unsigned c = (unsigned)k->code;
    if (c < 0x80)
      b[len++] = (char)c;
    else if (c < 0x800) {
      b[len++] = (char)(0xC0 | (c >> 6));
      b[len++] = (char)(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
      b[len++] = (char)(0xE0 | (c >> 12));
      b[len++] = (char)(0x80 | ((c >> 6) & 0x3F));
      b[len++] = (char)(0x80 | (c & 0x3F));
    } else {
      b[len++] = (char)(0xF0 | (c >> 18));
      b[len++] = (char)(0x80 | ((c >> 12) & 0x3F));
      b[len++] = (char)(0x80 | ((c >> 6) & 0x3F));
      b[len++] = (char)(0x80 | (c & 0x3F));
    }
    if (n + len < cap) {
      memcpy(text + n, b, len);
      text[n + len] = '\0';
      return true;
    }
  }
  return false;
}

/* F4 or \: the filter narrows the list as it is typed. */
static ui_action ui__filter_key(ui_view *v, const ui_key *k) {
  if (k->code == UI_K_ENTER || k->code == UI_K_F4 || k->code == UI_K_F10) {
    v->mode = UI_MODE_NORMAL;
  } else if (k->code == UI_K_ESC) {
    ui_view_set_filter(v, "");
    v->mode = UI_MODE_NORMAL;
  } else if (ui__edit(v->filter, sizeof v->filter, k)) {
    v->dirty = true;
  }
  return ui__none();
}

/* F3 or /: htop's search.  Each key typed moves the selection to the
 * first row at or after it that matches; F3 goes to the next match,
 * Shift-F3 to the previous; Enter keeps the row found, Esc too.  / starts
 * a new search; F3 goes on with the last one. */
static ui_action ui__search_key(ui_view *v, const ui_key *k) {
  if (k->code == UI_K_ENTER || k->code == UI_K_ESC || k->code == UI_K_F10) {
    v->mode = UI_MODE_NORMAL;
  } else if (k->code == UI_K_F3 || k->code == UI_K_SF3 || k->code == UI_K_DOWN ||
             k->code == UI_K_UP) {
    int dir = k->code == UI_K_SF3 || k->code == UI_K_UP ? -1 : 1;
    v->search_fail = !ui_view_search(v, dir, false);
  } else if (ui__edit(v->search, sizeof v->search, k)) {
    v->search_fail = v->search[0] && !ui_view_search(v, 1, true);
  }
  return ui__none();
}

/* Tag the selected process (and, with kids, every process under it in the list). */
static void ui__tag(ui_view *v, bool kids) {
  if (v->focus != UI_P_TREE || !v->nrows || !v->snap)
    return;
  size_t i = v->sel[UI_P_TREE];
  pid_t pid = v->snap->procs[v->rows[i].proc].pid;
  bool tag = !ui_view_is_tagged(v, pid);
  /* only live local processes: a tag is a pid the signal menu may use */
  for (size_t j = i; j < v->nrows && (j == i || (kids && v->rows[j].depth > v->rows[i].depth));
       j++) {
    const ft_mproc *q = &v->snap->procs[v->rows[j].proc];
    if (!q->exited && !q->host && q->role != FT_MROLE_ROOT)
      ui_view_set_tag(v, q->pid, tag);
  }
  if (!kids)
    ui_view_move(v, UI_P_TREE, 1); /* htop: Space moves on */
}

static ui_action ui__normal(ui_view *v, const ui_key *k) {
  ui_panel p = v->focus;
  switch (k->code) {
  case UI_K_UP:
    ui_view_move(v, p, -1);
    break;
  case UI_K_DOWN:
    ui_view_move(v, p, 1);
    break;
  case UI_K_PGUP:
    ui_view_move(v, p, -ui__page(v, p));
    break;
  case UI_K_PGDN:
    ui_view_move(v, p, ui__page(v, p));
    break;
  case UI_K_HOME:
    ui_view_select(v, p, 0);
    break;
  case UI_K_END:
    ui_view_select(v, p, (size_t)-1);
    break;
  case UI_K_ENTER:
    if (p == UI_P_EXITS)
      ui__jump(v);
    else
      ui__fold(v, 0);
    break;
  case ' ':
    if (p == UI_P_EXITS)
      ui__jump(v);
    else
      ui__tag(v, false);
    break;
  case 'c':
    ui__tag(v, true);
    break;
  case 'U':
    v->ntagged = 0;
    break;
  case '+':
  case UI_K_RIGHT:
    ui__fold(v, 1);
    break;
  case '-':
  case UI_K_LEFT:
    ui__fold(v, -1);
    break;
  case '*': {
    /* fold all; when everything is folded already, unfold all */
    bool any_open = false;
    for (size_t i = 0; i < v->nrows && !any_open; i++)
      any_open = v->rows[i].has_children && !v->rows[i].folded;
    ui_view_fold_all(v, any_open);
    break;
  }
  case UI_K_TAB:
    ui__next_panel(v, 1);
    break;
  case UI_K_BTAB:
    ui__next_panel(v, -1);
    break;
  case '/':     /* a new search */
  case UI_K_F3: /* the last search, from the next row on */
    v->focus = UI_P_TREE;
    v->mode = UI_MODE_SEARCH;
    if (k->code == '/')
      v->search[0] = '\0';
    v->search_fail = v->search[0] && !ui_view_search(v, 1, false);
    break;
  case UI_K_SF3:
    v->focus = UI_P_TREE;
    v->search_fail = !ui_view_search(v, -1, false);
    break;
  case '\\':
  case UI_K_F4:
    v->focus = UI_P_TREE;
    v->mode = UI_MODE_FILTER;
    break;
  case UI_K_ESC:
    if (v->filter[0])
      ui_view_set_filter(v, "");
    break;
  case 't':
  case UI_K_F5:
    v->flat = !v->flat;
    v->dirty = true;
    v->settings_changed = true;
    ui_view_say(v, v->flat ? "a flat list, sorted (F5: the tree)" : "the tree (F5: a flat list)");
    break;
  case '<':
  case '>':
  case UI_K_F6:
    v->mode = UI_MODE_SORT;
    v->menu_sel = 0;
    for (int i = 0; i < v->ncols; i++)
      if (v->cols[i] == v->sort)
        v->menu_sel = i;
    break;
  case 'I':
    ui__sort_by(v, v->sort);
    break;
  case 'P':
    ui__sort_by(v, v->sort == UI_C_CPU ? v->sort : UI_C_CPU);
    break;
  case 'M':
    ui__sort_by(v, v->sort == UI_C_RSS ? v->sort : UI_C_RSS);
    break;
  case 'T':
    ui__sort_by(v, v->sort == UI_C_TIME ? v->sort : UI_C_TIME);
    break;
  case 'S':
  case UI_K_F2:
    v->mode = UI_MODE_SETUP;
    v->menu_sel = 0;
    break;
  case 'k':
  case UI_K_F9:
    ui__open_signal_menu(v);
    break;
  case 'i':
    if (v->replay) {
      ui_view_say(v, "a recording has no pipes to read");
      break;
    }
    v->show_io = !v->show_io;
    v->dirty = true;
    break;
  case 'p':
    v->full_cmd = !v->full_cmd;
    v->settings_changed = true;
    ui_view_say(v, v->full_cmd ? "COMMAND: the program with its path"
                               : "COMMAND: the program without its path");
    break;
  case 'Z':
    v->paused = !v->paused;
    v->dirty = true;
    return (ui_action){UI_ACT_PAUSE, 0, 0};
  case '?':
  case 'h':
  case UI_K_F1:
    v->mode = UI_MODE_HELP;
    break;
  case 'q':
  case 'Q':
  case UI_K_F10:
    if (v->finished || v->replay || v->observer)
      return (ui_action){UI_ACT_QUIT, 0, 0};
    v->mode = UI_MODE_QUIT;
    break;
  default:
    break;
  }
  return ui__none();
}

/* What a key does. */
ui_action ui_keys_handle(ui_view *v, const ui_key *k) {
  if (k->code == UI_K_CTRL_C) { /* as SIGINT would: stop the workload and quit */
    v->mode = UI_MODE_NORMAL;
    return (ui_action){UI_ACT_QUIT, 0, SIGINT};
  }
  if (k->code == UI_K_CTRL_Z)
    return (ui_action){UI_ACT_SUSPEND, 0, 0};
  if (k->code == UI_K_MOUSE)
    return v->mode == UI_MODE_NORMAL ? ui__mouse(v, k) : ui__none();
  switch (v->mode) {
  case UI_MODE_HELP:
    v->mode = UI_MODE_NORMAL;
    return ui__none();
  case UI_MODE_FILTER:
    return ui__filter_key(v, k);
  case UI_MODE_SEARCH:
    return ui__search_key(v, k);
  case UI_MODE_SORT:
  case UI_MODE_SETUP:
    return ui_setup_key(v, k);
  case UI_MODE_SIGNAL:
    return ui__signal_menu(v, k);
  case UI_MODE_QUIT:
    switch (k->code) {
    case 's':
    case 'S':
    case 'y':
    case 'q':
      v->mode = UI_MODE_NORMAL;
      return (ui_action){UI_ACT_QUIT, 0, 0};
    case 'd':
    case 'D':
    case 'l':
    case 'h':
      v->mode = UI_MODE_NORMAL;
      return (ui_action){UI_ACT_DETACH, 0, 0};
    case UI_K_ESC:
    case 'n':
    case 'c':
      v->mode = UI_MODE_NORMAL;
      break;
    default:
      break;
    }
    return ui__none();
  default:
    break;
  }
  return ui__normal(v, k);
}

/* ------------------------------------------- the bottom bar, the pop-ups */

static bool ui__no_signals(const ui_view *v) { return v->replay || v->observer || v->readonly; }

static void ui__keybar(ui_grid *g, ui_view *v) {
  if (g->h < 2)
    return;
  int y = g->h - 1, W = g->w, x = 0;
  ui_grid_fill(g, 0, y, W, UI_S_KEYTEXT);
  if (v->mode == UI_MODE_FILTER || v->mode == UI_MODE_SEARCH) {
    bool f = v->mode == UI_MODE_FILTER;
    const char *text = f ? v->filter : v->search;
    x += ui_grid_printf(g, x, y, W, UI_S_KEY, v->utf8, f ? " Filter: " : " Search: ");
    x += ui_put_text(g, x, y, W - x, !f && v->search_fail ? UI_S_FAIL : UI_S_KEYTEXT, text,
                     strlen(text), v->utf8);
    x += ui_grid_printf(g, x, y, W - x, UI_S_KEY, v->utf8, "_");
    ui_grid_printf(g, x, y, W - x, UI_S_KEYTEXT, v->utf8, "%s",
                   f                ? "   Enter done  Esc clear"
                   : v->search_fail ? "   not found  F3 next  Enter done"
                                    : "   F3 next  Shift-F3 previous  Enter done");
    return;
  }
  if (v->status[0] && v->now < v->status_until) {
    x += ui_put_text(g, 1, y, W - 1, UI_S_WARN, v->status, strlen(v->status), v->utf8) + 3;
  }
  /* in display order, with a priority: what does not fit goes, highest number first */
  static const struct {
    const char *key, *label;
    int prio;
  } keys[] = {{"F1", "Help", 0}, {"F2", "Setup", 5},  {"F3", "Search", 2}, {"F4", "Filter", 2},
              {"F5", "Tree", 4}, {"F6", "Sort", 3},   {"F9", "Kill", 2},   {"Space", "Tag", 6},
              {"p", "Cmd", 6},   {"Tab", "Panel", 1}, {"q", "Quit", 0}};
  const size_t nk = sizeof keys / sizeof keys[0];
  int maxprio = 6;
  for (; maxprio > 0; maxprio--) {
    int need = x;
    for (size_t i = 0; i < nk; i++)
      if (keys[i].prio <= maxprio && !(ui__no_signals(v) && strcmp(keys[i].key, "F9") == 0))
        need += (int)(strlen(keys[i].key) + strlen(keys[i].label)) + 3;
    if (need <= W)
      break;
  }
  for (size_t i = 0; i < nk && x < W; i++) {
    const char *label = keys[i].label;
    if (keys[i].prio > maxprio || (ui__no_signals(v) && strcmp(keys[i].key, "F9") == 0))
      continue;
    if (strcmp(keys[i].key, "F5") == 0 && !v->flat)
      label = "Flat";
    x += ui_grid_printf(g, x, y, W - x, UI_S_KEY, v->utf8, "%s", keys[i].key);
    x += ui_grid_printf(g, x, y, W - x, UI_S_KEYTEXT, v->utf8, " %s  ", label);
  }
}

/* A box in the middle of the grid. */
void ui_keys_box(ui_grid *g, const ui_view *v, const char *title, const char *const *lines, int n,
                 int sel) {
  int w = 0;
  for (int i = 0; i < n; i++)
    w = (int)strlen(lines[i]) > w ? (int)strlen(lines[i]) : w;
  w = w + 4 < (int)strlen(title) + 6 ? (int)strlen(title) + 6 : w + 4;
  if (w > g->w)
    w = g->w;
  int h = n + 2 > g->h ? g->h : n + 2;
  int x = (g->w - w) / 2, y = (g->h - h) / 2;
  if (w < 2 || h < 2)
    return;
  uint32_t hz = v->ascii ? '-' : 0x2500, vt = v->ascii ? '|' : 0x2502;
  uint32_t tl = v->ascii ? '+' : 0x250C, tr = v->ascii ? '+' : 0x2510;
  uint32_t bl = v->ascii ? '+' : 0x2514, br = v->ascii ? '+' : 0x2518;
  for (int j = 0; j < h; j++) {
    ui_grid_fill(g, x, y + j, w, UI_S_BOX);
    ui_grid_set(g, x, y + j, j == 0 ? tl : j == h - 1 ? bl : vt, UI_S_BOX);
    ui_grid_set(g, x + w - 1, y + j, j == 0 ? tr : j == h - 1 ? br : vt, UI_S_BOX);
  }
  for (int i = 1; i < w - 1; i++) {
    ui_grid_set(g, x + i, y, hz, UI_S_BOX);
    ui_grid_set(g, x + i, y + h - 1, hz, UI_S_BOX);
  }
  ui_grid_printf(g, x + 2, y, w - 4, UI_S_BOX, v->utf8, " %s ", title);
  for (int i = 0; i < n && i < h - 2; i++) {
    ui_put_text(g, x + 2, y + 1 + i, w - 4, UI_S_BOX, lines[i], strlen(lines[i]), v->utf8);
    if (i == sel)
      ui_grid_restyle(g, x + 1, y + 1 + i, w - 2, UI_S_SEL);
  }
}

static void ui__overlay(ui_grid *g, ui_view *v) {
  if (v->mode == UI_MODE_HELP) {
    static const char *const help[] = {
        "Up/Down PgUp/PgDn Home/End  move, page, first, last",
        "F1 ? h    this help             F2 S    setup: columns, meters",
        "F3 /      search (F3 next, Shift-F3 previous, Enter keeps the row)",
        "F4 \\      filter (Enter keeps it, Esc clears)",
        "F5 t      tree or flat list     F6 < >  sort by a column",
        "I         reverse the sort      P M T   sort by CPU%, RSS, TIME+",
        "F9 k      send a signal (to the tagged processes if any)",
        "Space     tag and move down     c tag with the subtree  U untag all",
        "p         COMMAND: the program with or without its path",
        "Enter + - fold / unfold the subtree; * fold or unfold all",
        "Tab       next panel (Shift-Tab previous)   Esc clear the filter",
        "i         the process's pipes and read/write rates",
        "Z         pause or resume the display",
        "mouse     click a row selects it, a column's title sorts, wheel scrolls",
        "F10 q     quit (asks while work runs)",
        "",
        "X: exited (dimmed; failures in red)  Z: zombie  *: tagged",
        "[orphan]: reparented to forktop  [+N]: folded",
        "",
        "any key closes this help"};
    ui_keys_box(g, v, "forktop help", help, (int)(sizeof help / sizeof help[0]), -1);
  } else if (v->mode == UI_MODE_SIGNAL) {
    char lines[16][48];
    const char *ptrs[16];
    int n = (int)ui_menu_nsignals;
    for (int i = 0; i < n && i < 16; i++) {
      snprintf(lines[i], sizeof lines[i], "%2d %s", ui_menu_signals[i],
               ft_signal_name(ui_menu_signals[i]));
      ptrs[i] = lines[i];
    }
    char title[64];
    if (v->ntagged)
      snprintf(title, sizeof title, "send to %zu tagged (Enter, Esc)", v->ntagged);
    else
      snprintf(title, sizeof title, "send to %d (Enter, Esc)", (int)v->sel_pid);
    ui_setup_list(g, v, title, ptrs, n, v->sig_sel);
  } else if (v->mode == UI_MODE_QUIT) {
    char first[64];
    snprintf(first, sizeof first, "The %s is still running.", v->note[0] ? "command" : "workload");
    const char *const ask[] = {first, "", "s   stop it and quit", "d   leave it running headless",
                               "Esc keep watching"};
    ui_keys_box(g, v, "quit?", ask, 5, -1);
  } else if (v->mode == UI_MODE_SORT || v->mode == UI_MODE_SETUP) {
    ui_setup_draw(g, v);
  }
}

/* The bottom bar (the keys, the filter being typed, a message) and the
 * pop-up of the current mode: help, the signal menu, the quit question. */
void ui_keys_draw(ui_grid *g, ui_view *v) {
  ui__keybar(g, v);
  ui__overlay(g, v);
}
