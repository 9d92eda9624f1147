/* ft_workload_int.h - shared between the workload parser's two files. */
#ifndef FT_WORKLOAD_INT_H
#define FT_WORKLOAD_INT_H

#include "ft_workload.h"

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

#endif
