/* ft_model_int.h - what the model's files share, not for its readers. */
#ifndef FT_MODEL_INT_H
#define FT_MODEL_INT_H

#include "ft_model.h"

/* Room for one more element in an array of n, doubling (ft_util.c). */
int ft__grow(void **arr, size_t *cap, size_t n, size_t size);
int ft__mlines_add(ft_mlines *r, size_t cap, size_t max_bytes, const ft_event *ev);
void ft__mlines_free(ft_mlines *r);
int ft__mlines_copy(const ft_mlines *src, ft_mlines *dst);

#endif
