#!/bin/sh
# bench_dash.sh FORKTOP_BINARY [PROCESSES...] - what the dashboard costs,
# side by side with its anchors in one run.
#
# 1. For each PROCESSES (default 2000; up to 10000): forktop's own CPU while
#    it shows that many live processes at 10 updates a second in a 120x40
#    tmux pane, measured from /proc over 10 s once every process is up, and
#    its resident memory.  Up to 2000 they are one pool's workers, each
#    sleeping through its task; past that, pools of up to 2500 workers whose
#    tasks each exec a `sleep` (two processes a worker: the fds forktop
#    holds for a worker's output stay within the usual 20000).  The same
#    workload headless for comparison, and the anchors: a bare C loop
#    reading every /proc/PID/stat ten times a second (anchor_procscan,
#    built next to this script), htop -d 1 and btop (update_ms = 100, its
#    fastest) in the same pane when installed, watching the same tree.
#    Target: at most 2 % of one CPU at 8000 processes, 30x less than htop.
#    FT_DASH_ONLY=1 measures the dashboard and the htop and btop anchors
#    only (tests/bench/bench_scale.sh).
# 2. The wall time a fixed-work workload (two workers, short CPU tasks)
#    loses to the dashboard against headless: the pool's own start-to-end
#    time from a --record stream, median of 3 runs each.  Target: <= 2 %.
#
# A benchmark, not a test: it prints figures and never fails on them.
. "$(dirname "$0")/../screen/lib.sh" "$@"
ANCHOR=$(dirname "$FORKTOP")/tests/bench/anchor_procscan
shift
SIZES=${*:-2000}
HZ=$(getconf CLK_TCK)
WORK=$(mktemp -d)
trap 'cleanup; rm -rf "$WORK"' EXIT
# forktop raises its soft limit on open files to the hard one; so do we, for
# the shell's own children
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# many_ini N: N live processes, as above
many_ini() {
  if [ "$1" -le 2000 ]; then
    printf '[workload]\nname = many\n\n[pool main]\nworkers = %d\nsubmit = apply_async\n' "$1"
    printf 'tasks = %d\ntask = sleep 60s\n' "$1"
    return
  fi
  printf '[workload]\nname = many\n'
  left=$(($1 / 2))
  i=0
  while [ "$left" -gt 0 ]; do
    w=$((left < 2500 ? left : 2500))
    printf '\n[pool p%d]\nworkers = %d\nsubmit = apply_async\ntasks = %d\n' $i $w $w
    printf 'task = exec sleep 60\n'
    left=$((left - w))
    i=$((i + 1))
  done
}
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

# all_up: wait until forktop has its N descendants, and the spawn burst is over
all_up() {
  deadline=$(($(date +%s) + 180))
  sid=$(ps -o sid= -p "$FT_PID" | tr -d ' ')
  while [ "$(date +%s)" -lt "$deadline" ]; do
    [ "$(($(pgrep -c -s "$sid") - 2))" -ge "$N" ] && break
    sleep 0.5
  done
  sleep 2
}
rss_mb() { awk '/^VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

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

# stop: end this forktop (its pane goes, it gets SIGHUP) and the anchor of
# its tree (htop, btop: their window goes too), and wait for both, so that
# neither runs into the next measurement: each takes 1.7-2 s to exit, and
# btop at 99 % of a CPU in that time cut the bare ring of the queue part
# after it to a third; one that outlives 10 s is killed
stop() {
  tm kill-server
  i=0
  while { kill -0 "$FT_PID" 2>/dev/null || kill -0 "${TOP_PID:-$FT_PID}" 2>/dev/null; } &&
    [ $i -lt 100 ]; do
    sleep 0.1
    i=$((i + 1))
  done
  [ -n "${TOP_PID:-}" ] && kill -KILL "$TOP_PID" 2>/dev/null
  FT_PID=
  TOP_PID=
}

# cpu_of MODE...: forktop's own CPU while it holds the N processes (and,
# in $WORK/rss, its resident memory then)
cpu_of() {
  start 120 40 "$@" run "$WORK/many.ini"
  all_up
  rss_mb "$FT_PID" >"$WORK/rss"
  cpu_pct "$FT_PID"
  stop
}

# anchor_of [htop]: forktop headless holds the N processes; the anchor runs 10 s
anchor_of() {
  start 120 40 --headless run "$WORK/many.ini"
  all_up
  if [ "${1:-}" = htop ]; then
    tm new-window -t "$SESSION" "htop -d 1"
    sleep 1
    TOP_PID=$(pgrep -n -x htop)
    cpu_pct "$TOP_PID"
  elif [ "${1:-}" = btop ]; then
    mkdir -p "$WORK/cfg/btop"
    echo 'update_ms = 100' >"$WORK/cfg/btop/btop.conf"
    tm new-window -t "$SESSION" "XDG_CONFIG_HOME=$WORK/cfg btop"
    sleep 2
    TOP_PID=$(pgrep -n -x btop)
    cpu_pct "$TOP_PID"
  else
    "$ANCHOR" "$FT_PID" 10 | awk '{ print $2 }'
  fi
  stop
}

ratio_of() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1fx", a / b }'; }
for N in $SIZES; do
  many_ini "$N" >"$WORK/many.ini"
  dash=$(cpu_of)
  echo "forktop CPU showing $N live processes, dashboard at 10 Hz: $dash % (RSS $(cat "$WORK/rss") MB)"
  if [ -z "${FT_DASH_ONLY:-}" ]; then
    head=$(cpu_of --headless)
    echo "forktop CPU with the same workload headless:             $head % (RSS $(cat "$WORK/rss") MB)"
    if [ -x "$ANCHOR" ]; then
      bare=$(anchor_of)
      echo "anchor: a bare C loop reading every /proc/PID/stat at 10 Hz: $bare %" \
        "(forktop's dashboard: $(ratio_of "$bare" "$dash") less)"
    fi
  fi
  for top in htop btop; do
    command -v $top >/dev/null 2>&1 || continue
    h=$(anchor_of $top)
    echo "anchor: $top at 10 Hz showing the same tree: $h %" \
      "(forktop's dashboard: $(ratio_of "$h" "$dash") less)"
  done
done
[ -n "${FT_DASH_ONLY:-}" ] && exit 0

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
