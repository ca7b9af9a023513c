#!/usr/bin/env python3
"""hungmilter.py - a milter that never answers, for the "milter hung" tests.

    hungmilter.py SOCKET-PATH [PIDFILE]

Listens on a Unix socket (mode 0666, so an MTA running as another user can
connect), accepts every connection, reads and discards what the MTA sends
and never replies: the MTA's milter timeouts decide what happens. Ends on
SIGTERM or SIGINT (removing the socket and the pid file); it also ends by
itself after 600 s, so a forgotten one does not linger.
"""

import os
import selectors
import signal
import socket
import sys
import time


def main():
    path = sys.argv[1]
    pidfile = sys.argv[2] if len(sys.argv) > 2 else None
    try:
        os.unlink(path)
    except OSError:
        pass
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0)
    srv.bind(path)
    os.umask(old)
    srv.listen(64)
    srv.setblocking(False)
    if pidfile:
        with open(pidfile, "w") as f:
            f.write("%d\n" % os.getpid())
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    sel = selectors.DefaultSelector()
    sel.register(srv, selectors.EVENT_READ)
    end = time.monotonic() + 600
    while not stop and time.monotonic() < end:
        for key, _ in sel.select(timeout=0.2):
            if key.fileobj is srv:
                try:
                    c, _ = srv.accept()
                except (BlockingIOError, InterruptedError):
                    continue
                c.setblocking(False)
                sel.register(c, selectors.EVENT_READ)
            else:
                try:
                    data = key.fileobj.recv(65536)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    data = b""
                if not data:
                    sel.unregister(key.fileobj)
                    key.fileobj.close()
    for f in (path, pidfile):
        if f:
            try:
                os.unlink(f)
            except OSError:
                pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
