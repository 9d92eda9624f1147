#!/bin/sh
# After an exec the process is the new program: its row shows it under
# the program's name, as ps names it, not under the name it had before
# ("sh $ sleep"): a watched command that execs, and a [process] step's
# exec'd child.
. "$(dirname "$0")/lib.sh" "$@"

# sleep_row NAME_BEFORE: the row of forktop's descendant named sleep (its
# pid from /proc, outside forktop) is named sleep, not NAME_BEFORE.
sleep_row() {
  deadline=$(($(date +%s) + 10))
  SLEEP=
  while [ -z "$SLEEP" ] && [ "$(date +%s)" -lt "$deadline" ]; do
    for c in $(descendants "$FT_PID"); do
      [ "$(cat /proc/$c/comm 2>/dev/null)" = sleep ] && SLEEP=$c
    done
    [ -n "$SLEEP" ] || sleep 0.05
  done
  [ -n "$SLEEP" ] || fail "no sleep was started"
  wait_for "^ *$SLEEP .*(─|-) sleep( |$)" 5 || fail "the sleep ($SLEEP) has no row named sleep: $(screen | grep -E "^ *$SLEEP ")"
  row=$(screen | grep -E "^ *$SLEEP ")
  printf "%s\n" "$row" | grep -q "$1" && fail "the sleep's row carries the name $1: $row"
  return 0
}

start 120 40 -- sh -c 'exec sleep 100'
wait_dashboard
sleep_row "sh \\$"
tm send-keys -t "$SESSION" q
wait_for "stop it and quit" 5 && tm send-keys -t "$SESSION" s
wait_for '^EXIT=' 10 || fail "q did not quit"
tm kill-server
FT_PID=

WL=$FT_CONFIG_DIR/exec_name.ini
printf '[workload]\nname = execname\n\n[process victim_b]\nrun = exec sleep 100\n' >"$WL"
start 120 40 run "$WL"
wait_dashboard
sleep_row victim_b
tm send-keys -t "$SESSION" q
wait_for "stop it and quit" 5 || fail "no quit question"
tm send-keys -t "$SESSION" s
wait_for '^EXIT=' 10 || fail "q did not quit"
echo "PASS: $TEST"
