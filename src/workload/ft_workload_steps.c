/* ft_workload_steps.c - the small languages inside workload values: durations,
 * sizes, counts, lists of items, and the steps of a task
 * ("sleep 0..3s; crash SIGKILL 10%"). */
#include "ft_internal.h"
#include "ft_workload.h"
#include "ft_workload_int.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* Parse a duration: "1.5" (seconds), "250ms", "2s", "1m", "1h", "100us". */
int ft_parse_duration(const char *s, double *out) {
  char *end;
  if (!s || !*s || isspace((unsigned char)*s))
    return FT_EINVAL;
  double v = strtod(s, &end);
  if (end == s || !isfinite(v) || v < 0)
    return FT_EINVAL;
  double mul = 1;
  if (!*end || strcmp(end, "s") == 0)
    mul = 1;
  else if (strcmp(end, "ms") == 0)
    mul = 1e-3;
  else if (strcmp(end, "us") == 0)
    mul = 1e-6;
  else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
    mul = 60;
  else if (strcmp(end, "h") == 0)
    mul = 3600;
  else
    return FT_EINVAL;
  *out = v * mul;
  return 0;
}

/* The leading decimal digits of s (at least one); *end after them. */
static int ft__leading_uint(const char *s, unsigned long long *v, char **end) {
  if (!s || !isdigit((unsigned char)*s))
    return FT_EINVAL;
  errno = 0;
  *v = strtoull(s, end, 10);
  return errno ? FT_EINVAL : 0;
}

/* Parse a size: "4096", "64K", "1M", "2G" (also KB/KiB forms), powers of 1024. */
int ft_parse_size(const char *s, uint64_t *out) {
  char *end;
  unsigned long long v;
  if (ft__leading_uint(s, &v, &end) < 0)
    return FT_EINVAL;
  unsigned shift = 0;
  if (*end) {
    char u = (char)toupper((unsigned char)*end);
    shift = u == 'K' ? 10 : u == 'M' ? 20 : u == 'G' ? 30 : u == 'B' ? 0 : 99;
    if (shift == 99)
      return FT_EINVAL;
    const char *rest = end + (u == 'B' ? 0 : 1);
    if (*rest && strcasecmp(rest, "B") && strcasecmp(rest, "iB"))
      return FT_EINVAL;
  }
  if (shift && v > (UINT64_MAX >> shift))
    return FT_EINVAL;
  *out = (uint64_t)v << shift;
  return 0;
}

/* A whole number >= 0 with an optional k / M / G suffix (powers of 1000). */
int ft__parse_count(const char *s, uint64_t *out) {
  char *end;
  unsigned long long v;
  if (ft__leading_uint(s, &v, &end) < 0)
    return FT_EINVAL;
  uint64_t mul = 1;
  if (*end) {
    mul = strcmp(end, "k") == 0 || strcmp(end, "K") == 0 ? 1000
          : strcmp(end, "M") == 0                        ? 1000000
          : strcmp(end, "G") == 0                        ? 1000000000
                                                         : 0;
    if (!mul)
      return FT_EINVAL;
  }
  if (v > UINT64_MAX / mul)
    return FT_EINVAL;
  *out = v * mul;
  return 0;
}

/* About what one item costs in memory from parsing to its result: its
 * string (a 32-byte allocation), its pointer, the runner's copy with its
 * header, its slice and its result. */
#define FT__ITEM_BYTES 128u

/* The memory this process may use: the machine's, or less under ulimit -v. */
static uint64_t ft__memory_bytes(const char **what) {
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  uint64_t mem = pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page : UINT64_MAX;
  struct rlimit rl;
  *what = "this machine's memory";
  if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < mem) {
    mem = rl.rlim_cur;
    *what = "the address-space limit (ulimit -v)";
  }
  return mem;
}

/* Whether a pool of n workers can be asked for here: at most what the
 * engine takes, and (the limit binds no root) at most RLIMIT_NPROC. */
