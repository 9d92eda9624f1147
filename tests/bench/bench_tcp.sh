#!/bin/sh
# tests/bench/bench_tcp.sh - a pool's TCP transport (hosts = tcp) against a
# raw TCP master/worker anchor (tests/bench/anchor_tcp.c), on loopback, in
# the same run.  Not a gate: it prints figures.  The same comparison across
# nodes is tests/bench/bench_slurm.sh.
#
#   tests/bench/bench_tcp.sh [BUILD] [TASKS] [RUNS]
#
# 4 workers, TASKS trivial tasks (default 100000), median of RUNS runs
# (default 5) of each, alternating:
#   anchor-1   C master, 4 forked workers, one 8-byte task in flight each
#   anchor-16  the same, 16 in flight each
#   forktop-1  hosts = tcp, submit = map, chunksize = 1
#   forktop    hosts = tcp, submit = map, the default chunksize (Python's rule)
#   apply      hosts = tcp, the default submit (apply_async: a task a chunk)
# Each figure is tasks per second: the anchor's from its first task sent to
# its last result; forktop's from the start of `forktop run --headless` to
# its exit (worker start-up included).  The ratios are forktop-1 /
# anchor-1 and forktop / anchor-16 (issue 16 asks for 0.8 and 0.5).
set -eu
B=$(readlink -f "${1:-build}")
TASKS=${2:-100000}
RUNS=${3:-5}
FT=$B/forktop
ANCHOR=$B/tests/bench/anchor_tcp
[ -x "$FT" ] && [ -x "$ANCHOR" ] || {
  echo "bench_tcp.sh: build forktop and anchor_tcp first (cmake --build $B)" >&2
  exit 2
}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

wl() { # name submit-and-chunksize-lines
  printf '[workload]\nname = bench-tcp\n[pool p]\nhosts = tcp\nworkers = 4\n%btasks = %s\ntask = cpu 1\n' \
    "$2" "$TASKS" >"$work/$1.ini"
}
wl fixed 'submit = map\nchunksize = 1\n'
wl default 'submit = map\n'
wl apply ''

ftrun() { # workload
  t0=$(date +%s.%N)
  "$FT" run "$1" --headless >/dev/null 2>&1 || { echo "bench_tcp.sh: forktop run $1 failed" >&2; exit 1; }
  t1=$(date +%s.%N)
  echo "$TASKS / ($t1 - $t0)" | bc -l | cut -d. -f1
}

median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

whats="anchor-1 anchor-16 forktop-1 forktop apply"
for what in $whats; do : >"$work/$what"; done
i=0
while [ $i -lt "$RUNS" ]; do
  for what in $whats; do
    case $what in
    anchor-1) "$ANCHOR" "$TASKS" 4 1 ;;
    anchor-16) "$ANCHOR" "$TASKS" 4 16 ;;
    forktop-1) ftrun "$work/fixed.ini" ;;
    forktop) ftrun "$work/default.ini" ;;
    apply) ftrun "$work/apply.ini" ;;
    esac >>"$work/$what"
  done
  i=$((i + 1))
done
for what in $whats; do
  median <"$work/$what" >"$work/$what.m"
  printf '%-10s %10s tasks/s (median of %s: %s)\n' "$what" "$(cat "$work/$what.m")" "$RUNS" \
    "$(tr '\n' ' ' <"$work/$what")"
done
ratio() { echo "scale=2; $(cat "$work/$1.m") / $(cat "$work/$2.m")" | bc -l; }
echo "forktop-1 / anchor-1   $(ratio forktop-1 anchor-1)  (issue 16: at least 0.8)"
echo "forktop / anchor-16    $(ratio forktop anchor-16)  (issue 16: at least 0.5)"
echo "apply / anchor-1       $(ratio apply anchor-1)"
