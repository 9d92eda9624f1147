#!/bin/sh
# forktop -- CMD shows CMD's whole tree under forktop's pid, the way it is
# watched, exit codes, and a grandchild handed to forktop as an orphan;
# forktop -p PID shows a running tree and q leaves it running.
. "$(dirname "$0")/lib.sh" "$@"

start 120 40 -- sh -c 'sleep 1 & sleep 1 & (sleep 4; exit 5) & (sleep 30 &); sleep 2; exit 3'
wait_dashboard
wait_for 'connector: every process seen|scanning /proc' 5 || fail "the header does not say how the tree is watched"
wait_for "^ *[0-9]+ +$FT_PID [RS] .*└─ sh|^ *[0-9]+ +$FT_PID [RS] .*├─ sh" 5 || fail "sh is not shown under forktop"
wait_for 'sleep' 5 || fail "no sleep in the tree"
wait_for 'exit 3' 10 || fail "sh's exit code 3 does not appear"
wait_for 'finished, exit status 3' 5 || fail "not finished with sh's status"
wait_for '\[orphan\]' 5 || fail "the reparented grandchild is not marked as an orphan"
wait_for 'exit 5' 10 || fail "the orphan's exit code 5 does not appear"
tm send-keys -t "$SESSION" q
wait_for '^EXIT=3' 10 || fail "q did not quit with the command's status"
wait_for '^TTY=sane' 5 || fail "the terminal modes were not restored"
wait_for 'summary: [0-9]+ processes seen' 5 || fail "no summary after the dashboard"
tm kill-server
FT_PID=

# a running tree, read-only
sh -c 'sleep 60 & sleep 60 & wait' &
TREE=$!
trap 'kill $(ps -o pid= --ppid $TREE) $TREE 2>/dev/null; cleanup' EXIT
sleep 0.3
start 120 40 -p "$TREE"
wait_dashboard
wait_for "^ *$TREE " 5 || wait_for "sleep" 5 || fail "the watched tree does not appear"
wait_for 'sleep' 5 || fail "its children do not appear"
tm send-keys -t "$SESSION" q
wait_for '^EXIT=0' 10 || fail "q did not quit at once"
kill -0 "$TREE" 2>/dev/null || fail "the watched tree was stopped"
[ "$(ps -o pid= --ppid "$TREE" | wc -l)" -eq 2 ] || fail "the watched tree lost children"
echo "PASS: $TEST"
