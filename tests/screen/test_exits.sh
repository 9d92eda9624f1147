#!/bin/sh
# Exit codes appear: every worker's exit in the exit log and in its
# dimmed row; with workers crashing, their signal, and the replacements.
. "$(dirname "$0")/lib.sh" "$@"

start 120 40 run pool-sleep -s main.tasks=20
wait_dashboard
wait_for 'finished, exit status 0' 30 || fail "the workload did not finish"
wait_for 'Exits \(35, newest first\)' 5 || fail "the exit log does not hold 35 exits"
wait_for '[0-9.]+s +[0-9]+ exit 0  main worker [0-9]+' 5 || fail "no 'exit 0' in the exit log"
wait_for '[0-9]+ +[0-9]+ X .*main worker [0-9]+ +exit 0' 5 || fail "no exited worker row with 'exit 0'"
tm send-keys -t "$SESSION" q
wait_for '^EXIT=0' 10 || fail "q did not quit"
tm kill-server
FT_PID=

# workers killed mid-task: SIGKILL in the log, replaced by new pids
start 120 40 run pool-sleep -s main.workers=4 -s main.tasks=40 -s "main.task=sleep 50ms..150ms; crash SIGKILL 25%"
wait_dashboard
wait_for '[0-9]+ SIGKILL  main worker [0-9]+' 30 || fail "no SIGKILL exit in the log"
wait_for 'replaced (→|->) [0-9]+' 30 || fail "no replaced worker"
wait_for 'task [0-9]+: worker died \(SIGKILL\)' 30 || fail "no failed task in the log"
wait_for 'finished, exit status 1' 30 || fail "the workload did not finish with status 1"
echo "PASS: $TEST"
