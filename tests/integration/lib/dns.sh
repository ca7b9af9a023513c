# dns.sh - a private DNS server for the integration tests. Sourced after
# common.sh.
#
# One zone file, in the test DNS server's format (tests/tools/testdns.c):
#   NAME [TTL] TYPE VALUE     TYPE: A AAAA MX ("PRIO HOST") TXT (quoted
#                             strings or bare text) PTR CNAME
#   NAME SERVFAIL | REFUSED | TIMEOUT | TRUNCATE     (actions)
#   NAME DELAY MS
# is served by either backend:
#   unbound (default)  Debian's unbound, a real resolver, with the records as
#                      local-data under a static root zone (so it never asks
#                      the outside world). REFUSED names are refused by
#                      unbound itself; the other actions are forwarded to a
#                      testdns instance that serves them (with no testdns
#                      built, SERVFAIL names still get SERVFAIL and the
#                      others go unanswered).
#   testdns            the project's test server serves the file directly:
#                      TIMEOUT is then real silence, TRUNCATE a real TC bit.
# Choose with DNS_BACKEND=unbound|testdns (or the second argument).
#
# dns_start ZONEFILE [BACKEND]   start; sets DNS_ADDR, DNS_PORT and
#                                DNS_SERVER ("127.0.0.1:PORT", the form of
#                                spfgate's dns_servers setting)
# dns_stop                       stop what dns_start started
# dns_unbound_conf ZONEFILE OUT [FWDPORT|none]  the conversion alone
#
# The testdns binary: SPFGATE_TESTDNS, or SPFGATE_BUILD/tests/tools/testdns.

dns_testdns_bin() {
  if [ -n "${SPFGATE_TESTDNS:-}" ] && [ -x "$SPFGATE_TESTDNS" ]; then
    echo "$SPFGATE_TESTDNS"
  elif [ -n "${SPFGATE_BUILD:-}" ] && [ -x "$SPFGATE_BUILD/tests/tools/testdns" ]; then
    echo "$SPFGATE_BUILD/tests/tools/testdns"
  else
    return 1
  fi
}

dns_install() {
  [ -x /usr/sbin/unbound ] && return 0
  it_apt_install unbound || return 1
  # The package may start its own system resolver; tests never use it, and
  # we leave the system as the install left it.
}

