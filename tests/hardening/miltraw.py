#!/usr/bin/env python3
"""miltraw.py - a raw milter-protocol (version 6) client for the hardening
tests: it sends any bytes (LF, 8-bit, 64 KB arguments), checks every
header a filter inserts and every reply text byte by byte, and plays MTA
faults (a socket closed mid-message, connections dropped without quit,
garbage packets).

    python3 miltraw.py unix:PATH CASE

CASE: hostile (hostile HELO and MAIL FROM values), forged (forged
Authentication-Results and Received-SPF headers), midclose [ROUNDS], aborts,
drop N (N connections opened and dropped), garbage, normal.

Prints one "ok: ..." or "FAIL: ..." line per check and, for every reply
code, a line "STAGE -> reply CODE XCODE" for the caller's audit against
the reply table. Exit status 1 if any check failed.
"""
import socket
import struct
import sys

# Protocol flags (libmilter's mfdef.h).
P_NOCONNECT, P_NOHELO, P_NOMAIL, P_NORCPT = 0x1, 0x2, 0x4, 0x8
P_NOBODY, P_NOHDRS, P_NOEOH, P_NR_HDR = 0x10, 0x20, 0x40, 0x80
P_NODATA = 0x200
P_NR = {"connect": 0x1000, "helo": 0x2000, "mail": 0x4000, "rcpt": 0x8000,
        "data": 0x10000, "eoh": 0x40000, "body": 0x80000, "header": 0x80}
P_SKIP_CMD = {"connect": P_NOCONNECT, "helo": P_NOHELO, "mail": P_NOMAIL,
              "rcpt": P_NORCPT, "header": P_NOHDRS, "eoh": P_NOEOH,
              "body": P_NOBODY, "data": P_NODATA}
CMD = {"connect": b"C", "helo": b"H", "mail": b"M", "rcpt": b"R",
       "header": b"L", "eoh": b"N", "body": b"B", "eom": b"E", "data": b"T"}
FINAL = b"carstdy"  # continue accept reject skip tempfail discard replycode

failures = 0


def ok(msg):
    print("ok: " + msg)


def fail(msg):
    global failures
    failures += 1
    print("FAIL: " + msg)


def show(b, n=60):
    s = repr(bytes(b[:n]))
    return s + ("...(%d bytes)" % len(b) if len(b) > n else "")


class Closed(Exception):
    pass


class Session:
    def __init__(self, target, timeout=10.0):
        path = target[5:] if target.startswith("unix:") else target
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.proto = 0
        self.mods = []

    def send(self, cmd, data=b""):
        self.sock.sendall(struct.pack("!I", len(data) + 1) + cmd + data)

    def recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise Closed()
            buf += chunk
        return buf

    def read(self):
        n = struct.unpack("!I", self.recv_exact(4))[0]
        if n == 0 or n > 1 << 20:
            raise Closed()
        pkt = self.recv_exact(n)
        return pkt[:1], pkt[1:]

    def negotiate(self):
        self.send(b"O", struct.pack("!III", 6, 0x1FF, 0x1FFFFF))
        cmd, data = self.read()
        if cmd != b"O" or len(data) < 12:
            raise Closed()
        self.proto = struct.unpack("!III", data[:12])[2]

    def step(self, stage, data=b""):
        """Sends one command; returns (final cmd, data) or None (no reply
        expected, or the command is not wanted by the filter)."""
        if stage in P_SKIP_CMD and self.proto & P_SKIP_CMD[stage]:
            return None
        self.send(CMD[stage], data)
        if stage in P_NR and self.proto & P_NR[stage]:
            return None
        while True:
            cmd, payload = self.read()
            if cmd in FINAL:
                return cmd, payload
            if cmd == b"p":
                continue
            self.mods.append((cmd, payload))

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def z(*parts):
    return b"".join(p + b"\0" for p in parts)


def printable(b):
    return all(0x20 <= c <= 0x7E for c in b)


def audit(label, stage, res):
    """Checks a final response: a reply code is printed for the audit, its
    text must be printable ASCII with every '%' doubled."""
    if res is None:
        return
    cmd, payload = res
    if cmd == b"y":
        text = payload.rstrip(b"\0")
        print("%s -> reply %s" % (stage, text[:10].decode("ascii", "replace")))
        runs = [len(r) for r in text.split(b"%%")]
        if not printable(text):
            fail("%s: reply text not printable: %s" % (label, show(text, 120)))
        elif b"%" in text.replace(b"%%", b""):
            fail("%s: single %% in reply text: %s" % (label, show(text, 120)))
        del runs
    elif cmd in b"rt":
        fail("%s: bare %s at %s (no reply text)" % (label, cmd.decode(), stage))


def check_mods(label, mods):
    """Every header spfgate adds or changes: one line of printable ASCII
    (a value may contain no CR, LF, NUL or 8-bit byte)."""
    bad = 0
    for cmd, payload in mods:
        if cmd in (b"i", b"m"):
            payload = payload[4:]
        if cmd not in (b"h", b"i", b"m"):
            continue
        parts = payload.split(b"\0")
        name, value = parts[0], parts[1] if len(parts) > 1 else b""
        if not printable(name) or not printable(value):
            bad += 1
            fail("%s: header %s not printable single-line ASCII: %s"
                 % (label, show(name), show(value, 200)))
        elif len(value) > 8192:
            bad += 1
            fail("%s: header %s is %d bytes" % (label, show(name), len(value)))
    return bad


