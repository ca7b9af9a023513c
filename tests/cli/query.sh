#!/bin/sh
# query.sh - spfgate-query against the test DNS server: every result, the
# JSON fields, the verdict and the reply at the stage the milter would
# give it, the lookups of -v, and bad options.
set -u
. "$(dirname "$0")/../lib/testenv.sh"
Q="$(dirname "$SPFGATE_BIN")/spfgate-query"

cat >"$T_DIR/zone" <<'ZONE'
pass.example TXT "v=spf1 ip4:192.0.2.0/24 -all"
fail.example TXT "v=spf1 -all"
softfail.example TXT "v=spf1 ~all"
neutral.example TXT "v=spf1 ?all"
perm.example TXT "v=spf1 ip4:192.0.2.0/33 -all"
temp.example SERVFAIL
helo.example TXT "v=spf1 ip4:192.0.2.0/24 -all"
ZONE
t_dns "$T_DIR/zone"

# q EXPECTED-SUBSTRING ARGS...: runs spfgate-query --json and looks for
# the substring in its output.
q() {
  want=$1; shift
  out=$("$Q" --dns-server "127.0.0.1:$T_DNS_PORT" --json "$@" 2>&1)
  case $out in
    *"$want"*) ok "query $*: $want" ;;
    *) fail "query $*: want $want, got $out" ;;
  esac
}
base="--ip 192.0.2.7 --helo helo.example"
q '"result":"pass"' $base --from a@pass.example
q '"action":"accept"' $base --from a@pass.example
q '"result":"fail"' $base --from a@fail.example
q '"action":"reject","stage":"RCPT","reply":"550 5.7.23 ' $base --from a@fail.example
q '"action":"accept"' $base --from a@fail.example --rcpt postmaster@local.example
q '"result":"softfail"' $base --from a@softfail.example
q '"result":"neutral"' $base --from a@neutral.example
q '"result":"none"' $base --from a@none.example
q '"result":"permerror"' $base --from a@perm.example
q '"action":"tempfail","stage":"MAIL","reply":"451 4.7.24 ' $base --from a@temp.example
q '"identity":"postmaster@helo.example"' $base --from '<>'
q '"skip":"trusted"' --ip 127.0.0.1 --helo helo.example --from a@fail.example
q '"skip":"auth"' $base --from a@fail.example --auth

printf 'dry_run = yes\n' >"$T_DIR/dry.conf"
q '"action":"would-reject"' -c "$T_DIR/dry.conf" $base --from a@fail.example

out=$("$Q" --dns-server "127.0.0.1:$T_DNS_PORT" $base --from a@fail.example 2>&1)
case $out in
  *"milter: reject at RCPT: 550 5.7.23"*) ok "text output names the stage and reply" ;;
  *) fail "text output: $out" ;;
esac
out=$("$Q" --dns-server "127.0.0.1:$T_DNS_PORT" -v $base --from a@pass.example 2>&1)
case $out in
  *"dns: pass.example TXT NOERROR, 1 answer, queried, "*"ms"*"result: pass"*)
    ok "-v lists the TXT lookup of the sender domain before the result" ;;
  *) fail "-v output: $out" ;;
esac
out=$("$Q" --dns-server "127.0.0.1:$T_DNS_PORT" -v $base --from a@none.example 2>&1)
case $out in
  *"dns: none.example TXT NXDOMAIN, 0 answers, queried"*) ok "-v shows NXDOMAIN" ;;
  *) fail "-v output for a missing domain: $out" ;;
esac
out=$("$Q" --dns-server "127.0.0.1:$T_DNS_PORT" $base --from a@pass.example 2>&1)
case $out in
  *"dns: "*) fail "lookups printed without -v: $out" ;;
  *) ok "no lookups printed without -v" ;;
esac
"$Q" --ip not-an-ip --from a@b.example >/dev/null 2>&1; rc=$?
[ "$rc" -eq 2 ] && ok "a bad --ip exits 2" || fail "a bad --ip exits $rc"
"$Q" --bogus >/dev/null 2>&1; rc=$?
[ "$rc" -eq 2 ] && ok "an unknown option exits 2" || fail "an unknown option exits $rc"
t_finish
