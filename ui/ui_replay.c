/* ui_replay.c - play a recorded JSON event stream back, at its own pace or
 * faster: in the dashboard when there is a terminal, otherwise through the
 * same printers a live run uses. */
#include "ui.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ui_dash.h"

#define UI_REPLAY_BATCH 4096 /* events fed to the dashboard per loop turn, at most */
/* Longest line of a recording: an event's output line is at most 8 KiB,
 * which JSON escapes can make six times longer; this is ample. */
#define UI_REPLAY_LINE_MAX 1048576

/* A recording being read, one event at a time. */
typedef struct ui_reader {
  FILE *f;
  const char *path;
  ft_buf strings;
  char *line;
  size_t cap, lineno;
  char err[512]; /* why reading stopped, when it was an error */
  /* what the summary line says */
  unsigned spawns, exits, failed, remote;
  uint64_t done, tfail, last_t;
} ui_reader;

/* Is this line a JSON object with an "ev" we do not know (a newer forktop,
 * or the summary)?  Such lines are skipped; anything else is malformed. */
static bool ui_is_foreign_event(const char *line, size_t len) {
  json_error_t e;
  json_t *o = json_loadb(line, len, 0, &e);
  bool ok = json_is_object(o) && json_is_string(json_object_get(o, "ev"));
  json_decref(o);
  return ok;
}

/* Read one line into r->line (newline kept, NUL-terminated): its length,
 * 0 at the end, -1 for a read error or a line longer than
 * UI_REPLAY_LINE_MAX (r->err says which).  The bound keeps memory bounded
 * whatever the file is: `forktop replay /dev/zero` once grew by a
 * gigabyte a second looking for the end of its first line. */
static ssize_t ui_reader_line(ui_reader *r) {
  size_t n = 0;
  int c;
  while ((c = getc_unlocked(r->f)) != EOF) {
    if (n + 2 > r->cap) {
      if (r->cap >= UI_REPLAY_LINE_MAX + 2) {
        snprintf(r->err, sizeof r->err,
                 "%s:%zu: a line longer than %d bytes: not a forktop recording", r->path,
                 r->lineno + 1, UI_REPLAY_LINE_MAX);
        return -1;
      }
      size_t ncap = r->cap ? 2 * r->cap : 4096;
      ncap = ncap > UI_REPLAY_LINE_MAX + 2 ? UI_REPLAY_LINE_MAX + 2 : ncap;
      char *nl = realloc(r->line, ncap);
      if (!nl) {
        snprintf(r->err, sizeof r->err, "%s:%zu: out of memory", r->path, r->lineno + 1);
        return -1;
      }
      r->line = nl;
      r->cap = ncap;
    }
    r->line[n++] = (char)c;
    if (c == '\n')
      break;
  }
  if (ferror(r->f)) {
    snprintf(r->err, sizeof r->err, "%s: %s", r->path, strerror(errno));
    return -1;
  }
  if (r->line)
    r->line[n] = '\0';
  return (ssize_t)n;
}

/* The next event: 1, 0 at the end, -1 for a malformed or unreadable file
 * (r->err says which line and why). */
static int ui_reader_next(ui_reader *r, ft_event *ev) {
  ssize_t n;
  while ((n = ui_reader_line(r)) > 0) {
    r->lineno++;
    while (n > 0 && (r->line[n - 1] == '\n' || r->line[n - 1] == '\r'))
      n--;
    if (n == 0)
      continue;
    if (ft_event_from_json(r->line, (size_t)n, ev, &r->strings) < 0) {
      if (ui_is_foreign_event(r->line, (size_t)n))
        continue;
      snprintf(r->err, sizeof r->err, "%s:%zu: not a forktop event", r->path, r->lineno);
      return -1;
    }
    r->last_t = ev->t_ns;
    r->remote += ev->kind == FT_EV_SPAWN && ev->host; /* counted apart: their own hosts' */
    r->spawns += ev->kind == FT_EV_SPAWN && !ev->host;
    r->exits += ev->kind == FT_EV_EXIT && !ev->host;
    r->failed += ev->kind == FT_EV_EXIT && !ev->host && !ev->u.exit.orphan &&
                 (ev->u.exit.code || (ev->u.exit.signal && !ev->u.exit.requested));
    r->done += ev->kind == FT_EV_TASK_DONE;
    r->tfail += ev->kind == FT_EV_TASK_FAIL;
    return 1;
  }
  return n < 0 ? -1 : 0;
}

static void ui_sleep_until(uint64_t when) {
  struct timespec ts = {(time_t)(when / 1000000000ull), (long)(when % 1000000000ull)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
  }
}

/* ------------------------------------------------------------ dashboard */

