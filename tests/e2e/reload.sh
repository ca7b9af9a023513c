#!/bin/sh
# reload.sh - SIGHUP reloads the configuration while mail flows; a bad
# new configuration is refused and the running one kept; SIGUSR1 writes
# the counters. No transaction may fail and the daemon must stay up.
set -u
. "$(dirname "$0")/../lib/testenv.sh"
MILTC="$SPFGATE_TOOLS/miltc"

cat >"$T_DIR/zone" <<'ZONE'
pass.example TXT "v=spf1 ip4:192.0.2.0/24 -all"
fail.example TXT "v=spf1 -all"
helo.example TXT "v=spf1 ip4:192.0.2.0/24 -all"
ZONE
t_dns "$T_DIR/zone"

# conf LEVEL: the daemon's configuration, with a log level to change.
conf() {
  cat <<CONF
socket = unix:$T_DIR/main.sock
log = stderr
log_level = $1
dns_servers = 127.0.0.1:$T_DNS_PORT
authserv_id = mx.test.example
stats_file = $T_DIR/stats
CONF
}
conf info >"$T_DIR/main.conf"
t_daemon main "$T_DIR/main.conf"

cat >"$T_DIR/pass.script" <<'S'
connect client.example 192.0.2.10
helo helo.example
mail <alice@pass.example>
expect continue
rcpt <bob@local.example>
expect continue
eom
expect header Received-SPF
expect continue
quit
S
cat >"$T_DIR/fail.script" <<'S'
connect client.example 192.0.2.10
helo helo.example
mail <mallory@fail.example>
expect continue
rcpt <bob@local.example>
expect reply 550 5.7.23
abort
quit
S
"$MILTC" -s "unix:$T_DIR/main.sock" -n 3000 -c 4 -f "$T_DIR/pass.script" >"$T_DIR/pass.out" 2>&1 &
load1=$!
"$MILTC" -s "unix:$T_DIR/main.sock" -n 3000 -c 4 -f "$T_DIR/fail.script" >"$T_DIR/fail.out" 2>&1 &
load2=$!

# Reload 30 times while the load runs; every fifth configuration is bad.
i=0
while [ $i -lt 30 ]; do
  if [ $((i % 5)) -eq 4 ]; then
    printf 'log_level = loud\nno_such_key = 1\n' >"$T_DIR/main.conf"
  elif [ $((i % 2)) -eq 0 ]; then
    conf debug >"$T_DIR/main.conf"
  else
    conf info >"$T_DIR/main.conf"
  fi
  kill -HUP "$T_PID_main"
  sleep 0.1
  i=$((i + 1))
done
conf info >"$T_DIR/main.conf"
kill -HUP "$T_PID_main"
wait $load1; rc1=$?
wait $load2; rc2=$?

[ $rc1 -eq 0 ] && ok "pass load: no failure across 30 reloads ($(tail -n 2 "$T_DIR/pass.out" | tr '\n' ' '))" ||
  { fail "pass load: exit $rc1"; tail -5 "$T_DIR/pass.out"; }
[ $rc2 -eq 0 ] && ok "fail load: no failure across 30 reloads ($(tail -n 2 "$T_DIR/fail.out" | tr '\n' ' '))" ||
  { fail "fail load: exit $rc2"; tail -5 "$T_DIR/fail.out"; }
kill -0 "$T_PID_main" 2>/dev/null && ok "daemon survived SIGHUP under load" || fail "daemon died during reloads"
n=$(grep -c 'reload: configuration .* loaded' "$T_DIR/main.log")
[ "$n" -ge 20 ] && ok "reloads logged ($n)" || fail "reloads logged: $n"
grep -q "main.conf:1: " "$T_DIR/main.log" && grep -q 'keeping the running configuration' "$T_DIR/main.log" &&
  ok "a bad configuration is refused with file:line and the old one kept" || fail "bad configuration handling"

# SIGUSR1: counters in the log and in the stats file.
rm -f "$T_DIR/stats"
kill -USR1 "$T_PID_main"
j=0; while [ ! -s "$T_DIR/stats" ] && [ $j -lt 50 ]; do sleep 0.1; j=$((j + 1)); done
pass=$(awk '$1 == "result.pass" {print $2}' "$T_DIR/stats" 2>/dev/null)
fails=$(awk '$1 == "reply.RCPT.550" {print $2}' "$T_DIR/stats" 2>/dev/null)
[ "${pass:-0}" -ge 3000 ] && ok "stats file: result.pass $pass" || fail "stats file: result.pass ${pass:-missing}"
[ "${fails:-0}" -ge 3000 ] && ok "stats file: reply.RCPT.550 $fails" || fail "stats file: reply.RCPT.550 ${fails:-missing}"
# The same clients and senders again and again: their results are reused.
rhits=$(awk '$1 == "spf.result_cache_hits" {print $2}' "$T_DIR/stats" 2>/dev/null)
[ "${rhits:-0}" -ge 1000 ] && ok "stats file: spf.result_cache_hits $rhits" ||
  fail "stats file: spf.result_cache_hits ${rhits:-missing}"
grep -q 'stats: result.pass' "$T_DIR/main.log" && ok "stats in the log" || fail "stats in the log"
kill -TERM "$T_PID_main"; wait "$T_PID_main"; rc=$?
[ "$rc" -eq 0 ] && ok "clean stop after the reloads" || fail "stop: exit $rc"
t_finish
