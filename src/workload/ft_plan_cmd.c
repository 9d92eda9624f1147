/* ft_plan_cmd.c - commands over items: the placeholders of an exec step
 * ({} and GNU parallel's {.} {/} {//} {/.}), the quoting of an item that
 * goes into shell code, and a plan built in memory for `forktop map` (one
 * pool whose task is "exec CMD {}" over the given items), so that a command
 * pool runs through the same runner as a workload file.
 *
 * An item is never shell code.  Outside `sh -c CMD` it is one argv word
 * whatever it holds.  Inside CMD it is written as one shell word: as it is
 * when it holds only characters no shell treats specially (so that
 * `sh -c 'exit $(( {} % 3 ))'` works as it does in GNU parallel), else in
 * single quotes with each ' written as '\''. */
#include "ft_internal.h"
#include "ft_workload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Characters an item may hold and still go into shell code unquoted. */
static bool ft__shell_safe(const char *item) {
  if (!*item)
    return false; /* the empty word must be written '' */
  for (const char *p = item; *p; p++)
    if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:,+=@%", *p))
      return false;
  return true;
}

static int ft__append_word(ft_buf *b, const char *s, size_t n, bool quote) {
  if (!quote)
    return ft_buf_append(b, s, n);
  char *w = strndup(s, n);
  if (!w)
    return -ENOMEM;
  int rc = 0;
  if (ft__shell_safe(w)) {
    rc = ft_buf_append(b, w, n);
  } else {
    rc = ft_buf_append(b, "'", 1);
    for (const char *p = w; *p && rc >= 0; p++)
      rc = *p == '\'' ? ft_buf_append(b, "'\\''", 4) : ft_buf_append(b, p, 1);
    if (rc >= 0)
      rc = ft_buf_append(b, "'", 1);
  }
  free(w);
  return rc;
}

/* The parts of an item GNU parallel names: {/} the basename (after the
 * last '/'), {//} the directory (before it; "." when there is none), {.}
 * the item without its extension, {/.} the basename without it.  An
 * extension is a last '.' after the last '/' (parallel's rule, checked
 * against GNU parallel 20221122: ".hidden" has no name left, {//} of "/x"
 * is "/"). */
static void ft__item_part(const char *item, const char *ph, const char **s, size_t *n) {
  const char *slash = strrchr(item, '/');
  const char *base = slash ? slash + 1 : item;
  const char *dot = strrchr(base, '.');
  size_t len = strlen(item);
  if (strcmp(ph, "{}") == 0) {
    *s = item, *n = len;
  } else if (strcmp(ph, "{/}") == 0) {
    *s = base, *n = strlen(base);
  } else if (strcmp(ph, "{//}") == 0) {
    /* "/x" is in "/" */
    *s = slash ? item : ".", *n = !slash ? 1 : slash == item ? 1 : (size_t)(slash - item);
  } else if (strcmp(ph, "{.}") == 0) {
    *s = item, *n = dot ? (size_t)(dot - item) : len;
  } else { /* {/.} */
    *s = base, *n = dot ? (size_t)(dot - base) : strlen(base);
  }
}

static const char *const ft__placeholders[] = {"{}", "{.}", "{/}", "{//}", "{/.}", "{#}", NULL};

/* The item placeholder text starts with, or NULL. */
static const char *ft__placeholder_at(const char *text) {
  for (size_t i = 0; ft__placeholders[i]; i++)
    if (strncmp(text, ft__placeholders[i], strlen(ft__placeholders[i])) == 0)
      return ft__placeholders[i];
  return NULL;
}

/* Does text hold an item placeholder ({}, {.}, {/}, {//}, {/.}, {#})? */
bool ft_plan_has_placeholder(const char *text) {
  for (const char *p = strchr(text, '{'); p; p = strchr(p + 1, '{'))
    if (ft__placeholder_at(p))
      return true;
  return false;
}

/* text with the item's placeholders replaced (each as one shell word when
 * quote is set), {#} by seq, and {pid} / {ppid} by the calling process's. */
