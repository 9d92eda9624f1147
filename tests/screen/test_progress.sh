#!/bin/sh
# Progress advances: the header's task count and the pool's bar count go
# up while the pool works, and reach the total.
. "$(dirname "$0")/lib.sh" "$@"

start 120 40 run pool-sleep -s main.tasks=60
wait_dashboard
seen=
deadline=$(($(date +%s) + 40))
last=-1
while [ "$(date +%s)" -lt "$deadline" ]; do
  s=$(screen)
  done_n=$(printf "%s\n" "$s" | sed -n 's/.*Tasks: \([0-9]*\)\/60 done.*/\1/p' | head -1)
  pool_n=$(printf "%s\n" "$s" | sed -n 's/.* main .* \([0-9]*\)\/60 .*/\1/p' | head -1)
  if [ -n "$done_n" ]; then
    [ "$done_n" -ge "$last" ] || fail "tasks done went back from $last to $done_n"
    [ "$done_n" != "$last" ] && seen="$seen $done_n"
    last=$done_n
  fi
  [ "$last" = 60 ] && break
  sleep 0.1
done
[ "$last" = 60 ] || fail "tasks never all done (seen:$seen)"
count=$(echo "$seen" | wc -w)
[ "$count" -ge 3 ] || fail "progress did not advance in steps (seen:$seen)"
[ "$pool_n" = 60 ] || wait_for ' main .* 60/60 ' 5 || fail "the pool's bar does not say 60/60"
wait_for 'finished, exit status 0' 15 || fail "the header does not say finished"
echo "PASS: $TEST (tasks done seen:$seen)"
