/* ui_view.c - a snapshot of the model turned into the display list of the
 * process tree: parents found by (host, pid) (a local process's unknown
 * parent is forktop; a remote one's, its host's header row: ui_hosts.c),
 * siblings sorted by the sort key (live before exited), filtered (matches
 * keep their ancestors as context), folded subtrees hidden and counted.
 * The selection follows its process, not its row number.  No curses here. */
#include "ui_view.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UI__NS 1000000000ull

typedef struct ui__frame {
  int32_t node;
  uint16_t depth;
  bool last;
  uint64_t guides;
} ui__frame;

/* Start a view. */
void ui_view_init(ui_view *v, const char *title, bool ascii, bool utf8, bool replay) {
  memset(v, 0, sizeof *v);
  snprintf(v->title, sizeof v->title, "%s", title ? title : "");
  v->ascii = ascii || !utf8;
  v->utf8 = utf8;
  v->replay = replay;
  v->dirty = true;
  v->out_follow = true;
  v->sort = UI_SORT_PID;
  v->full_cmd = true;
  v->meters_on = true;
  ui_cols_default(v);
}

/* Release what the view holds. */
void ui_view_free(ui_view *v) {
  free(v->rows);
  free(v->folded);
  free(v->tagged);
  free(v->map);
  free(v->parent);
  free(v->kids);
  free(v->kid0);
  free(v->order);
  free(v->desc);
  free(v->keep);
  free(v->stack);
  memset(v, 0, sizeof *v);
}

/* ------------------------------------------------------------- folding */

static int ui__cmp_pid(const void *a, const void *b) {
  pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
  return x < y ? -1 : x > y;
}

/* Whether pid's subtree is folded. */
bool ui_view_is_folded(const ui_view *v, pid_t pid) {
  return v->nfolded && bsearch(&pid, v->folded, v->nfolded, sizeof *v->folded, ui__cmp_pid);
}

/* Put pid in a sorted set of pids or take it out. */
static void ui__set_pid(pid_t **set, size_t *n, size_t *capp, pid_t pid, bool in) {
  pid_t *at = *n ? bsearch(&pid, *set, *n, sizeof **set, ui__cmp_pid) : NULL;
  if (!in && at) {
    size_t i = (size_t)(at - *set);
    memmove(at, at + 1, (*n - i - 1) * sizeof *at);
    (*n)--;
  } else if (in && !at) {
    if (*n == *capp) {
      size_t cap = *capp ? *capp * 2 : 16;
      pid_t *f = realloc(*set, cap * sizeof *f);
      if (!f)
        return;
      *set = f;
      *capp = cap;
    }
    size_t i = 0;
    while (i < *n && (*set)[i] < pid)
      i++;
    memmove(&(*set)[i + 1], &(*set)[i], (*n - i) * sizeof **set);
    (*set)[i] = pid;
    (*n)++;
  }
}

/* Fold or unfold pid's subtree (the set stays sorted). */
void ui_view_set_fold(ui_view *v, pid_t pid, bool fold) {
  ui__set_pid(&v->folded, &v->nfolded, &v->capfolded, pid, fold);
  v->dirty = true;
}

/* Whether pid is tagged. */
bool ui_view_is_tagged(const ui_view *v, pid_t pid) {
  return v->ntagged && bsearch(&pid, v->tagged, v->ntagged, sizeof *v->tagged, ui__cmp_pid);
}

/* Tag or untag pid. */
void ui_view_set_tag(ui_view *v, pid_t pid, bool tag) {
  ui__set_pid(&v->tagged, &v->ntagged, &v->captagged, pid, tag);
}

/* Move the selection to the next (or previous) row matching the search. */
bool ui_view_search(ui_view *v, int dir, bool from_here) {
  if (!v->search[0] || !v->nrows || !v->snap)
    return false;
  size_t n = v->nrows, at = v->sel[UI_P_TREE] < n ? v->sel[UI_P_TREE] : 0;
  for (size_t k = from_here ? 0 : 1; k <= n; k++) {
    size_t i = dir > 0 ? (at + k) % n : (at + n - k % n) % n;
    if (ui_col_match(v, &v->snap->procs[v->rows[i].proc], v->search)) {
      ui_view_select(v, UI_P_TREE, i);
      return true;
    }
  }
  return false;
}

/* Fold every process that has children (in the whole tree, not only the
 * rows shown), or unfold all.  Uses the children lists of the last build. */
