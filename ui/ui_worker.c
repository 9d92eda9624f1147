/* ui_worker.c - `forktop worker`, internal: the process a pool with
 * hosts = tcp starts for each worker.  It connects back to the pool
 * (--connect ADDR:PORT, the token in FORKTOP_TOKEN), is sent the
 * workload's text and overrides, and runs that pool's tasks until told to
 * leave or the connection drops (ft_worker_serve). */
#include "ui.h"

#include <stdio.h>
#include <string.h>

typedef struct ui_worker {
  ft_plan *plan;
  ft_runner *runner;
  ft_buf *err;
} ui_worker;

/* The setup is [path]\0[text]\0[override\0]...: parse what tasks run. */
static int ui_worker_setup(ft_slice setup, void **ctx, void *ud) {
  ui_worker *uw = ud;
  const char *p = setup.ptr, *end = p + setup.len;
  const char *path = p, *text = NULL;
  char *sets[64];
  size_t nsets = 0;
  if (!setup.len || end[-1] != '\0') {
    ft_buf_printf(uw->err, "the setup is not a workload");
    return FT_EINVAL;
  }
  p += strlen(p) + 1;
  if (p < end) {
    text = p;
    p += strlen(p) + 1;
  }
  while (p < end && nsets < sizeof sets / sizeof sets[0]) {
    sets[nsets++] = (char *)p;
    p += strlen(p) + 1;
  }
  if (!text || p < end) {
    ft_buf_printf(uw->err, "the setup is not a workload");
    return FT_EINVAL;
  }
  int rc = ft_plan_parse_tasks(path, text, sets, nsets, &uw->plan, uw->err);
  if (rc < 0)
    return rc;
  if ((rc = ft_runner_new_tasks(uw->plan, &uw->runner)) < 0)
    return rc;
  *ctx = uw->runner;
  return 0;
}

/* forktop worker --connect ADDR:PORT */
int ui_worker_main(int argc, char **argv) {
  if (argc != 3 || strcmp(argv[1], "--connect") != 0) {
    fprintf(stderr, "forktop worker: internal (started by a pool with hosts = tcp); "
                    "usage: forktop worker --connect ADDR:PORT\n");
    return 2;
  }
  ft_buf err = {0};
  ui_worker uw = {.err = &err};
  ft_runner_register();
  int status = ft_worker_serve(argv[2], ui_worker_setup, &uw, &err);
  if (status == 2)
    fprintf(stderr, "forktop worker: %.*s\n", (int)err.len, err.data ? err.data : "");
  fflush(stdout);
  ft_runner_free(uw.runner);
  ft_plan_free(uw.plan);
  ft_buf_free(&err);
  return status;
}
