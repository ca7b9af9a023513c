#!/bin/sh
# daemon.sh - the real spfgate binary over its socket, driven by miltc (a
# milter-protocol client), against a test DNS server on 127.0.0.1.
#
# Covers every SPF result, the null sender, the HELO identity, IPv6,
# trusted clients, SMTP AUTH, recipient exceptions, two transactions on one
# connection, abort, forged Authentication-Results, hostile input, dry run.
# Every reply code spfgate sends is audited against the seed table.
set -u
. "$(dirname "$0")/../lib/testenv.sh"
MILTC="$SPFGATE_TOOLS/miltc"

cat >"$T_DIR/zone" <<'ZONE'
pass.example TXT "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all"
fail.example TXT "v=spf1 ip4:198.51.100.1 -all"
softfail.example TXT "v=spf1 ~all"
neutral.example TXT "v=spf1 ?all"
perm.example TXT "v=spf1 ip4:192.0.2.0/33 -all"
temp.example SERVFAIL
slow.example TIMEOUT
exp.example TXT "v=spf1 -all exp=why.exp.example"
why.exp.example TXT "%{i} is not a mail server of %{d}; 100%% sure"
helo-pass.example TXT "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all"
helo-fail.example TXT "v=spf1 -all"
ZONE
t_dns "$T_DIR/zone"

# write_conf NAME EXTRA...: a configuration for daemon NAME.
write_conf() {
  name=$1; shift
  {
    echo "socket = unix:$T_DIR/$name.sock"
    echo "log = stderr"
    echo "log_level = debug"
    echo "dns_servers = 127.0.0.1:$T_DNS_PORT"
    echo "dns_timeout = 500ms"
    echo "deadline = 2s"
    echo "authserv_id = mx.test.example"
    for line in "$@"; do echo "$line"; done
  } >"$T_DIR/$name.conf"
}
write_conf main
write_conf dry "dry_run = yes"
t_daemon main "$T_DIR/main.conf"
t_daemon dry "$T_DIR/dry.conf"

# run NAME DAEMON: plays T_DIR/NAME.script; the output goes to NAME.out.
run() {
  if "$MILTC" -s "unix:$T_DIR/$2.sock" -t 10 <"$T_DIR/$1.script" >"$T_DIR/$1.out" 2>&1; then
    ok "$1"
  else
    fail "$1"; sed 's/^/    /' "$T_DIR/$1.out"
  fi
}

# Client 192.0.2.10 is allowed by pass.example and helo-pass.example.
cat >"$T_DIR/pass.script" <<'EOF2'
macro connect j=mx.test.example
connect client.example 192.0.2.10
expect noreply
helo helo-pass.example
expect noreply
macro mail i=QPASS1
mail <alice@pass.example>
expect continue
rcpt <bob@local.example>
expect continue
header Subject: hello
header Authentication-Results: mx.test.example; spf=pass smtp.mailfrom=forged@x.example
header Authentication-Results: other.example; spf=pass smtp.mailfrom=a@b.example
eoh
body hello\r\n
eom
expect header Received-SPF
expect header Authentication-Results
expect chgheader Authentication-Results 1
expect continue
quit
EOF2
run pass main
grep -q 'Received-SPF: pass' "$T_DIR/pass.out" && ok "pass: Received-SPF says pass" || fail "pass: Received-SPF says pass"
grep -q 'Authentication-Results: mx.test.example; spf=pass smtp.mailfrom=alice@pass.example' "$T_DIR/pass.out" &&
  ok "pass: Authentication-Results" || fail "pass: Authentication-Results"
grep -q 'spf=pass smtp.helo=helo-pass.example' "$T_DIR/pass.out" && ok "pass: AR carries the HELO result" || fail "pass: AR carries the HELO result"
if grep -q 'chgheader 2 Authentication-Results' "$T_DIR/pass.out"; then fail "pass: foreign AR kept"; else ok "pass: foreign AR kept"; fi

# SPF fail: refused at RCPT with 550 5.7.23, postmaster let through.
cat >"$T_DIR/fail.script" <<'EOF2'
connect client.example 192.0.2.10
helo helo-pass.example
mail <mallory@fail.example>
expect continue
rcpt <bob@local.example>
expect reply 550 5.7.23
rcpt <postmaster@local.example>
expect continue
quit
EOF2
run fail main

# Explanation in the reply text, % doubled for the MTA.
cat >"$T_DIR/exp.script" <<'EOF2'
connect client.example 192.0.2.10
helo helo-pass.example
mail <x@exp.example>
rcpt <bob@local.example>
expect reply 550 5.7.23
quit
EOF2
run exp main
grep -q '192.0.2.10 is not a mail server of exp.example; 100%% sure' "$T_DIR/exp.out" &&
  ok "exp: explanation in the reply, % doubled" || fail "exp: explanation in the reply, % doubled"

