/* ui_watch.c - `forktop -- CMD` and `forktop -p PID`: watch a whole process
 * tree that is not a workload file, in the dashboard, headless or as JSON. */
#include "ui.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ft_watch.h"
#include "ui_dash.h"

#define UI_LINGER_NS (3ull * 1000 * 1000 * 1000)
#define UI_GRACE_NS (2ull * 1000 * 1000 * 1000)

typedef struct ui_wsession {
  ft_loop *loop;
  ft_timer *grace;
  int signo;
  bool stop, read_only;
  unsigned spawns, exits, failed, zombies, orphans, unknown;
  ui_json *json, *record;
  ui_dash *dash;
  bool quit; /* the user asked the dashboard to stop the command */
} ui_wsession;

static void ui_tally(const ft_event *ev, void *ud) {
  ui_wsession *s = ud;
  if (ev->kind == FT_EV_SPAWN)
    s->spawns++;
  if (ev->kind == FT_EV_ZOMBIE)
    s->zombies++;
  if (ev->kind != FT_EV_EXIT)
    return;
  s->exits++;
  s->orphans += ev->u.exit.orphan;
  if (!ev->u.exit.signal && ev->u.exit.code < 0)
    s->unknown++;
  else if ((ev->u.exit.signal && !ev->u.exit.requested) || ev->u.exit.code)
    s->failed++;
}

static void ui_kill_all(ft_timer *t, void *ud) {
  (void)t;
  ft_loop_signal_all(((ui_wsession *)ud)->loop, SIGKILL);
}

static void ui_wstop(ui_wsession *s);

/* Give the terminal back (before anything is printed). */
static void ui_wclose(ui_wsession *s) {
  ui_dash_free(s->dash);
  s->dash = NULL;
}

/* Ctrl-C and friends: a command we started is stopped (SIGTERM, SIGKILL
 * after a grace period); a tree we only watch (-p) is left alone. */
static void ui_wsignal(int signo, void *ud) {
  ui_wsession *s = ud;
  if (!s->signo)
    s->signo = signo;
  if (s->read_only) {
    s->stop = true;
    return;
  }
  ui_wstop(s);
}

static void ui_wflush(ft_loop *loop, void *ud) {
  (void)loop;
  ui_wsession *s = ud;
  if (s->json)
    ui_json_flush(s->json);
  if (s->record)
    ui_json_flush(s->record);
}

static void ui_wake(ft_timer *t, void *ud) {
  (void)t;
  (void)ud;
}

/* Stop the command's tree: SIGTERM now, SIGKILL after the grace period. */
static void ui_wstop(ui_wsession *s) {
  ft_loop_signal_all(s->loop, SIGTERM);
  ft_timer_start(s->grace, UI_GRACE_NS, 0, ui_kill_all, s);
}

/* After a loop turn: what the user asked of the dashboard.  Returns false
 * when watching should end now. */
static bool ui_wdash(ui_wsession *s, ui_printer *pr) {
  if (!s->dash || s->quit)
    return true;
  ui_dash_state st = ui_dash_state_get(s->dash);
  if (st == UI_DASH_QUIT) {
    s->quit = true;
    if (!s->signo)
      s->signo = ui_dash_signal(s->dash);
    if (s->read_only)
      return false; /* not ours to stop: just stop looking */
    ui_wstop(s);
  } else if (st == UI_DASH_DETACH) {
    ui_dash_free(s->dash);
    s->dash = NULL;
    ft_loop_add_hook(s->loop, ui_printer_event, pr);
    printf("forktop: the dashboard closed; watching goes on headless (Ctrl-C stops it)\n");
    fflush(stdout);
  }
  return true;
}

/* SIGKILL every child of ours: the command's leftovers, adopted as
 * orphans.  Only we can reap them, so none of these pids is reused. */
static void ui_wkill_rest(void) {
  char path[64];
  snprintf(path, sizeof path, "/proc/self/task/%d/children", (int)getpid());
  FILE *f = fopen(path, "re");
  int pid;
  while (f && fscanf(f, "%d", &pid) == 1)
    kill(pid, SIGKILL);
  if (f)
    fclose(f);
}

