# sendmail.sh - a private Sendmail for the integration tests. Sourced after
# common.sh.
#
# Debian's sendmail-bin conflicts with postfix, so it is not installed: the
# package is downloaded and unpacked into a private directory (kept in a
# cache, SPFGATE_IT_CACHE, for later runs). Each SMTP session is one
# "sendmail -bs" started inetd-style by acceptexec.py with the accepted TCP
# socket as its stdin, so the milter sees the real client address; clients
# get different addresses by binding to 127.0.0.2, 127.0.0.3, ... or ::1.
# Accepted mail goes on to a private smtp-sink that keeps each message.
#
# sm_install                    fetch and unpack sendmail-bin if needed
# sm_setup NAME MILTER [TIMEOUTS]
#                               write the .cf; MILTER "unix:/path" or
#                               "inet:PORT@127.0.0.1" or "" (none); TIMEOUTS
#                               the milter's T= (default C:5s;S:10s;R:10s;E:30s)
# sm_start / sm_stop            the launcher and the sink (bounded waits)
# sm_messages / sm_wait_messages N SECONDS
#
# After sm_setup: SM_DIR, SM_CF, SM_PORT (IPv4 127.0.0.1), SM_PORT6 (::1,
# empty without IPv6), SM_SINK_DIR, SM_LOG (the sessions' stderr).

: "${SPFGATE_IT_CACHE:=/var/tmp/spfgate-it-cache}"

# sm_install: sets SM_BIN to a sendmail binary from Debian's sendmail-bin.
sm_install() {
  it_apt_install m4 sendmail-cf libwrap0 util-linux mount || return 1
  # The sink is Postfix's smtp-sink.
  if [ ! -x /usr/sbin/smtp-sink ]; then
    command -v pf_install >/dev/null 2>&1 || {
      echo "sendmail.sh: source postfix.sh too (smtp-sink comes with postfix)" >&2
      return 1
    }
    pf_install || return 1
  fi
  _root=$SPFGATE_IT_CACHE/sendmail-bin
  SM_BIN=$_root/usr/libexec/sendmail/sendmail
  [ -x "$SM_BIN" ] && return 0
  mkdir -p "$SPFGATE_IT_CACHE/dl" || return 1
  chmod 777 "$SPFGATE_IT_CACHE/dl" # apt-get download runs as _apt
  (cd "$SPFGATE_IT_CACHE/dl" && rm -f sendmail-bin_*.deb &&
    { timeout 120 apt-get download -q sendmail-bin >/dev/null 2>&1 ||
      { timeout 300 apt-get update -qq >/dev/null 2>&1 &&
        timeout 120 apt-get download -q sendmail-bin >/dev/null 2>&1; }; }) || {
    echo "cannot download sendmail-bin" >&2
    return 1
  }
  rm -rf "$_root.new"
  dpkg -x "$SPFGATE_IT_CACHE"/dl/sendmail-bin_*.deb "$_root.new" || return 1
  rm -rf "$_root" && mv "$_root.new" "$_root" || return 1
  [ -x "$SM_BIN" ]
}

