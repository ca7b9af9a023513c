#!/bin/sh
# smoke.sh - the real-MTA harness, end to end, without spfgate itself.
#
#   SPFGATE_BUILD=<build dir> sh tests/integration/smoke.sh
#
# Brings up the private DNS server and a private Postfix and Sendmail on
# loopback, and checks:
#   - with the milter socket dead: Postfix answers MAIL with 451 4.7.1
#     (milter_default_action = tempfail), Sendmail with 451 4.3.2 (F=T), no
#     message is accepted, and every reply of the sessions passes the
#     command-reply table audit;
#   - with a milter that accepts and never answers (and short MTA milter
#     timeouts): the same tempfail replies, in bounded time;
#   - with the build's nullmilter (tests/tools/nullmilter, skipped if not
#     built) as the milter: mail goes through both MTAs to their sinks,
#     from IPv4 and IPv6 client addresses, again audited.
# Prints "ok:"/"FAIL:"/"skip:" lines, the time each piece took, and
# "N passed, N failed"; exit 0 only when nothing failed. Everything it
# starts is stopped on exit, also on failure or interruption. Needs root
# (it installs the Debian packages it lacks: postfix, unbound, python3,
# m4, sendmail-cf; sendmail-bin is unpacked privately).
set -u
here=$(cd "$(dirname "$0")" && pwd)
IT_LIB=$here/lib
top=$(cd "$here/../.." && pwd)
TABLE=${SPFGATE_TEST_DATA:-$top/tests/data}/smtp-reply-table.txt
. "$IT_LIB/common.sh"
. "$IT_LIB/dns.sh"
. "$IT_LIB/postfix.sh"
. "$IT_LIB/sendmail.sh"
. "$IT_LIB/checks.sh"

if [ -z "${SPFGATE_BUILD:-}" ] && [ -x "$top/tests/tools/nullmilter" ]; then
  SPFGATE_BUILD=$top
fi
build=${SPFGATE_BUILD:-}


trap 'it_cleanup' EXIT
trap 'exit 130' INT TERM HUP

if [ "$(id -u)" -ne 0 ]; then
  echo "smoke.sh needs root (private MTA instances, package installs)" >&2
  exit 77
fi
it_tmpdir || { echo "FAIL: no temp dir"; exit 1; }
PY=$(it_python) || { echo "FAIL: no python3"; exit 1; }
[ -r "$TABLE" ] || { echo "FAIL: no reply table at $TABLE"; exit 1; }
mkdir -p "$IT_TMP/milter" "$IT_TMP/rec" && chmod 755 "$IT_TMP/milter"

# masters: the Postfix master pids this run started, checked at the end.
masters=""
note_master() {
  masters="$masters $(tr -d ' ' <"$PF_BASE/queue/pid/master.pid" 2>/dev/null)"
}

transaction() { # the message, for the client script
  cat <<EOF
MAIL FROM:<alice@pass.example>
RCPT TO:<bob@dest.example>
RCPT TO:<carol@dest.example>
DATA
From: alice@pass.example
To: bob@dest.example
Subject: spfgate integration smoke $1

A line.
.leading dot
.
QUIT
EOF
}

xclient_script() { # ADDR HELO TAG: XCLIENT presents ADDR (IPv6 ones as
  # "IPv6:..."; Postfix refuses a bare one) and HELO
  printf 'EHLO client.test\nXCLIENT ADDR=%s NAME=[UNAVAILABLE] HELO=%s\nEHLO %s\n' "$1" "$2" "$2"
  transaction "$3"
}

# --- packages ---------------------------------------------------------------
pf_install || { echo "FAIL: cannot install postfix"; exit 1; }
dns_install || { echo "FAIL: cannot install unbound"; exit 1; }
sm_install || { echo "FAIL: cannot fetch sendmail"; exit 1; }

# --- DNS --------------------------------------------------------------------
cat >"$IT_TMP/zone" <<'EOF'
pass.example A 192.0.2.10
pass.example AAAA 2001:db8::10
pass.example MX 10 mx.pass.example
pass.example TXT "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all"
10.2.0.192.in-addr.arpa PTR mx.pass.example
mx.pass.example A 192.0.2.10
broken.example SERVFAIL
slow.example TIMEOUT
EOF
# A TXT string over 255 octets: served split into character-strings.
printf 'long.example TXT "v=spf1 %s-all"\n' \
  "$(i=1; while [ $i -le 30 ]; do printf 'ip4:192.0.2.%d ' $i; i=$((i + 1)); done)" \
  >>"$IT_TMP/zone"
