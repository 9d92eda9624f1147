#!/bin/sh
# forktop map with its items piped in still opens the dashboard (its keys
# come from the terminal, not from the spent stdin): the commands' tree,
# the pool's progress, the finished state with the exit status, and q.
. "$(dirname "$0")/lib.sh" "$@"

ITEMS=${TMPDIR:-/tmp}/ftscreen-$$-items
seq 6 >"$ITEMS"
trap 'rm -f "$ITEMS"; cleanup' EXIT
# start(), with stdin from a pipe (lib.sh's start quotes every argument)
SOCK=ftscreen-$$-map
tm new-session -d -s "$SESSION" -x 120 -y 30 \
  "cat '$ITEMS' | '$FORKTOP' map -j 2 -- sh -c 'sleep 0.3; exit \$(( {} % 2 ))'; echo EXIT=\$?; sleep 600" ||
  fail "tmux new-session failed"
PANE_PID=$(tm display -p -t "$SESSION" '#{pane_pid}')
deadline=$(($(date +%s) + 10))
while [ -z "$FT_PID" ] && [ "$(date +%s)" -lt "$deadline" ]; do
  FT_PID=$(ps -o pid= -o comm= --ppid "$PANE_PID" | awk '$2 == "forktop" { print $1; exit }')
  [ -n "$FT_PID" ] || sleep 0.05
done
[ -n "$FT_PID" ] || fail "forktop did not start"
SEEN_PIDS="$SEEN_PIDS $FT_PID"

wait_dashboard
wait_for 'map worker 1' 10 || fail "no pool workers in the tree"
wait_for 'finished, exit status 1' 20 || fail "the run did not finish with status 1 (3 of 6 fail)"
screen | grep -Eq 'map .*6/6 3 failed' || fail "the pool does not show 6/6 with 3 failed"
tm send-keys -t "$SESSION" q
wait_for '^EXIT=1' 10 || fail "q did not quit with the run's status"
FT_PID=
echo "PASS: $TEST"
