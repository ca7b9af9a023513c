#!/bin/sh
# config-check.sh - `spfgate -n`: the sample configuration passes, a bad
# one is refused with FILE:LINE: reason for every problem, exit 1.
set -u
bin="${SPFGATE_BIN:-milter/spfgate}"
src="${SPFGATE_TEST_SOURCE:-.}"
fail=0
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT

if "$bin" -n -c "$src/conf/spfgate.conf" >"$tmp/out" 2>&1; then
  echo "ok: the sample configuration passes -n"
else
  echo "FAIL: the sample configuration: $(cat "$tmp/out")"; fail=1
fi

cat >"$tmp/bad.conf" <<'CONF'
# a bad configuration
socket = unix:/run/x.sock
on_fail = bounce
tempfail_code = 450
no_such_key = 1
CONF
"$bin" -n -c "$tmp/bad.conf" >"$tmp/out" 2>"$tmp/err"; rc=$?
if [ "$rc" -eq 1 ]; then echo "ok: a bad configuration exits 1"; else echo "FAIL: bad configuration exit $rc"; fail=1; fi
for want in "bad.conf:3:" "bad.conf:4:" "bad.conf:5:"; do
  if grep -q "$want" "$tmp/err"; then echo "ok: error names $want"; else echo "FAIL: no error for $want: $(cat "$tmp/err")"; fail=1; fi
done
if grep -q "bad.conf:4:.*MAIL.*451" "$tmp/err"; then
  echo "ok: the refused code names the stage and the codes allowed"
else
  echo "FAIL: tempfail_code message: $(grep 'bad.conf:4' "$tmp/err")"; fail=1
fi

"$bin" -n -c "$tmp/missing.conf" >/dev/null 2>"$tmp/err"; rc=$?
if [ "$rc" -eq 1 ] && grep -q "missing.conf" "$tmp/err"; then
  echo "ok: a missing file is refused with its name"
else
  echo "FAIL: missing file: exit $rc"; fail=1
fi
exit $fail
