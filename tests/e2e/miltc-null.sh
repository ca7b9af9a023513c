#!/bin/sh
# miltc-null.sh - the milter-protocol client (miltc) against the filter
# that continues everything (nullmilter), on a unix socket and on a TCP
# port: full sessions must pass, a wrong expectation must be reported with
# a non-zero exit, the negotiated skip and no-reply flags must be honoured,
# a dead socket must fail fast, and the load mode must count its messages. miltc's own output is shown indented, so that its
# FAIL: lines are not counted as this test's.
set -u
tools="${SPFGATE_TOOLS:-tests/tools}"
miltc="$tools/miltc"
null="$tools/nullmilter"
fail=0
tmp=$(mktemp -d) || exit 99
pid=""

# stop_null: stops the running nullmilter by its pid and waits for it.
stop_null() {
  [ -n "$pid" ] || return 0
  kill "$pid" 2>/dev/null
  i=0
  while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  kill -0 "$pid" 2>/dev/null && { kill -9 "$pid" 2>/dev/null; echo "FAIL: nullmilter ignored SIGTERM"; fail=1; }
  wait "$pid" 2>/dev/null
  pid=""
}
trap 'stop_null; rm -rf "$tmp"' EXIT

# start_null SOCKET [OPTION...]: starts nullmilter; returns 0 once it
# listens (it writes its pid file after opening the socket), 1 if it exited
# or took too long.
start_null() {
  rm -f "$tmp/null.pid"
  s=$1; shift
  "$null" -p "$s" -P "$tmp/null.pid" "$@" 2>"$tmp/null.err" &
  pid=$!
  i=0
  while [ ! -s "$tmp/null.pid" ] && [ $i -lt 50 ]; do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; pid=""; return 1; }
    sleep 0.1; i=$((i + 1))
  done
  [ -s "$tmp/null.pid" ] && [ "$(cat "$tmp/null.pid")" = "$pid" ] && return 0
  stop_null; return 1
}

# show FILE: prints a file indented.
show() { sed 's/^/  | /' "$1"; }

cat >"$tmp/full.script" <<'EOF'
# A full session: two transactions, the second one aborted.
macro connect j=mx.example.org {daemon_name}=smtpd
connect client.example.org 192.0.2.10 40001
expect continue
helo client.example.org
expect continue
macro mail {auth_authen}=alice i=4Q1abc
mail <alice@example.org> SIZE=1234 BODY=8BITMIME
expect continue
rcpt <bob@example.net>
expect continue
rcpt <carol@example.net>
expect continue
data
expect continue
header From: Alice <alice@example.org>
expect continue
header Subject: "quoted" words
expect continue
eoh
expect continue
body Hello Bob,\r\nthis is a test.\r\n
expect continue
macro eom i=4Q1abc
eom
expect continue
expect nomods
expect noheader Received-SPF
mail <>
expect continue
rcpt <dave@example.net>
expect continue
abort
expect noreply
unknown XCLIENT NAME=foo
expect continue
quitnc
connect other.example.org 2001:db8::1 40002
expect continue
helo other.example.org
expect continue
quit
EOF
nexpect=$(grep -c '^expect' "$tmp/full.script")

cat >"$tmp/wrong.script" <<'EOF'
connect client.example.org 192.0.2.10
expect continue
helo client.example.org
mail <alice@example.org>
expect reject
rcpt <bob@example.net>
expect reply 550 5.7.23
data
eoh
eom
expect header Received-SPF
quit
EOF

# run_full LABEL SOCKET: the full session must pass every expect.
run_full() {
  "$miltc" -s "$2" -t 5 <"$tmp/full.script" >"$tmp/out" 2>"$tmp/err"; rc=$?
  if [ "$rc" -eq 0 ] && grep -q "^$nexpect passed, 0 failed\$" "$tmp/out" &&
     grep -q '^eom -> continue$' "$tmp/out" && grep -q '^rcpt -> continue$' "$tmp/out"; then
    echo "ok: $1: full session, $nexpect expects passed"
  else
    echo "FAIL: $1: full session: exit $rc"; show "$tmp/out"; show "$tmp/err"; fail=1
  fi
}