int ft__workers_check(uint64_t n, ft_buf *why) {
  struct rlimit rl;
  if (n > FT__MAX_POOL_WORKERS)
    return ft_buf_printf(why, "%llu is more than a pool takes (%d, as many as pid_max allows)",
                         (unsigned long long)n, FT__MAX_POOL_WORKERS),
           FT_EINVAL;
  if (geteuid() != 0 && getrlimit(RLIMIT_NPROC, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
      n > rl.rlim_cur)
    return ft_buf_printf(why, "%llu is more than the process limit %llu allows (ulimit -u)",
                         (unsigned long long)n, (unsigned long long)rl.rlim_cur),
           FT_EINVAL;
  return 0;
}

/* Whether a pool of n workers may be asked for (the public name). */
int ft_plan_workers_check(uint64_t n, ft_buf *why) { return ft__workers_check(n, why); }

/* Append the len bytes at s to *items; the array doubles at each power of two. */
static int ft__items_push(char ***items, size_t *n, const char *s, size_t len) {
  if (*n >= FT__MAX_ITEMS)
    return FT_E2BIG;
  if ((*n & (*n - 1)) == 0) {
    char **ni = realloc(*items, (*n ? 2 * *n : 1) * sizeof *ni);
    if (!ni)
      return -ENOMEM;
    *items = ni;
  }
  if (!((*items)[*n] = strndup(s, len)))
    return -ENOMEM;
  (*n)++;
  return 0;
}

/* A pool's items: a count N ("0" .. "N-1"; the only form when count_only)
 * or a list "a, b, c", appended to *items; or "@path" (a relative path is
 * taken from dir) or "-" (stdin), streamed one a line as the pool runs:
 * *from is set to the path (checked to be there and not a directory) or
 * "-".  *why says what is wrong. */
int ft__items_parse(const char *value, bool count_only, const char *dir, char ***items, size_t *n,
                    char **from, ft_buf *why) {
  uint64_t count;
  int rc = 0;
  if (count_only || ft__parse_count(value, &count) == 0) {
    if (ft__parse_count(value, &count) < 0)
      return ft_buf_printf(why, "\"%s\" is not a whole number", value), FT_EINVAL;
    const char *mem_what;
    uint64_t mem = ft__memory_bytes(&mem_what);
    if (count > FT__MAX_ITEMS)
      return ft_buf_printf(why,
                           "%s is more items than a pool takes (%u: an item's number is 32 bits)",
                           value, FT__MAX_ITEMS),
             FT_EINVAL;
    if (count > mem / FT__ITEM_BYTES)
      return ft_buf_printf(why, "%s items need about %llu MiB, more than %s (%llu MiB)", value,
                           (unsigned long long)(count * FT__ITEM_BYTES >> 20), mem_what,
                           (unsigned long long)(mem >> 20)),
             FT_EINVAL;
    for (uint64_t i = 0; i < count && rc == 0; i++) {
      char num[24];
      rc = ft__items_push(items, n, num,
                          (size_t)snprintf(num, sizeof num, "%llu", (unsigned long long)i));
    }
  } else if (strcmp(value, "-") == 0) {
    free(*from);
    if (!(*from = strdup("-")))
      rc = -ENOMEM;
  } else if (value[0] == '@') {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s%s%s", value[1] == '/' ? "" : dir, value[1] == '/' ? "" : "/",
             value + 1);
    /* Read as the pool runs, so that its size costs no memory; but a file
     * that is not there, or cannot be read, is said now, where it is named
     * (not opened: a FIFO's writer would see its reader come and go). */
    struct stat sb;
    int e = stat(path, &sb) < 0      ? errno
            : S_ISDIR(sb.st_mode)    ? EISDIR
            : access(path, R_OK) < 0 ? errno
                                     : 0;
    if (e)
      return ft_buf_printf(why, "items file %s: %s", path, strerror(e)), FT_EINVAL;
    free(*from);
    if (!(*from = strdup(path)))
      rc = -ENOMEM;
  } else {
    for (const char *q = value; rc == 0;) {
      while (*q == ' ' || *q == '\t')
        q++;
      size_t len = strcspn(q, ","), t = len;
      while (t && (q[t - 1] == ' ' || q[t - 1] == '\t'))
        t--;
      if (!t)
        return ft_buf_printf(why, "empty item in \"%s\"", value), FT_EINVAL;
      rc = ft__items_push(items, n, q, t);
      if (!q[len])
        break;
      q += len + 1;
    }
  }
  if (rc == FT_E2BIG)
    return ft_buf_printf(why, "more than %u items", FT__MAX_ITEMS), FT_EINVAL;
  if (rc < 0)
    return ft_buf_printf(why, "out of memory"), rc;
  return 0;
}

/* Free what ft__split_words made (NULL: nothing). */
void ft__words_free(char **v) {
  for (size_t i = 0; v && v[i]; i++)
    free(v[i]);
  free(v);
}

/* Split like a shell splits words: blanks separate, '...' and "..." quote,
 * a backslash escapes the next character (inside "..." only $ ` " and \,
 * as in sh; inside '...' nothing).  No expansion of any kind. */
