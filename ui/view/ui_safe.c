/* ui_safe.c - the rules that make untrusted text harmless on a terminal
 * (listed in ui_safe.h): one place, read by the cells and the printers. */
#include "ui_safe.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Code points that are valid and printable by some definition, but still
 * drive a terminal (C1) or fool the eye (bidi controls, separators). */
bool ui_safe_cp_hostile(uint32_t cp) {
  return (cp >= 0x80 && cp < 0xA0) || cp == 0x061C || cp == 0x200E || cp == 0x200F ||
         (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2028 ||
         cp == 0x2029 || cp == 0xFEFF;
}

/* Decode one UTF-8 sequence at p (n bytes left); 0 when it is not valid
 * (overlong, a surrogate, above U+10FFFF, cut short). */
static size_t ui__utf8_decode(const unsigned char *p, size_t n, uint32_t *cp) {
  unsigned char c = p[0];
  size_t len = c < 0x80             ? 1
               : (c & 0xE0) == 0xC0 ? 2
               : (c & 0xF0) == 0xE0 ? 3
               : (c & 0xF8) == 0xF0 ? 4
                                    : 0;
  if (!len || len > n)
    return 0;
  uint32_t v = len == 1 ? c : len == 2 ? c & 0x1Fu : len == 3 ? c & 0x0Fu : c & 0x07u;
  for (size_t k = 1; k < len; k++) {
    if ((p[k] & 0xC0) != 0x80)
      return 0;
    v = (v << 6) | (p[k] & 0x3Fu);
  }
  static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
  if (v < min[len] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
    return 0;
  *cp = v;
  return len;
}

/* Judge the character at s. */
void ui_safe_next(const char *s, size_t n, bool utf8, ui_safe_tok *t) {
  const unsigned char *p = (const unsigned char *)s;
  unsigned char c = p[0];
  uint32_t cp = c;
  size_t len = c < 0x80 ? 1 : utf8 ? ui__utf8_decode(p, n, &cp) : 0;
  t->esc[0] = '\0';
  t->cp = 0;
  if (c == '\t') {
    t->kind = UI_SAFE_TAB;
    t->len = 1;
    t->cp = '\t';
  } else if (!len || c < 0x20 || c == 0x7F) { /* a control byte, or not UTF-8 */
    t->kind = UI_SAFE_ESCAPE;
    t->len = 1;
    snprintf(t->esc, sizeof t->esc, "\\x%02x", c);
  } else if (ui_safe_cp_hostile(cp)) {
    t->kind = UI_SAFE_ESCAPE;
    t->len = len;
    snprintf(t->esc, sizeof t->esc, "\\u{%x}", (unsigned)cp);
  } else {
    t->kind = UI_SAFE_CHAR;
    t->len = len;
    t->cp = cp;
  }
}

/* Append s made inert to out. */
int ui_safe_append(ft_buf *out, const char *s, size_t n, bool utf8) {
  size_t run = 0; /* bytes shown as they are, appended in one go */
  for (size_t i = 0; i < n;) {
    ui_safe_tok t;
    ui_safe_next(s + i, n - i, utf8, &t);
    if (t.kind != UI_SAFE_ESCAPE) {
      run += t.len;
      i += t.len;
      continue;
    }
    if ((run && ft_buf_append(out, s + i - run, run) < 0) ||
        ft_buf_append(out, t.esc, strlen(t.esc)) < 0)
      return -ENOMEM;
    run = 0;
    i += t.len;
  }
  if (run && ft_buf_append(out, s + n - run, run) < 0)
    return -ENOMEM;
  return 0;
}
