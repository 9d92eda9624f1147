/* ui_view.h - the dashboard's parts that never touch curses, and the small
 * interface of the one file that does.
 *
 *   snapshot --ui_view_build--> display list (tree rows: folded, sorted, filtered)
 *   display list --ui_cells_render--> grid of styled cells (laid out, sanitized)
 *   grid --ui_term_draw--> the terminal (ui_term.c, the only curses file)
 *   key --ui_keys_handle--> view changes, or an action for the engine
 *
 * Around them: ui_cols.c (the columns: text, sorting, fitting, matching),
 * ui_setup.c (the sort menu and the setup screen), ui_meters.c (the
 * header's CPU, memory, swap and load meters), ui_rc.c (forktoprc).
 * Everything but ui_term is unit-tested (tests/test_view.c,
 * tests/test_dashkeys.c). */
#ifndef UI_VIEW_H
#define UI_VIEW_H

#include "forktop.h"
#include "ft_model.h"
#include "ft_tree.h"

/* ---------------------------------------------------------------- view */

typedef enum ui_panel {
  UI_P_TREE,   /* the process tree */
  UI_P_POOLS,  /* a progress bar per pool */
  UI_P_QUEUES, /* depth, rates, sparkline per queue */
  UI_P_EXITS,  /* the exit log, newest first */
  UI_P_OUTPUT, /* the selected process's output */
  UI_P_COUNT
} ui_panel;

/* The columns of the process list (ui_cols.c), in their default order. */
typedef enum ui_col {
  UI_C_PID,
  UI_C_PPID,
  UI_C_USER,
  UI_C_NICE,
  UI_C_STATE,
  UI_C_CPU,
  UI_C_RSS,
  UI_C_THREADS,
  UI_C_TIME, /* TIME+: CPU time used */
  UI_C_IOR,  /* disk read rate */
  UI_C_IOW,  /* disk write rate */
  UI_C_AGE,
  UI_C_PROCESS, /* the tree, the name, the role */
  UI_C_COMMAND, /* the command line (short or full) */
  UI_C_TASK,    /* a worker's task, an exit code */
  UI_C_HOST,    /* the host (shown once a remote host exists) */
  UI_C_COUNT
} ui_col;

/* Any column sorts. */
typedef ui_col ui_sort;
#define UI_SORT_PID UI_C_PID
#define UI_SORT_CPU UI_C_CPU
#define UI_SORT_RSS UI_C_RSS
#define UI_SORT_AGE UI_C_AGE
#define UI_SORT_NAME UI_C_PROCESS
#define UI_SORT_COUNT UI_C_COUNT

typedef enum ui_view_mode { /* what the keys do now */
                            UI_MODE_NORMAL,
                            UI_MODE_FILTER, /* typing the filter */
                            UI_MODE_SEARCH, /* typing a search */
                            UI_MODE_HELP,   /* the help box */
                            UI_MODE_SIGNAL, /* the signal menu */
                            UI_MODE_SORT,   /* the sort menu (F6) */
                            UI_MODE_SETUP,  /* the setup screen (F2) */
                            UI_MODE_QUIT    /* "stop the workload or leave it running headless?" */
} ui_view_mode;

/* The header meters (ui_meters.c): the host's CPUs, memory, swap, load. */
#define UI_METER_CPUS 256
typedef struct ui_meters {
  bool known;                /* read at least once */
  int ncpu;                  /* CPUs in /proc/stat */
  double cpu[UI_METER_CPUS]; /* busy % of each, between the last two reads */
  uint64_t busy[UI_METER_CPUS], total[UI_METER_CPUS]; /* the last read's jiffies */
  uint64_t mem_total, mem_used, mem_cache;            /* KiB */
  uint64_t swap_total, swap_used;
  double load[3];
} ui_meters;

/* Read /proc/stat, /proc/meminfo and /proc/loadavg (root: the directory
 * holding them, "/proc"); 0 or -errno. */
int ui_meters_read(ui_meters *m, const char *root);

/* One row of the process tree. */
typedef struct ui_row {
  uint32_t proc;   /* index in the snapshot's procs */
  uint16_t depth;  /* 0 for the root */
  uint64_t guides; /* bit d set: the ancestor at depth d has siblings below it */
  bool last;       /* the last of its siblings */
  bool has_children;
  bool folded;
  bool context;    /* shown only because a descendant matches the filter */
  uint32_t hidden; /* processes folded away under it */
  uint32_t host;   /* its process's host (0: this one) */
  bool header;     /* a host's header row (ui_hosts.c): proc is not a process of it */
} ui_row;