int ft__split_words(const char *s, char ***out, const char **why) {
  size_t n = 0, cap = 8;
  char **v = calloc(cap, sizeof *v);
  ft_buf w = {0};
  if (!v)
    return -ENOMEM;
  for (;;) {
    while (*s == ' ' || *s == '\t')
      s++;
    if (!*s)
      break;
    ft_buf_reset(&w);
    char q = 0;
    for (; *s && (q || (*s != ' ' && *s != '\t')); s++) {
      if (q == '\'' && *s == '\'') {
        q = 0;
      } else if (q == '"' && *s == '"') {
        q = 0;
      } else if (!q && (*s == '\'' || *s == '"')) {
        q = *s;
      } else if (*s == '\\' && s[1] && (!q || (q == '"' && strchr("$`\"\\", s[1])))) {
        s++;
        ft_buf_append(&w, s, 1);
      } else {
        ft_buf_append(&w, s, 1);
      }
    }
    if (q) {
      *why = q == '"' ? "unterminated \" quote" : "unterminated ' quote";
      goto fail;
    }
    if (n + 2 > cap) {
      char **nv = realloc(v, (cap *= 2) * sizeof *v);
      if (!nv)
        goto fail;
      v = nv;
    }
    ft_buf_append(&w, "", 1);
    v[n++] = strdup(w.data);
    v[n] = NULL;
  }
  ft_buf_free(&w);
  *out = v;
  return (int)n;
fail:
  ft_buf_free(&w);
  for (size_t i = 0; i < n; i++)
    free(v[i]);
  free(v);
  return FT_EINVAL;
}

void ft__step_free(ft_step *st) {
  free(st->text);
  for (char **p = st->argv; p && *p; p++)
    free(*p);
  free(st->argv);
  for (char **p = st->values; p && *p; p++)
    free(*p);
  free(st->values);
}

/* "sleep 1s", "sleep 0..3s": one duration or a range. */
static int ft__step_durations(const char *arg, ft_step *st, ft_buf *why) {
  const char *dots = strstr(arg, "..");
  if (!dots) {
    if (ft_parse_duration(arg, &st->d_min) < 0)
      return ft_buf_printf(why, "bad duration \"%s\"", arg), FT_EINVAL;
    st->d_max = st->d_min;
    return 0;
  }
  char lo[64];
  size_t n = (size_t)(dots - arg);
  if (n >= sizeof lo)
    return ft_buf_printf(why, "bad duration range \"%s\"", arg), FT_EINVAL;
  memcpy(lo, arg, n);
  lo[n] = '\0';
  const char *hi = dots + 2;
  /* "0..3s": the unit of the upper bound applies to a bare lower bound. */
  char lo_unit[80];
  const char *unit = hi;
  while (*unit && (isdigit((unsigned char)*unit) || *unit == '.'))
    unit++;
  bool bare = strspn(lo, "0123456789.") == strlen(lo);
  snprintf(lo_unit, sizeof lo_unit, "%s%s", lo, bare ? unit : "");
  if (ft_parse_duration(lo_unit, &st->d_min) < 0 || ft_parse_duration(hi, &st->d_max) < 0 ||
      st->d_max < st->d_min)
    return ft_buf_printf(why, "bad duration range \"%s\"", arg), FT_EINVAL;
  return 0;
}

/* key=value options of put/get. */
static int ft__step_option(const char *w, ft_step *st, ft_buf *why) {
  const char *eq = strchr(w, '=');
  const char *v = eq ? eq + 1 : "";
  size_t kl = eq ? (size_t)(eq - w) : strlen(w);
  if (kl == 5 && strncmp(w, "count", 5) == 0) {
    if (ft__parse_count(v, &st->n) < 0)
      return ft_buf_printf(why, "count: \"%s\" is not a count", v), FT_EINVAL;
  } else if (kl == 4 && strncmp(w, "size", 4) == 0 && st->kind == FT_STEP_PUT) {
    if (ft_parse_size(v, &st->size) < 0)
      return ft_buf_printf(why, "size: bad size \"%s\"", v), FT_EINVAL;
  } else if (kl == 4 && strncmp(w, "pace", 4) == 0 && st->kind == FT_STEP_PUT) {
    if (ft_parse_duration(v, &st->d_min) < 0)
      return ft_buf_printf(why, "pace: bad duration \"%s\"", v), FT_EINVAL;
  } else {
    return ft_buf_printf(why, "unknown option \"%.*s\"", (int)kl, w), FT_EINVAL;
  }
  return 0;
}