# sm_setup NAME MILTER [TIMEOUTS]
sm_setup() {
  _name=$1; _milter=$2; _tmo=${3:-C:5s;S:10s;R:10s;E:30s}
  it_tmpdir || return 1
  SM_DIR=$IT_TMP/sendmail-$_name
  SM_CF=$SM_DIR/test.cf
  SM_SINK_DIR=$SM_DIR/sink
  SM_LOG=$SM_DIR/sessions.log
  mkdir -p "$SM_DIR/queue" "$SM_DIR/mqueue" "$SM_SINK_DIR" || return 1
  chmod 755 "$SM_DIR"; chmod 700 "$SM_DIR/queue" "$SM_DIR/mqueue"
  chown postfix "$SM_SINK_DIR" 2>/dev/null || chmod 777 "$SM_SINK_DIR"
  : >"$SM_DIR/aliases"
  : >"$SM_DIR/statistics"
  printf '127.0.0.1 mx.spfgate.test localhost\n::1 localhost\n' >"$SM_DIR/hosts"
  printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"$SM_DIR/resolv.conf"
  # Only the hosts file: no DNS lookup from Sendmail itself.
  printf 'hosts files\naliases files\n' >"$SM_DIR/service.switch"
  SM_PORT=$(it_free_port 127.0.0.1) || return 1
  SM_PORT6=""
  it_have_ipv6 && { SM_PORT6=$(it_free_port ::1) || return 1; }
  SM_SINK_PORT=$(it_free_port 127.0.0.1) || return 1
  _filter=""
  [ -n "$_milter" ] &&
    _filter="INPUT_MAIL_FILTER(\`spfgate', \`S=$_milter, F=T, T=$_tmo')"
  cat >"$SM_DIR/test.mc" <<EOF
divert(-1)
# Private test configuration of spfgate's integration tests.
divert(0)dnl
include(\`/usr/share/sendmail/cf/m4/cf.m4')dnl
VERSIONID(\`spfgate integration test')dnl
OSTYPE(\`linux')dnl
define(\`confDOMAIN_NAME', \`mx.spfgate.test')dnl
define(\`confDONT_PROBE_INTERFACES', \`True')dnl
define(\`QUEUE_DIR', \`$SM_DIR/queue')dnl
define(\`MSP_QUEUE_DIR', \`$SM_DIR/mqueue')dnl
define(\`confPID_FILE', \`$SM_DIR/sendmail.pid')dnl
define(\`STATUS_FILE', \`$SM_DIR/statistics')dnl
define(\`ALIAS_FILE', \`$SM_DIR/aliases')dnl
define(\`confHELP_FILE', \`')dnl
define(\`confHOST_STATUS_DIRECTORY', \`')dnl
define(\`confSERVICE_SWITCH_FILE', \`$SM_DIR/service.switch')dnl
define(\`confHOSTS_FILE', \`$SM_DIR/hosts')dnl
define(\`confDELIVERY_MODE', \`interactive')dnl
define(\`confLOG_LEVEL', \`9')dnl
define(\`confMILTER_LOG_LEVEL', \`9')dnl
define(\`confTO_IDENT', \`0s')dnl
define(\`confTO_CONNECT', \`10s')dnl
define(\`confTO_INITIAL', \`10s')dnl
define(\`confPRIVACY_FLAGS', \`authwarnings')dnl
define(\`confDONT_BLAME_SENDMAIL', \`ForwardFileInUnsafeDirPath,GroupWritableDirPathSafe,WorldWritableAliasFile,InsufficientEntropy,TrustStickyBit')dnl
define(\`confCHECK_ALIASES', \`False')dnl
define(\`confBIND_OPTS', \`-DNSRCH -DEFNAMES')dnl
define(\`SMART_HOST', \`relay:[127.0.0.1]')dnl
define(\`RELAY_MAILER_ARGS', \`TCP \$h $SM_SINK_PORT')dnl
define(\`ESMTP_MAILER_ARGS', \`TCP \$h $SM_SINK_PORT')dnl
define(\`SMTP_MAILER_ARGS', \`TCP \$h $SM_SINK_PORT')dnl
FEATURE(\`nocanonify')dnl
FEATURE(\`promiscuous_relay')dnl
FEATURE(\`accept_unresolvable_domains')dnl
FEATURE(\`accept_unqualified_senders')dnl
$_filter
MAILER(\`smtp')dnl
EOF
  m4 "$SM_DIR/test.mc" >"$SM_CF" 2>"$SM_DIR/m4.err" || {
    echo "m4 failed:" >&2; cat "$SM_DIR/m4.err" >&2; return 1
  }
  chmod 644 "$SM_CF"
  it_on_exit 'sm_stop'
}

# sm_start: the sink and the launcher; waits for both ports (10 s at most).
sm_start() {
  /usr/sbin/smtp-sink -u postfix -d "$SM_SINK_DIR/%M." \
    "127.0.0.1:$SM_SINK_PORT" 100 >"$SM_DIR/sink.log" 2>&1 &
  echo $! >"$SM_DIR/sink.pid"
  _l="-l 127.0.0.1:$SM_PORT"
  [ -n "$SM_PORT6" ] && _l="$_l -l [::1]:$SM_PORT6"
  # shellcheck disable=SC2086
  sm_isolated "$(it_python)" "$IT_LIB/acceptexec.py" $_l \
    -P "$SM_DIR/launcher.pid" -e "$SM_LOG" -t 120 -- \
    "$SM_BIN" -bs -C "$SM_CF" >"$SM_DIR/launcher.out" 2>&1 &
  SM_LAUNCHER_PID=$!
  it_wait_file "$SM_DIR/launcher.pid" 10 &&
    it_wait_port 127.0.0.1 "$SM_PORT" 5 &&
    it_wait_port 127.0.0.1 "$SM_SINK_PORT" 5 || {
    echo "sendmail launcher or sink did not start:" >&2
    cat "$SM_DIR/launcher.out" >&2
    return 1
  }
}

# sm_isolated CMD...: execs CMD (so call it with &: $! is then CMD's pid)
# with a fully qualified host name and private /etc/hosts and
# /etc/resolv.conf, in its own UTS and mount namespaces. Sendmail looks its
# host name up before it reads any configuration, and sleeps 60 s per
# session when it is unqualified; the lookup also goes to the system's DNS.
# Inside, the name is mx.spfgate.test, found in the private hosts file, and
# DNS goes to a closed port on loopback. A directory SM_DIR/sasl2 (a
# Sendmail.conf for Cyrus SASL, made by a test that wants SMTP AUTH) is
# mounted on /usr/lib/sasl2, a directory of SASL's configuration path.
# Nothing outside is changed. Without namespaces, CMD runs as it is (slow
# on a host with a short name).
sm_isolated() {
  if [ -z "${SM_NS:-}" ]; then
    SM_NS=no
    unshare --uts --mount true 2>/dev/null && SM_NS=yes
    [ "$SM_NS" = no ] && case $(hostname) in *.*) ;; *)
      echo "warning: no namespaces and an unqualified host name: each Sendmail session sleeps 60 s" >&2 ;;
    esac
  fi
  if [ "$SM_NS" = yes ]; then
    exec unshare --uts --mount sh -c '
      mount --make-rprivate / 2>/dev/null
      mount --bind "$0/hosts" /etc/hosts &&
      mount --bind "$0/resolv.conf" /etc/resolv.conf &&
      { [ ! -d "$0/sasl2" ] || [ ! -d /usr/lib/sasl2 ] ||
        mount --bind "$0/sasl2" /usr/lib/sasl2; } &&
      hostname mx.spfgate.test && exec "$@"' "$SM_DIR" "$@"
  fi
  exec "$@"
}

# sm_stop: ends the launcher (which ends its sessions) and the sink.
sm_stop() {
  [ -n "${SM_DIR:-}" ] || return 0
  [ -n "${SM_LAUNCHER_PID:-}" ] && it_kill_pid "$SM_LAUNCHER_PID"
  SM_LAUNCHER_PID=""
  it_kill_pidfile "$SM_DIR/sink.pid"
  rm -f "$SM_DIR/sink.pid"
}

sm_messages() {
  find "$SM_SINK_DIR" -type f 2>/dev/null | sort
}

# sm_wait_messages N SECONDS
sm_wait_messages() {
  _n=$(awk -v s="$2" 'BEGIN { print int(s * 10) }')
  while [ "$_n" -gt 0 ]; do
    [ "$(sm_messages | wc -l)" -ge "$1" ] && return 0
    sleep 0.1; _n=$((_n - 1))
  done
  [ "$(sm_messages | wc -l)" -ge "$1" ]
}
