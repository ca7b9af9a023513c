#!/bin/sh
# run.sh - the real-MTA integration tests: smoke.sh (the harness itself)
# then spfgate.sh (the spfgate daemon behind Postfix and Sendmail), with
# combined totals.
#
#   SPFGATE_BUILD=<build dir> sh tests/integration/run.sh
#
# Prints each script's output, then "N passed, N failed[, N skipped]" over
# both. Exit 0 when nothing failed, 1 when something did, 77 when not root
# (both scripts need it).
set -u
here=$(cd "$(dirname "$0")" && pwd)
if [ "$(id -u)" -ne 0 ]; then
  echo "integration tests need root (private MTA instances, package installs)" >&2
  exit 77
fi
passed=0; failed=0; skipped=0
for t in smoke spfgate; do
  echo "== $t.sh"
  out=$(mktemp "${TMPDIR:-/tmp}/spfgate-it-run.XXXXXX") || exit 1
  sh "$here/$t.sh" 2>&1 | tee "$out"
  # The script's status is not that of the pipe: read the totals line.
  last=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -1)
  rm -f "$out"
  if [ -z "$last" ]; then
    echo "FAIL: $t.sh ended without its totals"
    failed=$((failed + 1))
    continue
  fi
  p=$(echo "$last" | sed 's/^\([0-9]*\) passed.*/\1/')
  f=$(echo "$last" | sed 's/.* \([0-9]*\) failed.*/\1/')
  s=$(echo "$last" | sed -n 's/.* \([0-9]*\) skipped.*/\1/p')
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + ${s:-0}))
done
if [ "$skipped" -gt 0 ]; then
  echo "$passed passed, $failed failed, $skipped skipped"
else
  echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
