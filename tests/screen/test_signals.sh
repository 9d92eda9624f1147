#!/bin/sh
# Signals to the dashboard: a storm of SIGWINCH does no harm; SIGTERM and
# SIGHUP from outside stop the workload, restore the terminal, leave no
# worker and exit 128 + the signal.
. "$(dirname "$0")/lib.sh" "$@"

start 120 40 run pool-sleep -s main.tasks=200 -s "main.task=sleep 1s..3s"
wait_dashboard
wait_for 'main worker 3' 10 || fail "no workers"
i=0
while [ $i -lt 500 ]; do
  kill -WINCH "$FT_PID" 2>/dev/null || fail "forktop died during the SIGWINCH storm"
  i=$((i + 1))
done
sleep 0.5
alive || fail "forktop died after the SIGWINCH storm"
wait_for 'q Quit' 5 || fail "the dashboard is not drawn after the storm"
tm send-keys -t "$SESSION" j
sleep 0.3
alive || fail "keys after the storm killed it"

for sig in TERM HUP; do
  [ "$sig" = HUP ] && { start 120 40 run pool-sleep -s main.tasks=200 -s "main.task=sleep 1s..3s"; wait_dashboard; wait_for 'main worker 3' 10 || fail "no workers"; }
  workers=$(ps -o pid= --ppid "$FT_PID")
  [ -n "$workers" ] || fail "no worker processes"
  kill -"$sig" "$FT_PID"
  case $sig in TERM) want=143 ;; HUP) want=129 ;; esac
  wait_for "^EXIT=$want" 15 || fail "SIG$sig did not stop it with status $want"
  wait_for '^TTY=sane' 5 || fail "the terminal modes were not restored after SIG$sig"
  for p in $workers; do
    if kill -0 "$p" 2>/dev/null && [ "$(ps -o comm= -p "$p")" = forktop ]; then
      fail "worker $p was left running after SIG$sig"
    fi
  done
  tm kill-server
  FT_PID=
done
echo "PASS: $TEST"