typedef struct ui_rdash {
  ui_session s;
  ui_reader *r;
  const ui_opts *o;
  ft_timer *timer;
  uint64_t start;
  ft_event pending;
  bool have, ended;
  int status;
} ui_rdash;

/* Feed the events that are due (a bounded batch, so keys stay answered),
 * then sleep until the next one is. */
static void ui_feed(ft_timer *t, void *ud) {
  (void)t;
  ui_rdash *s = ud;
  for (int n = 0; n < UI_REPLAY_BATCH; n++) {
    if (!s->have) {
      int rc = ui_reader_next(s->r, &s->pending);
      if (rc <= 0) {
        s->ended = true;
        s->status = rc < 0 ? 2 : 0;
        ui_dash_set_finished(s->s.dash, s->status);
        return;
      }
      s->have = true;
    }
    if (s->o->speed > 0) {
      uint64_t due = s->start + (uint64_t)((double)s->pending.t_ns / s->o->speed),
               now = ft_now_ns();
      if (due > now) {
        ft_timer_start(s->timer, due - now, 0, ui_feed, s);
        return;
      }
    }
    ui_dash_event(&s->pending, s->s.dash);
    s->have = false;
  }
  ft_timer_start(s->timer, 1, 0, ui_feed, s);
}

/* Replay in the dashboard; -ENOTTY without a terminal or when the
 * dashboard cannot open (said; nothing was read). */
static int ui_replay_dash(ui_reader *r, const ui_opts *o, int *status) {
  ui_rdash x = {.r = r, .o = o};
  ui_session_mode m = {.title = r->path, .headless = "replaying", .replay = true};
  int rc;
  if ((rc = ui_session_open(&x.s, o, &m)) < 0 || (rc = ft_timer_new(x.s.loop, &x.timer)) < 0)
    goto fail;
  ui_session_show(&x.s);
  rc = -ENOTTY;
  if (!x.s.dash)
    goto fail;
  x.start = ft_now_ns();
  ft_timer_start(x.timer, 1, 0, ui_feed, &x);
  ui_session_until_quit(&x.s);
  if (!x.s.signo && !x.ended) /* Ctrl-C once it has all been shown is just a quit */
    x.s.signo = ui_dash_signal(x.s.dash);
  *status = x.s.signo ? 128 + x.s.signo : x.status;
  rc = 0;
fail:
  ft_timer_free(x.timer);
  ui_session_close(&x.s);
  return rc;
}

/* Replay path; returns the exit status (2 for an unreadable or malformed file). */
int ui_replay(const char *path, const ui_opts *o) {
  ui_reader r = {.path = path};
  if (!(r.f = fopen(path, "re"))) {
    fprintf(stderr, "forktop: %s: %s\n", path, strerror(errno));
    return 2;
  }
  ui_printer pr = {.out = stdout, .t0 = 0, .replay = true};
  ui_json json = {.out = stdout, .t0 = 0};
  int status = 0;
  bool shown = false;
  if (o->mode == UI_DASHBOARD) {
    int rc = ui_replay_dash(&r, o, &status);
    if (rc < 0 && rc != -ENOTTY) /* the loop could not be made */
      fprintf(stderr, "forktop: cannot open the dashboard (%s); replaying headless\n",
              ft_strerror(rc));
    shown = rc == 0;
  }
  if (!shown) {
    uint64_t start = ft_now_ns();
    if (o->mode == UI_JSON) { /* this stream's own start; the recording's is skipped */
      struct timespec wall;
      clock_gettime(CLOCK_REALTIME, &wall);
      ui_json_start(&json, &wall);
    }
    ft_event ev;
    int rc;
    while ((rc = ui_reader_next(&r, &ev)) > 0) {
      if (o->speed > 0)
        ui_sleep_until(start + (uint64_t)((double)ev.t_ns / o->speed));
      if (o->mode == UI_JSON)
        ui_json_event(&ev, &json);
      else
        ui_printer_event(&ev, &pr);
    }
    status = rc < 0 ? 2 : 0;
    ui_json_flush(&json);
  }
  if (r.err[0]) {
    fprintf(stderr, "forktop: %s\n", r.err);
    status = 2;
  }
  if (o->mode != UI_JSON && !shown)
    ui_printer_finish(&pr); /* each queue's final counts */
  if (o->mode != UI_JSON && status == 0)
    printf("summary (replayed): %u processes (%u exited, %u failed)%s%.0u%s, %llu tasks done, %llu "
           "failed, %.2f s recorded\n",
           r.spawns, r.exits, r.failed, r.remote ? " and " : "", r.remote,
           r.remote ? " on other hosts" : "", (unsigned long long)r.done,
           (unsigned long long)r.tfail, (double)r.last_t / 1e9);
  free(r.line);
  ft_buf_free(&r.strings);
  ui_json_free(&json);
  fclose(r.f);
  return status;
}