typedef struct ui_rect {
  int x, y, w, h;
} ui_rect;

/* ------------------------------------------------------ pipes and I/O */

#define UI_IO_PIPES 16 /* pipes of the selected process shown */
#define UI_IO_RATES 32 /* processes whose rates are kept */

/* A process's I/O counters (rchar, wchar) and the rates between two reads. */
typedef struct ui_io_rate {
  pid_t pid;
  uint64_t r, w, t;
  double rr, wr; /* bytes a second */
  bool known;    /* the counters could be read */
  bool rated;    /* and an earlier read gave rates */
} ui_io_rate;

/* The pipes of one process, with the holders of their other ends. */
typedef struct ui_io {
  pid_t pid;
  uint64_t t; /* when it was read; 0 never */
  int err;    /* -errno when its fds could not be read */
  ft_pipe pipes[UI_IO_PIPES];
  size_t npipes, more;
  ui_io_rate rates[UI_IO_RATES];
  size_t nrates;
} ui_io;

/* Read pid's pipes, their other ends among[0..n), and everyone's rates
 * (from the previous read in io); 0 or -errno. */
int ui_io_update(ui_io *io, pid_t pid, const pid_t *among, size_t n, uint64_t now);
/* The rates known for pid, or NULL. */
const ui_io_rate *ui_io_rate_of(const ui_io *io, pid_t pid);

/* Where the cells put each panel, so that keys can page and the mouse can
 * find rows.  A panel with h == 0 is not shown. */
typedef struct ui_layout {
  int w, h;
  bool compact;   /* too small for every panel: one panel at a time */
  int meter_rows; /* header rows of meters (under the title) */
  int ncolumns;   /* the columns of the tree that fit, in order, */
  ui_col column[UI_C_COUNT];
  int colx[UI_C_COUNT], colw[UI_C_COUNT]; /* where and how wide (with the gap after) */
  ui_rect panel[UI_P_COUNT];
  ui_rect list[UI_P_COUNT]; /* the panel's list rows (under its title) */
} ui_layout;

#define UI_FILTER_MAX 64

typedef struct ui_view {
  const ft_model_snap *snap; /* what rows refer to */
  ui_row *rows;              /* the display list of the tree */
  size_t nrows, caprows;
  uint64_t built_gen;
  bool dirty; /* state changed: build again even if the model did not */
  /* chrome */
  char title[64];
  char note[192]; /* shown in the header: how a watched tree is seen (set only when watching) */
  bool observer;  /* watching a tree that is not ours (-p): q quits at once */
  bool show_io;   /* the output panel shows the selected process's pipes and I/O */
  ui_io io;       /* what it shows (the dashboard reads it from /proc) */
  bool ascii, utf8, replay, paused, finished;
  int exit_status;
  uint64_t now;
  uint64_t t_end;   /* when the workload finished (the elapsed time stops there) */
  char status[128]; /* a message for the bottom bar */
  uint64_t status_until;
  /* state */
  ui_view_mode mode;
  ui_panel focus;
  ui_sort sort;
  bool sort_rev;           /* the sort column's order reversed (I) */
  bool flat;               /* a flat list instead of the tree (F5, t) */
  bool full_cmd;           /* COMMAND shows the whole command line (p) */
  bool readonly;           /* --readonly: no signal is ever sent */
  bool meters_on;          /* the header meters are shown */
  bool settings_changed;   /* something forktoprc keeps changed */
  ui_col cols[UI_C_COUNT]; /* the chosen columns, in order (F2) */
  int ncols;
  int menu_sel;      /* selection in the sort menu or the setup screen */
  ui_meters *meters; /* the host's meters, or NULL (a recording) */
  char filter[UI_FILTER_MAX];
  char search[UI_FILTER_MAX];
  bool search_fail; /* the search text matches no row */
  pid_t *tagged;    /* tagged processes (Space), sorted */
  size_t ntagged, captagged;
  pid_t sel_pid;     /* the selected process (0 on a host's header row) ... */
  uint32_t sel_host; /* ... of this host: a process is (host, pid) */
  size_t sel[UI_P_COUNT], top[UI_P_COUNT];
  bool out_follow; /* the output panel sticks to the newest line */
  pid_t *folded;
  size_t nfolded, capfolded;
  int sig_sel; /* selection in the signal menu */
  ui_layout layout;
  /* scratch of the build, kept between frames */
  int32_t *map, *parent, *kids, *kid0, *order;
  uint32_t *desc;
  uint8_t *keep;
  void *stack;
  size_t mapcap, scratch_cap;
} ui_view;

