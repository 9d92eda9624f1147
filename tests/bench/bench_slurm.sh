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
# result (the anchor); for forktop, the same span read from its own
# headless output (its lines' times: the first task started to the last
# ended; the output's cost included), so that both count the tasks alone;
# forktop's allocation, workers' start and release are reported below,
# and each forktop figure also prints the whole run's rate, all included.
# Then, median of RUNS runs of `forktop run --json` on 60 tasks of 0.4 s
# (4 workers, 2 nodes; probe.py below says how each is taken):
#   alloc      seconds from start to the allocation granted
#   connected  seconds from start to all 4 remote workers connected
#   replace    seconds from a remote worker's SIGKILL (kill -9 on its node,
#              mid-task) to its replacement connected
#   kill-fail  seconds from that kill to its task's task_fail
#   agent-ftnN the per-node agent's CPU, % of a core over its life (issue
#              16 asks at most 1 %)
# BENCH_ONLY="anchor-1 forktop" runs only those throughput cases (empty:
# none of them).
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
cat >"$work/probe.py" <<'EOF'
# The events probe: run forktop --json on WORKLOAD (4 workers on 2 Slurm
# nodes, sleep tasks), read its stream live, and from it and from the
# nodes measure, in seconds unless said:
#   alloc      start to the first srun into the allocation (the holder's
#              salloc granted: the agents' srun carries --jobid)
#   connected  start to the 4th remote worker's spawn (it connected)
#   replace    a remote worker SIGKILLed inside its node (kill(2) there,
#              the wall-clock time taken right after it returns) to its
#              replacement's remote spawn (connected)
#   taskfail   that kill to its task's task_fail
#   agent1/2   each node's agent's CPU % of a core over its life (from
#              /proc/PID/schedstat, read on the node half way through)
# Prints "name value" lines.
import json, subprocess, sys
ft, cl, ini, tasks = sys.argv[1:4] + [int(sys.argv[4])]
p = subprocess.Popen(["sh", cl, "exec", ft, "run", ini, "--json"],
                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
wall0 = None
out = {}
remote = {}       # worker index -> (host, pid) of its current remote process
kill = None       # (worker, host, pid, wall) once killed
agents = {}
nodes = {}        # host index -> node number (ftn1 is 1)
done = 0

def node(n, script):
    return subprocess.run(["sh", cl, "node", str(n), "sh", "-c", script],
                          stdout=subprocess.PIPE, text=True, timeout=20).stdout

def agent_cpu(n):
    # The agent's CPU time over its age, from its own /proc on node n:
    # schedstat's nanoseconds on a CPU (utime + stime counts 10 ms ticks,
    # too coarse for a mostly idle process), its start from stat.
    s = node(n, "p=$(pgrep -f '^[^ ]*forktop agent' | head -1)"
                "; [ -n \"$p\" ] && cat /proc/$p/schedstat /proc/$p/stat /proc/uptime && getconf CLK_TCK"
                " || { echo \"probe.py: no agent on node %d\"; ps -eo pid,ppid,etimes,args; } >&2"
                % n).split("\n")
    if len(s) < 4:
        return None
    ns, stat, up, hz = int(s[0].split()[0]), s[1], float(s[2].split()[0]), float(s[3])
    age = up - int(stat[stat.rindex(")") + 2:].split()[19]) / hz
    return 100.0 * ns / 1e9 / age

# p is forktop itself (cluster.sh execs nsenter, nsenter execs it): on
# any error here it must not outlive the probe and hold the cluster.
try:
    for line in p.stdout:
        e = json.loads(line)
        ev, t = e.get("ev"), e.get("t", 0.0)
        if ev == "start":
            wall0 = e["wall"]
        elif ev == "host" and e.get("name", "").startswith("ftn"):
            nodes[e["host"]] = int(e["name"][3:])
        elif ev == "task_done":
            done += 1
            if done == tasks // 2:
                # Half way, the agents still up (near the end the stream,
                # read late on a loaded machine, came after one was gone):
                # their CPU so far.
                for n in (1, 2):
                    agents[n] = agent_cpu(n)
        elif ev in ("spawn", "exec") and "alloc" not in out and \
                any(a.startswith("--jobid=") for a in e.get("argv", [])):
            out["alloc"] = t
        elif ev == "spawn" and e.get("role") == "worker" and "host" in e:
            w = e["worker"]
            if kill and w == kill[0] and "replace" not in out:
                out["replace"] = wall0 + t - kill[3]
            remote[w] = (e["host"], e["pid"])
            if len(remote) == 4 and "connected" not in out:
                out["connected"] = t
        elif ev == "task_start" and kill is None and "connected" in out and \
                t - out["connected"] > 0.5 and e.get("worker") in remote:
            # A task is in flight on this worker: kill the worker on its node.
            w = e["worker"]
            h, pid = remote[w]
            # The time is taken in the same process right after kill(2)
            # returns (date(1) after a shell's kill came later than the
            # task_fail at times: its fork and exec).
            r = node(nodes[h], "exec python3 -c 'import os, time; os.kill(%d, 9); "
                     "print(\"%%.6f\" %% time.time())'" % pid).split()
            if r:
                kill = (w, h, pid, float(r[-1]))
        elif ev == "task_fail" and kill and e.get("worker") == kill[0] and "taskfail" not in out:
            out["taskfail"] = wall0 + t - kill[3]
except BaseException:
    p.kill()
    raise
p.wait()
for k in ("alloc", "connected", "replace", "taskfail"):
    print(k, "%.3f" % out[k] if k in out else "-")
for n in (1, 2):
    print("agent%d" % n, "%.2f" % agents[n] if agents.get(n) is not None else "-")
EOF
cat >"$work/probe.ini" <<EOF
[workload]
name = bench-slurm-events
[pool p]
hosts = slurm:2
workers = 4
tasks = 60
task = sleep 0.4
EOF

median() { grep -v '^-$' | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

anchor() { # depth
  job=$(sh "$CL" exec salloc --no-shell -N2 2>&1 | sed -n 's/.*Granted job allocation \([0-9]*\).*/\1/p')
  [ -n "$job" ] || { echo "bench_slurm.sh: salloc failed" >&2; exit 1; }
  r=$(sh "$CL" exec python3 "$work/master.py" "$TASKS" "$1" "$job" "$work/worker.py")
  sh "$CL" exec scancel "$job"
  echo "$r"
}

ftrun() { # workload: "RATE WHOLE-RUN-RATE", tasks/s
  t0=$(date +%s.%N)
  sh "$CL" exec "$FT" run "$1" --headless >"$work/ft.out" 2>/dev/null || true
  t1=$(date +%s.%N)
  python3 -c 'import re, sys
n, a, b = float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
first = last = None
for line in open(sys.argv[1]):
    m = re.match(r"\[\s*([0-9.]+)\]\s+(start|done|fail)\s+p\s+task ", line)
    if m and m.group(2) == "start":
        first = float(m.group(1)) if first is None else first
    elif m:
        last = float(m.group(1)) if last is None else max(last, float(m.group(1)))
d = last - first if first is not None and last is not None else 0
print("%.0f %.0f" % (n / d if d > 0 else 0, n / (b - a)))' "$work/ft.out" "$TASKS" "$t0" "$t1"
}

for what in ${BENCH_ONLY-anchor-1 anchor-16 forktop-1 forktop}; do
  : >"$work/$what.raw"
  i=0
  while [ $i -lt "$RUNS" ]; do
    case $what in
    anchor-1) anchor 1 ;;
    anchor-16) anchor 16 ;;
    forktop-1) ftrun "$work/fixed.ini" ;;
    forktop) ftrun "$work/default.ini" ;;
    esac >>"$work/$what.raw"
    i=$((i + 1))
  done
  cut -d' ' -f1 "$work/$what.raw" >"$work/$what"
  printf '%-10s %10s tasks/s (median of %s: %s)\n' "$what" "$(median <"$work/$what")" "$RUNS" \
    "$(tr '\n' ' ' <"$work/$what")"
  case $what in forktop*)
    cut -d' ' -f2 "$work/$what.raw" >"$work/$what.whole"
    printf '%-10s %10s tasks/s whole run, allocation and start included (median)\n' "" \
      "$(median <"$work/$what.whole")" ;;
  esac
done

i=0
while [ $i -lt "$RUNS" ]; do
  python3 "$work/probe.py" "$FT" "$CL" "$work/probe.ini" 60 >"$work/probe.$i"
  i=$((i + 1))
done
for what in alloc:s connected:s replace:s taskfail:s agent1:% agent2:%; do
  key=${what%:*}
  unit=${what#*:}
  cat "$work"/probe.* | awk -v k="$key" '$1 == k {print $2}' >"$work/$key"
  case $key in
  taskfail) name=kill-fail ;;
  agent*) name=agent-ftn${key#agent} unit='% cpu' ;;
  *) name=$key ;;
  esac
  printf '%-10s %10s %s (median of %s: %s)\n' "$name" "$(median <"$work/$key")" "$unit" "$RUNS" \
    "$(tr '\n' ' ' <"$work/$key")"
done
