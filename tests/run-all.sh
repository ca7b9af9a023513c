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

# run_step NAME COMMAND...: a suite outside make check. Its output goes to
# _build/NAME.out and is shown; its last "N passed, N failed" line counts
# in the totals. Exit 77 means skipped (not root, tool missing).
run_step() {
  name=$1; shift
  echo "== $name"
  start=$(date +%s)
  "$@" >"$build/$name.out" 2>&1
  rc=$?
  cat "$build/$name.out"
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$build/$name.out" | tail -n 1)
  p=$(echo "$line" | sed -n 's/^\([0-9]*\) passed.*/\1/p')
  f=$(echo "$line" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
  own_pass=$((own_pass + ${p:-0}))
  own_fail=$((own_fail + ${f:-0}))
  took=$(( $(date +%s) - start ))
  if [ $rc -eq 77 ]; then
    echo "skipped: $name (${took}s)"
  elif [ $rc -ne 0 ]; then
    [ "${f:-0}" -gt 0 ] || own_fail=$((own_fail + 1))
    echo "FAILED: $name (exit $rc, ${took}s)"; status=1
  else
    echo "done: $name (${took}s)"
  fi
}

# The real MTAs (Postfix and Sendmail) in front of spfgate, on loopback.
if [ -f "$top/tests/integration/run.sh" ]; then
  run_step integration env SPFGATE_BUILD="$build/werror" sh "$top/tests/integration/run.sh"
fi
# The Debian package: build, install, check, purge.
if [ -f "$top/tests/packaging/install-deb.sh" ]; then
  run_step package sh "$top/tests/packaging/install-deb.sh"
fi
# Fuzz targets, a short run each on their corpus (clang + libFuzzer).
if [ -f "$top/tests/fuzz/run.sh" ] && [ "${SPFGATE_FUZZ_SECONDS:-60}" != 0 ]; then
  deps_install clang libfuzzer-14-dev libclang-rt-14-dev >/dev/null
  rm -rf "$build/fuzz"; mkdir -p "$build/fuzz"
  if (cd "$build/fuzz" && CC=clang "$top/configure" -q --enable-fuzzing >configure.out 2>&1 &&
      make -j"$jobs" >make.out 2>&1); then
    run_step fuzz sh "$top/tests/fuzz/run.sh" "$build/fuzz" "${SPFGATE_FUZZ_SECONDS:-60}"
  else
    tail -30 "$build/fuzz/make.out" "$build/fuzz/configure.out" 2>/dev/null; self_fail "fuzzing build"
  fi
fi
# Leaks over many messages (valgrind), short version. The RSS curve is
# left to `make soak` (see the hardening notes: it is not flat yet).
if [ -f "$top/tests/hardening/soak.sh" ]; then
  deps_install valgrind >/dev/null
  run_step soak make -C "$build/werror" soak SOAK_ARGS="--quick --no-rss"
fi
# The benchmark, short version: it must run; figures are informative here.
if [ -f "$top/tests/bench/run.sh" ]; then
  run_step bench sh "$top/tests/bench/run.sh" --quick "$build/werror"
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
