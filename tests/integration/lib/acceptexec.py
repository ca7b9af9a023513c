#!/usr/bin/env python3
"""acceptexec.py - an inetd-style launcher for the integration tests.

    acceptexec.py -l ADDR:PORT [-l ADDR:PORT ...] [-P PIDFILE] [-e ERRLOG]
                  [-t SECONDS] -- PROGRAM ARGS...

Listens on each ADDR:PORT (IPv6 as [::1]:PORT; PORT 0 picks a free port and
the chosen ADDR:PORT lines are printed on stdout, one per listener, before
the first accept), and for every accepted connection runs PROGRAM with the
socket as its stdin and stdout (stderr goes to ERRLOG), the way inetd runs
"sendmail -bs": the program sees the real peer address with getpeername().

Each child is killed after -t SECONDS (default 120) if still running, so no
session outlives its bound; on SIGTERM the launcher stops listening, ends its
own children and exits.
"""

import argparse
import os
import selectors
import signal
import socket
import sys
import time


def parse_addr(s):
    if s.startswith("["):
        host, _, port = s[1:].partition("]:")
        return socket.AF_INET6, host, int(port)
    host, _, port = s.rpartition(":")
    return socket.AF_INET, host, int(port)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-l", dest="listen", action="append", required=True)
    ap.add_argument("-P", dest="pidfile")
    ap.add_argument("-e", dest="errlog", default="/dev/null")
    ap.add_argument("-t", dest="limit", type=float, default=120.0)
    ap.add_argument("argv", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    argv = a.argv[1:] if a.argv and a.argv[0] == "--" else a.argv
    if not argv:
        ap.error("no program")

    sel = selectors.DefaultSelector()
    lines = []
    for l in a.listen:
        fam, host, port = parse_addr(l)
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if fam == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.bind((host, port))
        s.listen(64)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
        p = s.getsockname()[1]
        lines.append(("[%s]:%d" if fam == socket.AF_INET6 else "%s:%d") % (host, p))
    sys.stdout.write("".join(x + "\n" for x in lines))
    sys.stdout.flush()
    if a.pidfile:
        with open(a.pidfile + ".tmp", "w") as f:
            f.write("%d\n" % os.getpid())
        os.rename(a.pidfile + ".tmp", a.pidfile)

    children = {}  # pid -> deadline
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))

    def reap():
        while children:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                children.clear()
                return
            if pid == 0:
                break
            children.pop(pid, None)
        now = time.monotonic()
        for pid, dl in list(children.items()):
            if now > dl:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    while not stop:
        try:
            events = sel.select(timeout=0.2)
        except InterruptedError:
            events = []
        for key, _ in events:
            try:
                conn, _ = key.fileobj.accept()
            except (BlockingIOError, InterruptedError):
                continue
            conn.setblocking(True)
            pid = os.fork()
            if pid == 0:
                try:
                    signal.signal(signal.SIGTERM, signal.SIG_DFL)
                    signal.signal(signal.SIGINT, signal.SIG_DFL)
                    os.setsid()
                    err = os.open(a.errlog, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
                    os.dup2(conn.fileno(), 0)
                    os.dup2(conn.fileno(), 1)
                    os.dup2(err, 2)
                    os.closerange(3, 1024)
                    os.execvp(argv[0], argv)
                except BaseException as e:  # noqa: BLE001 - report, then die
                    os.write(2, ("acceptexec: exec %s: %s\n" % (argv[0], e)).encode())
                os._exit(127)
            conn.close()
            children[pid] = time.monotonic() + a.limit
        reap()

    for pid in list(children):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    end = time.monotonic() + 5
    while children and time.monotonic() < end:
        reap()
        time.sleep(0.05)
    for pid in list(children):
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
    if a.pidfile:
        try:
            os.unlink(a.pidfile)
        except OSError:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
