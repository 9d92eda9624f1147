/* ui_cols.c - the columns of the process list: their names, the text each
 * shows for a process, how each sorts, which fit on a line of a given
 * width, and matching a filter or search against what is shown.
 *
 * The text is the one the screen shows (the cells draw the same strings,
 * with styles), so that `worker 3` finds the row that reads "main worker
 * 3".  No curses here. */
#include "ui_view.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define UI__NS 1000000000ull

typedef struct ui__coldef {
  const char *name;  /* the header */
  const char *title; /* the setup screen's words */
  int width;         /* with the gap after it; 0: flexible */
  int min;           /* flexible: the least it is shown in */
  int drop;          /* dropped first when the line is too narrow: the highest */
  bool right;        /* right-aligned */
  bool live;         /* its text changes by itself (not matched by a filter) */
} ui__coldef;

static const ui__coldef ui__cols[UI_C_COUNT] = {
    [UI_C_PID] = {"PID", "process id", 8, 0, 0, true, false},
    [UI_C_PPID] = {"PPID", "parent's process id", 8, 0, 9, true, false},
    [UI_C_USER] = {"USER", "user (effective)", 9, 0, 8, false, false},
    [UI_C_NICE] = {"NI", "nice value", 4, 0, 10, true, false},
    [UI_C_STATE] = {"S", "state (R, S, D, Z, T; X exited)", 2, 0, 1, false, false},
    [UI_C_CPU] = {"CPU%", "CPU use, % of one CPU", 6, 0, 3, true, true},
    [UI_C_RSS] = {"RSS", "resident memory", 7, 0, 4, true, true},
    [UI_C_THREADS] = {"THR", "threads", 5, 0, 11, true, true},
    [UI_C_TIME] = {"TIME+", "CPU time used", 10, 0, 7, true, true},
    [UI_C_IOR] = {"IO_R", "disk read rate", 8, 0, 12, true, true},
    [UI_C_IOW] = {"IO_W", "disk write rate", 8, 0, 12, true, true},
    [UI_C_AGE] = {"AGE", "time since it started", 7, 0, 6, true, true},
    [UI_C_PROCESS] = {"PROCESS", "the tree, name and role", 0, 18, 0, false, false},
    [UI_C_COMMAND] = {"COMMAND", "command line (p: with or without path)", 0, 12, 5, false, false},
    [UI_C_TASK] = {"TASK / EXIT", "a worker's task, an exit code", 0, 18, 2, false, false},
    [UI_C_HOST] = {"HOST", "host (shown once a remote host exists)", 11, 0, 2, false, false},
};

/* A column's header. */
const char *ui_col_name(ui_col c) { return c < UI_C_COUNT ? ui__cols[c].name : "?"; }

/* A column's longer name. */
const char *ui_col_title(ui_col c) { return c < UI_C_COUNT ? ui__cols[c].title : "?"; }

/* The name of a sort key. */
const char *ui_sort_name(ui_sort s) { return ui_col_name(s); }

/* The column named name, or -1. */
int ui_col_by_name(const char *name) {
  for (int c = 0; c < UI_C_COUNT; c++)
    if (strcasecmp(ui__cols[c].name, name) == 0)
      return c;
  if (strcasecmp(name, "TASK") == 0)
    return UI_C_TASK;
  return -1;
}

/* The default columns: what forktop always showed, and the command line last. */
void ui_cols_default(ui_view *v) {
  static const ui_col def[] = {UI_C_PID, UI_C_PPID,    UI_C_STATE, UI_C_CPU,    UI_C_RSS,
                               UI_C_AGE, UI_C_PROCESS, UI_C_TASK,  UI_C_COMMAND};
  v->ncols = (int)(sizeof def / sizeof def[0]);
  memcpy(v->cols, def, sizeof def);
}

static uint64_t ui__age(const ui_view *v, const ft_mproc *p) {
  uint64_t end = p->exited ? p->t_exit : v->now;
  return end > p->t_start ? end - p->t_start : 0;
}

#define UI__CMP(a, b) ((a) < (b) ? -1 : (a) > (b))

