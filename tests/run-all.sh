#!/bin/sh
# run-all.sh - every test of spfgate, from a fresh checkout.
#
# Installs what the build needs (Debian packages, as root), then builds
# out of tree twice: with -Werror, and with ASan+UBSan; runs `make check`
# in both and `make distcheck` once; prints the totals of all tests as
# "N passed, N failed". Exit status 0 only when everything passed.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/tests/lib/deps.sh"
jobs=$(nproc 2>/dev/null || echo 2)
build="$top/_build"

deps_install $SPFGATE_BUILD_DEPS || { echo "0 passed, 1 failed"; exit 1; }
deps_srcdir_clean "$top"
(cd "$top" && autoreconf -fi >/dev/null 2>&1) || { echo "autoreconf failed"; echo "0 passed, 1 failed"; exit 1; }

status=0
own_pass=0
own_fail=0
# self_ok MSG / self_fail MSG: a result of this script itself.
self_ok() { echo "ok: $*"; own_pass=$((own_pass + 1)); }
self_fail() { echo "FAIL: $*"; own_fail=$((own_fail + 1)); status=1; }

# Formatting: every C file as .clang-format says (clang-format 14).
if command -v clang-format >/dev/null 2>&1; then
  bad=$(cd "$top" && for f in $(git ls-files '*.c' '*.h' 2>/dev/null || find milter include tests -name '*.[ch]'); do
    clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || echo "$f"; done)
  if [ -z "$bad" ]; then self_ok "clang-format"; else self_fail "not clang-formatted: $bad"; fi
fi

# run_build NAME CONFIGURE-FLAGS...: configure, build and check in _build/NAME.
run_build() {
  name=$1; shift
  dir="$build/$name"
  rm -rf "$dir"; mkdir -p "$dir"
  echo "== build $name: configure $*"
  if ! (cd "$dir" && "$top/configure" -q "$@" >configure.out 2>&1); then
    cat "$dir/configure.out"; status=1; return
  fi
  if ! (cd "$dir" && make -j"$jobs" >make.out 2>&1); then
    cat "$dir/make.out"; status=1; return
  fi
  if (cd "$dir" && make -j"$jobs" check >check.out 2>&1); then
    grep -E '^(PASS|FAIL|XPASS|ERROR|SKIP):' "$dir/check.out"
  else
    grep -E '^(PASS|FAIL|XPASS|ERROR|SKIP):' "$dir/check.out" || tail -30 "$dir/check.out"
    for log in $(find "$dir/tests" -name '*.log'); do
      grep -qE '^(FAIL|ERROR)' "${log%.log}.trs" 2>/dev/null && { echo "--- $log"; cat "$log"; }
    done
    status=1
  fi
}

run_build werror --enable-werror
run_build sanitize --enable-sanitizers --enable-werror
if [ "${SPFGATE_SKIP_DISTCHECK:-0}" != 1 ]; then
  echo "== make distcheck"
  if (cd "$build/werror" && make -j"$jobs" distcheck >distcheck.out 2>&1); then
    self_ok "make distcheck"
  else
    tail -40 "$build/werror/distcheck.out"; self_fail "make distcheck"
  fi
fi

# Totals over every test case: cmocka's per-program totals and the
# ok:/FAIL: lines of the script tests.
passed=$own_pass; failed=$own_fail
for log in $(find "$build/werror/tests" "$build/sanitize/tests" -name '*.log' 2>/dev/null); do
  p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p; s/^ok: .*/1/p' "$log" | awk '{s+=$1} END {print s+0}')
  f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p; s/^FAIL: .*/1/p' "$log" | awk '{s+=$1} END {print s+0}')
  passed=$((passed + p)); failed=$((failed + f))
done
[ "$status" -ne 0 ] && [ "$failed" -eq 0 ] && failed=1
echo "$passed passed, $failed failed"
exit $status
