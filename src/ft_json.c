/* ft_json.c - events as newline-delimited JSON, and back (docs/json.md). */
#include "ft_internal.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>

/* Child output is arbitrary bytes; JSON strings are UTF-8.  Every byte that
 * is not part of a valid UTF-8 sequence becomes U+FFFD, so the encoder never
 * fails and readers always get valid JSON. */
static void ft__utf8_clean(const char *s, size_t n, ft_buf *out) {
  const unsigned char *p = (const unsigned char *)s;
  static const char repl[] = "\xEF\xBF\xBD";
  for (size_t i = 0; i < n;) {
    unsigned char c = p[i];
    size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    bool ok = len > 0 && i + len <= n;
    for (size_t k = 1; ok && k < len; k++)
      ok = (p[i + k] & 0xC0) == 0x80;
    if (ok && len == 2)
      ok = c >= 0xC2;
    if (ok && len == 3) {
      unsigned cp = ((c & 0x0Fu) << 12) | ((p[i + 1] & 0x3Fu) << 6) | (p[i + 2] & 0x3Fu);
      ok = cp >= 0x800 && !(cp >= 0xD800 && cp <= 0xDFFF);
    }
    if (ok && len == 4) {
      unsigned cp = ((c & 0x07u) << 18) | ((p[i + 1] & 0x3Fu) << 12) | ((p[i + 2] & 0x3Fu) << 6) |
                    (p[i + 3] & 0x3Fu);
      ok = cp >= 0x10000 && cp <= 0x10FFFF;
    }
    if (!ok) {
      ft_buf_append(out, repl, 3);
      i++;
    } else {
      ft_buf_append(out, p + i, len);
      i += len;
    }
  }
}

static int ft__set(json_t *o, const char *k, json_t *v) { return json_object_set_new(o, k, v); }

static int ft__set_str(json_t *o, const char *k, const char *s, size_t n) {
  ft_buf b = {0};
  ft__utf8_clean(s, n, &b);
  json_t *v = json_stringn(b.data ? b.data : "", b.len);
  ft_buf_free(&b);
  return ft__set(o, k, v);
}

static json_t *ft__secs(uint64_t ns) { return json_real((double)(ns / 1000) / 1e6); }

static void ft__task_fields(json_t *o, const ft_event *ev) {
  ft__set_str(o, "pool", ev->name, strlen(ev->name));
  ft__set(o, "task", json_integer((json_int_t)ev->u.task.task));
  ft__set(o, "item", json_integer((json_int_t)ev->u.task.item));
  ft__set(o, "batch", json_integer((json_int_t)ev->u.task.batch));
  ft__set(o, "worker", json_integer(ev->u.task.worker));
  ft__set(o, "worker_pid", json_integer(ev->pid));
  if (ev->kind == FT_EV_TASK_START)
    return;
  ft__set(o, "dur", ft__secs(ev->u.task.dur_ns));
  if (ev->kind != FT_EV_TASK_FAIL)
    return;
  ft__set(o, "status", json_string(ft_err_name(ev->u.task.status)));
  if (ev->u.task.code)
    ft__set(o, "code", json_integer(ev->u.task.code));
  if (ev->u.task.signal)
    ft__set(o, "signal", json_string(ft_signal_name(ev->u.task.signal)));
}

static void ft__queue_fields(json_t *o, const ft_queue_stats *q) {
  ft__set(o, "puts", json_integer((json_int_t)q->puts));
  ft__set(o, "gets", json_integer((json_int_t)q->gets));
  ft__set(o, "bytes_in", json_integer((json_int_t)q->bytes_in));
  ft__set(o, "bytes_out", json_integer((json_int_t)q->bytes_out));
  ft__set(o, "depth", json_integer((json_int_t)q->depth));
  ft__set(o, "depth_bytes", json_integer((json_int_t)q->depth_bytes));
  ft__set(o, "high_water", json_integer((json_int_t)q->high_water));
  ft__set(o, "capacity", json_integer((json_int_t)q->capacity));
  ft__set(o, "capacity_bytes", json_integer((json_int_t)q->capacity_bytes));
  ft__set(o, "put_blocked", ft__secs(q->put_blocked_ns));
  ft__set(o, "get_blocked", ft__secs(q->get_blocked_ns));
  ft__set(o, "producers_blocked", json_integer(q->producers_blocked));
  ft__set(o, "consumers_blocked", json_integer(q->consumers_blocked));
  ft__set(o, "owner_deaths", json_integer(q->owner_deaths));
  ft__set(o, "closed", json_boolean(q->closed));
}