/* Compare by a column, in its natural order. */
int ui_col_cmp(const ui_view *v, ui_col c, const ft_mproc *x, const ft_mproc *y) {
  switch (c) {
  case UI_C_PID:
    return UI__CMP(x->pid, y->pid);
  case UI_C_PPID:
    return UI__CMP(x->ppid, y->ppid);
  case UI_C_USER:
    return strcmp(x->user, y->user);
  case UI_C_NICE:
    return UI__CMP(x->nice, y->nice);
  case UI_C_STATE:
    return UI__CMP(x->state, y->state);
  case UI_C_CPU:
    return -UI__CMP(x->cpu, y->cpu);
  case UI_C_RSS:
    return -UI__CMP(x->rss_kb, y->rss_kb);
  case UI_C_THREADS:
    return -UI__CMP(x->threads, y->threads);
  case UI_C_TIME:
    return -UI__CMP(x->scan_ticks, y->scan_ticks);
  case UI_C_IOR:
    return -UI__CMP(x->io_rrate, y->io_rrate);
  case UI_C_IOW:
    return -UI__CMP(x->io_wrate, y->io_wrate);
  case UI_C_AGE:
    return -UI__CMP(ui__age(v, x), ui__age(v, y));
  case UI_C_PROCESS: {
    int r = strcmp(x->name, y->name);
    return r ? r : UI__CMP(x->worker, y->worker);
  }
  case UI_C_COMMAND: {
    const char *a = x->args[0] ? x->args : x->cmd[0] ? x->cmd : x->name;
    const char *b = y->args[0] ? y->args : y->cmd[0] ? y->cmd : y->name;
    return strcmp(a, b);
  }
  case UI_C_HOST:
    return UI__CMP(x->host, y->host);
  case UI_C_TASK:
    if (x->exited != y->exited)
      return x->exited ? 1 : -1;
    if (x->exited)
      return UI__CMP(x->signal * 1000 + x->code, y->signal * 1000 + y->code);
    return UI__CMP(x->task, y->task);
  default:
    return 0;
  }
}

/* Memory given in KiB as the screen shows it: 512K, 1.5M, 2.25G. */
void ui_fmt_kb(char *b, size_t cap, uint64_t kb) {
  if (kb < 1024)
    snprintf(b, cap, "%lluK", (unsigned long long)kb);
  else if (kb < 1024 * 1024)
    snprintf(b, cap, "%.1fM", (double)kb / 1024);
  else
    snprintf(b, cap, "%.2fG", (double)kb / (1024 * 1024));
}

static void ui__fmt_rate(char *b, size_t cap, double bps) {
  if (bps < 1024)
    snprintf(b, cap, "%.0fB/s", bps);
  else if (bps < 1024 * 1024)
    snprintf(b, cap, "%.0fK/s", bps / 1024);
  else
    snprintf(b, cap, "%.1fM/s", bps / (1024 * 1024));
}

/* A span of time as the screen shows it: 4.2s, 3:07, 2h05, 1d03h. */
void ui_fmt_dur(char *b, size_t cap, uint64_t ns) {
  uint64_t s = ns / UI__NS;
  if (s < 60)
    snprintf(b, cap, "%.1fs", (double)ns / 1e9);
  else if (s < 3600)
    snprintf(b, cap, "%llu:%02llu", (unsigned long long)(s / 60), (unsigned long long)(s % 60));
  else if (s < 86400)
    snprintf(b, cap, "%lluh%02llu", (unsigned long long)(s / 3600),
             (unsigned long long)(s / 60 % 60));
  else
    snprintf(b, cap, "%llud%02lluh", (unsigned long long)(s / 86400),
             (unsigned long long)(s / 3600 % 24));
}

/* htop's TIME+: minutes:seconds.hundredths, hours past an hour. */
static void ui__fmt_time(char *b, size_t cap, uint64_t ticks) {
  static long hz;
  if (!hz)
    hz = sysconf(_SC_CLK_TCK) > 0 ? sysconf(_SC_CLK_TCK) : 100;
  uint64_t cs = ticks * 100 / (uint64_t)hz, s = cs / 100;
  if (s < 3600)
    snprintf(b, cap, "%llu:%02llu.%02llu", (unsigned long long)(s / 60),
             (unsigned long long)(s % 60), (unsigned long long)(cs % 100));
  else
    snprintf(b, cap, "%lluh%02llu:%02llu", (unsigned long long)(s / 3600),
             (unsigned long long)(s / 60 % 60), (unsigned long long)(s % 60));
}

