/* ft_workload.c - workload files: read with libinih into raw sections,
 * overrides (-s) applied, then checked and turned into a plan (that part
 * is ft_workload_build.c).  Every error is one line, "file:line: what is
 * wrong", and a bad file yields no plan at all.
 *
 * libinih is fed through our own line reader, which counts lines (so every
 * key knows its line), sees section headers as they come (so a section
 * without keys is still checked), strips leading blanks (no continuation
 * lines), cuts " #" comments, and hides ';' from inih's inline comments
 * (';' separates steps).  Debian's libinih holds at most 198 characters of a
 * line, so the reader keeps the value of a longer line itself and hands
 * inih "key=" plus a marker; the handler swaps the value back in. */
#include "ft_internal.h"
#include "ft_workload_int.h"

#include <ctype.h>
#include <ini.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>

#define FT__SEMI '\x1f' /* ';' while inih looks */
#define FT__LONG "\x1e" /* the value of a long line, kept in ft__wl.long_value */

static const char *const ft__sec_kinds[] = {"workload", "pool", "process", "queue"};
static const char *const ft__keys[][14] = {
    {"name", "description", "seed"},
    {"workers", "submit", "chunksize", "maxtasksperchild", "items", "tasks", "task", "after",
     "chaos", "hosts", "bind", "heartbeat", "slurm_args"},
    {"run", "count", "after", "stop_when"},
    {"capacity", "bytes", "close_after"},
};

/* Record the first error, "path:LINE: message" (line 0: "path: ..."). */
int ft__fail(ft__wl *w, int line, const char *fmt, ...) {
  if (w->failed)
    return FT_EINVAL; /* the first error is the one reported */
  w->failed = true;
  ft_buf_reset(w->err);
  if (line > 0)
    ft_buf_printf(w->err, "%s:%d: ", w->path, line);
  else
    ft_buf_printf(w->err, "%s: ", w->path);
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  ft_buf_printf(w->err, "%s", msg);
  return FT_EINVAL;
}

/* Where a key came from, for messages: "path:LINE: " or "-s ARG: ". */
int ft__fail_kv(ft__wl *w, const ft__kv *kv, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (kv->line)
    return ft__fail(w, kv->line, "%s", msg);
  if (w->failed)
    return FT_EINVAL;
  w->failed = true;
  ft_buf_reset(w->err);
  ft_buf_printf(w->err, "-s %s: %s", kv->origin, msg);
  return FT_EINVAL;
}

/* Sections are found by name through a hash table (open addressing, linear
 * probing), so that parsing and checking a file grows with its size, not its
 * square: each section's duplicate check and each `after` looks up once. */
static uint64_t ft__name_hash(const char *s) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

/* The section named name, or NULL. */
ft__sec *ft__find(const ft__wl *w, const char *name) {
  if (!w->index_cap)
    return NULL;
  for (size_t m = w->index_cap - 1, i = ft__name_hash(name) & m; w->index[i]; i = (i + 1) & m)
    if (strcmp(w->secs[w->index[i] - 1].name, name) == 0)
      return &w->secs[w->index[i] - 1];
  return NULL;
}

/* Put section si (named) in the index, growing it to keep it at most half full. */
static int ft__index_add(ft__wl *w, size_t si) {
  if (si + 1 > UINT32_MAX - 1)
    return -ENOMEM;
  if (2 * (si + 1) > w->index_cap) {
    size_t cap = w->index_cap ? 2 * w->index_cap : 64;
    while (2 * (si + 1) > cap)
      cap *= 2;
    uint32_t *ni = calloc(cap, sizeof *ni);
    if (!ni)
      return -ENOMEM;
    free(w->index);
    w->index = ni;
    w->index_cap = cap;
    for (size_t k = 0; k < si; k++)
      if (w->secs[k].name)
        for (size_t m = cap - 1, i = ft__name_hash(w->secs[k].name) & m;; i = (i + 1) & m)
          if (!w->index[i]) {
            w->index[i] = (uint32_t)(k + 1);
            break;
          }
  }
  for (size_t m = w->index_cap - 1, i = ft__name_hash(w->secs[si].name) & m;; i = (i + 1) & m)
    if (!w->index[i]) {
      w->index[i] = (uint32_t)(si + 1);
      return 0;
    }
}

