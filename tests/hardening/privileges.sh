#!/bin/sh
# privileges.sh - the privilege drop, as root (skipped otherwise: exit 77).
#
# The daemon is started as root with "user = nobody": all its user and
# group ids (real, effective, saved, file system) must be nobody's, no
# supplementary group and no capability left; the socket must carry the
# configured mode and owner (socket_mode 0600 with socket_owner, 0660 with
# socket_group; in the foreground and detached with a pid file); a user or
# group that does not exist stops the start with exit 1 and a message. The
# daemon must create no file outside its socket, pid and stats files and
# hold no unexpected file open.
set -u
if [ "$(id -u)" -ne 0 ]; then
  echo "skip: privileges.sh needs root"
  exit 77
fi
. "$(dirname "$0")/../lib/testenv.sh"
MILTC="$SPFGATE_TOOLS/miltc"

USER_NAME=nobody
if ! getent passwd "$USER_NAME" >/dev/null; then
  echo "skip: no user $USER_NAME"
  exit 77
fi
T_UID=$(id -u "$USER_NAME")
T_GID=$(id -g "$USER_NAME")
T_GROUP=$(getent group "$T_GID" | cut -d: -f1)

cat >"$T_DIR/zone" <<'ZONE'
pass.example TXT "v=spf1 ip4:192.0.2.0/24 -all"
helo.example TXT "v=spf1 ip4:192.0.2.0/24 -all"
ZONE
t_dns "$T_DIR/zone"

# The daemon's directory: its socket, pid and stats files. Owned by the
# target user, so the unprivileged daemon can write its pid and stats.
chmod 0711 "$T_DIR"
RUN=$T_DIR/run
mkdir "$RUN"
chown "$T_UID:$T_GID" "$RUN"
chmod 0750 "$RUN"

# conf NAME EXTRA...: a configuration with the socket in RUN.
conf() {
  name=$1; shift
  {
    echo "socket = unix:$RUN/$name.sock"
    echo "log = stderr"
    echo "log_level = debug"
    echo "dns_servers = 127.0.0.1:$T_DNS_PORT"
    echo "authserv_id = mx.test.example"
    echo "user = $USER_NAME"
    echo "stats_file = $RUN/$name.stats"
    for l in "$@"; do echo "$l"; done
  } >"$T_DIR/$name.conf"
}

# wait_sock PATH: waits up to 5 s for a socket.
wait_sock() {
  i=0
  while [ ! -S "$1" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
  [ -S "$1" ]
}

# ids PID: checks Uid, Gid, Groups and capabilities in /proc/PID/status.
ids() {
  st=/proc/$1/status
  uids=$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "$st")
  gids=$(awk '/^Gid:/ { print $2, $3, $4, $5 }' "$st")
  [ "$uids" = "$T_UID $T_UID $T_UID $T_UID" ] && ok "$2: real, effective, saved and fs uid are $T_UID" ||
    fail "$2: Uid: $uids"
  [ "$gids" = "$T_GID $T_GID $T_GID $T_GID" ] && ok "$2: real, effective, saved and fs gid are $T_GID" ||
    fail "$2: Gid: $gids"
  groups=$(awk '/^Groups:/ { $1 = ""; print }' "$st" | tr -s ' ' '\n' | grep -v "^$T_GID\$" | grep -c . || true)
  [ "$groups" -eq 0 ] && ok "$2: no supplementary group but $T_GID" ||
    fail "$2: supplementary groups: $(grep '^Groups:' "$st")"
  caps=$(awk '/^Cap(Inh|Prm|Eff|Amb):/ { print $2 }' "$st" | sort -u)
  [ "$caps" = "0000000000000000" ] && ok "$2: no capability" || fail "$2: capabilities: $(grep '^Cap' "$st" | tr '\n' ' ')"
  # Every thread, not only the main one.
  bad=0
  for t in /proc/"$1"/task/*; do
    tu=$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "$t/status")
    [ "$tu" = "$T_UID $T_UID $T_UID $T_UID" ] || bad=$((bad + 1))
  done
  [ $bad -eq 0 ] && ok "$2: every thread runs as $T_UID" || fail "$2: $bad threads with other ids"
}

# running PID: the process exists and is not a zombie (a detached daemon
# is reaped by init, maybe late).
running() {
  [ -r "/proc/$1/stat" ] || return 1
  st=$(sed 's/.*) \(.\).*/\1/' "/proc/$1/stat" 2>/dev/null)
  [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# sock_is PATH MODE OWNER GROUP DESCRIPTION
sock_is() {
  got=$(stat -c '%a %U %G' "$1")
  [ "$got" = "$2 $3 $4" ] && ok "$5: socket $2 $3:$4" || fail "$5: socket is $got, want $2 $3 $4"
}

# session NAME: one message through socket NAME must pass.
session() {
  cat >"$T_DIR/s.script" <<'EOF'
connect client.example 192.0.2.10
helo helo.example
mail <alice@pass.example>
rcpt <bob@local.example>
eom
expect header Received-SPF pass
quit
EOF
  "$MILTC" -s "unix:$RUN/$1.sock" -t 10 <"$T_DIR/s.script" >"$T_DIR/s.out" 2>&1 &&
    ok "$1: a message is checked after the drop" || { fail "$1: session"; cat "$T_DIR/s.out"; }
}

# Snapshot of every file under the test dir, /tmp, /var/tmp and /dev/shm
# (what the daemon could have created).
snapshot() {
  { find "$T_DIR" /tmp /var/tmp /dev/shm -xdev -user "$USER_NAME" 2>/dev/null
    find "$T_DIR" 2>/dev/null; } | grep -v '/s\.out$\|/s\.script$' | sort -u
}

# 1. Foreground, socket_mode 0600 and socket_owner = the user.
snapshot >"$T_DIR/before"
conf fg "socket_mode = 0600" "socket_owner = $USER_NAME"
"$SPFGATE_BIN" -f -c "$T_DIR/fg.conf" 2>"$T_DIR/fg.log" &
FG=$!
T_PIDS="$T_PIDS $FG"
if wait_sock "$RUN/fg.sock"; then
  sleep 0.2
  ids "$FG" "foreground"
  sock_is "$RUN/fg.sock" 600 "$USER_NAME" root "socket_mode 0600"
  session fg
  kill -USR1 "$FG"; sleep 0.3
  [ -s "$RUN/fg.stats" ] && ok "stats file written after the drop" || fail "no stats file"
  # Open files: only the socket(s), pipes, /dev/null, the log, the
  # libraries' anonymous inodes; never a regular file but the log.
  # (0, 1 and 2 are what the test harness gave the daemon.)
  others=$(for f in /proc/"$FG"/fd/*; do
      case ${f##*/} in 0|1|2) ;; *) readlink "$f" ;; esac
    done |
    grep -v '^socket:\|^pipe:\|^anon_inode:\|^/dev/null$\|^/dev/pts/\|^/dev/tty' |
    grep -v "^$T_DIR/fg.log\$" || true)
  [ -z "$others" ] && ok "open files: $(ls /proc/"$FG"/fd | wc -l) descriptors, none unexpected" ||
    fail "unexpected open files: $others"
  grep -q "running as user $USER_NAME" "$T_DIR/fg.log" && ok "logs the drop" || fail "no 'running as user' line"
  kill -TERM "$FG"; wait "$FG"; rc=$?
  [ $rc -eq 0 ] && ok "foreground: clean exit as $USER_NAME" || fail "foreground: exit $rc"