void ui_view_fold_all(ui_view *v, bool fold) {
  v->nfolded = 0;
  v->dirty = true;
  if (!fold || !v->snap || !v->kid0)
    return;
  const ft_model_snap *s = v->snap;
  for (size_t i = 0; i < s->nprocs; i++)
    if (v->kid0[i + 1] > v->kid0[i] && !s->procs[i].host)
      ui_view_set_fold(v, s->procs[i].pid, true);
}

/* Set the filter text. */
void ui_view_set_filter(ui_view *v, const char *text) {
  snprintf(v->filter, sizeof v->filter, "%s", text ? text : "");
  v->dirty = true;
}

/* Show a message in the bottom bar for a few seconds. */
void ui_view_say(ui_view *v, const char *msg) {
  snprintf(v->status, sizeof v->status, "%s", msg);
  v->status_until = v->now + 3 * UI__NS;
}

/* ------------------------------------------------------------ building */

/* realloc *p to n elements of size bytes; false (and *p untouched) on failure. */
static bool ui__grow(void **p, size_t n, size_t size) {
  void *q = realloc(*p, n * size);
  if (!q)
    return false;
  *p = q;
  return true;
}

static int ui__reserve(ui_view *v, size_t n) {
  size_t mapcap = 64;
  while (mapcap < 2 * (n + 1))
    mapcap *= 2;
  if (mapcap > v->mapcap) {
    int32_t *m = malloc(mapcap * sizeof *m);
    if (!m)
      return -ENOMEM;
    free(v->map);
    v->map = m;
    v->mapcap = mapcap;
  }
  if (n + 2 <= v->scratch_cap && n <= v->caprows)
    return 0;
  size_t cap = n + 2 > 2 * v->scratch_cap ? n + 2 : 2 * v->scratch_cap;
  /* each array grows on its own: one that fails keeps its old block */
  bool ok = ui__grow((void **)&v->parent, cap, sizeof *v->parent);
  ok &= ui__grow((void **)&v->kids, cap, sizeof *v->kids);
  ok &= ui__grow((void **)&v->kid0, cap + 1, sizeof *v->kid0);
  ok &= ui__grow((void **)&v->order, cap, sizeof *v->order);
  ok &= ui__grow((void **)&v->desc, cap, sizeof *v->desc);
  ok &= ui__grow((void **)&v->keep, cap, sizeof *v->keep);
  ok &= ui__grow((void **)&v->stack, cap, sizeof(ui__frame));
  if (ui__grow((void **)&v->rows, cap, sizeof *v->rows))
    v->caprows = cap;
  else
    ok = false;
  if (!ok)
    return -ENOMEM;
  v->scratch_cap = cap;
  return 0;
}

/* Processes are (host, pid): a remote pid may equal a local one. */
static size_t ui__hash(uint32_t host, pid_t pid) {
  return (size_t)((((uint32_t)pid ^ (host * 0x9E3779B9u)) * 2654435761u) >> 7);
}

static void ui__map_build(ui_view *v, const ft_model_snap *s) {
  memset(v->map, 0xff, v->mapcap * sizeof *v->map);
  for (size_t i = 0; i < s->nprocs; i++) {
    size_t h = ui__hash(s->procs[i].host, s->procs[i].pid) & (v->mapcap - 1);
    while (v->map[h] >= 0)
      h = (h + 1) & (v->mapcap - 1);
    v->map[h] = (int32_t)i;
  }
}

static int32_t ui__find(const ui_view *v, const ft_model_snap *s, uint32_t host, pid_t pid) {
  for (size_t h = ui__hash(host, pid) & (v->mapcap - 1); v->map[h] >= 0;
       h = (h + 1) & (v->mapcap - 1))
    if (s->procs[v->map[h]].pid == pid && s->procs[v->map[h]].host == host)
      return v->map[h];
  return -1;
}

typedef struct ui__sortctx {
  const ui_view *v;
  const ft_model_snap *s;
  ui_sort key;
  bool rev;
} ui__sortctx;

