#!/bin/sh
# q leaves a restored terminal: while work runs it asks first; s stops the
# workload (no worker left behind); the screen and the tty modes are back.
. "$(dirname "$0")/lib.sh" "$@"

start 120 40 run pool-sleep -s main.tasks=200 -s "main.task=sleep 1s..3s"
wait_dashboard
wait_for 'main worker 3' 10 || fail "no workers"
sleep 0.5
workers=$(screen | grep 'main worker' | awk '{ print $1 }')
tm send-keys -t "$SESSION" q
wait_for 'still running' 5 || fail "q did not ask while work runs"
alive || fail "forktop quit without asking"
tm send-keys -t "$SESSION" Escape
sleep 0.5
screen | grep -q 'still running' && fail "Esc did not close the question"
tm send-keys -t "$SESSION" q
wait_for 'still running' 5 || fail "q did not ask again"
tm send-keys -t "$SESSION" s
wait_for '^EXIT=' 15 || fail "s did not stop and quit"
wait_for '^TTY=sane' 5 || fail "the terminal modes were not restored"
s=$(screen)
printf "%s\n" "$s" | grep -q 'q Quit\|forktop (supervisor)' && fail "the dashboard is still on the screen"
i=0
while alive && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
alive && fail "forktop is still running"
for p in $workers; do
  if kill -0 "$p" 2>/dev/null && [ "$(ps -o comm= -p "$p")" = forktop ]; then
    fail "worker $p was left running"
  fi
done
FT_PID=
tm kill-server

# once the work has finished, q quits at once, with its exit status
start 120 40 run pool-sleep -s main.tasks=5 -s "main.task=sleep 10ms"
wait_dashboard
wait_for 'finished, exit status 0' 20 || fail "did not finish"
tm send-keys -t "$SESSION" q
wait_for '^EXIT=0' 10 || fail "q did not quit a finished run"
wait_for '^TTY=sane' 5 || fail "the terminal modes were not restored"
tm kill-server
FT_PID=

# so does Ctrl-C: the status is the work's, not an interruption's
start 120 40 run pool-sleep -s main.tasks=5 -s "main.task=sleep 10ms"
wait_dashboard
wait_for 'finished, exit status 0' 20 || fail "did not finish"
tm send-keys -t "$SESSION" C-c
wait_for '^EXIT=0' 10 || fail "Ctrl-C on a finished run did not quit with its status"
tm kill-server
FT_PID=

# Ctrl-C (a key: the terminal is raw) stops the workload and restores too
start 120 40 run pool-sleep -s main.tasks=200 -s "main.task=sleep 1s..3s"
wait_dashboard
wait_for 'main worker 3' 10 || fail "no workers"
tm send-keys -t "$SESSION" C-c
wait_for '^EXIT=[1-9]' 15 || fail "Ctrl-C did not stop it with a failure status"
wait_for '^TTY=sane' 5 || fail "the terminal modes were not restored after Ctrl-C"
echo "PASS: $TEST"