# dns_unbound_conf ZONEFILE OUT [FWDPORT]: writes unbound "server:" lines
# for the zone (to OUT) and, for the forwarded action names, forward-zone
# clauses to 127.0.0.1@FWDPORT (OUT.fwd; FWDPORT "none": no testdns). Prints
# the forwarded names' action lines.
dns_unbound_conf() {
  awk -v out="$2" -v fwd="$2.fwd" -v fport="${3:-0}" '
    function fqdn(n) { return (n ~ /\.$/) ? tolower(n) : tolower(n) "." }
    # Splits the quoted strings of a TXT value at 255 octets (strings
    # with escapes are kept whole), bare text is quoted.
    function txt(v,   r, s, q, i, c) {
      if (substr(v, 1, 1) != "\"") {
        gsub(/\\/, "\\\\", v); gsub(/"/, "\\\"", v)
        v = "\"" v "\""
      }
      r = ""
      while (v != "") {
        sub(/^[ \t]+/, "", v)
        if (v == "") break
        if (substr(v, 1, 1) != "\"") { r = r " " v; break }
        s = ""; i = 2
        while (i <= length(v)) {
          c = substr(v, i, 1)
          if (c == "\\") { s = s substr(v, i, 2); i += 2; continue }
          if (c == "\"") break
          s = s c; i++
        }
        v = substr(v, i + 1)
        if (index(s, "\\") == 0)
          while (length(s) > 255) { r = r " \"" substr(s, 1, 255) "\""; s = substr(s, 256) }
        r = r " \"" s "\""
      }
      return substr(r, 2)
    }
    /^[ \t]*(#|$)/ { next }
    {
      name = fqdn($1); i = 2; ttl = 300
      if ($2 ~ /^[0-9]+$/) { ttl = $2; i = 3 }
      type = toupper($i)
      v = $0
      for (k = 1; k <= i; k++) { sub(/^[ \t]*[^ \t]+/, "", v) }
      sub(/^[ \t]+/, "", v); sub(/[ \t]+$/, "", v)
      if (type == "REFUSED") {
        print "  local-zone: \"" name "\" always_refuse" > out; next
      }
      if (type == "SERVFAIL" || type == "TIMEOUT" || type == "TRUNCATE" || type == "DELAY") {
        if (!(name in fwded)) {
          fwded[name] = 1
          print "  local-zone: \"" name "\" transparent" > out
          # Without testdns, a SERVFAIL name is forwarded to an address
          # unbound must not query (do-not-query-address): it answers
          # SERVFAIL at once.
          if (fport == "none")
            dest = (type == "SERVFAIL") ? "  forward-addr: 127.0.0.9@9" : "  forward-addr: 127.0.0.1@9"
          else
            dest = "  forward-addr: 127.0.0.1@" fport
          print "forward-zone:\n  name: \"" name "\"\n" dest > fwd
        }
        print
        next
      }
      if (type == "MX") {
        split(v, m, /[ \t]+/); v = m[1] " " fqdn(m[2])
      } else if (type == "PTR" || type == "CNAME") {
        v = fqdn(v)
      } else if (type == "TXT") {
        v = txt(v)
      } else if (type != "A" && type != "AAAA") {
        printf "dns: %s:%d: unknown type %s\n", FILENAME, FNR, type > "/dev/stderr"
        bad = 1; next
      }
      print "  local-data: '\''" name " " ttl " IN " type " " v "'\''" > out
    }
    END { exit bad }' "$1"
}

# dns_start ZONEFILE [BACKEND]
dns_start() {
  _zone=$1; _backend=${2:-${DNS_BACKEND:-unbound}}
  it_tmpdir || return 1
  DNS_DIR=$IT_TMP/dns
  mkdir -p "$DNS_DIR" || return 1
  DNS_ADDR=127.0.0.1
  it_on_exit 'dns_stop'
  if [ "$_backend" = testdns ]; then
    _td=$(dns_testdns_bin) || { echo "dns: no testdns binary" >&2; return 1; }
    dns_start_testdns "$_zone" "$DNS_DIR/testdns" || return 1
    DNS_PORT=$DNS_TD_PORT
  else
    dns_install || return 1
    # The action names, served by testdns when it is built.
    grep -Ei '^[[:space:]]*[^#[:space:]]+[[:space:]]+(SERVFAIL|TIMEOUT|TRUNCATE|DELAY)([[:space:]]|$)' \
      "$_zone" >"$DNS_DIR/actions"
    _fport=none
    if [ -s "$DNS_DIR/actions" ]; then
      if dns_testdns_bin >/dev/null; then
        dns_start_testdns "$DNS_DIR/actions" "$DNS_DIR/testdns" || return 1
        _fport=$DNS_TD_PORT
      else
        echo "dns: no testdns built: SERVFAIL names still fail, TIMEOUT/TRUNCATE/DELAY names are unanswered (port 9)" >&2
      fi
    fi
    dns_unbound_conf "$_zone" "$DNS_DIR/local.conf" "$_fport" >/dev/null || return 1
    DNS_PORT=$(it_free_port 127.0.0.1) || return 1
    _if6=""
    it_have_ipv6 && _if6="  interface: ::1@$DNS_PORT"
    cat >"$DNS_DIR/unbound.conf" <<EOF
server:
  verbosity: 1
  interface: 127.0.0.1@$DNS_PORT
$_if6
  do-daemonize: no
  chroot: ""
  username: ""
  directory: "$DNS_DIR"
  pidfile: "$DNS_DIR/unbound.pid"
  use-syslog: no
  logfile: "$DNS_DIR/unbound.log"
  log-servfail: yes
  num-threads: 1
  so-reuseport: no
  outgoing-range: 64
  access-control: 127.0.0.0/8 allow
  access-control: ::1/128 allow
  module-config: "iterator"
  do-not-query-localhost: no
  do-not-query-address: 127.0.0.9
  qname-minimisation: no
  minimal-responses: yes
  cache-max-ttl: 0
  cache-max-negative-ttl: 0
  infra-host-ttl: 1
  # Nothing outside: every name not served here is NXDOMAIN.
  local-zone: "." static
EOF
    cat "$DNS_DIR/local.conf" >>"$DNS_DIR/unbound.conf"
    [ -s "$DNS_DIR/local.conf.fwd" ] && cat "$DNS_DIR/local.conf.fwd" >>"$DNS_DIR/unbound.conf"
    printf 'remote-control:\n  control-enable: no\n' >>"$DNS_DIR/unbound.conf"
    if ! unbound-checkconf "$DNS_DIR/unbound.conf" >"$DNS_DIR/check.out" 2>&1; then
      echo "dns: unbound-checkconf failed:" >&2
      cat "$DNS_DIR/check.out" >&2
      return 1
    fi
    /usr/sbin/unbound -d -c "$DNS_DIR/unbound.conf" >"$DNS_DIR/unbound.out" 2>&1 &
    DNS_UNBOUND_PID=$!
    echo "$DNS_UNBOUND_PID" >"$DNS_DIR/unbound.started"
    dns_wait_udp 127.0.0.1 "$DNS_PORT" 10 || {
      echo "dns: unbound did not answer on port $DNS_PORT:" >&2
      cat "$DNS_DIR/unbound.out" "$DNS_DIR/unbound.log" >&2 2>/dev/null
      return 1
    }
  fi
  # shellcheck disable=SC2034 # for the sourcing script
  DNS_SERVER="$DNS_ADDR:$DNS_PORT"
}

# dns_start_testdns ZONEFILE BASE: testdns on 127.0.0.1, chosen port in
# DNS_TD_PORT.
dns_start_testdns() {
  _td=$(dns_testdns_bin) || return 1
  "$_td" -a 127.0.0.1 -p 0 -z "$1" -P "$2.pid" >"$2.port" 2>"$2.err" &
  DNS_TD_PID=$!
  _n=100
  while [ $_n -gt 0 ] && [ ! -s "$2.port" ] && kill -0 $DNS_TD_PID 2>/dev/null; do
    sleep 0.05; _n=$((_n - 1))
  done
  DNS_TD_PORT=$(head -1 "$2.port" 2>/dev/null)
  case $DNS_TD_PORT in
    '' | *[!0-9]*)
      echo "dns: testdns did not start:" >&2; cat "$2.err" >&2; return 1 ;;
  esac
}

# dns_wait_udp ADDR PORT SECONDS: waits until a query for "." gets an answer.
dns_wait_udp() {
  "$(it_python)" - "$1" "$2" "$3" <<'EOF'
import socket, sys, time
a, p, t = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
q = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x01"
end = time.time() + t
while time.time() < end:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.2)
    try:
        s.sendto(q, (a, p))
        if s.recv(512)[:2] == b"\x12\x34":
            sys.exit(0)
    except OSError:
        time.sleep(0.05)
    finally:
        s.close()
sys.exit(1)
EOF
}

# dns_query NAME TYPE: asks the running server (prints the rcode, then the
# answers; see dnsquery.py); for the tests' own checks.
dns_query() {
  "$(it_python)" "$IT_LIB/dnsquery.py" "${DNS_ADDR:-127.0.0.1}" "$DNS_PORT" "$1" "$2"
}

# dns_stop: stops unbound and testdns, by the pids we started.
dns_stop() {
  [ -n "${DNS_UNBOUND_PID:-}" ] && it_kill_pid "$DNS_UNBOUND_PID"
  [ -n "${DNS_TD_PID:-}" ] && it_kill_pid "$DNS_TD_PID"
  DNS_UNBOUND_PID=""; DNS_TD_PID=""
}
