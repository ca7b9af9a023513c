# postfix.sh - a private Postfix instance for the integration tests.
# Sourced after common.sh.
#
# The instance has its own config, queue and data directories under IT_TMP,
# listens on loopback only on a free port, hands every accepted message to
# a private smtp-sink that keeps each one as a file, and never touches the
# system's instance or /etc/postfix. As root, "postfix -c DIR" takes DIR
# as it is: no alternate_config_directories entry in the default main.cf
# is needed, nor a default main.cf at all (a "No configuration" install has
# none). The instance's daemons get MAIL_CONFIG through import_environment.
#
# pf_install                     install Debian's postfix if missing
# pf_setup NAME MILTER [K=V...]  write an instance; MILTER: "unix:/path",
#                                "inet:127.0.0.1:PORT" or "" (none); K=V are
#                                extra main.cf settings (for example
#                                milter_command_timeout=5s)
# pf_start / pf_stop             start or stop it (bounded waits)
# pf_messages                    the files the sink kept, one per message
#
# After pf_setup: PF_DIR (config), PF_PORT (smtpd), PF_SINK_PORT, PF_SINK_DIR,
# PF_LOG (the maillog file).

# pf_install: installs postfix (preseeded "No configuration") when missing.
# The package's own instance is never left running by us: policy-rc.d keeps
# it from starting, and if it was started anyway it is stopped again.
pf_install() {
  command -v postfix >/dev/null 2>&1 && [ -x /usr/sbin/smtp-sink ] && return 0
  _was_running=""
  pgrep -x master >/dev/null 2>&1 && _was_running=1
  echo "postfix postfix/main_mailer_type select No configuration" |
    debconf-set-selections 2>/dev/null
  it_apt_install postfix || return 1
  if [ -z "$_was_running" ] && [ -f /var/spool/postfix/pid/master.pid ]; then
    _p=$(sed 's/ //g' /var/spool/postfix/pid/master.pid)
    if [ -n "$_p" ] && kill -0 "$_p" 2>/dev/null; then
      echo "stopping the system postfix that its install started" >&2
      postfix stop >/dev/null 2>&1 || it_kill_pid "$_p"
    fi
  fi
  return 0
}

# pf_setup NAME MILTER [K=V...]
pf_setup() {
  _name=$1; _milter=$2; shift 2
  it_tmpdir || return 1
  PF_BASE=$IT_TMP/postfix-$_name
  PF_DIR=$PF_BASE/etc
  PF_SINK_DIR=$PF_BASE/sink
  PF_LOG=$PF_BASE/maillog
  mkdir -p "$PF_DIR" "$PF_BASE/queue" "$PF_BASE/data" "$PF_SINK_DIR" || return 1
  chmod 755 "$PF_BASE" "$PF_BASE/queue"
  chown postfix "$PF_BASE/data" "$PF_SINK_DIR" || return 1
  PF_PORT=$(it_free_port 127.0.0.1) || return 1
  PF_SINK_PORT=$(it_free_port 127.0.0.1) || return 1
  if it_have_ipv6; then
    _ifaces="127.0.0.1, [::1]"; _protos=all
    _xhosts="127.0.0.0/8, [::1]/128"
  else
    _ifaces="127.0.0.1"; _protos=ipv4; _xhosts="127.0.0.0/8"
  fi
  cat >"$PF_DIR/main.cf" <<EOF
# Private test instance of spfgate's integration tests.
compatibility_level = 3.6
config_directory = $PF_DIR
queue_directory = $PF_BASE/queue
data_directory = $PF_BASE/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.spfgate.test
mydomain = spfgate.test
myorigin = \$mydomain
mydestination =
relay_domains =
local_recipient_maps =
inet_interfaces = $_ifaces
inet_protocols = $_protos
mynetworks = 127.0.0.0/8
smtpd_authorized_xclient_hosts = $_xhosts
smtpd_relay_restrictions = check_client_access static:OK, reject_unauth_destination
smtpd_recipient_restrictions =
smtpd_helo_required = no
smtpd_delay_reject = yes
smtpd_peername_lookup = no
biff = no
append_dot_mydomain = no
default_transport = smtp
relayhost = [127.0.0.1]:$PF_SINK_PORT
smtp_host_lookup = native
smtp_bind_address = 127.0.0.1
disable_dns_lookups = yes
maillog_file = $PF_LOG
maillog_file_prefixes = $PF_BASE
alternate_config_directories =
multi_instance_enable = no
master_service_disable =
milter_protocol = 6
milter_default_action = tempfail
smtpd_milters = $_milter
non_smtpd_milters =
milter_connect_timeout = 10s
milter_command_timeout = 10s
milter_content_timeout = 30s
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 5s
EOF
  for _kv in "$@"; do
    printf '%s = %s\n' "${_kv%%=*}" "${_kv#*=}" >>"$PF_DIR/main.cf"
  done
  # The smtpd port is the only inet service; every service unchrooted.
  cat >"$PF_DIR/master.cf" <<EOF
127.0.0.1:$PF_PORT inet n - n - - smtpd
EOF
  [ "$_protos" = all ] && echo "[::1]:$PF_PORT inet n - n - - smtpd" >>"$PF_DIR/master.cf"
  cat >>"$PF_DIR/master.cf" <<'EOF'
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       discard
virtual   unix  -       n       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
  it_on_exit 'pf_stop'
  if ! postfix -c "$PF_DIR" check >"$PF_BASE/check.out" 2>&1 ||
    grep -q 'fatal' "$PF_BASE/check.out"; then
    echo "postfix check failed:" >&2
    cat "$PF_BASE/check.out" >&2
    return 1
  fi
}

