#!/bin/sh
# install-deb.sh - builds the Debian package, installs it, checks what it
# installed, purges it and checks that it is gone.
#
# usage: tests/packaging/install-deb.sh [-r REV | PACKAGE.deb]
#
# Without a .deb the package is built first with packaging/build-deb.sh,
# from the working tree or, with -r, from git revision REV (with
# DEB_BUILD_OPTIONS=nocheck unless DEB_BUILD_OPTIONS is set: the test
# suite runs elsewhere). Needs root and a Debian system. The service is
# never started: on a system running systemd a policy-rc.d keeps the
# postinst from starting it for the duration. spfgate is never left
# installed, and the user spfgate is removed again when this test created
# it. Prints ok:/FAIL: lines and "N passed, N failed"; exit 0 when all
# passed, 1 otherwise, 77 (skip) when not root or not on Debian.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok: $*"; }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
check() {
    d=$1
    shift
    if "$@" >/dev/null 2>&1; then ok "$d"; else fail "$d"; fi
}
installed() { dpkg-query -W -f='${Status}' spfgate 2>/dev/null | grep -q ' installed$'; }
known() { dpkg-query -W -f='${Status}' spfgate 2>/dev/null | grep -qv 'not-installed'; }

if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP: needs root (it installs and purges a package)"
    exit 77
fi
if ! command -v dpkg >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
    echo "SKIP: not a Debian system (no dpkg or apt-get)"
    exit 77
fi
if known; then
    echo "FAIL: spfgate is installed already; this test would purge it"
    echo "0 passed, 1 failed"
    exit 1
fi

start=$(date +%s)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/spfgate-install.XXXXXX") || exit 99
had_user=no
getent passwd spfgate >/dev/null && had_user=yes
had_group=no
getent group spfgate >/dev/null && had_group=yes
policy=""
daemon_pid=""

