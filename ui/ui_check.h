/* ui_check.h - `forktop check -- CMD`: what a command leaves behind. */
#ifndef FT_UI_CHECK_H
#define FT_UI_CHECK_H

#include <jansson.h>

#include "ui.h"

typedef struct ui_check_opts {
  double grace; /* seconds to wait after CMD exits (default 1) */
  bool kill;    /* end the leaked processes */
  bool json;    /* the report as JSON */
} ui_check_opts;

/* Run argv and report; returns 0 clean, 3 leaks, 1 forktop failed. */
int ui_check_run(char *const *argv, const ui_check_opts *o);
/* The report as text. */
void ui_check_print(json_t *report, FILE *f);

#endif
