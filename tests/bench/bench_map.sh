#!/bin/sh
# bench_map.sh FORKTOP_BINARY [N] [RUNS] - forktop map next to xargs -P and
# GNU parallel, in one run, on the same input: N (default 2000) `true`
# commands on 2 workers, each tool RUNS times (default 3), median wall time.
#
#   forktop map -j2 --headless -- true   < input   (output to /dev/null)
#   xargs -P2 -n1 true                   < input
#   parallel -j2 true                    < input   (when installed)
#
# Targets (issue 17): forktop map at least as fast as xargs -P2, at least
# 5x GNU parallel.  A benchmark, not a test: it prints figures, never fails.
set -eu
FORKTOP=$(readlink -f "${1:?usage: bench_map.sh FORKTOP_BINARY [N] [RUNS]}")
N=${2:-2000}
RUNS=${3:-3}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
seq "$N" >"$WORK/input"

calc() { awk "BEGIN { print $1 }"; }

# median wall seconds of RUNS runs of "$@" with the input on stdin
median() {
  for _ in $(seq "$RUNS"); do
    t0=$(date +%s.%N)
    "$@" <"$WORK/input" >/dev/null 2>&1 || true
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }'
  done | sort -n | awk '{a[NR] = $1} END {printf "%.3f\n", a[int((NR + 1) / 2)]}'
}

echo "bench_map: $N x true on 2 workers, median of $RUNS; $(nproc) CPUs:" \
  "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
fk=$(median "$FORKTOP" map -j2 --headless -- true)
xa=$(median xargs -P2 -n1 true)
printf '  %-28s %8.3f s  %8.0f commands/s\n' "forktop map -j2" "$fk" "$(calc "$N / $fk")"
printf '  %-28s %8.3f s  %8.0f commands/s\n' "xargs -P2 -n1" "$xa" "$(calc "$N / $xa")"
printf '  ratio xargs / forktop: %.2f (>= 1: forktop is as fast or faster)\n' \
  "$(calc "$xa / $fk")"
if command -v parallel >/dev/null 2>&1; then
  pa=$(median parallel -j2 true)
  printf '  %-28s %8.3f s  %8.0f commands/s\n' "parallel -j2" "$pa" "$(calc "$N / $pa")"
  printf '  ratio parallel / forktop: %.2f (target >= 5)\n' "$(calc "$pa / $fk")"
else
  echo "  parallel: not installed (apt-get install parallel)"
fi
