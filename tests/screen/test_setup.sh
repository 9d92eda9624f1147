#!/bin/sh
# F2: the setup screen shows a column (USER) and moves it; leaving it saves
# ~/.config/forktop/forktoprc (HOME is the test's), and a restart shows the
# same columns and the flat list chosen with F5.  --readonly: k and F9 send
# nothing (the worker lives on) and the key bar has no Kill.
. "$(dirname "$0")/lib.sh" "$@"

HOME=${TMPDIR:-/tmp}/ftscreen-$$-home
export HOME
unset XDG_CONFIG_HOME
mkdir -p "$HOME"
trap 'cleanup; rm -rf "$HOME"' EXIT
RC=$HOME/.config/forktop/forktoprc
keys() { tm send-keys -t "$SESSION" "$@"; }

start 120 40 run pool-sleep -s main.workers=3 -s main.tasks=100 -s "main.task=sleep 1s..2s"
wait_dashboard
wait_for 'main worker 2 ' 10 || fail "no workers"
screen | grep -q ' USER ' && fail "USER is shown before it was chosen"
keys F2
wait_for '\[ \] USER' 5 || fail "F2 did not show the setup screen"
# the items: the 9 columns shown, then USER first of those hidden
for i in 1 2 3 4 5 6 7 8 9; do keys Down; done
keys Space
wait_for '\[x\] USER' 5 || fail "Space did not choose USER"
keys F7 # one place left: before COMMAND
wait_for 'PROCESS .* USER +COMMAND' 5 || fail "USER is not shown before COMMAND"
keys Escape
i=0
while screen | grep -q 'setup: columns' && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
screen | grep -q 'setup: columns' && fail "Esc did not close the setup screen"
wait_for ' root ' 5 || fail "no user name in the rows"
[ -f "$RC" ] || fail "leaving the setup screen did not save $RC"
grep -q '^columns=PID PPID S CPU% RSS AGE PROCESS TASK USER COMMAND$' "$RC" ||
  fail "forktoprc has the wrong columns: $(cat "$RC")"
keys F5
sleep 0.3
keys q
wait_for 'still running' 5 || fail "q did not ask"
keys s
wait_for '^EXIT=' 15 || fail "did not quit"
grep -q '^tree=0$' "$RC" || fail "the flat list was not saved on the way out: $(cat "$RC")"

# a restart: the same columns, the flat list
FT_PID=
start 120 40 run pool-sleep -s main.workers=3 -s main.tasks=100 -s "main.task=sleep 1s..2s"
wait_dashboard
wait_for 'main worker 2 ' 10 || fail "no workers after the restart"
wait_for 'PROCESS .* USER +COMMAND' 5 || fail "the columns did not survive the restart"
screen | grep -q '├─ main worker' && fail "the flat list did not survive the restart"
keys q s
wait_for '^EXIT=' 15 || fail "did not quit after the restart"

# --readonly
FT_PID=
start 120 40 --readonly run pool-sleep -s main.workers=3 -s main.tasks=100 -s "main.task=sleep 1s..2s"
wait_dashboard
wait_for 'main worker 2 ' 10 || fail "no workers with --readonly"
screen | grep -q 'F9 Kill' && fail "the key bar offers Kill with --readonly"
screen | head -1 | grep -q 'READ-ONLY' || fail "the header does not say READ-ONLY"
w=$(screen | grep 'main worker 2 ' | awk '{ print $1 }')
keys Down Down Down k
wait_for 'readonly: no signals are sent' 5 || fail "k did not say --readonly"
keys F9 Enter Enter
sleep 0.5
screen | grep -q 'send to' && fail "a signal menu opened with --readonly"
kill -0 "$w" 2>/dev/null || fail "worker 2 ($w) died with --readonly"
keys q s
wait_for '^EXIT=' 15 || fail "did not quit with --readonly"
# and chaos, which kills workers, is refused with it
for chaos in "--chaos kill-worker=1" "-s main.chaos=1"; do
  # shellcheck disable=SC2086
  err=$("$FORKTOP" --readonly $chaos --headless run pool-sleep 2>&1 >/dev/null)
  [ $? = 2 ] || fail "--readonly $chaos was not a usage error"
  case $err in *"--readonly sends no signal"*) ;; *) fail "--readonly $chaos said: $err" ;; esac
done
echo "PASS: $TEST"
