/* ui_opt.c - the command line's shared conventions: option tables,
 * help lines, usage errors and suggestions (ui_opt.h). */
#include "ui_opt.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ui.h"

/* Make getopt_long's tables from an option table. */
void ui_opt_getopt(const ui_optdef *defs, size_t n, const char *lead, struct option *longs,
                   char *shorts) {
  size_t nl = 0, ns = strlen(lead);
  memcpy(shorts, lead, ns);
  for (size_t i = 0; i < n && i < UI_OPT_MAX; i++) {
    if (defs[i].lng)
      longs[nl++] = (struct option){defs[i].lng, defs[i].arg ? required_argument : no_argument,
                                    NULL, defs[i].id};
    if (defs[i].shrt) {
      shorts[ns++] = (char)defs[i].shrt;
      if (defs[i].arg)
        shorts[ns++] = ':';
    }
  }
  longs[nl] = (struct option){NULL, 0, NULL, 0};
  shorts[ns] = '\0';
}

/* Print the help's option lines. */
void ui_opt_help(FILE *f, const ui_optdef *defs, size_t n, unsigned mask) {
  for (size_t i = 0; i < n; i++) {
    if (mask && defs[i].cmds && !(defs[i].cmds & mask))
      continue;
    char head[96];
    int k = snprintf(head, sizeof head, "  %s%c%s%s%s%s%s", defs[i].shrt ? "-" : "",
                     defs[i].shrt ? defs[i].shrt : ' ', defs[i].shrt && defs[i].lng ? ", " : "",
                     defs[i].lng ? "--" : "", defs[i].lng ? defs[i].lng : "",
                     defs[i].arg ? " " : "", defs[i].arg ? defs[i].arg : "");
    if (!defs[i].shrt) /* "  --x": no letter, no gap where it would be */
      memmove(head + 2, head + 3, strlen(head + 3) + 1), k--;
    const char *h = defs[i].help;
    const char *nl = strchr(h, '\n');
    int first = nl ? (int)(nl - h) : (int)strlen(h);
    if (k < 22)
      fprintf(f, "%-22s%.*s\n", head, first, h);
    else
      fprintf(f, "%s\n%-22s%.*s\n", head, "", first, h);
    while (nl) {
      h = nl + 1;
      nl = strchr(h, '\n');
      fprintf(f, "%-22s%.*s\n", "", nl ? (int)(nl - h) : (int)strlen(h), h);
    }
  }
}

/* Print a usage error; 2. */
int ui_opt_usage(const char *cmd, const char *fmt, ...) {
  ft_buf safe = {0};
  char *s = NULL;
  va_list ap;
  va_start(ap, fmt);
  if (vasprintf(&s, fmt, ap) < 0)
    s = NULL;
  va_end(ap);
  fprintf(stderr, "forktop%s%s: %s\n", cmd ? " " : "", cmd ? cmd : "",
          ui_safe_cstr(&safe, s ? s : fmt));
  fprintf(stderr, "Try 'forktop%s%s --help'.\n", cmd ? " " : "", cmd ? cmd : "");
  free(s);
  ft_buf_free(&safe);
  return 2;
}

/* Optimal string alignment distance: insertions, deletions, substitutions
 * and swaps of two neighbours each cost one edit. */
size_t ui_opt_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 64 || lb > 64) /* no typo is that long: far */
    return (size_t)-1 / 2;
  size_t d[65][65];
  for (size_t i = 0; i <= la; i++)
    d[i][0] = i;
  for (size_t j = 0; j <= lb; j++)
    d[0][j] = j;
  for (size_t i = 1; i <= la; i++)
    for (size_t j = 1; j <= lb; j++) {
      size_t sub = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
      size_t del = d[i - 1][j] + 1, ins = d[i][j - 1] + 1;
      size_t best = sub < del ? sub : del;
      best = best < ins ? best : ins;
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
          d[i - 2][j - 2] + 1 < best)
        best = d[i - 2][j - 2] + 1;
      d[i][j] = best;
    }
  return d[la][lb];
}

/* The nearest candidate, if near enough. */
const char *ui_opt_nearest(const char *word, const char *const *cands, size_t n) {
  size_t len = strlen(word), limit = len <= 3 ? 1 : len <= 8 ? 2 : 3;
  const char *best = NULL;
  size_t bestd = limit + 1;
  for (size_t i = 0; i < n; i++) {
    if (!cands[i])
      continue;
    size_t d = ui_opt_distance(word, cands[i]);
    if (d < bestd && d < strlen(cands[i])) /* never "x" for "y" */
      best = cands[i], bestd = d;
  }
  return best;
}

static bool ui_applies(const ui_optdef *d, unsigned mask) {
  return !mask || !d->cmds || (d->cmds & mask);
}

