#!/bin/sh
# tests/bench/bench_slurm.sh - a pool on Slurm against a raw TCP
# master/worker anchor over the same nodes, in the same run (issue 16).
# Not a gate: it prints figures.
#
#   sudo tests/slurm/cluster.sh up
#   sudo tests/bench/bench_slurm.sh build/forktop [TASKS] [RUNS]
#
# 2 nodes, 4 workers (2 a node), TASKS trivial tasks (default 100000),
# median of RUNS runs (default 5) of each:
#   anchor-1   python master, 4 srun'd python workers, one task in flight each
#   anchor-16  the same, 16 in flight each
#   forktop-1  hosts = slurm:2, workers = 4, submit = map, chunksize = 1 (a task a chunk)
#   forktop    the same with the default chunksize (Python's rule: map, not apply_async)
# Each figure is tasks per second, from the first task sent to the last
# result (the anchor) or the whole run, allocation included (forktop).
set -eu
FT=$(readlink -f "${1:-build/forktop}")
TASKS=${2:-100000}
RUNS=${3:-5}
here=$(cd "$(dirname "$0")" && pwd)
CL="$here/../slurm/cluster.sh"
sh "$CL" status || {
  echo "bench_slurm.sh: the cluster is not up (sudo tests/slurm/cluster.sh up)" >&2
  exit 77
}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat >"$work/master.py" <<'EOF'
# The anchor's master: listen on the head's address, start 4 workers as
# srun steps (2 a node) in one allocation, send TASKS 8-byte tasks with
# DEPTH in flight a worker, count the replies.  Prints tasks/s.
import os, socket, struct, subprocess, sys, time
tasks, depth, job = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
ls = socket.socket()
ls.bind(("10.77.0.1", 0))
ls.listen(8)
port = ls.getsockname()[1]
procs = [subprocess.Popen(["srun", "--jobid=" + job, "--overlap", "-n1", "-N1", "-w", node,
                           "--input=none", "python3", sys.argv[4], "10.77.0.1:%d" % port])
         for node in ("ftn1", "ftn2", "ftn1", "ftn2")]
conns = [ls.accept()[0] for _ in procs]
for c in conns:
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
t0 = time.monotonic()
sent = done = 0
inflight = [0] * len(conns)
msg = struct.pack("=Q", 1)
for i, c in enumerate(conns):
    k = min(depth, tasks - sent)
    c.sendall(msg * k)
    inflight[i] += k
    sent += k
import selectors
sel = selectors.DefaultSelector()
for i, c in enumerate(conns):
    sel.register(c, selectors.EVENT_READ, i)
buf = [b""] * len(conns)
while done < tasks:
    for key, _ in sel.select():
        i = key.data
        data = conns[i].recv(65536)
        buf[i] += data
        n = len(buf[i]) // 8
        buf[i] = buf[i][n * 8:]
        done += n
        inflight[i] -= n
        k = min(n, tasks - sent)
        if k > 0:
            conns[i].sendall(msg * k)
            inflight[i] += k
            sent += k
dt = time.monotonic() - t0
for c in conns:
    c.close()
for p in procs:
    p.wait()
print("%.0f" % (tasks / dt))
EOF
cat >"$work/worker.py" <<'EOF'
# The anchor's worker: echo every 8-byte task back as its result.
import socket, sys
host, port = sys.argv[1].rsplit(":", 1)
s = socket.create_connection((host, int(port)))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
while True:
    d = s.recv(65536)
    if not d:
        break
    s.sendall(d)
EOF
cat >"$work/fixed.ini" <<EOF
[workload]
name = bench-slurm
[pool p]
hosts = slurm:2
workers = 4
submit = map
chunksize = 1
tasks = $TASKS
task = cpu 1
EOF
sed '/^chunksize/d' "$work/fixed.ini" >"$work/default.ini"

median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

anchor() { # depth
  job=$(sh "$CL" exec salloc --no-shell -N2 2>&1 | sed -n 's/.*Granted job allocation \([0-9]*\).*/\1/p')
  [ -n "$job" ] || { echo "bench_slurm.sh: salloc failed" >&2; exit 1; }
  r=$(sh "$CL" exec python3 "$work/master.py" "$TASKS" "$1" "$job" "$work/worker.py")
  sh "$CL" exec scancel "$job"
  echo "$r"
}

ftrun() { # workload
  t0=$(date +%s.%N)
  sh "$CL" exec "$FT" run "$1" --headless >/dev/null 2>&1 || true
  t1=$(date +%s.%N)
  echo "$TASKS / ($t1 - $t0)" | bc -l | cut -d. -f1
}

for what in anchor-1 anchor-16 forktop-1 forktop; do
  : >"$work/$what"
  i=0
  while [ $i -lt "$RUNS" ]; do
    case $what in
    anchor-1) anchor 1 ;;
    anchor-16) anchor 16 ;;
    forktop-1) ftrun "$work/fixed.ini" ;;
    forktop) ftrun "$work/default.ini" ;;
    esac >>"$work/$what"
    i=$((i + 1))
  done
  printf '%-10s %10s tasks/s (median of %s: %s)\n' "$what" "$(median <"$work/$what")" "$RUNS" \
    "$(tr '\n' ' ' <"$work/$what")"
done
