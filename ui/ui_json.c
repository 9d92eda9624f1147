/* ui_json.c - the newline-delimited JSON event stream (--json, --record). */
#include "ui.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char **ui_argv; /* forktop's own command line, as it was given */

/* Keep forktop's command line for the start event (before anything
 * permutes argv): the strings stay where they are, the order is copied. */
void ui_json_set_argv(int argc, char *const *argv) {
  free(ui_argv);
  if ((ui_argv = calloc((size_t)argc + 1, sizeof *ui_argv)))
    memcpy(ui_argv, argv, (size_t)argc * sizeof *argv);
}

/* The first line: who wrote the stream, when (the wall clock at t0) and
 * where.  The strings are the stream's own (ft_json_append_string). */
void ui_json_start(ui_json *j, const struct timespec *wall) {
  ft_buf_printf(&j->buf,
                "{\"t\":0.0,\"ev\":\"start\",\"pid\":%d,\"ppid\":%d,\"version\":", (int)getpid(),
                (int)getppid());
  ft_json_append_string(&j->buf, FT_VERSION, strlen(FT_VERSION));
  ft_buf_append(&j->buf, ",\"argv\":[", 9);
  for (size_t i = 0; ui_argv && ui_argv[i]; i++) {
    if (i)
      ft_buf_append(&j->buf, ",", 1);
    ft_json_append_string(&j->buf, ui_argv[i], strlen(ui_argv[i]));
  }
  struct tm tm;
  char date[64] = "";
  if (gmtime_r(&wall->tv_sec, &tm))
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
  ft_buf_printf(&j->buf, "],\"wall\":%lld.%06ld,\"date\":\"%s.%06ldZ\",\"hostname\":",
                (long long)wall->tv_sec, wall->tv_nsec / 1000, date, wall->tv_nsec / 1000);
  char host[256] = "";
  if (gethostname(host, sizeof host - 1) < 0)
    host[0] = '\0';
  ft_json_append_string(&j->buf, host, strlen(host));
  ft_buf_append(&j->buf, "}\n", 2);
  ui_json_flush(j);
}

/* What the summary says of a remote host. */
typedef struct ui_jhost {
  uint32_t id;
  char name[96], launcher[16];
  char cause[640]; /* its launcher's words may be in it (srun's stderr: up to 512 bytes) */
  bool lost;
  unsigned processes, exited, failed;
} ui_jhost;

/* The record of host id (made, named "?" until its host event, when new). */
static ui_jhost *ui_jhost_of(ui_json *j, uint32_t id) {
  ui_jhost *h = (ui_jhost *)j->hosts.data;
  size_t n = j->hosts.len / sizeof *h;
  for (size_t i = 0; i < n; i++)
    if (h[i].id == id)
      return &h[i];
  ui_jhost fresh = {.id = id, .name = "?"};
  if (ft_buf_append(&j->hosts, &fresh, sizeof fresh) < 0)
    return NULL;
  return (ui_jhost *)(j->hosts.data + j->hosts.len) - 1;
}

/* Count a remote event into its host's record. */
static void ui_jhost_event(ui_json *j, const ft_event *ev) {
  ui_jhost *h = ui_jhost_of(j, ev->host);
  if (!h)
    return;
  if (ev->kind == FT_EV_HOST) {
    snprintf(h->name, sizeof h->name, "%s", ev->name);
    snprintf(h->launcher, sizeof h->launcher, "%s", ev->u.host.launcher ? ev->u.host.launcher : "");
    snprintf(h->cause, sizeof h->cause, "%s", ev->u.host.cause ? ev->u.host.cause : "");
    h->lost = ev->u.host.lost;
  } else if (ev->kind == FT_EV_SPAWN) {
    h->processes++;
  } else if (ev->kind == FT_EV_EXIT) {
    h->exited++;
    h->failed += ev->u.exit.signal ? !ev->u.exit.requested : ev->u.exit.code > 0;
  }
}

/* Free what the stream holds. */
void ui_json_free(ui_json *j) {
  ft_buf_free(&j->buf);
  ft_buf_free(&j->hosts);
}

/* Buffer one event as a JSON line; a big buffer is written at once. */
void ui_json_event(const ft_event *ev, void *ud) {
  ui_json *j = ud;
  if (ev->host)
    ui_jhost_event(j, ev);
  ft_event_to_json(ev, j->t0, &j->buf);
  if (j->buf.len >= (1u << 16))
    ui_json_flush(j);
}

/* Write what is buffered (called once per loop turn, before sleeping). */
void ui_json_flush(ui_json *j) {
  if (!j->buf.len)
    return;
  if (!j->failed && (fwrite(j->buf.data, 1, j->buf.len, j->out) != j->buf.len || fflush(j->out)))
    j->failed = true;
  ft_buf_reset(&j->buf);
}

/* The last line: the counts and the exit status.  The workload's name and
 * the error (which names parts of the file) are strings from a file:
 * written by the stream's own string rules (ft_json_append_string). */
void ui_json_summary(ui_json *j, const char *workload, const ft_run_summary *s, int status,
                     uint64_t now) {
  ft_buf_printf(&j->buf, "{\"t\":%.6f,\"ev\":\"summary\",\"workload\":",
                now > j->t0 ? (double)(now - j->t0) / 1e9 : 0.0);
  ft_json_append_string(&j->buf, workload, strlen(workload));
  ft_buf_printf(&j->buf,
                ",\"processes\":%u,\"exited\":%u,\"failed\":%u,\"orphans\":%u,\"not_started\":%u,"
                "\"tasks\":%llu,\"tasks_done\":%llu,\"tasks_failed\":%llu,\"tasks_not_run\":%llu,"
                "\"interrupted\":%s,",
                s->processes, s->exited, s->failed, s->orphans, s->not_started,
                (unsigned long long)s->tasks, (unsigned long long)s->tasks_done,
                (unsigned long long)s->tasks_failed, (unsigned long long)s->tasks_not_run,
                s->interrupted ? "true" : "false");
  if (s->error[0]) { /* why the work did not run as asked */
    ft_buf_append(&j->buf, "\"error\":", 8);
    ft_json_append_string(&j->buf, s->error, strlen(s->error));
    ft_buf_append(&j->buf, ",", 1);
  }
  const ui_jhost *h = (const ui_jhost *)j->hosts.data;
  for (size_t i = 0, n = j->hosts.len / sizeof *h; i < n; i++) {
    ft_buf_printf(&j->buf, "%s{\"host\":%u,\"name\":", i ? "," : "\"hosts\":[", h[i].id);
    ft_json_append_string(&j->buf, h[i].name, strlen(h[i].name));
    ft_buf_append(&j->buf, ",\"launcher\":", 12);
    ft_json_append_string(&j->buf, h[i].launcher, strlen(h[i].launcher));
    ft_buf_printf(&j->buf, ",\"state\":\"%s\"", h[i].lost ? "lost" : "up");
    if (h[i].cause[0]) {
      ft_buf_append(&j->buf, ",\"cause\":", 9);
      ft_json_append_string(&j->buf, h[i].cause, strlen(h[i].cause));
    }
    ft_buf_printf(&j->buf, ",\"processes\":%u,\"exited\":%u,\"failed\":%u}%s", h[i].processes,
                  h[i].exited, h[i].failed, i + 1 == n ? "]," : "");
  }
  ft_buf_printf(&j->buf, "\"exit_status\":%d}\n", status);
  ui_json_flush(j);
}
