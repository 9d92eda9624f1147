#!/bin/sh
# htop's keys on a live pool, checked against /proc: F3 and / search for
# the text on screen, F3 goes on, Shift-F3 back; End, PgUp, PgDn; F4 and \ filter; F5 flat and back;
# F6 sorts (again: reversed); Space tags; k (and F9) open the signal menu
# where the arrows move and Enter kills the process the search found
# (gone from /proc); a mouse click selects a row, the wheel scrolls; p
# drops the program's path from COMMAND; F1 helps; F10 quits.
. "$(dirname "$0")/lib.sh" "$@"

# the row of the screen (0-based) holding ERE, and its first field
row_of() { screen | grep -nE -- "$1" | head -1 | cut -d: -f1 | awk '{ print $1 - 1 }'; }
pid_of() { screen | grep -E -- "$1" | head -1 | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+$/) { print $i; exit } }'; }
keys() { tm send-keys -t "$SESSION" "$@"; }

start 200 40 run pool-sleep -s main.workers=6 -s main.tasks=400 -s "main.task=sleep 2s..3s"
wait_dashboard
wait_for 'main worker 5 ' 10 || fail "no workers"
w3=$(pid_of 'main worker 3 ')
[ -n "$w3" ] && kill -0 "$w3" || fail "worker 3 ($w3) is not a live process"

# F3: incremental search for what the row shows; the signal menu names the row found
keys F3
wait_for 'Search: _' 5 || fail "F3 did not open the search"
keys -l 'worker 3'
wait_for 'Search: worker 3_' 5 || fail "the search text is not shown"
keys Enter F9
wait_for "send to $w3 " 5 || fail "F3 'worker 3' did not select worker 3 ($w3)"
keys Escape
# / searches too, and F3 goes to the next match
keys Home /
keys -l 'main worker'
keys F3
sleep 0.3
keys Enter k
wait_for "send to $(pid_of 'main worker 1 ') " 5 || fail "F3 did not go on to the next match"
keys Escape
# F3 goes on from worker 1 to worker 2, Shift-F3 back to worker 1
keys F3
sleep 0.2
keys S-F3
sleep 0.3
keys Enter k
wait_for "send to $(pid_of 'main worker 1 ') " 5 || fail "Shift-F3 did not go back to worker 1"
keys Escape
# End, PgUp, PgDn: the last row, the first (forktop itself), the last again
keys End k
wait_for "send to $(pid_of 'main worker 5 ') " 5 || fail "End did not select the last row"
keys Escape PgUp k
wait_for 'that is forktop itself' 5 || fail "PgUp did not go to the first row"
keys PgDn k
wait_for "send to $(pid_of 'main worker 5 ') " 5 || fail "PgDn did not go to the last row"
keys Escape

# F4 filters on the text on screen; \ too; Esc clears
keys F4
keys -l 'worker 3'
wait_for 'Filter: worker 3_' 5 || fail "F4 did not open the filter"
sleep 0.3
n=$(screen | grep -c 'main worker')
[ "$n" = 1 ] || fail "the filter 'worker 3' left $n worker rows"
keys Enter Escape
wait_for 'main worker 5 ' 5 || fail "Esc did not clear the filter"
keys '\'
wait_for 'Filter: _' 5 || fail "\\ did not open the filter"
keys Escape

# F5: a flat list (no tree branches), F5 again: the tree
keys F5
sleep 0.4
screen | grep -q '├─ main worker' && fail "F5 did not make a flat list"
keys F5
wait_for '├─ main worker' 5 || fail "F5 did not bring the tree back"

# F6: the sort menu; PID again reverses: worker 5 above worker 0
keys F6
wait_for 'sort by' 5 || fail "F6 did not open the sort menu"
keys Enter
wait_for 'PID\^' 5 || fail "the PID column is not marked reversed"
[ "$(row_of 'main worker 5 ')" -lt "$(row_of 'main worker 0 ')" ] || fail "the reversed sort did not reverse"
keys I
wait_for 'PID\*' 5 || fail "I did not reverse the sort back"

# Space tags the row and moves on; the tag shows as * before the PID
keys Home Down Space
wait_for '^\* +[0-9]+ .*main worker 0 ' 5 || fail "Space did not tag worker 0"
keys U
sleep 0.3
screen | grep -qE '^\* +[0-9]+ ' && fail "U did not untag"

# the mouse: a click on worker 4's row selects it; k opens the menu for it
w4=$(pid_of 'main worker 4 ')
y=$(row_of 'main worker 4 ')
tm send-keys -H -t "$SESSION" 1b 5b 4d 20 2b "$(printf %x $((33 + y)))"
tm send-keys -H -t "$SESSION" 1b 5b 4d 23 2b "$(printf %x $((33 + y)))"
keys k
wait_for "send to $w4 " 5 || fail "a click did not select worker 4 ($w4)"
# in the menu the arrows move: Down Down Up = SIGKILL; Enter sends it
keys Down Down Up
sleep 0.2
keys Enter
i=0
while kill -0 "$w4" 2>/dev/null && [ "$(ps -o comm= -p "$w4")" = forktop ] && [ $i -lt 50 ]; do
  sleep 0.1
  i=$((i + 1))
done
[ $i -lt 50 ] || fail "worker 4 ($w4) is still alive after SIGKILL"
wait_for "sent SIGKILL to $w4" 5 || fail "no word that SIGKILL was sent"
# the wheel scrolls down (the selection moves) and back up
keys Home
sleep 0.3
r=$(row_of 'forktop \(supervisor\)')
third=$(screen | sed -n "$((r + 4))p" | awk '{ print $1 }')
tm send-keys -H -t "$SESSION" 1b 5b 4d 61 2b 28
keys k
wait_for "send to $third " 5 || fail "the wheel did not move the selection 3 rows (to $third)"
keys Escape

# p: COMMAND without the program's path, p again with it
wait_for "$FORKTOP run" 5 || fail "COMMAND does not show the full command line"
keys p
wait_for '  forktop run pool-sleep' 5 || fail "p did not drop the program's path"
keys p
wait_for "$FORKTOP run" 5 || fail "p did not bring the path back"

# F1 help, any key closes; F10 asks, s stops
keys F1
wait_for 'forktop help' 5 || fail "F1 did not show the help"
keys x
keys F10
wait_for 'still running' 5 || fail "F10 did not ask"
keys s
wait_for '^EXIT=' 15 || fail "F10 s did not quit"
echo "PASS: $TEST"