if it_time "dns start" dns_start "$IT_TMP/zone"; then
  check "dns: $DNS_SERVER answers TXT" dns_has pass.example TXT 'v=spf1 ip4:192.0.2.0/24'
  check "dns: a long TXT string comes split at 255 octets" \
    dns_has long.example TXT '^TXT "v=spf1 ip4:192.0.2.1 [^"]*" "[^"]*-all"$'
  check "dns: SERVFAIL name" dns_has broken.example TXT '^SERVFAIL$'
  check "dns: TIMEOUT name is not answered (1 s)" \
    sh -c "'$PY' '$IT_LIB/dnsquery.py' 127.0.0.1 $DNS_PORT slow.example TXT 1 | grep -qx TIMEOUT"
else
  fail "dns: server did not start"
fi

# --- Postfix, milter down ---------------------------------------------------
dead=$IT_TMP/milter/nobody-listens.sock
if pf_setup down "unix:$dead" && it_time "postfix start" pf_start; then
  note_master
  ok "postfix: private instance on 127.0.0.1:$PF_PORT"
  xclient_script 192.0.2.10 mx.pass.example down | session pf-down "$PF_PORT"
  check "postfix: XCLIENT is taken" reply_is "pf-down" XCLIENT "220 "
  check "postfix, milter down: MAIL gets 451 4.7.1" reply_is "pf-down" MAIL "451 4.7.1"
  check "postfix, milter down: replies pass the table audit" audit pf-down
  if it_have_ipv6; then
    transaction down6 | sed '1i EHLO client6.test' | session pf-down6 "$PF_PORT" --host ::1
    check "postfix, milter down, IPv6 client: MAIL gets 451 4.7.1" reply_is "pf-down6" MAIL "451 4.7.1"
    check "postfix, milter down, IPv6 client: audit" audit pf-down6
  fi
  sleep 0.3
  check "postfix, milter down: nothing reached the sink" no_messages pf_messages
  it_time "postfix stop" pf_stop
else
  fail "postfix: instance did not start"
  pf_stop
fi

# --- Sendmail, milter down --------------------------------------------------
if sm_setup down "unix:$dead" && it_time "sendmail start" sm_start; then
  ok "sendmail: inetd-style on 127.0.0.1:$SM_PORT"
  { echo "EHLO mx.pass.example"; transaction down; } | session sm-down "$SM_PORT" --bind 127.0.0.2
  check "sendmail, milter down: MAIL gets 451 4.3.2" reply_is "sm-down" MAIL "451 4.3.2"
  check "sendmail, milter down: replies pass the table audit" audit sm-down
  check "sendmail: the session saw client 127.0.0.2" \
    grep -q 'Hello \[127\.0\.0\.2\]' "$IT_TMP/rec/sm-down"
  check "sendmail, milter down: nothing reached the sink" no_messages sm_messages
  sm_stop
else
  fail "sendmail: did not start"
  sm_stop
fi

# --- a hung milter: accepts, never answers ---------------------------------
hsock=$IT_TMP/milter/hung.sock
"$PY" "$IT_LIB/hungmilter.py" "$hsock" >"$IT_TMP/milter/hung.log" 2>&1 &
hung_pid=$!
it_on_exit "it_kill_pid $hung_pid"
if it_wait_file "$hsock" 5; then
  if pf_setup hung "unix:$hsock" milter_connect_timeout=2s \
    milter_command_timeout=2s milter_content_timeout=4s && pf_start; then
    note_master
    t0=$(it_now_ms)
    xclient_script 192.0.2.10 mx.pass.example hung | session pf-hung "$PF_PORT"
    t=$(($(it_now_ms) - t0))
    check "postfix, milter hung: MAIL gets 451 4.7.1" reply_is "pf-hung" MAIL "451 4.7.1"
    check "postfix, milter hung: replies pass the table audit" audit pf-hung
    check "postfix, milter hung: session ended in bounded time ($t ms)" [ "$t" -lt 20000 ]
    pf_stop
  else
    fail "postfix with a hung milter did not start"; pf_stop
  fi
  if sm_setup hung "unix:$hsock" "C:2s;S:2s;R:2s;E:4s" && sm_start; then
    t0=$(it_now_ms)
    { echo "EHLO mx.pass.example"; transaction hung; } | session sm-hung "$SM_PORT" --bind 127.0.0.4
    t=$(($(it_now_ms) - t0))
    check "sendmail, milter hung: MAIL gets 451 4.3.2" reply_is "sm-hung" MAIL "451 4.3.2"
    check "sendmail, milter hung: replies pass the table audit" audit sm-hung
    check "sendmail, milter hung: session ended in bounded time ($t ms)" [ "$t" -lt 20000 ]
    sm_stop
  else
    fail "sendmail with a hung milter did not start"; sm_stop
  fi
