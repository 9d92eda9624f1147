/* ui_dash.h - the live dashboard: the process tree, task progress, queue
 * traffic, exit codes and output, drawn with ncurses on the loop.
 *
 * A live run: ui_dash_new installs an event hook on the loop (the model),
 * a before-sleep redraw throttled to the refresh period, a watch on stdin
 * for keys and mouse, and SIGWINCH.  A replay (opts.replay): no hook is
 * installed; feed every event with ui_dash_event.  Either way, call
 * ui_dash_free before ft_loop_free. */
#ifndef UI_DASH_H
#define UI_DASH_H

#include <stdbool.h>

#include "forktop.h"

typedef struct ui_dash ui_dash;

typedef struct ui_dash_opts {
  const char *title; /* workload name */
  int delay_tenths;  /* refresh period, default 1 (10 updates a second), -d as in top */
  bool ascii;        /* --ascii: tree drawn with ASCII */
  bool replay;       /* showing a recording: no signals can be sent */
  bool observer;     /* watching a tree forktop does not own (-p): q quits at once */
  bool readonly;     /* --readonly: the dashboard never sends a signal */
} ui_dash_opts;

/* What the user asked. */
typedef enum {
  UI_DASH_RUNNING, /* nothing yet */
  UI_DASH_QUIT,    /* quit; stop the workload if it still runs */
  UI_DASH_DETACH   /* leave the workload running headless */
} ui_dash_state;

/* Take over the terminal and install the hook, the redraw, the key watch
 * and SIGWINCH on loop.  -ENOTTY without a terminal (nothing is changed). */
int ui_dash_new(ft_loop *loop, const ui_dash_opts *o, ui_dash **out);
/* Feed an event (replay uses this; live runs get events through the hook). */
void ui_dash_event(const ft_event *ev, void *dash);
/* The workload has finished: say so in the header, keep showing the final state. */
void ui_dash_set_finished(ui_dash *d, int exit_status);
/* A short note for the header, e.g. how a watched tree is seen. */
void ui_dash_set_note(ui_dash *d, const char *note);
/* What the user asked: UI_DASH_RUNNING, UI_DASH_QUIT or UI_DASH_DETACH.  q
 * while work still runs asks first ("stop it or leave it running headless?"). */
ui_dash_state ui_dash_state_get(const ui_dash *d);
/* The signal a quit stands for: SIGINT when it was Ctrl-C (the terminal is
 * raw, so Ctrl-C is a key), 0 for q. */
int ui_dash_signal(const ui_dash *d);
/* Give the terminal back and stop, workload and all, until SIGCONT. */
void ui_dash_suspend(ui_dash *d);
/* Restore the terminal and free; safe at any point, also after a signal
 * (NULL is a no-op).  Call it before ft_loop_free. */
void ui_dash_free(ui_dash *d);

#endif