static bool ft__key_known(int kind, const char *key) {
  for (size_t i = 0; i < FT_ARRAY_LEN(ft__keys[kind]) && ft__keys[kind][i]; i++)
    if (strcmp(ft__keys[kind][i], key) == 0)
      return true;
  return false;
}

/* "[workload]" or "[kind NAME]", for messages. */
const char *ft__sec_label(const ft__sec *s, char *buf, size_t cap) {
  if (s->kind == FT__S_WORKLOAD)
    snprintf(buf, cap, "[workload]");
  else
    snprintf(buf, cap, "[%s %s]", ft__sec_kinds[s->kind], s->name);
  return buf;
}

/* Append a section (name NULL for [workload]); the array doubles. */
static int ft__secs_add(ft__wl *w, int kind, const char *name, int line) {
  if (w->nsecs == w->capsecs) {
    size_t cap = w->capsecs ? 2 * w->capsecs : 16;
    ft__sec *ns = realloc(w->secs, cap * sizeof *ns);
    if (!ns)
      return -ENOMEM;
    w->secs = ns;
    w->capsecs = cap;
  }
  ft__sec *s = &w->secs[w->nsecs];
  *s = (ft__sec){.kind = kind, .line = line, .idx = w->nkind[kind]};
  if (name && !(s->name = strdup(name)))
    return -ENOMEM;
  if (name && ft__index_add(w, w->nsecs) < 0) {
    free(s->name);
    return -ENOMEM;
  }
  w->nsecs++;
  w->nkind[kind]++;
  if (kind == FT__S_WORKLOAD)
    w->workload_line = line ? line : -1;
  return 0;
}

/* A section header seen by the reader: "[kind NAME]". */
static void ft__section(ft__wl *w, char *line) {
  char *end = strrchr(line, ']');
  if (!end || end[1]) {
    ft__fail(w, w->line, "bad section header \"%s\"", line);
    return;
  }
  *end = '\0';
  char *kind = line + 1;
  while (isspace((unsigned char)*kind))
    kind++;
  char *name = kind + strcspn(kind, " \t");
  if (*name)
    *name++ = '\0';
  while (isspace((unsigned char)*name))
    name++;
  char *ne = name + strlen(name);
  while (ne > name && isspace((unsigned char)ne[-1]))
    *--ne = '\0';
  int k = -1;
  for (int i = 0; i < 4; i++)
    if (strcmp(kind, ft__sec_kinds[i]) == 0)
      k = i;
  if (k < 0) {
    ft__fail(
        w, w->line,
        "unknown section [%s]; expected [workload], [pool NAME], [process NAME] or [queue NAME]",
        kind);
    return;
  }
  if (k == FT__S_WORKLOAD && *name) {
    ft__fail(w, w->line, "[workload] takes no name");
    return;
  }
  if (k != FT__S_WORKLOAD && !*name) {
    ft__fail(w, w->line, "[%s] needs a name: [%s NAME]", kind, kind);
    return;
  }
  if (k != FT__S_WORKLOAD && strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                          "0123456789_-") != strlen(name)) {
    ft__fail(w, w->line, "bad name \"%s\": use letters, digits, '_' and '-'", name);
    return;
  }
  if (k == FT__S_WORKLOAD && w->workload_line) {
    ft__fail(w, w->line, "a second [workload] section (the first is at line %d)", w->workload_line);
    return;
  }
  const ft__sec *o = k != FT__S_WORKLOAD ? ft__find(w, name) : NULL;
  if (o) {
    ft__fail(w, w->line, "duplicate name \"%s\" (first used at line %d)", name, o->line);
    return;
  }
  if (ft__secs_add(w, k, k ? name : NULL, w->line) < 0)
    ft__fail(w, w->line, "out of memory");
}

static int ft__add_kv(ft__sec *s, const char *key, const char *value, int line,
                      const char *origin) {
  ft__kv *nk = realloc(s->kv, (s->nkv + 1) * sizeof *nk);
  if (!nk)
    return -ENOMEM;
  s->kv = nk;
  s->kv[s->nkv++] = (ft__kv){strdup(key), strdup(value), line, origin};
  return 0;
}

