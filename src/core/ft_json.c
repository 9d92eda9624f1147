/* ft_json.c - events as newline-delimited JSON, and back (schema: docs/json.md).
 *
 * The encoder builds one jansson object per event and dumps it compactly
 * straight into the caller's buffer (no intermediate string).  The decoder
 * is strict about the fields it knows (type and range: a line that breaks
 * them is FT_EINVAL) and ignores every field it does not know. */
#include "ft_internal.h"

#include <jansson.h>
#include <limits.h>
#include <math.h>

/* Largest value of a time field (seconds) a reader accepts: about 31 years.
 * Times are written with microsecond precision and 15 significant digits,
 * which is exact below this bound. */
#define FT_JSON_MAX_SECONDS 1e9
/* Cleaned strings up to this size are built on the stack. */
#define FT_JSON_STACK 4096
/* The most arguments an event's argv holds (more are cut: argv_truncated). */
#define FT_JSON_MAX_ARGV 4096
#define FT_JSON_DUMP_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15))

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

/* Copy s to dst (when dst is not NULL) with every byte that is not part of a
 * valid UTF-8 sequence replaced by U+FFFD.  Returns the cleaned length; it
 * equals n exactly when s is valid UTF-8 (a replacement is 3 bytes). */
static size_t ft__utf8_clean(const char *s, size_t n, char *dst) {
  static const char repl[3] = {'\xEF', '\xBF', '\xBD'};
  const unsigned char *p = (const unsigned char *)s;
  size_t o = 0;
  for (size_t i = 0; i < n;) {
    size_t len = p[i] < 0x80 ? 1 : ft__utf8_seq(p + i, n - i);
    if (dst)
      memcpy(dst + o, len ? (const char *)p + i : repl, len ? len : 3);
    o += len ? len : 3;
    i += len ? len : 1;
  }
  return o;
}

/* A JSON string of arbitrary bytes (NULL: ""), cleaned to valid UTF-8. */
static json_t *ft__jstr(const char *s, size_t n) {
  if (!s)
    s = "", n = 0;
  if (n > SIZE_MAX / 3)
    return NULL;
  size_t m = ft__utf8_clean(s, n, NULL);
  if (m == n)
    return json_stringn_nocheck(s, n);
  char stack[FT_JSON_STACK];
  char *d = m <= sizeof stack ? stack : malloc(m);
  if (!d)
    return NULL;
  ft__utf8_clean(s, n, d);
  json_t *v = json_stringn_nocheck(d, m);
  if (d != stack)
    free(d);
  return v;
}

/* ------------------------------------------------------------ writing */

/* The object being built; bad once any allocation failed. */
typedef struct ft__jw {
  json_t *o;
  bool bad;
} ft__jw;

static void ft__put(ft__jw *w, const char *k, json_t *v) {
  /* json_object_set_new_nocheck drops v when it fails; keys are ASCII literals */
  if (!v || json_object_set_new_nocheck(w->o, k, v) < 0)
    w->bad = true;
}

static void ft__put_int(ft__jw *w, const char *k, long long v) { ft__put(w, k, json_integer(v)); }

static void ft__put_u64(ft__jw *w, const char *k, uint64_t v) {
  ft__put(w, k, json_integer(v > (uint64_t)LLONG_MAX ? LLONG_MAX : (json_int_t)v));
}

static void ft__put_str(ft__jw *w, const char *k, const char *s) {
  ft__put(w, k, ft__jstr(s, s ? strlen(s) : 0));
}

/* Nanoseconds as seconds, cut to the microsecond. */
static void ft__put_secs(ft__jw *w, const char *k, uint64_t ns) {
  ft__put(w, k, json_real((double)(ns / 1000u) / 1e6));
}

/* A command line as an array of strings (each by the strings' rules);
 * nothing when it is unknown. */
