/* ui_text.c - text made safe for a terminal, and the headless printer:
 * one readable line per event, in the spirit of the seed's own output. */
#include "ui.h"
#include "ui_safe.h"

#include <stdio.h>
#include <string.h>

/* Copy n bytes of untrusted text (child output, a name, a command line)
 * into out as text that cannot drive a terminal, by the one set of rules
 * in ui/view/ui_safe.c (the dashboard's cells follow the same): controls,
 * C1, bidi overrides and invalid UTF-8 become visible \xNN / \u{X} escapes;
 * tabs and other valid UTF-8 pass through. */
void ui_sanitize(const char *s, size_t n, ft_buf *out) { ui_safe_append(out, s, n, true); }

/* s (NULL: "") made safe for a terminal, NUL-terminated in b (reset
 * first); the caller frees b. */
const char *ui_safe_cstr(ft_buf *b, const char *s) {
  ft_buf_reset(b);
  if (s)
    ui_sanitize(s, strlen(s), b);
  if (ft_buf_append(b, "", 1) < 0)
    return "";
  return b->data;
}

/* The time a line shows, since the start.  Events reach the printer in
 * the order forktop learns of them, but not all are stamped then: a
 * worker stamps its task records itself, and they arrive after events the
 * loop stamped later (a spawn, some output), so printing the events' own
 * stamps made the lines go back in time.  A line therefore shows when it
 * is printed: live, the clock now; in a replay, the recording's clock (the
 * latest time it has reached). */
static uint64_t ui_line_ns(ui_printer *pr, const ft_event *ev) {
  uint64_t t = pr->replay ? ev->t_ns : ft_now_ns();
  if (t < pr->last_t)
    t = pr->last_t;
  pr->last_t = t;
  return t > pr->t0 ? t - pr->t0 : 0;
}

/* Append s, then spaces up to width bytes, to d at *n. */
static void ui_put_pad(char *d, size_t *n, const char *s, size_t width) {
  size_t l = strlen(s);
  memcpy(d + *n, s, l);
  *n += l;
  for (; l < width; l++)
    d[(*n)++] = ' ';
}

