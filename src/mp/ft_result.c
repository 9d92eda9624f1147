/* ft_result.c - async results and imap iterators of a pool. */
#include "ft_pool_int.h"

static void ft__item_copy(const ft__item_out *o, ft_item *item) {
  item->status = o->status;
  item->code = o->code;
  item->signal = o->signal;
  item->worker = o->worker;
  item->value = (ft_slice){o->len <= sizeof o->v.inline_ ? o->v.inline_ : o->v.value, o->len};
}

static bool ft__result_is_ready(void *ud) { return ((ft_result *)ud)->ready; }

/* Wait until every item has ended. */
int ft_result_wait(ft_result *r, double timeout) {
  if (!r)
    return FT_EINVAL;
  if (r->ready)
    return 0;
  return ft__loop_run_until(r->pool->loop, ft__result_is_ready, r, ft__deadline(timeout));
}

/* Wait and give the first item's outcome (the first failure, for a map). */
int ft_result_get(ft_result *r, double timeout, ft_item *item) {
  int rc = ft_result_wait(r, timeout);
  if (rc < 0)
    return rc;
  size_t pick = 0;
  for (size_t i = 0; i < r->n && r->nfailed; i++)
    if (r->items[i].status) {
      pick = i;
      break;
    }
  if (item && r->n)
    ft__item_copy(&r->items[pick], item);
  return r->n ? r->items[pick].status : 0;
}

/* Every item has ended. */
bool ft_result_ready(const ft_result *r) { return r && r->ready; }

/* 1 all succeeded, 0 some failed, FT_ENOTREADY. */
int ft_result_successful(const ft_result *r) {
  if (!r || !r->ready)
    return FT_ENOTREADY;
  return r->nfailed == 0;
}

/* Items in the result. */
size_t ft_result_count(const ft_result *r) { return r ? r->n : 0; }

/* Failed items so far. */
size_t ft_result_failed(const ft_result *r) { return r ? r->nfailed : 0; }

/* Outcome of item i. */
int ft_result_item(const ft_result *r, size_t i, ft_item *item) {
  if (!r || i >= r->n)
    return FT_EINVAL;
  if (!ft__item_done(r, i))
    return FT_ENOTREADY;
  ft__item_copy(&r->items[i], item);
  return 0;
}

void ft__result_unref(ft_result *r) {
  if (--r->refs > 0)
    return;
  while (r->blocks) {
    ft__block *b = r->blocks;
    r->blocks = b->next;
    free(b);
  }
  ft__big_free(r->args, r->args_len);
  ft__big_free_dirty(r->items, r->n * sizeof *r->items);
  ft__big_free(r->done, (r->n + 63) / 64 * sizeof *r->done);
  ft__big_free(r->order, r->n * sizeof *r->order);
  ft__big_free(r->chunk_off, (r->nchunks + 1) * sizeof *r->chunk_off);
  free(r);
}

/* Drop the caller's reference. */
void ft_result_free(ft_result *r) {
  if (r)
    ft__result_unref(r);
}

static bool ft__iter_has_next(void *ud) {
  ft_iter *it = ud;
  ft_result *r = it->res;
  if (it->pos >= r->n)
    return true;
  return it->ordered ? ft__item_done(r, it->pos) : it->pos < r->ndone;
}

/* Next result of an imap iterator. */
int ft_iter_next(ft_iter *it, double timeout, size_t *index, ft_item *item) {
  if (!it)
    return FT_EINVAL;
  if (it->st)
    return ft__stream_next(it, timeout, index, item);
  ft_result *r = it->res;
  if (it->pos >= r->n)
    return FT_EOF;
  if (!ft__iter_has_next(it)) {
    int rc = ft__loop_run_until(r->pool->loop, ft__iter_has_next, it, ft__deadline(timeout));
    if (rc < 0)
      return rc;
  }
  size_t i = it->ordered ? it->pos : r->order[it->pos];
  it->pos++;
  if (index)
    *index = i;
  if (item)
    ft__item_copy(&r->items[i], item);
  return 0;
}

/* Free an iterator. */
void ft_iter_free(ft_iter *it) {
  if (!it)
    return;
  ft__stream_free(it->st);
  ft_result_free(it->res);
  free(it);
}