# pf_start: starts the sink and the instance, waits (10 s at most) for the
# smtpd port.
pf_start() {
  /usr/sbin/smtp-sink -u postfix -d "$PF_SINK_DIR/%M." \
    "127.0.0.1:$PF_SINK_PORT" 100 >"$PF_BASE/sink.log" 2>&1 &
  PF_SINK_PID=$!
  echo "$PF_SINK_PID" >"$PF_BASE/sink.pid"
  if ! postfix -c "$PF_DIR" start >"$PF_BASE/start.out" 2>&1; then
    echo "postfix start failed:" >&2
    cat "$PF_BASE/start.out" >&2
    return 1
  fi
  PF_STARTED=1
  it_wait_port 127.0.0.1 "$PF_PORT" 10 || {
    echo "postfix smtpd did not answer on port $PF_PORT" >&2
    return 1
  }
  it_wait_port 127.0.0.1 "$PF_SINK_PORT" 5 || {
    echo "smtp-sink did not answer on port $PF_SINK_PORT" >&2
    return 1
  }
}

# pf_stop: stops this instance only, and its sink. The master of this
# instance (by its pid file) gets SIGTERM, as "postfix stop" sends it, but
# we poll for its exit every 50 ms instead of postfix-script's 1 s sleeps;
# "postfix -c DIR stop" is the fallback when there is no pid file.
pf_stop() {
  [ -n "${PF_DIR:-}" ] || return 0
  _pidf=$PF_BASE/queue/pid/master.pid
  if [ -n "${PF_STARTED:-}" ]; then
    _p=$(tr -d ' ' <"$_pidf" 2>/dev/null)
    if [ -n "$_p" ] && kill -0 "$_p" 2>/dev/null; then
      kill "$_p"
      _n=200
      while [ $_n -gt 0 ] && kill -0 "$_p" 2>/dev/null; do
        sleep 0.05; _n=$((_n - 1))
      done
      kill -0 "$_p" 2>/dev/null && kill -9 "$_p"
    else
      timeout 20 postfix -c "$PF_DIR" stop >/dev/null 2>&1
    fi
    PF_STARTED=""
  fi
  it_kill_pidfile "$PF_BASE/sink.pid"
  rm -f "$PF_BASE/sink.pid"
}

# pf_wait_messages N SECONDS: waits until the sink has kept N messages.
pf_wait_messages() {
  _n=$(awk -v s="$2" 'BEGIN { print int(s * 10) }')
  while [ "$_n" -gt 0 ]; do
    [ "$(pf_messages | wc -l)" -ge "$1" ] && return 0
    sleep 0.1; _n=$((_n - 1))
  done
  [ "$(pf_messages | wc -l)" -ge "$1" ]
}

# pf_messages: the sink's files, one per message.
pf_messages() {
  find "$PF_SINK_DIR" -type f 2>/dev/null | sort
}
