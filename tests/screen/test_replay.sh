#!/bin/sh
# forktop replay FILE opens the dashboard on a recording: it is marked as a
# replay, it plays at the recorded pace (progress appears before the end),
# it ends with the recorded exits, and q leaves a restored terminal.
. "$(dirname "$0")/lib.sh" "$@"

REC=${TMPDIR:-/tmp}/ftscreen-replay-$$.json
trap 'rm -f "$REC"; cleanup' EXIT
"$FORKTOP" run pool-sleep --json -s main.workers=4 -s main.tasks=12 -s "main.task=sleep 500ms" >"$REC" ||
  fail "recording failed"
grep -q '"ev":"task_done"' "$REC" || fail "the recording holds no task"

start 120 40 replay "$REC"
wait_dashboard
wait_for 'REPLAY' 5 || fail "not marked as a replay"
wait_for 'main worker 3' 5 || fail "no worker rows"
# 12 tasks of 500 ms on 4 workers take about 1.5 s: at the recorded pace
# some are done before all are
screen | grep -q 'Tasks: 12/12' && fail "the recording was not played at its pace"
wait_for 'Tasks: 12/12 done' 10 || fail "the tasks did not all complete"
wait_for 'finished' 10 || fail "the replay did not finish"
wait_for 'exit 0  main worker' 5 || fail "no exit in the exit log"
tm send-keys -t "$SESSION" q
wait_for '^EXIT=0' 10 || fail "q did not quit the replay"
wait_for '^TTY=sane' 5 || fail "the terminal modes were not restored"
wait_for 'summary \(replayed\): 4 processes \(4 exited, 0 failed\), 12 tasks done' 5 ||
  fail "no summary after the replay"
echo "PASS: $TEST"