/* v in decimal, appended to d at *n. */
static void ui_put_u64(char *d, size_t *n, uint64_t v) {
  char tmp[24];
  size_t k = 0;
  do {
    tmp[k++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  while (k)
    d[(*n)++] = tmp[--k];
}

/* Nanoseconds as seconds with three decimals (rounded half up from the
 * exact count, so every line rounds alike), right-aligned in width bytes,
 * at d; returns the length.  printf's "%8.3f" costs a tenth of a
 * microsecond, once or twice for every task of a long map. */
static size_t ui_secs3(char *d, uint64_t ns, size_t width) {
  uint64_t ms = ns / 1000000u + (ns % 1000000u >= 500000u);
  unsigned frac = (unsigned)(ms % 1000u);
  char tmp[32];
  size_t n = 0;
  ui_put_u64(tmp, &n, ms / 1000u);
  tmp[n++] = '.';
  tmp[n++] = (char)('0' + frac / 100);
  tmp[n++] = (char)('0' + frac / 10 % 10);
  tmp[n++] = (char)('0' + frac % 10);
  size_t pad = width > n ? width - n : 0;
  memset(d, ' ', pad);
  memcpy(d + pad, tmp, n);
  return pad + n;
}

/* "[   1.234]": the line's time, as ui_line_ns has it. */
static const char *ui_stamp(ui_printer *pr, const ft_event *ev, char *buf) {
  size_t n = 1;
  buf[0] = '[';
  n += ui_secs3(buf + 1, ui_line_ns(pr, ev), 8);
  buf[n++] = ']';
  buf[n] = '\0';
  return buf;
}

/* The name made safe for a terminal, the last short one kept: a map's
 * every task line names the same pool. */
static const char *ui_line_name(ui_printer *pr, ft_buf *b, const char *name) {
  const char *s = name ? name : "";
  size_t l = strlen(s);
  if (l >= sizeof pr->name_raw)
    return ui_safe_cstr(b, s);
  if (strcmp(pr->name_raw, s) != 0 || !pr->name_safe[0]) {
    const char *safe = ui_safe_cstr(b, s);
    if (strlen(safe) >= sizeof pr->name_safe)
      return safe;
    memcpy(pr->name_raw, s, l + 1);
    snprintf(pr->name_safe, sizeof pr->name_safe, "%s", safe);
  }
  return pr->name_safe;
}

/* A task's start or end, the one line a task of a long map prints: built
 * by hand, as "%s start    %-16s task %llu on pid %d%s" would be. */
static void ui_task_line(ui_printer *pr, const ft_event *ev, const char *t, const char *name,
                         const char *on) {
  char line[384];
  size_t n = 0;
  ui_put_pad(line, &n, t, 0);
  ui_put_pad(line, &n, ev->kind == FT_EV_TASK_START ? " start    " : " done     ", 0);
  if (strlen(name) > 160) { /* longer than the line: printf's way */
    fprintf(pr->out, "%.*s%s task %llu on pid %d%s", (int)n, line, name,
            (unsigned long long)ev->u.task.task, ev->pid, on);
    n = 0;
  } else {
    ui_put_pad(line, &n, name, 16);
    ui_put_pad(line, &n, " task ", 0);
    ui_put_u64(line, &n, ev->u.task.task);
    ui_put_pad(line, &n, " on pid ", 0);
    if (ev->pid < 0)
      line[n++] = '-';
    ui_put_u64(line, &n, ev->pid < 0 ? -(uint64_t)ev->pid : (uint64_t)ev->pid);
    ui_put_pad(line, &n, on, 0);
  }
  if (ev->kind == FT_EV_TASK_DONE) {
    ui_put_pad(line, &n, " in ", 0);
    n += ui_secs3(line + n, ev->u.task.dur_ns, 0);
    ui_put_pad(line, &n, " s", 0);
  }
  line[n++] = '\n';
  fwrite(line, 1, n, pr->out);
}

static void ui_exit_text(const ft_event *ev, char *buf, size_t cap) {
  if (ev->u.exit.signal)
    snprintf(buf, cap, "%s%s%s", ft_signal_name(ev->u.exit.signal),
             ev->u.exit.core ? " (core dumped)" : "",
             ev->u.exit.requested ? " (sent by forktop)" : "");
  else
    snprintf(buf, cap, "code %d", ev->u.exit.code);
}

/* The queue's entry (made on first sight), or NULL when the table is full. */
static ui_qseen *ui_queue_seen(ui_printer *pr, const char *name) {
  for (size_t i = 0; i < pr->nq; i++)
    if (strncmp(pr->q[i].name, name, sizeof pr->q[i].name - 1) == 0)
      return &pr->q[i];
  if (pr->nq >= UI_MAX_QUEUES)
    return NULL;
  ui_qseen *q = &pr->q[pr->nq++];
  *q = (ui_qseen){.puts = UINT64_MAX, .gets = UINT64_MAX};
  snprintf(q->name, sizeof q->name, "%s", name);
  return q;
}

/* A queue sample: always kept (the summary prints the last), printed at
 * most once a second and only when the counts changed. */
static void ui_queue_line(ui_printer *pr, const ft_event *ev, const char *name) {
  const ft_queue_stats *q = &ev->u.queue;
  ui_qseen *seen = ui_queue_seen(pr, ev->name ? ev->name : "");
  if (!seen)
    return;
  seen->last = *q;
  seen->have_last = true;
  if ((seen->puts == q->puts && seen->gets == q->gets && seen->closed == q->closed) ||
      (seen->last_t && ev->t_ns - seen->last_t < 1000000000ull))
    return;
  seen->puts = q->puts;
  seen->gets = q->gets;
  seen->closed = q->closed;
  seen->last_t = ev->t_ns;
  char t[40];
  fprintf(pr->out, "%s queue    %-16s depth %llu/%llu, %llu puts, %llu gets, high water %llu%s\n",
          ui_stamp(pr, ev, t), name, (unsigned long long)q->depth, (unsigned long long)q->capacity,
          (unsigned long long)q->puts, (unsigned long long)q->gets,
          (unsigned long long)q->high_water, q->closed ? ", closed" : "");
}

/* Keep each queue's last sample, printing nothing: what the summary after
 * the dashboard needs while the dashboard, not the printer, has the screen. */
void ui_printer_keep_queues(const ft_event *ev, void *ud) {
  if (ev->kind != FT_EV_QUEUE)
    return;
  ui_qseen *seen = ui_queue_seen(ud, ev->name ? ev->name : "");
  if (seen) {
    seen->last = ev->u.queue;
    seen->have_last = true;
  }
}

/* Print one event as a line (queue samples at most once a second, and
 * only when they changed).  Every name, path and output line goes through
 * ui_sanitize. */
void ui_printer_event(const ft_event *ev, void *ud) {
  ui_printer *pr = ud;
  FILE *f = pr->out;
  char what[512];
  ft_buf nb = {0}, xb = {0};
  const char *name = ui_line_name(pr, &nb, ev->name);
  if (ev->kind == FT_EV_QUEUE) {
    ui_queue_line(pr, ev, name);
    ft_buf_free(&nb);
    return;
  }
  char t[40];
  ui_stamp(pr, ev, t);
  char on[24] = ""; /* a remote process: its pid is its host's, not ours */
  if (ev->host && ev->kind != FT_EV_HOST)
    snprintf(on, sizeof on, " on host %u", (unsigned)ev->host);
  switch (ev->kind) {
  case FT_EV_SPAWN:
    if (ev->u.spawn.worker >= 0)
      fprintf(f, "%s spawn    %-16s pid %d%s ppid %d (worker %d)\n", t, name, ev->pid, on, ev->ppid,
              ev->u.spawn.worker);
    else
      fprintf(f, "%s spawn    %-16s pid %d%s ppid %d\n", t, name, ev->pid, on, ev->ppid);
    break;
  case FT_EV_EXEC:
    if (ev->u.exec.err) {
      fprintf(f, "%s exec     %-16s pid %d: %s: %s\n", t, name, ev->pid,
              ui_safe_cstr(&xb, ev->u.exec.path), ft_strerror(ev->u.exec.err));
    } else if (ev->u.exec.argv) { /* what it runs, each argument made safe */
      fprintf(f, "%s exec     %-16s pid %d:", t, name, ev->pid);
      for (size_t i = 0; ev->u.exec.argv[i]; i++) {
        const char *a = ui_safe_cstr(&xb, ev->u.exec.argv[i]);
        /* as a shell would read it back: quoted when a shell would split it */
        if (*a && !a[strcspn(a, " \t'\"\\$`;&|<>()*?[]{}~#!")]) {
          fprintf(f, " %s", a);
          continue;
        }
        fputs(" '", f);
        for (; *a; a++)
          fputs(*a == '\'' ? "'\\''" : (char[]){*a, '\0'}, f);
        fputc('\'', f);
      }
      fprintf(f, "%s\n", ev->u.exec.argv_cut ? " ..." : "");
    } else { /* its command line was not read (it had gone): the program alone */
      fprintf(f, "%s exec     %-16s pid %d: %s (arguments unknown)\n", t, name, ev->pid,
              ui_safe_cstr(&xb, ev->u.exec.path ? ev->u.exec.path : ev->name));
    }
    break;
  case FT_EV_EXIT:
    if (!ev->u.exit.signal && ev->u.exit.code < 0) {
      fprintf(f, "%s exit     %-16s pid %d (status unknown: seen by scanning)\n", t, name, ev->pid);
      break;
    }
    ui_exit_text(ev, what, sizeof what);
    if (ev->u.exit.orphan)
      fprintf(f, "%s exit     %-16s pid %d %s (orphan, reparented to forktop)\n", t, name, ev->pid,
              what);
    else if (!ev->u.exit.runtime_ns) /* watched, not forked by us: no start time */
      fprintf(f, "%s exit     %-16s pid %d%s %s\n", t, name, ev->pid, on, what);
    else {
      char after[32];
      after[ui_secs3(after, ev->u.exit.runtime_ns, 0)] = '\0';
      fprintf(f, "%s exit     %-16s pid %d%s %s after %s s\n", t, name, ev->pid, on, what, after);
    }
    break;
  case FT_EV_OUTPUT:
    ui_sanitize(ev->u.output.line, ev->u.output.len, &xb);
    fprintf(f, "%s %-6s   %-16s pid %d | %.*s%s\n", t,
            ev->u.output.stream == 2 ? "stderr" : "stdout", name, ev->pid, (int)xb.len,
            xb.data ? xb.data : "", ev->u.output.truncated ? " [truncated]" : "");
    break;
  case FT_EV_TASK_START:
  case FT_EV_TASK_DONE:
    ui_task_line(pr, ev, t, name, on);
    break;
  case FT_EV_TASK_FAIL:
    if (ev->u.task.status == FT_EWORKER && ev->u.task.cause) /* a launcher's words: untrusted */
      snprintf(what, sizeof what, "worker gone (%s)", ui_safe_cstr(&xb, ev->u.task.cause));
    else if (ev->u.task.status == FT_EWORKER && ev->u.task.signal)
      snprintf(what, sizeof what, "worker died (%s)", ft_signal_name(ev->u.task.signal));
    else if (ev->u.task.status == FT_EWORKER)
      snprintf(what, sizeof what, "worker exited with code %d", ev->u.task.code);
    else if (ev->u.task.status == FT_ETASK)
      snprintf(what, sizeof what, "task failed with code %d", ev->u.task.code);
    else
      snprintf(what, sizeof what, "%s", ft_strerror(ev->u.task.status));
    fprintf(f, "%s FAILED   %-16s task %llu on pid %d%s: %s\n", t, name,
            (unsigned long long)ev->u.task.task, ev->pid, on, what);
    break;
  case FT_EV_WORKER_REPLACED:
    fprintf(f, "%s replace  %-16s worker %d: pid %d -> %d (%s)\n", t, name, ev->u.replaced.worker,
            ev->u.replaced.old_pid, ev->u.replaced.new_pid,
            ev->u.replaced.reason == FT_REPLACE_RECYCLED ? "maxtasksperchild" : "died");
    break;
  case FT_EV_POOL_START:
    fprintf(f, "%s pool     %-16s %d workers started\n", t, name, ev->u.pool.workers);
    break;
  case FT_EV_POOL_END:
    fprintf(f, "%s pool     %-16s finished\n", t, name);
    break;
  case FT_EV_HOST: { /* the launcher's words (a job id, a cause) are untrusted too */
    ft_buf jb = {0}, cb = {0};
    fprintf(f, "%s host     %-16s %s (%s%s%s)%s%s\n", t, name, ev->u.host.lost ? "LOST" : "up",
            ui_safe_cstr(&xb, ev->u.host.launcher), ev->u.host.job ? " job " : "",
            ev->u.host.job ? ui_safe_cstr(&jb, ev->u.host.job) : "", ev->u.host.cause ? ": " : "",
            ev->u.host.cause ? ui_safe_cstr(&cb, ev->u.host.cause) : "");
    ft_buf_free(&jb);
    ft_buf_free(&cb);
    break;
  }
  case FT_EV_ZOMBIE:
    fprintf(f, "%s ZOMBIE   %-16s pid %d: its parent %d does not reap it\n", t, name, ev->pid,
            ev->ppid);
    break;
  case FT_EV_ERROR:
    fprintf(f, "%s ERROR    %-16s cannot %s: %s\n", t, name, ui_safe_cstr(&xb, ev->u.error.what),
            ft_strerror(ev->u.error.err));
    break;
  default:
    break;
  }
  ft_buf_free(&nb);
  ft_buf_free(&xb);
}

/* The summary's part of the printer: each queue's final counts, from the
 * last sample (the engine samples a queue once more as it frees it). */
void ui_printer_finish(ui_printer *pr) {
  ft_buf nb = {0};
  for (size_t i = 0; i < pr->nq; i++) {
    const ui_qseen *s = &pr->q[i];
    if (!s->have_last)
      continue;
    fprintf(pr->out,
            "queue %s: %llu puts, %llu gets, %llu left (capacity %llu, high water %llu)%s\n",
            ui_safe_cstr(&nb, s->name), (unsigned long long)s->last.puts,
            (unsigned long long)s->last.gets, (unsigned long long)s->last.depth,
            (unsigned long long)s->last.capacity, (unsigned long long)s->last.high_water,
            s->last.closed ? ", closed" : "");
  }
  ft_buf_free(&nb);
}
