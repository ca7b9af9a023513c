#!/bin/sh
# demo.sh - quick start: on a fresh Debian 12, as root, installs what the
# build needs, builds spfgate (out of tree, in _build/demo) and shows it at
# work behind a real Postfix:
#
#   - a private DNS server on loopback serves an example zone;
#   - spfgate listens on a Unix socket, asks that DNS server and logs to a
#     file;
#   - a private Postfix on a free loopback port has smtpd_milters = spfgate
#     and hands accepted mail to a sink that keeps each message as a file;
#   - a handful of messages are sent, each from a client address chosen
#     with XCLIENT: SPF pass, fail, softfail, temperror, a null sender, a
#     HELO name whose SPF record fails.
#
# For each message it prints the reply to every SMTP command, the headers
# spfgate added to the delivered copy and spfgate's log lines for it; then
# it stops everything it started. Nothing of the system's own mail or DNS
# set-up is used or changed. Safe to run again.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/tests/lib/deps.sh"

if [ "$(id -u)" -ne 0 ]; then
  echo "demo.sh: run it as root (it installs packages and runs a private Postfix)" >&2
  exit 77
fi

# --- build ------------------------------------------------------------------
deps_install $SPFGATE_BUILD_DEPS || exit 1
deps_srcdir_clean "$top"
if [ ! -x "$top/configure" ] || [ "$top/configure.ac" -nt "$top/configure" ]; then
  echo "running autoreconf"
  (cd "$top" && autoreconf -fi >/dev/null 2>&1) || { echo "autoreconf failed" >&2; exit 1; }
fi
build=$top/_build/demo
mkdir -p "$build"
echo "building spfgate in _build/demo"
(cd "$build" && { [ -f Makefile ] || "$top/configure" -q; } &&
  make -j"$(nproc 2>/dev/null || echo 2)" >make.log 2>&1) || {
  echo "build failed; the end of $build/make.log:" >&2
  tail -20 "$build/make.log" >&2
  exit 1
}
spfgate=$build/milter/spfgate
echo "spfgate $("$spfgate" --version | cut -d' ' -f2) built"

# --- the private DNS, spfgate and Postfix -------------------------------------
IT_LIB=$top/tests/integration/lib
SPFGATE_BUILD=$build
. "$IT_LIB/common.sh"
. "$IT_LIB/dns.sh"
. "$IT_LIB/postfix.sh"
. "$IT_LIB/checks.sh"
trap 'it_cleanup' EXIT
trap 'exit 130' INT TERM HUP
it_tmpdir || exit 1
pf_install || { echo "cannot install postfix" >&2; exit 1; }
dns_install || { echo "cannot install unbound" >&2; exit 1; }

cat >"$IT_TMP/zone" <<'EOF'
# Mail servers of example.org are in 192.0.2.0/24.
example.org TXT "v=spf1 ip4:192.0.2.0/24 -all"
mx.example.org TXT "v=spf1 ip4:192.0.2.0/24 -all"
# example.net allows one address only, and fails everything else.
example.net TXT "v=spf1 ip4:198.51.100.7 -all"
# example.com is not sure: softfail.
example.com TXT "v=spf1 ip4:203.0.113.0/24 ~all"
# The name servers of broken.example answer SERVFAIL: a temporary error.
broken.example SERVFAIL
EOF
echo "starting the loopback DNS server with the example zone:"
grep -v '^#' "$IT_TMP/zone" | sed 's/^/    /'
dns_start "$IT_TMP/zone" || { echo "the DNS server did not start" >&2; exit 1; }

mkdir -p "$IT_TMP/spfgate" && chmod 755 "$IT_TMP/spfgate"
sock=$IT_TMP/spfgate/spfgate.sock
log=$IT_TMP/spfgate/spfgate.log
cat >"$IT_TMP/spfgate/spfgate.conf" <<EOF
socket = unix:$sock
socket_group = postfix
log = stderr
dns_servers = $DNS_SERVER
authserv_id = mx.demo.example
EOF
echo "starting spfgate with:"
sed 's/^/    /' "$IT_TMP/spfgate/spfgate.conf"
(umask 0; exec "$spfgate" -f -c "$IT_TMP/spfgate/spfgate.conf") 2>"$log" &
spfgate_pid=$!
it_on_exit "it_kill_pid $spfgate_pid"
it_wait_file "$sock" 10 || { echo "spfgate did not start:" >&2; cat "$log" >&2; exit 1; }

