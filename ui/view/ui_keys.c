/* ui_keys.c - what a key does, htop's habits: arrows and j, PgUp/PgDn,
 * Home/End, Enter or space to fold, / filter, s sort, k (or F9) the signal
 * menu, p pause, Tab between panels, ? help, q quit (asking first while
 * work runs).  k is htop's kill key, so outside the signal menu (where j
 * and k move) "up" is the arrow; K moves up for vi hands.  Keys change the view; what needs the
 * engine (a signal, a quit) comes back as an action for ui_dash.c to carry out.  No curses. */
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

static ui_action ui__mouse(ui_view *v, const ui_key *k) {
  for (int p = 0; p < UI_P_COUNT; p++) {
    ui_rect r = v->layout.panel[p], L = v->layout.list[p];
    if (r.h <= 0 || k->x < r.x || k->x >= r.x + r.w || k->y < r.y || k->y >= r.y + r.h)
      continue;
    v->focus = (ui_panel)p;
    if (k->button == 4 || k->button == 5) {
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
  int n = (int)ui_menu_nsignals;
  switch (k->code) {
  case UI_K_UP:
  case 'k':
    v->sig_sel = v->sig_sel > 0 ? v->sig_sel - 1 : 0;
    break;
  case UI_K_DOWN:
  case 'j':
    v->sig_sel = v->sig_sel + 1 < n ? v->sig_sel + 1 : n - 1;
    break;
  case UI_K_HOME:
    v->sig_sel = 0;
    break;
  case UI_K_END:
    v->sig_sel = n - 1;
    break;
  case UI_K_ENTER: {
    v->mode = UI_MODE_NORMAL;
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
  } else if (v->observer) {
    ui_view_say(v, "-p watches read-only: no signals are sent");
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

static ui_action ui__filter_key(ui_view *v, const ui_key *k) {
  size_t n = strlen(v->filter);
  if (k->code == UI_K_ENTER) {
    v->mode = UI_MODE_NORMAL;
  } else if (k->code == UI_K_ESC) {
    ui_view_set_filter(v, "");
    v->mode = UI_MODE_NORMAL;
  } else if (k->code == UI_K_BACKSPACE) {
    while (n > 0 && ((unsigned char)v->filter[n - 1] & 0xC0) == 0x80)
      n--; /* a whole UTF-8 character */
    if (n > 0)
      n--;
    v->filter[n] = '\0';
    v->dirty = true;
  } else if (k->code >= 0x20 && k->code < 0x110000 && k->code != 0x7F) {
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
    if (n + len < sizeof v->filter) {
      memcpy(v->filter + n, b, len);
      v->filter[n + len] = '\0';
      v->dirty = true;
    }
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
  ui_panel p = v->focus;
  switch (k->code) {
  case UI_K_UP:
  case 'K':
    ui_view_move(v, p, -1);
    break;
  case UI_K_DOWN:
  case 'j':
    ui_view_move(v, p, 1);
    break;
  case UI_K_PGUP:
    ui_view_move(v, p, -ui__page(v, p));
    break;
  case UI_K_PGDN:
    ui_view_move(v, p, ui__page(v, p));
    break;
  case UI_K_HOME:
  case 'g':
    ui_view_select(v, p, 0);
    break;
  case UI_K_END:
  case 'G':
    ui_view_select(v, p, (size_t)-1);
    break;
  case UI_K_ENTER:
  case ' ':
    if (p == UI_P_EXITS)
      ui__jump(v);
    else
      ui__fold(v, 0);
    break;
  case '+':
  case UI_K_RIGHT:
    ui__fold(v, 1);
    break;
  case '-':
  case UI_K_LEFT:
    ui__fold(v, -1);
    break;
  case 'c': {
    /* fold all; when everything is folded already, unfold all */
    bool any_open = false;
    for (size_t i = 0; i < v->nrows && !any_open; i++)
      any_open = v->rows[i].has_children && !v->rows[i].folded;
    ui_view_fold_all(v, any_open);
    break;
  }
  case '*':
    ui_view_fold_all(v, false);
    break;
  case UI_K_TAB:
    ui__next_panel(v, 1);
    break;
  case UI_K_BTAB:
    ui__next_panel(v, -1);
    break;
  case '/':
    v->mode = UI_MODE_FILTER;
    break;
  case UI_K_ESC:
    if (v->filter[0])
      ui_view_set_filter(v, "");
    break;
  case 's':
    v->sort = (ui_sort)((v->sort + 1) % UI_SORT_COUNT);
    v->dirty = true;
    {
      char msg[48];
      snprintf(msg, sizeof msg, "sorted by %s", ui_sort_name(v->sort));
      ui_view_say(v, msg);
    }
    break;
  case 'k':
  case 'x':
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
  case 'P':
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

/* ------------------------------------------- the bottom bar, the pop-ups */

static void ui__keybar(ui_grid *g, ui_view *v) {
  if (g->h < 2)
    return;
  int y = g->h - 1, W = g->w, x = 0;
  ui_grid_fill(g, 0, y, W, UI_S_KEYTEXT);
  if (v->mode == UI_MODE_FILTER) {
    x += ui_grid_printf(g, x, y, W, UI_S_KEY, v->utf8, " Filter: ");
    x += ui_put_text(g, x, y, W - x, UI_S_KEYTEXT, v->filter, strlen(v->filter), v->utf8);
    x += ui_grid_printf(g, x, y, W - x, UI_S_KEY, v->utf8, "_");
    ui_grid_printf(g, x, y, W - x, UI_S_KEYTEXT, v->utf8, "   Enter done  Esc clear");
    return;
  }
  if (v->status[0] && v->now < v->status_until) {
    x += ui_put_text(g, 1, y, W - 1, UI_S_WARN, v->status, strlen(v->status), v->utf8) + 3;
  }
  /* in display order, with a priority: what does not fit goes, highest number first */
  static const struct {
    const char *key, *label;
    int prio;
  } keys[] = {{"?", "Help", 0},   {"Tab", "Panel", 1}, {"Enter", "Fold", 3}, {"c", "Fold all", 6},
              {"/", "Filter", 2}, {"s", "Sort", 4},    {"k", "Signal", 2},   {"i", "Pipes", 5},
              {"p", "Pause", 5},  {"q", "Quit", 0}};
  const size_t nk = sizeof keys / sizeof keys[0];
  int maxprio = 6;
  for (; maxprio > 0; maxprio--) {
    int need = x;
    for (size_t i = 0; i < nk; i++)
      if (keys[i].prio <= maxprio && !((v->replay || v->observer) && keys[i].key[0] == 'k'))
        need += (int)(strlen(keys[i].key) + strlen(keys[i].label)) + 3;
    if (need <= W)
      break;
  }
  for (size_t i = 0; i < nk && x < W; i++) {
    const char *label = keys[i].label;
    if (keys[i].prio > maxprio || ((v->replay || v->observer) && keys[i].key[0] == 'k'))
      continue;
    if (keys[i].key[0] == 'p' && v->paused)
      label = "Resume";
    x += ui_grid_printf(g, x, y, W - x, UI_S_KEY, v->utf8, "%s", keys[i].key);
    x += ui_grid_printf(g, x, y, W - x, UI_S_KEYTEXT, v->utf8, " %s  ", label);
  }
}

static void ui__box(ui_grid *g, const ui_view *v, const char *title, const char *const *lines,
                    int n, int sel) {
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
    static const char *const help[] = {"Up/Down, j (K)     move",
                                       "PgUp/PgDn, Home/End  page, first, last",
                                       "Tab, Shift-Tab     next, previous panel",
                                       "Enter, space       fold or unfold the subtree",
                                       "+ / -              unfold / fold; c fold or unfold all",
                                       "/                  filter (Esc clears)",
                                       "s                  sort: PID, CPU%, RSS, AGE, PROCESS",
                                       "k, F9              send a signal to the process",
                                       "i                  pipes of the process, who holds their",
                                       "                   other ends, read and write rates",
                                       "p                  pause or resume the display",
                                       "mouse              click selects, wheel scrolls",
                                       "q, F10             quit (asks while work runs)",
                                       "",
                                       "X: exited (dimmed; failures in red)  Z: zombie",
                                       "[orphan]: reparented to forktop  [+N]: folded",
                                       "",
                                       "any key closes this help"};
    ui__box(g, v, "forktop help", help, (int)(sizeof help / sizeof help[0]), -1);
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
    snprintf(title, sizeof title, "send to %d (Enter, Esc)", (int)v->sel_pid);
    ui__box(g, v, title, ptrs, n, v->sig_sel);
  } else if (v->mode == UI_MODE_QUIT) {
    char first[64];
    snprintf(first, sizeof first, "The %s is still running.", v->note[0] ? "command" : "workload");
    const char *const ask[] = {first, "", "s   stop it and quit", "d   leave it running headless",
                               "Esc keep watching"};
    ui__box(g, v, "quit?", ask, 5, -1);
  }
}

/* The bottom bar (the keys, the filter being typed, a message) and the
 * pop-up of the current mode: help, the signal menu, the quit question. */
void ui_keys_draw(ui_grid *g, ui_view *v) {
  ui__keybar(g, v);
  ui__overlay(g, v);
}
