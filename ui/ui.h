/* ui.h - the forktop program's shared declarations. */
#ifndef FT_UI_H
#define FT_UI_H

#include <stdio.h>

#include "forktop.h"
#include "ft_runner.h"

#define UI_MAX_QUEUES 64

typedef struct ui_qseen {
  char name[256];
  uint64_t puts, gets, last_t; /* the last sample printed */
  bool closed;
  ft_queue_stats last; /* the last sample seen */
  bool have_last;
} ui_qseen;

/* The headless printer: one line per event, stamped when it is printed
 * (replay: with the recording's clock), so the lines go forward in time. */
typedef struct ui_printer {
  FILE *out;
  uint64_t t0;
  bool replay;     /* events come from a recording: their own times are the clock */
  uint64_t last_t; /* the time of the last line */
  ui_qseen q[UI_MAX_QUEUES];
  size_t nq;
} ui_printer;

/* Print one event (an event hook: ud is the ui_printer). */
void ui_printer_event(const ft_event *ev, void *ud);
/* Print what the summary adds: each queue's final counts. */
void ui_printer_finish(ui_printer *pr);
/* Untrusted text made safe for a terminal (the one entry point for plain
 * text; the rules are ui/view/ui_safe.c's), appended to out. */
void ui_sanitize(const char *s, size_t n, ft_buf *out);
/* s (NULL: "") sanitized into b as a C string; the caller frees b. */
const char *ui_safe_cstr(ft_buf *b, const char *s);

/* The JSON stream: events buffered, written once per loop turn. */
typedef struct ui_json {
  FILE *out;
  uint64_t t0;
  ft_buf buf;
  bool failed; /* a write failed (disk full, closed pipe) */
} ui_json;

void ui_json_event(const ft_event *ev, void *ud);
void ui_json_flush(ui_json *j);
void ui_json_summary(ui_json *j, const char *workload, const ft_run_summary *s, int status,
                     uint64_t now);

/* What the command line asked for. */
typedef enum ui_mode { UI_DASHBOARD, UI_HEADLESS, UI_JSON } ui_mode;

typedef struct ui_opts {
  ui_mode mode;
  const char *record; /* --record FILE */
  char **sets;        /* -s key=value */
  size_t nsets;
  int delay_tenths; /* -d */
  bool ascii;
  double speed;   /* replay: 0 = as fast as possible */
  bool scan_only; /* watch by scanning even where the connector works */
} ui_opts;

/* Start guarding a run (ft_guard.h); NULL (said on stderr) if it cannot. */
struct ft_guard *ui_guard_start(void);
/* Run a workload file; returns the exit status. */
int ui_run_workload(const char *path, const ui_opts *o);
/* Run a plan (path names it in messages), hook hearing every event too
 * when given; returns the exit status. */
int ui_run_plan(const ft_plan *plan, const char *path, const ui_opts *o, ft_event_fn hook,
                void *hook_ud);
/* forktop map: run a command once per item; argc/argv after "map". */
int ui_map_main(int argc, char **argv);
/* Replay a recording; returns the exit status. */
int ui_replay(const char *path, const ui_opts *o);
/* forktop -- CMD: run argv and watch its whole tree; returns the exit status. */
int ui_watch_command(char *const *argv, const ui_opts *o);
/* forktop -p PID: watch a running tree, read-only. */
int ui_watch_pid(pid_t pid, const ui_opts *o);
/* Find a shipped workload by name (or accept a path); NULL if none. */
char *ui_find_workload(const char *arg);
/* Print the shipped workloads with their descriptions. */
int ui_list_workloads(FILE *out);
/* Create path afresh for writing (--record, exports) without writing
 * through a symlink: a new file renamed over it; 0 or -errno. */
int ui_file_create(const char *path, FILE **out);
/* forktop worker (internal): a pool worker over TCP; argv[0] is "worker". */
int ui_worker_main(int argc, char **argv);

#endif
