#!/bin/sh
# Run every screen test against FORKTOP_BINARY: tests/screen/run_all.sh build/forktop
# Exit status 0 when none failed (skips are not failures), 1 otherwise.
dir=$(dirname "$0")
bin=${1:?usage: $0 FORKTOP_BINARY}
pass=0 failn=0 skip=0
for t in "$dir"/test_*.sh; do
  name=$(basename "$t" .sh)
  if command -v timeout >/dev/null 2>&1; then
    timeout 180 sh "$t" "$bin"
  else
    sh "$t" "$bin"
  fi
  rc=$?
  case $rc in
  0) pass=$((pass + 1)) ;;
  77) skip=$((skip + 1)) ;;
  *) failn=$((failn + 1)); echo "$name: failed ($rc)" ;;
  esac
done
echo "screen tests: $pass passed, $failn failed, $skip skipped"
[ "$failn" = 0 ]