echo "starting a private Postfix with smtpd_milters = unix:$sock"
pf_setup demo "unix:$sock" && pf_start || { echo "postfix did not start" >&2; exit 1; }

# --- the messages ---------------------------------------------------------------
# send NAME ADDR HELO SENDER SUBJECT: one message from client ADDR (set by
# XCLIENT), which says HELO, from SENDER.
send() {
  {
    printf 'EHLO client.test\nXCLIENT ADDR=%s NAME=[UNAVAILABLE] HELO=%s\n' "$2" "$3"
    printf 'EHLO %s\nMAIL FROM:<%s>\nRCPT TO:<bob@dest.example>\nDATA\n' "$3" "$4"
    printf 'From: <%s>\nTo: <bob@dest.example>\nSubject: %s\n' "${4:-MAILER-DAEMON@$3}" "$5"
    printf 'Authentication-Results: mx.demo.example; spf=pass smtp.mailfrom=forged@example.org\n\n'
    printf 'Hello Bob.\n.\nQUIT\n'
  } | session "$1" "$PF_PORT" >/dev/null 2>&1
}
# The client writes a forged Authentication-Results header claiming
# spfgate's authserv-id: spfgate removes it from every message it passes.

show() { # NAME DESCRIPTION SENDER SUBJECT
  echo
  echo "== $2"
  # The replies after XCLIENT, compact: "COMMAND CODE [text of a refusal]".
  awk -F'\t' '
    $1 == "XCLIENT" { on = 1; next }
    on && $1 != "QUIT" && $1 != "CLOSED" {
      s = $1 == "." ? "end-of-data" : $1
      s = s " " $2
      if ($2 !~ /^[23]/) s = s " " $3
      line = line (line == "" ? "" : "  ") s
    }
    END { print "   SMTP: " line }' "$IT_TMP/rec/$1"
  found=""
  for m in $(pf_messages); do
    grep -q "^Subject: $4\$" "$m" || continue
    found=1
    echo "   delivered, with the headers spfgate added (and the forged one gone):"
    awk '/^$/ { exit }
      /^[^ \t]/ { keep = ($0 ~ /^(Received-SPF|Authentication-Results):/) }
      keep { print "     " $0 }' "$m"
  done
  [ -n "$found" ] || echo "   not delivered"
  echo "   spfgate's log:"
  grep -F "from=<$3>" "$log" | sed 's/^/     /'
}

send pass 192.0.2.25 mx.example.org alice@example.org "SPF pass"
send fail 192.0.2.25 mx.example.org mallory@example.net "SPF fail"
send softfail 192.0.2.25 mx.example.org carol@example.com "SPF softfail"
send temperror 192.0.2.25 mx.example.org dave@broken.example "SPF temperror"
send null 192.0.2.25 mx.example.org "" "Null sender, HELO pass"
send helofail 198.51.100.99 mx.example.org erin@example.com "HELO fail"
pf_wait_messages 3 15

show pass "alice@example.org from 192.0.2.25 (SPF pass: delivered)" alice@example.org "SPF pass"
show fail "mallory@example.net from 192.0.2.25 (SPF fail: refused at RCPT, MAIL has no code for it)" mallory@example.net "SPF fail"
show softfail "carol@example.com from 192.0.2.25 (softfail: delivered, marked)" carol@example.com "SPF softfail"
show temperror "dave@broken.example (DNS SERVFAIL: temperror, try again later)" dave@broken.example "SPF temperror"
show null "null sender, HELO mx.example.org from 192.0.2.25 (the HELO identity passes)" "" "Null sender, HELO pass"
show helofail "erin@example.com from 198.51.100.99 saying HELO mx.example.org (the HELO identity fails)" erin@example.com "HELO fail"

echo
out=$(sh "$IT_LIB/audit.sh" -v "$top/tests/data/smtp-reply-table.txt" "$IT_TMP"/rec/*)
printf '%s\n' "$out" | grep '^violation:'
printf '%s\n' "$out" | sed -n 's/^audited \([0-9]*\) replies, \([0-9]*\) violations$/reply-table audit: \1 replies checked against their command'"'"'s row, \2 outside it/p'
echo "stopping spfgate, Postfix and the DNS server"
it_cleanup
trap - EXIT
echo "done"
