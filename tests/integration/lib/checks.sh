# checks.sh - the small test vocabulary of the integration scripts. Sourced
# after common.sh (and dns.sh for dns_has). Uses IT_TMP; TABLE is the
# command-reply table file (tests/data/smtp-reply-table.txt).
#
# ok / fail / skip TEXT      one result line; counts in it_passed,
#                            it_failed, it_skipped
# check TEXT CMD...          ok or fail by CMD's status
# it_summary                 "N passed, N failed[, N skipped]"; status 0
#                            only when nothing failed
# session NAME PORT [OPTS] < SCRIPT
#                            one SMTP session (smtpclient.py; OPTS such as
#                            --bind 127.0.0.2 or --host ::1), record in
#                            $IT_TMP/rec/NAME, timed as "session NAME"
# reply_is NAME COMMAND "CODE TEXT-PREFIX"
#                            the first reply to COMMAND in record NAME
#                            ("." is the reply after the final dot)
# replies NAME COMMAND       all replies to COMMAND, "CODE TEXT" a line
# audit NAME                 record NAME passes the reply table
# sink_has LISTER PATTERN    a message kept by the sink (LISTER is
#                            pf_messages or sm_messages) matches PATTERN
# no_messages LISTER         the sink kept nothing
# dns_has NAME TYPE PATTERN  the private DNS server's answer matches

it_passed=0; it_failed=0; it_skipped=0
ok() { echo "ok: $*"; it_passed=$((it_passed + 1)); }
fail() { echo "FAIL: $*"; it_failed=$((it_failed + 1)); }
skip() { echo "skip: $*"; it_skipped=$((it_skipped + 1)); }
check() {
  _d=$1; shift
  if "$@"; then ok "$_d"; else fail "$_d"; fi
}
it_summary() {
  if [ "$it_skipped" -gt 0 ]; then
    echo "$it_passed passed, $it_failed failed, $it_skipped skipped"
  else
    echo "$it_passed passed, $it_failed failed"
  fi
  [ "$it_failed" -eq 0 ]
}

session() {
  _s=$1; _p=$2; shift 2
  mkdir -p "$IT_TMP/rec"
  it_time "session $_s" "$(it_python)" "$IT_LIB/smtpclient.py" --port "$_p" \
    --timeout "${IT_REPLY_TIMEOUT:-30}" --total "${IT_SESSION_TIMEOUT:-90}" \
    --out "$IT_TMP/rec/$_s" "$@"
}

reply_is() {
  _got=$(awk -F'\t' -v c="$2" '$1 == c { print $2 " " $3; exit }' "$IT_TMP/rec/$1")
  case $_got in
    "$3"*) return 0 ;;
  esac
  echo "  $1: $2 got: ${_got:-(none)}; want: $3" >&2
  return 1
}

replies() {
  awk -F'\t' -v c="$2" '$1 == c { print $2 " " $3 }' "$IT_TMP/rec/$1"
}

audit() {
  sh "$IT_LIB/audit.sh" "$TABLE" "$IT_TMP/rec/$1"
}

no_messages() { [ -z "$($1)" ]; }

sink_has() {
  for _m in $($1); do grep -q "$2" "$_m" && return 0; done
  return 1
}

dns_has() {
  "$(it_python)" "$IT_LIB/dnsquery.py" 127.0.0.1 "$DNS_PORT" "$1" "$2" 2 | grep -q "$3"
}
