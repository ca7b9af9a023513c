#!/bin/sh
# run.sh - spfgate's benchmark: throughput, latency, cost per message and
# memory, each next to a baseline measured in the same run.
#
#   sh tests/bench/run.sh [--quick] [-h|--help] [BUILD_DIR]
#
# BUILD_DIR (or SPFGATE_BUILD) is a configured build tree; it is brought
# up to date with make. Without one, the tree is configured and built in
# _build/bench of the source tree. Everything runs on loopback, in one
# private temporary directory; every process started is stopped by its
# pid on exit (also on failure or interruption). Each step is bounded by a
# timeout.
#
# Cases:
#   1. milter only: miltc's load mode against spfgate and against the null
#      milter (tests/tools/nullmilter), 1/10/50 connections, unix socket
#      and TCP; spfgate resolves with a test DNS server, the sender's
#      record uses include, a and mx (pass), and the cache is warm. The
#      median of 3 runs, spfgate and the null milter alternating.
#   2. Postfix alone against Postfix + spfgate (unix socket, and TCP in
#      the full run) and Postfix + the null milter (unix socket: the
#      ceiling of any libmilter filter): private Postfix instances on
#      loopback (tests/integration/lib) delivering to smtp-sink, loaded
#      by Postfix's smtp-source with 1/10/50 sessions; msgs/s from
#      smtp-source's wall time. Needs root (skipped otherwise). The client is 127.0.0.1, so spfgate's trusted
#      networks exclude it and the sender's record passes it by its mx.
#   3. cost per message: instructions (valgrind's callgrind) of spfgate for
#      the first message (cold cache: its DNS queries) and per message with
#      a warm cache, for the record above, for 1/5/10 DNS-querying terms and
#      for 10/100 ip4 terms; the null milter's warm cost as the reference.
#   4. memory: spfgate's peak RSS (VmHWM) idle, with 50 and with 500
#      sessions open at once (tests/bench/holder.py), and after 9000
#      distinct sender domains went through its DNS cache.
# --quick (CI): a few hundred messages, one run, cases 1 and 2 unless
# BENCH_CASES says otherwise; finishes in under two minutes. BENCH_CASES="milter postfix cost memory"
# (any of them) chooses the cases; BENCH_P_MSGS, BENCH_P_RUNS and
# BENCH_P_SESSIONS (a list) shrink the Postfix case for quick looks.
#
# Output: "ok: ..." / "FAIL: ..." / "skip: ..." lines for what worked or
# broke, then the table: each case, spfgate's figure, the baseline's, their
# ratio and the target (met / MISSED). Exit status 1 only when something
# broke (a load run failed, a daemon did not start, mail was lost); missed
# targets do not fail the run. 2 on a bad command line. IT_KEEP=1 keeps
# the run's directory (logs, configurations, callgrind dumps).
set -u

quick=0
build=${SPFGATE_BUILD:-}
for a in "$@"; do
  case $a in
    --quick) quick=1 ;;
    -h | --help)
      sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'
      exit 0 ;;
    -*) echo "usage: sh tests/bench/run.sh [--quick] [-h|--help] [BUILD_DIR]" >&2; exit 2 ;;
    *) build=$a ;;
  esac
done

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
IT_LIB=$top/tests/integration/lib
. "$IT_LIB/common.sh"
. "$IT_LIB/postfix.sh"

if [ "$quick" = 1 ]; then
  M_MSGS=300 M_RUNS=1 P_MSGS=200 P_RUNS=1
  CASES=${BENCH_CASES:-milter postfix}
else
  M_MSGS=5000 M_RUNS=3 P_MSGS=2000 P_RUNS=3
  CASES=${BENCH_CASES:-milter postfix cost memory}
fi
# Explorations may shrink the Postfix case (not for published figures).
P_MSGS=${BENCH_P_MSGS:-$P_MSGS} P_RUNS=${BENCH_P_RUNS:-$P_RUNS}
P_SESSIONS=${BENCH_P_SESSIONS:-1 10 50}
# want CASE: whether CASE (milter, postfix, cost, memory) is run.
want() { case " $CASES " in *" $1 "*) return 0 ;; esac; return 1; }
CG_MSGS=500

BROKEN=0
ok() { echo "ok: $*"; }
fail() { BROKEN=$((BROKEN + 1)); echo "FAIL: $*"; }
skip() { echo "skip: $*"; }