/* A column's plain text. */
char *ui_col_text(const ui_view *v, const ft_mproc *p, ui_col c, char *buf, size_t cap) {
  bool read = p->state && !p->exited, rich = p->rich && !p->exited;
  buf[0] = '\0';
  switch (c) {
  case UI_C_PID:
    snprintf(buf, cap, "%d", (int)p->pid);
    break;
  case UI_C_HOST:
    snprintf(buf, cap, "%s", v->snap ? ui_hosts_name(v->snap, p->host) : "");
    break;
  case UI_C_PPID:
    snprintf(buf, cap, p->ppid ? "%d" : "-", (int)p->ppid);
    break;
  case UI_C_USER:
    if (p->rich && p->user[0])
      snprintf(buf, cap, "%s", p->user);
    else
      snprintf(buf, cap, p->rich ? "%u" : "-", p->uid);
    break;
  case UI_C_NICE:
    snprintf(buf, cap, rich ? "%d" : "-", p->nice);
    break;
  case UI_C_STATE:
    snprintf(buf, cap, "%c", p->exited ? 'X' : p->state ? p->state : '-');
    break;
  case UI_C_CPU:
    snprintf(buf, cap, read ? "%.1f" : "-", p->cpu);
    break;
  case UI_C_RSS:
    if (read)
      ui_fmt_kb(buf, cap, p->rss_kb);
    else
      snprintf(buf, cap, "-");
    break;
  case UI_C_THREADS:
    snprintf(buf, cap, read && p->threads ? "%d" : "-", p->threads);
    break;
  case UI_C_TIME:
    if (p->scan_t)
      ui__fmt_time(buf, cap, p->scan_ticks);
    else
      snprintf(buf, cap, "-");
    break;
  case UI_C_IOR:
  case UI_C_IOW:
    if (rich && p->io_t)
      ui__fmt_rate(buf, cap, c == UI_C_IOR ? p->io_rrate : p->io_wrate);
    else
      snprintf(buf, cap, "-");
    break;
  case UI_C_AGE:
    ui_fmt_dur(buf, cap, ui__age(v, p));
    break;
  case UI_C_PROCESS: {
    size_t k = 0;
    if (p->role == FT_MROLE_WORKER)
      k = (size_t)snprintf(buf, cap, "%s worker %d", p->name, p->worker);
    else
      k = (size_t)snprintf(buf, cap, "%s", p->name);
    if (k < cap && p->role == FT_MROLE_ROOT)
      k += (size_t)snprintf(buf + k, cap - k, " (supervisor)");
    else if (k < cap && p->role == FT_MROLE_SUBPROCESS)
      k += (size_t)snprintf(buf + k, cap - k, " (subprocess)");
    if (k < cap && (p->orphan || p->role == FT_MROLE_ORPHAN))
      k += (size_t)snprintf(buf + k, cap - k, " [orphan]");
    if (k < cap && (p->zombie || (p->state == 'Z' && !p->exited)))
      snprintf(buf + k, cap - k, " [zombie]");
    break;
  }
  case UI_C_COMMAND: {
    /* htop's p: the command line with or without the program's path */
    const char *line = p->args[0] ? p->args : p->cmd[0] ? p->cmd : p->name;
    if (v->full_cmd) {
      snprintf(buf, cap, "%s", line);
      break;
    }
    size_t n0 = strcspn(line, " ");
    const char *prog = line;
    for (size_t i = 0; i < n0; i++)
      if (line[i] == '/' && i + 1 < n0)
        prog = line + i + 1;
    snprintf(buf, cap, "%.*s%s", (int)(line + n0 - prog), prog, line + n0);
    break;
  }
  case UI_C_TASK:
    if (p->exited) {
      if (p->signal)
        snprintf(buf, cap, "%s%s%s", ft_signal_name(p->signal), p->core ? " (core)" : "",
                 p->requested ? " (stopped)" : "");
      else
        snprintf(buf, cap, "exit %d", p->code);
    } else if (p->exec_err) {
      snprintf(buf, cap, "exec: %s", ft_strerror(p->exec_err));
    } else if (p->role == FT_MROLE_WORKER) {
      if (p->busy)
        snprintf(buf, cap, "task %llu", (unsigned long long)p->task);
      else
        snprintf(buf, cap, "idle");
    }
    break;
  default:
    break;
  }
  return buf;
}

static const char *ui__role_word(ft_mrole r) {
  switch (r) {
  case FT_MROLE_ROOT:
    return "forktop";
  case FT_MROLE_WORKER:
    return "worker";
  case FT_MROLE_SUBPROCESS:
    return "subprocess";
  case FT_MROLE_ORPHAN:
    return "orphan";
  default:
    return "process";
  }
}

/* Whether the columns shown hold text matching needle.  Columns whose
 * numbers change by themselves (CPU, memory, times, rates) are not
 * matched: a filter would flicker. */
bool ui_col_match(const ui_view *v, const ft_mproc *p, const char *needle) {
  char b[FT_MODEL_ARGS_MAX + 64];
  bool pid_done = false;
  for (int i = 0; i < v->ncols; i++) {
    ui_col c = v->cols[i];
    if (ui__cols[c].live)
      continue;
    pid_done |= c == UI_C_PID;
    if (strcasestr(ui_col_text(v, p, c, b, sizeof b), needle))
      return true;
  }
  if (!pid_done && strstr(ui_col_text(v, p, UI_C_PID, b, sizeof b), needle))
    return true;
  if (strcasestr(ui__role_word(p->role), needle) || strcasestr(p->cmd, needle))
    return true;
  return p->state == 'Z' && strcasestr("zombie", needle);
}