# softfail, neutral, none, permerror: accepted and marked.
for r in softfail neutral none perm; do
  dom=$r.example; [ $r = none ] && dom=nothing.example
  cat >"$T_DIR/$r.script" <<EOF2
connect client.example 192.0.2.10
helo helo-pass.example
mail <u@$dom>
expect continue
rcpt <bob@local.example>
expect continue
data
eom
expect header Received-SPF
expect continue
quit
EOF2
  run "$r" main
done
grep -q 'Received-SPF: permerror' "$T_DIR/perm.out" && ok "perm: marked permerror" || fail "perm: marked permerror"
grep -q 'Received-SPF: none' "$T_DIR/none.out" && ok "none: marked none" || fail "none: marked none"

# temperror by SERVFAIL and by silence: 451 4.7.24 at MAIL, within the deadline.
for r in temp slow; do
  cat >"$T_DIR/$r.script" <<EOF2
connect client.example 192.0.2.10
helo helo-pass.example
mail <u@$r.example>
expect reply 451 4.7.24
quit
EOF2
  start=$(date +%s)
  run "$r" main
  took=$(( $(date +%s) - start ))
  [ "$took" -le 4 ] && ok "$r: answered in ${took}s (deadline 2s)" || fail "$r: took ${took}s"
done

# Null sender: the identity is postmaster@HELO.
cat >"$T_DIR/null.script" <<'EOF2'
connect client.example 192.0.2.10
helo helo-fail.example
mail <>
expect continue
rcpt <bob@local.example>
expect reply 550 5.7.23
quit
EOF2
run null main
cat >"$T_DIR/nullpass.script" <<'EOF2'
connect client.example 192.0.2.10
helo helo-pass.example
mail <>
rcpt <bob@local.example>
expect continue
data
eom
expect header Received-SPF
quit
EOF2
run nullpass main
grep -q 'postmaster@helo-pass.example' "$T_DIR/nullpass.out" && ok "nullpass: identity postmaster@HELO" || fail "nullpass: identity postmaster@HELO"

# HELO fail refuses even when MAIL FROM passes.
cat >"$T_DIR/helofail.script" <<'EOF2'
connect client.example 192.0.2.10
helo helo-fail.example
mail <alice@pass.example>
rcpt <bob@local.example>
expect reply 550 5.7.23
quit
EOF2
run helofail main

# IPv6 client.
cat >"$T_DIR/ipv6.script" <<'EOF2'
connect client.example 2001:db8::25
helo helo-pass.example
mail <alice@pass.example>
rcpt <bob@local.example>
expect continue
data
eom
expect header Received-SPF
quit
EOF2
run ipv6 main
grep -q 'Received-SPF: pass' "$T_DIR/ipv6.out" && ok "ipv6: pass" || fail "ipv6: pass"

# Trusted client (loopback) and SMTP AUTH: not checked, not refused.
cat >"$T_DIR/trusted.script" <<'EOF2'
connect localhost 127.0.0.1
helo helo-fail.example
mail <mallory@fail.example>
rcpt <bob@local.example>
expect continue
data
eom
expect noheader Received-SPF
expect continue
quit
EOF2
run trusted main
cat >"$T_DIR/auth.script" <<'EOF2'
connect client.example 192.0.2.10
helo helo-pass.example
macro mail {auth_authen}=alice
mail <mallory@fail.example>
rcpt <bob@local.example>
expect continue
quit
EOF2
run auth main

# Two transactions on one connection: fail then pass, pass then fail; abort.
cat >"$T_DIR/two.script" <<'EOF2'
connect client.example 192.0.2.10
helo helo-pass.example
mail <mallory@fail.example>
rcpt <bob@local.example>
expect reply 550 5.7.23
abort
mail <alice@pass.example>
rcpt <bob@local.example>
expect continue
data
eom
expect header Received-SPF
mail <mallory@fail.example>
rcpt <bob@local.example>
expect reply 550 5.7.23
abort
mail <alice@pass.example>
abort
mail <alice@pass.example>
rcpt <bob@local.example>
expect continue
quit
EOF2
run two main