/* Siblings: forktop first, live before exited (newest exit first), then by key, then pid. */
static int ui__cmp_proc(const void *a, const void *b, void *ud) {
  const ui__sortctx *c = ud;
  const ft_mproc *x = &c->s->procs[*(const int32_t *)a], *y = &c->s->procs[*(const int32_t *)b];
  if ((x->role == FT_MROLE_ROOT) != (y->role == FT_MROLE_ROOT))
    return x->role == FT_MROLE_ROOT ? -1 : 1;
  if (x->exited != y->exited)
    return x->exited ? 1 : -1;
  if (x->exited && x->t_exit != y->t_exit)
    return x->t_exit > y->t_exit ? -1 : 1;
  int r = ui_col_cmp(c->v, c->key, x, y);
  if (c->rev)
    r = -r;
  if (!r)
    r = x->pid < y->pid ? -1 : x->pid > y->pid;
  return r;
}

/* Children lists (CSR: kids[kid0[i] .. kid0[i+1]) ), sorted; node n is a
 * virtual top whose children are the processes without a known parent. */
static void ui__children(ui_view *v, const ft_model_snap *s) {
  size_t n = s->nprocs;
  int32_t root = s->root_pid ? ui__find(v, s, 0, s->root_pid) : -1;
  memset(v->kid0, 0, (n + 2) * sizeof *v->kid0);
  for (size_t i = 0; i < n; i++) {
    int32_t p = -1;
    if ((int32_t)i != root) {
      /* a parent on the same host; a remote process without one is a top
       * of its host's group, never a child of forktop */
      p = ui__find(v, s, s->procs[i].host, s->procs[i].ppid);
      if (p == (int32_t)i || p < 0)
        p = s->procs[i].host ? -1 : root;
    }
    v->parent[i] = p < 0 ? (int32_t)n : p;
    v->kid0[v->parent[i] + 1]++;
  }
  for (size_t i = 0; i <= n; i++)
    v->kid0[i + 1] += v->kid0[i];
  for (size_t i = 0; i <= n; i++)
    v->desc[i] = (uint32_t)v->kid0[i]; /* fill cursors, reused below */
  for (size_t i = 0; i < n; i++)
    v->kids[v->desc[v->parent[i]]++] = (int32_t)i;
  ui__sortctx ctx = {v, s, v->sort, v->sort_rev};
  for (size_t i = 0; i <= n; i++)
    if (v->kid0[i + 1] - v->kid0[i] > 1)
      qsort_r(&v->kids[v->kid0[i]], (size_t)(v->kid0[i + 1] - v->kid0[i]), sizeof *v->kids,
              ui__cmp_proc, &ctx);
}

/* Preorder of every process from the virtual top; processes caught in a
 * parent cycle (bad data) start trees of their own.  Then the size of
 * every subtree, and the filter's matches with their ancestors. */
static size_t ui__preorder(ui_view *v, const ft_model_snap *s) {
  size_t n = s->nprocs, k = 0;
  uint8_t *seen = v->keep;
  memset(seen, 0, n + 1);
  ui__frame *st = v->stack;
  for (size_t t = 0; t <= n; t++) {
    size_t top = t == 0 ? n : t - 1; /* the virtual top first, then any left over */
    if (seen[top])
      continue;
    if (top != n)
      v->parent[top] = (int32_t)n; /* caught in a cycle: broken here */
    size_t sp = 0;
    st[sp++].node = (int32_t)top;
    seen[top] = 1;
    while (sp) {
      int32_t x = st[--sp].node;
      if (x != (int32_t)n)
        v->order[k++] = x;
      for (int32_t c = v->kid0[x + 1]; c-- > v->kid0[x];)
        if (!seen[v->kids[c]]) {
          seen[v->kids[c]] = 1;
          st[sp++].node = v->kids[c];
        }
    }
  }
  memset(v->desc, 0, (n + 1) * sizeof *v->desc);
  for (size_t i = k; i-- > 0;) {
    int32_t x = v->order[i];
    v->desc[v->parent[x]] += v->desc[x] + 1;
  }
  memset(v->keep, 0, n + 1);
  if (v->filter[0]) {
    for (size_t i = 0; i < n; i++)
      v->keep[i] =
          ui_col_match(v, &s->procs[i], v->filter) || ui_hosts_match(s, &s->procs[i], v->filter)
              ? 1
              : 0;
    for (size_t i = k; i-- > 0;) {
      int32_t x = v->order[i];
      if (v->keep[x] && v->parent[x] != (int32_t)n && !v->keep[v->parent[x]])
        v->keep[v->parent[x]] = 2;
    }
  } else {
    memset(v->keep, 1, n + 1);
  }
  return k;
}

static int ui__cmp_row(const void *a, const void *b, void *ud) {
  return ui__cmp_proc(&((const ui_row *)a)->proc, &((const ui_row *)b)->proc, ud);
}

