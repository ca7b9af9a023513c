#!/bin/sh
# hostile.sh - hostile SMTP input and MTA faults, through the real daemon.
#
# HELO and MAIL FROM with CR, LF, control bytes, '%', ';', quotes,
# parentheses, 8-bit and UTF-8 bytes and 64 KB lengths (miltc scripts, and
# a raw milter client, miltraw.py, for the bytes miltc cannot send);
# forged Authentication-Results (our authserv-id: removed; another: kept)
# and Received-SPF headers. Every header spfgate inserts must be one line
# of printable ASCII, every reply code legal at its stage per the seed
# table, every reply text printable with '%' doubled, every log line
# printable. MTA faults: the socket closed mid-message, abort after MAIL
# and after DATA, 1,000 connections dropped without quit, garbage packets;
# the daemon must survive and keep answering.
set -u
. "$(dirname "$0")/../lib/testenv.sh"
MILTC="$SPFGATE_TOOLS/miltc"
HERE=$(cd "$(dirname "$0")" && pwd)

cat >"$T_DIR/zone" <<'ZONE'
pass.example TXT "v=spf1 ip4:192.0.2.0/24 -all"
fail.example TXT "v=spf1 -all exp=why.fail.example"
why.fail.example TXT "%{i} may not send for %{d} (%{s}); 100% sure"
helo.example TXT "v=spf1 ip4:192.0.2.0/24 -all"
ZONE
t_dns "$T_DIR/zone"
cat >"$T_DIR/main.conf" <<CONF
socket = unix:$T_DIR/main.sock
log = stderr
log_level = debug
dns_servers = 127.0.0.1:$T_DNS_PORT
dns_timeout = 500ms
deadline = 2s
authserv_id = mx.test.example
reject_text = "SPF %{result}: %{sender} via %{helo} as %{identity} (%{domain}) %{explanation} 100%% sure"
CONF
t_daemon main "$T_DIR/main.conf"
SOCK="unix:$T_DIR/main.sock"

# run NAME: plays T_DIR/NAME.script; the output goes to NAME.out.
run() {
  if "$MILTC" -s "$SOCK" -t 10 <"$T_DIR/$1.script" >"$T_DIR/$1.out" 2>&1; then
    ok "miltc $1"
  else
    fail "miltc $1"; cut -c1-300 "$T_DIR/$1.out" | sed 's/^/    /'
  fi
}

# Hostile values miltc can carry in a quoted argument (CR inside a line,
# control bytes other than NUL and LF, 8-bit, UTF-8, 64 KB).
long=$(head -c 65000 /dev/zero | tr '\0' a)
i=0
for v in \
  "$(printf 'a\rb.example')" \
  "$(printf 'x.example\r X-Injected: yes')" \
  "$(printf 'c\001\002\033[31m\t\013\014\177.example')" \
  '100%%{i}%-%_%{d}%.example' \
  'a;b=c;d.example' \
  "q\\\"uo'te\\\".example" \
  '(comment (nested)) x.example)' \
  "$(printf 'eight\200\237\240\377.example')" \
  "$(printf 'b\303\274cher.\344\276\213\343\201\210.example')" \
  "$long.example"; do
  i=$((i + 1))
  # HELO hostile, MAIL FROM passes; then MAIL FROM hostile (local part
  # and domain); then a refused sender whose local part is hostile.
  local_part=$(printf '%s' "$v" | head -c 64)
  # A sender with a printable local part is refused (SPF fail); one with
  # CR or control bytes is not a usable address: any defined outcome.
  case $i in 1|2|3) refused='expect continue' ;; *) refused='expect reply 550 5.7.23' ;; esac
  cat >"$T_DIR/h$i.script" <<EOF
connect client.example 192.0.2.10
expect noreply
helo "$v"
mail <alice@pass.example>
rcpt <bob@local.example>
data
header Subject: hostile $i
eoh
eom
expect header Received-SPF
abort
helo helo.example
mail "<$local_part@$v>"
rcpt <bob@local.example>
eom
abort
mail "<$local_part@fail.example>"
rcpt <bob@local.example>
$refused
quit
EOF
  run "h$i"
done

# Forged headers via miltc: the one with our authserv-id is deleted.
cat >"$T_DIR/forged.script" <<'EOF'
connect client.example 192.0.2.10
helo helo.example
mail <alice@pass.example>
rcpt <bob@local.example>
header Received-SPF: pass (forged) client-ip=192.0.2.10
header Authentication-Results: mx.test.example; spf=pass smtp.mailfrom=forged@x.example
header Authentication-Results: other.example; spf=pass smtp.mailfrom=a@b.example
eoh
eom
expect chgheader Authentication-Results 1
expect header Received-SPF
expect continue
quit
EOF
run forged
if grep -q 'chgheader 2 Authentication-Results' "$T_DIR/forged.out"; then
  fail "forged: the foreign Authentication-Results was removed"
