/* ui_opt.h - what every subcommand's command line shares (ui_opt.c): one
 * table of options that makes getopt_long's arguments and the help's
 * lines, and the usage errors: "needs a value", "does not apply to",
 * "did you mean", all ending in "Try 'forktop CMD --help'." and exit 2.
 * main.c, map and bench parse their options with it. */
#ifndef FT_UI_OPT_H
#define FT_UI_OPT_H

#include <getopt.h>
#include <stddef.h>
#include <stdio.h>

/* One option. */
typedef struct ui_optdef {
  const char *lng;  /* long name without "--", or NULL */
  int shrt;         /* short letter, or 0 */
  const char *arg;  /* the value's name in the help ("N", "FILE"); NULL: takes none */
  int id;           /* what getopt_long returns for it (its short letter when it has one) */
  unsigned cmds;    /* main.c: the commands it applies to (a mask); 0: every one */
  const char *help; /* its help; '\n' starts another line */
} ui_optdef;

/* The most options one table may hold. */
#define UI_OPT_MAX 64

/* getopt_long's arguments for the n options of defs: longs (UI_OPT_MAX + 1
 * entries) and shorts (3 * UI_OPT_MAX + 3 bytes), which starts with lead
 * ("+:" or ":"; the ':' makes a missing value its own error). */
void ui_opt_getopt(const ui_optdef *defs, size_t n, const char *lead, struct option *longs,
                   char *shorts);
/* The help's lines for the options of defs that apply to mask (0: all). */
void ui_opt_help(FILE *f, const ui_optdef *defs, size_t n, unsigned mask);
/* Say "forktop CMD: MESSAGE" (cmd NULL: "forktop: "), the message made
 * safe for a terminal, then "Try 'forktop [CMD] --help'."; returns 2. */
int ui_opt_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The usage error for getopt_long's '?' or ':' (c) at argv[optind - 1]:
 * a value missing, a value given to an option that takes none, an
 * ambiguous abbreviation, an option of another command (defs entries
 * outside mask, whose owner names[bit] tells; names may be NULL), or an
 * unknown one with the nearest option that applies; returns 2.  what
 * names the command in "does not apply to WHAT" (NULL: cmd). */
int ui_opt_bad(const char *cmd, const char *what, int c, char **argv, const ui_optdef *defs,
               size_t n, unsigned mask, const char *const *names);
/* Levenshtein distance with transpositions (optimal string alignment). */
size_t ui_opt_distance(const char *a, const char *b);
/* The candidate nearest to word when it is near enough to be a typo of
 * it (1 edit in up to 3 letters, 2 in up to 8, else 3), else NULL. */
const char *ui_opt_nearest(const char *word, const char *const *cands, size_t n);

#endif
