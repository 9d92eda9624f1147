/* ui_replay.c - play a recorded JSON event stream back, at its own pace or
 * faster, through the same printers a live run uses. */
#include "ui.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Is this line a JSON object with an "ev" we do not know (a newer forktop,
 * or the summary)?  Such lines are skipped; anything else is malformed. */
static bool ui_is_foreign_event(const char *line, size_t len) {
  json_error_t e;
  json_t *o = json_loadb(line, len, 0, &e);
  bool ok = json_is_object(o) && json_is_string(json_object_get(o, "ev"));
  json_decref(o);
  return ok;
}

static void ui_sleep_until(uint64_t when) {
  struct timespec ts = {(time_t)(when / 1000000000ull), (long)(when % 1000000000ull)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
  }
}

/* Replay path; returns the exit status (2 for an unreadable or malformed file). */
int ui_replay(const char *path, const ui_opts *o) {
  FILE *f = fopen(path, "re");
  if (!f) {
    fprintf(stderr, "forktop: %s: %s\n", path, strerror(errno));
    return 2;
  }
  ui_printer pr = {.out = stdout, .t0 = 0};
  ui_json json = {.out = stdout, .t0 = 0};
  ft_buf strings = {0};
  char *line = NULL;
  size_t cap = 0, lineno = 0;
  ssize_t n;
  int status = 0;
  unsigned spawns = 0, exits = 0, failed = 0;
  uint64_t done = 0, tfail = 0, last_t = 0;
  uint64_t start = ft_now_ns();
  while ((n = getline(&line, &cap, f)) > 0) {
    lineno++;
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
      n--;
    if (n == 0)
      continue;
    ft_event ev;
    if (ft_event_from_json(line, (size_t)n, &ev, &strings) < 0) {
      if (ui_is_foreign_event(line, (size_t)n))
        continue;
      fprintf(stderr, "forktop: %s:%zu: not a forktop event\n", path, lineno);
      status = 2;
      break;
    }
    if (o->speed > 0)
      ui_sleep_until(start + (uint64_t)((double)ev.t_ns / o->speed));
    last_t = ev.t_ns;
    spawns += ev.kind == FT_EV_SPAWN;
    exits += ev.kind == FT_EV_EXIT;
    failed += ev.kind == FT_EV_EXIT && !ev.u.exit.orphan && (ev.u.exit.code || (ev.u.exit.signal && !ev.u.exit.requested));
    done += ev.kind == FT_EV_TASK_DONE;
    tfail += ev.kind == FT_EV_TASK_FAIL;
    if (o->mode == UI_JSON) {
      ui_json_event(&ev, &json);
    } else {
      ui_printer_event(&ev, &pr);
    }
  }
  if (ferror(f)) {
    fprintf(stderr, "forktop: %s: %s\n", path, strerror(errno));
    status = 2;
  }
  ui_json_flush(&json);
  if (o->mode != UI_JSON && status == 0)
    printf("summary (replayed): %u processes (%u exited, %u failed), %llu tasks done, %llu failed, "
           "%.2f s recorded\n",
           spawns, exits, failed, (unsigned long long)done, (unsigned long long)tfail,
           (double)last_t / 1e9);
  free(line);
  ft_buf_free(&strings);
  ft_buf_free(&json.buf);
  fclose(f);
  return status;
}
