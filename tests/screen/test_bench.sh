#!/bin/sh
# forktop bench in a terminal shows the sweep live: the header says which
# size and run, the table and the chart fill in as sizes finish, the final
# screen waits for a key, then the terminal is restored and the same table
# as headless mode is printed.  q (or Ctrl-C, or SIGTERM) during a run stops
# the workload, leaves no worker behind and prints what was measured.
. "$(dirname "$0")/lib.sh" "$@"

# workers of the live forktop (its children)
workers_of() { ps -o pid= --ppid "$1" 2>/dev/null; }

# no process of ours in the list is still alive
none_left() {
  for p in $1; do
    if kill -0 "$p" 2>/dev/null && [ "$(ps -o comm= -p "$p")" = forktop ]; then
      fail "worker $p was left running"
    fi
  done
}

# ---- a whole sweep: live view, final screen, a key, the printed table
start 100 30 bench cpu-map --workers 1,2 --runs 1 --warmup 0 -s main.tasks=48
wait_for 'forktop bench: cpu-map' 15 || fail "the live view did not appear"
wait_for 'q Quit' 5 || fail "no bottom bar"
wait_for 'size 1 of 2 \(1 worker\) +run 1 of 1' 10 || fail "the header does not say size 1 of 2, run 1"
wait_for 'tasks .*[0-9]+/48' 10 || fail "no progress of the run's tasks"
wait_for 'size 2 of 2 \(2 workers\)' 30 || fail "the sweep did not go on to 2 workers"
screen | grep -Eq '^ +1 +[0-9]+\.[0-9]{3} ± +[0-9.]+ s +1\.00x +100%' ||
  fail "the table does not show the finished size"
screen | grep -q 'fastest so far: 1 worker' || fail "no best size so far"
wait_for 'finished: 2 sizes' 30 || fail "the sweep did not finish"
s=$(screen)
printf "%s\n" "$s" | grep -Eq '^ +2 +[0-9]+\.[0-9]{3} ± +[0-9.]+ s +[0-9.]+x' ||
  fail "the table does not show the second size"
printf "%s\n" "$s" | grep -Eq 'recommended pool size: [12]( |$)' || fail "no recommendation on screen"
printf "%s\n" "$s" | grep -q 'Amdahl' || fail "no Amdahl fit"
[ "$(printf "%s\n" "$s" | grep -o '●' | wc -l)" -ge 3 ] ||
  fail "the chart does not show two measured points (and the legend's)"
printf "%s\n" "$s" | grep -q '└' || fail "no chart axes"
sleep 0.5
alive || fail "forktop did not wait for a key on the final screen"
tm send-keys -t "$SESSION" x
wait_for '^EXIT=0' 10 || fail "a key did not end the final screen with status 0"
wait_for '^TTY=sane' 5 || fail "the terminal modes were not restored"
s=$(screen)
printf "%s\n" "$s" | grep -q 'q Quit' && fail "the live view is still on the screen"
printf "%s\n" "$s" | grep -q '^forktop bench: cpu-map, pool sizes 1 2' || fail "no header line printed"
printf "%s\n" "$s" | grep -Eq '^ +2 workers, run 1: [0-9.]+ s' || fail "no run lines printed"
printf "%s\n" "$s" | grep -Eq '^recommended pool size: [12], the ' || fail "no table printed"
printf "%s\n" "$s" | grep -q '^machine: ' || fail "no machine line printed"
FT_PID=
tm kill-server

# ---- a command pool (-j, its items after :::) and a command's --param, live
start 100 30 bench -j 1,2 --runs 1 --warmup 0 -- sh -c 'sleep 0.3' ::: a b c d
wait_for "forktop bench: sh -c 'sleep 0.3'" 15 || fail "the -j live view did not appear"
wait_for 'size 1 of 2 \(1 worker\) +run 1 of 1' 10 || fail "the -j header does not say size 1 of 2"
wait_for 'tasks .*[0-9]+/4' 10 || fail "no progress of the commands"
wait_for 'finished: 2 sizes' 30 || fail "the -j sweep did not finish"
tm send-keys -t "$SESSION" x
wait_for '^EXIT=0' 10 || fail "the -j sweep did not end with status 0"
screen | grep -Eq '^recommended pool size: [12], the ' || fail "no -j table printed"
FT_PID=
tm kill-server
start 100 30 bench --param N=1,2 --runs 1 --warmup 0 -- sh -c 'sleep 0.{N}; sleep 1'
wait_for 'value 1 of 2 \(N=1\) +run 1 of 1' 15 || fail "the --param header does not say N=1"
wait_for 'processes [12] alive, [0-9]+ in all' 10 || fail "the --param run's tree is not shown"
wait_for 'finished: 2 sizes' 30 || fail "the --param sweep did not finish"
screen | grep -q 'recommended N: 1' || fail "no recommended N on screen"
tm send-keys -t "$SESSION" x
wait_for '^EXIT=0' 10 || fail "the --param sweep did not end with status 0"
screen | grep -q '^recommended N: 1, the ' || fail "no --param advice printed"
FT_PID=
tm kill-server

# ---- q during the first run: the workload stops, EXIT=1, nothing left (ASCII)
start 100 30 bench cpu-map --workers 1,2 --runs 1 --warmup 0 --ascii -s main.tasks=400
wait_for 'size 1 of 2' 15 || fail "the live view did not appear"
wait_for 'tasks .*[1-9][0-9]*/400' 10 || fail "no task finished"
screen | LC_ALL=C grep -q "$(printf '[\200-\377]')" && fail "--ascii drew non-ASCII bytes"
workers=$(workers_of "$FT_PID")
[ -n "$workers" ] || fail "no worker found"
tm send-keys -t "$SESSION" q
wait_for '^EXIT=1$' 10 || fail "q did not stop the sweep with status 1"
wait_for '^TTY=sane' 5 || fail "the terminal modes were not restored after q"
screen | grep -q 'stopped with q; nothing was measured' || fail "no word of the stop"
none_left "$workers"
FT_PID=
tm kill-server

# ---- Ctrl-C (a key: the terminal is raw) after the first size: 130, and
# the finished size is printed
start 100 30 bench cpu-map --workers 1,2 --runs 1 --warmup 0 -s main.tasks=64
wait_for 'size 2 of 2' 30 || fail "the sweep did not reach size 2"
workers=$(workers_of "$FT_PID")
tm send-keys -t "$SESSION" C-c
wait_for '^EXIT=130$' 10 || fail "Ctrl-C did not stop the sweep with status 130"
wait_for '^TTY=sane' 5 || fail "the terminal modes were not restored after Ctrl-C"
s=$(screen)
printf "%s\n" "$s" | grep -q 'stopped by SIGINT; what was measured so far' || fail "no word of Ctrl-C"
printf "%s\n" "$s" | grep -Eq '^1 +[0-9.]+ ± ' || fail "the finished size was not printed"
none_left "$workers"
FT_PID=
tm kill-server

# ---- SIGTERM from outside: 143, terminal restored
start 100 30 bench cpu-map --workers 1,2 --runs 1 --warmup 0 -s main.tasks=400
wait_for 'tasks .*[1-9][0-9]*/400' 15 || fail "the live view did not appear"
workers=$(workers_of "$FT_PID")
kill -TERM "$FT_PID"
wait_for '^EXIT=143$' 10 || fail "SIGTERM did not stop the sweep with status 143"
wait_for '^TTY=sane' 5 || fail "the terminal modes were not restored after SIGTERM"
none_left "$workers"
echo "PASS: $TEST"