/* Watch argv (started here) or an existing pid; returns the exit status. */
static int ui_watch(char *const *argv, pid_t target, const ui_opts *o) {
  ui_wsession s = {.read_only = !argv};
  ui_printer pr = {.out = stdout};
  ui_json json = {.out = stdout}, rec = {0};
  ft_process *p = NULL;
  ft_watch *w = NULL;
  ft_timer *linger = NULL;
  int status = 1, rc;
  if ((rc = ft_loop_new(&s.loop)) < 0 || (rc = ft_timer_new(s.loop, &s.grace)) < 0 ||
      (rc = ft_timer_new(s.loop, &linger)) < 0) {
    fprintf(stderr, "forktop: %s\n", ft_strerror(rc));
    goto done;
  }
  uint64_t t0 = ft_now_ns();
  pr.t0 = json.t0 = rec.t0 = t0;
  int frc;
  if (o->record && (frc = ui_file_create(o->record, &rec.out)) < 0) { /* never through a symlink */
    fprintf(stderr, "forktop: --record %s: %s\n", o->record, strerror(-frc));
    status = 2;
    goto done;
  }
  if (!argv && kill(target, 0) < 0 && errno == ESRCH) {
    fprintf(stderr, "forktop: -p %d: %s\n", (int)target, strerror(errno));
    status = 2;
    goto done;
  }
  char title[64];
  if (argv)
    snprintf(title, sizeof title, "%s", argv[0]);
  else
    snprintf(title, sizeof title, "pid %d", (int)target);
  if (o->mode == UI_DASHBOARD) {
    /* opened before watching starts: the first scan reports the tree at once */
    ui_dash_opts d = {.title = title,
                      .delay_tenths = o->delay_tenths,
                      .ascii = o->ascii,
                      .observer = s.read_only};
    rc = ui_dash_new(s.loop, &d, &s.dash);
    if (rc < 0 && rc != -ENOTTY)
      fprintf(stderr, "forktop: cannot open the dashboard (%s); watching headless\n",
              ft_strerror(rc));
    if (rc < 0)
      s.dash = NULL;
  }
  if (o->mode == UI_JSON) {
    s.json = &json;
    ft_loop_add_hook(s.loop, ui_json_event, &json);
  } else if (!s.dash) {
    ft_loop_add_hook(s.loop, ui_printer_event, &pr);
  }
  if (rec.out) {
    s.record = &rec;
    ft_loop_add_hook(s.loop, ui_json_event, &rec);
  }
  ft_loop_add_hook(s.loop, ui_tally, &s);
  ft_loop_add_before_sleep(s.loop, ui_wflush, &s);
  ft_loop_on_signal(s.loop, SIGINT, ui_wsignal, &s);
  ft_loop_on_signal(s.loop, SIGTERM, ui_wsignal, &s);
  ft_loop_on_signal(s.loop, SIGHUP, ui_wsignal, &s);
  /* A command's tree is all of forktop's descendants (what it leaves
   * behind comes back to us), watched before the command starts so that
   * nothing it forks early is missed; a running tree is the target's. */
  ft_watch_opts wo = {
      .root = argv ? getpid() : target, .connector = !o->scan_only, .with_root = !argv};
  if ((rc = ft_watch_open(s.loop, &wo, &w)) < 0) {
    ui_wclose(&s);
    fprintf(stderr, "forktop: cannot watch%s: %s\n", argv ? "" : " that pid", ft_strerror(rc));
    status = argv ? 1 : 2;
    goto done;
  }
  if (argv) {
    /* The command reads our stdin unless the dashboard reads the keys
     * there (then /dev/null); it gets SIGHUP if forktop dies, as from a
     * terminal that closes. */
    ft_process_opts po = {.argv = argv, .role = "command"};
    if (!s.dash)
      po.in.mode = FT_STDIO_INHERIT;
    ft_loop_set_parent_death_signal(s.loop, SIGHUP);
    if ((rc = ft_process_new(s.loop, &po, &p)) < 0 || (rc = ft_process_start(p)) < 0) {
      ui_wclose(&s);
      fprintf(stderr, "forktop: cannot run %s: %s\n", argv[0], ft_strerror(rc));
      status = rc == -ENOENT ? 127 : 126;
      goto done;
    }
    target = ft_process_pid(p);
  }
  bool connector = strcmp(ft_watch_mode(w), "connector") == 0;
  if (s.dash)
    ui_dash_set_note(s.dash, connector ? "connector: every process seen" : "scanning /proc 10/s");
  else if (o->mode != UI_JSON)
    printf("forktop %s: watching %s (pid %d) %s\n", FT_VERSION, argv ? argv[0] : "a running tree",
           (int)target,
           connector      ? "with the kernel's process-event connector (every process is seen)"
           : o->scan_only ? "by scanning /proc ten times a second (--scan)"
                          : "by scanning /proc ten times a second (the connector needs root)");
  fflush(stdout);
  while (!s.stop && (p ? ft_process_is_alive(p) : !ft_watch_root_exited(w, NULL, NULL)))
    if (ft_loop_run(s.loop, FT_RUN_ONCE) < 0 || !ui_wdash(&s, &pr))
      break;
  int code = 0, signo = 0;
  bool known = true;
  if (p && ft_process_exitcode(p, &code) == 0)
    status = code >= 0 ? code : 128 - code;
  else if (!p && ft_watch_root_exited(w, &code, &signo))
    status = signo ? 128 + signo : code >= 0 ? code : (known = false, 0);
  else
    status = 0;
  if (s.dash && !s.quit && !s.signo) {
    /* The dashboard keeps showing the tree (and what the command left
     * behind, live) until the user quits, with q or Ctrl-C alike: the exit
     * status is the command's. */
    ui_dash_set_finished(s.dash, known ? status : -1);
    while (!s.signo && ui_dash_state_get(s.dash) == UI_DASH_RUNNING)
      if (ft_loop_run(s.loop, FT_RUN_ONCE) < 0)
        break;
  } else if (!s.quit) {
    /* what the command left gets a moment to end (and be reported) */
    uint64_t until = ft_now_ns() + UI_LINGER_NS;
    ft_timer_start(linger, UI_LINGER_NS, 0, ui_wake, NULL);
    while (!s.read_only && ft_loop_children(s.loop) > 0 && ft_now_ns() < until)
      ft_loop_run(s.loop, FT_RUN_ONCE);
  }
  ui_wclose(&s);
  if (s.signo)
    status = 128 + s.signo, known = true;
  if (!s.read_only) {
    /* What the command left behind is killed while the watch still
     * speaks for the orphans reaped (ft_loop_free would kill it too, but
     * a zombie whose exit was told already would then be told again). */
    uint64_t until = ft_now_ns() + UI_GRACE_NS;
    ft_timer_start(linger, UI_GRACE_NS, 0, ui_wake, NULL);
    while (ft_loop_children(s.loop) > 0 && ft_now_ns() < until) {
      ui_wkill_rest();
      ft_loop_run(s.loop, FT_RUN_ONCE);
    }
  }
  const char *mode = ft_watch_mode(w);
  ft_watch_free(w); /* what ended unseen is told now */
  w = NULL;
  ft_timer_free(s.grace);
  s.grace = NULL;
  ft_timer_free(linger);
  linger = NULL;
  if (s.read_only)
    ft_loop_disown(s.loop); /* never ours to end */
  ft_loop_free(s.loop);     /* kills and reaps what the command left behind */
  s.loop = NULL;
  double secs = (double)(ft_now_ns() - t0) / 1e9;
  ui_json *streams[2] = {o->mode == UI_JSON ? &json : NULL, rec.out ? &rec : NULL};
  for (int k = 0; k < 2; k++) {
    if (!streams[k])
      continue;
    char st[16] = "null";
    if (known)
      snprintf(st, sizeof st, "%d", status);
    ft_buf_printf(&streams[k]->buf,
                  "{\"t\":%.6f,\"ev\":\"summary\",\"pid\":%d,\"mode\":\"%s\",\"processes\":%u,"
                  "\"exited\":%u,\"failed\":%u,\"unknown\":%u,\"orphans\":%u,\"zombies\":%u,"
                  "\"exit_status\":%s}\n",
                  secs, (int)target, mode, s.spawns, s.exits, s.failed, s.unknown, s.orphans,
                  s.zombies, st);
    ui_json_flush(streams[k]);
  }
  if (json.failed || rec.failed) {
    fprintf(stderr, "forktop: writing the event stream failed\n");
    if (!status)
      status = 1;
  }
  if (o->mode != UI_JSON) {
    char st[48] = "unknown (no connector)";
    if (known)
      snprintf(st, sizeof st, "%d", status);
    printf("summary: %u processes seen (%u exited, %u failed, %u with unknown status, %u orphans "
           "reaped), %u zombies, %.2f s, exit status %s\n",
           s.spawns, s.exits, s.failed, s.unknown, s.orphans, s.zombies, secs, st);
  }
done:
  ui_wclose(&s);
  ft_watch_free(w);
  ft_timer_free(linger);
  ft_timer_free(s.grace);
  ft_process_free(p);
  if (s.loop && s.read_only)
    ft_loop_disown(s.loop);
  ft_loop_free(s.loop);
  ft_buf_free(&json.buf);
  ft_buf_free(&rec.buf);
  if (rec.out)
    fclose(rec.out);
  fflush(stdout);
  return status;
}

/* forktop -- CMD ARGS */
int ui_watch_command(char *const *argv, const ui_opts *o) { return ui_watch(argv, 0, o); }

/* forktop -p PID */
int ui_watch_pid(pid_t pid, const ui_opts *o) { return ui_watch(NULL, pid, o); }
