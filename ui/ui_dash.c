/* ui_dash.c - the dashboard wired to the loop.
 *
 * Events go into the model as they come (the hook does nothing else).  A
 * timer marks a frame due once per refresh period; the before-sleep hook
 * then draws it: the model moves on (expiry, rates), libproc2 reads the
 * rows on screen (at most twice a second, and never in a replay), the
 * view builds its display list, the cells lay it out and ui_term sends
 * what changed.  A key draws at once.  Nothing here blocks the loop. */
#include "ui_dash.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "ft_model.h"
#include "ui_view.h"

#define UI__NS 1000000000ull
#define UI__SCAN_MIN_NS (UI__NS / 2) /* CPU % over shorter spans is mostly tick noise */
#define UI__SCAN_EXTRA 32            /* other live processes read per scan, for the totals */

struct ui_dash {
  ft_loop *loop;
  ui_dash_opts o;
  char title[64];
  ft_model *model;
  ft_scan *scan;
  ft_model_snap *frozen; /* what a paused display shows */
  ui_view view;
  ui_grid grid;
  ui_term *term;
  ft_timer *timer;
  uint64_t period, last_scan;
  bool due, redraw;
  bool hooked, sleeping, watching, winch;
  ui_dash_state state;
  int signo; /* Ctrl-C, a key in a raw terminal, quits as SIGINT would */
  pid_t *visible;
  size_t capvisible;
  ui_meters meters;   /* the host's CPUs, memory, swap, load */
  char rc_path[4096]; /* forktoprc, "" when there is no home */
};

/* Feed an event. */
void ui_dash_event(const ft_event *ev, void *dash) {
  ui_dash *d = dash;
  ft_model_apply(d->model, ev);
}

static uint64_t ui__now(const ui_dash *d) {
  return d->o.replay ? ft_model_last_t(d->model) : ft_now_ns();
}

/* Read /proc for the rows on screen (and the selected one and forktop). */
static void ui__scan(ui_dash *d, uint64_t now) {
  const ui_view *v = &d->view;
  size_t h = (size_t)(v->layout.list[UI_P_TREE].h > 0 ? v->layout.list[UI_P_TREE].h : 0);
  if (h + 2 > d->capvisible) {
    pid_t *p = realloc(d->visible, (h + 2) * sizeof *p);
    if (!p)
      return;
    d->visible = p;
    d->capvisible = h + 2;
  }
  size_t n = 0;
  for (size_t i = v->top[UI_P_TREE]; v->snap && i < v->nrows && n < h; i++)
    if (!v->rows[i].host) /* a remote pid is not ours to read: its agent reads it */
      d->visible[n++] = v->snap->procs[v->rows[i].proc].pid;
  if (v->sel_pid && !v->sel_host)
    d->visible[n++] = v->sel_pid;
  d->visible[n++] = getpid();
  ft_scan_update(d->scan, d->model, d->visible, n, UI__SCAN_EXTRA, now);
  if (v->meters_on)
    ui_meters_read(&d->meters, "/proc");
  d->last_scan = now;
}

/* The pipes panel: the shown process's pipes and everyone's rates, read
 * at most twice a second while it is open, at once when it changes. */
static void ui__io(ui_dash *d, uint64_t now) {
  ui_view *v = &d->view;
  pid_t pid = ui_view_output_pid(v);
  if (!pid || ui_view_output_host(v))
    pid = getpid(); /* a remote process's fds are on its host: never read a local namesake's */
  if (v->io.pid == pid && v->io.t && now < v->io.t + UI__SCAN_MIN_NS)
    return;
  const ft_model_snap *s = ft_model_snapshot(d->model);
  size_t n = 0;
  pid_t *among = malloc((s->nprocs + 1) * sizeof *among);
  if (!among)
    return;
  for (size_t i = 0; i < s->nprocs; i++)
    if (!s->procs[i].exited && !s->procs[i].host)
      among[n++] = s->procs[i].pid;
  ui_io_update(&v->io, pid, among, n, now);
  free(among);
}

