#!/bin/sh
# Pools across hosts on screen (issue 16).  A recording of a run on two
# Slurm nodes (tests/fixtures/hosts.jsonl) replays grouped by host: a
# header row per host (state, workers alive, CPU and RSS summed), a HOST
# column, the remote worker 5001 apart from the local launcher 5001, node2
# going LOST with its cause, and the filter (F4) matching a host's name.  Then a live
# `hosts = tcp` pool: its host's header and rows, and k on a remote worker
# goes through the pool (its launcher's exit is a requested one), never as
# a kill of a pid that is also a live local process's.
. "$(dirname "$0")/lib.sh" "$@"

FIX=$(cd "$(dirname "$0")/../fixtures" && pwd)/hosts.jsonl
DIR=${TMPDIR:-/tmp}/ftscreen-hosts-$$
mkdir -p "$DIR"
trap 'rm -rf "$DIR"; cleanup' EXIT

start 140 40 replay "$FIX"
wait_for 'REPLAY' 10 || fail "not a replay"
wait_for '^ +PID\*? +HOST +PPID' 5 || fail "no HOST column"
wait_for '^. host node1 \(slurm job 77, 10\.0\.0\.1\)  up  2 workers alive  CPU 198\.0%' 5 ||
  fail "no header row for node1 with its sums"
wait_for '^ +5001 local +5000 ' 5 || fail "no local launcher 5001"
wait_for '^ +5001 node1 ' 5 || fail "no remote worker 5001 on node1"
# node1's rows come after its header, node2's after node2's
screen | awk '/host node1/ { h = 1 } /host node2/ { h = 2 } / node1 +- / && h != 1 { bad = 1 }
  / node2 +[-0-9]+ / && h != 2 { bad = 1 } END { exit bad }' || fail "rows out of their host's group"
wait_for '^. host node2 .*LOST: no heartbeat for 4 s  0 workers alive' 10 || fail "node2 not lost"
wait_for 'finished' 10 || fail "the replay did not finish"
tm send-keys -t "$SESSION" F4 n o d e 2 Enter
wait_for 'filter "node2"' 5 || fail "the filter is not shown"
sleep 0.3
screen | grep -q 'host node1' && fail "the filter kept node1"
screen | grep -Eq '^ +233 node2 ' || fail "the filter lost node2's worker"
screen | grep -Eq '^ +5001 ' && fail "the filter kept 5001"
tm send-keys -t "$SESSION" q
wait_for '^EXIT=' 10 || fail "q did not quit the replay"

# live: 2 tcp workers on tasks that last; one remote worker is selected
# (End: the last row) and sent SIGTERM through its host
cat >"$DIR/w.ini" <<EOW
[workload]
name = hosts
[pool p]
hosts = tcp
workers = 2
chunksize = 1
items = 6
task = sleep 20s
EOW
start 140 40 run "$DIR/w.ini" --record "$DIR/rec.jsonl"
wait_dashboard
wait_for '^. host 127\.0\.0\.1 \(tcp\)  up  2 workers alive' 15 || fail "no header row for the tcp host"
wait_for '^ +[0-9]+ 127\.0\.0\.1 .*p worker [01] +task' 10 || fail "no busy remote worker row"
pid=$(screen | awk '/^ +[0-9]+ 127\.0\.0\.1 / { p = $1 } END { print p }')
[ -n "$pid" ] || fail "no remote pid on screen"
screen | grep -Eq "^ +$pid local " || fail "the remote worker $pid is not also the local launcher $pid"
tm send-keys -t "$SESSION" End
sleep 0.3
tm send-keys -t "$SESSION" k
wait_for 'send to' 5 || fail "k opened no signal menu on the remote worker"
tm send-keys -t "$SESSION" Enter
wait_for "sent SIGTERM to $pid on host 127\.0\.0\.1" 5 || fail "the signal was not sent through the host"
wait_for 'replaced|SIGTERM' 10 || fail "the worker did not die"
tm send-keys -t "$SESSION" q
wait_for 's +stop it and quit' 5 || fail "q did not ask"
tm send-keys -t "$SESSION" s
wait_for '^EXIT=' 15 || fail "q, s did not quit"
wait_for '^TTY=sane' 5 || fail "the terminal modes were not restored"
grep -q "\"ev\":\"exit\",\"pid\":$pid,\"ppid\":[0-9]*,\"name\":\"forktop\",\"signal\":\"SIGTERM\",\"signo\":15,\"requested\":true" "$DIR/rec.jsonl" ||
  fail "the launcher $pid did not die of a SIGTERM the pool sent: $(grep "\"pid\":$pid," "$DIR/rec.jsonl" | grep exit)"
echo "PASS: $TEST"