/* Fit the chosen columns into w cells: the fixed ones keep their width,
 * the flexible ones (PROCESS, COMMAND, TASK) share the rest; when the
 * flexible ones would get less than their least, columns go, the highest
 * drop number first (PID and PROCESS never go). */
void ui_cols_fit(ui_view *v, int w) {
  ui_layout *L = &v->layout;
  bool on[UI_C_COUNT] = {false};
  for (int i = 0; i < v->ncols; i++)
    on[v->cols[i]] = true;
  on[UI_C_PID] = on[UI_C_PROCESS] = true; /* the list is unreadable without them */
  bool host_chosen = on[UI_C_HOST];
  on[UI_C_HOST] |= v->snap && v->snap->nhosts; /* where a pid is, once that is not here */
  for (;;) {
    int need = 0, worst = -1;
    for (int c = 0; c < UI_C_COUNT; c++) {
      if (!on[c])
        continue;
      need += ui__cols[c].width ? ui__cols[c].width : ui__cols[c].min;
      if (ui__cols[c].drop && (worst < 0 || ui__cols[c].drop > ui__cols[worst].drop))
        worst = c;
    }
    if (need <= w || worst < 0)
      break;
    on[worst] = false;
  }
  /* the order: PID first when it was not chosen, then the chosen order */
  int n = 0, fixed = 0, nflex = 0;
  if (!v->ncols || v->cols[0] != UI_C_PID) {
    bool chosen = false;
    for (int i = 0; i < v->ncols; i++)
      chosen |= v->cols[i] == UI_C_PID;
    if (!chosen)
      L->column[n++] = UI_C_PID;
  }
  if (on[UI_C_HOST] && !host_chosen && n == 1)
    L->column[n++] = UI_C_HOST; /* right after PID */
  for (int i = 0; i < v->ncols; i++) {
    if (on[v->cols[i]])
      L->column[n++] = v->cols[i];
    if (on[UI_C_HOST] && !host_chosen && v->cols[i] == UI_C_PID)
      L->column[n++] = UI_C_HOST;
  }
  bool proc_in = false;
  for (int i = 0; i < n; i++)
    proc_in |= L->column[i] == UI_C_PROCESS;
  if (!proc_in)
    L->column[n++] = UI_C_PROCESS;
  for (int i = 0; i < n; i++) {
    const ui__coldef *d = &ui__cols[L->column[i]];
    fixed += d->width;
    nflex += !d->width;
    L->colw[i] = d->width ? d->width : d->min;
  }
  int left = w - fixed;
  for (int i = 0; i < n; i++)
    if (!ui__cols[L->column[i]].width)
      left -= L->colw[i];
  int cap[UI_C_COUNT] = {0};
  cap[UI_C_PROCESS] = 26;
  cap[UI_C_TASK] = 24;
  bool has_cmd = false;
  for (int i = 0; i < n; i++)
    has_cmd |= L->column[i] == UI_C_COMMAND;
  int share = has_cmd ? left / 3 : left; /* COMMAND keeps a third at least */
  for (int pass = 0; pass < 2 && left > 0; pass++)
    for (int i = 0; i < n && left > 0; i++) {
      ui_col c = L->column[i];
      if (ui__cols[c].width)
        continue;
      /* first PROCESS and TASK up to their caps, then the rest to COMMAND
       * (or to PROCESS when COMMAND is not shown) */
      ui_col rest = has_cmd ? UI_C_COMMAND : UI_C_PROCESS;
      if ((pass == 0 && c == UI_C_COMMAND) || (pass == 1 && c != rest))
        continue;
      int room = pass ? 1 << 20 : cap[c] - L->colw[i] < share ? cap[c] - L->colw[i] : share;
      int add = room < left ? room : left;
      if (add > 0) {
        L->colw[i] += add;
        left -= add;
      }
    }
  if (left < 0) /* very narrow: the last column takes the loss */
    L->colw[n - 1] = L->colw[n - 1] + left > 1 ? L->colw[n - 1] + left : 1;
  int x = 0;
  for (int i = 0; i < n; i++) {
    L->colx[i] = x;
    x += L->colw[i];
  }
  L->ncolumns = n;
  (void)nflex;
}

/* Whether a column is right-aligned. */
bool ui_col_right(ui_col c) { return c < UI_C_COUNT && ui__cols[c].right; }