# run_wrong LABEL SOCKET: wrong expectations must fail, and say where.
run_wrong() {
  "$miltc" -s "$2" -t 5 <"$tmp/wrong.script" >"$tmp/out" 2>"$tmp/err"; rc=$?
  if [ "$rc" -eq 1 ] && grep -q '^1 passed, 3 failed$' "$tmp/out" &&
     grep -q '^FAIL: line 5: expected reject, got continue' "$tmp/out" &&
     grep -q '^FAIL: line 7: expected reply 550 5.7.23, got continue' "$tmp/out" &&
     grep -q '^FAIL: line 11: expected header Received-SPF, got continue, no actions' "$tmp/out"; then
    echo "ok: $1: wrong expectations reported, exit 1"
  else
    echo "FAIL: $1: wrong expectations: exit $rc"; show "$tmp/out"; show "$tmp/err"; fail=1
  fi
}

# --- unix socket -------------------------------------------------------
sock="unix:$tmp/null.sock"
if start_null "$sock"; then
  echo "ok: nullmilter listens on a unix socket"
  run_full unix "$sock"
  run_wrong unix "$sock"

  "$miltc" -s "$sock" -n 300 -c 4 -t 5 >"$tmp/out" 2>"$tmp/err"; rc=$?
  if [ "$rc" -eq 0 ] && grep -q '^messages: 300, connections: 4,' "$tmp/out" &&
     grep -q '^rate: ' "$tmp/out" && grep -q '^latency: p50 ' "$tmp/out" &&
     grep -q '^0 passed, 0 failed, 0 errors$' "$tmp/out"; then
    echo "ok: load mode, 300 messages over 4 connections"
  else
    echo "FAIL: load mode: exit $rc"; show "$tmp/out"; show "$tmp/err"; fail=1
  fi

  "$miltc" -s "$sock" -n 50 -c 2 -t 5 -f "$tmp/full.script" >"$tmp/out" 2>"$tmp/err"; rc=$?
  if [ "$rc" -eq 0 ] && grep -q '^messages: 50, connections: 2,' "$tmp/out" &&
     grep -q ' 0 failed, 0 errors$' "$tmp/out"; then
    echo "ok: load mode replays a script's transaction with its expects"
  else
    echo "FAIL: load mode with a script: exit $rc"; show "$tmp/out"; show "$tmp/err"; fail=1
  fi

  stop_null
  if [ ! -S "$tmp/null.sock" ] || ! "$miltc" -s "$sock" -t 2 <"$tmp/full.script" >/dev/null 2>&1; then
    echo "ok: nullmilter stopped by SIGTERM"
  else
    echo "FAIL: nullmilter still answers after SIGTERM"; fail=1
  fi
else
  echo "FAIL: nullmilter did not start on $sock"; show "$tmp/null.err"; fail=1
fi

# --- negotiation honoured: a skipped step, a no-reply step, a header ----
# 0xa002 = SMFIP_NOHELO | SMFIP_NR_RCPT | SMFIP_NR_HELO (the last is moot).
cat >"$tmp/flags.script" <<'EOF'
connect client.example.org 192.0.2.10
expect continue
helo client.example.org
expect notsent
mail <alice@example.org>
expect continue
rcpt <bob@example.net>
expect noreply
data
expect continue
eoh
eom
expect header X-Null
expect insheader X-Null 0 "hello  world"
expect noheader Received-SPF
expect continue
quit
EOF
sock="unix:$tmp/flags.sock"
if start_null "$sock" -F 0xa002 -H 'X-Null: hello  world'; then
  "$miltc" -s "$sock" -t 5 <"$tmp/flags.script" >"$tmp/out" 2>"$tmp/err"; rc=$?
  if [ "$rc" -eq 0 ] && grep -q '^9 passed, 0 failed$' "$tmp/out" &&
     grep -q '^optneg -> version 6 actions 0x1 protocol 0xa002$' "$tmp/out" &&
     grep -q '^eom -> insheader 0 X-Null: hello  world$' "$tmp/out" &&
     ! grep -q '^helo ->' "$tmp/out" && ! grep -q '^rcpt ->' "$tmp/out"; then
    echo "ok: skipped and no-reply steps honoured, inserted header seen"
  else
    echo "FAIL: negotiated flags: exit $rc"; show "$tmp/out"; show "$tmp/err"; fail=1
  fi
  # the same script against a filter that wants every step must fail
  stop_null
  start_null "$sock" -H 'X-Other: x' || { echo "FAIL: nullmilter -H did not start"; fail=1; }
  "$miltc" -s "$sock" -t 5 <"$tmp/flags.script" >"$tmp/out" 2>"$tmp/err"; rc=$?
  if [ "$rc" -eq 1 ] && grep -q '^FAIL: line 4: expected notsent, got continue' "$tmp/out" &&
     grep -q '^FAIL: line 8: expected noreply, got continue' "$tmp/out" &&
     grep -q '^FAIL: line 13: expected header X-Null, got insheader 0 X-Other: x' "$tmp/out"; then
    echo "ok: unmet negotiation expectations reported"
  else
    echo "FAIL: unmet negotiation expectations: exit $rc"; show "$tmp/out"; show "$tmp/err"; fail=1
  fi
  stop_null