cleanup() {
    if [ -n "$daemon_pid" ]; then
        kill "$daemon_pid" 2>/dev/null
        sleep 0.5
        kill -9 "$daemon_pid" 2>/dev/null
    fi
    if known; then
        dpkg --purge spfgate >/dev/null 2>&1
    fi
    [ -n "$policy" ] && rm -f "$policy"
    if [ "$had_user" = no ] && getent passwd spfgate >/dev/null; then
        deluser --quiet --system spfgate >/dev/null 2>&1 || userdel spfgate 2>/dev/null
    fi
    if [ "$had_group" = no ] && getent group spfgate >/dev/null; then
        delgroup --quiet --system spfgate >/dev/null 2>&1 || groupdel spfgate 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# The package.
rev=""
if [ $# -ge 2 ] && [ "$1" = -r ]; then
    rev=$2
    shift 2
fi
if [ $# -ge 1 ]; then
    deb=$1
else
    echo "building the package${rev:+ from $rev}"
    if DEB_BUILD_OPTIONS=${DEB_BUILD_OPTIONS-nocheck} \
        sh "$top/packaging/build-deb.sh" ${rev:+-r "$rev"} "$tmp/debs" >"$tmp/build.out" 2>&1; then
        ok "packaging/build-deb.sh built the package"
    else
        fail "packaging/build-deb.sh: $(tail -n 20 "$tmp/build.out")"
    fi
    deb=$(ls "$tmp"/debs/spfgate_*.deb 2>/dev/null | head -n 1)
fi
if [ -z "$deb" ] || [ ! -f "$deb" ]; then
    fail "no spfgate_*.deb to install"
    echo "$passed passed, $failed failed"
    exit 1
fi
version=$(dpkg-deb -f "$deb" Version)
upstream=${version%-*}

# Never start the service: systemd may be running here.
if [ -d /run/systemd/system ] && [ ! -e /usr/sbin/policy-rc.d ]; then
    policy=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\n# left by spfgate install-deb.sh: start nothing\nexit 101\n' >"$policy"
    chmod 755 "$policy"
fi

# Install.
if dpkg -i "$deb" >"$tmp/dpkg.out" 2>&1; then
    ok "dpkg -i $(basename "$deb")"
else
    echo "dpkg -i left dependencies to install; running apt-get -f install"
    if apt-get -f install -y >>"$tmp/dpkg.out" 2>&1 && installed; then
        ok "dpkg -i, then apt-get -f install"
    else
        fail "installing: $(tail -n 20 "$tmp/dpkg.out")"
    fi
fi
check "the package is installed" installed

# The programs.
out=$(/usr/sbin/spfgate -V 2>&1)
if [ "$out" = "spfgate $upstream" ]; then ok "spfgate -V: $out"; else fail "spfgate -V: '$out', want 'spfgate $upstream'"; fi
out=$(/usr/bin/spfgate-query -V 2>&1)
if [ "$out" = "spfgate-query $upstream" ]; then ok "spfgate-query -V: $out"; else fail "spfgate-query -V: '$out'"; fi
check "spfgate -n -c /etc/spfgate/spfgate.conf" /usr/sbin/spfgate -n -c /etc/spfgate/spfgate.conf
check "spfgate -n (the default configuration path)" /usr/sbin/spfgate -n
out=$(/usr/bin/spfgate-query -c /etc/spfgate/spfgate.conf --ip 127.0.0.1 \
    --helo localhost --from user@example.org 2>&1)
case $out in
*"not checked: "*) ok "spfgate-query with the installed configuration (a trusted client)" ;;
*) fail "spfgate-query: $out" ;;
esac
check "spfgate --reply-table" /usr/sbin/spfgate --reply-table

# The files.
for f in /usr/sbin/spfgate /usr/bin/spfgate-query /etc/spfgate/spfgate.conf \
    /lib/systemd/system/spfgate.service /usr/share/man/man8/spfgate.8.gz \
    /usr/share/man/man5/spfgate.conf.5.gz /usr/share/man/man1/spfgate-query.1.gz \
    /usr/share/doc/spfgate/copyright /usr/share/doc/spfgate/README.Debian; do
    check "installed $f" test -f "$f"
done
if dpkg-query -W -f='${Conffiles}\n' spfgate | grep -q '^ /etc/spfgate/spfgate.conf '; then
    ok "/etc/spfgate/spfgate.conf is a conffile"
else
    fail "/etc/spfgate/spfgate.conf is not a conffile"
fi
if command -v man >/dev/null 2>&1; then
    for p in 8:spfgate 5:spfgate.conf 1:spfgate-query; do
        if [ -n "$(MANWIDTH=80 man "${p%%:*}" "${p#*:}" 2>/dev/null | head -n 3)" ]; then
            ok "man ${p%%:*} ${p#*:}"
        else
            fail "man ${p%%:*} ${p#*:} shows nothing"
        fi
    done
fi
check "the unit is enabled (multi-user.target.wants)" \
    test -L /etc/systemd/system/multi-user.target.wants/spfgate.service
if command -v systemd-analyze >/dev/null 2>&1; then
    if systemd-analyze verify /lib/systemd/system/spfgate.service >"$tmp/verify" 2>&1 &&
        [ ! -s "$tmp/verify" ]; then
        ok "systemd-analyze verify spfgate.service"
    else
        fail "systemd-analyze verify: $(head -n 5 "$tmp/verify")"
    fi
fi

# The user.
pw=$(getent passwd spfgate)
if [ -n "$pw" ]; then
    ok "user spfgate exists"
    uid=$(echo "$pw" | cut -d: -f3)
    home=$(echo "$pw" | cut -d: -f6)
    shell=$(echo "$pw" | cut -d: -f7)
    if [ "$uid" -lt 1000 ]; then ok "spfgate is a system user (uid $uid)"; else fail "spfgate has uid $uid"; fi
    if [ "$home" = /nonexistent ] && [ ! -e /nonexistent ]; then ok "its home is /nonexistent"; else fail "its home is $home"; fi
    case $shell in */nologin | */false) ok "it has no login shell ($shell)" ;; *) fail "its shell is $shell" ;; esac
    check "group spfgate exists" getent group spfgate
    check "spfgate's primary group is spfgate" test "$(id -gn spfgate)" = spfgate
else
    fail "user spfgate does not exist"
fi

# The installed daemon runs as spfgate (by hand, not as the service): the
# socket appears with the packaged mode, 0660.
if getent passwd spfgate >/dev/null && command -v runuser >/dev/null 2>&1; then
    rundir="$tmp/run"
    mkdir -p "$rundir"
    chmod 711 "$tmp"
    chown spfgate:spfgate "$rundir"
    chmod 750 "$rundir"
    printf 'socket = unix:%s/spfgate.sock\nlog = stderr\n' "$rundir" >"$tmp/run.conf"
    chmod 644 "$tmp/run.conf"
    runuser -u spfgate -- /usr/sbin/spfgate -f -c "$tmp/run.conf" >"$tmp/daemon.out" 2>&1 &
    daemon_pid=$!
    i=0
    while [ ! -S "$rundir/spfgate.sock" ] && [ $i -lt 50 ] && kill -0 "$daemon_pid" 2>/dev/null; do
        sleep 0.1
        i=$((i + 1))
    done
    if [ -S "$rundir/spfgate.sock" ]; then
        mode=$(stat -c '%a %U %G' "$rundir/spfgate.sock")
        if [ "$mode" = "660 spfgate spfgate" ]; then
            ok "the daemon runs as spfgate; socket mode, owner, group: $mode"
        else
            fail "socket: $mode, want 660 spfgate spfgate"
        fi
    else
        fail "the daemon did not create its socket: $(head -n 5 "$tmp/daemon.out")"
    fi
    kill "$daemon_pid" 2>/dev/null
    i=0
    while kill -0 "$daemon_pid" 2>/dev/null && [ $i -lt 50 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    if kill -0 "$daemon_pid" 2>/dev/null; then
        fail "the daemon did not stop on SIGTERM"
    else
        ok "the daemon stopped on SIGTERM"
        daemon_pid=""
    fi
fi

# Purge.
if dpkg --purge spfgate >"$tmp/purge.out" 2>&1; then
    ok "dpkg --purge spfgate"
else
    fail "dpkg --purge: $(tail -n 10 "$tmp/purge.out")"
fi
if known; then fail "dpkg still knows spfgate"; else ok "spfgate is no longer installed"; fi
for f in /usr/sbin/spfgate /usr/bin/spfgate-query /etc/spfgate \
    /lib/systemd/system/spfgate.service /usr/share/man/man8/spfgate.8.gz \
    /usr/share/man/man5/spfgate.conf.5.gz /usr/share/man/man1/spfgate-query.1.gz \
    /usr/share/doc/spfgate /etc/systemd/system/multi-user.target.wants/spfgate.service; do
    if [ -e "$f" ] || [ -L "$f" ]; then fail "$f is left after purge"; else ok "purge removed $f"; fi
done
if getent passwd spfgate >/dev/null; then
    echo "note: the user spfgate is kept on purge (Debian's practice for system users)"
fi

echo "took $(($(date +%s) - start)) s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
