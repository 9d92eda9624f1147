/* ui_run.c - forktop run (and map): load the workload, run it in a session
 * (ui_session.c: the dashboard, the headless printer or the JSON stream,
 * the signals, the linger), stop it cleanly, report what it did. */
#include "ui.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ft_guard.h"
#include "ft_watch.h"
#include "ui_dash.h"

/* What a run adds to the session. */
typedef struct ui_run {
  ui_session s;
  ft_runner *runner;
  bool noted; /* the dashboard shows why the work did not run as asked */
} ui_run;

static void ui_run_stop(void *ud) { ft_runner_stop(((ui_run *)ud)->runner, 2.0); }

static bool ui_run_done(void *ud) { return ft_runner_done(((ui_run *)ud)->runner); }

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

/* Work that did not start as asked is said in the dashboard's header as
 * soon as the runner knows it (headless and JSON say it in the summary). */
static void ui_note_problem(void *ud) {
  ui_run *r = ud;
  ft_run_summary sum;
  ft_runner_summary(r->runner, &sum);
  if (sum.error[0] && !r->noted) {
    char note[sizeof sum.error + 16];
    snprintf(note, sizeof note, "NOT AS ASKED: %s", sum.error);
    ui_dash_set_note(r->s.dash, note);
    r->noted = true;
  }
}

/* Guard a run (ft_guard.h): nothing it starts outlives forktop, whatever
 * kills forktop.  FORKTOP_NO_CGROUP=1 makes it go by the environment tag
 * alone (the tests try both ways).  NULL if it cannot: the run goes on. */
ft_guard *ui_guard_start_flags(unsigned flags) {
  const char *nocg = getenv("FORKTOP_NO_CGROUP");
  ft_guard *g = NULL;
  if (nocg && *nocg && strcmp(nocg, "0"))
    flags |= FT_GUARD_NO_CGROUP;
  int rc = ft_guard_start(flags, &g);
  if (rc < 0)
    fprintf(stderr, "forktop: cannot guard the run (%s): what it starts may outlive forktop\n",
            ft_strerror(rc));
  return g;
}

/* Guard a run (see ui_guard_start_flags). */
ft_guard *ui_guard_start(void) { return ui_guard_start_flags(0); }

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
int ui_run_plan(const ft_plan *plan, const char *path, const ui_opts *o, ft_event_cb hook,
                void *hook_ud) {
  ft_buf shown = {0};
  ui_run r = {0};
  ui_session *s = &r.s;
  ft_watch *w = NULL;
  int status = 2, rc;
  const char *name = ui_safe_cstr(&shown, plan->name); /* for the terminal */
  char detached[1024];
  snprintf(detached, sizeof detached,
           "forktop: the dashboard closed; %s goes on headless under pid %d (Ctrl-C stops it)\n",
           name, (int)getpid());
  ui_session_mode m = {.title = plan->name,
                       .headless = "running",
                       .detached = detached,
                       .guard = true,
                       .job_control = true,
                       .stop = ui_run_stop,
                       .done = ui_run_done,
                       .turn = ui_note_problem,
                       .ud = &r};
  if ((rc = ui_session_open(s, o, &m)) > 0)
    goto done;
  status = 1;
  if (rc < 0 || (rc = ft_runner_new(s->loop, plan, &r.runner)) < 0) {
    fprintf(stderr, "forktop: cannot start: %s\n", ft_strerror(rc));
    goto done;
  }
  /* What the workload's tasks and processes run (exec, shell, leak) is part
   * of it too: every descendant of forktop is watched, from before the
   * first fork, and reported under its real parent. */
  if ((rc = ft_watch_new(s->loop, getpid(), !o->scan_only, &w)) < 0) {
    fprintf(stderr, "forktop: cannot watch the workload's descendants: %s\n", ft_strerror(rc));
    goto done;
  }
  ui_session_show(s);
  if (!s->dash && o->mode != UI_JSON)
    printf("forktop %s: running %s (%s) under pid %d\n", FT_VERSION, name, path, (int)getpid());
  if (hook)
    ft_loop_add_hook(s->loop, hook, hook_ud);

  if ((rc = ft_runner_start(r.runner)) < 0)
    ui_session_complain(s, "forktop: %s: %s\n", name, ft_strerror(rc));
  else if ((rc = ui_session_run(s)) < 0)
    ui_session_complain(s, "forktop: loop: %s\n", ft_strerror(rc));
  if (rc < 0) {
    ft_runner_stop(r.runner, 0.5);
    s->quit = true; /* nothing more is shown or waited for */
  }
  uint64_t t_end = ft_now_ns(); /* the summary's time is the work's, not the user's */
  int lrc = ui_session_linger(s, ft_runner_exit_status(r.runner));
  if (rc >= 0)
    rc = lrc;
  /* What is still alive is killed while the runner counts, so that the
   * summary holds every exit (ft_loop_free would kill it unseen). */
  if (rc >= 0 && ft_runner_kill_rest(r.runner) > 0)
    rc = ui_session_wait(s, 1000ull * 1000 * 1000, NULL, NULL);
  ft_run_summary sum;
  ft_runner_summary(r.runner, &sum);
  status = s->signo ? 128 + s->signo : rc < 0 ? 1 : ft_runner_exit_status(r.runner);
  if (s->quit && !s->signo && !status)
    status = 1; /* stopped by the user before the work was done */
  /* Whatever the workload left behind (a leaked child, say) is killed and
   * reaped by ft_loop_free; the hooks still report those exits. */
  ft_runner_free(r.runner);
  r.runner = NULL;
  ft_watch_free(w);
  w = NULL;
  ui_session_free_loop(s);
  uint64_t now = ft_now_ns();
  if (o->mode == UI_JSON) {
    ui_json_summary(s->stream, plan->name, &sum, status, now);
  } else {
    ui_printer_finish(&s->pr); /* each queue's final counts */
    ui_print_summary(stdout, plan->name, &sum, (double)(t_end - s->t0) / 1e9, status);
  }
  if (s->record)
    ui_json_summary(s->record, plan->name, &sum, status, now);
  status = ui_session_streams_ok(s, status);
done:
  ui_session_end_dashboard(s);
  ft_runner_free(r.runner);
  ft_watch_free(w);
  ui_session_close(s);
  ft_buf_free(&shown);
  return status;
}
