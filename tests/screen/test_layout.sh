#!/bin/sh
# Small terminals and the header: at 120x20 and at 80x24 the pools, the
# exit log and the process rows all show (panels shrink before they hide),
# with the meters (every CPU of /proc/stat, memory, load) at 80x24; the
# COMMAND column shows each process's argv as /proc/PID/cmdline has it.
. "$(dirname "$0")/lib.sh" "$@"

ncpu=$(grep -c '^cpu[0-9]' /proc/stat)
for size in "120 20" "80 24"; do
  set -- $size
  FT_PID=
  start "$1" "$2" run pool-sleep -s main.workers=3 -s main.tasks=12 -s "main.task=sleep 200ms..400ms"
  wait_dashboard
  wait_for 'Exits \([1-9]' 10 || fail "no exit log with exits at $1x$2"
  s=$(screen)
  for want in 'Pools \(1\)' 'Exits \(' 'Output of' 'main worker [0-9]' 'q Quit'; do
    printf "%s\n" "$s" | grep -Eq "$want" || fail "no '$want' at $1x$2"
  done
  printf "%s\n" "$s" | grep -Eq '\[(processes|pools|exits|output)  Tab\]' && fail "one panel at a time at $1x$2"
  if [ "$1" = 80 ]; then
    for want in '^ *Mem ' 'Swp ' 'Load( average)?: [0-9.]+ [0-9.]+ [0-9.]+'; do
      printf "%s\n" "$s" | grep -Eq "$want" || fail "no meter '$want' at 80x24"
    done
    if [ "$ncpu" -le 8 ]; then
      n=$(printf "%s\n" "$s" | grep -Eo '(^| )[0-9]+ ▕' | wc -l)
      [ "$n" = "$ncpu" ] || fail "$n CPU meters for $ncpu CPUs"
    fi
  fi
  tm send-keys -t "$SESSION" q s
  wait_for '^EXIT=' 15 || fail "did not quit at $1x$2"
done

# COMMAND: the argv of each process, as the kernel has it
FT_PID=
start 160 30 -- sh -c 'sleep 31 & sleep 32 & wait'
# the sleeps' own rows (the shell's COMMAND holds "sleep 32" too, mid-line)
wait_for ' sleep 31$' 10 || fail "no COMMAND 'sleep 31'"
wait_for ' sleep 32$' 10 || fail "no COMMAND 'sleep 32'"
s=$(screen)
for arg in 31 32; do
  pid=$(printf "%s\n" "$s" | grep " sleep $arg\$" | awk '{ print $1 }')
  [ -n "$pid" ] || fail "no row with the command line sleep $arg"
  truth=$(tr '\0' ' ' <"/proc/$pid/cmdline")
  [ "$truth" = "sleep $arg " ] || fail "row $pid shows 'sleep $arg', /proc has '$truth'"
done
printf "%s\n" "$s" | grep -q "sh -c sleep 31 & sleep 32 & wait" || fail "no COMMAND for the shell"
tm send-keys -t "$SESSION" q s
wait_for '^EXIT=' 15 || fail "did not quit the command"
echo "PASS: $TEST"
