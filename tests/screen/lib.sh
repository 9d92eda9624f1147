# lib.sh - shared by the screen tests: forktop runs in a pane of a private
# tmux server (its own socket, no user configuration), the test reads the
# screen with capture-pane, and every wait has a deadline.  On the way out
# the server is killed and any forktop (and any child of it) still alive is
# killed too, so a test never hangs and never leaves a process behind.
#
# Usage in a test:  . "$(dirname "$0")/lib.sh" "$@"
# Exit codes: 0 pass, 1 fail, 77 skip (no tmux).

FORKTOP=${1:?usage: $0 FORKTOP_BINARY}
case $FORKTOP in /*) ;; *) FORKTOP=$(pwd)/$FORKTOP ;; esac
if ! command -v tmux >/dev/null 2>&1; then
  echo "SKIP: tmux is not installed"
  exit 77
fi
if [ ! -x "$FORKTOP" ]; then
  echo "FAIL: $FORKTOP is not an executable"
  exit 1
fi

TEST=$(basename "$0" .sh)
SOCK=ftscreen-$$
NSTART=0
SESSION=ft
FT_PID=
PANE_PID=
SEEN_PIDS=
export LANG=${FT_SCREEN_LANG:-C.UTF-8}
unset LC_ALL LC_CTYPE NO_COLOR
# a configuration of our own: the user's is not read, and a child's OSC 52
# (write the clipboard) would land in a paste buffer where a test can see it
# forktop's settings (forktoprc) in a directory of the test's own: the
# user's never change what a test sees, and a test never changes them
FT_CONFIG_DIR=${TMPDIR:-/tmp}/ftscreen-$$-config
XDG_CONFIG_HOME=$FT_CONFIG_DIR
export XDG_CONFIG_HOME
mkdir -p "$FT_CONFIG_DIR"
CONF=${TMPDIR:-/tmp}/ftscreen-$$.conf
echo 'set -g set-clipboard on' >"$CONF"
tm() { tmux -L "$SOCK" -f "$CONF" "$@"; }
# In a sanitizer build, a report would only scribble on the pane: send
# reports to files instead, and fail the test when there is one.
SANLOG=${TMPDIR:-/tmp}/ftscreen-$$-san
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$SANLOG"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}print_stacktrace=1:log_path=$SANLOG"

# Every process below $1, deepest last.
descendants() {
  for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do
    echo "$c"
    descendants "$c"
  done
}

cleanup() {
  set +e
  rm -f "$CONF"
  sanitizer_check
  pids=
  [ -n "$FT_PID" ] && pids="$FT_PID $(descendants "$FT_PID")"
  tm kill-server 2>/dev/null
  # forktop got SIGHUP with its pane and stops its workers; give it a moment
  i=0
  while [ -n "$FT_PID" ] && kill -0 "$FT_PID" 2>/dev/null && [ $i -lt 50 ]; do
    sleep 0.1
    i=$((i + 1))
  done
  # tmux leaves its socket files behind
  rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/ftscreen-$$-"*
  for p in $pids $SEEN_PIDS; do
    if kill -0 "$p" 2>/dev/null && [ "$(ps -o comm= -p "$p")" = forktop ]; then
      echo "$TEST: killing leftover forktop process $p"
      kill -KILL "$p" 2>/dev/null
    fi
  done
  # last: a forktop on its way out saves its settings there
  rm -rf "$FT_CONFIG_DIR"
  sanitizer_check
}

# A sanitizer report from any process of the test fails it.
sanitizer_check() {
  for f in "$SANLOG".*; do
    [ -e "$f" ] || continue
    echo "FAIL: $TEST: a sanitizer report ($f):"
    cat "$f"
    rm -f "$f"
    SAN_FAILED=1
  done
  [ -z "${SAN_FAILED:-}" ] || exit 1
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

fail() {
  echo "FAIL: $TEST: $*"
  echo "---- screen ----"
  screen
  echo "----------------"
  exit 1
}

# The screen as text.
screen() { tm capture-pane -p -t "$SESSION" 2>/dev/null; }

# start W H ARGS...: run forktop ARGS in a W x H pane; after it exits the
# pane's shell prints EXIT=status and TTY=sane|raw (the terminal's modes),
# then waits, so the restored screen can be read.
start() {
  w=$1 h=$2
  shift 2
  cmd="$FORKTOP"
  for a in "$@"; do cmd="$cmd '$a'"; done
  # a fresh server for every start: one just killed may still be going away
  tm kill-server 2>/dev/null
  NSTART=$((NSTART + 1))
  SOCK=ftscreen-$$-$NSTART
  tm new-session -d -s "$SESSION" -x "$w" -y "$h" \
    "$cmd; echo EXIT=\$?; case \"\$(stty -a)\" in *-icanon*|*' -echo '*) echo TTY=raw;; *) echo TTY=sane;; esac; sleep 600" ||
    fail "tmux new-session failed"
  PANE_PID=$(tm display -p -t "$SESSION" '#{pane_pid}')
  deadline=$(($(date +%s) + 10))
  while [ -z "$FT_PID" ] && [ "$(date +%s)" -lt "$deadline" ]; do
    FT_PID=$(ps -o pid= -o comm= --ppid "$PANE_PID" | awk '$2 == "forktop" { print $1; exit }')
    [ -n "$FT_PID" ] || sleep 0.05
  done
  [ -n "$FT_PID" ] || fail "forktop did not start"
  SEEN_PIDS="$SEEN_PIDS $FT_PID"
}

# wait_for ERE SECONDS: poll the screen until a line matches.
wait_for() {
  deadline=$(($(date +%s) + $2))
  while [ "$(date +%s)" -lt "$deadline" ]; do
    if screen | grep -Eq -- "$1"; then
      return 0
    fi
    sleep 0.1
  done
  return 1
}

# The dashboard is up.
wait_dashboard() {
  wait_for 'forktop \(supervisor\)|q Quit' 15 || fail "the dashboard did not appear"
}

alive() { kill -0 "$FT_PID" 2>/dev/null; }

# The parent of a live process, from /proc.
real_ppid() { awk '{ sub(/.*\) /, ""); print $2 }' "/proc/$1/stat" 2>/dev/null; }