# --- build ------------------------------------------------------------------
if [ -z "$build" ]; then
  build=$top/_build/bench
  if [ ! -f "$build/Makefile" ]; then
    mkdir -p "$build" || exit 1
    echo "configuring in $build" >&2
    (cd "$build" && "$top/configure" >configure.log 2>&1) ||
      { echo "FAIL: configure (see $build/configure.log)"; exit 1; }
  fi
fi
build=$(cd "$build" && pwd) || { echo "FAIL: no build directory $build"; exit 1; }
PROGS="milter/spfgate tests/tools/miltc tests/tools/nullmilter tests/tools/testdns"
# shellcheck disable=SC2086 # a list of make targets
(cd "$build" && make -j2 $PROGS >bench-make.log 2>&1) ||
  { echo "FAIL: make (see $build/bench-make.log)"; exit 1; }
SPFGATE=$build/milter/spfgate
MILTC=$build/tests/tools/miltc
NULLM=$build/tests/tools/nullmilter
TESTDNS=$build/tests/tools/testdns

# --- the run's directory and its processes --------------------------------
trap 'it_cleanup' EXIT
trap 'exit 130' INT TERM HUP
it_tmpdir || { echo "FAIL: no temporary directory"; exit 1; }
T=$IT_TMP
PY=$(it_python) || { echo "FAIL: no python3"; exit 1; }
TABLE=$T/table
: >"$TABLE"

# Every daemon started here: stopped together at exit (SIGTERM to all,
# then one bounded wait; libmilter takes a few seconds to stop).
BENCH_PIDS=""
stop_all() {
  for _p in $BENCH_PIDS; do kill "$_p" 2>/dev/null; done
  _n=100
  for _p in $BENCH_PIDS; do
    while [ $_n -gt 0 ] && kill -0 "$_p" 2>/dev/null; do sleep 0.1; _n=$((_n - 1)); done
    kill -0 "$_p" 2>/dev/null && kill -9 "$_p" 2>/dev/null
  done
  BENCH_PIDS=""
}
it_on_exit stop_all

# started PID: remembers a daemon for stop_all.
started() { BENCH_PIDS="$BENCH_PIDS $1"; }

# bg CMD...: runs a (long) command in the background and waits for it, so
# that a signal interrupts the wait and the cleanup stops it; returns its
# status.
BG_PID=""
bg() {
  "$@" &
  BG_PID=$!
  wait "$BG_PID"
  _rc=$?
  BG_PID=""
  return $_rc
}
it_on_exit '[ -n "$BG_PID" ] && kill "$BG_PID" 2>/dev/null'

# wait_listen SPEC PID SECONDS: waits for a milter socket (unix:PATH or
# inet:PORT@ADDR) while PID lives.
wait_listen() {
  _n=$(($3 * 10))
  while [ $_n -gt 0 ] && kill -0 "$2" 2>/dev/null; do
    case $1 in
      unix:*) [ -S "${1#unix:}" ] && return 0 ;;
      inet:*) _pa=${1#inet:}
        it_wait_port "${_pa#*@}" "${_pa%@*}" 0.1 && return 0 ;;
    esac
    sleep 0.1; _n=$((_n - 1))
  done
  return 1
}

# free_inet: a milter TCP socket specification on a free loopback port.
free_inet() { echo "inet:$(it_free_port 127.0.0.1)@127.0.0.1"; }

# row CASE SPFGATE BASELINE RATIO TARGET STATUS: one line of the table.
row() { printf '%s|%s|%s|%s|%s|%s\n' "$@" >>"$TABLE"; }

# median V...: the median of numbers.
median() {
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'
}

# ratio A B [FORMAT]: A / B.
ratio() {
  awk -v a="$1" -v b="$2" -v f="${3:-%.2f}" 'BEGIN { if (b + 0 > 0 && a != "") printf f, a / b; else printf "-" }'
}

# judge VALUE OP LIMIT: met or MISSED (OP is >= or <=).
judge() {
  awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN {
    if (v == "-" || v == "") { print "-"; exit }
    ok = (op == ">=") ? (v + 0 >= l + 0) : (v + 0 <= l + 0)
    print ok ? "met" : "MISSED" }'
}