/* Start a view; title is the workload's name. */
void ui_view_init(ui_view *v, const char *title, bool ascii, bool utf8, bool replay);
/* Release what the view holds. */
void ui_view_free(ui_view *v);
/* Turn a snapshot into the display list (only when it or the view changed);
 * 0 or -ENOMEM. */
int ui_view_build(ui_view *v, const ft_model_snap *s);
/* Number of rows of a panel's list. */
size_t ui_view_count(const ui_view *v, ui_panel p);
/* The selected process, or NULL. */
const ft_mproc *ui_view_selected(const ui_view *v);
/* The process whose output the output panel shows (the root: everyone's). */
pid_t ui_view_output_pid(const ui_view *v);
/* That process's host (0: this one). */
uint32_t ui_view_output_host(const ui_view *v);
/* The output lines the output panel shows. */
const ft_mlines *ui_view_output(const ui_view *v);
/* Move a panel's selection by delta rows (clamped). */
void ui_view_move(ui_view *v, ui_panel p, long delta);
/* Select row i of a panel (clamped). */
void ui_view_select(ui_view *v, ui_panel p, size_t i);
/* Whether pid's subtree is folded. */
bool ui_view_is_folded(const ui_view *v, pid_t pid);
/* Fold or unfold pid's subtree. */
void ui_view_set_fold(ui_view *v, pid_t pid, bool fold);
/* Fold every process that has children (fold) or unfold all (!fold). */
void ui_view_fold_all(ui_view *v, bool fold);
/* Set the filter text ("" for none). */
void ui_view_set_filter(ui_view *v, const char *text);
/* Lay the panels out on a w x h screen (below 80x24: one panel at a time)
 * and scroll every list so that its selection shows. */
void ui_view_layout(ui_view *v, int w, int h);
/* Show a message in the bottom bar for a few seconds. */
void ui_view_say(ui_view *v, const char *msg);
/* The name of a sort key ("CPU%"). */
const char *ui_sort_name(ui_sort s);
/* Whether pid is tagged. */
bool ui_view_is_tagged(const ui_view *v, pid_t pid);
/* Tag or untag pid. */
void ui_view_set_tag(ui_view *v, pid_t pid, bool tag);
/* Move the tree's selection to the next row (dir 1) or previous (-1) whose
 * text matches v->search, starting at the selection itself when from_here;
 * false (selection kept) when none does. */
bool ui_view_search(ui_view *v, int dir, bool from_here);

/* ------------------------------------------------------------- columns */

/* A column's header ("PID"), its longer name for the setup screen. */
const char *ui_col_name(ui_col c);
const char *ui_col_title(ui_col c);
/* The column named name (its header, any case), or -1. */
int ui_col_by_name(const char *name);
/* The default columns, in order. */
void ui_cols_default(ui_view *v);
/* Compare two processes by a column (the column's natural order:
 * largest first for CPU, memory, time and rates). */
int ui_col_cmp(const ui_view *v, ui_col c, const ft_mproc *x, const ft_mproc *y);
/* A column's plain text for a process (what the screen shows, without the
 * tree); returns buf. */
char *ui_col_text(const ui_view *v, const ft_mproc *p, ui_col c, char *buf, size_t cap);
/* Whether the columns shown hold text matching needle (any case). */
bool ui_col_match(const ui_view *v, const ft_mproc *p, const char *needle);
/* Whether a column is right-aligned. */
bool ui_col_right(ui_col c);
/* Fit the chosen columns into w cells (the layout's column fields). */
void ui_cols_fit(ui_view *v, int w);
/* The columns' formats, shared with the panels: memory in KiB (512K, 1.5M,
 * 2.25G) and a span of nanoseconds (4.2s, 3:07, 2h05, 1d03h). */
void ui_fmt_kb(char *b, size_t cap, uint64_t kb);
void ui_fmt_dur(char *b, size_t cap, uint64_t ns);

/* ------------------------------------------------------------ settings */

/* Where the settings live: $XDG_CONFIG_HOME/forktop/forktoprc, else
 * ~/.config/forktop/forktoprc; 0, or -ENOENT when neither is set. */
int ui_rc_path(char *buf, size_t cap);
/* Read the settings into the view (a missing file is not an error); 0 or
 * -errno.  A line that makes no sense is skipped. */
int ui_rc_load(ui_view *v, const char *path);
/* Write them (atomically: a temporary file renamed); 0 or -errno. */
int ui_rc_save(const ui_view *v, const char *path);

/* ---------------------------------------------------------------- hosts */

/* The tree grouped by host (after the walk): this machine's rows first,
 * then each other host's header row and its processes' rows. */
