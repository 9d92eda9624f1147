/* ui_term.c - the one file that talks to curses.  It copies a grid of
 * cells to the screen (only the cells that changed since the last frame,
 * then wnoutrefresh + doupdate, so ncurses sends only the difference),
 * turns keys and mouse clicks into ui_keys, follows resizes, and restores
 * the terminal on every way out: ui_term_close, and atexit as a last resort.
 *
 * Styles become colours, or with NO_COLOR (or a terminal without colours)
 * bold, dim, underline and reverse video. */
#define NCURSES_WIDECHAR 1
#include "ui_view.h"

#include <curses.h>
#include <errno.h>
#include <langinfo.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

struct ui_term {
  SCREEN *scr;
  bool utf8, color;
  pid_t owner;
  ui_cell *prev; /* the grid drawn last */
  int pw, ph;
  attr_t attr[UI_S_COUNT];
  short pair[UI_S_COUNT];
};

/* The open terminal, for the atexit handler. */
static ui_term *ui__open_term;

static void ui__atexit(void) {
  /* only the process that took the terminal gives it back: a forked child
   * that happened to call exit() must not write to the screen */
  if (ui__open_term && ui__open_term->owner == getpid())
    ui_term_close(ui__open_term);
}

enum {
  UI__RED = 1,
  UI__GREEN,
  UI__YELLOW,
  UI__HEAD,
  UI__TITLE,
  UI__SEL,
  UI__KEY,
  UI__KEYTEXT,
  UI__ESC,
  UI__BOX
};

static void ui__styles(ui_term *t) {
  for (int i = 0; i < UI_S_COUNT; i++) {
    t->attr[i] = A_NORMAL;
    t->pair[i] = 0;
  }
  if (t->color) {
    start_color();
    use_default_colors();
    init_pair(UI__RED, COLOR_RED, -1);
    init_pair(UI__GREEN, COLOR_GREEN, -1);
    init_pair(UI__YELLOW, COLOR_YELLOW, -1);
    init_pair(UI__HEAD, COLOR_BLACK, COLOR_GREEN);
    init_pair(UI__TITLE, COLOR_BLACK, COLOR_CYAN);
    init_pair(UI__SEL, COLOR_BLACK, COLOR_CYAN);
    init_pair(UI__KEY, COLOR_WHITE, -1);
    init_pair(UI__KEYTEXT, COLOR_BLACK, COLOR_CYAN);
    init_pair(UI__ESC, COLOR_MAGENTA, -1);
    init_pair(UI__BOX, COLOR_WHITE, COLOR_BLUE);
#define UI__SET(s, a, p) (t->attr[s] = (a), t->pair[s] = (p))
    UI__SET(UI_S_TITLE, A_BOLD, UI__TITLE);
    UI__SET(UI_S_HEADER, A_NORMAL, UI__HEAD);
    UI__SET(UI_S_HEADER_FOCUS, A_BOLD, UI__TITLE);
    UI__SET(UI_S_SEL, A_NORMAL, UI__SEL);
    UI__SET(UI_S_SEL_DIM, A_REVERSE, 0);
    UI__SET(UI_S_DIM, A_DIM, 0);
    UI__SET(UI_S_FAIL, A_BOLD, UI__RED);
    UI__SET(UI_S_OK, A_NORMAL, UI__GREEN);
    UI__SET(UI_S_WARN, A_NORMAL, UI__YELLOW);
    UI__SET(UI_S_BAR_DONE, A_NORMAL, UI__GREEN);
    UI__SET(UI_S_BAR_FAIL, A_BOLD, UI__RED);
    UI__SET(UI_S_BAR_EMPTY, A_DIM, 0);
    UI__SET(UI_S_KEY, A_BOLD, UI__KEY);
    UI__SET(UI_S_KEYTEXT, A_NORMAL, UI__KEYTEXT);
    UI__SET(UI_S_ESCAPED, A_NORMAL, UI__ESC);
    UI__SET(UI_S_BOX, A_BOLD, UI__BOX);
  } else {
    UI__SET(UI_S_TITLE, A_REVERSE | A_BOLD, 0);
    UI__SET(UI_S_HEADER, A_REVERSE, 0);
    UI__SET(UI_S_HEADER_FOCUS, A_REVERSE | A_BOLD, 0);
    UI__SET(UI_S_SEL, A_REVERSE | A_BOLD, 0);
    UI__SET(UI_S_SEL_DIM, A_UNDERLINE, 0);
    UI__SET(UI_S_DIM, A_DIM, 0);
    UI__SET(UI_S_FAIL, A_BOLD, 0);
    UI__SET(UI_S_WARN, A_BOLD, 0);
    UI__SET(UI_S_BAR_FAIL, A_BOLD, 0);
    UI__SET(UI_S_BAR_EMPTY, A_DIM, 0);
    UI__SET(UI_S_KEY, A_BOLD, 0);
    UI__SET(UI_S_KEYTEXT, A_REVERSE, 0);
    UI__SET(UI_S_ESCAPED, A_UNDERLINE, 0);
    UI__SET(UI_S_BOX, A_BOLD, 0);
#undef UI__SET
  }
}

