/* ui_run.c - a session: load the workload, run it under the loop with the
 * dashboard, the headless printer or the JSON stream, stop it cleanly on
 * SIGINT / SIGTERM / SIGHUP (or q in the dashboard), report. */
#include "ui.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ft_guard.h"
#include "ft_watch.h"
#include "ui_dash.h"

typedef struct ui_session {
  ft_loop *loop;
  ft_runner *runner;
  ui_json *json, *record;
  ui_dash *dash;
  int signo;
  bool noted;            /* the dashboard shows why the work did not run as asked */
  char complaints[1024]; /* said while the dashboard had the screen */
} ui_session;

static void ui_on_signal(int signo, void *ud) {
  ui_session *s = ud;
  if (!s->signo)
    s->signo = signo;
  ft_runner_stop(s->runner, 2.0);
}

#define UI_LINGER_NS (3ull * 1000 * 1000 * 1000)

static void ui_wake(ft_timer *t, void *ud) {
  (void)t;
  (void)ud;
}

/* Ctrl-Z: the workload stops with us (SIGSTOP to every child), then we
 * stop; SIGCONT wakes us, and we wake them. */
static void ui_on_tstp(int signo, void *ud) {
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

static void ui_on_cont(int signo, void *ud) {
  (void)signo;
  ui_session *s = ud;
  ft_loop_signal_all(s->loop, SIGCONT);
}

static void ui_flush_streams(ft_loop *loop, void *ud) {
  (void)loop;
  ui_session *s = ud;
  if (s->json)
    ui_json_flush(s->json);
  if (s->record)
    ui_json_flush(s->record);
  /* The headless printer's lines leave once per loop turn even into a pipe
   * or a file (stdio would hold them in a block until the end). */
  if (!s->dash)
    fflush(stdout);
}

static void ui_print_summary(FILE *f, const char *name, const ft_run_summary *sum, double secs,
                             int status) {
  ft_buf safe = {0}; /* the name comes from the file, the error names its parts */
  name = ui_safe_cstr(&safe, name);
  fprintf(f, "summary: %s: %u processes (%u exited, %u failed", name, sum->processes, sum->exited,
          sum->failed);
  if (sum->orphans)
    fprintf(f, ", %u orphans reaped", sum->orphans);
  if (sum->not_started)
    fprintf(f, ", %u not started", sum->not_started);
  fprintf(f, "), %llu tasks (%llu done, %llu failed", (unsigned long long)sum->tasks,
          (unsigned long long)sum->tasks_done, (unsigned long long)sum->tasks_failed);
  if (sum->tasks_not_run)
    fprintf(f, ", %llu not run", (unsigned long long)sum->tasks_not_run);
  fprintf(f, "), %.2f s%s, exit status %d\n", secs, sum->interrupted ? ", interrupted" : "",
          status);
  if (sum->error[0]) {
    fprintf(f, "forktop: %s: did not run as asked: ", name);
    fprintf(f, "%s\n", ui_safe_cstr(&safe, sum->error));
  }
  ft_buf_free(&safe);
}

/* While the dashboard owns the terminal, a message printed to stderr would
 * be drawn over: it is kept and printed once the terminal is restored. */
static void ui_complain(ui_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ui_complain(ui_session *s, const char *fmt, ...) {
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

static void ui_complaints_flush(ui_session *s) {
  fputs(s->complaints, stderr);
  s->complaints[0] = '\0';
}

/* Open the dashboard; without a terminal (or when it cannot open) the
 * session runs headless, and says why unless it was simply no terminal. */
static void ui_open_dashboard(ui_session *s, const char *name, const ui_opts *o) {
  ui_dash_opts d = {.title = name, .delay_tenths = o->delay_tenths, .ascii = o->ascii};
  int rc = ui_dash_new(s->loop, &d, &s->dash);
  if (rc < 0 && rc != -ENOTTY)
    fprintf(stderr, "forktop: cannot open the dashboard (%s); running headless\n", ft_strerror(rc));
  if (rc < 0)
    s->dash = NULL;
}

/* Work that did not start as asked is said in the dashboard's header as
 * soon as the runner knows it (headless and JSON say it in the summary). */
static void ui_note_problem(ui_session *s) {
  ft_run_summary sum;
  ft_runner_summary(s->runner, &sum);
  if (sum.error[0] && !s->noted) {
    char note[300];
    snprintf(note, sizeof note, "NOT AS ASKED: %s", sum.error);
    ui_dash_set_note(s->dash, note);
    s->noted = true;
  }
}

/* Guard a run (ft_guard.h): nothing it starts outlives forktop, whatever
 * kills forktop.  FORKTOP_NO_CGROUP=1 makes it go by the environment tag
 * alone (the tests try both ways).  NULL if it cannot: the run goes on. */
ft_guard *ui_guard_start(void) {
  const char *nocg = getenv("FORKTOP_NO_CGROUP");
  ft_guard *g = NULL;
  int rc = ft_guard_start(nocg && *nocg && strcmp(nocg, "0") ? FT_GUARD_NO_CGROUP : 0, &g);
  if (rc < 0)
    fprintf(stderr, "forktop: cannot guard the run (%s): what it starts may outlive forktop\n",
            ft_strerror(rc));
  return g;
}

/* Run a workload in the dashboard, headless or as JSON; returns the exit status. */
int ui_run_workload(const char *path, const ui_opts *o) {
  ft_buf err = {0}, shown = {0};
  ft_plan *plan = NULL;
  int status = 2, rc;
  if ((rc = ft_plan_load(path, o->sets, o->nsets, &plan, &err)) < 0) {
    if (!err.len) /* err is an ft_buf: not NUL-terminated */
      ft_buf_printf(&err, "%s", ft_strerror(rc));
    ui_sanitize(err.data, err.len, &shown);
    fprintf(stderr, "forktop: %.*s\n", (int)shown.len, shown.data ? shown.data : "");
  } else {
    status = ui_run_plan(plan, path, o, NULL, NULL);
  }
  ft_buf_free(&err);
  ft_buf_free(&shown);
  ft_plan_free(plan);
  return status;
}

/* Run a plan (from a file, or built by map) in the dashboard, headless or
 * as JSON, hook (when given) hearing every event too; returns the exit
 * status. */
int ui_run_plan(const ft_plan *plan, const char *path, const ui_opts *o, ft_event_fn hook,
                void *hook_ud) {
  ft_buf shown = {0};
  ft_loop *loop = NULL;
  ui_session s = {0};
  ui_printer pr = {.out = stdout};
  ui_json json = {.out = stdout}, rec = {0};
  ft_watch *w = NULL;
  ft_guard *guard = NULL;
  int status = 2, rc;

  if (o->record && (rc = ui_file_create(o->record, &rec.out)) < 0) {
    fprintf(stderr, "forktop: --record %s: %s\n", o->record, strerror(-rc));
    goto done;
  }
  const char *name = ui_safe_cstr(&shown, plan->name); /* for the terminal */
  status = 1;
  guard = ui_guard_start(); /* before the run's first fork */
  if ((rc = ft_loop_new(&loop)) < 0 || (rc = ft_runner_new(loop, plan, &s.runner)) < 0) {
    fprintf(stderr, "forktop: cannot start: %s\n", ft_strerror(rc));
    goto done;
  }
  s.loop = loop;
  ft_guard_bind(guard, loop);
  /* What the workload's tasks and processes run (exec, shell, leak) is part
   * of it too: every descendant of forktop is watched, from before the
   * first fork, and reported under its real parent. */
  if ((rc = ft_watch_new(loop, getpid(), !o->scan_only, &w)) < 0) {
    fprintf(stderr, "forktop: cannot watch the workload's descendants: %s\n", ft_strerror(rc));
    goto done;
  }
  uint64_t t0 = ft_now_ns();
  pr.t0 = json.t0 = rec.t0 = t0;
  if (o->mode == UI_DASHBOARD)
    ui_open_dashboard(&s, plan->name, o);
  if (o->mode == UI_JSON) {
    s.json = &json;
    ft_loop_add_hook(loop, ui_json_event, &json);
  } else if (!s.dash) {
    ft_loop_add_hook(loop, ui_printer_event, &pr);
    printf("forktop %s: running %s (%s) under pid %d\n", FT_VERSION, name, path, (int)getpid());
  }
  if (rec.out) {
    s.record = &rec;
    ft_loop_add_hook(loop, ui_json_event, &rec);
  }
  if (hook)
    ft_loop_add_hook(loop, hook, hook_ud);
  ft_loop_add_before_sleep(loop, ui_flush_streams, &s);
  ft_loop_on_signal(loop, SIGINT, ui_on_signal, &s);
  ft_loop_on_signal(loop, SIGTERM, ui_on_signal, &s);
  ft_loop_on_signal(loop, SIGHUP, ui_on_signal, &s);
  ft_loop_on_signal(loop, SIGTSTP, ui_on_tstp, &s);
  ft_loop_on_signal(loop, SIGCONT, ui_on_cont, &s);

  bool quit = false;
  if ((rc = ft_runner_start(s.runner)) < 0)
    ui_complain(&s, "forktop: %s: %s\n", name, ft_strerror(rc));
  while (rc >= 0 && !ft_runner_done(s.runner)) {
    if ((rc = ft_loop_run(loop, FT_RUN_ONCE)) < 0)
      ui_complain(&s, "forktop: loop: %s\n", ft_strerror(rc));
    if (!s.dash || quit)
      continue;
    ui_note_problem(&s);
    if (ui_dash_state_get(s.dash) == UI_DASH_QUIT) {
      /* q (after asking) or Ctrl-C: stop the work, then leave */
      quit = true;
      if (!s.signo)
        s.signo = ui_dash_signal(s.dash);
      ft_runner_stop(s.runner, 2.0);
    } else if (ui_dash_state_get(s.dash) == UI_DASH_DETACH) {
      /* leave it running headless: the printer takes over the terminal */
      ui_dash_free(s.dash);
      s.dash = NULL;
      ft_loop_add_hook(loop, ui_printer_event, &pr);
      printf("forktop: the dashboard closed; %s goes on headless under pid %d (Ctrl-C stops it)\n",
             name, (int)getpid());
      fflush(stdout);
    }
  }
  if (rc < 0)
    ft_runner_stop(s.runner, 0.5);
  uint64_t t_end = ft_now_ns(); /* the summary's time is the work's, not the user's */
  bool lingered = false;
  if (s.dash && !quit && !s.signo && rc >= 0) {
    /* The work is done; the dashboard shows the final state (and what the
     * workload left behind, live) until the user quits, with q or Ctrl-C
     * alike: the exit status is the work's. */
    ui_note_problem(&s);
    ui_dash_set_finished(s.dash, ft_runner_exit_status(s.runner));
    while (!s.signo && rc >= 0 && ui_dash_state_get(s.dash) == UI_DASH_RUNNING)
      rc = ft_loop_run(loop, FT_RUN_ONCE);
    lingered = true;
  }
  /* the terminal is restored before anything more is printed */
  ui_dash_free(s.dash);
  s.dash = NULL;
  ui_complaints_flush(&s);
  ft_timer *linger = NULL;
  uint64_t until = ft_now_ns() + UI_LINGER_NS;
  if (!s.signo && !quit && !lingered && ft_timer_new(loop, &linger) == 0)
    ft_timer_start(linger, UI_LINGER_NS, 0, ui_wake, NULL);
  while (!s.signo && !quit && !lingered && rc >= 0 && ft_loop_children(loop) > 0 &&
         ft_now_ns() < until)
    rc = ft_loop_run(loop, FT_RUN_ONCE);
  ft_timer_free(linger);
  /* What is still alive is killed while the runner counts, so that the
   * summary holds every exit (ft_loop_free would kill it unseen). */
  if (rc >= 0 && ft_runner_kill_rest(s.runner) > 0 && ft_timer_new(loop, &linger) == 0) {
    until = ft_now_ns() + 1000ull * 1000 * 1000;
    ft_timer_start(linger, 1000ull * 1000 * 1000, 0, ui_wake, NULL);
    while (rc >= 0 && ft_loop_children(loop) > 0 && ft_now_ns() < until)
      rc = ft_loop_run(loop, FT_RUN_ONCE);
    ft_timer_free(linger);
  }
  ft_run_summary sum;
  ft_runner_summary(s.runner, &sum);
  status = s.signo ? 128 + s.signo : rc < 0 ? 1 : ft_runner_exit_status(s.runner);
  if (quit && !s.signo && !status)
    status = 1; /* stopped by the user before the work was done */
  /* Whatever the workload left behind (a leaked child, say) is killed and
   * reaped by ft_loop_free; the hooks still report those exits. */
  ft_runner_free(s.runner);
  s.runner = NULL;
  ft_watch_free(w);
  w = NULL;
  ft_loop_free(loop);
  loop = NULL;
  uint64_t now = ft_now_ns();
  if (o->mode == UI_JSON) {
    ui_json_summary(&json, plan->name, &sum, status, now);
  } else {
    ui_printer_finish(&pr); /* each queue's final counts */
    ui_print_summary(stdout, plan->name, &sum, (double)(t_end - t0) / 1e9, status);
  }
  if (rec.out)
    ui_json_summary(&rec, plan->name, &sum, status, now);
  if (json.failed || rec.failed) {
    fprintf(stderr, "forktop: writing the event stream failed\n");
    if (!status)
      status = 1;
  }
done:
  ui_dash_free(s.dash);
  ft_runner_free(s.runner);
  ft_watch_free(w);
  ft_loop_free(loop);
  ft_guard_free(guard); /* everything is reaped: the guardian may go */
  if (rec.out)
    fclose(rec.out);
  ft_buf_free(&json.buf);
  ft_buf_free(&rec.buf);
  ft_buf_free(&shown);
  fflush(stdout);
  return status;
}