int ui_hosts_group(ui_view *v, const ft_model_snap *s);
/* Whether process p or its host (by name) matches the filter text f. */
bool ui_hosts_match(const ft_model_snap *s, const ft_mproc *p, const char *f);
/* The name of host id ("local" for 0). */
const char *ui_hosts_name(const ft_model_snap *s, uint32_t id);

/* ---------------------------------------------------------------- cells */

typedef enum ui_style {
  UI_S_NORMAL,
  UI_S_TITLE,  /* the top line */
  UI_S_HEADER, /* a panel's title and column names */
  UI_S_HEADER_FOCUS,
  UI_S_SEL,     /* the selected row of the focused panel */
  UI_S_SEL_DIM, /* the selected row of another panel */
  UI_S_DIM,     /* an exited process, quiet text */
  UI_S_FAIL,    /* a failure */
  UI_S_OK,      /* success */
  UI_S_WARN,    /* orphans, zombies, stderr */
  UI_S_BAR_DONE,
  UI_S_BAR_FAIL,
  UI_S_BAR_EMPTY,
  UI_S_KEY, /* a key in the bottom bar */
  UI_S_KEYTEXT,
  UI_S_ESCAPED, /* bytes of child output shown as escapes */
  UI_S_BOX,     /* a pop-up box */
  UI_S_COUNT
} ui_style;

/* One screen cell: a code point and a style.  A wide character's second
 * cell has ch == 0.  Every ch is printable: controls never get here. */
typedef struct ui_cell {
  uint32_t ch;
  uint8_t style;
} ui_cell;

typedef struct ui_grid {
  int w, h;
  ui_cell *cells;
} ui_grid;

/* Size the grid (contents cleared); 0 or -ENOMEM. */
int ui_grid_resize(ui_grid *g, int w, int h);
/* Release the grid. */
void ui_grid_free(ui_grid *g);
/* The cell at x, y (no bounds check). */
#define UI_CELL(g, x, y) (&(g)->cells[(size_t)(y) * (size_t)(g)->w + (size_t)(x)])
/* Write n bytes of untrusted text at x, y within maxw columns, made inert:
 * controls, escapes, invalid UTF-8, bidi overrides and zero-width code
 * points become visible \xNN / \u{...} escapes; tabs become spaces.
 * Returns the columns used. */
int ui_put_text(ui_grid *g, int x, int y, int maxw, ui_style st, const char *s, size_t n,
                bool utf8);