/* Flat (F5): every process that matches, sorted as one list. */
static void ui__flat(ui_view *v, const ft_model_snap *s) {
  v->nrows = 0;
  for (size_t i = 0; i < s->nprocs && v->nrows < v->caprows; i++)
    if (v->keep[i] == 1) {
      ui_row *r = &v->rows[v->nrows++];
      memset(r, 0, sizeof *r);
      r->proc = (uint32_t)i;
      r->last = true;
    }
  ui__sortctx ctx = {v, s, v->sort, v->sort_rev};
  qsort_r(v->rows, v->nrows, sizeof *v->rows, ui__cmp_row, &ctx);
}

/* The visible rows: a depth-first walk that skips what is filtered out
 * and does not enter folded subtrees. */
static void ui__walk(ui_view *v, const ft_model_snap *s) {
  if (v->flat) {
    ui__flat(v, s);
    return;
  }
  size_t n = s->nprocs, sp = 0;
  ui__frame *st = v->stack;
  v->nrows = 0;
  /* the tops, in order, pushed last first */
  int32_t last_top = -1;
  for (int32_t c = v->kid0[n + 1]; c-- > v->kid0[n];)
    if (v->keep[v->kids[c]]) {
      st[sp++] = (ui__frame){v->kids[c], 0, last_top < 0, 0};
      last_top = v->kids[c];
    }
  /* tops that came from broken cycles are children of the virtual top too,
   * but are not in its list: add them */
  for (size_t i = 0; i < n; i++)
    if (v->parent[i] == (int32_t)n && v->keep[i]) {
      bool listed = false;
      for (int32_t c = v->kid0[n]; c < v->kid0[n + 1] && !listed; c++)
        listed = v->kids[c] == (int32_t)i;
      if (!listed)
        st[sp++] = (ui__frame){(int32_t)i, 0, true, 0};
    }
  while (sp && v->nrows < v->caprows) {
    ui__frame f = st[--sp];
    const ft_mproc *p = &s->procs[f.node];
    ui_row *r = &v->rows[v->nrows++];
    memset(r, 0, sizeof *r);
    r->proc = (uint32_t)f.node;
    r->host = p->host;
    r->depth = f.depth;
    r->guides = f.guides;
    r->last = f.last;
    r->context = v->keep[f.node] == 2;
    bool any = false;
    for (int32_t c = v->kid0[f.node]; c < v->kid0[f.node + 1] && !any; c++)
      any = v->keep[v->kids[c]] && v->parent[v->kids[c]] == f.node;
    r->has_children = any;
    r->folded = any && !p->host && ui_view_is_folded(v, p->pid);
    if (r->folded)
      r->hidden = v->desc[f.node];
    if (!any || r->folded)
      continue;
    uint64_t g = f.guides;
    if (f.depth >= 1 && f.depth < 64 && !f.last)
      g |= 1ull << f.depth;
    uint16_t d = f.depth < 0xfffe ? (uint16_t)(f.depth + 1) : f.depth;
    bool first = true;
    for (int32_t c = v->kid0[f.node + 1]; c-- > v->kid0[f.node];) {
      int32_t x = v->kids[c];
      if (!v->keep[x] || v->parent[x] != f.node)
        continue;
      st[sp++] = (ui__frame){x, d, first, g};
      first = false;
    }
  }
}

static void ui__clamp(ui_view *v) {
  for (int p = 0; p < UI_P_COUNT; p++) {
    size_t n = ui_view_count(v, (ui_panel)p);
    if (v->sel[p] >= n)
      v->sel[p] = n ? n - 1 : 0;
  }
}

