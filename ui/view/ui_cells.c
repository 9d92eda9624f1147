/* ui_cells.c - the display list laid out as a grid of styled cells: the
 * header, the process tree, pools, queues, the exit log, the output of the
 * selected process, the bottom bar and pop-ups.  Child output and every
 * name are written through ui_put_text, which makes them inert by the
 * rules of ui_safe.c.  No curses here: ui_term.c copies the grid to the
 * terminal. */
#include "ui_safe.h"
#include "ui_view.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

/* ---------------------------------------------------------------- grid */

/* Size the grid. */
int ui_grid_resize(ui_grid *g, int w, int h) {
  if (w < 0)
    w = 0;
  if (h < 0)
    h = 0;
  if (w != g->w || h != g->h || !g->cells) {
    ui_cell *c = malloc(((size_t)w * (size_t)h + 1) * sizeof *c);
    if (!c)
      return -1;
    free(g->cells);
    g->cells = c;
    g->w = w;
    g->h = h;
  }
  for (size_t i = 0; i < (size_t)w * (size_t)h; i++)
    g->cells[i] = (ui_cell){' ', UI_S_NORMAL};
  return 0;
}

/* Release the grid. */
void ui_grid_free(ui_grid *g) {
  free(g->cells);
  g->cells = NULL;
  g->w = g->h = 0;
}

