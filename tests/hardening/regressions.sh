#!/bin/sh
# regressions.sh - problems the hardening work found, fixed, and kept
# fixed:
# 1. A record of 500 ip4: terms ending in -all, client not listed, gives
#    fail (it was a permerror: a limit of 256 terms per record).
# 2. A legal unknown modifier with a long value (x-pad= of 2,000 octets)
#    is ignored (its syntax check took a full buffer for a syntax error).
# 3. A start refused because `user` does not exist leaves no socket file
#    behind (accounts are now checked before the socket is opened). Root
#    only.
# 4. `spfgate -n` refuses a `user` that does not exist, so the unit's
#    check before start and reload catches it.
set -u
. "$(dirname "$0")/../lib/testenv.sh"
Q="$(dirname "$SPFGATE_BIN")/spfgate-query"

terms=$(i=0; while [ $i -lt 500 ]; do printf ' ip4:10.%d.%d.1' $((i / 250)) $((i % 250)); i=$((i + 1)); done)
pad=$(head -c 2000 /dev/zero | tr '\0' x)
{
  echo "many.example TXT \"v=spf1$terms -all\""
  echo "pad.example TXT \"v=spf1 ip4:192.0.2.0/24 x-pad=$pad -all\""
} >"$T_DIR/zone"
t_dns "$T_DIR/zone"

q() {
  out=$("$Q" --ip "$2" --helo h.example --from "$3" --dns-server "127.0.0.1:$T_DNS_PORT" --json 2>&1)
  case $out in
    '{"result":"'"$4"'"'*) ok "$1: $4" ;;
    *) fail "$1: want $4, got $(printf '%s' "$out" | cut -c1-160)" ;;
  esac
}
q "500 ip4 terms, client not listed" 198.51.100.7 a@many.example fail
q "2,000-octet unknown modifier, client listed" 192.0.2.7 a@pad.example pass

NOUSER=spfgate-no-such-user-$$
printf 'socket = unix:%s/nouser.sock\nlog = stderr\nuser = %s\n' "$T_DIR" "$NOUSER" >"$T_DIR/nouser.conf"
if [ "$(id -u)" -eq 0 ]; then
  "$SPFGATE_BIN" -f -c "$T_DIR/nouser.conf" >/dev/null 2>&1
  [ ! -e "$T_DIR/nouser.sock" ] && ok "refused start leaves no socket" ||
    fail "refused start (no such user) left its socket behind"
fi
if "$SPFGATE_BIN" -n -c "$T_DIR/nouser.conf" >/dev/null 2>&1; then
  fail "spfgate -n accepts a user that does not exist"
else
  ok "spfgate -n refuses a user that does not exist"
fi
t_finish