/* The view's rows point into the snapshot it was built from, and an event
 * may since have grown (moved) the model's arrays: anything that reads the
 * rows between frames (the /proc reads, a key) rebuilds it first.  Paused,
 * the view shows a copy that never moves. */
static void ui__rebuild(ui_dash *d) {
  ui_view *v = &d->view;
  ui_view_build(v, v->paused && d->frozen ? d->frozen : ft_model_snapshot(d->model));
}

static void ui__frame(ui_dash *d) {
  ui_view *v = &d->view;
  uint64_t now = ui__now(d);
  if (d->due && !v->paused) {
    ft_model_tick(d->model, now);
    if (d->scan &&
        now >= d->last_scan + (d->period > UI__SCAN_MIN_NS ? d->period : UI__SCAN_MIN_NS)) {
      ui__rebuild(d);
      ui__scan(d, now);
    }
  }
  d->due = false;
  d->redraw = false;
  if (!v->paused)
    v->now = now;
  if (v->show_io && !v->paused && !d->o.replay) {
    ui__rebuild(d);
    ui__io(d, ft_now_ns());
  }
  ui_view_build(v, v->paused && d->frozen ? d->frozen : ft_model_snapshot(d->model));
  int w, h;
  ui_term_size(d->term, &w, &h);
  if (ui_grid_resize(&d->grid, w, h) < 0)
    return;
  ui_cells_render(&d->grid, v);
  ui_term_draw(d->term, &d->grid);
}

static void ui__before_sleep(ft_loop *loop, void *ud) {
  (void)loop;
  ui_dash *d = ud;
  if (d->due || d->redraw)
    ui__frame(d);
}

static void ui__tick(ft_timer *t, void *ud) {
  (void)t;
  ui_dash *d = ud;
  d->due = true;
}

/* Ctrl-Z (a key in the raw terminal, or SIGTSTP from outside): the
 * terminal goes back to the shell and the workload stops with us; when the
 * shell continues us (fg), they go on too and the screen is drawn again. */
void ui_dash_suspend(ui_dash *d) {
  ui_term_suspend(d->term);
  ft_loop_signal_all(d->loop, SIGSTOP);
  raise(SIGSTOP); /* returns once the shell continues us */
  /* cppcheck-suppress unreachableCode ; raise(SIGSTOP) returns after SIGCONT */
  ft_loop_signal_all(d->loop, SIGCONT);
  ui_term_resume(d->term);
  d->redraw = true;
}

/* A remote process is signalled through its host's launcher, never by a
 * local kill(2) of its pid: that number may be a live local process. */
static void ui__signal_host(ui_dash *d, ui_action a) {
  ui_view *v = &d->view;
  char msg[160];
  const char *host = v->snap ? ui_hosts_name(v->snap, a.host) : "?";
  int rc = ft_loop_signal_host(d->loop, a.host, a.pid, a.signo);
  if (rc == 0)
    snprintf(msg, sizeof msg, "sent %s to %d on host %.40s", ft_signal_name(a.signo), (int)a.pid,
             host);
  else
    snprintf(msg, sizeof msg, "cannot signal %d on host %.40s: %s", (int)a.pid, host,
             rc == -ESRCH ? "no launcher of that host runs it" : ft_strerror(rc));
  ui_view_say(v, msg);
}

/* The signal menu with tagged processes: each of them still alive in the
 * model, never forktop itself.
 *
 * The race: a tagged process may have exited since it was tagged, and its
 * pid be given to another process.  Every process of the tree is reaped by
 * forktop (its parent or, as a child subreaper, its adopter) on this loop,
 * and the exit event reaches the model in the same turn, before any key is
 * read; so a pid the model still holds alive has not been reaped and
 * cannot have been reused.  The view also drops tags of exited rows. */
static void ui__signal_tagged(ui_dash *d, int signo) {
  ui_view *v = &d->view;
  size_t sent = 0, failed = 0;
  for (size_t i = 0; i < v->ntagged; i++) {
    pid_t pid = v->tagged[i];
    if (pid == getpid() || !ft_model_alive(d->model, pid))
      continue;
    if (kill(pid, signo) == 0)
      sent++;
    else
      failed++;
  }
  char msg[96];
  snprintf(msg, sizeof msg, "sent %s to %zu tagged processes%s", ft_signal_name(signo), sent,
           failed ? " (some could not be signalled)" : "");
  ui_view_say(v, msg);
  v->ntagged = 0; /* htop untags after a kill */
}

