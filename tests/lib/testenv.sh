# testenv.sh - sourced by the end-to-end tests: a private test DNS server
# and a private spfgate daemon, started in a temporary directory and
# stopped by pid on exit. Also the shared ok/FAIL reporting.
#
# Needs: SPFGATE_BIN (the daemon), SPFGATE_TESTDNS (the test DNS server),
# SPFGATE_TOOLS (miltc), SPFGATE_TEST_DATA (the seed table copy).

T_PASSED=0
T_FAILED=0
T_PIDS=""
T_DIR=$(mktemp -d "${TMPDIR:-/tmp}/spfgate-test.XXXXXX") || exit 99

# ok MESSAGE / fail MESSAGE: one test result line.
ok() { T_PASSED=$((T_PASSED + 1)); echo "ok: $*"; }
fail() { T_FAILED=$((T_FAILED + 1)); echo "FAIL: $*"; }

# check DESCRIPTION COMMAND...: ok when the command succeeds.
check() {
  d=$1; shift
  if "$@"; then ok "$d"; else fail "$d"; fi
}

# t_cleanup: stops what this test started (by pid), removes the temp dir.
t_cleanup() {
  for p in $T_PIDS; do kill "$p" 2>/dev/null; done
  for p in $T_PIDS; do
    i=0
    while kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    kill -9 "$p" 2>/dev/null
  done
  [ -n "${T_KEEP:-}" ] || rm -rf "$T_DIR"
}
trap t_cleanup EXIT INT TERM

# t_finish: prints the totals and exits with the right status.
t_finish() {
  echo "$T_PASSED passed, $T_FAILED failed"
  [ "$T_FAILED" -eq 0 ]
  exit $?
}

# t_dns ZONEFILE: starts the test DNS server; sets T_DNS_PORT.
t_dns() {
  "$SPFGATE_TESTDNS" -a 127.0.0.1 -p 0 -z "$1" >"$T_DIR/dns.port" 2>"$T_DIR/dns.log" &
  T_PIDS="$T_PIDS $!"
  i=0
  while [ ! -s "$T_DIR/dns.port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
  T_DNS_PORT=$(head -n 1 "$T_DIR/dns.port")
  [ -n "$T_DNS_PORT" ] || { echo "test DNS server did not start"; cat "$T_DIR/dns.log"; exit 99; }
}

# t_daemon NAME CONF: starts spfgate in the foreground with CONF, waits for
# its socket T_DIR/NAME.sock; the log goes to T_DIR/NAME.log.
t_daemon() {
  "$SPFGATE_BIN" -f -c "$2" 2>"$T_DIR/$1.log" &
  T_PIDS="$T_PIDS $!"
  eval "T_PID_$1=$!"
  i=0
  while [ ! -S "$T_DIR/$1.sock" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
  [ -S "$T_DIR/$1.sock" ] || { echo "spfgate did not start"; cat "$T_DIR/$1.log"; exit 99; }
}

# t_table_codes STAGE: the codes the seed table allows at a milter stage
# (helo: both HELO and EHLO; eom: received data), one per line, read from
# the seed copy independently of the C table.
t_table_codes() {
  case $1 in
    connect) rows=connect ;;
    helo) rows="HELO EHLO" ;;
    mail) rows=MAIL ;;
    rcpt) rows=RCPT ;;
    data) rows=DATA ;;
    header|eoh|body|eom) rows="received data" ;;
    *) rows=none ;;
  esac
  awk -F'|' -v rows="$rows" '
    BEGIN { n = split(rows, want, " "); if (rows == "received data") { n = 1; want[1] = rows } }
    /^\|/ { a = $2; gsub(/^[ \t]+|[ \t]+$/, "", a)
            if (NF <= 3) { cur = a; next }
            for (i = 1; i <= n; i++) if (cur == want[i]) seen[a] = seen[a] + 1 }
    END { for (c in seen) if (seen[c] == n) print c }' "$SPFGATE_TEST_DATA/smtp-reply-table.txt"
}
