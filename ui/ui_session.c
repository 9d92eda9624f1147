/* ui_session.c - the one session wiring of run (and map), watch and
 * replay: the loop, the dashboard or the headless printer or the JSON
 * stream, the recording, SIGINT / SIGTERM / SIGHUP (and Ctrl-Z where the
 * work is ours to stop), the dashboard's quit and detach, the linger once
 * the work is done, and the end of the streams.  The callers say how the
 * work starts, when it is done, how it stops, and what the summary says. */
#include "ui.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ft_guard.h"
#include "ui_dash.h"

#define UI_LINGER_NS (3ull * 1000 * 1000 * 1000)

/* Create the recording, the guard and the loop. */
int ui_session_open(ui_session *s, const ui_opts *o, const ui_session_mode *m) {
  int rc;
  *s = (ui_session){.m = *m, .o = o};
  s->pr.out = stdout;
  s->pr.replay = m->replay;
  s->json.out = stdout;
  if (o->record && (rc = ui_file_create(o->record, &s->rec.out)) < 0) {
    fprintf(stderr, "forktop: --record %s: %s\n", o->record, strerror(-rc));
    return 2;
  }
  if (m->guard)
    s->guard = ui_guard_start_flags(m->hangup ? FT_GUARD_HANGUP : 0); /* before the first fork */
  if ((rc = ft_loop_new(&s->loop)) < 0)
    return rc;
  ft_guard_bind(s->guard, s->loop);
  return 0;
}

/* SIGINT, SIGTERM, SIGHUP: the first one is the exit status; the work stops. */
static void ui_session_on_signal(int signo, void *ud) {
  ui_session *s = ud;
  if (!s->signo)
    s->signo = signo;
  if (s->m.stop)
    s->m.stop(s->m.ud);
}

/* Ctrl-Z: the workload stops with us (SIGSTOP to every child), then we
 * stop; SIGCONT wakes us, and we wake them. */
static void ui_session_on_tstp(int signo, void *ud) {
  (void)signo;
  ui_session *s = ud;
  if (s->dash) {
    ui_dash_suspend(s->dash);
    return;
  }
  fflush(stdout);
  ft_loop_signal_all(s->loop, SIGSTOP);
  raise(SIGSTOP);
}

static void ui_session_on_cont(int signo, void *ud) {
  (void)signo;
  ui_session *s = ud;
  ft_loop_signal_all(s->loop, SIGCONT);
}

/* Once per loop turn: the streams are written, and the headless printer's
 * lines leave even into a pipe or a file (stdio would hold them in a block
 * until the end). */
static void ui_session_flush(ft_loop *loop, void *ud) {
  (void)loop;
  ui_session *s = ud;
  if (s->stream)
    ui_json_flush(s->stream);
  if (s->record)
    ui_json_flush(s->record);
  if (!s->dash)
    fflush(stdout);
}

/* Open the dashboard and hook the printers to the loop. */
void ui_session_show(ui_session *s) {
  const ui_opts *o = s->o;
  struct timespec wall;
  clock_gettime(CLOCK_REALTIME, &wall);
  s->t0 = ft_now_ns();
  s->pr.t0 = s->json.t0 = s->rec.t0 = s->t0;
  if (o->mode == UI_DASHBOARD) {
    /* opened before the work starts: the first scan shows the tree at once */
    ui_dash_opts d = {.title = s->m.title,
                      .delay_tenths = o->delay_tenths,
                      .ascii = o->ascii,
                      .readonly = o->readonly,
                      .observer = s->m.observer,
                      .replay = s->m.replay};
    int rc = ui_dash_new(s->loop, &d, &s->dash);
    if (rc < 0 && rc != -ENOTTY)
      fprintf(stderr, "forktop: cannot open the dashboard (%s); %s headless\n", ft_strerror(rc),
              s->m.headless);
    if (rc < 0)
      s->dash = NULL;
  }
  if (o->mode == UI_JSON) {
    s->stream = &s->json;
    ui_json_start(&s->json, &wall);
    ft_loop_add_hook(s->loop, ui_json_event, &s->json);
  } else if (!s->dash) {
    ft_loop_add_hook(s->loop, ui_printer_event, &s->pr);
  } else { /* the summary after the dashboard has each queue's final counts */
    ft_loop_add_hook(s->loop, ui_printer_keep_queues, &s->pr);
  }
  if (s->rec.out) {
    s->record = &s->rec;
    ui_json_start(&s->rec, &wall);
    ft_loop_add_hook(s->loop, ui_json_event, &s->rec);
  }
  ft_loop_add_before_sleep(s->loop, ui_session_flush, s);
  ft_loop_on_signal(s->loop, SIGINT, ui_session_on_signal, s);
  ft_loop_on_signal(s->loop, SIGTERM, ui_session_on_signal, s);
  ft_loop_on_signal(s->loop, SIGHUP, ui_session_on_signal, s);
  if (s->m.job_control) {
    ft_loop_on_signal(s->loop, SIGTSTP, ui_session_on_tstp, s);
    ft_loop_on_signal(s->loop, SIGCONT, ui_session_on_cont, s);
  }
}