/* One event as one JSON line appended to out. */
int ft_event_to_json(const ft_event *ev, uint64_t t0, ft_buf *out) {
  json_t *o = json_object();
  if (!o)
    return -ENOMEM;
  ft__set(o, "t", ft__secs(ev->t_ns > t0 ? ev->t_ns - t0 : 0));
  ft__set(o, "ev", json_string(ft_event_kind_name(ev->kind)));
  ft__set(o, "pid", json_integer(ev->pid));
  ft__set(o, "ppid", json_integer(ev->ppid));
  if (ev->host)
    ft__set(o, "host", json_integer(ev->host));
  if (ev->name && *ev->name && ev->kind != FT_EV_QUEUE)
    ft__set_str(o, "name", ev->name, strlen(ev->name));
  switch (ev->kind) {
  case FT_EV_SPAWN:
    ft__set(o, "role", json_string(ev->u.spawn.role ? ev->u.spawn.role : "process"));
    if (ev->u.spawn.worker >= 0)
      ft__set(o, "worker", json_integer(ev->u.spawn.worker));
    break;
  case FT_EV_EXEC:
    if (ev->u.exec.path)
      ft__set_str(o, "path", ev->u.exec.path, strlen(ev->u.exec.path));
    if (ev->u.exec.err) {
      ft__set(o, "error", json_string(ft_err_name(ev->u.exec.err)));
      ft__set(o, "errno", json_integer(-ev->u.exec.err));
    }
    break;
  case FT_EV_EXIT:
    if (ev->u.exit.signal) {
      ft__set(o, "signal", json_string(ft_signal_name(ev->u.exit.signal)));
      ft__set(o, "signo", json_integer(ev->u.exit.signal));
    } else {
      ft__set(o, "code", json_integer(ev->u.exit.code));
    }
    if (ev->u.exit.core)
      ft__set(o, "core", json_true());
    if (ev->u.exit.orphan)
      ft__set(o, "orphan", json_true());
    ft__set(o, "runtime", ft__secs(ev->u.exit.runtime_ns));
    break;
  case FT_EV_OUTPUT:
    ft__set(o, "stream", json_string(ev->u.output.stream == 2 ? "stderr" : "stdout"));
    ft__set_str(o, "line", ev->u.output.line, ev->u.output.len);
    if (ev->u.output.truncated)
      ft__set(o, "truncated", json_true());
    break;
  case FT_EV_TASK_START:
  case FT_EV_TASK_DONE:
  case FT_EV_TASK_FAIL:
    ft__task_fields(o, ev);
    break;
  case FT_EV_WORKER_REPLACED:
    ft__set(o, "worker", json_integer(ev->u.replaced.worker));
    ft__set(o, "old_pid", json_integer(ev->u.replaced.old_pid));
    ft__set(o, "new_pid", json_integer(ev->u.replaced.new_pid));
    ft__set(o, "reason",
            json_string(ev->u.replaced.reason == FT_REPLACE_RECYCLED ? "recycled" : "died"));
    break;
  case FT_EV_POOL_START:
  case FT_EV_POOL_END:
    ft__set(o, "workers", json_integer(ev->u.pool.workers));
    break;
  case FT_EV_SUBMIT:
    ft__set(o, "batch", json_integer((json_int_t)ev->u.submit.batch));
    ft__set(o, "first", json_integer((json_int_t)ev->u.submit.first));
    ft__set(o, "count", json_integer((json_int_t)ev->u.submit.count));
    break;
  case FT_EV_QUEUE:
    ft__set_str(o, "queue", ev->name, strlen(ev->name));
    ft__queue_fields(o, &ev->u.queue);
    break;
  default:
    break;
  }
  char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
  json_decref(o);
  if (!s)
    return -ENOMEM;
  int rc = ft_buf_append(out, s, strlen(s));
  if (!rc)
    rc = ft_buf_append(out, "\n", 1);
  free(s);
  return rc;
}

/* ------------------------------------------------------------- reading */

/* Copy a string field into the strings buffer; its offset, or -1. */
static ssize_t ft__keep(ft_buf *strings, json_t *o, const char *k) {
  json_t *v = json_object_get(o, k);
  if (!json_is_string(v))
    return -1;
  size_t at = strings->len;
  if (ft_buf_append(strings, json_string_value(v), json_string_length(v)) < 0 ||
      ft_buf_append(strings, "", 1) < 0)
    return -1;
  return (ssize_t)at;
}

static bool ft__int(json_t *o, const char *k, long long lo, long long hi, long long *out) {
  json_t *v = json_object_get(o, k);
  if (!json_is_integer(v))
    return false;
  long long x = json_integer_value(v);
  if (x < lo || x > hi)
    return false;
  *out = x;
  return true;
}