else ok "forged: the foreign Authentication-Results kept"; fi

# The raw client: hostile bytes, forged headers, MTA faults.
if command -v python3 >/dev/null 2>&1; then
  raw() {
    name=$1; shift
    if timeout 300 python3 "$HERE/miltraw.py" "$SOCK" "$@" >"$T_DIR/raw-$name.out" 2>&1; then
      ok "miltraw $name ($(grep -c '^ok' "$T_DIR/raw-$name.out") checks)"
    else
      fail "miltraw $name"; grep -v '^ok' "$T_DIR/raw-$name.out" | cut -c1-300 | sed 's/^/    /'
    fi
  }
  raw hostile hostile
  raw forged forged
  raw normal1 normal
  raw midclose midclose
  raw normal2 normal
  raw aborts aborts
  raw drop drop 1000
  raw normal3 normal
  raw garbage garbage
  raw normal4 normal
  raw hostile-again hostile
else
  echo "skip: python3 not installed, raw-client checks left out"
fi

# After all that, a normal miltc session still gets its answer.
cat >"$T_DIR/after.script" <<'EOF'
connect client.example 192.0.2.10
helo helo.example
mail <alice@pass.example>
rcpt <bob@local.example>
eom
expect header Received-SPF pass
expect continue
quit
EOF
run after
kill -0 "$T_PID_main" 2>/dev/null && ok "daemon survived" || fail "daemon died"

# Inserted headers (miltc's view: it escapes CR, LF, TAB and non-ASCII as
# \r \n \t \xNN; spfgate writes a backslash only before '"' or '\').
bad=$(cat "$T_DIR"/*.out | grep -a 'insheader\|addheader' | grep -a -c -E '\\(x[0-9a-f]{2}|r|n|t)' || true)
[ "$bad" -eq 0 ] && ok "inserted headers are printable single-line ASCII" ||
  { fail "$bad inserted headers with control or 8-bit bytes"
    cat "$T_DIR"/*.out | grep -a 'insheader\|addheader' | grep -a -E '\\(x[0-9a-f]{2}|r|n|t)' | cut -c1-300 | head -5; }

# Reply audit (as in daemon.sh): every code in its stage's row of the
# seed table; no refusal without an explicit reply.
violations=0
replies=0
for out in "$T_DIR"/*.out; do
  while IFS= read -r line; do
    stage=${line%% -> *}
    rest=${line#* -> }
    case $rest in
      "reply "*)
        replies=$((replies + 1))
        code=$(echo "$rest" | cut -d' ' -f2)
        if ! t_table_codes "$stage" | grep -qx "$code"; then
          echo "    violation: $(basename "$out"): $line" | cut -c1-200; violations=$((violations + 1))
        fi ;;
      reject|tempfail|"reject "*|"tempfail "*)
        echo "    bare refusal: $(basename "$out"): $line" | cut -c1-200; violations=$((violations + 1)) ;;
    esac
  done <<EOF2
$(grep -a ' -> ' "$out")
EOF2
done
[ "$violations" -eq 0 ] && [ "$replies" -gt 0 ] && ok "audit: $replies reply codes, all in the table" ||
  fail "audit: $violations of $replies replies outside the table"

# miltc prints reply texts as sent: '%' must come in pairs.
single=$(cat "$T_DIR"/h*.out | grep -a -- '-> reply ' | sed 's/%%//g' | grep -a -c '%' || true)
[ "$single" -eq 0 ] && ok "reply texts: every % doubled" || fail "reply texts: $single with a single %"

# The log: printable lines (TAB allowed), none longer than 4 KB.
ctl=$(LC_ALL=C grep -a -c -P '[\x00-\x08\x0a-\x1f\x7f-\xff]' "$T_DIR/main.log" || true)
[ "$ctl" -eq 0 ] && ok "log lines are printable ASCII" || fail "$ctl log lines with control or 8-bit bytes"
longest=$(LC_ALL=C awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }' "$T_DIR/main.log")
[ "$longest" -le 4096 ] && ok "longest log line: $longest bytes" || fail "a log line of $longest bytes"

kill -TERM "$T_PID_main"
wait "$T_PID_main"; rc=$?
[ "$rc" -eq 0 ] && ok "SIGTERM: clean exit" || { fail "SIGTERM: exit $rc"; tail -20 "$T_DIR/main.log"; }
t_finish
