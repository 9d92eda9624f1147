/* ft_json.c - events read back from newline-delimited JSON (schema:
 * docs/json.md; ft_json_write.c writes them).  The decoder is strict about
 * the fields it knows (type and range: a line that breaks them is
 * FT_EINVAL) and ignores every field it does not know. */
#include "ft_internal.h"

#include <jansson.h>
#include <limits.h>
#include <math.h>

/* Largest value of a time field (seconds) a reader accepts: about 31 years.
 * Times are written with microsecond precision and 15 significant digits,
 * which is exact below this bound. */
#define FT_JSON_MAX_SECONDS 1e9

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