# --- DNS and configurations ---------------------------------------------
# The sender's record: include (no match), a (no match), mx (match); the
# MX host has the milter-only client 192.0.2.1 and Postfix's client
# 127.0.0.1. HELO mx.bench.example passes by its a. The tN domains need N
# DNS-querying terms (the last a: matches); iN have N ip4 terms (the last
# matches) and no DNS term; prime warms the HELO identity.
{
  cat <<'EOF'
bench.example TXT "v=spf1 include:_spf.bench.example a mx -all"
_spf.bench.example TXT "v=spf1 ip4:198.51.100.0/24 -all"
bench.example A 198.51.100.7
bench.example MX 10 mx.bench.example
mx.bench.example A 192.0.2.1
mx.bench.example A 127.0.0.1
mx.bench.example TXT "v=spf1 a -all"
prime.bench.example TXT "v=spf1 ip4:192.0.2.1 -all"
match.bench.example A 192.0.2.1
EOF
  for n in 1 5 10; do
    rec="v=spf1"
    k=1
    while [ $k -lt $n ]; do
      rec="$rec a:h$k.t$n.bench.example"
      echo "h$k.t$n.bench.example A 198.51.100.$k"
      k=$((k + 1))
    done
    echo "t$n.bench.example TXT \"$rec a:match.bench.example -all\""
  done
  for n in 10 100; do
    rec="v=spf1"
    k=1
    while [ $k -lt $n ]; do
      rec="$rec ip4:198.51.$((k / 250)).$((k % 250 + 1))"
      k=$((k + 1))
    done
    echo "i$n.bench.example TXT \"$rec ip4:192.0.2.1 -all\""
  done
} >"$T/zone"

"$TESTDNS" -a 127.0.0.1 -p 0 -z "$T/zone" >"$T/dns.port" 2>"$T/dns.log" &
started $!
_n=0
while [ ! -s "$T/dns.port" ] && [ $_n -lt 100 ]; do sleep 0.05; _n=$((_n + 1)); done
DNS_PORT=$(head -n 1 "$T/dns.port")
[ -n "$DNS_PORT" ] || { echo "FAIL: the test DNS server did not start"; cat "$T/dns.log"; exit 1; }

# sg_conf SOCKET: spfgate's configuration for the benchmark.
sg_conf() {
  cat <<EOF
socket = $1
socket_mode = 0666
log = stderr
log_level = info
dns_servers = 127.0.0.1:$DNS_PORT
authserv_id = mx.bench.example
trusted_networks = 192.0.2.255/32
EOF
}

# start_spfgate NAME SOCKET [WRAPPER...]: starts spfgate in the
# foreground (log T/NAME.log); sets SG_PID. False if it did not listen.
start_spfgate() {
  _name=$1 _sock=$2; shift 2
  sg_conf "$_sock" >"$T/$_name.conf"
  "$@" "$SPFGATE" -f -c "$T/$_name.conf" 2>"$T/$_name.log" &
  SG_PID=$!
  started "$SG_PID"
  wait_listen "$_sock" "$SG_PID" 60 && return 0
  echo "spfgate ($_name) did not start:" >&2
  tail -n 5 "$T/$_name.log" >&2
  return 1
}

# start_null NAME SOCKET: starts the null milter; sets NULL_PID.
start_null() {
  # umask 0: the socket is open to Postfix's smtpd (user postfix).
  (umask 0 && exec "$NULLM" -p "$2" 2>"$T/$1.log") &
  NULL_PID=$!
  started "$NULL_PID"
  wait_listen "$2" "$NULL_PID" 20
}

# script FILE SENDER [spfgate]: a miltc transaction script; with
# "spfgate", the end of message must carry a Received-SPF pass.
script() {
  {
    echo "macro connect j=mx.bench.example"
    echo "connect client.bench.example 192.0.2.1 40000"
    echo "helo mx.bench.example"
    echo "mail <$2>"
    echo "expect continue"
    echo "rcpt <rcpt@dest.example>"
    echo "expect continue"
    echo "header From: <$2>"
    echo "header Subject: benchmark"
    echo "eoh"
    echo 'body Hello.\r\n'
    echo "eom"
    [ "${3:-}" = spfgate ] && echo "expect header Received-SPF pass"
    echo "expect continue"
    echo "quit"
  } >"$1"
}
script "$T/sg.script" sender@bench.example spfgate
script "$T/null.script" sender@bench.example

