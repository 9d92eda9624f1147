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

#define UI_GRACE_NS (2ull * 1000 * 1000 * 1000)

/* What watching adds to the session. */
typedef struct ui_watcher {
  ui_session s;
  ft_timer *grace;
  ft_process *p; /* the command (NULL: -p) */
  ft_watch *w;
  bool stop, read_only;
  unsigned spawns, exits, failed, zombies, orphans, unknown;
} ui_watcher;

static void ui_tally(const ft_event *ev, void *ud) {
  ui_watcher *s = ud;
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
  ft_loop_signal_all(((ui_watcher *)ud)->s.loop, SIGKILL);
  ft_watch_signal(((ui_watcher *)ud)->w, SIGKILL);
}

/* Ctrl-C and friends, or q: a command we started is stopped, its whole
 * tree (SIGTERM now, SIGKILL after a grace period), as the man page says:
 * the command through the loop, every other process of the tree through
 * the watch; a tree we only watch (-p) is left alone, we just stop looking. */
static void ui_wstop(void *ud) {
  ui_watcher *s = ud;
  if (s->read_only) {
    s->stop = true;
    return;
  }
  ft_loop_signal_all(s->s.loop, SIGTERM);
  ft_watch_signal(s->w, SIGTERM);
  ft_timer_start(s->grace, UI_GRACE_NS, 0, ui_kill_all, s);
}

static bool ui_wdone(void *ud) {
  ui_watcher *s = ud;
  return s->stop || (s->p ? !ft_process_is_alive(s->p) : ft_watch_root_exited(s->w, NULL, NULL));
}

/* SIGKILL every child of ours: the command's leftovers, adopted as
 * orphans.  Only we can reap them, so none of these pids is reused. */
static bool ui_wkill_rest(void *ud) {
  (void)ud;
  char path[64];
  snprintf(path, sizeof path, "/proc/self/task/%d/children", (int)getpid());
  FILE *f = fopen(path, "re");
  int pid;
  while (f && fscanf(f, "%d", &pid) == 1)
    kill(pid, SIGKILL);
  if (f)
    fclose(f);
  return true;
}

