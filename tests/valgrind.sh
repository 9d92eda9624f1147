#!/usr/bin/env bash
# Run the engine's cmocka tests under valgrind memcheck: each must pass and
# its own process must report zero errors and no definitely lost memory.
# (Forked children are silent: a child leaves with _exit, holding what it
# inherited, which is not a leak.)  usage: tests/valgrind.sh BUILD_DIR TEST...
set -u
build=$1
shift
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
status=0
for t in "$@"; do
  valgrind -q --log-file="$logs/vg.%p" --leak-check=full --errors-for-leak-kinds=definite \
    --child-silent-after-fork=yes "$build/tests/$t" > "$logs/$t.out" 2>&1 &
  pid=$!
  wait $pid
  rc=$?
  log="$logs/vg.$pid"
  # valgrind 3.19 does not know pidfd_open and epoll_pwait2 (the engine falls back)
  errors=$(grep -v -e 'unhandled amd64-linux syscall' -e 'You may be able to write' \
    -e 'README_MISSING_SYSCALL' -e 'Nevertheless we consider' -e 'it at http' "$log" 2>/dev/null | grep -c '^==')
  if [ "$rc" -ne 0 ] || [ "$errors" -ne 0 ]; then
    echo "valgrind: $t: exit $rc, $errors lines of errors"
    grep -v 'unhandled amd64' "$log" | head -40
    tail -20 "$logs/$t.out"
    status=1
  else
    echo "valgrind: $t: clean"
  fi
done
exit $status