/* Save the settings if they changed (F2, F5, F6, I, p). */
static void ui__save(ui_dash *d) {
  ui_view *v = &d->view;
  if (!v->settings_changed || !d->rc_path[0])
    return;
  int rc = ui_rc_save(v, d->rc_path);
  if (rc < 0) {
    char msg[128];
    snprintf(msg, sizeof msg, "cannot save the settings: %s", strerror(-rc));
    ui_view_say(v, msg);
  }
  v->settings_changed = false;
}

static void ui__act(ui_dash *d, ui_action a) {
  ui_view *v = &d->view;
  char msg[96];
  switch (a.kind) {
  case UI_ACT_QUIT:
  case UI_ACT_DETACH:
    d->state = a.kind == UI_ACT_QUIT ? UI_DASH_QUIT : UI_DASH_DETACH;
    d->signo = a.signo;
    ft_loop_stop(d->loop);
    break;
  case UI_ACT_SIGNAL:
    if (v->readonly || v->replay) /* never, whatever asked */
      break;
    if (!a.pid) {
      ui__signal_tagged(d, a.signo);
      break;
    }
    /* the engine reaps it and reports the exit; the model shows the result */
    if (a.host) {
      ui__signal_host(d, a);
      break;
    }
    /* The row may be a paused (frozen) picture, or the menu was open while
     * it exited: ask the live model, or its pid may be someone else's by now. */
    if (!ft_model_alive(d->model, a.pid)) {
      snprintf(msg, sizeof msg, "process %d has exited: no signal sent", (int)a.pid);
      ui_view_say(v, msg);
      break;
    }
    if (kill(a.pid, a.signo) == 0)
      snprintf(msg, sizeof msg, "sent %s to %d", ft_signal_name(a.signo), (int)a.pid);
    else
      snprintf(msg, sizeof msg, "cannot signal %d: %s", (int)a.pid, strerror(errno));
    ui_view_say(v, msg);
    break;
  case UI_ACT_SUSPEND:
    ui_dash_suspend(d);
    break;
  case UI_ACT_PAUSE:
    ft_model_snap_free(d->frozen);
    d->frozen = NULL;
    if (v->paused && ft_model_snap_copy(ft_model_snapshot(d->model), &d->frozen) < 0)
      v->paused = false; /* no memory for a copy: keep showing it live */
    break;
  default:
    break;
  }
}

static void ui__on_stdin(int fd, uint32_t events, void *ud) {
  ui_dash *d = ud;
  ui_key k;
  /* bounded: a terminal that never runs dry must not hold the loop */
  for (int n = 0; n < 256 && ui_term_key(d->term, &k); n++) {
    d->redraw = true;
    ui__rebuild(d);
    if (k.code != UI_K_NONE) {
      bool setup = d->view.mode == UI_MODE_SETUP;
      ui__act(d, ui_keys_handle(&d->view, &k));
      if (setup && d->view.mode != UI_MODE_SETUP)
        ui__save(d); /* leaving the setup screen saves, as htop does */
    }
  }
  /* The terminal went away: nobody is watching any more.  Stop reading
   * (a hung-up fd is always readable) and let the caller stop the work. */
  if (events & (EPOLLHUP | EPOLLERR)) {
    ft_loop_unwatch_fd(d->loop, fd);
    d->watching = false;
    if (d->state == UI_DASH_RUNNING)
      d->state = UI_DASH_QUIT;
    ft_loop_stop(d->loop);
  }
}

static void ui__on_winch(int signo, void *ud) {
  (void)signo;
  ui_dash *d = ud;
  ui_term_resize(d->term);
  d->redraw = true;
}