/* put QUEUE VALUE... | put QUEUE count=N [size=S] [pace=D]; get QUEUE [count=N] [print];
 * relay QUEUE QUEUE2 [print].  Queue names are kept in text / values[0..] and
 * resolved to indexes once every section is known. */
static int ft__step_queue(char **w, int n, ft_step *st, ft_buf *why) {
  int need = st->kind == FT_STEP_RELAY ? 3 : 2;
  if (n < need)
    return ft_buf_printf(why, "%s needs %s", w[0],
                         st->kind == FT_STEP_RELAY ? "two queues" : "a queue"),
           FT_EINVAL;
  st->text = strdup(w[1]); /* the queue's name, resolved later */
  int first = 2;
  if (st->kind == FT_STEP_RELAY) {
    st->values = calloc(2, sizeof *st->values);
    if (!st->values)
      return -ENOMEM;
    st->values[0] = strdup(w[2]); /* the destination, resolved later */
    first = 3;
  }
  size_t nvals = 0;
  for (int i = first; i < n; i++) {
    if (strcmp(w[i], "print") == 0 && st->kind != FT_STEP_PUT) {
      st->print = true;
    } else if (strchr(w[i], '=')) {
      if (ft__step_option(w[i], st, why) < 0)
        return FT_EINVAL;
    } else if (st->kind == FT_STEP_PUT) {
      char **nv = realloc(st->values, (nvals + 2) * sizeof *nv);
      if (!nv)
        return -ENOMEM;
      st->values = nv;
      st->values[nvals++] = strdup(w[i]);
      st->values[nvals] = NULL;
    } else {
      return ft_buf_printf(why, "%s: unexpected \"%s\"", w[0], w[i]), FT_EINVAL;
    }
  }
  if (st->kind == FT_STEP_PUT && !st->values && !st->n)
    return ft_buf_printf(why, "put needs values or count=N"), FT_EINVAL;
  if (st->kind == FT_STEP_PUT && st->values && st->n)
    return ft_buf_printf(why, "put takes values or count=N, not both"), FT_EINVAL;
  return 0;
}

static const char *const ft__kinds[] = {"sleep", "cpu",  "alloc", "print", "exec",  "fail",
                                        "crash", "leak", "put",   "get",   "relay", "shell"};