/* inih's handler: one key of the current section. */
static int ft__handler(void *user, const char *section, const char *key, const char *value) {
  (void)section;
  ft__wl *w = user;
  if (w->failed)
    return 0;
  if (!w->nsecs)
    return ft__fail(w, w->line, "\"%s\" outside of any section", key), 0;
  ft__sec *s = &w->secs[w->nsecs - 1];
  char label[160];
  if (!ft__key_known(s->kind, key))
    return ft__fail(w, w->line, "unknown key \"%s\" in %s", key,
                    ft__sec_label(s, label, sizeof label)),
           0;
  for (size_t i = 0; i < s->nkv; i++)
    if (strcmp(s->kv[i].key, key) == 0)
      return ft__fail(w, w->line, "duplicate key \"%s\" in %s (first at line %d)", key,
                      ft__sec_label(s, label, sizeof label), s->kv[i].line),
             0;
  char v[FT__LINE_MAX];
  snprintf(v, sizeof v, "%s", strcmp(value, FT__LONG) == 0 ? w->long_value : value);
  for (char *p = v; *p; p++)
    if (*p == FT__SEMI)
      *p = ';';
  if (!*v)
    return ft__fail(w, w->line, "empty value for \"%s\"", key), 0;
  if (ft__add_kv(s, key, v, w->line, NULL) < 0)
    return ft__fail(w, w->line, "out of memory"), 0;
  return 1;
}

/* Read one line of the source into line (FT__LINE_MAX bytes) without its
 * newline; false at the end.  A longer line is consumed whole and flagged. */
static bool ft__read_line(ft__wl *w, char *line, bool *too_long) {
  size_t n;
  *too_long = false;
  if (w->file) {
    if (!fgets(line, FT__LINE_MAX, w->file))
      return false;
    n = strlen(line);
    if (n == FT__LINE_MAX - 1 && line[n - 1] != '\n') {
      char rest[256];
      *too_long = true;
      while (fgets(rest, sizeof rest, w->file) && !strchr(rest, '\n'))
        ;
    }
  } else {
    if (!*w->text)
      return false;
    n = strcspn(w->text, "\n");
    *too_long = n >= FT__LINE_MAX - 1;
    size_t keep = *too_long ? 0 : n;
    memcpy(line, w->text, keep);
    line[keep] = '\0';
    w->text += n + (w->text[n] == '\n');
    n = keep;
  }
  while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
    line[--n] = '\0';
  return true;
}

