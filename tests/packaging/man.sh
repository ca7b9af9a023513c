#!/bin/sh
# man.sh - the manual pages: groff formats each one without a warning,
# spfgate.conf(5) documents every key of the sample configuration (and no
# key that is not there), its examples are accepted by `spfgate -n`, and
# the pages carry the programs' version.
# Skips (exit 77) when groff is not installed.
set -u
src="${SPFGATE_TEST_SOURCE:-$(cd "$(dirname "$0")/../.." && pwd)}"
bin="${SPFGATE_BIN:-}"
man_dir="$src/packaging/man"
pages="spfgate.8 spfgate.conf.5 spfgate-query.1"
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok: $*"; }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }

if ! command -v groff >/dev/null 2>&1; then
  echo "SKIP: groff is not installed"
  exit 77
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/spfgate-man.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM

# 1. Each page formats without a warning.
for p in $pages; do
  f="$man_dir/$p"
  if [ ! -f "$f" ]; then
    fail "$p is missing"
    continue
  fi
  if groff -ww -z -man "$f" >"$tmp/out" 2>&1 && [ ! -s "$tmp/out" ]; then
    ok "$p: groff -ww reports nothing"
  else
    fail "$p: groff -ww: $(head -5 "$tmp/out")"
  fi
  if command -v man >/dev/null 2>&1; then
    if MANWIDTH=80 man -l "$f" >"$tmp/render" 2>"$tmp/err" &&
      [ -s "$tmp/render" ] && [ ! -s "$tmp/err" ]; then
      ok "$p: man -l renders it"
    else
      fail "$p: man -l: $(head -3 "$tmp/err")"
    fi
  fi
done

# 2. Every key of the sample configuration is documented in spfgate.conf(5)
# as an entry of its own (".TP" then ".B key"), and every documented key
# exists in the sample.
conf="$src/conf/spfgate.conf"
conf5="$man_dir/spfgate.conf.5"
sed -n 's/^#\{0,1\}[[:space:]]*\([a-z_][a-z0-9_]*\)[[:space:]]*=.*/\1/p' "$conf" |
  sort -u >"$tmp/conf-keys"
awk 'prev == ".TP" && $1 == ".B" && NF == 2 && $2 ~ /^[a-z_][a-z0-9_]*$/ { print $2 }
     { prev = $0 }' "$conf5" | sort -u >"$tmp/man-keys"
n_keys=$(wc -l <"$tmp/conf-keys")
if [ "$n_keys" -lt 10 ]; then
  fail "found only $n_keys keys in $conf"
fi
missing=$(comm -23 "$tmp/conf-keys" "$tmp/man-keys" | tr '\n' ' ')
extra=$(comm -13 "$tmp/conf-keys" "$tmp/man-keys" | tr '\n' ' ')
if [ -z "$missing" ]; then
  ok "spfgate.conf.5 documents all $n_keys keys of the sample configuration"
else
  fail "spfgate.conf.5 does not document: $missing"
fi
if [ -z "$extra" ]; then
  ok "spfgate.conf.5 documents no key the sample configuration lacks"
else
  fail "spfgate.conf.5 documents keys not in the sample: $extra"
fi

# 3. With the daemon at hand: each "Example:" line of spfgate.conf(5) is a
# configuration spfgate accepts, and the pages name its version.
if [ -n "$bin" ] && [ -x "$bin" ]; then
  # ".B key = value" after "Example:", with the roff escapes undone.
  awk 'prev == "Example:" && /^\.B [a-z_]+ = / { sub(/^\.B /, ""); print }
       { prev = $0 }' "$conf5" |
    sed -e 's/\\(dq/"/g' -e 's/\\-/-/g' -e 's/\\&//g' >"$tmp/examples"
  n=0
  while IFS= read -r line; do
    n=$((n + 1))
    # An account the example names may not exist on this machine (spfgate
    # -n refuses those): its syntax is checked with root in its place.
    checked=$line
    case $line in
      "user = "*|"socket_owner = "*)
        getent passwd "${line#* = }" >/dev/null || checked="${line%% = *} = root" ;;
      "group = "*|"socket_group = "*)
        getent group "${line#* = }" >/dev/null || checked="${line%% = *} = root" ;;
    esac
    printf '%s\n' "$checked" >"$tmp/example.conf"
    if "$bin" -n -c "$tmp/example.conf" >/dev/null 2>"$tmp/err"; then
      ok "example accepted: $line"
    else
      fail "example refused: $line: $(cat "$tmp/err")"
    fi
  done <"$tmp/examples"
  [ "$n" -gt 0 ] || fail "no examples found in spfgate.conf.5"
  # The EXAMPLE section's configuration, too.
  sed -n '/^\.SH EXAMPLE$/,/^\.EE$/p' "$conf5" | sed -n '/^\.EX$/,/^\.EE$/p' |
    sed -e '/^\.E[XE]$/d' -e 's/\\-/-/g' >"$tmp/section.conf"
  if [ -s "$tmp/section.conf" ] &&
    "$bin" -n -c "$tmp/section.conf" >/dev/null 2>"$tmp/err"; then
    ok "the EXAMPLE configuration of spfgate.conf.5 is accepted"
  else
    fail "the EXAMPLE configuration of spfgate.conf.5: $(cat "$tmp/err")"
  fi
  version=$("$bin" -V | sed -n 's/^spfgate //p')
  for p in $pages; do
    if grep -q "^\.TH .*\"spfgate $version\"" "$man_dir/$p"; then
      ok "$p names version $version"
    else
      fail "$p does not name version $version in .TH"
    fi
  done
else
  echo "SKIP: examples and version (SPFGATE_BIN not set)"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
