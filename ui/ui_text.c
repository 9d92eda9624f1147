/* ui_text.c - text made safe for a terminal, and the headless printer:
 * one readable line per event, in the spirit of the seed's own output. */
#include "ui.h"

#include <stdio.h>
#include <string.h>

/* Copy n bytes of child output into out as text that cannot drive a
 * terminal: control characters (ESC, CR, BEL, ...) and bytes that are not
 * valid UTF-8 become visible \xNN escapes; valid UTF-8 passes through. */
void ui_sanitize(const char *s, size_t n, ft_buf *out) {
  const unsigned char *p = (const unsigned char *)s;
  for (size_t i = 0; i < n;) {
    unsigned char c = p[i];
    size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    bool ok = len > 0 && i + len <= n;
    for (size_t k = 1; ok && k < len; k++)
      ok = (p[i + k] & 0xC0) == 0x80;
    if (ok && len == 2 && c < 0xC2)
      ok = false; /* overlong */
    if (ok && len == 3) {
      unsigned cp = ((c & 0x0Fu) << 12) | ((p[i + 1] & 0x3Fu) << 6) | (p[i + 2] & 0x3Fu);
      ok = cp >= 0x800 && !(cp >= 0xD800 && cp <= 0xDFFF);
      /* C1 controls are not an issue here: they are two-byte sequences */
    }
    if (ok && len == 4) {
      unsigned cp = ((c & 0x07u) << 18) | ((p[i + 1] & 0x3Fu) << 12) | ((p[i + 2] & 0x3Fu) << 6) |
                    (p[i + 3] & 0x3Fu);
      ok = cp >= 0x10000 && cp <= 0x10FFFF;
    }
    if (ok && len == 2) {
      unsigned cp = ((c & 0x1Fu) << 6) | (p[i + 1] & 0x3Fu);
      ok = cp >= 0xA0; /* U+0080..U+009F are C1 control characters */
    }
    if (!ok || (len == 1 && (c < 0x20 || c == 0x7F) && c != '\t')) {
      ft_buf_printf(out, "\\x%02x", c);
      i++;
      continue;
    }
    ft_buf_append(out, p + i, len);
    i += len;
  }
}

static double ui_secs(const ui_printer *pr, uint64_t t) {
  return t > pr->t0 ? (double)(t - pr->t0) / 1e9 : 0.0;
}

static void ui_exit_text(const ft_event *ev, char *buf, size_t cap) {
  if (ev->u.exit.signal)
    snprintf(buf, cap, "%s%s%s", ft_signal_name(ev->u.exit.signal),
             ev->u.exit.core ? " (core dumped)" : "", ev->u.exit.requested ? " (sent by forktop)" : "");
  else
    snprintf(buf, cap, "code %d", ev->u.exit.code);
}

/* Print one event as a line (queue samples at most once a second, and
 * only when they changed). */