/* Take over the terminal and wire the dashboard to the loop. */
int ui_dash_new(ft_loop *loop, const ui_dash_opts *o, ui_dash **out) {
  int rc;
  ui_dash *d = calloc(1, sizeof *d);
  if (!d)
    return -ENOMEM;
  d->loop = loop;
  d->o = *o;
  snprintf(d->title, sizeof d->title, "%s", o->title ? o->title : "");
  d->o.title = d->title;
  int tenths = o->delay_tenths > 0 ? o->delay_tenths : 1;
  d->period = (uint64_t)tenths * UI__NS / 10;
  ft_model_opts mo = {.root_pid = o->replay ? 0 : getpid(), .t0 = o->replay ? 0 : ft_now_ns()};
  if ((rc = ft_model_new(&mo, &d->model)) < 0)
    goto fail;
  if (!o->replay && (rc = ft_scan_new(&d->scan)) < 0)
    goto fail;
  if ((rc = ui_term_open(&d->term)) < 0)
    goto fail;
  ui_view_init(&d->view, d->title, o->ascii, ui_term_utf8(d->term), o->replay);
  d->view.observer = o->observer;
  d->view.readonly = o->readonly;
  d->view.meters = o->replay ? NULL : &d->meters; /* a recording has no host to show */
  if (!o->replay)
    ui_meters_read(&d->meters, "/proc");
  if (ui_rc_path(d->rc_path, sizeof d->rc_path) < 0)
    d->rc_path[0] = '\0';
  else
    ui_rc_load(&d->view, d->rc_path); /* a file that cannot be read: the defaults */
  if (!o->replay) {
    if ((rc = ft_loop_add_hook(loop, ui_dash_event, d)) < 0)
      goto fail;
    d->hooked = true;
  }
  if ((rc = ft_loop_add_before_sleep(loop, ui__before_sleep, d)) < 0)
    goto fail;
  d->sleeping = true;
  if ((rc = ft_loop_watch_fd(loop, STDIN_FILENO, false, ui__on_stdin, d)) < 0)
    goto fail;
  d->watching = true;
  if ((rc = ft_loop_on_signal(loop, SIGWINCH, ui__on_winch, d)) < 0)
    goto fail;
  d->winch = true;
  if ((rc = ft_timer_new(loop, &d->timer)) < 0 ||
      (rc = ft_timer_start(d->timer, d->period, d->period, ui__tick, d)) < 0)
    goto fail;
  d->redraw = true;
  *out = d;
  return 0;
fail:
  ui_dash_free(d);
  return rc;
}

/* The workload has finished. */
void ui_dash_set_finished(ui_dash *d, int exit_status) {
  d->view.finished = true;
  d->view.exit_status = exit_status;
  d->view.t_end = ui__now(d);
  d->due = true; /* one last tick: the final rates and totals */
  d->redraw = true;
}

/* A note for the header (how a watched tree is seen). */
void ui_dash_set_note(ui_dash *d, const char *note) {
  snprintf(d->view.note, sizeof d->view.note, "%s", note ? note : "");
  d->redraw = true;
}

/* What the user asked. */
ui_dash_state ui_dash_state_get(const ui_dash *d) { return d->state; }

/* The signal a quit stands for (SIGINT for Ctrl-C), or 0. */
int ui_dash_signal(const ui_dash *d) { return d->signo; }

/* Restore the terminal and free. */
void ui_dash_free(ui_dash *d) {
  if (!d)
    return;
  if (d->hooked)
    ft_loop_remove_hook(d->loop, ui_dash_event, d);
  if (d->sleeping)
    ft_loop_remove_before_sleep(d->loop, ui__before_sleep, d);
  if (d->watching)
    ft_loop_unwatch_fd(d->loop, STDIN_FILENO);
  if (d->winch)
    ft_loop_on_signal(d->loop, SIGWINCH, NULL, NULL);
  if (d->term)
    ui__save(d);
  ft_timer_free(d->timer);
  ui_term_close(d->term);
  ft_model_snap_free(d->frozen);
  ft_scan_free(d->scan);
  ft_model_free(d->model);
  ui_view_free(&d->view);
  ui_grid_free(&d->grid);
  free(d->visible);
  free(d);
}