/* Set one cell (outside the grid: nothing); ch must be printable. */
void ui_grid_set(ui_grid *g, int x, int y, uint32_t ch, ui_style st);
/* Blank w cells of row y in a style. */
void ui_grid_fill(ui_grid *g, int x, int y, int w, ui_style st);
/* Give w cells of row y a style (a selection), keeping the colours of bars. */
void ui_grid_restyle(ui_grid *g, int x, int y, int w, ui_style st);
/* printf into the grid through ui_put_text; returns the columns used. */
int ui_grid_printf(ui_grid *g, int x, int y, int maxw, ui_style st, bool utf8, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
/* A progress bar of w cells: a done, b failed, out of total (ASCII or
 * block characters); returns w. */
int ui_grid_bar(ui_grid *g, int x, int y, int w, bool ascii, uint64_t total, uint64_t a,
                uint64_t b);
/* Draw the pipes and I/O panel in the output panel's place: its title text
 * in r (on the bar the cells drew), its lines in list. */
void ui_io_render(ui_grid *g, const ui_view *v, ui_rect r, ui_rect list, ui_style title);
/* Lay the view out on the grid and draw every panel into it. */
void ui_cells_render(ui_grid *g, ui_view *v);
/* Draw tree row r, a host's header row, at x, y in w cells (ui_hosts.c). */
void ui_hosts_row(ui_grid *g, const ui_view *v, int x, int y, int w, const ui_row *r);
/* Write host id's name (made inert) at x, y in maxw cells; the columns used. */
int ui_hosts_put(ui_grid *g, const ui_view *v, int x, int y, int maxw, ui_style st, uint32_t id);
/* The grid's row y as UTF-8 text (for tests and screen dumps); returns out. */
char *ui_grid_line(const ui_grid *g, int y, char *out, size_t cap);

/* ----------------------------------------------------------------- keys */

/* Keys that are not characters (above the Unicode range). */
enum {
  UI_K_NONE = 0,
  UI_K_UP = 0x110001,
  UI_K_DOWN,
  UI_K_LEFT,
  UI_K_RIGHT,
  UI_K_PGUP,
  UI_K_PGDN,
  UI_K_HOME,
  UI_K_END,
  UI_K_ENTER,
  UI_K_TAB,
  UI_K_BTAB,
  UI_K_ESC,
  UI_K_BACKSPACE,
  UI_K_F1,
  UI_K_F9,
  UI_K_F10,
  UI_K_MOUSE,
  UI_K_CTRL_C, /* the terminal is raw: these come as keys, not signals */
  UI_K_CTRL_Z,
  UI_K_F2,
  UI_K_F3,
  UI_K_F4,
  UI_K_F5,
  UI_K_F6,
  UI_K_F7,
  UI_K_F8,
  UI_K_SF3 /* Shift-F3 */
};

typedef struct ui_key {
  int code;   /* a character or UI_K_* */
  int x, y;   /* UI_K_MOUSE: where */
  int button; /* UI_K_MOUSE: 1 left click, 4 wheel up, 5 wheel down */
} ui_key;

typedef enum ui_act {
  UI_ACT_NONE,   /* nothing for the caller (the view may have changed) */
  UI_ACT_QUIT,   /* quit, stopping the workload */
  UI_ACT_DETACH, /* quit, leaving the workload running headless */
  UI_ACT_SIGNAL, /* send signo to pid */
  UI_ACT_PAUSE,  /* the display was paused or resumed (v->paused says which) */
  UI_ACT_SUSPEND /* Ctrl-Z: give the terminal back and stop, workload and all */
} ui_act;

typedef struct ui_action {
  ui_act kind;
  pid_t pid; /* UI_ACT_SIGNAL: 0 for every tagged process (v->tagged) */
  int signo;
  uint32_t host; /* UI_ACT_SIGNAL: pid's host; not 0: signal it through the host's launcher */
} ui_action;

/* The signals of the k menu, in order. */
extern const int ui_menu_signals[];
extern const size_t ui_menu_nsignals;

/* What a key does to the view, and what the caller must do. */
ui_action ui_keys_handle(ui_view *v, const ui_key *k);
/* Draw the bottom bar (the keys) and the pop-up of the current mode. */
void ui_keys_draw(ui_grid *g, ui_view *v);
/* The sort menu and the setup screen (ui_setup.c): a key, the drawing. */
ui_action ui_setup_key(ui_view *v, const ui_key *k);
void ui_setup_draw(ui_grid *g, ui_view *v);
/* What every menu shares (the sort, setup and signal menus): Up, Down,
 * Home or End moves *sel among n lines (true: code was one of them), and
 * the menu drawn as a box, scrolled to the selection on a short screen. */
bool ui_setup_move(int *sel, int n, int code);
void ui_setup_list(ui_grid *g, const ui_view *v, const char *title, const char *const *lines, int n,
                   int sel);
/* Draw a box with lines in the middle of the grid, line sel marked. */
void ui_keys_box(ui_grid *g, const ui_view *v, const char *title, const char *const *lines, int n,
                 int sel);
/* Write untrusted text like ui_put_text; when it does not fit, its last
 * cell is an ellipsis (~ with --ascii).  Returns the columns used. */
int ui_put_cut(ui_grid *g, int x, int y, int maxw, ui_style st, const char *s, size_t n, bool utf8,
               bool ascii);
/* Draw the meters' rows into r (ui_meters.c). */
void ui_meters_render(ui_grid *g, const ui_view *v, ui_rect r);
/* Header rows the meters want at width w (0 when there are none). */
int ui_meters_rows(const ui_view *v, int w);

/* ------------------------------------------------------------- terminal */

typedef struct ui_term ui_term;

/* Take over the terminal (stdin and stdout must be one); color unless
 * NO_COLOR is set.  -ENOTTY when there is no terminal. */
int ui_term_open(ui_term **out);
/* Whether the terminal takes UTF-8 / colours. */
bool ui_term_utf8(const ui_term *t);
/* Its size. */
void ui_term_size(const ui_term *t, int *w, int *h);
/* The window changed size (SIGWINCH): ask the kernel and resize. */
void ui_term_resize(ui_term *t);
/* Draw the grid; only what changed since the last draw goes out. */
void ui_term_draw(ui_term *t, const ui_grid *g);
/* The next key or mouse event without waiting; false when none. */
bool ui_term_key(ui_term *t, ui_key *k);
/* Give the terminal back for a while (Ctrl-Z): its modes and its screen. */
void ui_term_suspend(ui_term *t);
/* Take it again after a suspend and draw everything on the next draw. */
void ui_term_resume(ui_term *t);
/* Restore the terminal and free (NULL is a no-op). */
void ui_term_close(ui_term *t);

#endif
