#!/bin/sh
# spfgate.sh - the spfgate daemon behind a real Postfix and a real Sendmail,
# end to end, on loopback.
#
#   SPFGATE_BUILD=<build dir> sh tests/integration/spfgate.sh
#
# SPFGATE_BUILD holds milter/spfgate (and tests/tools/testdns, which the
# DNS server uses for SERVFAIL and silent names). One spfgate daemon serves
# both MTAs; its configuration is changed between groups of scenarios with
# SIGHUP. Scenarios, each through both MTAs (Postfix clients set with
# XCLIENT, Sendmail clients with their real source address: 127.0.0.3 and
# ::1):
#   - every SPF result: pass, fail, softfail, neutral, none, permerror,
#     temperror by SERVFAIL and by silence (deadline 2 s);
#   - null sender with a HELO that passes, fails, fails temporarily or is
#     an address literal; HELO check on and off; a second EHLO; IPv4 and
#     IPv6 clients; HELO instead of EHLO;
#   - explanations (exp=) with a "%" and over-long ones;
#   - a trusted client; an SMTP AUTH sender (Postfix by XCLIENT LOGIN,
#     Sendmail by AUTH PLAIN against a private SASL database);
#   - postmaster (in any case) among several recipients of a failing
#     sender; two and three transactions in one session, with RSET;
#   - dry run; a site's reject code (553), actions and tempfail code (452);
#   - no mail lost: spfgate stopped, killed with SIGKILL between RCPT and
#     DATA, hung (SIGSTOP past the MTA's milter timeout): a temporary
#     failure, and mail flows again after a restart.
# Every reply of every session is audited against the command-reply table;
# the headers of every delivered message are parsed and checked (result,
# client address, a forged Authentication-Results with spfgate's
# authserv-id removed, a foreign one kept).
#
# Prints "ok:"/"FAIL:"/"skip:" lines, timings and "N passed, N failed";
# exit 1 on any failure, 77 when not root. IT_KEEP=1 keeps the run's
# directory (records, messages, logs).
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

# A reply never takes longer than the MTAs' milter timeouts (4 s) plus
# spfgate's deadline; a session that waits longer has a stuck MTA.
: "${IT_REPLY_TIMEOUT:=15}"
if [ -z "${SPFGATE_BUILD:-}" ] && [ -x "$top/milter/spfgate" ]; then
  SPFGATE_BUILD=$top
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "spfgate.sh needs root (private MTA instances, package installs)" >&2
  exit 77
fi
SPFGATE=${SPFGATE_BUILD:-}/milter/spfgate
if [ -z "${SPFGATE_BUILD:-}" ] || [ ! -x "$SPFGATE" ]; then
  echo "FAIL: no spfgate binary (set SPFGATE_BUILD to a build directory)"
  echo "0 passed, 1 failed"
  exit 1
fi

trap 'it_cleanup' EXIT
trap 'exit 130' INT TERM HUP
t_start=$(it_now_ms)
it_tmpdir || { echo "FAIL: no temp dir"; exit 1; }
PY=$(it_python) || { echo "FAIL: no python3"; exit 1; }
[ -r "$TABLE" ] || { echo "FAIL: no reply table at $TABLE"; exit 1; }
mkdir -p "$IT_TMP/spfgate" "$IT_TMP/rec" && chmod 755 "$IT_TMP/spfgate"

pf_install || { echo "FAIL: cannot install postfix"; exit 1; }
dns_install || { echo "FAIL: cannot install unbound"; exit 1; }
sm_install || { echo "FAIL: cannot fetch sendmail"; exit 1; }

AUTHSERV=mx.it.example
# The clients spfgate sees: Postfix's are set by XCLIENT, Sendmail's are
# the real source addresses of the connections.
PF4=192.0.2.10
PF6=2001:db8::10
SM4=127.0.0.3
SM6=::1

# --- DNS --------------------------------------------------------------------
cat >"$IT_TMP/zone" <<EOF
pass.example TXT "v=spf1 ip4:$PF4 ip4:$SM4 ip6:$PF6 ip6:$SM6 -all"
helo-pass.example TXT "v=spf1 ip4:$PF4 ip4:$SM4 ip6:$PF6 ip6:$SM6 -all"
fail.example TXT "v=spf1 ip4:198.51.100.1 ip6:2001:db8:ffff::1 -all"
helo-fail.example TXT "v=spf1 -all"
softfail.example TXT "v=spf1 ip4:198.51.100.1 ~all"
neutral.example TXT "v=spf1 ip4:198.51.100.1 ?all"
perm.example TXT "v=spf1 ip4:192.0.2.0/33 -all"
temp.example SERVFAIL
slow.example TIMEOUT
helo-temp.example SERVFAIL
exp.example TXT "v=spf1 ip4:198.51.100.1 -all exp=why.exp.example"
why.exp.example TXT "%{i} is not a mail server of %{d}; 100%% sure"
longexp.example TXT "v=spf1 -all exp=why.longexp.example"
EOF
# An explanation longer than a reply may carry (libmilter's limit is 980
# characters), served as 255-octet strings.
printf 'why.longexp.example TXT "%s"\n' \
  "$(i=0; while [ $i -lt 60 ]; do printf 'word%02d is not short; ' $i; i=$((i + 1)); done)" \
  >>"$IT_TMP/zone"
it_time "dns start" dns_start "$IT_TMP/zone" || { echo "FAIL: the DNS server did not start"; exit 1; }

# --- spfgate ----------------------------------------------------------------
SG_SOCK=$IT_TMP/spfgate/spfgate.sock
SG_CONF=$IT_TMP/spfgate/spfgate.conf
SG_LOG=$IT_TMP/spfgate/spfgate.log
SG_PID=""

# sg_conf LINE...: the configuration: the scenarios' base, then LINEs.
# trusted_networks never covers the clients used (loopback included).
sg_conf() {
  _over=""
  for _l in "$@"; do _over="$_over ${_l%% *} "; done
  {
    echo "socket = unix:$SG_SOCK"
    echo "socket_group = postfix"
    echo "log = stderr"
    echo "dns_servers = $DNS_SERVER"
    echo "dns_timeout = 500ms"
    echo "deadline = 2s"
    echo "authserv_id = $AUTHSERV"
    case $_over in *" trusted_networks "*) ;; *) echo "trusted_networks = 192.0.2.255/32" ;; esac
    for _l in "$@"; do echo "$_l"; done
  } >"$SG_CONF.new" && mv "$SG_CONF.new" "$SG_CONF"
}