# load SPEC SCRIPT MESSAGES CONNECTIONS OUT: one miltc load run; prints
# "RATE P99_MS"; false when the run failed.
load() {
  bg timeout 600 "$MILTC" -s "$1" -n "$3" -c "$4" -t 20 -f "$2" >"$5" 2>&1 || return 1
  awk '/^rate:/ { r = $2 } /^latency:/ { p = $6 } END { if (r == "" || p == "") exit 1; print r, p }' "$5"
}

echo "spfgate benchmark ($([ $quick = 1 ] && echo quick || echo full)): build $build" >&2

# --- 1. milter only ---------------------------------------------------------
SG_UNIX=unix:$T/sg.sock
SG_TCP=$(free_inet)
NULL_UNIX=unix:$T/null.sock
NULL_TCP=$(free_inet)
up=1
start_spfgate sg-unix "$SG_UNIX" && SG_UNIX_PID=$SG_PID || { fail "spfgate on a unix socket did not start"; up=0; }
start_spfgate sg-tcp "$SG_TCP" && SG_TCP_PID=$SG_PID || { fail "spfgate on TCP did not start"; up=0; }
start_null null-unix "$NULL_UNIX" || { fail "null milter on a unix socket did not start"; up=0; }
start_null null-tcp "$NULL_TCP" || { fail "null milter on TCP did not start"; up=0; }
[ $up = 1 ] || exit 1
ok "spfgate and the null milter listen (unix socket and $SG_TCP, $NULL_TCP)"

for tr in unix tcp; do
  want milter || break
  if [ $tr = unix ]; then sg=$SG_UNIX nl=$NULL_UNIX; else sg=$SG_TCP nl=$NULL_TCP; fi
  # Warm spfgate's DNS cache (and both processes' threads).
  if load "$sg" "$T/sg.script" 100 10 "$T/warm-$tr.out" >/dev/null &&
    load "$nl" "$T/null.script" 100 10 "$T/warmn-$tr.out" >/dev/null; then
    ok "milter $tr: warm-up, every message passed with a Received-SPF header"
  else
    fail "milter $tr: warm-up run failed: $(tail -n 2 "$T/warm-$tr.out" "$T/warmn-$tr.out" | tr '\n' ' ')"
    continue
  fi
  for c in 1 10 50; do
    sr="" sp="" nr="" np="" bad=0 r=1
    while [ $r -le $M_RUNS ]; do
      if x=$(load "$nl" "$T/null.script" "$M_MSGS" "$c" "$T/n-$tr-$c-$r.out"); then
        nr="$nr ${x% *}" np="$np ${x#* }"
      else bad=1; fail "milter $tr c=$c: null milter run $r: $(tail -n 2 "$T/n-$tr-$c-$r.out" | tr '\n' ' ')"; fi
      if x=$(load "$sg" "$T/sg.script" "$M_MSGS" "$c" "$T/s-$tr-$c-$r.out"); then
        sr="$sr ${x% *}" sp="$sp ${x#* }"
      else bad=1; fail "milter $tr c=$c: spfgate run $r: $(tail -n 2 "$T/s-$tr-$c-$r.out" | tr '\n' ' ')"; fi
      r=$((r + 1))
    done
    [ $bad = 0 ] && ok "milter $tr c=$c: $M_RUNS x $M_MSGS messages each, all passed"
    # shellcheck disable=SC2086 # lists of numbers
    msr=$(median $sr) mnr=$(median $nr) msp=$(median $sp) mnp=$(median $np)
    rr=$(ratio "$msr" "$mnr") pr=$(ratio "$msp" "$mnp")
    if [ $c = 10 ]; then
      row "milter $tr c=$c msgs/s" "$msr" "$mnr" "$rr" ">= 0.80" "$(judge "$rr" ">=" 0.80)"
      row "milter $tr c=$c p99 ms" "$msp" "$mnp" "$pr" "<= 1.5" "$(judge "$pr" "<=" 1.5)"
    else
      row "milter $tr c=$c msgs/s" "$msr" "$mnr" "$rr" "-" "-"
      row "milter $tr c=$c p99 ms" "$msp" "$mnp" "$pr" "-" "-"
    fi
  done
done

