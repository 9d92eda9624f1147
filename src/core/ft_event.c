/* ft_event.c - event kinds and their wire names. */
#include "ft_internal.h"

/* The wire name of an event kind. */
const char *ft_event_kind_name(ft_event_kind kind) {
  static const char *const names[] = {
#define FT_EV_NAME_(name, str) str,
      FT_EVENT_MAP(FT_EV_NAME_)
#undef FT_EV_NAME_
  };
  if ((unsigned)kind >= FT_ARRAY_LEN(names))
    return "unknown";
  return names[kind];
}