else
  fail "foreground daemon did not start"; cat "$T_DIR/fg.log"
fi
snapshot >"$T_DIR/after"
new=$(comm -13 "$T_DIR/before" "$T_DIR/after" |
  grep -v "^$RUN/fg\.\(sock\|stats\)\$\|^$T_DIR/fg\.\(log\|conf\)\$\|^$T_DIR/\(before\|after\)\$" || true)
[ -z "$new" ] && ok "no file created outside the socket, pid and stats files" ||
  fail "files created: $(echo "$new" | tr '\n' ' ')"

# 2. Detached with a pid file, socket_mode 0660 and socket_group.
conf bg "socket_mode = 0660" "socket_group = $T_GROUP" "pidfile = $RUN/bg.pid"
"$SPFGATE_BIN" -c "$T_DIR/bg.conf" 2>"$T_DIR/bg.log"; rc=$?
[ $rc -eq 0 ] && ok "detached start: exit 0" || fail "detached start: exit $rc"
if wait_sock "$RUN/bg.sock"; then
  i=0
  while [ ! -s "$RUN/bg.pid" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  BG=$(cat "$RUN/bg.pid" 2>/dev/null)
  if [ -n "$BG" ] && kill -0 "$BG" 2>/dev/null; then
    T_PIDS="$T_PIDS $BG"
    ok "pid file holds the running daemon ($BG)"
    ids "$BG" "detached"
    sock_is "$RUN/bg.sock" 660 root "$T_GROUP" "socket_mode 0660"
    [ "$(stat -c '%U' "$RUN/bg.pid")" = "$USER_NAME" ] && ok "pid file written as $USER_NAME" ||
      fail "pid file owned by $(stat -c '%U' "$RUN/bg.pid")"
    session bg
    kill -TERM "$BG"
    i=0
    while running "$BG" && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    running "$BG" && fail "detached daemon ignores SIGTERM" || ok "detached daemon stopped in $((i * 100))ms"
    [ ! -e "$RUN/bg.pid" ] && ok "pid file removed at exit" || fail "pid file left behind"
  else
    fail "no pid file or no daemon"
  fi
else
  fail "detached daemon did not start"; cat "$T_DIR/bg.log"
fi

# 3. A user or group that does not exist: exit 1 and a message, no daemon.
NOUSER=spfgate-no-such-user-$$
for what in user group; do
  if [ "$what" = user ]; then
    conf "no$what"
    sed -i "s/^user = .*/user = $NOUSER/" "$T_DIR/no$what.conf"
  else
    conf "no$what" "group = $NOUSER"
  fi
  "$SPFGATE_BIN" -f -c "$T_DIR/no$what.conf" >"$T_DIR/no$what.out" 2>&1 &
  p=$!
  i=0
  while kill -0 $p 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  if kill -0 $p 2>/dev/null; then
    kill $p; fail "a missing $what: the daemon runs"
  else
    wait $p; rc=$?
    [ $rc -eq 1 ] && ok "a missing $what: exit 1" || fail "a missing $what: exit $rc"
    grep -q "$what $NOUSER: no such $what" "$T_DIR/no$what.out" && ok "a missing $what: says so" ||
      fail "a missing $what: message: $(cat "$T_DIR/no$what.out")"
  fi
done
t_finish
