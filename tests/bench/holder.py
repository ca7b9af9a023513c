#!/usr/bin/env python3
"""holder.py - opens many milter sessions and keeps them open at once.

    holder.py SOCKET COUNT STOPFILE [TIMEOUT_S]

SOCKET is unix:PATH or inet:PORT@ADDR. Opens COUNT connections one after
the other and takes each through the milter protocol (version 6) as an MTA
would: option negotiation, connect (client 192.0.2.1), HELO, MAIL FROM
<sender@bench.example> and RCPT TO, each answered by the filter. Then it
prints "held N" (N sessions open) and waits, with all of them open, until
STOPFILE exists or TIMEOUT_S (default 120) passed; then it aborts each
message, says QUIT and closes. Used to measure the filter's memory with
many concurrent sessions.

Exit status: 0 when all COUNT sessions were held, 1 otherwise (the first
problem is printed on stderr), 2 on a bad command line.
"""
import os
import socket
import struct
import sys
import time

SMFIF_ALL = 0x1FF  # every action the MTA may allow
HELO = "mx.bench.example"
SENDER = "<sender@bench.example>"
RCPT = "<rcpt@dest.example>"


def connect(spec):
    """A connected socket for a milter socket specification."""
    if spec.startswith("unix:") or spec.startswith("local:"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(20)
        s.connect(spec.split(":", 1)[1])
        return s
    if spec.startswith("inet:"):
        port, addr = spec[5:].split("@", 1)
        s = socket.create_connection((addr, int(port)), timeout=20)
        return s
    raise ValueError("unsupported socket " + spec)


def send(s, cmd, data=b""):
    """Sends one packet: length, command byte, data."""
    s.sendall(struct.pack(">I", len(data) + 1) + cmd + data)


def recv_exact(s, n):
    """Reads exactly n bytes or raises."""
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise OSError("connection closed by the filter")
        buf += chunk
    return buf


def reply(s):
    """Reads one reply packet; returns (command byte, data)."""
    (length,) = struct.unpack(">I", recv_exact(s, 4))
    if length < 1 or length > 65536:
        raise OSError("bad packet length %d" % length)
    body = recv_exact(s, length)
    return body[:1], body[1:]


def expect_continue(s, what):
    """Reads the reply to a step; anything but continue is a failure."""
    cmd, data = reply(s)
    if cmd != b"c":
        raise OSError("%s: answered %r %r" % (what, cmd, data[:80]))


def open_session(spec, i):
    """One session, taken up to an accepted recipient."""
    s = connect(spec)
    send(s, b"O", struct.pack(">III", 6, SMFIF_ALL, 0))
    cmd, _ = reply(s)
    if cmd != b"O":
        raise OSError("negotiation answered %r" % cmd)
    port = 40000 + i % 20000
    send(s, b"C", b"client.bench.example\0" + b"4" + struct.pack(">H", port) +
         b"192.0.2.1\0")
    expect_continue(s, "connect")
    send(s, b"H", HELO.encode() + b"\0")
    expect_continue(s, "helo")
    send(s, b"M", SENDER.encode() + b"\0")
    expect_continue(s, "mail")
    send(s, b"R", RCPT.encode() + b"\0")
    expect_continue(s, "rcpt")
    return s


def main(argv):
    if len(argv) not in (4, 5):
        sys.stderr.write("usage: holder.py SOCKET COUNT STOPFILE [TIMEOUT_S]\n")
        return 2
    spec, count, stopfile = argv[1], int(argv[2]), argv[3]
    timeout = float(argv[4]) if len(argv) == 5 else 120.0
    held = []
    rc = 0
    try:
        for i in range(count):
            held.append(open_session(spec, i))
    except (OSError, ValueError) as e:
        sys.stderr.write("holder: session %d: %s\n" % (len(held) + 1, e))
        rc = 1
    print("held %d" % len(held), flush=True)
    end = time.time() + timeout
    while not os.path.exists(stopfile) and time.time() < end:
        time.sleep(0.05)
    for s in held:
        try:
            send(s, b"A")
            send(s, b"Q")
        except OSError:
            pass
        s.close()
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv))