# sg_start: starts the daemon in the foreground (its stale socket, after a
# SIGKILL, removed first), waits for the socket.
sg_start() {
  rm -f "$SG_SOCK"
  "$SPFGATE" -f -c "$SG_CONF" 2>>"$SG_LOG" &
  SG_PID=$!
  it_on_exit "it_kill_pid $SG_PID"
  it_wait_file "$SG_SOCK" 10
}

# sg_reload LINE...: a new configuration, SIGHUP, waits for the log line.
sg_reload() {
  sg_conf "$@"
  _n=$(grep -c 'reload: configuration .* loaded' "$SG_LOG")
  kill -HUP "$SG_PID"
  _i=0
  while [ $_i -lt 100 ]; do
    [ "$(grep -c 'reload: configuration .* loaded' "$SG_LOG")" -gt "$_n" ] && return 0
    sleep 0.05; _i=$((_i + 1))
  done
  echo "  reload not logged:" >&2; tail -5 "$SG_LOG" >&2
  return 1
}

sg_conf
if it_time "spfgate start" sg_start; then
  ok "spfgate listening on its socket"
else
  fail "spfgate did not start"; cat "$SG_LOG"; it_summary; exit 1
fi

# --- the MTAs -----------------------------------------------------------------
# Milter timeouts above spfgate's 2 s deadline, short enough for the hang
# test.
pf_setup main "unix:$SG_SOCK" milter_connect_timeout=3s \
  milter_command_timeout=4s milter_content_timeout=8s \
  smtpd_sasl_auth_enable=yes &&
  it_time "postfix start" pf_start || { fail "postfix did not start"; it_summary; exit 1; }
PF_MASTER=$(tr -d ' ' <"$PF_BASE/queue/pid/master.pid" 2>/dev/null)
# The instance must greet: without that every Postfix session would wait
# out its reply timeout.
echo QUIT | session pf-greeting "$PF_PORT" --timeout 10
if ! reply_is pf-greeting CONNECT "220 "; then
  fail "postfix does not greet; its log:"; tail -20 "$PF_LOG"; it_summary; exit 1
fi
sm_setup main "unix:$SG_SOCK" "C:3s;S:4s;R:4s;E:8s" ||
  { fail "sendmail set-up failed"; it_summary; exit 1; }
# SMTP AUTH for Sendmail: Cyrus SASL reads Sendmail.conf from its
# configuration path; the sessions' private mount namespace puts ours
# (auxprop sasldb, a private user database) on /usr/lib/sasl2, a directory
# of that path. Needs namespaces and saslpasswd2 (sasl2-bin).
SM_AUTH=""
if unshare --uts --mount true 2>/dev/null && [ -d /usr/lib/sasl2 ] &&
  it_apt_install sasl2-bin >/dev/null 2>&1 && command -v saslpasswd2 >/dev/null; then
  mkdir -p "$SM_DIR/sasl2"
  printf 'pwcheck_method: auxprop\nauxprop_plugin: sasldb\nsasldb_path: %s\nmech_list: PLAIN LOGIN\n' \
    "$SM_DIR/sasl2/sasldb2" >"$SM_DIR/sasl2/Sendmail.conf"
  if echo secret | saslpasswd2 -f "$SM_DIR/sasl2/sasldb2" -p -c -u mx.spfgate.test alice &&
    sed -i "/^MAILER(/i define(\`confAUTH_MECHANISMS', \`PLAIN LOGIN')dnl\\