static long long ft__int_or(json_t *o, const char *k, long long lo, long long hi, long long dflt) {
  long long x;
  return ft__int(o, k, lo, hi, &x) ? x : dflt;
}

static uint64_t ft__ns(json_t *o, const char *k) {
  json_t *v = json_object_get(o, k);
  double s = json_is_number(v) ? json_number_value(v) : 0;
  if (!(s >= 0) || s > 1e9)
    return 0;
  return (uint64_t)llround(s * 1e6) * 1000;
}

static ft_event_kind ft__kind_of(const char *name) {
  for (int k = 0; k < FT_EV_COUNT_; k++)
    if (strcmp(ft_event_kind_name((ft_event_kind)k), name) == 0)
      return (ft_event_kind)k;
  return FT_EV_COUNT_;
}

static int ft__signal_field(json_t *o, const char *k) {
  json_t *v = json_object_get(o, k);
  int sig = 0;
  if (json_is_string(v) && ft_parse_signal(json_string_value(v), &sig) == 0)
    return sig;
  return 0;
}

static int ft__status_field(json_t *o) {
  json_t *v = json_object_get(o, "status");
  if (!json_is_string(v))
    return 0;
  const char *s = json_string_value(v);
  static const int codes[] = {FT_ETASK, FT_EWORKER, FT_ECANCELED, FT_E2BIG, -ENOMEM, -EAGAIN};
  for (size_t i = 0; i < FT_ARRAY_LEN(codes); i++)
    if (strcmp(ft_err_name(codes[i]), s) == 0)
      return codes[i];
  return FT_ETASK;
}

