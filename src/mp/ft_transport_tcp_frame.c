/* ft_transport_tcp_frame.c - the TCP transport's frame checks (every frame
 * is checked whole before anything reads its body) and the registry of task
 * functions by name, which is what a remote worker resolves. */
#include "ft_transport_tcp.h"

#include <pthread.h>
#include <stdio.h>

/* Whether n items in wire form fill [p, end) exactly; star: each item is
 * [u32 argc][pad] and argc items in wire form. */
static bool ft__items_fill(const char *p, const char *end, uint32_t n, bool star) {
  for (uint32_t i = 0; i < n; i++) {
    if (end - p < 8)
      return false;
    uint32_t len;
    memcpy(&len, p, sizeof len);
    if ((size_t)(end - p - 8) < FT__ALIGN8((size_t)len))
      return false;
    const char *body = p + 8;
    p = body + FT__ALIGN8((size_t)len);
    if (star) {
      uint32_t argc;
      if (len < 8)
        return false;
      memcpy(&argc, body, sizeof argc);
      if (argc > len / 8 || !ft__items_fill(body + 8, body + FT__ALIGN8((size_t)len), argc, false))
        return false;
    }
  }
  return p == end;
}

/* Check a RESULT body: count x [ft__rec_item, value padded to 8]. */
static bool ft__results_fill(const char *p, const char *end, uint32_t count) {
  for (uint32_t i = 0; i < count; i++) {
    ft__rec_item it;
    if ((size_t)(end - p) < sizeof it)
      return false;
    memcpy(&it, p, sizeof it);
    p += sizeof it;
    if ((size_t)(end - p) < FT__ALIGN8((size_t)it.len))
      return false;
    p += FT__ALIGN8((size_t)it.len);
  }
  return p == end;
}

/* Check the frame at buf. */
long ft__frame_check(const char *buf, size_t avail, bool to_parent) {
  ft__fhdr h;
  if (avail < sizeof h)
    return 0;
  memcpy(&h, buf, sizeof h);
  if (h.len < sizeof h || h.len % 8 || h.len > FT__FRAME_MAX)
    return -EPROTO;
  bool ok_type = to_parent
                     ? (h.type == FT__F_HELLO || h.type == FT__F_START || h.type == FT__F_RESULT ||
                        h.type == FT__F_BYE || h.type == FT__F_BEAT)
                     : (h.type == FT__F_SETUP || h.type == FT__F_CHUNK || h.type == FT__F_BYE);
  if (!ok_type)
    return -EPROTO;
  if (avail < h.len)
    return 0;
  const char *end = buf + h.len;
  bool ok = false;
  switch (h.type) {
  case FT__F_HELLO:
    ok = h.len == sizeof(ft__f_hello);
    break;
  case FT__F_START:
    ok = h.len == sizeof(ft__f_start);
    break;
  case FT__F_BYE:
  case FT__F_BEAT:
    ok = h.len == sizeof h;
    break;
  case FT__F_SETUP: {
    ft__f_setup s;
    if (h.len < sizeof s)
      break;
    memcpy(&s, buf, sizeof s);
    ok = h.len - sizeof s == FT__ALIGN8((size_t)s.len);
    break;
  }
  case FT__F_RESULT: {
    ft__f_result r;
    if (h.len < sizeof r)
      break;
    memcpy(&r, buf, sizeof r);
    ok = ft__results_fill(buf + sizeof r, end, r.count);
    break;
  }
  case FT__F_CHUNK: {
    ft__f_chunk c;
    if (h.len < sizeof c)
      break;
    memcpy(&c, buf, sizeof c);
    if (c.namelen == 0 || c.namelen >= FT__FN_NAME_MAX || c.nitems == 0 ||
        (c.kind != FT__KIND_TASK && c.kind != FT__KIND_STAR) ||
        h.len - sizeof c < FT__ALIGN8((size_t)c.namelen))
      break;
    const char *items = buf + sizeof c + FT__ALIGN8((size_t)c.namelen);
    ok = ft__items_fill(items, end, c.nitems, c.kind == FT__KIND_STAR);
    break;
  }
  }
  return ok ? (long)h.len : -EPROTO;
}

/* Every byte is compared whatever the first difference: the time taken
 * says nothing about how much of a guess was right. */
bool ft__token_eq(const uint8_t *a, const uint8_t *b) {
  volatile uint8_t d = 0;
  for (size_t i = 0; i < FT__TOKEN_LEN; i++)
    d |= (uint8_t)(a[i] ^ b[i]);
  return d == 0;
}

/* ------------------------------------------------------------ registry */

#define FT__REG_MAX 256

typedef struct ft__reg {
  char name[FT__FN_NAME_MAX];
  uintptr_t fn;
  uint32_t kind;
} ft__reg;

/* Registration may come from any thread; lookups come from the loop's. */
static pthread_mutex_t ft__reg_lock = PTHREAD_MUTEX_INITIALIZER;
static ft__reg ft__regs[FT__REG_MAX];
static size_t ft__nregs;

static int ft__register(const char *name, uintptr_t fn, uint32_t kind) {
  if (!name || !fn || !*name || strlen(name) >= FT__FN_NAME_MAX)
    return FT_EINVAL;
  int rc = 0;
  pthread_mutex_lock(&ft__reg_lock);
  size_t i = 0;
  while (i < ft__nregs && strcmp(ft__regs[i].name, name))
    i++;
  if (i < ft__nregs)
    rc = ft__regs[i].fn == fn && ft__regs[i].kind == kind ? 0 : FT_EINVAL;
  else if (ft__nregs == FT__REG_MAX)
    rc = -ENOSPC;
  else {
    ft__reg *r = &ft__regs[ft__nregs];
    snprintf(r->name, sizeof r->name, "%s", name);
    r->fn = fn;
    r->kind = kind;
    ft__nregs++;
  }
  pthread_mutex_unlock(&ft__reg_lock);
  return rc;
}

/* Register a task function by name. */
int ft_task_register(const char *name, ft_task_fn fn) {
  return ft__register(name, (uintptr_t)fn, FT__KIND_TASK);
}

/* Register a starmap function by name. */
int ft_star_register(const char *name, ft_star_fn fn) {
  return ft__register(name, (uintptr_t)fn, FT__KIND_STAR);
}

/* Names never change once registered, so the pointer stays valid. */
const char *ft__task_name(uintptr_t fn, uint32_t kind) {
  const char *name = NULL;
  pthread_mutex_lock(&ft__reg_lock);
  for (size_t i = 0; i < ft__nregs && !name; i++)
    if (ft__regs[i].fn == fn && ft__regs[i].kind == kind)
      name = ft__regs[i].name;
  pthread_mutex_unlock(&ft__reg_lock);
  return name;
}

uintptr_t ft__task_lookup(const char *name, size_t namelen, uint32_t kind) {
  uintptr_t fn = 0;
  pthread_mutex_lock(&ft__reg_lock);
  for (size_t i = 0; i < ft__nregs && !fn; i++)
    if (ft__regs[i].kind == kind && strlen(ft__regs[i].name) == namelen &&
        memcmp(ft__regs[i].name, name, namelen) == 0)
      fn = ft__regs[i].fn;
  pthread_mutex_unlock(&ft__reg_lock);
  return fn;
}