/* Take over the terminal. */
int ui_term_open(ui_term **out) {
  if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
    return -ENOTTY;
  ui_term *t = calloc(1, sizeof *t);
  if (!t)
    return -ENOMEM;
  /* only LC_CTYPE: numbers elsewhere (the JSON stream) keep their dots */
  setlocale(LC_CTYPE, "");
  t->utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
  t->owner = getpid();
  fflush(stdout);
  if (!(t->scr = newterm(NULL, stdout, stdin))) {
    free(t);
    return -ENOTTY;
  }
  set_term(t->scr);
  /* raw: Ctrl-C and Ctrl-Z come as keys, so the dashboard can stop or
   * suspend the workload with itself and give the terminal back first */
  raw();
  noecho();
  nonl();
  intrflush(stdscr, FALSE);
  keypad(stdscr, TRUE);
  nodelay(stdscr, TRUE);
  set_escdelay(25);
  curs_set(0);
  mousemask(BUTTON1_PRESSED | BUTTON4_PRESSED | BUTTON5_PRESSED, NULL);
  mouseinterval(0);
  const char *nc = getenv("NO_COLOR");
  t->color = !(nc && *nc) && has_colors();
  ui__styles(t);
  static bool registered;
  if (!registered) {
    atexit(ui__atexit);
    registered = true;
  }
  ui__open_term = t;
  *out = t;
  return 0;
}

/* Whether the terminal takes UTF-8. */
bool ui_term_utf8(const ui_term *t) { return t->utf8; }

/* Its size. */
void ui_term_size(const ui_term *t, int *w, int *h) {
  (void)t;
  *w = COLS;
  *h = LINES;
}

/* Forget what is on the screen: the next draw sends every cell. */
static void ui__invalidate(ui_term *t) {
  free(t->prev);
  t->prev = NULL;
  t->pw = t->ph = 0;
  clearok(curscr, TRUE);
}

/* The window changed size: ask the kernel, tell curses, draw everything
 * again.  (resizeterm queues a KEY_RESIZE of its own; ui_term_key takes it
 * as "draw again" and does not resize a second time.) */
void ui_term_resize(ui_term *t) {
  struct winsize ws;
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0 &&
      (ws.ws_row != LINES || ws.ws_col != COLS))
    resizeterm(ws.ws_row, ws.ws_col);
  ui__invalidate(t);
}

/* Draw the grid: the cells that changed, then one doupdate. */
void ui_term_draw(ui_term *t, const ui_grid *g) {
  int W = g->w < COLS ? g->w : COLS, H = g->h < LINES ? g->h : LINES;
  bool full = !t->prev || t->pw != g->w || t->ph != g->h;
  if (full) {
    free(t->prev);
    t->prev = calloc((size_t)g->w * (size_t)g->h + 1, sizeof *t->prev);
    t->pw = g->w;
    t->ph = g->h;
    erase();
  }
  for (int y = 0; y < H; y++) {
    const ui_cell *row = UI_CELL(g, 0, y);
    ui_cell *old = t->prev ? &t->prev[(size_t)y * (size_t)g->w] : NULL;
    if (!full && old && memcmp(row, old, (size_t)g->w * sizeof *row) == 0)
      continue;
    for (int x = 0; x < W; x++) {
      const ui_cell *c = &row[x];
      if (!full && old && c->ch == old[x].ch && c->style == old[x].style)
        continue;
      if (!c->ch)
        continue; /* the right half of a wide character */
      /* the bottom-right cell would scroll some terminals: leave it */
      if (y == LINES - 1 && x == COLS - 1)
        continue;
      wchar_t wc[2] = {(wchar_t)c->ch, 0};
      if (!t->utf8 && c->ch >= 0x80)
        wc[0] = '?'; /* ui_put_text escapes these already; drawing stays ASCII */
      int st = c->style < UI_S_COUNT ? c->style : UI_S_NORMAL;
      cchar_t cc;
      setcchar(&cc, wc, t->attr[st], t->pair[st], NULL);
      mvadd_wch(y, x, &cc);
    }
    if (old)
      memcpy(old, row, (size_t)g->w * sizeof *row);
  }
  wnoutrefresh(stdscr);
  doupdate();
}

