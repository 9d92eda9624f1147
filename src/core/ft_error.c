/* ft_error.c - the one table of error names and messages. */
#include "ft_internal.h"

#include <stdio.h>
#include <string.h>

/* Message for any error code: forktop's own from the table, -errno from libc. */
const char *ft_strerror(int err) {
  switch (err) {
  case 0:
    return "success";
#define FT_ERR_MSG_(name, value, msg)                                                              \
  case value:                                                                                      \
    return msg;
    FT_ERRNO_MAP(FT_ERR_MSG_)
#undef FT_ERR_MSG_
  default:
    break;
  }
  if (err < 0 && err > -4000)
    return strerror(-err);
  return "unknown error";
}

/* Symbolic name for any error code. */
const char *ft_err_name(int err) {
  switch (err) {
  case 0:
    return "OK";
#define FT_ERR_NAME_(name, value, msg)                                                             \
  case value:                                                                                      \
    return "FT_" #name;
    FT_ERRNO_MAP(FT_ERR_NAME_)
#undef FT_ERR_NAME_
  default:
    break;
  }
  if (err < 0 && err > -4000) {
    const char *n = strerrorname_np(-err);
    if (n)
      return n;
  }
  return "UNKNOWN";
}
