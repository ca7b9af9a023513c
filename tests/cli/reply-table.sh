#!/bin/sh
# reply-table.sh - `spfgate --reply-table` against the seed text, plus the
# informational options. The expected table is derived here from the
# verbatim seed copy with awk, independently of the C table.
set -u
bin="${SPFGATE_BIN:-milter/spfgate}"
data="${SPFGATE_TEST_DATA:-tests/data}"
fail=0
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT

awk -F'|' '
  function flush() { if (name != "") print name "\t" ok "\t" no }
  /^\|/ {
    a = $2; gsub(/^[ \t]+|[ \t]+$/, "", a)
    if (NF <= 3) { flush(); name = a; ok = ""; no = ""; next }
    if (a ~ /^[0-9][0-9][0-9]$/) {
      if (a < 400) ok = ok (ok == "" ? "" : " ") a
      else no = no (no == "" ? "" : " ") a
    }
  }
  END { flush() }' "$data/smtp-reply-table.txt" >"$tmp/want"

if ! "$bin" --reply-table >"$tmp/got"; then
  echo "FAIL: spfgate --reply-table exited non-zero"; fail=1
elif ! diff -u "$tmp/want" "$tmp/got"; then
  echo "FAIL: --reply-table differs from the seed table"; fail=1
else
  echo "ok: --reply-table matches the seed ($(wc -l <"$tmp/want") rows)"
fi
[ "$(wc -l <"$tmp/want")" -eq 17 ] || { echo "FAIL: seed parse gave $(wc -l <"$tmp/want") rows, want 17"; fail=1; }

if "$bin" --version | grep -Eq '^spfgate [0-9]+\.[0-9]+'; then
  echo "ok: --version"
else
  echo "FAIL: --version"; fail=1
fi

"$bin" --no-such-option >"$tmp/out" 2>"$tmp/err"; rc=$?
if [ "$rc" -eq 2 ] && [ ! -s "$tmp/out" ] && grep -q '^usage:' "$tmp/err"; then
  echo "ok: unknown option gives usage on stderr and exit 2"
else
  echo "FAIL: unknown option: exit $rc"; fail=1
fi
exit $fail