static int ui__map_key(int code) {
  switch (code) {
  case KEY_UP:
    return UI_K_UP;
  case KEY_DOWN:
    return UI_K_DOWN;
  case KEY_LEFT:
    return UI_K_LEFT;
  case KEY_RIGHT:
    return UI_K_RIGHT;
  case KEY_PPAGE:
    return UI_K_PGUP;
  case KEY_NPAGE:
    return UI_K_PGDN;
  case KEY_HOME:
  case KEY_A1:
    return UI_K_HOME;
  case KEY_END:
  case KEY_C1:
    return UI_K_END;
  case KEY_ENTER:
    return UI_K_ENTER;
  case KEY_BTAB:
    return UI_K_BTAB;
  case KEY_BACKSPACE:
  case KEY_DC:
    return UI_K_BACKSPACE;
  case KEY_F(1):
    return UI_K_F1;
  case KEY_F(2):
    return UI_K_F2;
  case KEY_F(3):
    return UI_K_F3;
  case KEY_F(4):
    return UI_K_F4;
  case KEY_F(5):
    return UI_K_F5;
  case KEY_F(6):
    return UI_K_F6;
  case KEY_F(7):
    return UI_K_F7;
  case KEY_F(8):
    return UI_K_F8;
  case KEY_F(15): /* Shift-F3 in xterm's terminfo */
    return UI_K_SF3;
  case KEY_F(9):
    return UI_K_F9;
  case KEY_F(10):
    return UI_K_F10;
  default:
    return UI_K_NONE;
  }
}

/* The next key or mouse event, without waiting. */
bool ui_term_key(ui_term *t, ui_key *k) {
  for (;;) {
    wint_t wch;
    int rc = wget_wch(stdscr, &wch);
    memset(k, 0, sizeof *k);
    if (rc == ERR)
      return false;
    if (rc == KEY_CODE_YES) {
      if (wch == KEY_RESIZE) {
        ui__invalidate(t);
        return true; /* UI_K_NONE: draw again */
      }
      if (wch == KEY_MOUSE) {
        MEVENT me;
        if (getmouse(&me) != OK)
          continue;
        k->code = UI_K_MOUSE;
        k->x = me.x;
        k->y = me.y;
        k->button = (me.bstate & BUTTON1_PRESSED)   ? 1
                    : (me.bstate & BUTTON4_PRESSED) ? 4
                    : (me.bstate & BUTTON5_PRESSED) ? 5
                                                    : 0;
        if (!k->button)
          continue;
        return true;
      }
      if ((k->code = ui__map_key((int)wch)) == UI_K_NONE)
        continue;
      return true;
    }
    switch (wch) {
    case '\r':
    case '\n':
      k->code = UI_K_ENTER;
      break;
    case '\t':
      k->code = UI_K_TAB;
      break;
    case 27:
      k->code = UI_K_ESC;
      break;
    case 127:
    case 8:
      k->code = UI_K_BACKSPACE;
      break;
    case 3:
      k->code = UI_K_CTRL_C;
      break;
    case 26:
      k->code = UI_K_CTRL_Z;
      break;
    case 12: /* Ctrl-L: draw everything again */
      ui__invalidate(t);
      return true;
    default:
      if (wch < 0x20)
        continue;
      k->code = (int)wch;
      break;
    }
    return true;
  }
}

/* Give the terminal back for a while. */
void ui_term_suspend(ui_term *t) {
  (void)t;
  mousemask(0, NULL);
  curs_set(1);
  endwin();
  fflush(stdout);
}

/* Take it again: the next refresh puts curses' modes back. */
void ui_term_resume(ui_term *t) {
  mousemask(BUTTON1_PRESSED | BUTTON4_PRESSED | BUTTON5_PRESSED, NULL);
  curs_set(0);
  refresh();
  ui__invalidate(t);
}

/* Restore the terminal and free. */
void ui_term_close(ui_term *t) {
  if (!t)
    return;
  if (ui__open_term == t)
    ui__open_term = NULL;
  if (t->scr) {
    set_term(t->scr);
    mousemask(0, NULL);
    curs_set(1);
    endwin();
    delscreen(t->scr);
    t->scr = NULL;
  }
  fflush(stdout);
  free(t->prev);
  free(t);
}
