#!/bin/sh
# Worker PIDs appear in the tree under forktop's own PID: the root row is
# forktop itself (the pid tmux's shell started), every worker row shows it
# as PPID, sits below it, hangs from a tree branch, and really is its child.
. "$(dirname "$0")/lib.sh" "$@"

start 120 40 run pool-sleep -s main.tasks=20
wait_dashboard
wait_for '[0-9]+ +[0-9]+ [A-Z] .*main worker [0-9]+' 10 || fail "no worker row"
sleep 0.5 # a frame with every worker forked
s=$(screen)
root_line=$(printf "%s\n" "$s" | grep -n 'forktop (supervisor)' | head -1)
[ -n "$root_line" ] || fail "no root row"
root_y=${root_line%%:*}
root_pid=$(printf "%s\n" "${root_line#*:}" | awk '{ print $1 }')
[ "$root_pid" = "$FT_PID" ] || fail "root row shows pid $root_pid, forktop is $FT_PID"

workers=$(printf "%s\n" "$s" | grep -n 'main worker [0-9]')
n=$(printf "%s\n" "$workers" | grep -c .)
[ "$n" -ge 5 ] || fail "only $n worker rows on screen"
printf "%s\n" "$workers" | while IFS= read -r l; do
  y=${l%%:*}
  row=${l#*:}
  pid=$(printf "%s\n" "$row" | awk '{ print $1 }')
  ppid=$(printf "%s\n" "$row" | awk '{ print $2 }')
  [ "$ppid" = "$FT_PID" ] || fail "worker $pid shows PPID $ppid, not forktop's $FT_PID"
  [ "$y" -gt "$root_y" ] || fail "worker $pid is above the root row"
  printf "%s\n" "$row" | grep -Eq '(├─|└─|\|-|`-) main worker' || fail "worker $pid is not on a tree branch"
  real=$(real_ppid "$pid")
  if [ -n "$real" ] && [ "$real" != "$FT_PID" ]; then
    fail "worker $pid is really the child of $real"
  fi
done || exit 1
echo "PASS: $TEST ($n worker rows under forktop $FT_PID)"
