#!/bin/sh
# bench_scale.sh [BUILD_DIR] - forktop at scale, next to its anchors, in one
# run of under ten minutes on a 2-core machine:
#
# 1. pool start-up: Pool(N) create + close + join at 100, 1,000 and 4,000
#    workers, interleaved (bench_scale_pool); the cost per worker should be
#    flat (Pool(4000) at most 4.5x Pool(1000)).  Python's Pool(N) at 100 and
#    1,000 in the same run for scale.
# 2. the dashboard's CPU at 10 Hz with 2,000, 5,000 and 8,000 live
#    processes, and htop -d 1 and btop on the same tree (bench_dash.sh;
#    target: at most 2 % at 8,000, 30x less than htop).
# 3. queue rates next to a bare shared-memory ring and memcpy bandwidth built
#    and run in the same process (bench_queue; targets: 1P1C 8-byte batches
#    >= 0.1 of the bare ring, 4P4C >= 0.5 of 1P1C, 1 KiB >= 0.5 of memcpy).
#
# The machine it ran on comes first (the CPU, from /proc/cpuinfo, and the
# load average: a shared machine's figures move).  A benchmark: it prints
# figures and never fails on them.
set -e
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:-$HERE/../../build}
BUILD=$(cd "$BUILD" && pwd)
[ -x "$BUILD/forktop" ] || { echo "bench_scale.sh: no $BUILD/forktop (build first)" >&2; exit 2; }
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

echo "== machine"
echo "cpu: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(nproc) online"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
t0=$(date +%s)

echo "== pool start-up"
"$BUILD/tests/bench/bench_scale_pool" -r3 100 1000 4000 | sed 's/^case=//'
if command -v python3 >/dev/null 2>&1; then
  for n in 100 1000; do
    python3 -c "
import multiprocessing as mp, time
mp.set_start_method('fork')
t = time.perf_counter(); p = mp.Pool($n); p.close(); p.join()
dt = time.perf_counter() - t
print(f'python Pool($n) create + close + join: {dt * 1e3:.1f} ms, {dt * 1e6 / $n:.0f} us a worker')"
  done
fi

echo "== dashboard at 10 Hz"
FT_DASH_ONLY=1 sh "$HERE/bench_dash.sh" "$BUILD/forktop" 2000 5000 8000

echo "== queues"
"$BUILD/tests/bench/bench_queue" | sed 's/^case=//'

echo "== took $(($(date +%s) - t0)) s; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
