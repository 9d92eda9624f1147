#!/bin/sh
# --ascii with NO_COLOR: the tree and bars in ASCII, nothing but ASCII on
# the screen; hostile output from a child stays inert text.
. "$(dirname "$0")/lib.sh" "$@"

export NO_COLOR=1
# a child that tries to retitle the terminal, clear it and write the clipboard
start 120 40 --ascii run pool-sleep -s main.tasks=10 \
  -s 'main.task=sleep 100ms..1s; shell printf "\033]2\073pwned\007\033[2J\033]52\073c\073SGVsbG8=\007 x\n"'

wait_dashboard
wait_for '(\||`)- main worker [0-9]+' 10 || fail "no ASCII tree branch"
wait_for 'finished' 20 || fail "did not finish"
s=$(screen)
if printf "%s\n" "$s" | LC_ALL=C grep -q '[^ -~]'; then
  fail "non-ASCII characters on an --ascii screen"
fi
wait_for '\\x1b\]2;pwned\\x07' 5 || fail "the child's escape sequence is not shown as text"
title=$(tm display -p -t "$SESSION" '#{pane_title}')
[ "$title" = pwned ] && fail "a child retitled the terminal"
[ -z "$(tm list-buffers 2>/dev/null)" ] || fail "a child wrote the clipboard (OSC 52)"
tm send-keys -t "$SESSION" q
wait_for '^EXIT=0' 10 || fail "q did not quit"
echo "PASS: $TEST"