static void ft__put_argv(ft__jw *w, const char *const *argv, bool cut) {
  if (!argv)
    return;
  json_t *a = json_array();
  size_t i;
  for (i = 0; a && argv[i] && i < FT_JSON_MAX_ARGV; i++)
    if (json_array_append_new(a, ft__jstr(argv[i], strlen(argv[i]))) < 0)
      w->bad = true;
  ft__put(w, "argv", a);
  if (cut || (a && argv[i]))
    ft__put(w, "argv_truncated", json_true());
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
  ft__put(w, "status", json_string_nocheck(ft_err_name(ev->u.task.status)));
  if (ev->u.task.code)
    ft__put_int(w, "code", ev->u.task.code);
  if (ev->u.task.signal) {
    ft__put(w, "signal", json_string_nocheck(ft_signal_name(ev->u.task.signal)));
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
  ft__put(w, "closed", json_boolean(q->closed));
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
      ft__put(w, "error", json_string_nocheck(ft_err_name(ev->u.exec.err)));
      ft__put_int(w, "errno", -(long long)ev->u.exec.err);
    }
    break;
  case FT_EV_EXIT:
    if (ev->u.exit.signal) {
      ft__put(w, "signal", json_string_nocheck(ft_signal_name(ev->u.exit.signal)));
      ft__put_int(w, "signo", ev->u.exit.signal);
    } else {
      ft__put_int(w, "code", ev->u.exit.code);
    }
    if (ev->u.exit.core)
      ft__put(w, "core", json_true());
    if (ev->u.exit.orphan)
      ft__put(w, "orphan", json_true());
    if (ev->u.exit.requested)
      ft__put(w, "requested", json_true());
    ft__put_secs(w, "runtime", ev->u.exit.runtime_ns);
    break;
  case FT_EV_OUTPUT:
    ft__put(w, "stream", json_string_nocheck(ev->u.output.stream == 2 ? "stderr" : "stdout"));
    ft__put(w, "line", ft__jstr(ev->u.output.line, ev->u.output.line ? ev->u.output.len : 0));
    if (ev->u.output.truncated)
      ft__put(w, "truncated", json_true());
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
    ft__put(
        w, "reason",
        json_string_nocheck(ev->u.replaced.reason == FT_REPLACE_RECYCLED ? "recycled" : "died"));
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
    ft__put(w, "state", json_string_nocheck(ev->u.host.lost ? "lost" : "up"));
    if (ev->u.host.cause)
      ft__put_str(w, "cause", ev->u.host.cause);
    break;
  case FT_EV_STAT: {
    char st[2] = {ev->u.stat.state ? ev->u.stat.state : '?', 0};
    ft__put_str(w, "state", st);
    ft__put_int(w, "threads", ev->u.stat.threads);
    ft__put(w, "cpu", json_real(round(ev->u.stat.cpu * 10) / 10));
    ft__put_u64(w, "rss_kb", ev->u.stat.rss_kb);
    break;
  }
  case FT_EV_ERROR:
    ft__put_str(w, "what", ev->u.error.what);
    ft__put(w, "error", json_string_nocheck(ft_err_name(ev->u.error.err)));
    ft__put(w, "message", json_string_nocheck(ft_strerror(ev->u.error.err)));
    break;
  default:
    break;
  }
}

/* ------------------------------------------------- terminal-safe output */

/* Characters jansson writes raw (it escapes only C0, '"' and '\\') that
 * must not be raw in the stream, where `cat run.jsonl` or a log viewer
 * shows them on a terminal: DEL, the C1 controls U+0080-U+009F (U+009B is
 * CSI, U+009D OSC), the bidi marks, embeddings, overrides and isolates,
 * the line and paragraph separators (which also end a line in JavaScript)
 * and U+FEFF.  They are written as \uXXXX: the JSON value is unchanged. */
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

/* Rewrite out->data[from..] (dumped JSON: valid UTF-8) with the characters
 * above as \uXXXX; 0 or -ENOMEM (out unchanged then). */