int ft_plan_subst(const char *text, const char *item, uint64_t seq, bool quote, char **out) {
  ft_buf b = {0};
  int rc = 0;
  *out = NULL;
  for (const char *p = text; *p;) {
    const char *q = strchr(p, '{');
    size_t n = q ? (size_t)(q - p) : strlen(p);
    if ((rc = ft_buf_append(&b, p, n)) < 0)
      goto fail;
    if (!q)
      break;
    const char *ph = ft__placeholder_at(q);
    if (ph && strcmp(ph, "{#}") == 0) {
      rc = ft_buf_printf(&b, "%llu", (unsigned long long)seq);
      p = q + 3;
    } else if (ph) {
      const char *s;
      size_t len;
      ft__item_part(item, ph, &s, &len);
      rc = ft__append_word(&b, s, len, quote);
      p = q + strlen(ph);
    } else if (strncmp(q, "{pid}", 5) == 0) {
      rc = ft_buf_printf(&b, "%d", (int)getpid());
      p = q + 5;
    } else if (strncmp(q, "{ppid}", 6) == 0) {
      rc = ft_buf_printf(&b, "%d", (int)getppid());
      p = q + 6;
    } else {
      rc = ft_buf_append(&b, "{", 1);
      p = q + 1;
    }
    if (rc < 0)
      goto fail;
  }
  if ((rc = ft_buf_append(&b, "", 1)) < 0)
    goto fail;
  *out = b.data;
  return 0;
fail:
  ft_buf_free(&b);
  return rc < 0 ? rc : -ENOMEM;
}

/* A shell step's argv is {"sh", "-c", CMD}: CMD is shell code, so the item
 * goes into it as one shell word. */
static bool ft__is_shell(char *const *argv) {
  return argv[0] && argv[1] && argv[2] && !argv[3] && strcmp(argv[0], "sh") == 0 &&
         strcmp(argv[1], "-c") == 0;
}

/* The argv an exec step runs for item: tmpl with the placeholders
 * replaced; NULL-terminated, freed with ft_plan_argv_free. */
int ft_plan_exec_argv(char *const *tmpl, const char *item, uint64_t seq, char ***out) {
  size_t n = 0;
  while (tmpl[n])
    n++;
  char **argv = calloc(n + 1, sizeof *argv);
  int rc;
  *out = NULL;
  if (!argv)
    return -ENOMEM;
  bool shell = ft__is_shell(tmpl);
  for (size_t i = 0; i < n; i++)
    if ((rc = ft_plan_subst(tmpl[i], item, seq, shell && i == 2, &argv[i])) < 0)
      goto fail;
  *out = argv;
  return 0;
fail:
  ft_plan_argv_free(argv);
  return rc;
}

/* Free an argv made by ft_plan_exec_argv (NULL: nothing). */
void ft_plan_argv_free(char **argv) {
  for (char **p = argv; p && *p; p++)
    free(*p);
  free(argv);
}

static char **ft__strv_dup(char *const *v, size_t n, bool append) {
  char **d = calloc(n + 2, sizeof *d);
  if (!d)
    return NULL;
  for (size_t i = 0; i < n; i++)
    if (!(d[i] = strdup(v[i])))
      goto fail;
  if (append && !(d[n] = strdup("{}")))
    goto fail;
  return d;
fail:
  ft_plan_argv_free(d);
  return NULL;
}

/* A plan of one pool named name, workers wide (0: the online CPUs), whose
 * task runs argv over each item: no shell, the placeholders replaced, and
 * the item appended as the last argument when argv names none.  One task
 * per item, dispatched one at a time (chunksize 1) so that a slow command
 * holds up no other.  FT_EINVAL for an empty command. */
int ft_plan_command_pool(const char *name, char *const *argv, char *const *items, size_t nitems,
                         int workers, ft_plan **out) {
  size_t argc = 0;
  bool has = false;
  int rc = -ENOMEM;
  *out = NULL;
  while (argv && argv[argc])
    has |= ft_plan_has_placeholder(argv[argc++]);
  if (!argc || !argv[0][0] || workers < 0)
    return FT_EINVAL;
  ft_plan *plan = ft__xalloc(sizeof *plan);
  if (!plan)
    return -ENOMEM;
  if (!(plan->name = strdup(name)) || !(plan->path = strdup(name)) ||
      !(plan->pools = ft__xalloc(sizeof *plan->pools)))
    goto fail;
  plan->npools = 1;
  ft_plan_pool *pp = &plan->pools[0];
  pp->workers = workers;
  pp->submit = FT_SUBMIT_MAP_ASYNC;
  pp->chunksize = 1;
  if (!(pp->name = strdup(name)) || !(pp->steps = ft__xalloc(sizeof *pp->steps)) ||
      !(pp->items = calloc(nitems ? nitems : 1, sizeof *pp->items)))
    goto fail;
  pp->nsteps = 1;
  pp->steps[0] = (ft_step){.kind = FT_STEP_EXEC, .prob = 1, .queue = -1, .queue2 = -1};
  if (!(pp->steps[0].argv = ft__strv_dup(argv, argc, !has)))
    goto fail;
  for (; pp->nitems < nitems; pp->nitems++)
    if (!(pp->items[pp->nitems] = strdup(items[pp->nitems])))
      goto fail;
  *out = plan;
  return 0;
fail:
  ft_plan_free(plan);
  return rc;
}