def message(target, label, helo, mail, headers=(), ip=b"192.0.2.10"):
    """One full transaction; returns the session's modifications or None."""
    s = Session(target)
    try:
        s.negotiate()
        res = s.step("connect", z(b"client.example") + b"4" +
                     struct.pack("!H", 25) + z(ip))
        audit(label, "connect", res)
        stages = [("helo", z(helo)), ("mail", z(b"<" + mail + b">")),
                  ("rcpt", z(b"<bob@local.example>")), ("data", b"")]
        stages += [("header", z(n, v)) for n, v in headers]
        stages += [("eoh", b""), ("body", b"hello\r\n"), ("eom", b"")]
        for stage, data in stages:
            res = s.step(stage, data)
            audit(label, stage, res)
            if res is not None and res[0] != b"c":
                break
        s.send(b"Q")
        return s.mods
    except (Closed, OSError) as e:
        fail("%s: the filter dropped the connection (%s)" % (label, e or "closed"))
        return None
    finally:
        s.close()


def case_hostile(target):
    ctl = bytes(c for c in range(1, 32) if c not in (10, 13)) + b"\x7f"
    values = {
        "CR": b"a\rb.example",
        "LF": b"a\nX-Injected: yes",
        "CRLF header injection": b"x.example\r\nX-Injected: yes",
        "control bytes": b"c" + ctl + b".example",
        "percent": b"100%%{i}%-%_%.example",
        "semicolon": b"a;b=c;d.example",
        "quotes": b"\"quoted\\\" 'single'\".example",
        "parentheses": b"(comment (nested)) x.example)",
        "8-bit": bytes(range(0x80, 0x100)) + b".example",
        "UTF-8": "b\u00fccher.\u4f8b\u3048.example".encode("utf-8"),
        "64 KB": b"a" * 65000 + b".example",
        "64 KB of 8-bit": b"\xff" * 65000,
        "empty": b"",
    }
    for name, v in values.items():
        for role in ("helo", "mail", "refused mail"):
            label = "%s in %s" % (name, role)
            if role == "helo":
                mods = message(target, label, v, b"alice@pass.example")
            elif role == "refused mail":
                # The hostile bytes in a refused sender's local part: they
                # reach the reply text (a fail at RCPT).
                mods = message(target, label, v[:60000], v[:60000] + b"@fail.example")
            else:
                # libmilter refuses packets over 64 KB: the MTA never sends them.
                local = v[:64] if len(v) < 1000 else b"a"
                mods = message(target, label, b"helo.example", local + b"@" + v)
            if mods is not None and check_mods(label, mods) == 0:
                ok("%s: defined outcome, headers clean" % label)


def case_forged(target):
    hdrs = [
        (b"Authentication-Results", b"mx.test.example; spf=pass smtp.mailfrom=forged@x.example"),
        (b"Authentication-Results", b"other.example; spf=pass smtp.mailfrom=a@b.example"),
        (b"Authentication-Results", b" MX.TEST.EXAMPLE ; spf=pass"),
        (b"Authentication-Results", b"mx.test.example.evil; spf=pass"),
        (b"Received-SPF", b"pass (forged) client-ip=192.0.2.10"),
        (b"authentication-results", b"mx.test.example (comment); dkim=pass"),
    ]
    mods = message(target, "forged", b"helo.example", b"alice@pass.example", hdrs)
    if mods is None:
        return
    check_mods("forged", mods)
    changed = sorted(struct.unpack("!I", p[:4])[0] for c, p in mods
                     if c == b"m" and p[4:].split(b"\0")[0].lower() == b"authentication-results")
    removed_vals = [p[4:].split(b"\0")[1] for c, p in mods if c == b"m"]
    # Our id: the 1st, 3rd (case and space differ) and 4th-of-its-name
    # (lower-case header name) Authentication-Results go; "other.example"
    # (2nd) and "mx.test.example.evil" (4th) stay.
    if changed == [1, 3, 5]:
        ok("forged: our-id Authentication-Results removed (1, 3, 5), others kept")
    else:
        fail("forged: chgheader indexes %s, want [1, 3, 5]" % changed)
    if all(v == b"" for v in removed_vals):
        ok("forged: chgheader deletes (empty values)")
    else:
        fail("forged: chgheader with values %s" % removed_vals)
    ins = [p[4:].split(b"\0")[0] for c, p in mods if c == b"i"]
    if b"Received-SPF" in ins and b"Authentication-Results" in ins:
        ok("forged: our Received-SPF and Authentication-Results inserted")
    else:
        fail("forged: inserted %s" % ins)


def opened(target):
    s = Session(target)
    s.negotiate()
    s.step("connect", z(b"client.example") + b"4" + struct.pack("!H", 25) +
           z(b"192.0.2.10"))
    s.step("helo", z(b"helo.example"))
    return s


