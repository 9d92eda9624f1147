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
/* The report as text (its strings were made safe when it was built). */
void ui_check_print(json_t *report, FILE *f);
/* s made safe for a terminal (ui_sanitize) as a JSON string: every string
 * of the report goes through here. */
json_t *ui_check_str(const char *s);

/* ---- shared memory and SysV IPC, by evidence (ui_check_ipc.c) ---- */

typedef struct ui_ipc ui_ipc;
/* The name of the process of the checked tree with this pid (and start
 * time in ticks, 0 when unknown), or NULL when none of the tree had it. */
typedef const char *(*ui_who_fn)(pid_t pid, uint64_t start, void *ud);

/* Note the objects that exist now and start watching /dev/shm. */
int ui_ipc_new(ft_loop *loop, ui_ipc **out);
/* "creator" or "holder": what the /dev/shm evidence is. */
const char *ui_ipc_evidence(const ui_ipc *x);
/* Sample what the tree's live processes hold (when creators are not seen). */
void ui_ipc_sample(ui_ipc *x, const pid_t *pids, size_t n);
/* Each object new since ui_ipc_new: a leak of the tree (appended to shm or
 * sysv, counted in *leaks) or not attributed (appended to other). */
void ui_ipc_report(ui_ipc *x, ui_who_fn who, void *ud, json_t *shm, json_t *sysv, json_t *other,
                   size_t *leaks);
/* Stop watching and release; NULL is a no-op. */
void ui_ipc_free(ui_ipc *x);

#endif
