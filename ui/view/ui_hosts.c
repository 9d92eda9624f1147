/* ui_hosts.c - the process tree grouped by host (issue 16).  The walk
 * (ui_view.c) leaves each remote process's subtree in one piece: a
 * process's parent is looked for on its own host, and a remote process
 * without one is a top.  Here the rows are regrouped, stably: this
 * machine's first, then for each host, in the order they joined, a header
 * row (name, state, workers alive, CPU and RSS summed, last heard) and its
 * processes one level below it.  No curses here. */
#include "ui_view.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UI__NS 1000000000ull

/* The name of host id. */
const char *ui_hosts_name(const ft_model_snap *s, uint32_t id) {
  const ft_mhost *h = id ? ft_model_snap_host(s, id) : NULL;
  return !id ? "local" : h ? h->name : "?";
}

/* Write host id's name at x, y in maxw cells, made inert (a launcher's
 * name for it is untrusted text); the columns used. */
int ui_hosts_put(ui_grid *g, const ui_view *v, int x, int y, int maxw, ui_style st, uint32_t id) {
  const char *hn = v->snap ? ui_hosts_name(v->snap, id) : "?";
  return ui_put_text(g, x, y, maxw, st, hn, strlen(hn), v->utf8);
}

/* Whether p's host matches the filter (by name or address). */
bool ui_hosts_match(const ft_model_snap *s, const ft_mproc *p, const char *f) {
  const ft_mhost *h = p->host ? ft_model_snap_host(s, p->host) : NULL;
  return h && (strcasestr(h->name, f) || strcasestr(h->address, f));
}

/* Move host's rows from `from` (n rows) to the end of v->rows, one level
 * deeper, under a header row; the header only when something of the host
 * is shown or nothing is filtered. */
static void ui__group_one(ui_view *v, const ui_row *from, size_t n, uint32_t host, bool header) {
  size_t count = 0, last_top = SIZE_MAX;
  for (size_t i = 0; i < n; i++)
    if (from[i].host == host) {
      count++;
      if (from[i].depth == 0)
        last_top = i;
    }
  if (header && (count || !v->filter[0]) && v->nrows < v->caprows) {
    ui_row *h = &v->rows[v->nrows++];
    memset(h, 0, sizeof *h);
    h->header = true;
    h->host = host;
    h->has_children = count > 0;
    h->last = true;
  }
  bool top_last = false;
  for (size_t i = 0; i < n && v->nrows < v->caprows; i++) {
    if (from[i].host != host)
      continue;
    ui_row r = from[i];
    if (r.depth == 0)
      top_last = i == last_top;
    if (header) {
      r.guides = (r.guides << 1) | (top_last ? 0 : 2u); /* the line down from the header */
      if (r.depth == 0)
        r.last = top_last;
      r.depth = r.depth < 0xfffe ? (uint16_t)(r.depth + 1) : r.depth;
    }
    v->rows[v->nrows++] = r;
  }
}

/* Regroup the rows by host. */
int ui_hosts_group(ui_view *v, const ft_model_snap *s) {
  size_t n = v->nrows;
  ui_row *copy = malloc((n ? n : 1) * sizeof *copy);
  if (!copy)
    return -ENOMEM;
  memcpy(copy, v->rows, n * sizeof *copy);
  v->nrows = 0;
  ui__group_one(v, copy, n, 0, false);
  for (size_t k = 0; k < s->nhosts; k++)
    ui__group_one(v, copy, n, s->hosts[k].id, true);
  /* rows of a host the model has no record of (it always has): last, as they were */
  for (size_t i = 0; i < n && v->nrows < v->caprows; i++)
    if (copy[i].host && !ft_model_snap_host(s, copy[i].host))
      v->rows[v->nrows++] = copy[i];
  free(copy);
  return 0;
}

static void ui__kb(char *b, size_t cap, uint64_t kb) {
  if (kb >= 10 * 1024 * 1024)
    snprintf(b, cap, "%.1fG", (double)kb / (1024.0 * 1024.0));
  else if (kb >= 10 * 1024)
    snprintf(b, cap, "%.1fM", (double)kb / 1024.0);
  else
    snprintf(b, cap, "%lluK", (unsigned long long)kb);
}

/* A host's header row: its name and how it is reached, its state, its
 * workers alive, CPU and RSS summed over its live processes, when it was
 * last heard from.  Names and causes come from launchers: drawn through
 * ui_put_text, made inert. */
void ui_hosts_row(ui_grid *g, const ui_view *v, int x, int y, int w, const ui_row *r) {
  const ft_mhost *h = v->snap ? ft_model_snap_host(v->snap, r->host) : NULL;
  if (!h || w <= 0)
    return;
  ui_style st = h->lost ? UI_S_FAIL : UI_S_HEADER;
  ui_grid_fill(g, x, y, w, UI_S_NORMAL);
  int col = ui_grid_printf(g, x, y, w, st, v->utf8, "%s ", v->ascii ? "=" : "\xe2\x96\xa0");
  col += ui_grid_printf(g, x + col, y, w - col, st, v->utf8, "host %s", h->name);
  if (h->launcher[0] || h->job[0] || (h->address[0] && strcmp(h->address, h->name) != 0)) {
    col += ui_grid_printf(g, x + col, y, w - col, UI_S_DIM, v->utf8, " (%s", h->launcher);
    if (h->job[0])
      col += ui_grid_printf(g, x + col, y, w - col, UI_S_DIM, v->utf8, " job %s", h->job);
    if (h->address[0] && strcmp(h->address, h->name) != 0)
      col += ui_grid_printf(g, x + col, y, w - col, UI_S_DIM, v->utf8, ", %s", h->address);
    col += ui_grid_printf(g, x + col, y, w - col, UI_S_DIM, v->utf8, ")");
  }
  if (h->lost) {
    col += ui_grid_printf(g, x + col, y, w - col, UI_S_FAIL, v->utf8, "  LOST%s%s",
                          h->cause[0] ? ": " : "", h->cause);
  } else {
    col += ui_grid_printf(g, x + col, y, w - col, UI_S_OK, v->utf8, "  up");
  }
  char rss[16];
  ui__kb(rss, sizeof rss, h->rss_kb);
  col += ui_grid_printf(g, x + col, y, w - col, UI_S_NORMAL, v->utf8,
                        "  %u worker%s alive  CPU %.1f%%  RSS %s", h->workers,
                        h->workers == 1 ? "" : "s", h->cpu, rss);
  uint64_t ago = v->now > h->last_heard ? v->now - h->last_heard : 0;
  if (h->last_heard)
    ui_grid_printf(g, x + col, y, w - col, UI_S_DIM, v->utf8, "  heard %.1f s ago",
                   (double)ago / (double)UI__NS);
}