static size_t ui__utf8_encode(uint32_t cp, char *o) {
  if (cp < 0x80) {
    o[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    o[0] = (char)(0xC0 | (cp >> 6));
    o[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    o[0] = (char)(0xE0 | (cp >> 12));
    o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  o[0] = (char)(0xF0 | (cp >> 18));
  o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  o[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

/* The grid's row y as UTF-8 text, trailing blanks dropped. */
char *ui_grid_line(const ui_grid *g, int y, char *out, size_t cap) {
  size_t k = 0, end = 0;
  if (!cap)
    return out;
  for (int x = 0; y >= 0 && y < g->h && x < g->w; x++) {
    const ui_cell *c = UI_CELL(g, x, y);
    if (!c->ch)
      continue;
    char b[4];
    size_t n = ui__utf8_encode(c->ch, b);
    if (k + n + 1 > cap)
      break;
    memcpy(out + k, b, n);
    k += n;
    if (c->ch != ' ')
      end = k;
  }
  out[end] = '\0';
  return out;
}

/* ---------------------------------------------------------------- text */

/* Set one cell (outside the grid: nothing). */
void ui_grid_set(ui_grid *g, int x, int y, uint32_t ch, ui_style st) {
  if (x >= 0 && y >= 0 && x < g->w && y < g->h)
    *UI_CELL(g, x, y) = (ui_cell){ch, (uint8_t)st};
}

/* Put an escape sequence's text, as far as it fits. */
static int ui__put_escape(ui_grid *g, int x, int y, int room, const char *esc) {
  int k = 0;
  for (; k < room && esc[k]; k++)
    ui_grid_set(g, x + k, y, (uint32_t)(unsigned char)esc[k], UI_S_ESCAPED);
  return k;
}

/* Write untrusted text, made inert: the verdicts are ui_safe.c's, the one
 * set of rules for everything that reaches a terminal.  A cell holds one
 * code point of width 1 or 2, so the grid also escapes what it cannot lay
 * out (zero-width and combining code points): that is layout, not safety. */
int ui_put_text(ui_grid *g, int x, int y, int maxw, ui_style st, const char *s, size_t n,
                bool utf8) {
  if (y < 0 || y >= g->h || x >= g->w || maxw <= 0)
    return 0;
  if (x + maxw > g->w)
    maxw = g->w - x;
  int col = 0;
  for (size_t i = 0; i < n && col < maxw;) {
    ui_safe_tok t;
    ui_safe_next(s + i, n - i, utf8, &t);
    i += t.len;
    if (t.kind == UI_SAFE_TAB) {
      do
        ui_grid_set(g, x + col++, y, ' ', st);
      while (col % 8 && col < maxw);
      continue;
    }
    int w = t.kind == UI_SAFE_ESCAPE ? 0 : t.cp < 0x80 ? 1 : wcwidth((wchar_t)t.cp);
    if (t.kind == UI_SAFE_CHAR && (w < 1 || w > 2))
      snprintf(t.esc, sizeof t.esc, "\\u{%x}", (unsigned)t.cp);
    if (t.kind == UI_SAFE_ESCAPE || w < 1 || w > 2) {
      col += ui__put_escape(g, x + col, y, maxw - col, t.esc);
      continue;
    }
    if (col + w > maxw)
      break;
    ui_grid_set(g, x + col, y, t.cp, st);
    if (w == 2)
      ui_grid_set(g, x + col + 1, y, 0, st);
    col += w;
  }
  return col;
}

/* Untrusted text with an ellipsis where it is cut: laid out once on a
 * scratch row a little wider than the room, to know whether it fits. */
int ui_put_cut(ui_grid *g, int x, int y, int maxw, ui_style st, const char *s, size_t n, bool utf8,
               bool ascii) {
  if (y < 0 || y >= g->h || x >= g->w || maxw <= 0)
    return 0;
  if (x + maxw > g->w)
    maxw = g->w - x;
  ui_cell cells[512];
  int room = maxw + 3 < 512 ? maxw + 3 : 512;
  ui_grid scratch = {room, 1, cells};
  int all = ui_put_text(&scratch, 0, 0, room, st, s, n, utf8);
  int col = ui_put_text(g, x, y, maxw, st, s, n, utf8);
  if (all <= maxw)
    return col;
  int at = x + maxw - 1;
  if (at > x && UI_CELL(g, at, y)->ch == 0) /* the second half of a wide character */
    ui_grid_set(g, at - 1, y, ' ', st);
  ui_grid_set(g, at, y, utf8 && !ascii ? 0x2026 : '~', UI_S_DIM);
  return maxw;
}

/* printf into the grid (our own text, still written through the filter). */
int ui_grid_printf(ui_grid *g, int x, int y, int maxw, ui_style st, bool utf8, const char *fmt,
                   ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n < 0)
    return 0;
  return ui_put_text(g, x, y, maxw, st, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1,
                     utf8);
}

/* Blank w cells in a style. */
void ui_grid_fill(ui_grid *g, int x, int y, int w, ui_style st) {
  for (int i = 0; i < w; i++)
    ui_grid_set(g, x + i, y, ' ', st);
}

/* Give a row a style (a selection), keeping the colours of bars. */
void ui_grid_restyle(ui_grid *g, int x, int y, int w, ui_style st) {
  for (int i = 0; i < w; i++)
    if (x + i >= 0 && x + i < g->w && y >= 0 && y < g->h) {
      ui_cell *c = UI_CELL(g, x + i, y);
      if (c->style != UI_S_BAR_DONE && c->style != UI_S_BAR_FAIL && c->style != UI_S_BAR_EMPTY)
        c->style = (uint8_t)st;
    }
}

/* Right-align text in a field of width w. */
static void ui__right(ui_grid *g, int x, int y, int w, ui_style st, bool utf8, const char *s) {
  int n = (int)strlen(s);
  ui_put_text(g, x + (n < w ? w - n : 0), y, w, st, s, strlen(s), utf8);
}

/* ------------------------------------------------------------ formats */

static void ui__fmt_bytes(char *b, size_t cap, uint64_t n) {
  if (n < 1024)
    snprintf(b, cap, "%lluB", (unsigned long long)n);
  else
    ui_fmt_kb(b, cap, n / 1024);
}

static void ui__fmt_exit(char *b, size_t cap, int code, int sig, bool core, bool requested) {
  if (sig)
    snprintf(b, cap, "%s%s%s", ft_signal_name(sig), core ? " (core)" : "",
             requested ? " (stopped)" : "");
  else
    snprintf(b, cap, "exit %d", code);
}

static ui_style ui__head_style(const ui_view *v, ui_panel p) {
  return v->focus == p ? UI_S_HEADER_FOCUS : UI_S_HEADER;
}

/* The selected row is marked in the focused panel; the tree's selection
 * (whose output shows) stays visible, dimmer, when another panel has focus. */
static ui_style ui__sel_style(const ui_view *v, ui_panel p, size_t i) {
  if (i != v->sel[p])
    return UI_S_NORMAL;
  return v->focus == p ? UI_S_SEL : p == UI_P_TREE ? UI_S_SEL_DIM : UI_S_NORMAL;
}

/* --------------------------------------------------------------- header */

static void ui__header(ui_grid *g, ui_view *v) {
  const ft_model_snap *s = v->snap;
  int W = g->w;
  if (g->h < 1)
    return;
  ui_grid_fill(g, 0, 0, W, UI_S_TITLE);
  char el[32] = "0.0s";
  uint64_t until = v->finished && v->t_end ? v->t_end : v->now;
  if (s && s->t0 && until > s->t0)
    ui_fmt_dur(el, sizeof el, until - s->t0);
  int x = ui_grid_printf(g, 0, 0, W, UI_S_TITLE, v->utf8, " forktop %s ", FT_VERSION);
  x += ui_put_text(g, x, 0, W - x, UI_S_TITLE, v->title, strlen(v->title), v->utf8);
  x += ui_grid_printf(g, x, 0, W - x, UI_S_TITLE, v->utf8, "  %s", el);
  char right[256];
  size_t k = 0;
  right[0] = '\0';
  if (v->filter[0])
    k += (size_t)snprintf(right + k, sizeof right - k, "filter \"%s\"  ", v->filter);
  if (v->paused && k < sizeof right)
    k += (size_t)snprintf(right + k, sizeof right - k, "PAUSED  ");
  if (v->replay && k < sizeof right)
    k += (size_t)snprintf(right + k, sizeof right - k, "REPLAY  ");
  if (v->readonly && k < sizeof right)
    k += (size_t)snprintf(right + k, sizeof right - k, "READ-ONLY  ");
  if (v->note[0] && k < sizeof right)
    k += (size_t)snprintf(right + k, sizeof right - k, "%s  ", v->note);
  if (k < sizeof right) {
    if (v->finished && v->exit_status < 0) /* -p without the connector */
      snprintf(right + k, sizeof right - k, "finished, exit status unknown ");
    else if (v->finished)
      snprintf(right + k, sizeof right - k, "finished, exit status %d ", v->exit_status);
    else
      snprintf(right + k, sizeof right - k, "running ");
  }
  int rn = (int)strlen(right);
  if (rn < W - x - 1)
    ui_grid_printf(g, W - rn, 0, rn, v->finished && v->exit_status ? UI_S_FAIL : UI_S_TITLE,
                   v->utf8, "%s", right);
  if (v->layout.compact || g->h < 2 || !s)
    return;
  int mr = v->layout.meter_rows, ty = 1 + mr;
  if (mr > 0)
    ui_meters_render(g, v, (ui_rect){0, 1, W, mr});
  const ft_mtotals *t = &s->totals;
  char cpu[32], mem[32];
  snprintf(cpu, sizeof cpu, "%.1f%%", t->cpu);
  ui_fmt_kb(mem, sizeof mem, t->rss_kb);
  x = ui_grid_printf(g, 0, ty, W, UI_S_NORMAL, v->utf8, " Processes: %u running, %u exited",
                     t->running, t->exited);
  if (t->failed)
    x += ui_grid_printf(g, x, ty, W - x, UI_S_FAIL, v->utf8, ", %u failed", t->failed);
  if (t->orphans)
    x += ui_grid_printf(g, x, ty, W - x, UI_S_WARN, v->utf8, ", %u orphans", t->orphans);
  if (t->zombies)
    x += ui_grid_printf(g, x, ty, W - x, UI_S_WARN, v->utf8, ", %u zombies", t->zombies);
  x += ui_grid_printf(g, x, ty, W - x, UI_S_NORMAL, v->utf8, "   Tasks: %llu/%llu done",
                      (unsigned long long)t->tasks_done, (unsigned long long)t->tasks_total);
  if (t->tasks_failed)
    x += ui_grid_printf(g, x, ty, W - x, UI_S_FAIL, v->utf8, ", %llu failed",
                        (unsigned long long)t->tasks_failed);
  if (!v->replay) /* a recording has no /proc to read */
    ui_grid_printf(g, x, ty, W - x, UI_S_NORMAL, v->utf8, "   CPU %s  Mem %s", cpu, mem);
}

/* ----------------------------------------------------------------- tree */

/* The column titles; the sort column is marked (* its natural order, ^ reversed). */
static void ui__tree_header(ui_grid *g, const ui_view *v, ui_rect r) {
  ui_style st = ui__head_style(v, UI_P_TREE);
  ui_grid_fill(g, r.x, r.y, r.w, st);
  const ui_layout *L = &v->layout;
  for (int i = 0; i < L->ncolumns; i++) {
    ui_col c = L->column[i];
    char h[32];
    snprintf(h, sizeof h, "%s%s", ui_col_name(c), c == v->sort ? (v->sort_rev ? "^" : "*") : "");
    int x = r.x + L->colx[i], w = L->colw[i] - 1;
    if (ui_col_right(c))
      ui__right(g, x, r.y, w, st, v->utf8, h);
    else
      ui_put_text(g, x, r.y, w, st, h, strlen(h), v->utf8);
  }
}

static int ui__prefix(ui_grid *g, const ui_view *v, int x, int y, int room, const ui_row *r) {
  if (!r->depth || room <= 0)
    return 0;
  const char *bar = v->ascii ? "|  " : "\xe2\x94\x82  ";
  const char *tee = v->ascii ? "|- " : "\xe2\x94\x9c\xe2\x94\x80 ";
  const char *ell = v->ascii ? "`- " : "\xe2\x94\x94\xe2\x94\x80 ";
  int levels = r->depth, max = room > 11 ? (room - 8) / 3 : 1;
  int skip = levels > max ? levels - max : 0;
  int col = 0;
  for (int a = 1 + skip; a < levels; a++) {
    bool line = a < 64 && (r->guides >> a) & 1;
    col += ui_put_text(g, x + col, y, room - col, UI_S_DIM, line ? bar : "   ",
                       strlen(line ? bar : "   "), v->utf8);
  }
  const char *end = r->last ? ell : tee;
  col += ui_put_text(g, x + col, y, room - col, UI_S_DIM, end, strlen(end), v->utf8);
  return col;
}

/* A piece of a cell (our own text): it goes on at *col; when it does not
 * all fit, the cell's last column becomes an ellipsis. */
static void ui__piece(ui_grid *g, const ui_view *v, int x, int y, int room, int *col, ui_style st,
                      const char *fmt, ...) __attribute__((format(printf, 8, 9)));
static void ui__piece(ui_grid *g, const ui_view *v, int x, int y, int room, int *col, ui_style st,
                      const char *fmt, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n < 0)
    return;
  if (*col >= room) {
    if (n > 0 && room > 0)
      ui_grid_set(g, x + room - 1, y, v->utf8 && !v->ascii ? 0x2026 : '~', UI_S_DIM);
    return;
  }
  *col += ui_put_cut(g, x + *col, y, room - *col, st, buf, strlen(buf), v->utf8, v->ascii);
}

/* PROCESS: the tree, the name, the role, tags. */
static void ui__name_cell(ui_grid *g, const ui_view *v, int x, int y, int room, const ui_row *row,
                          const ft_mproc *p, ui_style base, bool with_cmd) {
  char b[FT_MODEL_NAME_MAX + 32];
  int col = ui__prefix(g, v, x, y, room, row);
  if (p->role == FT_MROLE_WORKER)
    snprintf(b, sizeof b, "%s worker %d", p->name, p->worker);
  else
    snprintf(b, sizeof b, "%s", p->name);
  col += ui_put_cut(g, x + col, y, room - col, base, b, strlen(b), v->utf8, v->ascii);
  if (p->role == FT_MROLE_ROOT && room >= 24)
    ui__piece(g, v, x, y, room, &col, UI_S_DIM, " (supervisor)");
  else if (p->role == FT_MROLE_SUBPROCESS)
    ui__piece(g, v, x, y, room, &col, UI_S_DIM, " (subprocess)");
  if (with_cmd && p->cmd[0] && strcmp(p->cmd, p->name) != 0) {
    ui__piece(g, v, x, y, room, &col, UI_S_DIM, " $ ");
    col +=
        ui_put_cut(g, x + col, y, room - col, UI_S_DIM, p->cmd, strlen(p->cmd), v->utf8, v->ascii);
  }
  if (p->orphan || p->role == FT_MROLE_ORPHAN)
    ui__piece(g, v, x, y, room, &col, UI_S_WARN, " [orphan]");
  if (p->zombie || (p->state == 'Z' && !p->exited))
    ui__piece(g, v, x, y, room, &col, UI_S_WARN, " [zombie]");
  if (p->zombie_kids)
    ui__piece(g, v, x, y, room, &col, UI_S_WARN, " [%u unreaped]", p->zombie_kids);
  if (row->folded)
    ui__piece(g, v, x, y, room, &col, UI_S_WARN, " [+%u]", (unsigned)row->hidden);
}

/* TASK / EXIT: a worker's task and counts, an exit code or signal. */
static void ui__task_cell(ui_grid *g, const ui_view *v, int x, int y, int room, const ft_mproc *p,
                          ui_style base) {
  const char *arrow = v->ascii ? "->" : "\xe2\x86\x92";
  bool failed = ft_mproc_failed(p);
  char b[64];
  int col = 0;
  if (p->exited) {
    ui__fmt_exit(b, sizeof b, p->code, p->signal, p->core, p->requested);
    ui__piece(g, v, x, y, room, &col, failed ? UI_S_FAIL : UI_S_DIM, "%s", b);
    if (p->replaced_by)
      ui__piece(g, v, x, y, room, &col, UI_S_DIM, " %s %s %d",
                p->replace_reason == FT_REPLACE_RECYCLED ? "recycled" : "replaced", arrow,
                (int)p->replaced_by);
  } else if (p->exec_err) {
    ui__piece(g, v, x, y, room, &col, UI_S_FAIL, "exec: %s", ft_strerror(p->exec_err));
  } else if (p->launches) { /* its worker runs on that host: its tasks are shown there */
    ui__piece(g, v, x, y, room, &col, UI_S_DIM, "launcher %s ", arrow);
    if (col < room)
      ui_hosts_put(g, v, x + col, y, room - col, UI_S_DIM, p->launches);
  } else if (p->role == FT_MROLE_WORKER) {
    if (p->busy) {
      ui_fmt_dur(b, sizeof b, v->now > p->task_t ? v->now - p->task_t : 0);
      ui__piece(g, v, x, y, room, &col, base, "task %llu %s", (unsigned long long)p->task, b);
    } else {
      ui__piece(g, v, x, y, room, &col, UI_S_DIM, "idle");
    }
    ui__piece(g, v, x, y, room, &col, UI_S_DIM, " (%llu done", (unsigned long long)p->tasks_done);
    if (p->tasks_failed)
      ui__piece(g, v, x, y, room, &col, UI_S_FAIL, ", %llu failed",
                (unsigned long long)p->tasks_failed);
    ui__piece(g, v, x, y, room, &col, UI_S_DIM, ")");
  }
}

static void ui__tree_row(ui_grid *g, const ui_view *v, ui_rect r, int y, size_t i) {
  const ft_model_snap *s = v->snap;
  const ui_row *row = &v->rows[i];
  if (row->header) {
    ui_hosts_row(g, v, r.x, y, r.w, row);
    return;
  }
  const ft_mproc *p = &s->procs[row->proc];
  bool failed = ft_mproc_failed(p);
  ui_style base = failed ? UI_S_FAIL : p->exited || row->context ? UI_S_DIM : UI_S_NORMAL;
  const ui_layout *L = &v->layout;
  bool has_cmd = false;
  for (int k = 0; k < L->ncolumns; k++)
    has_cmd |= L->column[k] == UI_C_COMMAND;
  char b[FT_MODEL_ARGS_MAX + 64];
  for (int k = 0; k < L->ncolumns; k++) {
    ui_col c = L->column[k];
    int x = r.x + L->colx[k], w = L->colw[k] - 1;
    if (k == L->ncolumns - 1 && c != UI_C_PID)
      w = r.w - L->colx[k]; /* the last column may use the gap */
    if (w <= 0)
      continue;
    switch (c) {
    case UI_C_PROCESS:
      ui__name_cell(g, v, x, y, w, row, p, base, !has_cmd);
      break;
    case UI_C_TASK:
      ui__task_cell(g, v, x, y, w, p, base);
      break;
    case UI_C_COMMAND:
      ui_col_text(v, p, c, b, sizeof b);
      ui_put_cut(g, x, y, w, p->exited ? UI_S_DIM : base, b, strlen(b), v->utf8, v->ascii);
      break;
    case UI_C_HOST:
      ui_hosts_put(g, v, x, y, w, p->host ? base : UI_S_DIM, p->host);
      break;
    case UI_C_STATE: {
      char stc = p->exited ? 'X' : p->state ? p->state : '-';
      ui_put_text(g, x, y, 1, stc == 'Z' ? UI_S_WARN : base, &stc, 1, v->utf8);
      break;
    }
    default:
      ui_col_text(v, p, c, b, sizeof b);
      if (ui_col_right(c))
        ui__right(g, x, y, w, base, v->utf8, b);
      else
        ui_put_cut(g, x, y, w, base, b, strlen(b), v->utf8, v->ascii);
      break;
    }
  }
  /* a tagged process: a mark left of its PID (colour alone would not show without colours) */
  if (!p->host && ui_view_is_tagged(v, p->pid))
    ui_grid_set(g, r.x, y, '*', UI_S_WARN);
}

static void ui__tree(ui_grid *g, ui_view *v) {
  ui_rect r = v->layout.panel[UI_P_TREE], L = v->layout.list[UI_P_TREE];
  if (r.h <= 0)
    return;
  ui_cols_fit(v, r.w);
  ui__tree_header(g, v, r);
  for (int k = 0; k < L.h; k++) {
    size_t i = v->top[UI_P_TREE] + (size_t)k;
    if (i >= v->nrows)
      break;
    ui__tree_row(g, v, L, L.y + k, i);
    ui_style sel = ui__sel_style(v, UI_P_TREE, i);
    if (sel != UI_S_NORMAL)
      ui_grid_restyle(g, L.x, L.y + k, L.w, sel);
  }
  if (!v->nrows && L.h > 0)
    ui_grid_printf(g, L.x + 1, L.y, L.w - 1, UI_S_DIM, v->utf8,
                   v->filter[0] ? "no process matches the filter" : "no process yet");
}

/* --------------------------------------------------------- pools, queues */

/* A progress bar of w cells: a done, b failed, out of total. */
int ui_grid_bar(ui_grid *g, int x, int y, int w, bool ascii, uint64_t total, uint64_t a,
                uint64_t b) {
  if (w < 3)
    return 0;
  int inner = w - 2, na = 0, nb = 0;
  if (total) {
    na = (int)((double)a * inner / (double)total);
    nb = (int)((double)b * inner / (double)total);
    if (b && !nb)
      nb = 1; /* a failure is never invisible */
    if (na + nb > inner)
      na = inner - nb;
  }
  uint32_t full = ascii ? '#' : 0x2588, fail = ascii ? 'x' : 0x2588, empty = ascii ? '.' : 0x2591;
  ui_grid_set(g, x, y, ascii ? '[' : 0x2595, UI_S_DIM);
  for (int i = 0; i < inner; i++)
    ui_grid_set(g, x + 1 + i, y,
                i < na        ? full
                : i < na + nb ? fail
                              : empty,
                i < na        ? UI_S_BAR_DONE
                : i < na + nb ? UI_S_BAR_FAIL
                              : UI_S_BAR_EMPTY);
  ui_grid_set(g, x + w - 1, y, ascii ? ']' : 0x258F, UI_S_DIM);
  return w;
}

static void ui__pools(ui_grid *g, ui_view *v) {
  ui_rect r = v->layout.panel[UI_P_POOLS], L = v->layout.list[UI_P_POOLS];
  if (r.h <= 0)
    return;
  const ft_model_snap *s = v->snap;
  ui_grid_fill(g, r.x, r.y, r.w, ui__head_style(v, UI_P_POOLS));
  ui_grid_printf(g, r.x, r.y, r.w, ui__head_style(v, UI_P_POOLS), v->utf8, " Pools (%zu)",
                 s ? s->npools : 0);
  size_t n = s ? s->npools : 0;
  int namew = 4;
  for (size_t i = 0; i < n; i++)
    if ((int)strlen(s->pools[i].name) > namew)
      namew = (int)strlen(s->pools[i].name);
  if (namew > 16)
    namew = 16;
  for (int k = 0; k < L.h; k++) {
    size_t i = v->top[UI_P_POOLS] + (size_t)k;
    if (i >= n)
      break;
    const ft_mpool *p = &s->pools[i];
    int y = L.y + k, x = L.x + 1, end = L.x + L.w;
    ui_put_text(g, x, y, namew, UI_S_NORMAL, p->name, strlen(p->name), v->utf8);
    x = L.x + 2 + (namew > 12 ? namew : 12);
    int bw = L.w / 4 < 10 ? 10 : L.w / 4 > 40 ? 40 : L.w / 4;
    if (x + bw < end)
      x += ui_grid_bar(g, x, y, bw, v->ascii, p->total, p->done, p->failed) + 1;
    x += ui_grid_printf(g, x, y, end - x, UI_S_NORMAL, v->utf8, "%llu/%llu",
                        (unsigned long long)(p->done + p->failed), (unsigned long long)p->total);
    if (p->failed)
      x += ui_grid_printf(g, x, y, end - x, UI_S_FAIL, v->utf8, " %llu failed",
                          (unsigned long long)p->failed);
    x += ui_grid_printf(g, x, y, end - x, UI_S_NORMAL, v->utf8, "  %.1f/s", p->rate);
    if (p->total && p->done + p->failed >= p->total)
      x += ui_grid_printf(g, x, y, end - x, UI_S_OK, v->utf8, "  done");
    else if (p->eta_s >= 0) {
      char d[32];
      ui_fmt_dur(d, sizeof d, (uint64_t)(p->eta_s * 1e9));
      x += ui_grid_printf(g, x, y, end - x, UI_S_NORMAL, v->utf8, "  ETA %s", d);
    }
    x += ui_grid_printf(g, x, y, end - x, UI_S_DIM, v->utf8, "  %d workers", p->workers);
    if (p->replaced)
      x += ui_grid_printf(g, x, y, end - x, UI_S_WARN, v->utf8, ", %u replaced", p->replaced);
    if (p->recycled)
      x += ui_grid_printf(g, x, y, end - x, UI_S_DIM, v->utf8, ", %u recycled", p->recycled);
    if (p->ended)
      ui_grid_printf(g, x, y, end - x, UI_S_DIM, v->utf8, ", ended");
    ui_style sel = ui__sel_style(v, UI_P_POOLS, i);
    if (sel != UI_S_NORMAL)
      ui_grid_restyle(g, L.x, y, L.w, sel);
  }
}

static void ui__queues(ui_grid *g, ui_view *v) {
  ui_rect r = v->layout.panel[UI_P_QUEUES], L = v->layout.list[UI_P_QUEUES];
  if (r.h <= 0)
    return;
  const ft_model_snap *s = v->snap;
  ui_grid_fill(g, r.x, r.y, r.w, ui__head_style(v, UI_P_QUEUES));
  ui_grid_printf(g, r.x, r.y, r.w, ui__head_style(v, UI_P_QUEUES), v->utf8, " Queues (%zu)",
                 s ? s->nqueues : 0);
  size_t n = s ? s->nqueues : 0;
  static const uint32_t blocks[8] = {0x2581, 0x2582, 0x2583, 0x2584,
                                     0x2585, 0x2586, 0x2587, 0x2588};
  static const char ascii[8] = {'_', '.', ':', '-', '=', '+', '*', '#'};
  for (int k = 0; k < L.h; k++) {
    size_t i = v->top[UI_P_QUEUES] + (size_t)k;
    if (i >= n)
      break;
    const ft_mqueue *q = &s->queues[i];
    int y = L.y + k, x = L.x + 1, end = L.x + L.w;
    ui_put_text(g, x, y, 12, UI_S_NORMAL, q->name, strlen(q->name), v->utf8);
    x = L.x + 14;
    int bw = L.w / 8 < 8 ? 8 : L.w / 8 > 20 ? 20 : L.w / 8;
    if (x + bw < end)
      x += ui_grid_bar(g, x, y, bw, v->ascii, q->st.capacity, q->st.depth, 0) + 1;
    x += ui_grid_printf(g, x, y, end - x, UI_S_NORMAL, v->utf8,
                        "%llu/%llu  put %.1f/s get %.1f/s  ", (unsigned long long)q->st.depth,
                        (unsigned long long)q->st.capacity, q->put_rate, q->get_rate);
    uint64_t sp[FT_MODEL_SPARK], top = q->st.capacity;
    ft_mqueue_spark(q, s->t0, v->now > s->now ? v->now : s->now, sp);
    if (!top)
      for (int j = 0; j < FT_MODEL_SPARK; j++)
        top = sp[j] > top ? sp[j] : top;
    char bi[16], bo[16];
    ui__fmt_bytes(bi, sizeof bi, q->st.bytes_in);
    ui__fmt_bytes(bo, sizeof bo, q->st.depth_bytes);
    x += ui_grid_printf(g, x, y, end - x, UI_S_DIM, v->utf8, "%s in, %s held, hw %llu", bi, bo,
                        (unsigned long long)q->st.high_water);
    ui_style bst = q->st.producers_blocked || q->st.consumers_blocked ? UI_S_WARN : UI_S_DIM;
    x += ui_grid_printf(g, x, y, end - x, bst, v->utf8, ", blocked %u put/%u get",
                        q->st.producers_blocked, q->st.consumers_blocked);
    if (q->st.owner_deaths)
      x += ui_grid_printf(g, x, y, end - x, UI_S_FAIL, v->utf8, ", %u lock-holder deaths",
                          q->st.owner_deaths);
    if (q->st.closed)
      x += ui_grid_printf(g, x, y, end - x, UI_S_DIM, v->utf8, ", closed");
    /* the sparkline of the last minute takes what is left, up to a minute */
    int sw = end - x - 2;
    sw = sw > FT_MODEL_SPARK ? FT_MODEL_SPARK : sw < 8 ? 0 : sw;
    for (int j = 0; j < sw; j++) {
      uint64_t d = sp[FT_MODEL_SPARK - sw + j];
      int lvl = top ? (int)((double)d * 7 / (double)top + (d ? 0.999 : 0)) : 0;
      lvl = lvl > 7 ? 7 : lvl;
      ui_grid_set(g, x + 1 + j, y, v->ascii ? (uint32_t)ascii[lvl] : blocks[lvl], UI_S_BAR_DONE);
    }
    ui_style sel = ui__sel_style(v, UI_P_QUEUES, i);
    if (sel != UI_S_NORMAL)
      ui_grid_restyle(g, L.x, y, L.w, sel);
  }
}

/* ------------------------------------------------------- exits, output */

static void ui__exit_row(ui_grid *g, const ui_view *v, int x, int y, int w, const ft_mexit *e) {
  const ft_model_snap *s = v->snap;
  char t[32], what[128];
  int end = x + w;
  ui_fmt_dur(t, sizeof t, e->t_ns > s->t0 ? e->t_ns - s->t0 : 0);
  x += ui_grid_printf(g, x, y, end - x, UI_S_DIM, v->utf8, "%7s ", t);
  x += ui_grid_printf(g, x, y, end - x, UI_S_NORMAL, v->utf8, "%6d ", (int)e->pid);
  if (e->host) { /* a remote pid: said with its host, it is not ours */
    x += ui_grid_printf(g, x, y, end - x, UI_S_DIM, v->utf8, "@");
    x += ui_hosts_put(g, v, x, y, end - x > 12 ? 12 : end - x, UI_S_DIM, e->host);
    x += ui_grid_printf(g, x, y, end - x, UI_S_DIM, v->utf8, " ");
  }
  ui_style st = UI_S_FAIL;
  switch (e->kind) {
  case FT_MEXIT_EXIT:
    ui__fmt_exit(what, sizeof what, e->code, e->signal, e->core, e->requested);
    st = e->code || (e->signal && !e->requested) ? UI_S_FAIL : e->signal ? UI_S_DIM : UI_S_OK;
    break;
  case FT_MEXIT_REPLACED:
    snprintf(what, sizeof what, "%s %s %d",
             e->reason == FT_REPLACE_RECYCLED ? "recycled" : "replaced",
             v->ascii ? "->" : "\xe2\x86\x92", (int)e->new_pid);
    st = e->reason == FT_REPLACE_RECYCLED ? UI_S_DIM : UI_S_WARN;
    break;
  case FT_MEXIT_TASK_FAIL:
    if (e->status == FT_EWORKER && e->what[0]) /* untrusted: ui_put_text cleans it */
      snprintf(what, sizeof what, "task %llu: worker gone (%s)", (unsigned long long)e->task,
               e->what);
    else if (e->status == FT_EWORKER && e->signal)
      snprintf(what, sizeof what, "task %llu: worker died (%s)", (unsigned long long)e->task,
               ft_signal_name(e->signal));
    else if (e->status == FT_ETASK)
      snprintf(what, sizeof what, "task %llu failed: code %d", (unsigned long long)e->task,
               e->code);
    else
      snprintf(what, sizeof what, "task %llu: %s", (unsigned long long)e->task,
               ft_strerror(e->status));
    break;
  default:
    snprintf(what, sizeof what, "cannot %s: %s", e->what, ft_strerror(e->status));
    break;
  }
  x += ui_put_text(g, x, y, end - x, st, what, strlen(what), v->utf8);
  x += ui_grid_printf(g, x, y, end - x, UI_S_DIM, v->utf8, "  ");
  if (e->worker >= 0 && e->kind != FT_MEXIT_ERROR)
    x += ui_grid_printf(g, x, y, end - x, UI_S_DIM, v->utf8, "%.*s worker %d", FT_MODEL_NAME_MAX,
                        e->name, e->worker);
  else
    x += ui_put_text(g, x, y, end - x, UI_S_DIM, e->name, strlen(e->name), v->utf8);
  if (e->orphan)
    ui_grid_printf(g, x, y, end - x, UI_S_WARN, v->utf8, " [orphan]");
}

static void ui__exits(ui_grid *g, ui_view *v) {
  ui_rect r = v->layout.panel[UI_P_EXITS], L = v->layout.list[UI_P_EXITS];
  if (r.h <= 0)
    return;
  const ft_model_snap *s = v->snap;
  ui_style hs = ui__head_style(v, UI_P_EXITS);
  ui_grid_fill(g, r.x, r.y, r.w, hs);
  ui_grid_printf(g, r.x, r.y, r.w, hs, v->utf8, " Exits (%zu, newest first)", s ? s->nexits : 0);
  for (int k = 0; s && k < L.h; k++) {
    size_t i = v->top[UI_P_EXITS] + (size_t)k;
    const ft_mexit *e = ft_model_snap_exit(s, i);
    if (!e)
      break;
    ui__exit_row(g, v, L.x, L.y + k, L.w - 1, e);
    ui_style sel = ui__sel_style(v, UI_P_EXITS, i);
    if (sel != UI_S_NORMAL)
      ui_grid_restyle(g, L.x, L.y + k, L.w - 1, sel);
  }
}

static void ui__output(ui_grid *g, ui_view *v) {
  ui_rect r = v->layout.panel[UI_P_OUTPUT], L = v->layout.list[UI_P_OUTPUT];
  if (r.h <= 0)
    return;
  const ft_model_snap *s = v->snap;
  ui_style hs = ui__head_style(v, UI_P_OUTPUT);
  ui_grid_fill(g, r.x, r.y, r.w, hs);
  if (!v->layout.compact) /* a left border against the exit log */
    for (int k = 0; k < L.h; k++)
      ui_grid_set(g, L.x, L.y + k, v->ascii ? '|' : 0x2502, UI_S_DIM);
  if (v->show_io) { /* the same panel, showing the pipes instead */
    ui_io_render(g, v, r, L, hs);
    return;
  }
  pid_t pid = ui_view_output_pid(v);
  const ft_mlines *o = ui_view_output(v);
  uint32_t host = ui_view_output_host(v);
  bool everyone = !s || !pid || (pid == s->root_pid && !host);
  if (everyone) {
    ui_grid_printf(g, r.x, r.y, r.w, hs, v->utf8, " Output of every process");
  } else {
    int c = ui_grid_printf(g, r.x, r.y, r.w, hs, v->utf8, " Output of %d", (int)pid);
    if (host) {
      c += ui_grid_printf(g, r.x + c, r.y, r.w - c, hs, v->utf8, " on ");
      ui_hosts_put(g, v, r.x + c, r.y, r.w - c, hs, host);
    }
  }
  int x0 = v->layout.compact ? L.x : L.x + 1, w = L.x + L.w - x0;
  if (!o || !o->n) {
    if (L.h > 0)
      ui_grid_printf(g, x0 + 1, L.y, w - 1, UI_S_DIM, v->utf8,
                     o ? "no output yet" : "no output kept");
    return;
  }
  for (int k = 0; k < L.h; k++) {
    size_t i = v->top[UI_P_OUTPUT] + (size_t)k;
    const ft_mline *l = ft_mlines_get(o, i);
    if (!l)
      break;
    int y = L.y + k, x = x0;
    if (everyone)
      x += ui_grid_printf(g, x, y, w, UI_S_DIM, v->utf8, "%6d ", (int)l->pid);
    x += ui_put_text(g, x, y, x0 + w - x, l->stream == 2 ? UI_S_WARN : UI_S_NORMAL, l->text, l->len,
                     v->utf8);
    if (l->truncated)
      ui_grid_printf(g, x, y, x0 + w - x, UI_S_DIM, v->utf8, " [cut]");
    if (i == v->sel[UI_P_OUTPUT] && v->focus == UI_P_OUTPUT && !v->out_follow)
      ui_grid_restyle(g, x0, y, w, UI_S_SEL);
  }
}

/* Lay the view out and draw it. */
void ui_cells_render(ui_grid *g, ui_view *v) {
  ui_grid_resize(g, g->w, g->h);
  ui_view_layout(v, g->w, g->h);
  ui__header(g, v);
  if (v->snap) {
    ui__tree(g, v);
    ui__pools(g, v);
    ui__queues(g, v);
    ui__exits(g, v);
    ui__output(g, v);
  }
  if (v->layout.compact && g->h >= 3) {
    /* one panel at a time: say which, and that Tab moves on */
    ui_rect r = v->layout.panel[v->focus];
    if (v->focus != UI_P_TREE && r.h > 0) {
      static const char *names[UI_P_COUNT] = {"processes", "pools", "queues", "exits", "output"};
      char b[48];
      snprintf(b, sizeof b, "[%s  Tab]", names[v->focus]);
      int n = (int)strlen(b);
      if (n < r.w)
        ui_grid_printf(g, r.x + r.w - n - 1, r.y, n, UI_S_HEADER_FOCUS, v->utf8, "%s", b);
    }
  }
  ui_keys_draw(g, v);
}
