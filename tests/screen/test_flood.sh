#!/bin/sh
# A flood of hostile output in the dashboard: 300 MB of escape bytes on one
# line, then 300,000 lines of colour codes and OSC 52 clipboard writes.  The
# screen stays forktop's, nothing reaches the clipboard, and forktop's
# memory stays bounded while it drains it all.
. "$(dirname "$0")/lib.sh" "$@"

start 120 40 -- sh -c 'head -c 300000000 /dev/zero | tr "\000" "\033"; echo;
  yes "$(printf "\033[31mred\033]52;c;SGVsbG8=\007\033[2J")" | head -n 300000; echo done'
wait_dashboard
peak=0
deadline=$(($(date +%s) + 120))
while alive && [ "$(date +%s)" -lt "$deadline" ]; do
  rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$FT_PID/status" 2>/dev/null)
  [ -n "$rss" ] && [ "$rss" -gt "$peak" ] && peak=$rss
  screen | grep -q 'finished, exit status 0' && break
  sleep 0.2
done
wait_for 'finished, exit status 0' 5 || fail "the flood did not finish within two minutes"
[ "$peak" -lt 131072 ] || fail "forktop's RSS reached $peak kB"
wait_for '^ forktop .*finished' 2 || fail "the title line was overwritten"
tm send-keys -t "$SESSION" Tab Tab Tab Tab
wait_for 'done' 5 || fail "the last line of output is not shown"
wait_for '\\x1b\[31mred\\x1b\]52;c;SGVsbG8=\\x07' 5 || fail "the escapes are not shown inert"
[ -z "$(tm list-buffers 2>/dev/null)" ] || fail "a child wrote the clipboard (OSC 52)"
tm send-keys -t "$SESSION" q
wait_for '^EXIT=0' 10 || fail "q did not quit"
echo "PASS: $TEST (peak RSS $peak kB)"