/* Turn the loop until the work is done, answering the dashboard. */
int ui_session_run(ui_session *s) {
  while (!s->m.done(s->m.ud)) {
    int rc = ft_loop_run(s->loop, FT_RUN_ONCE);
    if (rc < 0)
      return rc;
    if (!s->dash || s->quit)
      continue;
    if (s->m.turn)
      s->m.turn(s->m.ud);
    ui_dash_state st = ui_dash_state_get(s->dash);
    if (st == UI_DASH_QUIT) {
      /* q (after asking) or Ctrl-C: stop the work, then leave */
      s->quit = true;
      if (!s->signo)
        s->signo = ui_dash_signal(s->dash);
      s->m.stop(s->m.ud);
    } else if (st == UI_DASH_DETACH) {
      /* leave it running headless: the printer takes over the terminal */
      ui_dash_free(s->dash);
      s->dash = NULL;
      ft_loop_remove_hook(s->loop, ui_printer_keep_queues, &s->pr);
      ft_loop_add_hook(s->loop, ui_printer_event, &s->pr);
      printf("%s", s->m.detached);
      fflush(stdout);
    }
  }
  return 0;
}

/* While the dashboard owns the terminal, a message printed to stderr would
 * be drawn over: it is kept and printed once the terminal is restored. */
void ui_session_complain(ui_session *s, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (s->dash) {
    size_t n = strlen(s->complaints);
    vsnprintf(s->complaints + n, sizeof s->complaints - n, fmt, ap);
  } else {
    vfprintf(stderr, fmt, ap);
  }
  va_end(ap);
}

/* Give the terminal back, then say what was kept. */
void ui_session_end_dashboard(ui_session *s) {
  ui_dash_free(s->dash);
  s->dash = NULL;
  fputs(s->complaints, stderr);
  s->complaints[0] = '\0';
}

static void ui_session_wake(ft_timer *t, void *ud) {
  (void)t;
  (void)ud;
}

/* Turn the loop while it has children, for ns at most. */
int ui_session_wait(ui_session *s, uint64_t ns, bool (*go_on)(void *ud), void *ud) {
  ft_timer *t = NULL;
  uint64_t until = ft_now_ns() + ns;
  int rc = 0;
  if (ft_timer_new(s->loop, &t) == 0)
    ft_timer_start(t, ns, 0, ui_session_wake, NULL);
  while (rc >= 0 && ft_loop_children(s->loop) > 0 && ft_now_ns() < until && (!go_on || go_on(ud)))
    rc = ft_loop_run(s->loop, FT_RUN_ONCE);
  ft_timer_free(t);
  return rc;
}

/* Turn the loop until the user quits the dashboard or a signal comes. */
int ui_session_until_quit(ui_session *s) {
  int rc = 0;
  while (!s->signo && ui_dash_state_get(s->dash) == UI_DASH_RUNNING)
    if ((rc = ft_loop_run(s->loop, FT_RUN_ONCE)) < 0)
      break;
  return rc;
}

static bool ui_session_no_signal(void *ud) { return !((ui_session *)ud)->signo; }

/* The work is done: show the end, or give what it left a moment. */
int ui_session_linger(ui_session *s, int status) {
  int rc = 0;
  if (s->dash && !s->quit && !s->signo) {
    /* The dashboard shows the final state (and what the work left behind,
     * live) until the user quits, with q or Ctrl-C alike: the exit status
     * is the work's. */
    if (s->m.turn)
      s->m.turn(s->m.ud);
    ui_dash_set_finished(s->dash, status);
    rc = ui_session_until_quit(s);
  } else if (!s->quit && !s->m.observer) {
    /* What the work left gets a moment to end (and be reported); a signal
     * ends the wait, unless stopping the work signals them all (then the
     * wait is for them to go). */
    rc = ui_session_wait(s, UI_LINGER_NS, s->m.stop_signals_tree ? NULL : ui_session_no_signal, s);
  }
  /* the terminal is restored before anything more is printed */
  ui_session_end_dashboard(s);
  return rc;
}

/* Free the loop (an observed tree is disowned: never ours to end). */
void ui_session_free_loop(ui_session *s) {
  if (s->loop && s->m.observer)
    ft_loop_disown(s->loop);
  ft_loop_free(s->loop);
  s->loop = NULL;
}

/* A stream that could not be written fails the session. */
int ui_session_streams_ok(ui_session *s, int status) {
  if (s->json.failed || s->rec.failed) {
    fprintf(stderr, "forktop: writing the event stream failed\n");
    if (!status)
      status = 1;
  }
  return status;
}

/* Free what the session holds. */
void ui_session_close(ui_session *s) {
  ui_dash_free(s->dash);
  s->dash = NULL;
  ui_session_free_loop(s);
  ft_guard_free(s->guard); /* everything is reaped: the guardian may go */
  s->guard = NULL;
  if (s->rec.out)
    fclose(s->rec.out);
  s->rec.out = NULL;
  ui_json_free(&s->json);
  ui_json_free(&s->rec);
  fflush(stdout);
}