TRUST_AUTH_MECH(\`PLAIN LOGIN')dnl" "$SM_DIR/test.mc" &&
    m4 "$SM_DIR/test.mc" >"$SM_CF" 2>"$SM_DIR/m4.err"; then
    SM_AUTH=1
  fi
fi
it_time "sendmail start" sm_start || { fail "sendmail did not start"; it_summary; exit 1; }
ok "postfix on 127.0.0.1:$PF_PORT, sendmail on 127.0.0.1:$SM_PORT${SM_PORT6:+ and [::1]:$SM_PORT6}"

MTAS="pf sm"
HAVE6=yes
[ -n "$SM_PORT6" ] || HAVE6=""

mta_name() { [ "$1" = pf ] && echo postfix || echo sendmail; }
# client MTA FAMILY: the address spfgate sees.
client() {
  case $1$2 in
    pf4) echo $PF4 ;; pf6) echo $PF6 ;; sm4) echo $SM4 ;; sm6) echo $SM6 ;;
  esac
}

# run MTA FAMILY ID VERB HELO [XCLIENT-EXTRA] < TRANSACTIONS: one session,
# record "MTA-ID". Postfix: EHLO, XCLIENT with the client address and
# HELO, then VERB HELO again; Sendmail: VERB HELO from the client address.
run() {
  _m=$1; _f=$2; _id=$3; _v=$4; _h=$5; _x=${6:-}
  _a=$(client "$_m" "$_f")
  if [ "$_m" = pf ]; then
    [ "$_f" = 6 ] && _a=IPv6:$_a
    # Once Postfix has stopped greeting (seen when its postlogd was gone
    # and smtpd blocked on logging), later sessions are not tried: each
    # would only wait out its timeout.
    if [ -e "$IT_TMP/pf-stuck" ]; then
      cat >/dev/null
      printf 'TIMEOUT\t-\tCONNECT (postfix stopped greeting earlier)\n' >"$IT_TMP/rec/$_m-$_id"
      return 1
    fi
    { printf 'EHLO client.test\nXCLIENT ADDR=%s NAME=[UNAVAILABLE] HELO=%s%s\n%s %s\n' \
        "$_a" "$_h" "$_x" "$_v" "$_h"
      cat; } | session "$_m-$_id" "$PF_PORT"
    if head -1 "$IT_TMP/rec/$_m-$_id" | grep -q '^TIMEOUT.*CONNECT'; then
      touch "$IT_TMP/pf-stuck"
      echo "  postfix did not greet ($PF_PORT); master's children:" \
        "$(pgrep -l -P "$PF_MASTER" | tr '\n' ' ')" >&2
    fi
  else
    if [ "$_f" = 6 ]; then
      { printf '%s %s\n' "$_v" "$_h"; cat; } | session "$_m-$_id" "$SM_PORT6" --host ::1
    else
      { printf '%s %s\n' "$_v" "$_h"; cat; } | session "$_m-$_id" "$SM_PORT" --bind "$SM4"
    fi
  fi
}

# tx MTA ID FROM [RCPT...]: one transaction (default recipient bob), its
# message carrying a forged Authentication-Results with our authserv-id
# and a foreign one.
tx() {
  _m=$1; _id=$2; _from=$3; shift 3
  echo "MAIL FROM:<$_from>"
  [ $# -eq 0 ] && set -- bob@dest.example
  for _r in "$@"; do echo "RCPT TO:<$_r>"; done
  cat <<EOF
DATA
From: <${_from:-mailer-daemon@dest.example}>
To: <$1>
Subject: it $_m $_id
Authentication-Results: $AUTHSERV; spf=pass smtp.mailfrom=forged@evil.example
Authentication-Results: other.example; spf=fail smtp.mailfrom=kept@other.example

Message $_id through $(mta_name "$_m").
.
EOF
}

# nth REC COMMAND N WANT: the Nth reply to COMMAND in REC starts with WANT.
nth() {
  _got=$(awk -F'\t' -v c="$2" -v n="$3" '$1 == c && ++k == n { print $2 " " $3; exit }' "$IT_TMP/rec/$1")
  case $_got in "$4"*) return 0 ;; esac
  echo "  $1: reply $3 to $2: ${_got:-(none)}; want: $4" >&2
  return 1
}

# said REC COMMAND "CODE TEXT-PREFIX": like reply_is, with the "<addr>... "
# that Sendmail puts after the enhanced code of a milter's RCPT reply
# taken out.
said() {
  _got=$(awk -F'\t' -v c="$2" '$1 == c {
      t = $3
      if (match(t, /^[0-9]\.[0-9]+\.[0-9]+ <[^>]*>\.\.\. /)) {
        e = t; sub(/ .*/, "", e); t = e " " substr(t, RLENGTH + 1)
      }
      print $2 " " t; exit }' "$IT_TMP/rec/$1")
  case $_got in "$3"*) return 0 ;; esac
  echo "  $1: $2 got: ${_got:-(none)}; want: $3" >&2
  return 1
}

# msg MTA ID: the kept message with subject "it MTA ID" (empty: none).
msg() {
  for _f in $([ "$1" = pf ] && pf_messages || sm_messages); do
    grep -q "^Subject: it $1 $2\$" "$_f" && { echo "$_f"; return 0; }
  done
  return 1
}

# wait_msg MTA ID: waits (10 s at most) for that message.
wait_msg() {
  _i=0
  while [ $_i -lt 100 ]; do
    msg "$1" "$2" >/dev/null && return 0
    sleep 0.1; _i=$((_i + 1))
  done
  echo "  message it $1 $2 not delivered" >&2
  return 1
}

# headers_ok FILE RESULT IDENTITY CLIENT [HELO-RESULT]: the message's
# header block has, unfolded and parsed:
#   - a Received-SPF for identity=mailfrom with RESULT, client-ip=CLIENT,
#     receiver=AUTHSERV, every Received-SPF well formed;
#   - exactly one Authentication-Results with our authserv-id, saying
#     spf=RESULT smtp.mailfrom=IDENTITY (and spf=HELO-RESULT
#     smtp.helo=... when given), well formed;
#   - the forged one gone, the foreign one kept.
headers_ok() {
  awk -v res="$2" -v ident="$3" -v ip="$4" -v hres="${5:-}" -v as="$AUTHSERV" '
    function bad(why) { print "  " FILENAME ": " why > "/dev/stderr"; err = 1 }
    # kvparse(S): S is [ SP comment ] then key=value pairs separated by
    # ";" (RFC 7208 section 9.1), a value a dot-atom or a quoted string;
    # fills seen[key] (unquoted), rest is where it stopped. True when
    # the whole of S parsed.
    function kvparse(s,   c, d, k, val) {
      delete seen
      sub(/^ +/, "", s)
      if (substr(s, 1, 1) == "(") {
        d = 0
        while (s != "") {
          c = substr(s, 1, 1); s = substr(s, 2)
          if (c == "\\") { s = substr(s, 2); continue }
          if (c == "(") d++
          else if (c == ")" && --d == 0) break
        }
        if (d != 0) { rest = "(comment"; return 0 }
      }
      for (;;) {
        sub(/^ +/, "", s)
        if (s == "") return 1
        if (!match(s, /^[a-z][a-z0-9-]*=/)) { rest = s; return 0 }
        k = substr(s, 1, RLENGTH - 1); s = substr(s, RLENGTH + 1)
        if (substr(s, 1, 1) == "\"") {
          val = ""; s = substr(s, 2)
          while (s != "" && substr(s, 1, 1) != "\"") {
            c = substr(s, 1, 1)
            if (c == "\\") { val = val substr(s, 2, 1); s = substr(s, 3); continue }
            val = val c; s = substr(s, 2)
          }
          if (s == "") { rest = "unterminated quote"; return 0 }
          s = substr(s, 2)
        } else if (match(s, /^[A-Za-z0-9!#$%&'"'"'*+\/=?^_`{|}~.-]+/)) {
          val = substr(s, 1, RLENGTH); s = substr(s, RLENGTH + 1)
        } else { rest = s; return 0 }
        seen[k] = val
        sub(/^ +/, "", s)
        if (s == "") return 1
        if (substr(s, 1, 1) != ";") { rest = s; return 0 }
        s = substr(s, 2)
      }
    }
    /^$/ { done = 1 }
    done { next }
    /^[ \t]/ { h[n] = h[n] " " $0; next }
    { h[++n] = $0 }
    END {
      results = "^(pass|fail|softfail|neutral|none|temperror|permerror)$"
      for (i = 1; i <= n; i++) {
        x = h[i]; gsub(/[ \t]+/, " ", x)
        if (x ~ /^Received-SPF:/) {
          rs++
          v = substr(x, 15)
          r = v; sub(/ .*/, "", r)
          if (r !~ results) bad("Received-SPF: bad result: " x)
          v = substr(v, length(r) + 1)
          if (!kvparse(v)) bad("Received-SPF: not well formed at \"" rest "\": " x)
          if (seen["identity"] == "mailfrom" && r == res) {
            mf++
            if (seen["client-ip"] != ip) bad("Received-SPF: client-ip=" seen["client-ip"] ", want " ip)
            if (seen["receiver"] != as) bad("Received-SPF: receiver=" seen["receiver"])
          }
        } else if (x ~ /^Authentication-Results:/) {
          v = substr(x, 24)
          nr = split(v, part, ";")
          id = part[1]; gsub(/ /, "", id)
          if (id == "other.example") {
            if (x ~ /kept@other\.example/) foreign++
            continue
          }
          if (id != as) { bad("Authentication-Results: unknown authserv-id: " x); continue }
          if (x ~ /forged@evil/) { bad("forged Authentication-Results kept: " x); continue }
          ours++
          for (k = 2; k <= nr; k++) {
            p = part[k]; sub(/^ +/, "", p); sub(/ +$/, "", p)
            # RFC 8601: a pvalue is a token or a quoted string.
            if (p !~ /^spf=[a-z]+( reason="[^"]*")?( smtp\.(mailfrom|helo)=("[^"]*"|[^ ;"]+))+$/)
              bad("Authentication-Results: bad resinfo \"" p "\"")
            mv = ""
            if (index(p, "smtp.mailfrom=")) {
              mv = substr(p, index(p, "smtp.mailfrom=") + 14); sub(/ .*/, "", mv)
              if (mv ~ /^".*"$/) mv = substr(mv, 2, length(mv) - 2)
            }
            if (p ~ ("^spf=" res " ") && mv == ident) armf++
            if (hres != "" && p ~ ("^spf=" hres " ") && p ~ /smtp\.helo=/) arh++
          }
        }
      }
      if (mf < 1) bad("no Received-SPF: " res " for identity=mailfrom")
      if (ours != 1) bad(ours + 0 " Authentication-Results with authserv-id " as ", want 1")
      if (armf < 1) bad("Authentication-Results lacks spf=" res " smtp.mailfrom=" ident)
      if (hres != "" && arh < 1) bad("Authentication-Results lacks spf=" hres " smtp.helo")
      if (foreign != 1) bad("the foreign Authentication-Results is not kept")
      exit err
    }' "$1"
}

# delivered_ok MTA ID RESULT IDENTITY FAMILY [HELO-RESULT]: the message
# arrived and its headers are right.
delivered_ok() {
  wait_msg "$1" "$2" || return 1
  headers_ok "$(msg "$1" "$2")" "$3" "$4" "$(client "$1" "$5")" "${6:-}"
}

# forged_ok MTA ID NFORGED NKEPT: in the delivered message, none of the
# forgedN@evil.example headers is left, all keptN ones are, and spfgate's
# own Authentication-Results is there once.
forged_ok() {
  wait_msg "$1" "$2" || return 1
  _f=$(msg "$1" "$2")
  _hb=$(sed '/^$/q' "$_f")
  _rc=0
  _i=1
  while [ $_i -le "$3" ]; do
    printf '%s\n' "$_hb" | grep -q "forged$_i@evil" && { echo "  $_f: forged$_i kept" >&2; _rc=1; }
    _i=$((_i + 1))
  done
  _i=1
  while [ $_i -le "$4" ]; do
    printf '%s\n' "$_hb" | grep -q "kept$_i" || { echo "  $_f: kept$_i removed" >&2; _rc=1; }
    _i=$((_i + 1))
  done
  _n=$(printf '%s\n' "$_hb" | grep -c "^Authentication-Results: $AUTHSERV; spf=pass smtp.mailfrom=alice@pass.example")
  [ "$_n" -eq 1 ] || { echo "  $_f: $_n Authentication-Results of ours" >&2; _rc=1; }
  return $_rc
}

not_delivered() { ! msg "$1" "$2" >/dev/null; }

# no_spf_headers MTA ID: delivered, and spfgate added no header (trusted,
# authenticated); the forged Authentication-Results is still removed.
no_spf_headers() {
  wait_msg "$1" "$2" || return 1
  _f=$(msg "$1" "$2")
  _hb=$(sed '/^$/q' "$_f")
  if printf '%s\n' "$_hb" | grep -q '^Received-SPF:'; then
    echo "  $_f: has Received-SPF" >&2; return 1
  fi
  if printf '%s\n' "$_hb" | grep -q "^Authentication-Results: $AUTHSERV;.*smtp.mailfrom=[^f]"; then
    echo "  $_f: has our Authentication-Results" >&2; return 1
  fi
  return 0
}

# logged PATTERN: spfgate's log has a line matching PATTERN (grep -E).
logged() { grep -Eq "$1" "$SG_LOG" || { echo "  not in the log: $1" >&2; return 1; }; }

data_ok() { # REC: DATA 354, then 250 after the final dot
  reply_is "$1" DATA "354" && reply_is "$1" . "250 2.0.0"
}
accepted() { # REC: the message went through
  reply_is "$1" MAIL "250" && reply_is "$1" RCPT "250" && reply_is "$1" . "250 2.0.0"
}

# --- scenarios with the base configuration -----------------------------------
scenarios_base() {
  m=$1; M=$(mta_name "$m")

  tx "$m" pass alice@pass.example | run "$m" 4 pass EHLO helo-pass.example
  check "$M: SPF pass: accepted" accepted "$m-pass"
  check "$M: SPF pass: headers pass, HELO pass" delivered_ok "$m" pass pass alice@pass.example 4 pass

  tx "$m" fail mallory@fail.example bob@dest.example carol@dest.example |
    run "$m" 4 fail EHLO helo-pass.example
  check "$M: SPF fail: MAIL 250" reply_is "$m-fail" MAIL "250"
  check "$M: SPF fail: first RCPT 550 5.7.23" nth "$m-fail" RCPT 1 "550 5.7.23"
  check "$M: SPF fail: second RCPT 550 5.7.23" nth "$m-fail" RCPT 2 "550 5.7.23"
  check "$M: SPF fail: not delivered" not_delivered "$m" fail
  check "$M: SPF fail: logged action=reject stage=RCPT" \
    logged "client=$(client "$m" 4) .*from=<mallory@fail.example> .*result=fail .*action=reject stage=RCPT"

  for r in softfail neutral perm; do
    res=$r; [ $r = perm ] && res=permerror
    tx "$m" "$r" "u@$r.example" | run "$m" 4 "$r" EHLO helo-pass.example
    check "$M: SPF $res: accepted" accepted "$m-$r"
    check "$M: SPF $res: headers say $res" delivered_ok "$m" "$r" "$res" "u@$r.example" 4 pass
  done
  tx "$m" none u@nothing.example | run "$m" 4 none EHLO helo-pass.example
  check "$M: SPF none: accepted" accepted "$m-none"
  check "$M: SPF none: headers say none" delivered_ok "$m" none none u@nothing.example 4 pass

  tx "$m" temp u@temp.example | run "$m" 4 temp EHLO helo-pass.example
  check "$M: temperror (SERVFAIL): MAIL 451 4.7.24" reply_is "$m-temp" MAIL "451 4.7.24"
  check "$M: temperror (SERVFAIL): not delivered" not_delivered "$m" temp
  t0=$(it_now_ms)
  tx "$m" slow u@slow.example | run "$m" 4 slow EHLO helo-pass.example
  t=$(($(it_now_ms) - t0))
  check "$M: temperror (DNS silent): MAIL 451 4.7.24" reply_is "$m-slow" MAIL "451 4.7.24"
  # At least one dns_timeout (500 ms): the answer did not come, and at
  # most the deadline plus the session's own time.
  check "$M: temperror (DNS silent): session took $t ms (dns_timeout 500 ms, deadline 2 s)" \
    test "$t" -ge 500 -a "$t" -lt 6000

  tx "$m" nullpass "" | run "$m" 4 nullpass EHLO helo-pass.example
  check "$M: null sender, HELO pass: accepted" accepted "$m-nullpass"
  check "$M: null sender, HELO pass: identity postmaster@HELO" \
    delivered_ok "$m" nullpass pass postmaster@helo-pass.example 4 pass
  tx "$m" nullfail "" | run "$m" 4 nullfail EHLO helo-fail.example
  check "$M: null sender, HELO fail: RCPT 550 5.7.23" reply_is "$m-nullfail" RCPT "550 5.7.23"
  check "$M: null sender, HELO fail: not delivered" not_delivered "$m" nullfail

  tx "$m" helofail alice@pass.example | run "$m" 4 helofail EHLO helo-fail.example
  check "$M: HELO fail (check_helo on), MAIL FROM pass: RCPT 550 5.7.23" \
    reply_is "$m-helofail" RCPT "550 5.7.23"
  check "$M: HELO fail (check_helo on): logged identity=helo" \
    logged "client=$(client "$m" 4) helo=\"helo-fail.example\" from=<alice@pass.example> identity=helo:helo-fail.example result=fail"

  tx "$m" helotemp alice@pass.example | run "$m" 4 helotemp EHLO helo-temp.example
  check "$M: HELO temperror (SERVFAIL), MAIL FROM pass: accepted (MAIL FROM decides)" \
    accepted "$m-helotemp"
  check "$M: HELO temperror: headers say pass, and temperror for the HELO" \
    delivered_ok "$m" helotemp pass alice@pass.example 4 temperror

  tx "$m" exp mallory@exp.example | run "$m" 4 exp EHLO helo-pass.example
  _c=$(client "$m" 4)
  check "$M: SPF fail, explanation with a \"%\": RCPT 550 5.7.23, text intact" \
    said "$m-exp" RCPT "550 5.7.23 SPF fail: $_c is not allowed to send mail as mallory@exp.example. $_c is not a mail server of exp.example; 100% sure"
  tx "$m" longexp mallory@longexp.example | run "$m" 4 longexp EHLO helo-pass.example
  check "$M: SPF fail, 1400-character explanation: RCPT 550 5.7.23" \
    said "$m-longexp" RCPT "550 5.7.23 SPF fail:"
  check "$M: the long explanation's reply is one line of at most 512 octets" \
    awk -F'\t' '$1 == "RCPT" { exit !(length($3) <= 508 && index($3, "\\n") == 0) }' "$IT_TMP/rec/$m-longexp"

  tx "$m" helopass alice@pass.example | run "$m" 4 helopass HELO helo-pass.example
  check "$M: HELO instead of EHLO, SPF pass: accepted" accepted "$m-helopass"
  check "$M: HELO instead of EHLO: headers" delivered_ok "$m" helopass pass alice@pass.example 4 pass
  tx "$m" helofail2 mallory@fail.example | run "$m" 4 helofail2 HELO helo-pass.example
  check "$M: HELO instead of EHLO, SPF fail: RCPT 550 5.7.23" reply_is "$m-helofail2" RCPT "550 5.7.23"

  if [ "$m" = pf ] || [ -n "$HAVE6" ]; then
    tx "$m" v6pass alice@pass.example | run "$m" 6 v6pass EHLO helo-pass.example
    check "$M: IPv6 client $(client "$m" 6), SPF pass: accepted" accepted "$m-v6pass"
    check "$M: IPv6 client: headers, client-ip" delivered_ok "$m" v6pass pass alice@pass.example 6 pass
    tx "$m" v6fail mallory@fail.example | run "$m" 6 v6fail EHLO helo-pass.example
    check "$M: IPv6 client, SPF fail: RCPT 550 5.7.23" reply_is "$m-v6fail" RCPT "550 5.7.23"
  else
    skip "$M: no IPv6 on loopback"
  fi

  tx "$m" exc mallory@fail.example bob@dest.example postmaster@dest.example carol@dest.example |
    run "$m" 4 exc EHLO helo-pass.example
  check "$M: SPF fail, 3 recipients: bob 550 5.7.23" nth "$m-exc" RCPT 1 "550 5.7.23"
  check "$M: SPF fail, 3 recipients: postmaster 250" nth "$m-exc" RCPT 2 "250"
  check "$M: SPF fail, 3 recipients: carol 550 5.7.23" nth "$m-exc" RCPT 3 "550 5.7.23"
  check "$M: SPF fail, postmaster's copy: DATA 354, end of data 250" \
    data_ok "$m-exc"
  check "$M: SPF fail, postmaster's copy delivered, headers say fail" \
    delivered_ok "$m" exc fail mallory@fail.example 4 pass
  check "$M: postmaster's copy went to postmaster only" \
    sh -c "grep -q '^X-Rcpt-Args: <postmaster@dest.example>' '$(msg "$m" exc)' &&
      ! grep -q '^X-Rcpt-Args: <\(bob\|carol\)@' '$(msg "$m" exc)'"

  { tx "$m" two1 mallory@fail.example | sed '/^DATA$/,$d'; echo RSET
    tx "$m" two1 alice@pass.example; } | run "$m" 4 two1 EHLO helo-pass.example
  check "$M: fail, RSET, pass in one session: RCPT 550 5.7.23" nth "$m-two1" RCPT 1 "550 5.7.23"
  check "$M: fail, RSET, pass: RSET 250" reply_is "$m-two1" RSET "250"
  check "$M: fail, RSET, pass: second RCPT 250" nth "$m-two1" RCPT 2 "250"
  check "$M: fail, RSET, pass: end of data 250" reply_is "$m-two1" . "250 2.0.0"
  check "$M: fail, RSET, pass: headers of the pass" delivered_ok "$m" two1 pass alice@pass.example 4 pass

  { tx "$m" two2 alice@pass.example
    tx "$m" two2b mallory@fail.example | sed '/^DATA$/,$d'; echo RSET
    tx "$m" two2c softfail@softfail.example; } | run "$m" 4 two2 EHLO helo-pass.example
  check "$M: pass, fail, RSET, softfail: first message 250" nth "$m-two2" . 1 "250 2.0.0"
  check "$M: pass, fail, RSET, softfail: the fail's RCPT 550 5.7.23" nth "$m-two2" RCPT 2 "550 5.7.23"
  check "$M: pass, fail, RSET, softfail: third transaction RCPT 250" nth "$m-two2" RCPT 3 "250"
  check "$M: pass, fail, RSET, softfail: third message 250" nth "$m-two2" . 2 "250 2.0.0"
  check "$M: pass, then others: first message's headers say pass" \
    delivered_ok "$m" two2 pass alice@pass.example 4 pass
  check "$M: the third message's headers say softfail (nothing left of the first)" \
    delivered_ok "$m" two2c softfail softfail@softfail.example 4 pass

  { tx "$m" two3 u@temp.example | sed '/^RCPT/,$d'; tx "$m" two3 alice@pass.example; } |
    run "$m" 4 two3 EHLO helo-pass.example
  check "$M: temperror, then pass in one session: MAIL 451 4.7.24" nth "$m-two3" MAIL 1 "451 4.7.24"
  check "$M: temperror, then pass: second MAIL 250" nth "$m-two3" MAIL 2 "250"
  check "$M: temperror, then pass: accepted" data_ok "$m-two3"
  check "$M: temperror, then pass: headers say pass" delivered_ok "$m" two3 pass alice@pass.example 4 pass

  tx "$m" nulltemp "" | run "$m" 4 nulltemp EHLO helo-temp.example
  check "$M: null sender, HELO temperror: MAIL 451 4.7.24" reply_is "$m-nulltemp" MAIL "451 4.7.24"

  # A second EHLO replaces the first HELO name (Sendmail refuses a second
  # one: then the first stays and the HELO fail is kept).
  { echo "EHLO helo-pass.example"; tx "$m" rehelo alice@pass.example; } |
    run "$m" 4 rehelo EHLO helo-fail.example
  if [ "$(replies "$m-rehelo" EHLO | tail -1 | cut -c1-3)" = 250 ]; then
    check "$M: EHLO helo-fail, then EHLO helo-pass, MAIL FROM pass: accepted" accepted "$m-rehelo"
    check "$M: second EHLO: headers say HELO pass" delivered_ok "$m" rehelo pass alice@pass.example 4 pass
  else
    check "$M: second EHLO refused by the MTA: the HELO fail stays, RCPT 550 5.7.23" \
      reply_is "$m-rehelo" RCPT "550 5.7.23"
  fi

  tx "$m" literal "" | run "$m" 4 literal EHLO "[$(client "$m" 4)]"
  check "$M: null sender, HELO an address literal: accepted" accepted "$m-literal"
  check "$M: HELO an address literal: headers say none for postmaster@[address]" \
    delivered_ok "$m" literal none "postmaster@[$(client "$m" 4)]" 4

  tx "$m" pmcase mallory@fail.example PostMaster@dest.example | run "$m" 4 pmcase EHLO helo-pass.example
  check "$M: SPF fail, RCPT PostMaster (any case is postmaster): 250" reply_is "$m-pmcase" RCPT "250"

  # Several Authentication-Results, ours and others, around and between:
  # exactly ours go (RFC 8601 section 5), whatever their position and the
  # MTA's way of counting headers; ours also in other case, after a
  # comment, with a version.
  cat <<EOF | run "$m" 4 forged EHLO helo-pass.example
MAIL FROM:<alice@pass.example>
RCPT TO:<bob@dest.example>
DATA
Authentication-Results: other.example; spf=fail smtp.mailfrom=kept1@other.example
Authentication-Results: $AUTHSERV; spf=pass smtp.mailfrom=forged1@evil.example
Subject: it $m forged
Authentication-Results: $AUTHSERV.evil; spf=pass smtp.mailfrom=kept2@evil.example
Authentication-Results: $AUTHSERV;
	spf=pass smtp.mailfrom=forged2@evil.example
From: <alice@pass.example>
Authentication-Results: $AUTHSERV; spf=pass smtp.mailfrom=forged3@evil.example
Authentication-Results: other.example; dkim=pass header.d=kept3.example
Authentication-Results: MX.IT.Example; spf=pass smtp.mailfrom=forged4@evil.example
Authentication-Results: (a comment) $AUTHSERV; spf=pass smtp.mailfrom=forged5@evil.example
Authentication-Results: $AUTHSERV 1; spf=pass smtp.mailfrom=forged6@evil.example

Body.
.
QUIT
EOF
  check "$M: several Authentication-Results: accepted" accepted "$m-forged"
  check "$M: every one with our authserv-id removed, the others kept" forged_ok "$m" forged 6 3

  if [ "$m" = pf ]; then
    tx "$m" auth mallory@fail.example | run "$m" 4 auth EHLO helo-pass.example " LOGIN=alice"
    check "$M: SMTP AUTH (XCLIENT LOGIN) sender, SPF fail: accepted" accepted "$m-auth"
    check "$M: SMTP AUTH: no SPF headers added" no_spf_headers "$m" auth
    check "$M: SMTP AUTH: logged skip=auth" \
      logged "from=<mallory@fail.example> .*skip=auth .*action=accept"
  elif [ -n "$SM_AUTH" ]; then
    { echo "AUTH PLAIN AGFsaWNlAHNlY3JldA=="
      tx "$m" auth mallory@fail.example; } | run "$m" 4 auth EHLO helo-pass.example
    check "$M: SMTP AUTH PLAIN: 235" reply_is "$m-auth" AUTH "235"
    check "$M: SMTP AUTH sender, SPF fail: accepted" accepted "$m-auth"
    check "$M: SMTP AUTH: no SPF headers added" no_spf_headers "$m" auth
    check "$M: SMTP AUTH: logged skip=auth" \
      logged "client=$SM4 .*from=<mallory@fail.example> .*skip=auth .*action=accept"
  else
    skip "$M: SMTP AUTH: no mount namespaces or no saslpasswd2 (sasl2-bin) for a private SASL set-up"
  fi
}

t0=$(it_now_ms)
for m in $MTAS; do scenarios_base "$m"; done
echo "timing: base scenarios $(($(it_now_ms) - t0)) ms"

# --- check_helo = no ------------------------------------------------------------
t0=$(it_now_ms)
if sg_reload "check_helo = no"; then
  ok "reload: check_helo = no"
  for m in $MTAS; do
    M=$(mta_name "$m")
    tx "$m" nohelo alice@pass.example | run "$m" 4 nohelo EHLO helo-fail.example
    check "$M: HELO fail, check_helo off, MAIL FROM pass: accepted" accepted "$m-nohelo"
    check "$M: check_helo off: headers pass, no HELO result" \
      delivered_ok "$m" nohelo pass alice@pass.example 4
    check "$M: check_helo off: no Received-SPF for the HELO" \
      sh -c "! sed '/^\$/q' '$(msg "$m" nohelo)' | grep -q 'identity=helo'"
    tx "$m" nohelonull "" | run "$m" 4 nohelonull EHLO helo-fail.example
    check "$M: check_helo off, null sender, HELO fail: RCPT 550 5.7.23 (postmaster@HELO)" \
      reply_is "$m-nohelonull" RCPT "550 5.7.23"
  done
else
  fail "reload: check_helo = no"
fi

# --- trusted client -------------------------------------------------------------
if sg_reload "trusted_networks = $PF4/32 $SM4/32"; then
  ok "reload: trusted_networks = the clients' addresses"
  for m in $MTAS; do
    M=$(mta_name "$m")
    tx "$m" trusted mallory@fail.example | run "$m" 4 trusted EHLO helo-fail.example
    check "$M: trusted client, SPF fail: accepted" accepted "$m-trusted"
    check "$M: trusted client: no SPF headers" no_spf_headers "$m" trusted
    check "$M: trusted client: logged skip=trusted" \
      logged "client=$(client "$m" 4) .*from=<mallory@fail.example> .*skip=trusted"
  done
else
  fail "reload: trusted_networks"
fi

# --- dry run --------------------------------------------------------------------
if sg_reload "dry_run = yes"; then
  ok "reload: dry_run = yes"
  for m in $MTAS; do
    M=$(mta_name "$m")
    tx "$m" dry mallory@fail.example | run "$m" 4 dry EHLO helo-pass.example
    check "$M: dry run, SPF fail: accepted" accepted "$m-dry"
    check "$M: dry run: headers say fail" delivered_ok "$m" dry fail mallory@fail.example 4 pass
    check "$M: dry run: logged would-reject" \
      logged "client=$(client "$m" 4) .*from=<mallory@fail.example> .*would-reject"
  done
else
  fail "reload: dry_run = yes"
fi

# --- a site's reject code ---------------------------------------------------------
if sg_reload "reject_code = 553"; then
  ok "reload: reject_code = 553"
  for m in $MTAS; do
    M=$(mta_name "$m")
    tx "$m" code553 mallory@fail.example | run "$m" 4 code553 EHLO helo-pass.example
    check "$M: reject_code 553, SPF fail: RCPT 553 5.7.23" reply_is "$m-code553" RCPT "553 5.7.23"
  done
else
  fail "reload: reject_code = 553"
fi
# --- a site's actions and temporary code ------------------------------------------
if sg_reload "on_permerror = reject" "on_softfail = tempfail" "tempfail_code = 452"; then
  ok "reload: on_permerror = reject, on_softfail = tempfail, tempfail_code = 452"
  for m in $MTAS; do
    M=$(mta_name "$m")
    tx "$m" permrej u@perm.example | run "$m" 4 permrej EHLO helo-pass.example
    check "$M: on_permerror = reject: RCPT 550 5.7.24" reply_is "$m-permrej" RCPT "550 5.7.24"
    tx "$m" softtemp u@softfail.example | run "$m" 4 softtemp EHLO helo-pass.example
    check "$M: on_softfail = tempfail, tempfail_code = 452: MAIL 452 4.x" \
      reply_is "$m-softtemp" MAIL "452 4."
    check "$M: on_softfail = tempfail: not delivered" not_delivered "$m" softtemp
    tx "$m" temp452 u@temp.example | run "$m" 4 temp452 EHLO helo-pass.example
    check "$M: tempfail_code = 452, temperror: MAIL 452 4.7.24" reply_is "$m-temp452" MAIL "452 4.7.24"
  done
else
  fail "reload: a site's actions"
fi
sg_reload || fail "reload: back to the base configuration"
echo "timing: reloaded scenarios $(($(it_now_ms) - t0)) ms"

# --- no mail lost ----------------------------------------------------------------
# tempfail_ok REC COMMAND: COMMAND got a 4xx reply.
tempfail_ok() {
  _c=$(awk -F'\t' -v c="$2" '$1 == c { print $2; exit }' "$IT_TMP/rec/$1")
  case $_c in 4??) return 0 ;; esac
  echo "  $1: $2 got ${_c:-(none)}, want 4xx" >&2
  return 1
}
down_code() { [ "$1" = pf ] && echo "451 4.7.1" || echo "451 4.3.2"; }

flows() { # TAG: a pass goes through both MTAs
  for m in $MTAS; do
    tx "$m" "$1" alice@pass.example | run "$m" 4 "$1" EHLO helo-pass.example
    check "$(mta_name "$m"): $2: SPF pass accepted again" accepted "$m-$1"
    check "$(mta_name "$m"): $2: headers" delivered_ok "$m" "$1" pass alice@pass.example 4 pass
  done
}

t0=$(it_now_ms)
it_kill_pid "$SG_PID"
check "spfgate stopped (SIGTERM)" sh -c "! kill -0 $SG_PID 2>/dev/null"
for m in $MTAS; do
  M=$(mta_name "$m")
  tx "$m" down alice@pass.example | run "$m" 4 down EHLO helo-pass.example
  check "$M, spfgate stopped: MAIL $(down_code "$m")" reply_is "$m-down" MAIL "$(down_code "$m")"
  check "$M, spfgate stopped: not delivered" not_delivered "$m" down
done
if sg_start; then ok "spfgate started again"; else fail "spfgate did not start again"; fi
flows up1 "after a restart"

# SIGKILL between RCPT and DATA.
for m in $MTAS; do
  M=$(mta_name "$m")
  tx "$m" killed alice@pass.example | sed 's/^DATA$/!SLEEP 2\nDATA/' |
    run "$m" 4 killed EHLO helo-pass.example &
  bg=$!
  i=0
  while [ $i -lt 100 ] && ! grep -q '^RCPT' "$IT_TMP/rec/$m-killed" 2>/dev/null; do
    sleep 0.05; i=$((i + 1))
  done
  kill -9 "$SG_PID"
  wait "$bg"
  check "$M, spfgate killed after RCPT: RCPT was 250" reply_is "$m-killed" RCPT 250
  check "$M, spfgate killed after RCPT: a temporary failure at DATA or end of data" \
    awk -F'\t' '($1 == "DATA" || $1 == ".") && $2 ~ /^4/ { f = 1 } END { exit !f }' "$IT_TMP/rec/$m-killed"
  sleep 0.5
  check "$M, spfgate killed: not delivered" not_delivered "$m" killed
  sg_start || fail "spfgate did not start again after SIGKILL"
done
flows up2 "after SIGKILL and a restart"

# Hung: SIGSTOP past the MTAs' milter timeouts, then SIGCONT.
kill -STOP "$SG_PID"
for m in $MTAS; do
  M=$(mta_name "$m")
  t1=$(it_now_ms)
  tx "$m" hung alice@pass.example | run "$m" 4 hung EHLO helo-pass.example
  t=$(($(it_now_ms) - t1))
  check "$M, spfgate hung: MAIL $(down_code "$m") ($t ms)" reply_is "$m-hung" MAIL "$(down_code "$m")"
  check "$M, spfgate hung: not delivered" not_delivered "$m" hung
done
kill -CONT "$SG_PID"
flows up3 "after SIGCONT"
echo "timing: failure scenarios $(($(it_now_ms) - t0)) ms"

# --- the audit ---------------------------------------------------------------------
for m in $MTAS; do
  M=$(mta_name "$m")
  out=$(sh "$IT_LIB/audit.sh" -v "$TABLE" "$IT_TMP/rec/$m"-*)
  n=$(printf '%s\n' "$out" | sed -n 's/^audited \([0-9]*\) replies.*/\1/p')
  nv=$(printf '%s\n' "$out" | grep -c '^violation:')
  printf '%s\n' "$out" | grep '^violation:' | sed 's/^/  /'
  sessions=$(ls "$IT_TMP/rec/$m"-* | wc -l)
  check "$M: audit: $n replies in $sessions sessions, $nv outside the command-reply table" \
    test "$nv" -eq 0 -a "${n:-0}" -gt 0
  check "$M: no session timed out" sh -c "! grep -l '^TIMEOUT' '$IT_TMP/rec/$m'-* >&2"
done
check "spfgate is still running" kill -0 "$SG_PID"
check "spfgate's log has no crash or assertion" \
  sh -c "! grep -Eiq 'assert|sanitizer|segmentation|runtime error' '$SG_LOG'"

# --- end ---------------------------------------------------------------------------
echo "sessions: postfix $(ls "$IT_TMP/rec"/pf-* | wc -l), sendmail $(ls "$IT_TMP/rec"/sm-* | wc -l)"
echo "timings (ms):"
grep -v '^session' "$IT_TMP/timings" | sed 's/^/  /'
echo "  whole run $(($(it_now_ms) - t_start))"
tmp=$IT_TMP
it_cleanup
trap - EXIT
left=$(pgrep -f "$tmp" | tr '\n' ' ')
[ -n "${PF_MASTER:-}" ] && kill -0 "$PF_MASTER" 2>/dev/null && left="$left$PF_MASTER"
if [ -n "$left" ]; then
  fail "cleanup: processes of this run are left: $left"
else
  ok "cleanup: nothing of this run is left running"
fi
it_summary
