/* ft_workload_int.h - shared between the workload parser's files: the
 * reader (ft_workload.c), the build into a plan (ft_workload_build.c), the
 * values' parsers (ft_workload_steps.c). */
#ifndef FT_WORKLOAD_INT_H
#define FT_WORKLOAD_INT_H

#include "ft_workload.h"

#include <stdio.h>

/* Items of one pool at most: an item's number travels as 32 bits.  Below
 * that the machine's memory is the limit (ft__items_parse says so). */
#define FT__MAX_ITEMS UINT32_MAX
/* Workers of one pool at most: what the engine's pools take (FT__MAX_WORKERS). */
#define FT__MAX_POOL_WORKERS ((1 << 22) - 1)
#define FT__ITEM_LINE_MAX (1 << 20) /* bytes of one line of a streamed items file */

int ft__parse_count(const char *s, uint64_t *out);
int ft__workers_check(uint64_t n, ft_buf *why);
int ft__items_parse(const char *value, bool count_only, const char *dir, char ***items, size_t *n,
                    char **from, ft_buf *why);
/* Split s into words as sh would (quotes, backslashes, no expansion):
 * a NULL-terminated array (ft__words_free), its length, or FT_EINVAL with
 * *why set. */
int ft__split_words(const char *s, char ***out, const char **why);
void ft__words_free(char **v);
int ft__steps_parse(const char *value, ft_step **out, size_t *nout, ft_buf *why);
void ft__step_free(ft_step *st);

/* ------------------------------------------------- a file being parsed */

enum { FT__S_WORKLOAD, FT__S_POOL, FT__S_PROCESS, FT__S_QUEUE };
#define FT__LINE_MAX 4096 /* longest line of a workload file, newline included */

typedef struct ft__kv {
  char *key, *value;
  int line;           /* 0: from -s */
  const char *origin; /* the -s argument, when line is 0 */
} ft__kv;

typedef struct ft__sec {
  int kind;
  char *name;
  int line;
  size_t idx; /* among the sections of its kind: its index in the plan's array */
  ft__kv *kv;
  size_t nkv;
} ft__sec;

typedef struct ft__wl {
  const char *path;
  char *dir;
  ft__sec *secs;
  size_t nsecs, capsecs;
  size_t nkind[4];   /* sections of each kind so far */
  int workload_line; /* where [workload] is, or 0 */
  uint32_t *index;   /* named sections by name, hashed: 1 + their index, 0 empty */
  size_t index_cap;  /* a power of two, at least twice the named sections */
  int line;
  bool failed;
  bool tasks_only; /* a remote worker's parse: items are neither read nor required */
  ft_buf *err;
  /* the reader's source */
  const char *text;
  FILE *file;
  char long_value[FT__LINE_MAX]; /* the value of the current line, when too long for inih */
} ft__wl;

/* Record w's first error: "path:LINE: message" (line 0: "path: message"). */
int ft__fail(ft__wl *w, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The same, where kv came from: "path:LINE: " or "-s ARG: ". */
int ft__fail_kv(ft__wl *w, const ft__kv *kv, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The section named name, or NULL. */
ft__sec *ft__find(const ft__wl *w, const char *name);
/* "[workload]" or "[kind NAME]" in buf, for messages; returns buf. */
const char *ft__sec_label(const ft__sec *s, char *buf, size_t cap);
/* Check the sections read and turn them into a plan (ft_workload_build.c):
 * *out is set whatever happens (the caller frees it); FT_EINVAL with w's
 * error set. */
int ft__wl_build(ft__wl *w, ft_plan **out);

#endif
