/* fuzz_overrides.c - libFuzzer target: any bytes as -s overrides (one per
 * line) applied to a valid workload. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ft_workload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char workload[] = "[workload]\nname = w\n"
                               "[queue q]\ncapacity = 4\n"
                               "[pool main]\nworkers = 2\ntasks = 4\ntask = sleep 1ms; put q {}\n"
                               "[process reader]\nrun = get q print\nstop_when = main\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int once;
  if (!once++ && !freopen("/dev/null", "r", stdin))
    abort();
  char *text = malloc(size + 1);
  memcpy(text, data, size);
  text[size] = '\0';
  char *sets[16];
  size_t n = 0;
  for (char *save = NULL, *tok = strtok_r(text, "\n", &save); tok && n < 16;
       tok = strtok_r(NULL, "\n", &save))
    sets[n++] = tok;
  ft_plan *plan = NULL;
  ft_buf err = {0};
  int rc = ft_plan_parse("fuzz.ini", workload, sets, n, &plan, &err);
  if (rc != 0 && (plan || !err.len))
    abort();
  ft_plan_free(plan);
  ft_buf_free(&err);
  free(text);
  return 0;
}
