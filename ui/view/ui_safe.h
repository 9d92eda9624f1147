/* ui_safe.h - the one set of rules that makes untrusted text harmless on a
 * terminal.  Everything forktop shows that it did not write itself (a
 * child's output, process names, command lines, workload names and
 * descriptions, file names) passes through ui_safe_next: the dashboard's
 * cells (ui_put_text) and every plain-text printer (ui_sanitize, built on
 * ui_safe_append) read the same verdicts, so the rules cannot drift apart.
 *
 * The rules, for each character of the input:
 *   - a tab is a tab (the printers keep it, the cells expand it);
 *   - C0 controls (ESC, BEL, CR, NUL, ...) and DEL become \xNN;
 *   - a byte that is not part of valid UTF-8 (overlong forms, surrogates,
 *     stray continuation bytes, raw C1 bytes 0x80-0x9F) becomes \xNN; so
 *     does every byte >= 0x80 when the terminal does not take UTF-8;
 *   - a valid code point that still drives a terminal or fools the eye
 *     becomes \u{X}: C1 controls U+0080-U+009F (CSI, OSC, ...), the bidi
 *     marks, embeddings, overrides and isolates (U+061C, U+200E, U+200F,
 *     U+202A-U+202E, U+2066-U+2069), the line and paragraph separators
 *     U+2028 and U+2029, and U+FEFF;
 *   - anything else is shown as it is.
 * No curses, no locale: the view room's own small module. */
#ifndef UI_SAFE_H
#define UI_SAFE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "forktop.h"

typedef enum ui_safe_kind {
  UI_SAFE_CHAR,   /* show cp as it is */
  UI_SAFE_TAB,    /* a tab */
  UI_SAFE_ESCAPE, /* show esc instead */
} ui_safe_kind;

/* The verdict on one character of untrusted text. */
typedef struct ui_safe_tok {
  ui_safe_kind kind;
  size_t len;   /* input bytes it covers, at least 1 */
  uint32_t cp;  /* the code point (UI_SAFE_CHAR) */
  char esc[16]; /* the visible escape, NUL-terminated (UI_SAFE_ESCAPE) */
} ui_safe_tok;

/* Judge the character at s (n > 0 bytes left); utf8: the terminal takes
 * UTF-8, else every byte >= 0x80 is escaped. */
void ui_safe_next(const char *s, size_t n, bool utf8, ui_safe_tok *t);
/* A code point that is valid but must not reach a terminal as it is. */
bool ui_safe_cp_hostile(uint32_t cp);
/* Append n bytes of s to out made inert by the rules (tabs kept); returns
 * 0 or -ENOMEM. */
int ui_safe_append(ft_buf *out, const char *s, size_t n, bool utf8);

#endif
