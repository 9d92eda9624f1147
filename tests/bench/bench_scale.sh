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
# 4. a streamed map of 10 million items: a pool of 2 workers taking its
#    items from a file (items = @FILE), its time and forktop's peak RSS
#    (target: under 100 MB), next to Python's Pool(2).imap over the same
#    file (chunksize 10,000) in the same run.
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

echo "== a streamed map of 10 million items"
# peak CMD...: "SECONDS KIB", the wall time of CMD and the largest resident
# size of the processes it waited for (forktop itself, Python's parent)
peak() {
  python3 -c '
import resource, subprocess, sys, time
t = time.perf_counter()
p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
dt = time.perf_counter() - t
if p.returncode:
    sys.exit("bench_scale.sh: %s: exit %d: %s" % (sys.argv[1], p.returncode, p.stderr[-500:]))
print("%.2f %d" % (dt, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))' "$@"
}
SWORK=$(mktemp -d)
trap 'rm -rf "$SWORK"' EXIT
seq 0 9999999 >"$SWORK/items"
printf '[pool p]\nworkers = 2\nitems = @%s/items\ntask = sleep 0\n' "$SWORK" >"$SWORK/map.ini"
set -- $(peak "$BUILD/forktop" run "$SWORK/map.ini" --headless)
echo "stream_map_10m value=$1 unit=s better=lower desc=forktop run, items = @FILE of 10,000,000" \
  "lines, 2 workers, task sleep 0, --headless > /dev/null: peak RSS $(($2 / 1024)) MB" \
  "(target: under 100 MB)"
printf '%s\n' 'import multiprocessing as mp, sys' 'def f(x):' '    return None' \
  'if __name__ == "__main__":' '    mp.set_start_method("fork")' \
  '    with mp.Pool(2) as p, open(sys.argv[1]) as fh:' \
  '        for _ in p.imap(f, fh, chunksize=10000):' '            pass' >"$SWORK/imap.py"
set -- $(peak python3 "$SWORK/imap.py" "$SWORK/items")
echo "anchor: python Pool(2).imap over the same file, chunksize 10000: $1 s, peak RSS" \
  "$(($2 / 1024)) MB"

echo "== took $(($(date +%s) - t0)) s; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