else
  echo "FAIL: nullmilter -F -H did not start"; show "$tmp/null.err"; fail=1
fi

# --- nobody listening: an error, fast, exit 1 ---------------------------
start=$(date +%s)
printf 'connect a.example 192.0.2.1\nexpect continue\nquit\n' |
  "$miltc" -s "unix:$tmp/none.sock" -t 5 >"$tmp/out" 2>"$tmp/err"; rc=$?
if [ "$rc" -eq 1 ] && grep -q '^ERROR: line 1: connect ' "$tmp/out" &&
   grep -q '^0 passed, 1 failed$' "$tmp/out" && [ $(( $(date +%s) - start )) -lt 4 ]; then
  echo "ok: a socket nobody listens on fails at once"
else
  echo "FAIL: dead socket: exit $rc"; show "$tmp/out"; show "$tmp/err"; fail=1
fi

# --- a misbehaving milter: closes, sends a huge length, stays silent -----
# A one-connection fake milter in Python; skipped when there is none.
cat >"$tmp/fake.py" <<'EOF'
import socket, struct, sys, time
path, mode = sys.argv[1], sys.argv[2]
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(1)
conn, _ = srv.accept()
def packet():
    n = struct.unpack("!I", conn.recv(4, socket.MSG_WAITALL))[0]
    return conn.recv(n, socket.MSG_WAITALL)
packet()
conn.sendall(struct.pack("!IcIII", 13, b"O", 6, 0, 0))
packet()
if mode == "huge":
    conn.sendall(struct.pack("!Ic", 0x7FFFFFFF, b"c"))
    time.sleep(3)
elif mode == "silent":
    time.sleep(4)
elif mode == "reject":
    # connect continues, MAIL is rejected; then log what the client sends
    conn.sendall(struct.pack("!Ic", 1, b"c"))
    seen = "OC"
    text = b"550 5.7.23 SPF fail\0"
    conn.sendall(struct.pack("!Ic", 1 + len(text), b"y") + text)
    while True:
        head = conn.recv(4, socket.MSG_WAITALL)
        if len(head) < 4:
            break
        data = conn.recv(struct.unpack("!I", head)[0], socket.MSG_WAITALL)
        seen += data[:1].decode()
        if data[:1] in (b"R", b"T", b"N", b"E"):
            conn.sendall(struct.pack("!Ic", 1, b"c"))
    open(path + ".seen", "w").write(seen + "\n")