# Hostile and odd input: a defined outcome, never a crash.
long=$(printf '%01000d' 0 | tr 0 a)
cat >"$T_DIR/hostile.script" <<EOF2
connect client.example 192.0.2.10
helo $long
mail <alice@pass.example>
expect continue
rcpt <bob@local.example>
expect continue
abort
helo [192.0.2.10]
mail <alice@pass.example>
rcpt <bob@local.example>
expect continue
abort
helo helo-pass.example
mail <a@b@@..example>
expect continue
rcpt <bob@local.example>
expect continue
abort
mail <x@$(printf '%0300d' 0 | tr 0 b).example>
rcpt <bob@local.example>
expect continue
abort
mail <"we\"ird;(x)"@pass.example>
rcpt <bob@local.example>
expect continue
data
eom
expect header Received-SPF
quit
EOF2
run hostile main
cat >"$T_DIR/unknownclient.script" <<'EOF2'
connect client.example unknown
helo helo-pass.example
mail <alice@pass.example>
expect reply 451
quit
EOF2
run unknownclient main

# Dry run: nothing refused, headers still added.
cat >"$T_DIR/dryrun.script" <<'EOF2'
connect client.example 192.0.2.10
helo helo-pass.example
mail <mallory@fail.example>
expect continue
rcpt <bob@local.example>
expect continue
data
eom
expect header Received-SPF
quit
EOF2
run dryrun dry
grep -q 'would-reject' "$T_DIR/dry.log" && ok "dryrun: logged would-reject" || fail "dryrun: logged would-reject"

# Over a unix socket the steps spfgate never refuses at go unanswered
# (pass above); over TCP every step is answered, DATA too (see
# callbacks.c: an unanswered packet waits for the delayed ACK).
tcp_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
sed "s|^socket = .*|socket = inet:$tcp_port@127.0.0.1|" "$T_DIR/main.conf" >"$T_DIR/tcp.conf"
"$SPFGATE_BIN" -f -c "$T_DIR/tcp.conf" 2>"$T_DIR/tcp.log" &
T_PIDS="$T_PIDS $!"
cat >"$T_DIR/tcp.script" <<'EOF2'
connect client.example 192.0.2.10
expect continue
helo helo-pass.example
expect continue
mail <alice@pass.example>
expect continue
rcpt <bob@local.example>
expect continue
data
expect continue
header Subject: over TCP
expect continue
eom
expect header Received-SPF pass
expect continue
quit
EOF2
# It logs "starting on" once its socket listens; then one run decides.
i=0
while ! grep -q 'starting on' "$T_DIR/tcp.log" 2>/dev/null && [ $i -lt 100 ]; do
  sleep 0.05; i=$((i + 1))
done
if "$MILTC" -s "inet:$tcp_port@127.0.0.1" -t 10 <"$T_DIR/tcp.script" >"$T_DIR/tcp.out" 2>&1; then
  ok "tcp: every step answered"
else
  fail "tcp: every step answered"; sed 's/^/    /' "$T_DIR/tcp.out"
fi

# The daemon is alive and logged one decision line per message.
kill -0 "$T_PID_main" 2>/dev/null && ok "daemon still running" || fail "daemon still running"
grep -q 'QPASS1: client=192.0.2.10 helo="helo-pass.example" from=<alice@pass.example> identity=mailfrom:alice@pass.example result=pass' "$T_DIR/main.log" &&
  ok "decision log line" || { fail "decision log line"; tail -5 "$T_DIR/main.log"; }

# Audit: every reply code sent is in the seed table's row for its stage,
# and no refusal went out without an explicit reply.
violations=0
for out in "$T_DIR"/*.out; do
  while IFS= read -r line; do
    stage=${line%% -> *}
    rest=${line#* -> }
    case $rest in
      "reply "*)
        code=$(echo "$rest" | cut -d' ' -f2)
        if ! t_table_codes "$stage" | grep -qx "$code"; then
          echo "    violation: $(basename "$out"): $line"; violations=$((violations + 1))
        fi ;;
      reject|tempfail|"reject "*|"tempfail "*)
        echo "    bare refusal: $(basename "$out"): $line"; violations=$((violations + 1)) ;;
    esac
  done <<EOF2
$(grep ' -> ' "$out")
EOF2
done
[ "$violations" -eq 0 ] && ok "audit: every reply code is in the table" || fail "audit: $violations replies outside the table"

# SIGTERM stops the daemon cleanly: exit 0, socket gone, nothing leaked
# (under the sanitizer build LeakSanitizer would make the exit non-zero).
kill -TERM "$T_PID_main"
wait "$T_PID_main"; rc=$?
[ "$rc" -eq 0 ] && ok "SIGTERM: clean exit" || { fail "SIGTERM: exit status $rc"; tail -20 "$T_DIR/main.log"; }
grep -q 'stopping' "$T_DIR/main.log" && ok "SIGTERM: logged the stop" || fail "SIGTERM: logged the stop"
t_finish