static const char *ui_owner(const ui_optdef *d, const char *const *names) {
  if (!names)
    return NULL;
  for (unsigned b = 0; b < 32; b++)
    if (d->cmds & (1u << b))
      return names[b];
  return NULL;
}

/* The usage error for what getopt_long could not take. */
int ui_opt_bad(const char *cmd, const char *what, int c, char **argv, const ui_optdef *defs,
               size_t n, unsigned mask, const char *const *names) {
  if (!what)
    what = cmd ? cmd : "forktop";
  const char *tok = optind > 0 ? argv[optind - 1] : "";
  bool is_long = tok && strncmp(tok, "--", 2) == 0;
  if (!is_long && optopt) { /* a short option: "-d", whatever its cluster */
    char s[3] = {'-', (char)optopt, '\0'};
    if (c == ':')
      return ui_opt_usage(cmd, "option '%s' needs a value", s);
    for (size_t i = 0; i < n; i++)
      if (defs[i].shrt == optopt && !ui_applies(&defs[i], mask)) {
        const char *own = ui_owner(&defs[i], names);
        return ui_opt_usage(cmd, "%s does not apply to %s%s%s%s", s, what, own ? " (it is " : "",
                            own ? own : "", own ? "'s)" : "");
      }
    return ui_opt_usage(cmd, "unknown option '%s'", s);
  }
  char name[128];
  snprintf(name, sizeof name, "%s", tok + (is_long ? 2 : 0));
  char *eq = strchr(name, '=');
  if (eq)
    *eq = '\0';
  if (c == ':') {
    for (size_t i = 0; i < n; i++) /* its full name, when abbreviated */
      if (defs[i].lng && defs[i].id == optopt && strncmp(defs[i].lng, name, strlen(name)) == 0)
        return ui_opt_usage(cmd, "option '--%s' needs a value", defs[i].lng);
    return ui_opt_usage(cmd, "option '--%s' needs a value", name);
  }
  /* what getopt_long matched, exactly or as the only abbreviation */
  const ui_optdef *exact = NULL, *match[UI_OPT_MAX];
  size_t nmatch = 0, lname = strlen(name);
  for (size_t i = 0; i < n && nmatch < UI_OPT_MAX; i++)
    if (defs[i].lng && strncmp(defs[i].lng, name, lname) == 0 && ui_applies(&defs[i], mask)) {
      if (!defs[i].lng[lname])
        exact = &defs[i];
      match[nmatch++] = &defs[i];
    }
  if (exact || nmatch == 1) {
    const ui_optdef *d = exact ? exact : match[0];
    if (eq && !d->arg)
      return ui_opt_usage(cmd, "option '--%s' takes no value", d->lng);
  }
  if (nmatch > 1 && !exact) {
    char list[512] = "";
    for (size_t i = 0; i < nmatch; i++)
      snprintf(list + strlen(list), sizeof list - strlen(list), "%s--%s", i ? ", " : "",
               match[i]->lng);
    return ui_opt_usage(cmd, "option '--%s' is ambiguous: %s", name, list);
  }
  for (size_t i = 0; i < n; i++)
    if (defs[i].lng && strcmp(defs[i].lng, name) == 0 && !ui_applies(&defs[i], mask)) {
      const char *own = ui_owner(&defs[i], names);
      return ui_opt_usage(cmd, "--%s does not apply to %s%s%s%s", name, what, own ? " (it is " : "",
                          own ? own : "", own ? "'s)" : "");
    }
  const char *cands[UI_OPT_MAX];
  size_t nc = 0;
  for (size_t i = 0; i < n && nc < UI_OPT_MAX; i++)
    if (defs[i].lng && ui_applies(&defs[i], mask))
      cands[nc++] = defs[i].lng;
  const char *near = is_long ? ui_opt_nearest(name, cands, nc) : NULL;
  if (near)
    return ui_opt_usage(cmd, "unknown option '--%s' (did you mean '--%s'?)", name, near);
  /* a typo of another command's option */
  nc = 0;
  for (size_t i = 0; i < n && nc < UI_OPT_MAX; i++)
    if (defs[i].lng && !ui_applies(&defs[i], mask))
      cands[nc++] = defs[i].lng;
  near = is_long ? ui_opt_nearest(name, cands, nc) : NULL;
  for (size_t i = 0; near && i < n; i++)
    if (defs[i].lng == near) {
      const char *own = ui_owner(&defs[i], names);
      return ui_opt_usage(cmd, "unknown option '--%s' (--%s is %s%s)", name, near,
                          own ? own : "another command", own ? "'s" : "'s option");
    }
  return ui_opt_usage(cmd, "unknown option '%s'", tok ? tok : "");
}