# --- 2. Postfix alone and with spfgate --------------------------------------
# pf_instance NAME MILTER: a private Postfix instance, started; saves its
# settings as PFI_NAME_* and registers its stop.
pf_instance() {
  pf_setup "$1" "$2" || return 1
  pf_start || return 1
  eval "PFI_$1_PORT=\$PF_PORT PFI_$1_SINK=\$PF_SINK_DIR PFI_$1_BASE=\$PF_BASE PFI_$1_DIR=\$PF_DIR"
  it_on_exit "PF_DIR=$PF_DIR PF_BASE=$PF_BASE PF_STARTED=1 pf_stop"
}

# sink_count DIR: messages the sink kept.
sink_count() { find "$1" -type f 2>/dev/null | wc -l; }

# now_ns: nanoseconds.
now_ns() { date +%s%N; }

if ! want postfix; then
  :
elif [ "$(id -u)" -ne 0 ]; then
  skip "postfix: needs root (private Postfix instances)"
elif ! pf_install || [ ! -x /usr/sbin/smtp-source ]; then
  fail "postfix: cannot install postfix (smtp-source)"
else
  PF_NAMES="alone null unix"
  [ $quick = 1 ] || PF_NAMES="$PF_NAMES tcp"
  pf_up=1
  for name in $PF_NAMES; do
    case $name in
      alone) m="" ;;
      null) m=$NULL_UNIX ;;
      unix) m=$SG_UNIX ;;
      tcp) p=${SG_TCP#inet:}; m="inet:${p#*@}:${p%@*}" ;;
    esac
    if pf_instance "$name" "$m"; then
      eval "PFI_${name}_SENT=0"
    else
      fail "postfix ($name): the private instance did not start"; pf_up=0
    fi
  done
  if [ $pf_up = 1 ]; then
    ok "postfix: private instances on loopback ($PF_NAMES)"
    before=$(grep -c 'result=pass' "$T/sg-unix.log")
    for s in $P_SESSIONS; do
      r=1
      while [ $r -le $P_RUNS ]; do
        for name in $PF_NAMES; do
          eval "port=\$PFI_${name}_PORT sink=\$PFI_${name}_SINK sent=\$PFI_${name}_SENT"
          t0=$(now_ns)
          bg timeout 600 /usr/sbin/smtp-source -s "$s" -m "$P_MSGS" -l 1024 \
            -M mx.bench.example -f sender@bench.example -t rcpt@dest.example \
            "127.0.0.1:$port" >"$T/src-$name-$s-$r.out" 2>&1
          rc=$?
          t1=$(now_ns)
          if [ $rc -ne 0 ]; then
            fail "postfix ($name) s=$s run $r: smtp-source exit $rc: $(tail -n 2 "$T/src-$name-$s-$r.out" | tr '\n' ' ')"
            continue
          fi
          eval "PFI_${name}_R_$s=\"\${PFI_${name}_R_$s:-} $(awk -v n="$P_MSGS" -v d=$((t1 - t0)) 'BEGIN { printf "%.1f", n / (d / 1e9) }')\""
          # Let the queue drain into the sink before the next run.
          sent=$((sent + P_MSGS))
          eval "PFI_${name}_SENT=$sent"
          _w=1800
          while [ $_w -gt 0 ] && [ "$(sink_count "$sink")" -lt $sent ]; do sleep 0.1; _w=$((_w - 1)); done
          [ "$(sink_count "$sink")" -ge $sent ] ||
            fail "postfix ($name) s=$s run $r: only $(sink_count "$sink") of $sent messages delivered"
        done
        r=$((r + 1))
      done
    done
    for name in $PF_NAMES; do
      eval "sent=\$PFI_${name}_SENT sink=\$PFI_${name}_SINK"
      n=$(sink_count "$sink")
      [ "$n" -eq "$sent" ] && ok "postfix ($name): all $sent messages delivered to the sink" ||
        fail "postfix ($name): $n of $sent messages delivered"
    done
    checked=$(($(grep -c 'result=pass' "$T/sg-unix.log") - before))
    # shellcheck disable=SC2086 # a list
    n_s=$(set -- $P_SESSIONS; echo $#)
    [ "$checked" -ge "$((P_MSGS * P_RUNS * n_s))" ] &&
      ok "postfix + spfgate (unix): $checked messages checked, SPF pass" ||
      fail "postfix + spfgate (unix): only $checked messages checked with an SPF pass"
    if ! grep 'result=' "$T/sg-unix.log" "$T/sg-tcp.log" | grep -qv 'result=pass'; then
      ok "postfix + spfgate: no result other than pass"
    else
      fail "postfix + spfgate: results other than pass: $(grep 'result=' "$T/sg-unix.log" | grep -v 'result=pass' | head -n 1)"
    fi
    for s in $P_SESSIONS; do
      eval "base=\$(median \${PFI_alone_R_$s:-})"
      for name in $PF_NAMES; do
        [ $name = alone ] && continue
        eval "v=\$(median \${PFI_${name}_R_$s:-})"
        rr=$(ratio "$v" "$base")
        if [ $name = null ]; then
          # The ceiling of any libmilter filter with this Postfix.
          row "postfix+null milter unix s=$s msgs/s" "$v" "$base" "$rr" "-" "-"
        elif [ $s = 1 ]; then
          row "postfix+spfgate $name s=$s msgs/s" "$v" "$base" "$rr" "-" "-"
        else
          row "postfix+spfgate $name s=$s msgs/s" "$v" "$base" "$rr" ">= 0.90" "$(judge "$rr" ">=" 0.90)"
        fi
      done
    done
  fi
  for name in $PF_NAMES; do
    eval "b=\${PFI_${name}_BASE:-} d=\${PFI_${name}_DIR:-}"
    [ -n "$b" ] && PF_DIR=$d PF_BASE=$b PF_STARTED=1 pf_stop
  done
fi

# --- 3. cost per message ----------------------------------------------------
# cg_ir FILE: the instruction total of a callgrind dump.
cg_ir() { awk '/^(summary|totals):/ { v = $2 } END { print v + 0 }' "$1"; }

# cg_dump PID LABEL K: dumps (and zeroes) callgrind's counters, the K-th
# dump of PID; prints the instruction count since the last dump.
cg_dump() {
  timeout 30 callgrind_control -d "$2" "$1" >/dev/null 2>&1 || return 1
  _n=0
  while [ ! -s "$T/cg/out.$1.$3" ] && [ $_n -lt 100 ]; do sleep 0.1; _n=$((_n + 1)); done
  sleep 0.2
  cg_ir "$T/cg/out.$1.$3"
}
CG_K=0

if ! want cost; then
  :
elif ! command -v valgrind >/dev/null 2>&1 || ! command -v callgrind_control >/dev/null 2>&1; then
  skip "cost per message: valgrind is not installed"
else
  mkdir -p "$T/cg"
  costs_ok=1
  CG_SOCK=unix:$T/cg.sock
  if start_spfgate cg "$CG_SOCK" valgrind --tool=callgrind "--callgrind-out-file=$T/cg/out.%p"; then
    cgp=$SG_PID
    script "$T/prime.script" sender@prime.bench.example spfgate
    load "$CG_SOCK" "$T/prime.script" 1 1 "$T/cg-prime.out" >/dev/null ||
      { fail "cost: priming run under callgrind"; costs_ok=0; }
    timeout 30 callgrind_control -z "$cgp" >/dev/null 2>&1 || { fail "cost: callgrind_control"; costs_ok=0; }
    for d in bench t1 t5 t10 i10 i100; do
      [ $costs_ok = 1 ] || break
      if [ $d = bench ]; then snd=sender@bench.example; else snd=sender@$d.bench.example; fi
      script "$T/cg-$d.script" "$snd" spfgate
      if load "$CG_SOCK" "$T/cg-$d.script" 1 1 "$T/cg-$d-cold.out" >/dev/null &&
        CG_K=$((CG_K + 1)) && cold=$(cg_dump "$cgp" "cold-$d" $CG_K) &&
        load "$CG_SOCK" "$T/cg-$d.script" 1 1 "$T/cg-$d-warm1.out" >/dev/null &&
        CG_K=$((CG_K + 1)) && warm1=$(cg_dump "$cgp" "warm1-$d" $CG_K) &&
        load "$CG_SOCK" "$T/cg-$d.script" "$CG_MSGS" 1 "$T/cg-$d-warm.out" >/dev/null &&
        CG_K=$((CG_K + 1)) && warm=$(cg_dump "$cgp" "warm-$d" $CG_K); then
        [ $d = bench ] && CG_WARM_FILE=$T/cg/out.$cgp.$CG_K
        eval "CG_cold_$d=$cold CG_warm1_$d=$warm1 CG_warm_$d=$((warm / CG_MSGS))"
      else
        fail "cost: runs under callgrind for $snd"; costs_ok=0
      fi
    done
  else
    fail "cost: spfgate did not start under callgrind"; costs_ok=0
  fi
  # The null milter's cost per message, the same way.
  NCG_SOCK=unix:$T/ncg.sock
  valgrind --tool=callgrind "--callgrind-out-file=$T/cg/out.%p" "$NULLM" -p "$NCG_SOCK" 2>"$T/ncg.log" &
  ncgp=$!
  started $ncgp
  if wait_listen "$NCG_SOCK" "$ncgp" 60 &&
    load "$NCG_SOCK" "$T/null.script" 1 1 "$T/ncg-1.out" >/dev/null &&
    timeout 30 callgrind_control -z "$ncgp" >/dev/null 2>&1 &&
    load "$NCG_SOCK" "$T/null.script" "$CG_MSGS" 1 "$T/ncg.out" >/dev/null &&
    nwarm=$(cg_dump "$ncgp" warm 1); then
    nwarm=$((nwarm / CG_MSGS))
  else
    fail "cost: the null milter under callgrind"; nwarm=""
  fi
  if [ $costs_ok = 1 ]; then
    ok "cost: callgrind counts for $CG_MSGS messages per case"
    row "instr/msg warm (include a mx)" "$CG_warm_bench" "${nwarm:--}" "$(ratio "$CG_warm_bench" "$nwarm")" "-" "-"
    row "instr first msg, cold (include a mx)" "$CG_cold_bench" "$CG_warm1_bench" "$(ratio "$CG_cold_bench" "$CG_warm1_bench")" "-" "-"
    for d in t1 t5 t10 i10 i100; do
      case $d in t*) what="${d#t} DNS terms" ;; i*) what="${d#i} ip4 terms" ;; esac
      eval "c=\$CG_cold_$d w1=\$CG_warm1_$d w=\$CG_warm_$d"
      row "instr first msg, cold ($what)" "$c" "$w1" "$(ratio "$c" "$w1")" "-" "-"
      row "instr/msg warm ($what)" "$w" "$CG_warm_t1" "$(ratio "$w" "$CG_warm_t1")" "-" "-"
    done
    # Linear in DNS terms: the cost of the DNS part (cold first message
    # minus a warm first message) per term, from 1 to 5 and from 5 to 10
    # terms; the second may be at most 1.5 times the first.
    d5=$(awk -v a="$CG_cold_t5" -v b="$CG_warm1_t5" -v c="$CG_cold_t1" -v d="$CG_warm1_t1" 'BEGIN { printf "%d", ((a - b) - (c - d)) / 4 }')
    d10=$(awk -v a="$CG_cold_t10" -v b="$CG_warm1_t10" -v c="$CG_cold_t5" -v d="$CG_warm1_t5" 'BEGIN { printf "%d", ((a - b) - (c - d)) / 5 }')
    gr=$(ratio "$d10" "$d5")
    row "cold instr per DNS term, 5->10 vs 1->5" "$d10" "$d5" "$gr" "<= 1.5" "$(judge "$gr" "<=" 1.5)"
    # Warm: no growth beyond parsing: the extra warm cost per DNS term
    # compared with the extra cost per ip4 term (parsing alone).
    wt=$(awk -v a="$CG_warm_t10" -v b="$CG_warm_t1" 'BEGIN { printf "%d", (a - b) / 9 }')
    wi=$(awk -v a="$CG_warm_i100" -v b="$CG_warm_i10" 'BEGIN { printf "%d", (a - b) / 90 }')
    row "warm instr per DNS term vs per ip4 term" "$wt" "$wi" "$(ratio "$wt" "$wi")" "-" "-"
    # Where a warm message's instructions go: spfgate's costliest calls.
    if command -v callgrind_annotate >/dev/null 2>&1 && [ -n "${CG_WARM_FILE:-}" ]; then
      callgrind_annotate --inclusive=yes --threshold=100 "$CG_WARM_FILE" 2>/dev/null |
        awk -v n="$CG_MSGS" '/^ *[0-9,]+ +\(/ && /(milter|libspf2|vfprintf|inet_ntop|malloc.c:malloc|free)/ {
            ir = $1; gsub(/,/, "", ir); fn = $0; sub(/.*:/, "", fn); sub(/ .*/, "", fn)
            if (fn !~ /^0x/ && !(fn in seen) && k < 20) { seen[fn] = 1; k++; printf "  %-36s %9d instr/msg\n", fn, ir / n } }' >"$T/profile"
    fi
  fi
