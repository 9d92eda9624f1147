#!/bin/sh
# bench_dash.sh FORKTOP_BINARY [PROCESSES] - what the dashboard costs, side
# by side with its anchors in one run.
#
# 1. forktop's own CPU while it shows PROCESSES (default 2000) live
#    processes at 10 updates a second in a 120x40 tmux pane, measured from
#    /proc over 10 s once every process is up; the same workload headless
#    for comparison, and the anchors: a bare C loop reading every
#    /proc/PID/stat ten times a second (anchor_procscan, built next to this
#    script), and htop -d 1 in the same pane when htop is installed.
#    Target: at most 5 % of one CPU.
# 2. The wall time a fixed-work workload (two workers, short CPU tasks)
#    loses to the dashboard against headless: the pool's own start-to-end
#    time from a --record stream, median of 3 runs each.  Target: <= 2 %.
#
# A benchmark, not a test: it prints figures and never fails on them.
. "$(dirname "$0")/../screen/lib.sh" "$@"
ANCHOR=$(dirname "$FORKTOP")/tests/bench/anchor_procscan
N=${2:-2000}
HZ=$(getconf CLK_TCK)
WORK=$(mktemp -d)
trap 'cleanup; rm -rf "$WORK"' EXIT

cat >"$WORK/many.ini" <<INI
[workload]
name = many
description = $N workers, each sleeping through one task

[pool main]
workers = $N
submit = apply_async
tasks = $N
task = sleep 40s
INI
cat >"$WORK/fixed.ini" <<INI
[workload]
name = fixed
description = fixed work: 4000 short CPU tasks on two workers

[pool main]
workers = 2
submit = map
chunksize = 1
tasks = 4000
task = cpu 1500k
INI

ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }

# all_up: wait until forktop has its N children, and the spawn burst is over
all_up() {
  deadline=$(($(date +%s) + 120))
  while [ "$(date +%s)" -lt "$deadline" ]; do
    [ "$(ps -o pid= --ppid "$FT_PID" | wc -l)" -ge "$N" ] && break
    sleep 0.5
  done
  sleep 2
}

# cpu_pct PID: its CPU over the next 10 s, in % of one CPU
cpu_pct() {
  t1=$(ticks "$1")
  s1=$(date +%s.%N)
  sleep 10
  t2=$(ticks "$1")
  s2=$(date +%s.%N)
  awk -v a="$t1" -v b="$t2" -v x="$s1" -v y="$s2" -v hz="$HZ" \
    'BEGIN { printf "%.2f", (b - a) / hz / (y - x) * 100 }'
}

# stop: end this forktop (its pane goes, it gets SIGHUP) and wait for it
stop() {
  tm kill-server
  i=0
  while kill -0 "$FT_PID" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  FT_PID=
}

# cpu_of MODE...: forktop's own CPU while it holds the N processes
cpu_of() {
  start 120 40 "$@" run "$WORK/many.ini"
  all_up
  cpu_pct "$FT_PID"
  stop
}

# anchor_of [htop]: forktop headless holds the N processes; the anchor runs 10 s
anchor_of() {
  start 120 40 --headless run "$WORK/many.ini"
  all_up
  if [ "${1:-}" = htop ]; then
    tm split-window -t "$SESSION" "htop -d 1"
    sleep 1
    cpu_pct "$(pgrep -n -x htop)"
  else
    "$ANCHOR" "$FT_PID" 10 | awk '{ print $2 }'
  fi
  stop
}

dash=$(cpu_of)
echo "forktop CPU showing $N live processes, dashboard at 10 Hz: $dash %"
head=$(cpu_of --headless)
echo "forktop CPU with the same workload headless:             $head %"
if [ -x "$ANCHOR" ]; then
  bare=$(anchor_of)
  echo "anchor: a bare C loop reading every /proc/PID/stat at 10 Hz: $bare %" \
    "(forktop's dashboard: $(awk -v a="$bare" -v b="$dash" 'BEGIN { printf "%.1fx", a / b }') less)"
fi
if command -v htop >/dev/null 2>&1; then
  h=$(anchor_of htop)
  echo "anchor: htop -d 1 showing the same tree:                  $h %" \
    "(forktop's dashboard: $(awk -v a="$h" -v b="$dash" 'BEGIN { printf "%.1fx", a / b }') less)"
fi

# wall_of MODE: the pool's start-to-end time, from the recorded stream
wall_of() {
  rm -f "$WORK/rec.jsonl"
  start 120 40 "$@" --record "$WORK/rec.jsonl" run "$WORK/fixed.ini"
  deadline=$(($(date +%s) + 120))
  while [ "$(date +%s)" -lt "$deadline" ] && ! grep -q '"ev":"pool_end"' "$WORK/rec.jsonl" 2>/dev/null; do
    sleep 0.2
  done
  tm send-keys -t "$SESSION" q 2>/dev/null
  wait_for '^EXIT=' 20 >/dev/null
  tm kill-server
  FT_PID=
  awk -F'"t":' '/"ev":"pool_start"/ { split($2, a, ","); s = a[1] }
                /"ev":"pool_end"/ { split($2, a, ","); e = a[1] }
                END { printf "%.3f\n", e - s }' "$WORK/rec.jsonl"
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
: >"$WORK/d"
: >"$WORK/h"
for i in 1 2 3; do
  wall_of --headless >>"$WORK/h"
  wall_of >>"$WORK/d"
done
wd=$(median <"$WORK/d")
wh=$(median <"$WORK/h")
echo "fixed work, wall time (median of 3): dashboard $wd s, headless $wh s:" \
  "$(awk -v d="$wd" -v h="$wh" 'BEGIN { printf "%+.1f %%", (d - h) / h * 100 }')"