static int ft__json_escape_tail(ft_buf *out, size_t from) {
  const unsigned char *p = (const unsigned char *)out->data;
  size_t extra = 0;
  for (size_t i = from; i < out->len;) {
    size_t len = ft__utf8_seq(p + i, out->len - i);
    len = len ? len : 1;
    if (ft__json_escaped_cp(ft__utf8_cp(p + i, len)))
      extra += 6 - len;
    i += len;
  }
  if (!extra)
    return 0;
  size_t n = out->len - from;
  char *copy = malloc(n);
  if (!copy || ft_buf_reserve(out, extra + 1) < 0) { /* + 1: snprintf's NUL */
    free(copy);
    return -ENOMEM;
  }
  memcpy(copy, out->data + from, n);
  out->len = from;
  for (size_t i = 0; i < n;) {
    const unsigned char *q = (const unsigned char *)copy + i;
    size_t len = ft__utf8_seq(q, n - i);
    len = len ? len : 1;
    uint32_t cp = ft__utf8_cp(q, len);
    if (ft__json_escaped_cp(cp)) {
      out->len += (size_t)snprintf(out->data + out->len, 7, "\\u%04X", (unsigned)cp);
    } else {
      memcpy(out->data + out->len, q, len);
      out->len += len;
    }
    i += len;
  }
  free(copy);
  return 0;
}

static int ft__dump_cb(const char *buf, size_t size, void *data) {
  return ft_buf_append(data, buf, size) < 0 ? -1 : 0;
}

/* Append s (n bytes, any bytes) to out as a JSON string literal, quotes
 * included, by the stream's rules: cleaned to valid UTF-8, controls and
 * the characters above escaped.  0 or -ENOMEM (out unchanged then). */
int ft_json_append_string(ft_buf *out, const char *s, size_t n) {
  size_t len0 = out->len;
  json_t *v = ft__jstr(s, n);
  int rc = v ? 0 : -ENOMEM;
  if (rc == 0 && json_dump_callback(v, ft__dump_cb, out, FT_JSON_DUMP_FLAGS | JSON_ENCODE_ANY) < 0)
    rc = -ENOMEM;
  if (rc == 0)
    rc = ft__json_escape_tail(out, len0);
  json_decref(v);
  if (rc < 0)
    out->len = len0;
  return rc;
}

/* Dump o compactly onto out: through a stack buffer (one append) when it
 * fits, as most events do, else piece by piece. */
static int ft__dump(const json_t *o, ft_buf *out) {
  char tmp[1024];
  size_t len0 = out->len;
  size_t n = json_dumpb(o, tmp, sizeof tmp, FT_JSON_DUMP_FLAGS);
  if (n == 0)
    return -ENOMEM;
  if (n <= sizeof tmp ? ft_buf_append(out, tmp, n) < 0
                      : json_dump_callback(o, ft__dump_cb, out, FT_JSON_DUMP_FLAGS) < 0)
    return -ENOMEM;
  return ft__json_escape_tail(out, len0);
}

/* Append ev to out as one line of compact JSON, newline included (schema in
 * docs/json.md); "t" is seconds since t0.  Returns 0, FT_EINVAL for a NULL
 * argument or an unknown kind, or -ENOMEM; on failure out is unchanged. */
int ft_event_to_json(const ft_event *ev, uint64_t t0, ft_buf *out) {
  if (!ev || !out || (unsigned)ev->kind >= FT_EV_COUNT_)
    return FT_EINVAL;
  size_t len0 = out->len;
  ft__jw w = {json_object(), false};
  if (!w.o)
    goto fail;
  ft__put_secs(&w, "t", ev->t_ns > t0 ? ev->t_ns - t0 : 0);
  ft__put(&w, "ev", json_string_nocheck(ft_event_kind_name(ev->kind)));
  ft__put_int(&w, "pid", ev->pid);
  ft__put_int(&w, "ppid", ev->ppid);
  if (ev->name && *ev->name)
    ft__put_str(&w, "name", ev->name);
  if (ev->host)
    ft__put_int(&w, "host", ev->host);
  ft__put_kind(&w, ev);
  if (w.bad || ft__dump(w.o, out) < 0 || ft_buf_append(out, "\n", 1) < 0)
    goto fail;
  json_decref(w.o);
  return 0;
fail:
  json_decref(w.o);
  out->len = len0;
  return -ENOMEM;
}

/* ------------------------------------------------------------ reading */

/* The object being read; bad once a known field was missing or wrong. */
typedef struct ft__jr {
  json_t *o;
  bool bad;
} ft__jr;

static json_t *ft__get(ft__jr *r, const char *k, bool required) {
  json_t *v = json_object_get(r->o, k);
  if (!v && required)
    r->bad = true;
  return v;
}