/* Turn a snapshot into the display list. */
int ui_view_build(ui_view *v, const ft_model_snap *s) {
  if (s == v->snap && s->gen == v->built_gen && !v->dirty)
    return 0;
  if (ui__reserve(v, s->nprocs + s->nhosts) < 0)
    return -ENOMEM;
  v->snap = s;
  v->built_gen = s->gen;
  v->dirty = false;
  ui__map_build(v, s);
  ui__children(v, s);
  ui__preorder(v, s);
  ui__walk(v, s);
  if (s->nhosts && ui_hosts_group(v, s) < 0)
    return -ENOMEM;
  /* the selection follows its process (or its host's header row) */
  bool found = false;
  for (size_t i = 0; i < v->nrows && (v->sel_pid || v->sel_host); i++) {
    const ui_row *r = &v->rows[i];
    if (r->host == v->sel_host &&
        (r->header ? !v->sel_pid : !r->header && s->procs[r->proc].pid == v->sel_pid)) {
      v->sel[UI_P_TREE] = i;
      found = true;
      break;
    }
  }
  ui__clamp(v);
  if (!found && v->nrows)
    ui_view_select(v, UI_P_TREE, v->sel[UI_P_TREE]);
  /* folds of processes that are gone are forgotten */
  size_t k = 0;
  for (size_t i = 0; i < v->nfolded; i++)
    if (ui__find(v, s, 0, v->folded[i]) >= 0)
      v->folded[k++] = v->folded[i];
  v->nfolded = k;
  /* and tags of processes that are gone or exited (a signal must never
   * reach whoever gets the pid next) */
  k = 0;
  for (size_t i = 0; i < v->ntagged; i++) {
    int32_t at = ui__find(v, s, 0, v->tagged[i]); /* tags are local */
    if (at >= 0 && !s->procs[at].exited)
      v->tagged[k++] = v->tagged[i];
  }
  v->ntagged = k;
  return 0;
}

/* ------------------------------------------------------------- reading */

/* Number of rows of a panel's list. */
size_t ui_view_count(const ui_view *v, ui_panel p) {
  const ft_model_snap *s = v->snap;
  if (!s)
    return 0;
  switch (p) {
  case UI_P_TREE:
    return v->nrows;
  case UI_P_POOLS:
    return s->npools;
  case UI_P_QUEUES:
    return s->nqueues;
  case UI_P_EXITS:
    return s->nexits;
  case UI_P_OUTPUT: {
    const ft_mlines *o = ui_view_output(v);
    return o ? o->n : 0;
  }
  default:
    return 0;
  }
}

/* The selected process. */
const ft_mproc *ui_view_selected(const ui_view *v) {
  if (!v->snap || !v->nrows || v->sel[UI_P_TREE] >= v->nrows || v->rows[v->sel[UI_P_TREE]].header)
    return NULL;
  return &v->snap->procs[v->rows[v->sel[UI_P_TREE]].proc];
}

/* Whose output the output panel shows. */
pid_t ui_view_output_pid(const ui_view *v) {
  if (v->focus == UI_P_EXITS && v->snap) {
    const ft_mexit *e = ft_model_snap_exit(v->snap, v->sel[UI_P_EXITS]);
    if (e && e->pid > 0)
      return e->pid;
  }
  return v->sel_pid;
}

/* The host of that process (0: this one). */
uint32_t ui_view_output_host(const ui_view *v) {
  if (v->focus == UI_P_EXITS && v->snap) {
    const ft_mexit *e = ft_model_snap_exit(v->snap, v->sel[UI_P_EXITS]);
    if (e && e->pid > 0)
      return e->host;
  }
  return v->sel_host;
}

/* The lines the output panel shows: the root's are everyone's. */
const ft_mlines *ui_view_output(const ui_view *v) {
  const ft_model_snap *s = v->snap;
  if (!s)
    return NULL;
  pid_t pid = ui_view_output_pid(v);
  if (!pid || (pid == s->root_pid && !ui_view_output_host(v)))
    return s->all_output;
  uint32_t host = ui_view_output_host(v);
  for (size_t i = 0; i < v->nrows; i++)
    if (!v->rows[i].header && s->procs[v->rows[i].proc].pid == pid && v->rows[i].host == host)
      return &s->procs[v->rows[i].proc].out;
  ssize_t i = ft_model_snap_find_on(s, host, pid);
  return i < 0 ? NULL : &s->procs[i].out;
}

/* Select row i of a panel. */
void ui_view_select(ui_view *v, ui_panel p, size_t i) {
  size_t n = ui_view_count(v, p);
  if (!n)
    return;
  v->sel[p] = i < n ? i : n - 1;
  if (p == UI_P_TREE) {
    const ui_row *r = &v->rows[v->sel[p]];
    v->sel_pid = r->header ? 0 : v->snap->procs[r->proc].pid;
    v->sel_host = r->host;
  }
  if (p == UI_P_OUTPUT)
    v->out_follow = v->sel[p] == n - 1;
}