else
  fail "hung milter did not listen on $hsock"
fi
it_kill_pid "$hung_pid"

# --- with a real milter: the build's nullmilter -----------------------------
null=""
[ -n "$build" ] && [ -x "$build/tests/tools/nullmilter" ] && null=$build/tests/tools/nullmilter
if [ -z "$null" ]; then
  skip "nullmilter not built (set SPFGATE_BUILD to a build dir): mail delivery through a milter"
else
  nsock=$IT_TMP/milter/null.sock
  if it_milter_start "$nsock" 10 "$null" -p "unix:$nsock"; then
    null_pid=$IT_MILTER_PID
    ok "nullmilter listening"
    if pf_setup null "unix:$nsock" && it_time "postfix start" pf_start; then
      note_master
      xclient_script 192.0.2.10 mx.pass.example null | session pf-null "$PF_PORT"
      check "postfix + nullmilter: message accepted" reply_is "pf-null" . "250 2.0.0"
      check "postfix + nullmilter: replies pass the table audit" audit pf-null
      xclient_script IPv6:2001:db8::10 mx.pass.example null6 | session pf-null6 "$PF_PORT"
      check "postfix: XCLIENT with an IPv6 address is taken" reply_is "pf-null6" XCLIENT "220 "
      check "postfix + nullmilter, XCLIENT IPv6 address: accepted" reply_is "pf-null6" . "250 2.0.0"
      check "postfix + nullmilter: both messages in the sink" pf_wait_messages 2 15
      check "postfix + nullmilter: the sink has the message" \
        sink_has pf_messages "Subject: spfgate integration smoke null"
      check "postfix + nullmilter: the XCLIENT address is in Received" \
        sink_has pf_messages "unknown \[IPv6:2001:db8::10\]"
      pf_stop
    else
      fail "postfix with nullmilter did not start"; pf_stop
    fi
    if sm_setup null "unix:$nsock" && sm_start; then
      { echo "EHLO mx.pass.example"; transaction null; } | session sm-null "$SM_PORT" --bind 127.0.0.3
      check "sendmail + nullmilter: message accepted" reply_is "sm-null" . "250 2.0.0"
      check "sendmail + nullmilter: replies pass the table audit" audit sm-null
      if [ -n "$SM_PORT6" ]; then
        { echo "HELO mx.pass.example"; transaction null6; } | session sm-null6 "$SM_PORT6" --host ::1
        check "sendmail + nullmilter, IPv6 client, HELO: message accepted" reply_is "sm-null6" . "250 2.0.0"
        check "sendmail + nullmilter, IPv6: audit" audit sm-null6
        want=2
      else
        want=1
      fi
      check "sendmail + nullmilter: messages in the sink" sm_wait_messages $want 15
      check "sendmail + nullmilter: the sink has the message, dot-stuffing kept" \
        sink_has sm_messages "^\.leading dot"
      sm_stop
    else
      fail "sendmail with nullmilter did not start"; sm_stop
    fi
    it_kill_pid "$null_pid"
  else
    fail "nullmilter did not listen on $nsock"
  fi
fi

# --- timings and cleanup ----------------------------------------------------
echo "timings (ms):"
grep -v '^install packages' "$IT_TMP/timings" | sed 's/^/  /'
tmp=$IT_TMP
it_cleanup
trap - EXIT
left=$(pgrep -f "$tmp" | tr '\n' ' ')
for _p in $masters; do kill -0 "$_p" 2>/dev/null && left="$left$_p "; done
if [ -n "$left" ]; then
  fail "cleanup: processes of this run are left: $left"
else
  ok "cleanup: nothing of this run is left running"
fi

it_summary
