# common.sh - sourced by the integration scripts: temp dirs, free ports,
# bounded waits, timing, Debian packages, and a cleanup list of what was
# started (so only that is ever stopped).
#
# Everything here works on loopback only and in its own directories.

# The directory holding this file (the caller sets IT_LIB before sourcing,
# or we guess from $0).
: "${IT_LIB:=$(cd "$(dirname "$0")" && pwd)/lib}"

# it_python: a Python 3 interpreter, the system one first (a fresh Debian 12
# gets the package installed).
it_python() {
  if [ -z "${IT_PY:-}" ]; then
    if [ -x /usr/bin/python3 ]; then
      IT_PY=/usr/bin/python3
    else
      it_apt_install python3 >&2 || return 1
      IT_PY=$(command -v python3) || return 1
    fi
  fi
  printf '%s\n' "$IT_PY"
}

# it_apt_install PKG...: installs the Debian packages that are missing,
# non-interactively. Never starts a service that was not running before
# (policy-rc.d refuses starts during the install).
it_apt_install() {
  _missing=""
  for _p in "$@"; do
    dpkg-query -W -f='${Status}\n' "$_p" 2>/dev/null |
      grep -q '^install ok installed$' || _missing="$_missing $_p"
  done
  [ -z "$_missing" ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing Debian packages:$_missing (run as root, or install them)" >&2
    return 1
  fi
  echo "installing:$_missing" >&2
  export DEBIAN_FRONTEND=noninteractive
  # Keep package scripts from starting daemons: a policy-rc.d answering
  # 101 ("action forbidden") is honoured by invoke-rc.d. Only ours is
  # removed afterwards; an existing one is left alone.
  _prc=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d &&
      chmod 755 /usr/sbin/policy-rc.d && _prc=1
  fi
  _rc=0
  # shellcheck disable=SC2086 # $_missing is a list of package names
  if ! timeout 300 apt-get install -y -qq --no-install-recommends $_missing \
    >/dev/null 2>&1; then
    timeout 300 apt-get update -qq >/dev/null 2>&1
    # shellcheck disable=SC2086
    timeout 600 apt-get install -y -qq --no-install-recommends $_missing \
      >/dev/null || _rc=1
  fi
  [ -n "$_prc" ] && rm -f /usr/sbin/policy-rc.d
  return $_rc
}

# it_tmpdir: makes the run's private directory (IT_TMP), traversable by the
# unprivileged daemon users (postfix, the sink's user).
it_tmpdir() {
  if [ -z "${IT_TMP:-}" ]; then
    IT_TMP=$(mktemp -d "${TMPDIR:-/tmp}/spfgate-it.XXXXXX") || return 1
    chmod 755 "$IT_TMP"
  fi
}

# it_free_port [ADDR]: prints a TCP port that is free on ADDR now.
it_free_port() {
  "$(it_python)" - "${1:-127.0.0.1}" <<'EOF'
import socket, sys
a = sys.argv[1]
s = socket.socket(socket.AF_INET6 if ":" in a else socket.AF_INET)
s.bind((a, 0))
print(s.getsockname()[1])
s.close()
EOF
}

# it_have_ipv6: true when ::1 can be bound here.
it_have_ipv6() {
  "$(it_python)" -c '
import socket
s = socket.socket(socket.AF_INET6); s.bind(("::1", 0)); s.close()' 2>/dev/null
}

# it_wait_port ADDR PORT SECONDS: waits until a TCP connect to ADDR:PORT
# succeeds; false after SECONDS.
it_wait_port() {
  "$(it_python)" - "$1" "$2" "$3" <<'EOF'
import socket, sys, time
a, p, t = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
end = time.time() + t
while time.time() < end:
    try:
        s = socket.create_connection((a, p), timeout=0.5)
        s.close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
EOF
}

# it_wait_file PATH SECONDS: waits until PATH exists (socket, pidfile).
it_wait_file() {
  _n=$(awk -v s="$2" 'BEGIN { print int(s * 20) }')
  while [ "$_n" -gt 0 ]; do
    [ -e "$1" ] && return 0
    sleep 0.05
    _n=$((_n - 1))
  done
  [ -e "$1" ]
}

# it_now_ms: milliseconds since the epoch (GNU date).
it_now_ms() { date +%s%3N; }

# it_time LABEL CMD...: runs CMD, records "LABEL<TAB>ms" in IT_TMP/timings.
it_time() {
  _lbl=$1; shift
  _t0=$(it_now_ms)
  "$@"; _rc=$?
  echo "$_lbl	$(($(it_now_ms) - _t0))" >>"$IT_TMP/timings"
  return $_rc
}

# Cleanup list: shell commands run (last first) by it_cleanup.
IT_CLEANUP=""
it_on_exit() { IT_CLEANUP="$1
$IT_CLEANUP"; }

# it_kill_pid PID: stops one process we started: TERM, then KILL after 5 s.
it_kill_pid() {
  [ -n "$1" ] || return 0
  kill -0 "$1" 2>/dev/null || return 0
  kill "$1" 2>/dev/null
  _n=50
  while [ $_n -gt 0 ] && kill -0 "$1" 2>/dev/null; do sleep 0.1; _n=$((_n - 1)); done
  kill -0 "$1" 2>/dev/null && kill -9 "$1" 2>/dev/null
  return 0
}

# it_kill_pidfile FILE: it_kill_pid on the pid in FILE.
it_kill_pidfile() {
  [ -f "$1" ] && it_kill_pid "$(cat "$1")"
  return 0
}

# it_cleanup: runs the cleanup list once; removes IT_TMP unless IT_KEEP=1.
it_cleanup() {
  _list=$IT_CLEANUP; IT_CLEANUP=""
  printf '%s\n' "$_list" | while IFS= read -r _c; do
    [ -n "$_c" ] && eval "$_c"
  done
  if [ -n "${IT_TMP:-}" ] && [ -d "$IT_TMP" ]; then
    if [ "${IT_KEEP:-0}" = 1 ]; then
      echo "kept: $IT_TMP" >&2
    else
      rm -rf "$IT_TMP"
    fi
  fi
}

# it_milter_start SOCKETPATH SECONDS CMD...: starts a milter (CMD, in the
# background) with umask 0, so that its Unix socket is writable for
# Postfix's smtpd (which runs as the postfix user); waits until SOCKETPATH
# exists; registers the stop. Sets IT_MILTER_PID. False if the socket did
# not appear in time (the process is then stopped).
it_milter_start() {
  _sock=$1; _secs=$2; shift 2
  (umask 0; exec "$@") >>"$IT_TMP/milter-$(basename "$_sock").log" 2>&1 &
  IT_MILTER_PID=$!
  it_on_exit "it_kill_pid $IT_MILTER_PID"
  if ! it_wait_file "$_sock" "$_secs"; then
    it_kill_pid "$IT_MILTER_PID"
    return 1
  fi
}