def case_midclose(target):
    points = ["after connect", "after MAIL", "after RCPT", "in the headers",
              "mid-packet", "before EOM reply"]
    for where in points:
        try:
            s = opened(target)
            if where != "after connect":
                s.step("mail", z(b"<alice@pass.example>"))
            if where in ("after RCPT", "in the headers", "mid-packet", "before EOM reply"):
                s.step("rcpt", z(b"<bob@local.example>"))
            if where in ("in the headers", "before EOM reply"):
                s.step("header", z(b"Subject", b"x"))
            if where == "mid-packet":
                s.sock.sendall(struct.pack("!I", 100) + b"Lsubj")
            if where == "before EOM reply":
                s.send(b"E")
            s.close()
            ok("MTA closed the socket %s" % where)
        except (Closed, OSError) as e:
            fail("midclose %s: %s" % (where, e))


def case_aborts(target):
    try:
        s = opened(target)
        s.step("mail", z(b"<mallory@fail.example>"))
        s.send(b"A")
        res = s.step("mail", z(b"<alice@pass.example>"))
        audit("abort after MAIL", "mail", res)
        res = s.step("rcpt", z(b"<bob@local.example>"))
        audit("abort after MAIL", "rcpt", res)
        if res is None or res[0] == b"c":
            ok("abort after MAIL: the next transaction goes on")
        else:
            fail("abort after MAIL: next transaction got %s" % show(res[0] + res[1]))
        s.step("data")
        s.step("header", z(b"Subject", b"x"))
        s.step("eoh")
        s.send(b"A")
        s.mods = []
        s.step("mail", z(b"<alice@pass.example>"))
        s.step("rcpt", z(b"<bob@local.example>"))
        s.step("data")
        res = s.step("eom")
        check_mods("abort after DATA", s.mods)
        ins = [p[4:].split(b"\0") for c, p in s.mods if c == b"i"]
        if res is not None and res[0] == b"c" and any(b"pass" in v[1] for v in ins if len(v) > 1):
            ok("abort after DATA: the next message is checked and marked pass")
        else:
            fail("abort after DATA: eom %s, inserted %s" % (res, ins))
        s.send(b"Q")
        s.close()
    except (Closed, OSError) as e:
        fail("aborts: connection lost (%s)" % e)


def case_drop(target, n):
    errors = 0
    for i in range(n):
        try:
            s = Session(target)
            if i % 3 == 1:
                s.negotiate()
            elif i % 3 == 2:
                s.negotiate()
                s.step("connect", z(b"c.example") + b"4" + struct.pack("!H", 25) + z(b"192.0.2.10"))
            s.close()
        except (Closed, OSError):
            errors += 1
    if errors == 0:
        ok("%d connections opened and dropped without quit" % n)
    else:
        fail("%d of %d connections could not even be opened" % (errors, n))


def case_garbage(target):
    blobs = [
        b"GET / HTTP/1.0\r\n\r\n",
        b"\x00\x00\x00\x00",
        b"\xff\xff\xff\xff" + b"X" * 64,
        struct.pack("!I", 5) + b"Z" + b"abcd",
        struct.pack("!I", 1) + b"E",
        struct.pack("!I", 3) + b"O\x00\x01",
        bytes(range(256)) * 4,
    ]
    for i, blob in enumerate(blobs):
        try:
            s = Session(target, timeout=3.0)
            s.sock.sendall(blob)
            try:
                s.sock.recv(65536)
            except OSError:
                pass
            s.close()
        except OSError:
            pass
        ok("garbage packet %d sent (%s)" % (i + 1, show(blob, 20)))
    # A negotiated session, then garbage in the middle of it.
    try:
        s = opened(target)
        s.sock.sendall(struct.pack("!I", 9) + b"Q" + b"\xff" * 8)
        s.sock.sendall(struct.pack("!I", 0x7FFFFFFF) + b"M")
        s.close()
        ok("garbage inside a session sent")
    except (Closed, OSError) as e:
        ok("garbage inside a session: connection closed by the filter (%s)" % e)


def case_normal(target):
    mods = message(target, "normal", b"helo.example", b"alice@pass.example")
    if mods is None:
        return
    ins = [p[4:].split(b"\0") for c, p in mods if c == b"i"]
    if any(v[0] == b"Received-SPF" and v[1].startswith(b"pass") for v in ins):
        ok("normal session: Received-SPF pass")
    else:
        fail("normal session: inserted %s" % ins)


def main():
    target, case = sys.argv[1], sys.argv[2]
    if case == "hostile":
        case_hostile(target)
    elif case == "forged":
        case_forged(target)
    elif case == "midclose":
        for _ in range(int(sys.argv[3]) if len(sys.argv) > 3 else 1):
            case_midclose(target)
    elif case == "aborts":
        case_aborts(target)
    elif case == "drop":
        case_drop(target, int(sys.argv[3]))
    elif case == "garbage":
        case_garbage(target)
    elif case == "normal":
        case_normal(target)
    else:
        sys.exit("unknown case " + case)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