/* Parse one step (buf is trimmed, and cut here); a trailing " N%" sets its probability. */
static int ft__step_parse(char *buf, ft_step *st, ft_buf *why) {
  *st = (ft_step){.prob = 1, .queue = -1, .queue2 = -1};
  char *pct = strrchr(buf, ' ');
  if (pct && pct[1] && pct[strlen(pct) - 1] == '%') {
    char *end;
    double p = strtod(pct + 1, &end);
    if (*end != '%' || end[1] || !(p >= 0 && p <= 100))
      return ft_buf_printf(why, "bad percentage \"%s\"", pct + 1), FT_EINVAL;
    st->prob = p / 100;
    *pct = '\0';
  }
  char *kw = buf;
  while (*kw == ' ')
    kw++;
  size_t kl = strcspn(kw, " \t");
  char *rest = kw + kl;
  while (*rest == ' ' || *rest == '\t')
    rest++;
  int kind = -1;
  for (size_t i = 0; i < FT_ARRAY_LEN(ft__kinds); i++)
    if (strlen(ft__kinds[i]) == kl && strncmp(kw, ft__kinds[i], kl) == 0)
      kind = (int)i;
  if (kind < 0)
    return ft_buf_printf(why,
                         "unknown step \"%.*s\" (expected sleep, cpu, alloc, print, exec, shell, "
                         "fail, crash, leak, put, get or relay)",
                         (int)kl, kw),
           FT_EINVAL;
  bool shell = kind == (int)FT_ARRAY_LEN(ft__kinds) - 1;
  st->kind = shell ? FT_STEP_EXEC : (ft_step_kind)kind;
  if (st->kind != FT_STEP_PRINT && !*rest && st->kind != FT_STEP_LEAK)
    return ft_buf_printf(why, "%.*s needs an argument", (int)kl, kw), FT_EINVAL;
  char **w = NULL;
  const char *split_why = "bad words";
  int n = 0, rc = 0;
  switch (st->kind) {
  case FT_STEP_SLEEP:
    return ft__step_durations(rest, st, why);
  case FT_STEP_LEAK:
    if (!*rest)
      rest = "5s";
    if (ft_parse_duration(rest, &st->d_min) < 0)
      return ft_buf_printf(why, "bad duration \"%s\"", rest), FT_EINVAL;
    return 0;
  case FT_STEP_CPU:
    if (ft__parse_count(rest, &st->n) < 0)
      return ft_buf_printf(why, "cpu: \"%s\" is not a count of work units", rest), FT_EINVAL;
    return 0;
  case FT_STEP_PRINT:
    st->text = strdup(rest);
    return st->text ? 0 : -ENOMEM;
  case FT_STEP_FAIL: {
    uint64_t c;
    if (ft__parse_count(rest, &c) < 0 || c < 1 || c > 255)
      return ft_buf_printf(why, "fail: \"%s\" is not an exit code from 1 to 255", rest), FT_EINVAL;
    st->n = c;
    return 0;
  }
  case FT_STEP_CRASH: {
    int sig;
    if (ft_parse_signal(rest, &sig) < 0)
      return ft_buf_printf(why, "crash: \"%s\" is not a signal", rest), FT_EINVAL;
    st->n = (uint64_t)sig;
    return 0;
  }
  case FT_STEP_ALLOC: {
    char size[64] = "", hold[64] = "";
    if (sscanf(rest, "%63s %63s", size, hold) < 1 || ft_parse_size(size, &st->n) < 0)
      return ft_buf_printf(why, "alloc: bad size \"%s\"", size), FT_EINVAL;
    if (*hold && ft_parse_duration(hold, &st->d_min) < 0)
      return ft_buf_printf(why, "alloc: bad duration \"%s\"", hold), FT_EINVAL;
    return 0;
  }
  case FT_STEP_EXEC:
    if (shell) {
      st->argv = calloc(4, sizeof *st->argv);
      if (!st->argv)
        return -ENOMEM;
      st->argv[0] = strdup("sh");
      st->argv[1] = strdup("-c");
      st->argv[2] = strdup(rest);
      return 0;
    }
    n = ft__split_words(rest, &w, &split_why);
    if (n < 0)
      return ft_buf_printf(why, "exec: %s", split_why), FT_EINVAL;
    st->argv = w;
    return n ? 0 : (ft_buf_printf(why, "exec needs a program"), FT_EINVAL);
  case FT_STEP_PUT:
  case FT_STEP_GET:
  case FT_STEP_RELAY:
    n = ft__split_words(kw, &w, &split_why);
    if (n < 0)
      return ft_buf_printf(why, "%s", split_why), FT_EINVAL;
    rc = ft__step_queue(w, n, st, why);
    for (int i = 0; i < n; i++)
      free(w[i]);
    free(w);
    return rc;
  }
  return FT_EINVAL;
}

/* Length of the step at p: up to the first ';' not escaped as "\;". */
static size_t ft__step_len(const char *p) {
  size_t l = 0;
  while (p[l] && p[l] != ';')
    l += p[l] == '\\' && p[l + 1] == ';' ? 2 : 1;
  return l;
}

/* Parse "step; step; ..." into an array ("\;" is a literal ';'); *why says
 * what is wrong. */
int ft__steps_parse(const char *value, ft_step **out, size_t *nout, ft_buf *why) {
  size_t n = 1;
  for (const char *p = value; *p; p++)
    n += *p == ';';
  ft_step *v = calloc(n, sizeof *v);
  char *one = malloc(strlen(value) + 1); /* one step at a time */
  size_t k = 0;
  const char *p = value;
  int rc = v && one ? 0 : -ENOMEM;
  while (rc == 0) {
    size_t l = ft__step_len(p);
    size_t o = 0;
    for (size_t i = 0; i < l; i++) {
      if (p[i] == '\\' && p[i + 1] == ';')
        i++;
      one[o++] = p[i];
    }
    one[o] = '\0';
    char *e = one + strlen(one);
    while (e > one && (e[-1] == ' ' || e[-1] == '\t'))
      *--e = '\0';
    char *b = one;
    while (*b == ' ' || *b == '\t')
      b++;
    if (!*b) {
      ft_buf_printf(why, "empty step");
      rc = FT_EINVAL;
      break;
    }
    if ((rc = ft__step_parse(b, &v[k], why)) < 0) {
      ft__step_free(&v[k]);
      break;
    }
    k++;
    if (!p[l])
      break;
    p += l + 1;
  }
  if (rc < 0)
    goto fail;
  free(one);
  *out = v;
  *nout = k;
  return 0;
fail:
  for (size_t i = 0; v && i < k; i++)
    ft__step_free(&v[i]);
  free(v);
  free(one);
  return rc;
}