fi

# --- 4. memory --------------------------------------------------------------
# hwm PID: VmHWM in MiB.
hwm() { awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null; }
rss() { awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null; }

# hold SPEC COUNT PID: holds COUNT sessions open and prints the daemon's
# VmHWM and VmRSS meanwhile; false when not all sessions were held.
hold() {
  rm -f "$T/hold.stop" "$T/hold.out"
  "$PY" "$here/holder.py" "$1" "$2" "$T/hold.stop" 120 >"$T/hold.out" 2>"$T/hold.err" &
  _h=$!
  _n=0
  while [ ! -s "$T/hold.out" ] && [ $_n -lt 1200 ] && kill -0 $_h 2>/dev/null; do sleep 0.1; _n=$((_n + 1)); done
  sleep 0.3
  _m="$(hwm "$3") $(rss "$3")"
  touch "$T/hold.stop"
  wait $_h
  _rc=$?
  echo "$_m"
  [ $_rc -eq 0 ] && grep -q "^held $2\$" "$T/hold.out"
}

if want memory; then
  MEM_SOCK=unix:$T/mem.sock
  if start_spfgate mem "$MEM_SOCK"; then
    mp=$SG_PID
    sleep 0.5
    idle=$(hwm $mp)
    row "peak RSS MiB idle" "$idle" "-" "-" "<= 8" "$(judge "$idle" "<=" 8)"
    load "$MEM_SOCK" "$T/sg.script" 1000 10 "$T/mem-warm.out" >/dev/null ||
      fail "memory: warm-up run"
    row "peak RSS MiB after 1000 msgs, 10 conns" "$(hwm $mp)" "-" "-" "-" "-"
    for c in 50 500; do
      if x=$(hold "$MEM_SOCK" $c $mp); then
        ok "memory: $c sessions held open at once"
        row "peak RSS MiB, $c sessions open" "${x% *}" "-" "-" \
          "$([ $c = 500 ] && echo "<= 32" || echo -)" "$([ $c = 500 ] && judge "${x% *}" "<=" 32 || echo -)"
      else
        fail "memory: holding $c sessions: $(cat "$T/hold.err")"
      fi
    done
    # The DNS cache filled: 9000 sender domains (unknown names: each
    # answer, NXDOMAIN, is kept) in one session.
    {
      echo "connect client.bench.example 192.0.2.1 40000"
      echo "helo mx.bench.example"
      i=1
      while [ $i -le 9000 ]; do
        echo "mail <u@d$i.fill.bench.example>"
        echo "abort"
        i=$((i + 1))
      done
      echo "quit"
    } >"$T/fill.script"
    if timeout 300 "$MILTC" -s "$MEM_SOCK" -t 20 -f "$T/fill.script" >"$T/fill.out" 2>&1; then
      ok "memory: 9000 sender domains looked up"
      row "peak RSS MiB, DNS cache filled (9000 names)" "$(hwm $mp)" "-" "-" "-" "-"
    else
      fail "memory: the cache-filling session: $(tail -n 2 "$T/fill.out" | tr '\n' ' ')"
    fi
  else
    fail "memory: spfgate did not start"
  fi
fi

# --- the table --------------------------------------------------------------
echo
echo "spfgate benchmark, $([ $quick = 1 ] && echo "quick" || echo "full"): $(nproc) cores, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "milter: $M_RUNS x $M_MSGS messages (median); postfix: $P_RUNS x $P_MSGS messages, 1024 bytes (median); baseline: null milter, postfix alone"
awk -F'|' 'BEGIN { printf "%-44s %12s %12s %7s %8s %s\n", "case", "spfgate", "baseline", "ratio", "target", ""
                   printf "%-44s %12s %12s %7s %8s %s\n", "----", "-------", "--------", "-----", "------", "" }
           { printf "%-44s %12s %12s %7s %8s %s\n", $1, $2, $3, $4, $5, ($6 == "-" ? "" : $6) }' "$TABLE"
if [ -s "$T/profile" ]; then
  echo
  echo "warm message (include a mx), inclusive instructions per message:"
  cat "$T/profile"
fi
echo
if [ $BROKEN -gt 0 ]; then
  echo "$BROKEN broken"
  exit 1
fi
echo "nothing broken"
exit 0