/* An integer field in [lo, hi]; dflt when absent (and not required). */
static long long ft__int(ft__jr *r, const char *k, bool required, long long lo, long long hi,
                         long long dflt) {
  json_t *v = ft__get(r, k, required);
  if (!v)
    return dflt;
  if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
    r->bad = true;
    return dflt;
  }
  return json_integer_value(v);
}

static uint64_t ft__u64(ft__jr *r, const char *k) {
  return (uint64_t)ft__int(r, k, true, 0, LLONG_MAX, 0);
}

/* A time in seconds (integer or real, 0 to FT_JSON_MAX_SECONDS) as ns,
 * rounded to the microsecond. */
static uint64_t ft__secs(ft__jr *r, const char *k, bool required) {
  json_t *v = ft__get(r, k, required);
  if (!v)
    return 0;
  double s = json_is_number(v) ? json_number_value(v) : -1;
  if (!(s >= 0 && s <= FT_JSON_MAX_SECONDS)) {
    r->bad = true;
    return 0;
  }
  return (uint64_t)llround(s * 1e6) * 1000u;
}

/* A boolean field; false when absent (and not required). */
static bool ft__bool(ft__jr *r, const char *k, bool required) {
  json_t *v = ft__get(r, k, required);
  if (v && !json_is_boolean(v))
    r->bad = true;
  return json_is_true(v);
}

/* A string field (NULL when absent); valid while r->o lives.  Without len
 * the caller wants a C string (a name), and one holding a NUL is refused. */
static const char *ft__str(ft__jr *r, const char *k, bool required, size_t *len) {
  json_t *v = ft__get(r, k, required);
  if (v && (!json_is_string(v) || (!len && strlen(json_string_value(v)) != json_string_length(v))))
    r->bad = true;
  if (!json_is_string(v))
    return NULL;
  if (len)
    *len = json_string_length(v);
  return json_string_value(v);
}

/* Index of s in names[0..n), or -1 (and bad) when s is set but not there. */
static int ft__enum(ft__jr *r, const char *s, const char *const *names, int n) {
  for (int i = 0; s && i < n; i++)
    if (strcmp(s, names[i]) == 0)
      return i;
  if (s)
    r->bad = true;
  return -1;
}

/* A signal: "signo" (1 to 64) if present, else the "signal" name; 0 if neither. */
static int ft__signal(ft__jr *r) {
  int signo = (int)ft__int(r, "signo", false, 1, 64, 0);
  const char *name = ft__str(r, "signal", false, NULL);
  if (!signo && name && ft_parse_signal(name, &signo) < 0)
    r->bad = true;
  return signo;
}

/* The error code whose ft_err_name() is s: "OK", an FT_E* name or an errno name. */
static int ft__status(ft__jr *r, const char *s) {
  static const int own[] = {
#define FT_ERR_CODE_(name, value, msg) value,
      FT_ERRNO_MAP(FT_ERR_CODE_)
#undef FT_ERR_CODE_
  };
  if (!s || strcmp(s, "OK") == 0)
    return 0;
  for (size_t i = 0; i < FT_ARRAY_LEN(own); i++)
    if (strcmp(s, ft_err_name(own[i])) == 0)
      return own[i];
  for (int e = 1; e < 256 && strcmp(s, "UNKNOWN") != 0; e++)
    if (strcmp(s, ft_err_name(-e)) == 0)
      return -e;
  r->bad = true;
  return 0;
}

/* Strings of an event besides its name, kept by the decoder. */
#define FT__JSTRS 4

