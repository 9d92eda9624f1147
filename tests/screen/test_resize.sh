#!/bin/sh
# A resize to 60x20 keeps it alive and drawing, every panel shrunk; at
# 40x20 one panel at a time (Tab moves on); back to 120x40 every panel.
. "$(dirname "$0")/lib.sh" "$@"

start 120 40 run pool-sleep -s main.tasks=60
wait_dashboard
wait_for 'Exits \(' 5 || fail "no exit log panel at 120x40"
tm resize-window -t "$SESSION" -x 60 -y 20
sleep 1
alive || fail "forktop died on the resize"
wait_for '^ forktop .*(running|finished)' 5 || fail "no title line at 60x20"
s=$(screen)
[ "$(printf "%s\n" "$s" | wc -l)" -le 20 ] || fail "more than 20 lines"
printf "%s\n" "$s" | tail -1 | grep -q 'q Quit' || fail "the key bar lost q Quit at 60x20"
printf "%s\n" "$s" | grep -q 'Exits (' || fail "the exit log should shrink, not hide, at 60x20"
printf "%s\n" "$s" | grep -q 'Pools (' || fail "the pools should shrink, not hide, at 60x20"
printf "%s\n" "$s" | grep -Eq '^ *[0-9]+ [A-Z] ' || fail "no process rows at 60x20"
tm resize-window -t "$SESSION" -x 40 -y 20
sleep 0.5
s=$(screen)
printf "%s\n" "$s" | grep -q 'Exits (' && fail "the exit log should not fit at 40x20"
printf "%s\n" "$s" | grep -Eq '^ *[0-9]+ [A-Z] ' || fail "no process rows at 40x20"
# Tab shows the other panels one at a time
tm send-keys -t "$SESSION" Tab
wait_for 'Pools \(1\)' 5 || fail "Tab did not show the pools at 60x20"
tm send-keys -t "$SESSION" BTab
tm resize-window -t "$SESSION" -x 30 -y 8
sleep 0.5
alive || fail "forktop died at 30x8"
tm resize-window -t "$SESSION" -x 120 -y 40
sleep 1
alive || fail "forktop died growing back"
wait_for 'Exits \(' 5 || fail "the full layout did not come back at 120x40"
echo "PASS: $TEST"
