/* fuzz_replay.c - libFuzzer target: any bytes as a recording.  Every line is
 * decoded as replay does; whatever decodes must encode again and decode to
 * the same kind. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "forktop.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ft_buf strings = {0}, again = {0}, strings2 = {0};
  const char *p = (const char *)data, *end = p + size;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
    ft_event ev, ev2;
    if (ft_event_from_json(p, len, &ev, &strings) == 0) {
      ft_buf_reset(&again);
      if (ft_event_to_json(&ev, 0, &again) != 0)
        abort();
      if (ft_event_from_json(again.data, again.len, &ev2, &strings2) != 0 || ev2.kind != ev.kind ||
          ev2.pid != ev.pid)
        abort();
    }
    p += len + 1;
  }
  ft_buf_free(&strings);
  ft_buf_free(&strings2);
  ft_buf_free(&again);
  return 0;
}
