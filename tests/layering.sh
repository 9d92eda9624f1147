#!/bin/sh
# The rooms hold: nothing but ui/ui_term.c includes curses; ui/ includes no
# private engine header (ft_internal.h, *_int.h); and each room's library
# needs no symbol from a room above it (the model none from the loop).
# usage: layering.sh SOURCE_DIR CORE.a MP.a MODEL.a WORKLOAD.a VIEW.a STATS.a
set -eu
abs() { realpath "$1"; }
src=$(abs "$1") core=$(abs "$2") mp=$(abs "$3") model=$(abs "$4") workload=$(abs "$5") view=$(abs "$6") stats=$(abs "$7")
fail=0
say() { echo "layering: $*" >&2; fail=1; }

curses=$(grep -rlE '#include *<(n?curses|ncursesw/[a-z]+)\.h>' "$src/src" "$src/ui" "$src/include" |
  sed "s#^$src/##" | grep -v '^ui/ui_term\.c$' || true)
[ -z "$curses" ] || say "curses included outside ui/ui_term.c: $curses"

private=$(grep -rlE '#include *"(ft_internal|[a-z_]*_int)\.h"' "$src/ui" | sed "s#^$src/##" || true)
[ -z "$private" ] || say "ui/ includes a private engine header: $private"

defined() { for a in "$@"; do nm --defined-only -g "$a" | awk 'NF==3 {print $3}'; done | sort -u; }
undefined() { nm -u "$1" | awk '$1 == "U" {print $2}' | grep -E '^(ft|ui)_' | sort -u || true; }
# check LIB ALLOWED...: every ft_/ui_ symbol LIB needs is defined by LIB or ALLOWED
check() {
  lib=$1
  shift
  missing=$(undefined "$lib" | comm -23 - "$(tmp_defs "$lib" "$@")")
  [ -z "$missing" ] || say "$(basename "$lib") calls above its room: $(echo $missing)"
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tmp_defs() { f="$tmp/$(basename "$1").defs"; defined "$@" > "$f"; echo "$f"; }

check "$core" "$core"
check "$mp" "$mp" "$core"
check "$workload" "$workload" "$mp" "$core"
check "$view" "$view" "$core" "$model" "$stats"
# the model learns from events: it needs nothing of the loop, children or streams
loopobjs="$tmp/loop"
mkdir -p "$loopobjs"
(cd "$loopobjs" && ar x "$core")
defined "$loopobjs"/ft_util.c.o "$loopobjs"/ft_event.c.o "$loopobjs"/ft_error.c.o \
  "$loopobjs"/ft_tree.c.o "$loopobjs"/ft_json.c.o "$model" > "$tmp/model.allowed"
missing=$(undefined "$model" | comm -23 - "$tmp/model.allowed")
[ -z "$missing" ] || say "the model needs the loop or above: $(echo $missing)"
[ "$fail" = 0 ] && echo "layering: the rooms hold"
exit $fail
