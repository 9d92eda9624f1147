/* ui_json.c - the newline-delimited JSON event stream (--json, --record). */
#include "ui.h"

#include <string.h>

/* Buffer one event as a JSON line; a big buffer is written at once. */
void ui_json_event(const ft_event *ev, void *ud) {
  ui_json *j = ud;
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
  ft_buf_printf(&j->buf, "\"exit_status\":%d}\n", status);
  ui_json_flush(j);
}
