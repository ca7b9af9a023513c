#!/bin/sh
# soak.sh - many messages through the real daemon: memory errors and leaks
# under valgrind, and the growth of the resident set without it.
#
#   soak.sh [--quick] [--no-valgrind] [--no-rss]
#
# A mix of messages runs at once over many connections: pass, fail
# (refused at RCPT, postmaster let through), softfail, temperror (451 at
# MAIL), messages aborted after DATA (miltc load mode, one instance per
# kind), plus sockets closed by the MTA in the middle of transactions
# (miltraw.py, when python3 is installed).
#
# 1. valgrind memcheck: the daemon under valgrind takes the mix in five
#    rounds (10,000 messages in all on 200 connections; --quick: 1,000 on
#    50), then SIGTERM; valgrind's summary must show no error and nothing
#    definitely or indirectly lost (valgrind.supp holds only third-party
#    frames). After each round vgdb asks for a leak summary: the heap in
#    use must stay within 5% of the first round's.
# 2. RSS: the daemon without valgrind takes the mix five times (2,000
#    messages each; --quick: 200) and VmRSS is sampled after each round;
#    the samples after the first must stay within 5% of the first.
#
# Needs SPFGATE_BIN, SPFGATE_TOOLS, SPFGATE_TESTDNS, SPFGATE_TEST_DATA (as
# the other tests; "make soak" sets them). Exit 0 when everything held.
set -u
. "$(dirname "$0")/../lib/testenv.sh"
MILTC="$SPFGATE_TOOLS/miltc"
HERE=$(cd "$(dirname "$0")" && pwd)

TOTAL=10000 CONNS=200 ROUND=2000 MIDCLOSE=50
VALGRIND=yes RSS=yes
for a in "$@"; do
  case $a in
    --quick) TOTAL=1000 CONNS=50 ROUND=200 MIDCLOSE=10 ;;
    --no-valgrind) VALGRIND=no ;;
    --no-rss) RSS=no ;;
    *) echo "usage: soak.sh [--quick] [--no-valgrind] [--no-rss]" >&2; exit 2 ;;
  esac
done
# SOAK_MESSAGES overrides the total (a multiple of the round) for longer runs.
TOTAL=${SOAK_MESSAGES:-$TOTAL}
HAVE_PY=no
command -v python3 >/dev/null 2>&1 && HAVE_PY=yes

cat >"$T_DIR/zone" <<'ZONE'
pass.example TXT "v=spf1 ip4:192.0.2.0/24 -all"
fail.example TXT "v=spf1 -all exp=why.fail.example"
why.fail.example TXT "%{i} is not a mail server of %{d}"
softfail.example TXT "v=spf1 a:mail.softfail.example ~all"
mail.softfail.example A 198.51.100.1
temp.example SERVFAIL
helo.example TXT "v=spf1 ip4:192.0.2.0/24 -all"
ZONE
t_dns "$T_DIR/zone"

# The scripts: one transaction each (repeated by the load mode).
cat >"$T_DIR/pass.script" <<'EOF'
connect client.example 192.0.2.10
helo helo.example
mail <alice@pass.example>
expect continue
rcpt <bob@local.example>
expect continue
data
header Subject: soak
header Authentication-Results: mx.test.example; spf=pass smtp.mailfrom=forged@x.example
eoh
body hello\r\n
eom
expect header Received-SPF pass
expect chgheader Authentication-Results 1
expect continue
quit
EOF
cat >"$T_DIR/fail.script" <<'EOF'
connect client.example 192.0.2.10
helo helo.example
mail <mallory@fail.example>
expect continue
rcpt <bob@local.example>
expect reply 550 5.7.23
rcpt <postmaster@local.example>
expect continue
abort
quit
EOF
cat >"$T_DIR/softfail.script" <<'EOF'
connect client.example 192.0.2.10
helo helo.example
mail <sam@softfail.example>
rcpt <bob@local.example>
expect continue
data
header Subject: soak
eoh
body hello\r\n
eom
expect header Received-SPF softfail
expect continue
quit
EOF
cat >"$T_DIR/temperror.script" <<'EOF'
connect client.example 192.0.2.10
helo helo.example
mail <tom@temp.example>
expect reply 451 4.7.24
abort
quit
EOF
cat >"$T_DIR/aborted.script" <<'EOF'
connect client.example 192.0.2.10
helo helo.example
mail <alice@pass.example>
expect continue
rcpt <bob@local.example>
expect continue
data
header Subject: aborted
abort
quit
EOF
KINDS="pass:30 fail:25 softfail:20 temperror:15 aborted:10"