/* Move a panel's selection by delta. */
void ui_view_move(ui_view *v, ui_panel p, long delta) {
  size_t n = ui_view_count(v, p);
  if (!n)
    return;
  long i = (long)v->sel[p] + delta;
  if (p == UI_P_OUTPUT && v->out_follow)
    i = (long)n - 1 + delta;
  ui_view_select(v, p, i < 0 ? 0 : (size_t)i);
}

/* --------------------------------------------------------------- layout */

static bool ui__panel_wanted(const ui_view *v, ui_panel p) {
  const ft_model_snap *s = v->snap;
  if (p == UI_P_POOLS)
    return s && s->npools;
  if (p == UI_P_QUEUES)
    return s && s->nqueues;
  return true;
}

/* The panels share the rows under the header; each shrinks to its least
 * (a title and a row) before any is hidden.  Only when even that does not
 * fit, or the screen is very narrow, one panel is shown at a time (Tab
 * moves on).  The meters go first: they give their rows to the panels. */
static void ui__layout(ui_view *v, int W, int H) {
  ui_layout *L = &v->layout;
  memset(L, 0, sizeof *L);
  L->w = W;
  L->h = H;
  int np = (int)(v->snap ? v->snap->npools : 0), nq = (int)(v->snap ? v->snap->nqueues : 0);
  int least = 3 + (np ? 2 : 0) + (nq ? 2 : 0) + 2; /* tree, pools, queues, exits */
  L->compact = W < 50 || H - 3 < least;
  if (L->compact) {
    int y0 = H >= 3 ? 1 : 0, y1 = H >= 2 ? H - 1 : H;
    L->panel[v->focus] = (ui_rect){0, y0, W, y1 - y0};
  } else {
    if (!ui__panel_wanted(v, v->focus))
      v->focus = UI_P_TREE;
    int mr = ui_meters_rows(v, W);
    /* the meters only where the panels keep rows to spare: a tree of 8 */
    while (mr > 0 && H - 3 - mr < least + 6)
      mr = mr > 2 ? 1 + 1 : 0; /* CPUs as one average bar, then none */
    L->meter_rows = mr;
    int y = 2 + mr, A = H - 1 - y;
    int hp = np ? 1 + (np < 5 ? np : 5) : 0, hq = nq ? 1 + (nq < 5 ? nq : 5) : 0;
    int hb = A * 3 / 10 > 6 ? A * 3 / 10 : 6;
    while (A - hp - hq - hb < 6) {
      if (hp > 2)
        hp--;
      else if (hq > 2)
        hq--;
      else if (hb > 4)
        hb--;
      else if (A - hp - hq - hb < 3 && hb > 2)
        hb--;
      else
        break;
    }
    int ht = A - hp - hq - hb;
    L->panel[UI_P_TREE] = (ui_rect){0, y, W, ht};
    y += ht;
    L->panel[UI_P_POOLS] = (ui_rect){0, y, W, hp};
    y += hp;
    L->panel[UI_P_QUEUES] = (ui_rect){0, y, W, hq};
    y += hq;
    L->panel[UI_P_EXITS] = (ui_rect){0, y, W / 2, hb};
    L->panel[UI_P_OUTPUT] = (ui_rect){W / 2, y, W - W / 2, hb};
  }
  for (int p = 0; p < UI_P_COUNT; p++) {
    ui_rect r = L->panel[p];
    L->list[p] = r.h >= 2 ? (ui_rect){r.x, r.y + 1, r.w, r.h - 1} : (ui_rect){r.x, r.y, r.w, 0};
  }
  ui_cols_fit(v, W);
}

/* Keep the selection inside the visible part of a list. */
static void ui__scroll(ui_view *v, ui_panel p) {
  size_t n = ui_view_count(v, p), h = (size_t)v->layout.list[p].h;
  if (p == UI_P_OUTPUT && v->out_follow && n)
    v->sel[p] = n - 1;
  if (!h) {
    v->top[p] = 0;
    return;
  }
  if (v->sel[p] < v->top[p])
    v->top[p] = v->sel[p];
  if (v->sel[p] >= v->top[p] + h)
    v->top[p] = v->sel[p] - h + 1;
  if (v->top[p] + h > n)
    v->top[p] = n > h ? n - h : 0;
}

/* Lay the panels out on a w x h screen and scroll every list so that its
 * selection shows. */
void ui_view_layout(ui_view *v, int w, int h) {
  ui__layout(v, w, h);
  for (int p = 0; p < UI_P_COUNT; p++)
    ui__scroll(v, (ui_panel)p);
}
