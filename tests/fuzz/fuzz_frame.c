/* fuzz_frame.c - libFuzzer target: any bytes as a TCP transport stream, to
 * the parent and to a worker.  Every frame ft__frame_check accepts is then
 * walked the way its receiver reads it (items, values, names), so a check
 * that lets a bad length through reads out of bounds (ASan). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ft_transport_tcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint8_t sink;

/* Touch every byte of n items in wire form at p; returns the end. */
static const char *walk_items(const char *p, uint32_t n, bool star) {
  for (uint32_t i = 0; i < n; i++) {
    uint32_t len;
    memcpy(&len, p, sizeof len);
    const char *body = p + 8;
    for (uint32_t k = 0; k < len; k++)
      sink ^= (uint8_t)body[k];
    if (star) {
      uint32_t argc;
      memcpy(&argc, body, sizeof argc);
      walk_items(body + 8, argc, false);
    }
    p = body + FT__ALIGN8((size_t)len);
  }
  return p;
}

static void walk(const char *f, long len) {
  ft__fhdr h;
  memcpy(&h, f, sizeof h);
  if (h.type == FT__F_RESULT) {
    ft__f_result r;
    memcpy(&r, f, sizeof r);
    const char *p = f + sizeof r;
    for (uint32_t i = 0; i < r.count; i++) {
      ft__rec_item it;
      memcpy(&it, p, sizeof it);
      p += sizeof it;
      for (uint32_t k = 0; k < it.len; k++)
        sink ^= (uint8_t)p[k];
      p += FT__ALIGN8((size_t)it.len);
    }
    if (p != f + len)
      abort();
  } else if (h.type == FT__F_CHUNK) {
    ft__f_chunk c;
    memcpy(&c, f, sizeof c);
    const char *items = f + sizeof c + FT__ALIGN8((size_t)c.namelen);
    if (walk_items(items, c.nitems, c.kind == FT__KIND_STAR) != f + len)
      abort();
  } else if (h.type == FT__F_SETUP) {
    ft__f_setup s;
    memcpy(&s, f, sizeof s);
    for (uint32_t k = 0; k < s.len; k++)
      sink ^= (uint8_t)f[sizeof s + k];
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* a copy of exactly size bytes, so ASan sees any read past the input */
  char *buf = malloc(size ? size : 1);
  if (!buf)
    return 0;
  memcpy(buf, data, size);
  for (int to_parent = 0; to_parent < 2; to_parent++) {
    size_t off = 0;
    for (;;) {
      long len = ft__frame_check(buf + off, size - off, to_parent);
      if (len <= 0)
        break;
      if ((size_t)len > size - off)
        abort();
      walk(buf + off, len);
      off += (size_t)len;
    }
  }
  free(buf);
  return 0;
}