/* The fields of kind k into ev; its strings besides the name into s[], their lengths n[]. */
static void ft__get_kind(ft__jr *r, ft_event *ev, const char **s, size_t *n) {
  const char **s1 = &s[0];
  size_t *n1 = &n[0];
  static const char *const streams[] = {"stdout", "stderr"};
  static const char *const reasons[] = {"died", "recycled"};
  switch (ev->kind) {
  case FT_EV_SPAWN:
    *s1 = ft__str(r, "role", true, n1);
    ev->u.spawn.worker = (int)ft__int(r, "worker", false, 0, INT_MAX, -1);
    s[1] = ft__str(r, "step", false, &n[1]);
    ev->u.spawn.launcher_pid = (pid_t)ft__int(r, "launcher_pid", false, 1, INT_MAX, 0);
    break;
  case FT_EV_EXEC:
    *s1 = ft__str(r, "path", true, n1);
    ft__str(r, "error", false, NULL); /* the name of errno; errno is what counts */
    ev->u.exec.err = -(int)ft__int(r, "errno", false, 1, 3999, 0);
    break;
  case FT_EV_EXIT:
    ev->u.exit.signal = ft__signal(r);
    if (!ev->u.exit.signal)
      ev->u.exit.code = (int)ft__int(r, "code", true, INT_MIN, INT_MAX, 0);
    ev->u.exit.core = ft__bool(r, "core", false);
    ev->u.exit.orphan = ft__bool(r, "orphan", false);
    ev->u.exit.requested = ft__bool(r, "requested", false);
    ev->u.exit.runtime_ns = ft__secs(r, "runtime", true);
    break;
  case FT_EV_OUTPUT:
    ev->u.output.stream = 1 + ft__enum(r, ft__str(r, "stream", true, NULL), streams, 2);
    *s1 = ft__str(r, "line", true, n1);
    ev->u.output.len = *s1 ? *n1 : 0; /* NUL bytes included */
    ev->u.output.truncated = ft__bool(r, "truncated", false);
    break;
  case FT_EV_TASK_START:
  case FT_EV_TASK_DONE:
  case FT_EV_TASK_FAIL:
    ev->u.task.task = ft__u64(r, "task");
    ev->u.task.item = ft__u64(r, "item");
    ev->u.task.batch = ft__u64(r, "batch");
    ev->u.task.worker = (int)ft__int(r, "worker", true, -1, INT_MAX, 0);
    ft__int(r, "worker_pid", false, 0, INT_MAX, 0); /* = pid */
    if (ev->kind == FT_EV_TASK_START)
      break;
    ev->u.task.dur_ns = ft__secs(r, "dur", true);
    if (ev->kind == FT_EV_TASK_DONE)
      break;
    ev->u.task.status = ft__status(r, ft__str(r, "status", true, NULL));
    ev->u.task.code = (int)ft__int(r, "code", false, INT_MIN, INT_MAX, 0);
    ev->u.task.signal = ft__signal(r);
    s[1] = ft__str(r, "cause", false, &n[1]);
    break;
  case FT_EV_WORKER_REPLACED:
    ev->u.replaced.worker = (int)ft__int(r, "worker", true, INT_MIN, INT_MAX, 0);
    ev->u.replaced.old_pid = (pid_t)ft__int(r, "old_pid", true, 0, INT_MAX, 0);
    ev->u.replaced.new_pid = (pid_t)ft__int(r, "new_pid", true, 0, INT_MAX, 0);
    ev->u.replaced.reason = ft__enum(r, ft__str(r, "reason", true, NULL), reasons, 2) == 1
                                ? FT_REPLACE_RECYCLED
                                : FT_REPLACE_DIED;
    break;
  case FT_EV_POOL_START:
  case FT_EV_POOL_END:
    ev->u.pool.workers = (int)ft__int(r, "workers", true, INT_MIN, INT_MAX, 0);
    break;
  case FT_EV_SUBMIT:
    ev->u.submit.batch = ft__u64(r, "batch");
    ev->u.submit.first = ft__u64(r, "first");
    ev->u.submit.count = ft__u64(r, "count");
    break;
  case FT_EV_QUEUE: {
    ft_queue_stats *q = &ev->u.queue;
    q->puts = ft__u64(r, "puts");
    q->gets = ft__u64(r, "gets");
    q->bytes_in = ft__u64(r, "bytes_in");
    q->bytes_out = ft__u64(r, "bytes_out");
    q->depth = ft__u64(r, "depth");
    q->depth_bytes = ft__u64(r, "depth_bytes");
    q->high_water = ft__u64(r, "high_water");
    q->capacity = ft__u64(r, "capacity");
    q->capacity_bytes = ft__u64(r, "capacity_bytes");
    q->put_blocked_ns = ft__secs(r, "put_blocked", true);
    q->get_blocked_ns = ft__secs(r, "get_blocked", true);
    q->producers_blocked = (uint32_t)ft__int(r, "producers_blocked", true, 0, UINT32_MAX, 0);
    q->consumers_blocked = (uint32_t)ft__int(r, "consumers_blocked", true, 0, UINT32_MAX, 0);
    q->owner_deaths = (uint32_t)ft__int(r, "owner_deaths", true, 0, UINT32_MAX, 0);
    q->closed = ft__bool(r, "closed", true);
    break;
  }
  case FT_EV_ZOMBIE:
    break;
  case FT_EV_HOST: {
    static const char *const states[] = {"up", "lost"};
    s[0] = ft__str(r, "address", false, &n[0]);
    s[1] = ft__str(r, "launcher", true, &n[1]);
    s[2] = ft__str(r, "job", false, &n[2]);
    ev->u.host.lost = ft__enum(r, ft__str(r, "state", true, NULL), states, 2) == 1;
    s[3] = ft__str(r, "cause", false, &n[3]);
    if (ev->host == 0)
      r->bad = true; /* host 0 is this machine, never a joining host */
    break;
  }
  case FT_EV_STAT: {
    size_t sl = 0;
    const char *st = ft__str(r, "state", true, &sl);
    if (st && sl != 1)
      r->bad = true;
    ev->u.stat.state = st && sl == 1 ? st[0] : 0;
    ev->u.stat.threads = (int)ft__int(r, "threads", true, 0, INT_MAX, 0);
    json_t *cpu = ft__get(r, "cpu", true);
    double c = json_is_number(cpu) ? json_number_value(cpu) : -1;
    if (cpu && !(c >= 0 && c <= 1e6))
      r->bad = true;
    ev->u.stat.cpu = c >= 0 ? c : 0;
    ev->u.stat.rss_kb = ft__u64(r, "rss_kb");
    break;
  }
  case FT_EV_ERROR:
    *s1 = ft__str(r, "what", true, n1);
    ev->u.error.err = ft__status(r, ft__str(r, "error", true, NULL));
    ft__str(r, "message", false, NULL);
    break;
  default:
    r->bad = true;
    break;
  }
}