/* inih's reader: one line at a time, prepared as the comment at the top says. */
static char *ft__reader(char *str, int num, void *stream) {
  ft__wl *w = stream;
  char line[FT__LINE_MAX];
  bool too_long;
  if (!ft__read_line(w, line, &too_long))
    return NULL;
  w->line++;
  snprintf(str, (size_t)num, "\n"); /* a blank line keeps inih's count and ours equal */
  if (too_long) {
    ft__fail(w, w->line, "line too long (at most %d characters)", FT__LINE_MAX - 2);
    return str;
  }
  char *p = line + (w->line == 1 && strncmp(line, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0); /* a BOM */
  while (*p == ' ' || *p == '\t')
    p++;
  if (*p == '#' || *p == ';' || !*p || w->failed)
    return str;
  char *hash = strstr(p, " #");
  if (hash)
    *hash = '\0';
  char *e = p + strlen(p);
  while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
    *--e = '\0';
  if (*p == '[') { /* ours to check; inih only needs to see a section */
    ft__section(w, p);
    snprintf(str, (size_t)num, "[s]\n");
    return str;
  }
  char *sep = strpbrk(p, "=:");
  if (!sep) {
    ft__fail(w, w->line, "expected KEY = VALUE, got \"%s\"", p);
    return str;
  }
  for (char *q = p; *q; q++)
    if (*q == ';')
      *q = FT__SEMI;
  if (strlen(p) + 2 > (size_t)num) {
    snprintf(w->long_value, sizeof w->long_value, "%s", sep + 1);
    char *b = w->long_value;
    while (*b == ' ' || *b == '\t')
      b++;
    memmove(w->long_value, b, strlen(b) + 1);
    sep[1] = '\0';
    if (strlen(p) + sizeof FT__LONG + 1 > (size_t)num) {
      ft__fail(w, w->line, "key too long");
      return str;
    }
    snprintf(str, (size_t)num, "%s%s\n", p, FT__LONG);
    return str;
  }
  snprintf(str, (size_t)num, "%s\n", p);
  return str;
}

static void ft__wl_free(ft__wl *w) {
  for (size_t i = 0; i < w->nsecs; i++) {
    for (size_t k = 0; k < w->secs[i].nkv; k++) {
      free(w->secs[i].kv[k].key);
      free(w->secs[i].kv[k].value);
    }
    free(w->secs[i].kv);
    free(w->secs[i].name);
  }
  free(w->secs);
  free(w->index);
  free(w->dir);
}

/* ------------------------------------------------------------ overrides */

static bool ft__is_items_key(const char *k) {
  return strcmp(k, "items") == 0 || strcmp(k, "tasks") == 0;
}

static int ft__override(ft__wl *w, const char *arg) {
  const char *eq = strchr(arg, '=');
  if (!eq || eq == arg)
    return ft__fail_kv(w, &(ft__kv){.origin = arg}, "expected KEY=VALUE or NAME.KEY=VALUE");
  char key[256];
  snprintf(key, sizeof key, "%.*s", (int)(eq - arg), arg);
  const char *value = eq + 1;
  char *dot = strchr(key, '.');
  size_t hits = 0;
  for (size_t i = 0; i < w->nsecs; i++) {
    ft__sec *s = &w->secs[i];
    const char *k = key;
    if (dot) {
      *dot = '\0';
      bool mine =
          s->kind == FT__S_WORKLOAD ? strcmp(key, "workload") == 0 : strcmp(key, s->name) == 0;
      *dot = '.';
      if (!mine)
        continue;
      k = dot + 1;
      if (!ft__key_known(s->kind, k)) {
        char label[160];
        return ft__fail_kv(w, &(ft__kv){.origin = arg}, "%s has no key \"%s\"",
                           ft__sec_label(s, label, sizeof label), k);
      }
    } else if (!ft__key_known(s->kind, k)) {
      continue;
    }
    hits++;
    /* items and tasks are one key: an override of either replaces the other. */
    size_t j = 0;
    while (j < s->nkv && strcmp(s->kv[j].key, k) != 0 &&
           !(ft__is_items_key(k) && ft__is_items_key(s->kv[j].key)))
      j++;
    if (j == s->nkv) {
      if (ft__add_kv(s, k, value, 0, arg) < 0)
        return ft__fail_kv(w, &(ft__kv){.origin = arg}, "out of memory");
    } else {
      char *nk = strdup(k), *nv = strdup(value);
      if (!nk || !nv) {
        free(nk);
        free(nv);
        return ft__fail_kv(w, &(ft__kv){.origin = arg}, "out of memory");
      }
      free(s->kv[j].key);
      free(s->kv[j].value);
      s->kv[j] = (ft__kv){nk, nv, 0, arg};
    }
  }
  if (!hits && dot) {
    *dot = '\0';
    return ft__fail_kv(w, &(ft__kv){.origin = arg}, "no section named \"%s\"", key);
  }
  if (!hits)
    return ft__fail_kv(w, &(ft__kv){.origin = arg}, "no section has a key \"%s\"", key);
  return 0;
}

/* Parse text (from path, or a string) into a plan. */
static int ft__load(const char *path, const char *text, FILE *f, char *const *overrides, size_t nov,
                    bool tasks_only, ft_plan **out, ft_buf *err) {
  ft__wl w = {.path = path, .err = err, .text = text, .file = f, .tasks_only = tasks_only};
  ft_buf_reset(err);
  *out = NULL;
  char *pc = strdup(path);
  w.dir = strdup(pc ? dirname(pc) : ".");
  free(pc);
  int rc = ini_parse_stream(ft__reader, &w, ft__handler, &w);
  if (rc != 0 && !w.failed)
    ft__fail(&w, rc > 0 ? rc : 0, "cannot be parsed");
  /* [workload] may be left out; -s workload.KEY=... still has a home. */
  if (!w.workload_line && !w.failed && ft__secs_add(&w, FT__S_WORKLOAD, NULL, 0) < 0)
    ft__fail(&w, 0, "out of memory");
  for (size_t i = 0; i < nov && !w.failed; i++)
    ft__override(&w, overrides[i]);
  if (!w.failed)
    rc = ft__wl_build(&w, out);
  if (!w.failed && rc == 0 && nov) {
    (*out)->sets = ft__xalloc(nov * sizeof *(*out)->sets);
    for (size_t i = 0; (*out)->sets && i < nov; i++)
      if (((*out)->sets[i] = strdup(overrides[i])))
        (*out)->nsets++;
    if ((*out)->nsets != nov)
      rc = ft__fail(&w, 0, "out of memory");
  }
  ft__wl_free(&w);
  if (w.failed) {
    ft_plan_free(*out);
    *out = NULL;
    return FT_EINVAL;
  }
  return rc;
}

/* Parse the workload file at path. */
int ft_plan_load(const char *path, char *const *overrides, size_t noverrides, ft_plan **out,
                 ft_buf *err) {
  FILE *f = fopen(path, "re");
  if (!f) {
    ft_buf_reset(err);
    ft_buf_printf(err, "%s: %s", path, strerror(errno));
    *out = NULL;
    return -errno;
  }
  int rc = ft__load(path, NULL, f, overrides, noverrides, false, out, err);
  /* Kept for remote workers, which are sent the text (and the overrides). */
  ft_buf text = {0};
  char chunk[4096];
  size_t k;
  rewind(f);
  while (rc == 0 && (k = fread(chunk, 1, sizeof chunk, f)) > 0)
    if (ft_buf_append(&text, chunk, k) < 0)
      rc = -ENOMEM;
  if (rc == 0 && ft_buf_append(&text, "", 1) == 0)
    (*out)->text = text.data;
  else
    ft_buf_free(&text);
  fclose(f);
  return rc;
}

/* Parse a workload from a string. */
int ft_plan_parse(const char *name, const char *text, char *const *overrides, size_t noverrides,
                  ft_plan **out, ft_buf *err) {
  int rc = ft__load(name, text, NULL, overrides, noverrides, false, out, err);
  if (rc == 0 && !((*out)->text = strdup(text))) {
    ft_plan_free(*out);
    *out = NULL;
    rc = -ENOMEM;
  }
  return rc;
}

/* Parse a workload's text for a remote worker: tasks only. */
int ft_plan_parse_tasks(const char *name, const char *text, char *const *overrides,
                        size_t noverrides, ft_plan **out, ft_buf *err) {
  return ft__load(name, text, NULL, overrides, noverrides, true, out, err);
}

/* Free a plan. */
void ft_plan_free(ft_plan *plan) {
  if (!plan)
    return;
  for (size_t i = 0; i < plan->npools; i++) {
    ft_plan_pool *p = &plan->pools[i];
    free(p->name);
    free(p->after);
    free(p->bind);
    free(p->items_from);
    ft__words_free(p->slurm_args);
    for (size_t k = 0; k < p->nitems; k++)
      free(p->items[k]);
    free(p->items);
    for (size_t k = 0; k < p->nsteps; k++)
      ft__step_free(&p->steps[k]);
    free(p->steps);
  }
  for (size_t i = 0; i < plan->nprocs; i++) {
    ft_plan_process *p = &plan->procs[i];
    free(p->name);
    free(p->after);
    free(p->stop_when);
    for (size_t k = 0; k < p->nsteps; k++)
      ft__step_free(&p->steps[k]);
    free(p->steps);
  }
  for (size_t i = 0; i < plan->nqueues; i++) {
    free(plan->queues[i].name);
    free(plan->queues[i].close_after);
  }
  free(plan->pools);
  free(plan->procs);
  free(plan->queues);
  free(plan->path);
  free(plan->name);
  free(plan->description);
  free(plan->text);
  for (size_t i = 0; i < plan->nsets; i++)
    free(plan->sets[i]);
  free(plan->sets);
  free(plan);
}