/* Watch argv (started here) or an existing pid; returns the exit status. */
static int ui_watch(char *const *argv, pid_t target, const ui_opts *o) {
  ui_watcher x = {.read_only = !argv};
  ui_session *s = &x.s;
  int status = 1, rc;
  char title[64];
  if (argv)
    snprintf(title, sizeof title, "%s", argv[0]);
  else
    snprintf(title, sizeof title, "pid %d", (int)target);
  ui_session_mode m = {
      .title = title,
      .headless = "watching",
      .detached = "forktop: the dashboard closed; watching goes on headless (Ctrl-C stops it)\n",
      .observer = x.read_only,
      .guard = !x.read_only, /* a command's tree ends with us, whatever ends us */
      .hangup = true,
      .stop_signals_tree = true,
      .stop = ui_wstop,
      .done = ui_wdone,
      .ud = &x};
  if ((rc = ui_session_open(s, o, &m)) != 0 || (rc = ft_timer_new(s->loop, &x.grace)) < 0) {
    if (rc < 0)
      fprintf(stderr, "forktop: %s\n", ft_strerror(rc));
    status = rc < 0 ? 1 : rc;
    goto done;
  }
  if (!argv && kill(target, 0) < 0 && errno == ESRCH) {
    fprintf(stderr, "forktop: -p %d: %s\n", (int)target, strerror(errno));
    status = 2;
    goto done;
  }
  ui_session_show(s);
  ft_loop_add_hook(s->loop, ui_tally, &x);
  /* A command's tree is all of forktop's descendants (what it leaves
   * behind comes back to us), watched before the command starts so that
   * nothing it forks early is missed; a running tree is the target's. */
  ft_watch_opts wo = {
      .root = argv ? getpid() : target, .connector = !o->scan_only, .with_root = !argv};
  if ((rc = ft_watch_open(s->loop, &wo, &x.w)) < 0) {
    ui_session_end_dashboard(s);
    fprintf(stderr, "forktop: cannot watch%s: %s\n", argv ? "" : " that pid", ft_strerror(rc));
    status = argv ? 1 : 2;
    goto done;
  }
  /* Said before the command starts, so that its spawn comes after it. */
  bool connector = strcmp(ft_watch_mode(x.w), "connector") == 0;
  const char *how = connector ? "with the kernel's process-event connector (every process is seen)"
                    : o->scan_only
                        ? "by scanning /proc ten times a second (--scan)"
                        : "by scanning /proc ten times a second (the connector needs root)";
  if (s->dash)
    ui_dash_set_note(s->dash, connector ? "connector: every process seen" : "scanning /proc 10/s");
  else if (o->mode != UI_JSON && argv)
    printf("forktop %s: watching %s %s\n", FT_VERSION, argv[0], how);
  else if (o->mode != UI_JSON)
    printf("forktop %s: watching a running tree (pid %d) %s\n", FT_VERSION, (int)target, how);
  fflush(stdout);
  if (argv) {
    /* The command reads our stdin unless the dashboard reads the keys
     * there (then /dev/null).  If forktop dies, its whole tree is hung up
     * as by a terminal that closes, then killed (the guard: what setsid
     * or double-forked too); the command gets SIGHUP from the kernel as
     * well, which is all it gets where the guard could not start. */
    ft_process_opts po = {.argv = argv, .role = "command"};
    if (!s->dash)
      po.in.mode = FT_STDIO_INHERIT;
    ft_loop_set_parent_death_signal(s->loop, SIGHUP);
    if ((rc = ft_process_new(s->loop, &po, &x.p)) < 0 || (rc = ft_process_start(x.p)) < 0) {
      ui_session_end_dashboard(s);
      fprintf(stderr, "forktop: cannot run %s: %s\n", argv[0], ft_strerror(rc));
      status = rc == -ENOENT ? 127 : 126;
      goto done;
    }
    target = ft_process_pid(x.p);
  }
  ui_session_run(s);
  int code = 0, signo = 0;
  bool known = true;
  if (x.p && ft_process_exitcode(x.p, &code) == 0)
    status = code >= 0 ? code : 128 - code;
  else if (!x.p && ft_watch_root_exited(x.w, &code, &signo))
    status = signo ? 128 + signo : code >= 0 ? code : (known = false, 0);
  else
    status = 0;
  ui_session_linger(s, known ? status : -1);
  if (s->signo)
    status = 128 + s->signo, known = true;
  /* What the command left behind is killed while the watch still speaks
   * for the orphans reaped (ft_loop_free would kill it too, but a zombie
   * whose exit was told already would then be told again). */
  if (!x.read_only)
    ui_session_wait(s, UI_GRACE_NS, ui_wkill_rest, NULL);
  const char *mode = ft_watch_mode(x.w);
  ft_watch_finish(x.w); /* what ended unseen is told now */
  unsigned long long lost = ft_watch_lost(x.w);
  ft_watch_free(x.w);
  x.w = NULL;
  ft_timer_free(x.grace);
  x.grace = NULL;
  ui_session_free_loop(s); /* kills and reaps what the command left behind */
  double secs = (double)(ft_now_ns() - s->t0) / 1e9;
  ui_json *streams[2] = {s->stream, s->record};
  for (int k = 0; k < 2; k++) {
    if (!streams[k])
      continue;
    char st[16] = "null";
    if (known)
      snprintf(st, sizeof st, "%d", status);
    ft_buf_printf(&streams[k]->buf,
                  "{\"t\":%.6f,\"ev\":\"summary\",\"pid\":%d,\"mode\":\"%s\",\"processes\":%u,"
                  "\"exited\":%u,\"failed\":%u,\"unknown\":%u,\"orphans\":%u,\"zombies\":%u,"
                  "\"lost_events\":%llu,\"exit_status\":%s}\n",
                  secs, (int)target, mode, x.spawns, x.exits, x.failed, x.unknown, x.orphans,
                  x.zombies, lost, st);
    ui_json_flush(streams[k]);
  }
  status = ui_session_streams_ok(s, status);
  if (o->mode != UI_JSON) {
    char st[48] = "unknown (no connector)";
    if (known)
      snprintf(st, sizeof st, "%d", status);
    /* with the connector, an unknown status is an exit whose message
     * the kernel dropped (and taskstats too): said as such */
    printf("summary: %u processes seen (%u exited, %u failed, %u %s, %u orphans "
           "reaped), %u zombies, %.2f s, exit status %s\n",
           x.spawns, x.exits, x.failed, x.unknown,
           strcmp(mode, "connector") ? "with unknown status" : "exits not observed", x.orphans,
           x.zombies, secs, st);
    if (lost)
      printf("summary: the kernel dropped at least %llu process events (forktop lagged "
             "behind): processes that lived and died between two scans of /proc may be "
             "missing\n",
             lost);
  }
done:
  ui_session_end_dashboard(s);
  ft_watch_free(x.w);
  ft_timer_free(x.grace);
  ft_process_free(x.p);
  ui_session_close(s);
  return status;
}

/* forktop -- CMD ARGS */
int ui_watch_command(char *const *argv, const ui_opts *o) { return ui_watch(argv, 0, o); }

/* forktop -p PID */
int ui_watch_pid(pid_t pid, const ui_opts *o) { return ui_watch(NULL, pid, o); }
