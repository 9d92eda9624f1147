/* fuzz_huge.c - libFuzzer target: huge workload files.  The input is a
 * count and a template; the file parsed is the template repeated that many
 * times (2,000 to 100,000), each '@' in it replaced by the copy's number and
 * each '^' by the previous copy's, so that names are distinct and `after`,
 * `stop_when`, `close_after` and queue steps reach across the whole file.
 * Parsing must stay linear in the file's size: more than a fixed cost per
 * byte (far above a linear parser's, far below a quadratic one's on files
 * this big) aborts, as does a crash or a failure that names no line. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ft_workload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static double ft__now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int once;
  if (!once++ && !freopen("/dev/null", "r", stdin)) /* "items = -" must not wait */
    abort();
  if (size < 3 || size > 300)
    return 0;
  size_t copies = 2000 + ((size_t)data[0] << 8 | data[1]) % 98001;
  const char *tmpl = (const char *)data + 2;
  size_t tlen = size - 2;
  if (copies * tlen > (32u << 20))
    copies = (32u << 20) / tlen;
  ft_buf text = {0};
  for (size_t c = 0; c < copies; c++)
    for (size_t i = 0; i < tlen; i++) {
      if (tmpl[i] == '@' || tmpl[i] == '^')
        ft_buf_printf(&text, "%zu", tmpl[i] == '@' ? c : (c + copies - 1) % copies);
      else if (tmpl[i])
        ft_buf_append(&text, &tmpl[i], 1);
    }
  ft_buf_append(&text, "", 1);
  ft_plan *plan = NULL;
  ft_buf err = {0};
  double t0 = ft__now();
  int rc = ft_plan_parse("huge.ini", text.data, NULL, 0, &plan, &err);
  double took = ft__now() - t0;
  if (rc == 0 && !plan)
    abort();
  if (rc != 0 && (plan || !err.len || strncmp(err.data, "huge.ini", 8) != 0))
    abort(); /* every failure says where */
  /* 1 us a byte: about 20 times what a linear parse takes here */
  if (took > 0.5 + 1e-6 * (double)text.len) {
    fprintf(stderr, "fuzz_huge: %zu bytes (%zu copies) took %.2f s\n", text.len, copies, took);
    abort();
  }
  ft_plan_free(plan);
  ft_buf_free(&err);
  ft_buf_free(&text);
  return 0;
}