/* Parse one JSON line back into an event. */
int ft_event_from_json(const char *line, size_t len, ft_event *ev, ft_buf *strings) {
  json_error_t jerr;
  int rc = FT_EINVAL;
  memset(ev, 0, sizeof *ev);
  ft_buf_reset(strings);
  json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
  if (!json_is_object(o))
    goto done;
  json_t *evk = json_object_get(o, "ev");
  if (!json_is_string(evk) || !json_is_number(json_object_get(o, "t")))
    goto done;
  ft_event_kind kind = ft__kind_of(json_string_value(evk));
  long long pid, ppid;
  if (kind == FT_EV_COUNT_ || !ft__int(o, "pid", 0, INT32_MAX, &pid) ||
      !ft__int(o, "ppid", 0, INT32_MAX, &ppid))
    goto done;
  ev->kind = kind;
  ev->t_ns = ft__ns(o, "t");
  ev->pid = (pid_t)pid;
  ev->ppid = (pid_t)ppid;
  ev->host = (uint32_t)ft__int_or(o, "host", 0, UINT32_MAX, 0);
  /* Offsets first, pointers last: the buffer may move while it grows. */
  ssize_t name = ft__keep(strings, o, kind == FT_EV_QUEUE ? "queue" : kind >= FT_EV_TASK_START &&
                                                                          kind <= FT_EV_TASK_FAIL
                                                                      ? "pool"
                                                                      : "name");
  ssize_t s1 = -1;
  switch (kind) {
  case FT_EV_SPAWN:
    s1 = ft__keep(strings, o, "role");
    ev->u.spawn.worker = (int)ft__int_or(o, "worker", 0, INT32_MAX, -1);
    break;
  case FT_EV_EXEC:
    s1 = ft__keep(strings, o, "path");
    ev->u.exec.err = -(int)ft__int_or(o, "errno", 0, 4095, 0);
    break;
  case FT_EV_EXIT:
    ev->u.exit.signal = (int)ft__int_or(o, "signo", 0, 64, 0);
    if (!ev->u.exit.signal)
      ev->u.exit.signal = ft__signal_field(o, "signal");
    ev->u.exit.code = (int)ft__int_or(o, "code", -255, 255, 0);
    ev->u.exit.core = json_is_true(json_object_get(o, "core"));
    ev->u.exit.orphan = json_is_true(json_object_get(o, "orphan"));
    ev->u.exit.runtime_ns = ft__ns(o, "runtime");
    break;
  case FT_EV_OUTPUT: {
    json_t *st = json_object_get(o, "stream");
    ev->u.output.stream = json_is_string(st) && strcmp(json_string_value(st), "stderr") == 0 ? 2 : 1;
    s1 = ft__keep(strings, o, "line");
    if (s1 < 0)
      goto done;
    ev->u.output.len = json_string_length(json_object_get(o, "line")); /* NULs included */
    ev->u.output.truncated = json_is_true(json_object_get(o, "truncated"));
    break;
  }
  case FT_EV_TASK_START:
  case FT_EV_TASK_DONE:
  case FT_EV_TASK_FAIL:
    ev->u.task.task = (uint64_t)ft__int_or(o, "task", 0, INT64_MAX, 0);
    ev->u.task.item = (uint64_t)ft__int_or(o, "item", 0, INT64_MAX, 0);
    ev->u.task.batch = (uint64_t)ft__int_or(o, "batch", 0, INT64_MAX, 0);
    ev->u.task.worker = (int)ft__int_or(o, "worker", -1, INT32_MAX, -1);
    ev->u.task.dur_ns = ft__ns(o, "dur");
    if (kind == FT_EV_TASK_FAIL) {
      ev->u.task.status = ft__status_field(o);
      ev->u.task.code = (int)ft__int_or(o, "code", INT32_MIN, INT32_MAX, 0);
      ev->u.task.signal = ft__signal_field(o, "signal");
    }
    break;
  case FT_EV_WORKER_REPLACED: {
    json_t *r = json_object_get(o, "reason");
    ev->u.replaced.worker = (int)ft__int_or(o, "worker", 0, INT32_MAX, 0);
    ev->u.replaced.old_pid = (pid_t)ft__int_or(o, "old_pid", 0, INT32_MAX, 0);
    ev->u.replaced.new_pid = (pid_t)ft__int_or(o, "new_pid", 0, INT32_MAX, 0);
    ev->u.replaced.reason = json_is_string(r) && strcmp(json_string_value(r), "recycled") == 0
                                ? FT_REPLACE_RECYCLED
                                : FT_REPLACE_DIED;
    break;
  }
  case FT_EV_POOL_START:
  case FT_EV_POOL_END:
    ev->u.pool.workers = (int)ft__int_or(o, "workers", 0, INT32_MAX, 0);
    break;
  case FT_EV_SUBMIT:
    ev->u.submit.batch = (uint64_t)ft__int_or(o, "batch", 0, INT64_MAX, 0);
    ev->u.submit.first = (uint64_t)ft__int_or(o, "first", 0, INT64_MAX, 0);
    ev->u.submit.count = (uint64_t)ft__int_or(o, "count", 0, INT64_MAX, 0);
    break;
  case FT_EV_QUEUE: {
    ft_queue_stats *q = &ev->u.queue;
    q->puts = (uint64_t)ft__int_or(o, "puts", 0, INT64_MAX, 0);
    q->gets = (uint64_t)ft__int_or(o, "gets", 0, INT64_MAX, 0);
    q->bytes_in = (uint64_t)ft__int_or(o, "bytes_in", 0, INT64_MAX, 0);
    q->bytes_out = (uint64_t)ft__int_or(o, "bytes_out", 0, INT64_MAX, 0);
    q->depth = (uint64_t)ft__int_or(o, "depth", 0, INT64_MAX, 0);
    q->depth_bytes = (uint64_t)ft__int_or(o, "depth_bytes", 0, INT64_MAX, 0);
    q->high_water = (uint64_t)ft__int_or(o, "high_water", 0, INT64_MAX, 0);
    q->capacity = (uint64_t)ft__int_or(o, "capacity", 0, INT64_MAX, 0);
    q->capacity_bytes = (uint64_t)ft__int_or(o, "capacity_bytes", 0, INT64_MAX, 0);
    q->put_blocked_ns = ft__ns(o, "put_blocked");
    q->get_blocked_ns = ft__ns(o, "get_blocked");
    q->producers_blocked = (uint32_t)ft__int_or(o, "producers_blocked", 0, UINT32_MAX, 0);
    q->consumers_blocked = (uint32_t)ft__int_or(o, "consumers_blocked", 0, UINT32_MAX, 0);
    q->owner_deaths = (uint32_t)ft__int_or(o, "owner_deaths", 0, UINT32_MAX, 0);
    q->closed = json_is_true(json_object_get(o, "closed"));
    break;
  }
  default:
    goto done;
  }
  ev->name = name >= 0 ? strings->data + name : "";
  if (kind == FT_EV_SPAWN)
    ev->u.spawn.role = s1 >= 0 ? strings->data + s1 : "process";
  else if (kind == FT_EV_EXEC)
    ev->u.exec.path = s1 >= 0 ? strings->data + s1 : "";
  else if (kind == FT_EV_OUTPUT)
    ev->u.output.line = strings->data + s1;
  rc = 0;
done:
  json_decref(o);
  return rc;
}
