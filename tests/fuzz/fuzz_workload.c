/* fuzz_workload.c - libFuzzer target: any bytes as a workload file.  It must
 * never crash, leak or hang; a bad file must produce a file:line message. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ft_workload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int once;
  if (!once++ && !freopen("/dev/null", "r", stdin)) /* "items = -" must not wait */
    abort();
  char *text = malloc(size + 1);
  memcpy(text, data, size);
  text[size] = '\0';
  ft_plan *plan = NULL;
  ft_buf err = {0};
  int rc = ft_plan_parse("fuzz.ini", text, NULL, 0, &plan, &err);
  if (rc == 0 && !plan)
    abort();
  if (rc != 0 && (plan || !err.len || strncmp(err.data, "fuzz.ini", 8) != 0))
    abort(); /* every failure says where */
  ft_plan_free(plan);
  ft_buf_free(&err);
  free(text);
  return 0;
}