# conf NAME: the daemon's configuration (a long deadline: valgrind is slow).
conf() {
  cat >"$T_DIR/$1.conf" <<CONF
socket = unix:$T_DIR/$1.sock
log = stderr
log_level = notice
dns_servers = 127.0.0.1:$T_DNS_PORT
dns_timeout = 5s
deadline = 30s
milter_timeout = 120
authserv_id = mx.test.example
CONF
}

# mix NAME MESSAGES CONNECTIONS: the mix at once; 0 when every miltc run
# had no failed expect and no error.
mix() {
  name=$1 msgs=$2 conns=$3 pids="" rc=0
  for kc in $KINDS; do
    k=${kc%%:*} pct=${kc#*:}
    n=$((msgs * pct / 100)) c=$((conns * pct / 100))
    [ "$c" -ge 1 ] || c=1
    "$MILTC" -s "unix:$T_DIR/$name.sock" -t 120 -n "$n" -c "$c" -f "$T_DIR/$k.script" \
      >"$T_DIR/$name-$k.out" 2>&1 &
    pids="$pids $!"
  done
  if [ $HAVE_PY = yes ]; then
    python3 "$HERE/miltraw.py" "unix:$T_DIR/$name.sock" midclose "$MIDCLOSE" \
      >"$T_DIR/$name-midclose.out" 2>&1 &
    pids="$pids $!"
  fi
  for p in $pids; do wait "$p" || rc=1; done
  return $rc
}

# summary NAME: one line of figures from the miltc outputs.
summary() {
  for kc in $KINDS; do
    k=${kc%%:*}
    printf '%s: %s; ' "$k" "$(grep -h 'passed,' "$T_DIR/$1-$k.out" | tr -d '\n')"
  done
  [ $HAVE_PY = yes ] && printf 'midclose: %s closes' "$(grep -c '^ok' "$T_DIR/$1-midclose.out")"
  echo
}

# start NAME [WRAPPER...]: the daemon in the foreground; sets DPID.
start() {
  name=$1; shift
  conf "$name"
  "$@" "$SPFGATE_BIN" -f -c "$T_DIR/$name.conf" 2>"$T_DIR/$name.log" &
  DPID=$!
  T_PIDS="$T_PIDS $DPID"
  i=0
  while [ ! -S "$T_DIR/$name.sock" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
  [ -S "$T_DIR/$name.sock" ] || { echo "spfgate did not start"; cat "$T_DIR/$name.log"; exit 99; }
}

# stop: SIGTERM, then the exit status in RC.
stop() {
  kill -TERM "$DPID"
  wait "$DPID"; RC=$?
}

if [ $VALGRIND = yes ]; then
  if ! command -v valgrind >/dev/null 2>&1; then
    echo "valgrind is not installed (apt-get install valgrind)"; exit 77
  fi
  t0=$(date +%s)
  start vg valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect \
    --error-exitcode=99 --track-fds=yes --num-callers=30 --vgdb=yes \
    --suppressions="$HERE/valgrind.supp" --log-file="$T_DIR/valgrind.log"
  # The mix in five rounds; after each, valgrind's leak check through vgdb
  # gives the heap in use (every block still allocated, reachable or not):
  # the live-heap curve, free of the allocator's and the stacks' slack.
  # A lookup in flight holds a resolver state (about 66 KB) and the idle
  # pool keeps up to 4 of them, so one sample may carry a few more than
  # another: the check compares the smaller of the last two samples with
  # the smaller of the first two. A leak of one byte per message exceeds 5% of it.
  rounds=5 r=1 heap="" vgdb_ok=yes mix_ok=yes
  while [ $r -le $rounds ]; do
    mix vg $((TOTAL / rounds)) "$CONNS" || mix_ok=no
    sleep 1
    b=$(timeout 60 vgdb --pid="$DPID" leak_check summary 2>&1 |
      sed -n 's/.*\(definitely lost\|indirectly lost\|possibly lost\|still reachable\): \([0-9,]*\) .*/\2/p' |
      tr -d , | awk '{ s += $1 } END { if (NR) print s }')
    if [ -z "$b" ]; then vgdb_ok=no; b=0; fi
    heap="$heap $((r * TOTAL / rounds)):${b}B"
    eval "heap_$r=$b"
    r=$((r + 1))
  done
  if [ $mix_ok = yes ]; then
    ok "valgrind: $TOTAL messages on $CONNS connections, every expectation met"
  else
    fail "valgrind: the mix failed"
    for f in "$T_DIR"/vg-*.out; do echo "  $(basename "$f"): $(grep -v '^ok' "$f" | head -3)"; done
  fi
  echo "  last round: $(summary vg)"
  if [ $vgdb_ok = yes ]; then
    first=$heap_1; [ "$heap_2" -lt "$first" ] && first=$heap_2
    last=$heap_5; [ "$heap_4" -lt "$last" ] && last=$heap_4
    d=$(( (last - first) * 1000 / first ))
    echo "  heap in use after messages:$heap (first two rounds at least ${first} B, last two at least ${last} B: $((d / 10)).$((d % 10 < 0 ? -d % 10 : d % 10))%)"
    [ $d -le 50 ] && ok "valgrind: heap in use flat within 5% from $((TOTAL / rounds)) to $TOTAL messages" ||
      fail "valgrind: heap in use grew from ${first} B to ${last} B:$heap"
  else
    echo "  vgdb gave no leak summary: no heap curve"
  fi
  stop
  took=$(($(date +%s) - t0))
  [ "$RC" -eq 0 ] && ok "valgrind: clean exit after SIGTERM (${took}s)" ||
    { fail "valgrind: exit status $RC (99: valgrind found errors)"; tail -20 "$T_DIR/vg.log"; }
  errs=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$T_DIR/valgrind.log" | tail -1)
  def=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' "$T_DIR/valgrind.log" | tail -1 | tr -d ,)
  ind=$(sed -n 's/.*indirectly lost: \([0-9,]*\) bytes.*/\1/p' "$T_DIR/valgrind.log" | tail -1 | tr -d ,)
  reach=$(sed -n 's/.*still reachable: \([0-9,]*\) bytes in \([0-9,]*\) blocks.*/\1 bytes in \2 blocks/p' "$T_DIR/valgrind.log" | tail -1)
  fds=$(sed -n 's/.*FILE DESCRIPTORS: \([0-9]*\) open.*/\1/p' "$T_DIR/valgrind.log" | tail -1)
  echo "  valgrind: errors ${errs:-?}, definitely lost ${def:-0}, indirectly lost ${ind:-0}, still reachable ${reach:-0}, fds open at exit ${fds:-?}"
  [ "${errs:-x}" = 0 ] && ok "valgrind: 0 errors" ||
    { fail "valgrind: ${errs:-no} errors"; grep -A 25 '^==[0-9]*== \([A-Z].*\(Invalid\|uninitialised\)\|.* are \(definitely\|indirectly\) lost\)' "$T_DIR/valgrind.log" | head -120; }
  [ "${def:-0}" = 0 ] && [ "${ind:-0}" = 0 ] && ok "valgrind: nothing definitely or indirectly lost" ||
    fail "valgrind: lost ${def:-0} + ${ind:-0} bytes"
  [ -n "${SOAK_KEEP_LOG:-}" ] && cp "$T_DIR/valgrind.log" "$SOAK_KEEP_LOG"
fi

if [ $RSS = yes ]; then
  start rss
  rounds=$((TOTAL / ROUND)) r=1 base=0 samples="" worst=0 ok_rounds=yes
  t0=$(date +%s)
  while [ $r -le $rounds ]; do
    mix rss "$ROUND" "$CONNS" || ok_rounds=no
    sleep 0.5
    kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/$DPID/status")
    samples="$samples $((r * ROUND)):${kb}kB"
    [ $r -eq 1 ] && base=$kb
    d=$(( (kb - base) * 1000 / base ))
    [ ${d#-} -gt $worst ] && worst=${d#-}
    r=$((r + 1))
  done
  took=$(($(date +%s) - t0))
  [ $ok_rounds = yes ] && ok "rss: $TOTAL messages in $rounds rounds in ${took}s, every expectation met" ||
    fail "rss: a round failed: $(summary rss)"
  echo "  last round: $(summary rss)"
  echo "  VmRSS after messages:$samples (largest change from the first: $((worst / 10)).$((worst % 10))%)"
  [ $worst -le 50 ] && ok "rss: flat within 5% from $ROUND to $TOTAL messages" ||
    fail "rss: grew by $((worst / 10)).$((worst % 10))% from $ROUND to $TOTAL messages"
  stop
  [ "$RC" -eq 0 ] && ok "rss: clean exit" || fail "rss: exit status $RC"
fi
t_finish
