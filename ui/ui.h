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
  char name_raw[40];   /* the last short name printed, as it came */
  char name_safe[160]; /* the same made safe (4 bytes a byte at most) */
} ui_printer;

/* Print one event (an event hook: ud is the ui_printer). */
void ui_printer_event(const ft_event *ev, void *ud);
/* Only keep each queue's last sample for ui_printer_finish (ud: the printer). */
void ui_printer_keep_queues(const ft_event *ev, void *ud);
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
  bool failed;  /* a write failed (disk full, closed pipe) */
  ft_buf hosts; /* ui_jhost records: the remote hosts, for the summary */
} ui_json;

struct timespec;
/* Keep forktop's own command line for the start event. */
void ui_json_set_argv(int argc, char *const *argv);
/* Write the stream's first line, the start event: forktop's version, its
 * argv, the wall clock at t0 (wall) and the host name. */
void ui_json_start(ui_json *j, const struct timespec *wall);
void ui_json_event(const ft_event *ev, void *ud);
/* Free what the stream holds (not its FILE). */
void ui_json_free(ui_json *j);
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
  bool readonly;  /* --readonly: the dashboard sends no signal */
  double speed;   /* replay: 0 = as fast as possible */
  bool scan_only; /* watch by scanning even where the connector works */
} ui_opts;

/* ------------------------------------------------------------ the session
 * One session wiring for run (and map), watch and replay (ui_session.c):
 * the loop, the dashboard or the headless printer or the JSON stream, the
 * recording, the signals, the dashboard's answers, the linger once the work
 * is done, and the streams' end.  What differs per command is in
 * ui_session_mode and in the callers: how the work starts, when it is done,
 * how it is stopped, the exit status and the summary. */
struct ui_dash;
struct ft_guard;

typedef struct ui_session_mode {
  const char *title;      /* the dashboard's title */
  const char *headless;   /* "running": "cannot open the dashboard (...); running headless" */
  const char *detached;   /* said when the dashboard closes and the work goes on headless */
  bool guard;             /* guard the run (ui_guard_start) from before the loop exists */
  bool hangup;            /* the guard hangs the run up before it kills it (FT_GUARD_HANGUP) */
  bool observer;          /* the tree is not ours (-p): q quits at once, nothing is killed */
  bool replay;            /* showing a recording: the caller feeds the dashboard */
  bool job_control;       /* Ctrl-Z stops the work with us, SIGCONT wakes it */
  bool stop_signals_tree; /* stop signals every child: the linger outlasts a signal */
  void (*stop)(void *ud); /* stop the work (SIGINT, SIGTERM, SIGHUP, q) */
  bool (*done)(void *ud); /* has the work ended? */
  void (*turn)(void *ud); /* after each turn the dashboard shows (may be NULL) */
  void *ud;
} ui_session_mode;

typedef struct ui_session {
  ui_session_mode m;
  const ui_opts *o;
  ft_loop *loop;
  struct ft_guard *guard;
  struct ui_dash *dash; /* NULL: headless or JSON */
  ui_printer pr;
  ui_json json, rec;
  ui_json *stream, *record; /* &json, &rec when asked, else NULL */
  uint64_t t0;
  int signo;             /* the first stopping signal (or Ctrl-C in the dashboard) */
  bool quit;             /* the user quit the dashboard (or the session gave up) */
  char complaints[1024]; /* said while the dashboard had the screen */
} ui_session;

/* Create the --record file (never through a symlink), start the guard when
 * m asks, create the loop.  0; 2 when the recording cannot be made (said);
 * -errno when the loop cannot (not said). Call ui_session_close either way. */
int ui_session_open(ui_session *s, const ui_opts *o, const ui_session_mode *m);
/* Start showing: the clock, the dashboard (or headless, saying why unless
 * there is no terminal), the printer or JSON hook, the recording, the
 * once-a-turn flush and the signals. */
void ui_session_show(ui_session *s);
/* Turn the loop until m.done, answering the dashboard (quit stops the
 * work, detach goes on headless); 0, or the loop's error. */
int ui_session_run(ui_session *s);
/* Say something on stderr, or after the dashboard when it has the screen. */
void ui_session_complain(ui_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Turn the loop until the user quits the dashboard (s->dash) or a
 * signal comes; 0, or the loop's error. */
int ui_session_until_quit(ui_session *s);
/* The work is done with status (-1: unknown): the dashboard, unless quit,
 * shows the end until the user quits; headless, unless quit or observing,
 * what the work left gets a moment to end.  Then the terminal is restored
 * and what was kept said.  0, or the loop's error. */
int ui_session_linger(ui_session *s, int status);
/* Turn the loop while it has children, for ns at most and while go_on
 * (when given; called before every turn) says so; 0, or the loop's error. */
int ui_session_wait(ui_session *s, uint64_t ns, bool (*go_on)(void *ud), void *ud);
/* Give the terminal back and print what was kept. */
void ui_session_end_dashboard(ui_session *s);
/* Free the loop: what is ours and still alive is killed and reaped (the
 * hooks report it), an observed tree is left alone. */
void ui_session_free_loop(ui_session *s);
/* status, or 1 when writing an event stream failed (said). */
int ui_session_streams_ok(ui_session *s, int status);
/* Free everything (the caller's engine objects first: the guard goes last). */
void ui_session_close(ui_session *s);

/* Start guarding a run (ft_guard.h); NULL (said on stderr) if it cannot. */
struct ft_guard *ui_guard_start(void);
/* The same, with ft_guard_start flags (FT_GUARD_HANGUP). */
struct ft_guard *ui_guard_start_flags(unsigned flags);
/* Run a workload file; returns the exit status. */
int ui_run_workload(const char *path, const ui_opts *o);
/* Run a plan (path names it in messages), hook hearing every event too
 * when given; returns the exit status. */
int ui_run_plan(const ft_plan *plan, const char *path, const ui_opts *o, ft_event_cb hook,
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
/* The shipped workloads' names (NULL-terminated, each and the array
 * malloc'd), or NULL when there are none or no memory. */
char **ui_workload_names(void);
/* Print the shipped workloads with their descriptions. */
int ui_list_workloads(FILE *out);
/* Create path afresh for writing (--record, exports) without writing
 * through a symlink: a new file renamed over it; 0 or -errno. */
int ui_file_create(const char *path, FILE **out);
/* forktop worker (internal): a pool worker over TCP; argv[0] is "worker". */
int ui_worker_main(int argc, char **argv);
/* forktop agent (ui_agent.c), internal */
int ui_agent_main(int argc, char **argv);

#endif