/* Copy s (n bytes) and a NUL into b; its offset, or (size_t)-1 on ENOMEM. */
static size_t ft__keep(ft_buf *b, const char *s, size_t n) {
  size_t at = b->len;
  if (ft_buf_append(b, s ? s : "", s ? n : 0) < 0 || ft_buf_append(b, "", 1) < 0)
    return (size_t)-1;
  return at;
}

/* Parse one line written by ft_event_to_json (len bytes; a trailing newline
 * is allowed) into ev; t_ns is "t" in nanoseconds.  strings is reset, and
 * the event's strings point into it, NUL-terminated.  Returns 0, FT_EINVAL
 * for a malformed line or one that is not an event (unknown "ev", such as
 * the summary), or -ENOMEM.  On failure ev is zeroed with name "". */
int ft_event_from_json(const char *line, size_t len, ft_event *ev, ft_buf *strings) {
  static const char *const kinds[] = {
#define FT_EV_STR_(name, str) str,
      FT_EVENT_MAP(FT_EV_STR_)
#undef FT_EV_STR_
  };
  int rc = FT_EINVAL;
  ft__jr r = {NULL, false};
  if (!ev)
    return FT_EINVAL;
  memset(ev, 0, sizeof *ev);
  ev->name = "";
  if (!line || !strings)
    goto fail;
  ft_buf_reset(strings);
  json_error_t jerr;
  r.o = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
  if (!json_is_object(r.o))
    goto fail;
  int kind = ft__enum(&r, ft__str(&r, "ev", true, NULL), kinds, (int)FT_ARRAY_LEN(kinds));
  if (r.bad)
    goto fail;
  ev->kind = (ft_event_kind)kind;
  ev->t_ns = ft__secs(&r, "t", true);
  ev->pid = (pid_t)ft__int(&r, "pid", true, 0, INT_MAX, 0);
  ev->ppid = (pid_t)ft__int(&r, "ppid", true, 0, INT_MAX, 0);
  ev->host = (uint32_t)ft__int(&r, "host", false, 0, UINT32_MAX, 0);
  size_t nlen = 0, n[FT__JSTRS] = {0};
  const char *name = ft__str(&r, "name", false, &nlen), *s[FT__JSTRS] = {NULL};
  if (kind >= FT_EV_TASK_START && kind <= FT_EV_TASK_FAIL)
    name = ft__str(&r, "pool", true, &nlen);
  else if (kind == FT_EV_QUEUE)
    name = ft__str(&r, "queue", true, &nlen);
  ft__get_kind(&r, ev, s, n);
  json_t *argv = NULL;
  bool argv_cut = false;
  if (kind == FT_EV_SPAWN || kind == FT_EV_EXEC) {
    argv = ft__get(&r, "argv", false);
    argv_cut = ft__bool(&r, "argv_truncated", false);
    size_t i;
    json_t *a;
    json_array_foreach(argv, i, a) {
      if (!json_is_string(a) || strlen(json_string_value(a)) != json_string_length(a))
        r.bad = true; /* an argument holds no NUL */
    }
    if (argv && (!json_is_array(argv) || json_array_size(argv) > FT_JSON_MAX_ARGV))
      r.bad = true;
  }
  if (r.bad)
    goto fail;
  /* offsets first, pointers last: the buffer may move while it grows */
  rc = -ENOMEM;
  size_t at_name = ft__keep(strings, name, nlen), at[FT__JSTRS];
  if (at_name == (size_t)-1)
    goto fail;
  for (int k = 0; k < FT__JSTRS; k++)
    if ((at[k] = s[k] || k == 0 ? ft__keep(strings, s[k], n[k]) : 0) == (size_t)-1)
      goto fail;
  /* the arguments one after the other (none holds a NUL), then the vector */
  size_t nargv = argv ? json_array_size(argv) : 0, at_first = strings->len, at_vec = 0;
  for (size_t i = 0; i < nargv; i++) {
    json_t *a = json_array_get(argv, i);
    if (ft__keep(strings, json_string_value(a), json_string_length(a)) == (size_t)-1)
      goto fail;
  }
  if (argv) {
    static const char pad[sizeof(char *)];
    size_t mis = strings->len % sizeof(char *);
    if ((mis && ft_buf_append(strings, pad, sizeof pad - mis) < 0))
      goto fail;
    at_vec = strings->len;
    if (ft_buf_reserve(strings, (nargv + 1) * sizeof(char *)) < 0)
      goto fail;
    strings->len += (nargv + 1) * sizeof(char *);
    const char **vec = (const char **)(void *)(strings->data + at_vec);
    const char *arg = strings->data + at_first;
    for (size_t i = 0; i < nargv; i++, arg += strlen(arg) + 1)
      vec[i] = arg;
    vec[nargv] = NULL;
  }
  const char *const *vec = argv ? (const char *const *)(void *)(strings->data + at_vec) : NULL;
#define FT__AT(k) (s[k] ? strings->data + at[k] : NULL)
  size_t at_s1 = at[0];
  ev->name = strings->data + at_name;
  if (kind == FT_EV_SPAWN) {
    ev->u.spawn.role = strings->data + at_s1;
    ev->u.spawn.step = FT__AT(1);
    ev->u.spawn.argv = vec;
    ev->u.spawn.argv_cut = argv_cut;
  } else if (kind == FT_EV_HOST) {
    ev->u.host.address = FT__AT(0);
    ev->u.host.launcher = FT__AT(1);
    ev->u.host.job = FT__AT(2);
    ev->u.host.cause = FT__AT(3);
  } else if (kind == FT_EV_EXEC) {
    ev->u.exec.path = strings->data + at_s1;
    ev->u.exec.argv = vec;
    ev->u.exec.argv_cut = argv_cut;
  } else if (kind == FT_EV_OUTPUT)
    ev->u.output.line = strings->data + at_s1;
  else if (kind == FT_EV_ERROR)
    ev->u.error.what = strings->data + at_s1;
  else if (kind == FT_EV_TASK_FAIL)
    ev->u.task.cause = FT__AT(1);
#undef FT__AT
  json_decref(r.o);
  return 0;
fail:
  json_decref(r.o);
  memset(ev, 0, sizeof *ev);
  ev->name = "";
  return rc;
}