conn.close()
EOF
# fake MODE: runs miltc -t 1 against the fake milter in MODE.
fake() {
  rm -f "$tmp/fake.sock"
  python3 "$tmp/fake.py" "$tmp/fake.sock" "$1" &
  fpid=$!
  i=0
  while [ ! -S "$tmp/fake.sock" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  start=$(date +%s)
  "$miltc" -s "unix:$tmp/fake.sock" -t 1 <"$tmp/fake.script" >"$tmp/out" 2>"$tmp/err"; rc=$?
  took=$(( $(date +%s) - start ))
  # "reject" writes what it saw once the client has gone: let it finish.
  i=0
  while [ "$1" = reject ] && kill -0 "$fpid" 2>/dev/null && [ $i -lt 50 ]; do
    sleep 0.1; i=$((i + 1))
  done
  kill "$fpid" 2>/dev/null; wait "$fpid" 2>/dev/null
}
printf 'connect a.example 192.0.2.1\nexpect closed\nhelo a.example\nexpect notsent\nquit\n' >"$tmp/fake.script"
if command -v python3 >/dev/null 2>&1; then
  fake close
  if [ "$rc" -eq 0 ] && grep -q '^connect -> connection closed by milter$' "$tmp/out" &&
     grep -q '^2 passed, 0 failed$' "$tmp/out"; then
    echo "ok: a milter that hangs up is reported, later commands not sent"
  else
    echo "FAIL: milter hang-up: exit $rc"; show "$tmp/out"; show "$tmp/err"; fail=1
  fi
  fake huge
  if [ "$rc" -eq 1 ] && grep -q '^ERROR: line 1: connect: malformed packet: length 2147483647$' "$tmp/out" &&
     [ "$took" -lt 3 ]; then
    echo "ok: an oversized packet is refused at once"
  else
    echo "FAIL: oversized packet: exit $rc after ${took}s"; show "$tmp/out"; show "$tmp/err"; fail=1
  fi
  fake silent
  if [ "$rc" -eq 1 ] && grep -q '^ERROR: line 1: connect: timeout$' "$tmp/out" && [ "$took" -lt 4 ]; then
    echo "ok: a silent milter times out (-t 1)"
  else
    echo "FAIL: silent milter: exit $rc after ${took}s"; show "$tmp/out"; show "$tmp/err"; fail=1
  fi
  # a rejected MAIL ends the message: rcpt..eom are not sent, abort is
  cat >"$tmp/fake.script" <<'EOF'
connect a.example 192.0.2.1
mail <a@example.org>
expect reply 550 5.7.23 SPF fail
expect reject
rcpt <b@example.net>
expect notsent
data
eoh
eom
expect notsent
abort
quit
EOF
  fake reject
  if [ "$rc" -eq 0 ] && grep -q '^4 passed, 0 failed$' "$tmp/out" &&
     grep -q '^mail -> reply 550 5.7.23 SPF fail$' "$tmp/out" &&
     [ "$(cat "$tmp/fake.sock.seen" 2>/dev/null)" = "OCMAQ" ]; then
    echo "ok: a message decided at MAIL is not sent on, like an MTA"
  else
    echo "FAIL: decided message: exit $rc, milter saw $(cat "$tmp/fake.sock.seen" 2>/dev/null)"
    show "$tmp/out"; show "$tmp/err"; fail=1
  fi
else
  echo "note: no python3, the misbehaving-milter checks are skipped"
fi

# --- a bad script is refused before anything is sent -------------------
printf 'connect a.example 192.0.2.1\nfrobnicate\n' |
  "$miltc" -s "unix:$tmp/none.sock" >"$tmp/out" 2>"$tmp/err"; rc=$?
if [ "$rc" -eq 2 ] && grep -q 'stdin:2: unknown command' "$tmp/err" && [ ! -s "$tmp/out" ]; then
  echo "ok: a bad script line exits 2"
else
  echo "FAIL: bad script: exit $rc"; show "$tmp/out"; show "$tmp/err"; fail=1
fi

# --- TCP on 127.0.0.1, on a free port -----------------------------------
port=""
base=$(( 20000 + $$ % 20000 ))
for try in 0 1 2 3 4 5 6 7 8 9; do
  p=$(( base + try * 7 ))
  if start_null "inet:$p@127.0.0.1"; then port=$p; break; fi
done
if [ -n "$port" ]; then
  echo "ok: nullmilter listens on a TCP port"
  run_full inet "inet:$port@127.0.0.1"
  run_wrong inet "inet:$port@127.0.0.1"
  stop_null
else
  echo "FAIL: nullmilter did not start on any TCP port"; show "$tmp/null.err"; fail=1
fi
exit $fail
