/* ft_workload_int.h - shared between the workload parser's two files. */
#ifndef FT_WORKLOAD_INT_H
#define FT_WORKLOAD_INT_H

#include "ft_workload.h"

#define FT__MAX_ITEMS 1000000         /* items of one pool */
#define FT__ITEMS_FILE_MAX (64 << 20) /* bytes of an items file (items = @FILE or -) */

int ft__parse_count(const char *s, uint64_t *out);
int ft__items_parse(const char *value, bool count_only, const char *dir, char ***items, size_t *n,
                    ft_buf *why);
int ft__steps_parse(const char *value, ft_step **out, size_t *nout, ft_buf *why);
void ft__step_free(ft_step *st);

#endif