void ui_printer_event(const ft_event *ev, void *ud) {
  ui_printer *pr = ud;
  FILE *f = pr->out;
  double t = ui_secs(pr, ev->t_ns);
  char what[96];
  switch (ev->kind) {
  case FT_EV_SPAWN:
    if (ev->u.spawn.worker >= 0)
      fprintf(f, "[%8.3f] spawn    %-16s pid %d ppid %d (worker %d)\n", t, ev->name, ev->pid,
              ev->ppid, ev->u.spawn.worker);
    else
      fprintf(f, "[%8.3f] spawn    %-16s pid %d ppid %d\n", t, ev->name, ev->pid, ev->ppid);
    break;
  case FT_EV_EXEC:
    if (ev->u.exec.err)
      fprintf(f, "[%8.3f] exec     %-16s pid %d: %s: %s\n", t, ev->name, ev->pid, ev->u.exec.path,
              ft_strerror(ev->u.exec.err));
    break;
  case FT_EV_EXIT:
    if (!ev->u.exit.signal && ev->u.exit.code < 0) {
      fprintf(f, "[%8.3f] exit     %-16s pid %d (status unknown: seen by scanning)\n", t, ev->name,
              ev->pid);
      break;
    }
    ui_exit_text(ev, what, sizeof what);
    if (ev->u.exit.orphan)
      fprintf(f, "[%8.3f] exit     %-16s pid %d %s (orphan, reparented to forktop)\n", t, ev->name,
              ev->pid, what);
    else if (!ev->u.exit.runtime_ns) /* watched, not forked by us: no start time */
      fprintf(f, "[%8.3f] exit     %-16s pid %d %s\n", t, ev->name, ev->pid, what);
    else
      fprintf(f, "[%8.3f] exit     %-16s pid %d %s after %.3f s\n", t, ev->name, ev->pid, what,
              (double)ev->u.exit.runtime_ns / 1e9);
    break;
  case FT_EV_OUTPUT: {
    ft_buf line = {0};
    ui_sanitize(ev->u.output.line, ev->u.output.len, &line);
    fprintf(f, "[%8.3f] %-6s   %-16s pid %d | %.*s%s\n", t, ev->u.output.stream == 2 ? "stderr" : "stdout",
            ev->name, ev->pid, (int)line.len, line.data ? line.data : "",
            ev->u.output.truncated ? " [truncated]" : "");
    ft_buf_free(&line);
    break;
  }
  case FT_EV_TASK_START:
    fprintf(f, "[%8.3f] start    %-16s task %llu on pid %d\n", t, ev->name,
            (unsigned long long)ev->u.task.task, ev->pid);
    break;
  case FT_EV_TASK_DONE:
    fprintf(f, "[%8.3f] done     %-16s task %llu on pid %d in %.3f s\n", t, ev->name,
            (unsigned long long)ev->u.task.task, ev->pid, (double)ev->u.task.dur_ns / 1e9);
    break;
  case FT_EV_TASK_FAIL:
    if (ev->u.task.status == FT_EWORKER && ev->u.task.signal)
      snprintf(what, sizeof what, "worker died (%s)", ft_signal_name(ev->u.task.signal));
    else if (ev->u.task.status == FT_EWORKER)
      snprintf(what, sizeof what, "worker exited with code %d", ev->u.task.code);
    else if (ev->u.task.status == FT_ETASK)
      snprintf(what, sizeof what, "task failed with code %d", ev->u.task.code);
    else
      snprintf(what, sizeof what, "%s", ft_strerror(ev->u.task.status));
    fprintf(f, "[%8.3f] FAILED   %-16s task %llu on pid %d: %s\n", t, ev->name,
            (unsigned long long)ev->u.task.task, ev->pid, what);
    break;
  case FT_EV_WORKER_REPLACED:
    fprintf(f, "[%8.3f] replace  %-16s worker %d: pid %d -> %d (%s)\n", t, ev->name,
            ev->u.replaced.worker, ev->u.replaced.old_pid, ev->u.replaced.new_pid,
            ev->u.replaced.reason == FT_REPLACE_RECYCLED ? "maxtasksperchild" : "died");
    break;
  case FT_EV_POOL_START:
    fprintf(f, "[%8.3f] pool     %-16s %d workers started\n", t, ev->name, ev->u.pool.workers);
    break;
  case FT_EV_POOL_END:
    fprintf(f, "[%8.3f] pool     %-16s finished\n", t, ev->name);
    break;
  case FT_EV_ZOMBIE:
    fprintf(f, "[%8.3f] ZOMBIE   %-16s pid %d: its parent %d does not reap it\n", t, ev->name, ev->pid,
            ev->ppid);
    break;
  case FT_EV_ERROR:
    fprintf(f, "[%8.3f] ERROR    %-16s cannot %s: %s\n", t, ev->name, ev->u.error.what,
            ft_strerror(ev->u.error.err));
    break;
  case FT_EV_QUEUE: {
    const ft_queue_stats *q = &ev->u.queue;
    ui_qseen *seen = NULL;
    for (size_t i = 0; i < pr->nq; i++)
      if (strcmp(pr->q[i].name, ev->name) == 0)
        seen = &pr->q[i];
    if (!seen && pr->nq < UI_MAX_QUEUES) {
      seen = &pr->q[pr->nq++];
      snprintf(seen->name, sizeof seen->name, "%s", ev->name);
      seen->last_t = 0;
      seen->puts = seen->gets = UINT64_MAX;
    }
    if (!seen || (seen->puts == q->puts && seen->gets == q->gets && seen->closed == q->closed) ||
        (seen->last_t && ev->t_ns - seen->last_t < 1000000000ull))
      break;
    seen->puts = q->puts;
    seen->gets = q->gets;
    seen->closed = q->closed;
    seen->last_t = ev->t_ns;
    fprintf(f, "[%8.3f] queue    %-16s depth %llu/%llu, %llu puts, %llu gets, high water %llu%s\n", t,
            ev->name, (unsigned long long)q->depth, (unsigned long long)q->capacity,
            (unsigned long long)q->puts, (unsigned long long)q->gets,
            (unsigned long long)q->high_water, q->closed ? ", closed" : "");
    break;
  }
  default:
    break;
  }
}
