/* ft_json_write.c - events as newline-delimited JSON (schema:
 * docs/json.md), each line written straight into the caller's buffer, as
 * jansson dumped it before (see ft__jw); ft_json.c reads them back. */
#include "ft_internal.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------ UTF-8 */

/* Length of the valid UTF-8 sequence starting at p (n bytes available), or
 * 0: overlong forms, surrogates and code points above U+10FFFF are invalid. */
static size_t ft__utf8_seq(const unsigned char *p, size_t n) {
  unsigned c = p[0], cp, min;
  size_t len;
  if (c < 0x80)
    return 1;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2, cp = c & 0x1F, min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3, cp = c & 0x0F, min = 0x800;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4, cp = c & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (len > n)
    return 0;
  for (size_t k = 1; k < len; k++) {
    if ((p[k] & 0xC0) != 0x80)
      return 0;
    cp = (cp << 6) | (p[k] & 0x3Fu);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return len;
}

/* ------------------------------------------------- terminal-safe output */

/* Characters JSON allows raw that must not be raw in the stream, where
 * `cat run.jsonl` or a log viewer shows them on a terminal: DEL, the C1
 * controls U+0080-U+009F (U+009B is CSI, U+009D OSC), the bidi marks,
 * embeddings, overrides and isolates, the line and paragraph separators
 * (which also end a line in JavaScript) and U+FEFF.  They are written as
 * \uXXXX: the JSON value is unchanged. */
static bool ft__json_escaped_cp(uint32_t cp) {
  return cp == 0x7F || (cp >= 0x80 && cp < 0xA0) || cp == 0x061C || cp == 0x200E || cp == 0x200F ||
         (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2028 ||
         cp == 0x2029 || cp == 0xFEFF;
}

/* The code point of the valid UTF-8 sequence at p of len bytes. */
static uint32_t ft__utf8_cp(const unsigned char *p, size_t len) {
  uint32_t cp = len == 1 ? p[0] : len == 2 ? p[0] & 0x1Fu : len == 3 ? p[0] & 0x0Fu : p[0] & 0x07u;
  for (size_t k = 1; k < len; k++)
    cp = (cp << 6) | (p[k] & 0x3Fu);
  return cp;
}

/* ------------------------------------------------------------ writing */

/* The line being written straight onto the caller's buffer (once a jansson
 * object an event, built and dumped: four fifths of a stream's cost); bad
 * once an append failed.  What it writes is what jansson wrote (compact,
 * the fields in order, reals with 15 digits), byte for byte. */
typedef struct ft__jw {
  ft_buf *out;
  bool bad;
  char sep; /* '{' before the first field, ',' after */
} ft__jw;

static void ft__raw(ft__jw *w, const char *s, size_t n) {
  if (!w->bad && ft_buf_append(w->out, s, n) < 0)
    w->bad = true;
}

/* v in decimal at d; returns the length. */
static size_t ft__fmt_u64(char *d, uint64_t v) {
  char tmp[24];
  size_t k = 0, n = 0;
  do {
    tmp[k++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  while (k)
    d[n++] = tmp[--k];
  return n;
}

static void ft__hex4(char *d, uint32_t cp) {
  static const char hex[] = "0123456789ABCDEF";
  d[0] = '\\', d[1] = 'u';
  for (int k = 0; k < 4; k++)
    d[2 + k] = hex[cp >> (12 - 4 * k) & 0xF];
}

/* s (n bytes, any bytes) as a JSON string literal, quotes included: bytes
 * that are not valid UTF-8 become U+FFFD; '"', '\\' and the C0 controls
 * are escaped as jansson escapes them, and the characters above as
 * \uXXXX.  One pass, into room reserved for the worst case (6 bytes a
 * byte). */
static void ft__str_lit(ft__jw *w, const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)(s ? s : "");
  if (w->bad || n > (SIZE_MAX - 2) / 6 || ft_buf_reserve(w->out, 6 * n + 2) < 0) {
    w->bad = true;
    return;
  }
  char *d = w->out->data + w->out->len;
  size_t o = 0;
  d[o++] = '"';
  for (size_t i = 0; i < n;) {
    unsigned char c = p[i];
    if (c >= 0x20 && c < 0x7F) {
      if (c == '"' || c == '\\')
        d[o++] = '\\';
      d[o++] = (char)c;
      i++;
      continue;
    }
    if (c < 0x20) {
      const char *e = c == '\b'   ? "\\b"
                      : c == '\f' ? "\\f"
                      : c == '\n' ? "\\n"
                      : c == '\r' ? "\\r"
                      : c == '\t' ? "\\t"
                                  : NULL;
      if (e) {
        memcpy(d + o, e, 2);
        o += 2;
      } else {
        ft__hex4(d + o, c);
        o += 6;
      }
      i++;
      continue;
    }
    size_t len = ft__utf8_seq(p + i, n - i);
    if (!len) {
      memcpy(d + o, "\xEF\xBF\xBD", 3);
      o += 3;
      i++;
      continue;
    }
    uint32_t cp = ft__utf8_cp(p + i, len);
    if (ft__json_escaped_cp(cp)) {
      ft__hex4(d + o, cp);
      o += 6;
    } else {
      memcpy(d + o, p + i, len);
      o += len;
    }
    i += len;
  }
  d[o++] = '"';
  w->out->len += o;
}

/* ,"key": (keys are short ASCII literals), written in place with room
 * for a number after it: returns where that goes, or NULL (bad). */
static char *ft__key(ft__jw *w, const char *k) {
  size_t l = strlen(k);
  ft_buf *b = w->out;
  if (w->bad || l > 64 || (b->cap - b->len < l + 4 + 48 && ft_buf_reserve(b, l + 4 + 48) < 0)) {
    w->bad = true;
    return NULL;
  }
  char *d = b->data + b->len;
  d[0] = w->sep;
  d[1] = '"';
  memcpy(d + 2, k, l);
  d[l + 2] = '"';
  d[l + 3] = ':';
  w->sep = ',';
  b->len += l + 4;
  return d + l + 4;
}

static void ft__put_int(ft__jw *w, const char *k, long long v) {
  char *d = ft__key(w, k);
  if (!d)
    return;
  size_t n = 0;
  if (v < 0)
    d[n++] = '-';
  n += ft__fmt_u64(d + n, v < 0 ? 0 - (unsigned long long)v : (unsigned long long)v);
  w->out->len += n;
}

static void ft__put_u64(ft__jw *w, const char *k, uint64_t v) {
  ft__put_int(w, k, v > (uint64_t)LLONG_MAX ? LLONG_MAX : (long long)v);
}

static void ft__put_str(ft__jw *w, const char *k, const char *s) {
  ft__key(w, k);
  ft__str_lit(w, s, s ? strlen(s) : 0);
}

static void ft__put_bool(ft__jw *w, const char *k, bool v) {
  ft__key(w, k);
  ft__raw(w, v ? "true" : "false", v ? 4 : 5);
}

/* A real as jansson writes one: "%.15g", ".0" after a whole number, the
 * exponent without '+' or leading zeros; not finite: bad (jansson has no
 * such real). */
static void ft__put_real(ft__jw *w, const char *k, double v) {
  char tmp[48];
  if (!isfinite(v)) {
    w->bad = true;
    return;
  }
  int n = snprintf(tmp, sizeof tmp - 2, "%.15g", v);
  if (n < 0 || (size_t)n >= sizeof tmp - 2) {
    w->bad = true;
    return;
  }
  for (int i = 0; i < n; i++)
    if (tmp[i] == ',') /* a locale's decimal point */
      tmp[i] = '.';
  char *e = memchr(tmp, 'e', (size_t)n);
  if (!e && !memchr(tmp, '.', (size_t)n)) {
    memcpy(tmp + n, ".0", 2);
    n += 2;
  } else if (e) {
    char *from = e + 1, *to = e + 1;
    if (*from == '+')
      from++;
    else if (*from == '-')
      from++, to++;
    while (*from == '0' && from[1])
      from++;
    memmove(to, from, (size_t)(tmp + n - from));
    n -= (int)(from - to);
  }
  ft__key(w, k);
  ft__raw(w, tmp, (size_t)n);
}

/* Nanoseconds as seconds, cut to the microsecond: what ft__put_real writes
 * for that real (0.0, 2.0, 0.001176, 7e-6, 1.2e-5), from the integer,
 * without printf: a task's events carry two. */
static void ft__put_secs(ft__jw *w, const char *k, uint64_t ns) {
  uint64_t us = ns / 1000u;
  if (us >= 1000000000000000ull) { /* past 15 digits: printf's rounding */
    ft__put_real(w, k, (double)us / 1e6);
    return;
  }
  char tmp[40];
  size_t n = 0;
  if (us == 0) {
    memcpy(tmp, "0.0", 3);
    n = 3;
  } else if (us < 100) { /* below 1e-4: "%g" writes an exponent */
    unsigned hi = (unsigned)(us >= 10 ? us / 10 : us), lo = (unsigned)(us >= 10 ? us % 10 : 0);
    tmp[n++] = (char)('0' + hi);
    if (lo) {
      tmp[n++] = '.';
      tmp[n++] = (char)('0' + lo);
    }
    memcpy(tmp + n, us >= 10 ? "e-5" : "e-6", 3);
    n += 3;
  } else {
    uint64_t frac = us % 1000000u;
    n = ft__fmt_u64(tmp, us / 1000000u);
    tmp[n++] = '.';
    if (!frac) {
      tmp[n++] = '0';
    } else {
      char f[6];
      for (int i = 5; i >= 0; i--, frac /= 10)
        f[i] = (char)('0' + frac % 10);
      size_t m = 6;
      while (f[m - 1] == '0')
        m--;
      memcpy(tmp + n, f, m);
      n += m;
    }
  }
  char *d = ft__key(w, k);
  if (d) {
    memcpy(d, tmp, n);
    w->out->len += n;
  }
}

/* A command line as an array of strings (each by the strings' rules);
 * nothing when it is unknown. */
static void ft__put_argv(ft__jw *w, const char *const *argv, bool cut) {
  if (!argv)
    return;
  size_t i;
  ft__key(w, "argv");
  ft__raw(w, "[", 1);
  for (i = 0; i < FT_JSON_MAX_ARGV && argv[i]; i++) {
    if (i)
      ft__raw(w, ",", 1);
    ft__str_lit(w, argv[i], strlen(argv[i]));
  }
  ft__raw(w, "]", 1);
  if (cut || argv[i])
    ft__put_bool(w, "argv_truncated", true);
}

static void ft__put_task(ft__jw *w, const ft_event *ev) {
  ft__put_str(w, "pool", ev->name);
  ft__put_u64(w, "task", ev->u.task.task);
  ft__put_u64(w, "item", ev->u.task.item);
  ft__put_u64(w, "batch", ev->u.task.batch);
  ft__put_int(w, "worker", ev->u.task.worker);
  ft__put_int(w, "worker_pid", ev->pid);
  if (ev->kind == FT_EV_TASK_START)
    return;
  ft__put_secs(w, "dur", ev->u.task.dur_ns);
  if (ev->kind != FT_EV_TASK_FAIL)
    return;
  ft__put_str(w, "status", ft_err_name(ev->u.task.status));
  if (ev->u.task.code)
    ft__put_int(w, "code", ev->u.task.code);
  if (ev->u.task.signal) {
    ft__put_str(w, "signal", ft_signal_name(ev->u.task.signal));
    ft__put_int(w, "signo", ev->u.task.signal);
  }
  if (ev->u.task.cause)
    ft__put_str(w, "cause", ev->u.task.cause);
}

static void ft__put_queue(ft__jw *w, const ft_event *ev) {
  const ft_queue_stats *q = &ev->u.queue;
  ft__put_str(w, "queue", ev->name);
  ft__put_u64(w, "puts", q->puts);
  ft__put_u64(w, "gets", q->gets);
  ft__put_u64(w, "bytes_in", q->bytes_in);
  ft__put_u64(w, "bytes_out", q->bytes_out);
  ft__put_u64(w, "depth", q->depth);
  ft__put_u64(w, "depth_bytes", q->depth_bytes);
  ft__put_u64(w, "high_water", q->high_water);
  ft__put_u64(w, "capacity", q->capacity);
  ft__put_u64(w, "capacity_bytes", q->capacity_bytes);
  ft__put_secs(w, "put_blocked", q->put_blocked_ns);
  ft__put_secs(w, "get_blocked", q->get_blocked_ns);
  ft__put_int(w, "producers_blocked", q->producers_blocked);
  ft__put_int(w, "consumers_blocked", q->consumers_blocked);
  ft__put_int(w, "owner_deaths", q->owner_deaths);
  ft__put_bool(w, "closed", q->closed);
}

static void ft__put_kind(ft__jw *w, const ft_event *ev) {
  switch (ev->kind) {
  case FT_EV_SPAWN:
    ft__put_str(w, "role", ev->u.spawn.role ? ev->u.spawn.role : "process");
    if (ev->u.spawn.worker >= 0)
      ft__put_int(w, "worker", ev->u.spawn.worker);
    if (ev->u.spawn.step)
      ft__put_str(w, "step", ev->u.spawn.step);
    if (ev->u.spawn.launcher_pid > 0)
      ft__put_int(w, "launcher_pid", ev->u.spawn.launcher_pid);
    ft__put_argv(w, ev->u.spawn.argv, ev->u.spawn.argv_cut);
    break;
  case FT_EV_EXEC:
    ft__put_str(w, "path", ev->u.exec.path);
    ft__put_argv(w, ev->u.exec.argv, ev->u.exec.argv_cut);
    if (ev->u.exec.err) {
      ft__put_str(w, "error", ft_err_name(ev->u.exec.err));
      ft__put_int(w, "errno", -(long long)ev->u.exec.err);
    }
    break;
  case FT_EV_EXIT:
    if (ev->u.exit.signal) {
      ft__put_str(w, "signal", ft_signal_name(ev->u.exit.signal));
      ft__put_int(w, "signo", ev->u.exit.signal);
    } else {
      ft__put_int(w, "code", ev->u.exit.code);
    }
    if (ev->u.exit.core)
      ft__put_bool(w, "core", true);
    if (ev->u.exit.orphan)
      ft__put_bool(w, "orphan", true);
    if (ev->u.exit.requested)
      ft__put_bool(w, "requested", true);
    ft__put_secs(w, "runtime", ev->u.exit.runtime_ns);
    break;
  case FT_EV_OUTPUT:
    ft__put_str(w, "stream", ev->u.output.stream == 2 ? "stderr" : "stdout");
    ft__key(w, "line");
    ft__str_lit(w, ev->u.output.line, ev->u.output.line ? ev->u.output.len : 0);
    if (ev->u.output.truncated)
      ft__put_bool(w, "truncated", true);
    break;
  case FT_EV_TASK_START:
  case FT_EV_TASK_DONE:
  case FT_EV_TASK_FAIL:
    ft__put_task(w, ev);
    break;
  case FT_EV_WORKER_REPLACED:
    ft__put_int(w, "worker", ev->u.replaced.worker);
    ft__put_int(w, "old_pid", ev->u.replaced.old_pid);
    ft__put_int(w, "new_pid", ev->u.replaced.new_pid);
    ft__put_str(w, "reason", ev->u.replaced.reason == FT_REPLACE_RECYCLED ? "recycled" : "died");
    break;
  case FT_EV_POOL_START:
  case FT_EV_POOL_END:
    ft__put_int(w, "workers", ev->u.pool.workers);
    break;
  case FT_EV_SUBMIT:
    ft__put_u64(w, "batch", ev->u.submit.batch);
    ft__put_u64(w, "first", ev->u.submit.first);
    ft__put_u64(w, "count", ev->u.submit.count);
    break;
  case FT_EV_QUEUE:
    ft__put_queue(w, ev);
    break;
  case FT_EV_ZOMBIE:
    break; /* pid, ppid (the parent that does not reap it) and name say it all */
  case FT_EV_HOST:
    if (ev->u.host.address)
      ft__put_str(w, "address", ev->u.host.address);
    ft__put_str(w, "launcher", ev->u.host.launcher);
    if (ev->u.host.job)
      ft__put_str(w, "job", ev->u.host.job);
    ft__put_str(w, "state", ev->u.host.lost ? "lost" : "up");
    if (ev->u.host.cause)
      ft__put_str(w, "cause", ev->u.host.cause);
    break;
  case FT_EV_STAT: {
    char st[2] = {ev->u.stat.state ? ev->u.stat.state : '?', 0};
    ft__put_str(w, "state", st);
    ft__put_int(w, "threads", ev->u.stat.threads);
    ft__put_real(w, "cpu", round(ev->u.stat.cpu * 10) / 10);
    ft__put_u64(w, "rss_kb", ev->u.stat.rss_kb);
    break;
  }
  case FT_EV_ERROR:
    ft__put_str(w, "what", ev->u.error.what);
    ft__put_str(w, "error", ft_err_name(ev->u.error.err));
    ft__put_str(w, "message", ft_strerror(ev->u.error.err));
    break;
  default:
    break;
  }
}

/* Append s (n bytes, any bytes) to out as a JSON string literal, quotes
 * included, by the stream's rules: cleaned to valid UTF-8, controls and
 * the characters above escaped.  0 or -ENOMEM (out unchanged then). */
int ft_json_append_string(ft_buf *out, const char *s, size_t n) {
  size_t len0 = out->len;
  ft__jw w = {out, false, ','};
  ft__str_lit(&w, s, n);
  if (!w.bad)
    return 0;
  out->len = len0;
  return -ENOMEM;
}

/* Append ev to out as one line of compact JSON, newline included (schema in
 * docs/json.md); "t" is seconds since t0.  Returns 0, FT_EINVAL for a NULL
 * argument or an unknown kind, or -ENOMEM; on failure out is unchanged. */
int ft_event_to_json(const ft_event *ev, uint64_t t0, ft_buf *out) {
  if (!ev || !out || (unsigned)ev->kind >= FT_EV_COUNT_)
    return FT_EINVAL;
  size_t len0 = out->len;
  ft__jw w = {out, false, '{'};
  ft__put_secs(&w, "t", ev->t_ns > t0 ? ev->t_ns - t0 : 0);
  ft__put_str(&w, "ev", ft_event_kind_name(ev->kind));
  ft__put_int(&w, "pid", ev->pid);
  ft__put_int(&w, "ppid", ev->ppid);
  if (ev->name && *ev->name)
    ft__put_str(&w, "name", ev->name);
  if (ev->host)
    ft__put_int(&w, "host", ev->host);
  ft__put_kind(&w, ev);
  ft__raw(&w, "}\n", 2);
  if (!w.bad)
    return 0;
  out->len = len0;
  return -ENOMEM;
}
