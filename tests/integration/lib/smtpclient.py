#!/usr/bin/env python3
"""smtpclient.py - a small SMTP client for spfgate's integration tests.

Speaks SMTP to an MTA on loopback, one command at a time (it always waits
for the reply before sending the next command), and records, for the
greeting and every command sent, one line:

    COMMAND<TAB>CODE<TAB>TEXT

COMMAND is the verb (CONNECT for the greeting, "." for the reply after the
final dot of DATA); TEXT is the reply text, the lines of a multi-line reply
joined with a literal "\\n". When the server closes the connection, a line
"CLOSED<TAB>-<TAB>after COMMAND" ends the record; when a reply does not
come in time, "TIMEOUT<TAB>-<TAB>COMMAND" does (exit status 3).

The session is a script, one command a line (file argument or stdin):

    EHLO client.example          any SMTP command, sent as written
    XCLIENT ADDR=192.0.2.1 NAME=[UNAVAILABLE]   (IPv6: ADDR=IPv6:2001:db8::1)
    MAIL FROM:<a@example.org>
    RCPT TO:<b@example.net>
    DATA                         the lines after it, up to a line ".", are
    Subject: hi                  the message (dot-stuffed by the client);
                                 if DATA is not answered 354 they are
    body                         skipped
    .
    QUIT
    # comment                    blank lines and comments are ignored
    !SLEEP 0.5                   pause (seconds)
    !EXPECT-CLOSE                end here (the server is expected to close)

Options: --host, --port, --bind ADDR (client source address: 127.0.0.2,
::1, ...), --timeout SECONDS (per reply), --total SECONDS (whole session),
--out FILE (default stdout). If the script does not end with QUIT, the
client just closes. Exit: 0 done, 1 connection failed, 2 usage, 3 timeout.
"""

import argparse
import socket
import sys
import time


class Closed(Exception):
    pass


class Timeout(Exception):
    pass


class Session:
    def __init__(self, sock, timeout, deadline):
        self.sock = sock
        self.buf = b""
        self.timeout = timeout
        self.deadline = deadline

    def _line(self):
        while b"\n" not in self.buf:
            left = min(self.timeout, self.deadline - time.monotonic())
            if left <= 0:
                raise Timeout()
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                raise Timeout()
            except (ConnectionResetError, BrokenPipeError):
                raise Closed()
            if not data:
                raise Closed()
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r").decode("utf-8", "replace")

    def reply(self):
        """Reads one (possibly multi-line) reply: (code, text)."""
        texts = []
        while True:
            line = self._line()
            code, sep, text = line[:3], line[3:4], line[4:]
            texts.append(text)
            if sep != "-":
                break
        if not (len(code) == 3 and code.isdigit()):
            code = "???"
            texts = [line]
        return code, "\\n".join(texts)

    def send(self, data):
        try:
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            raise Closed()


def parse_script(lines):
    """Yields (command_line, message_lines or None, directive)."""
    i = 0
    lines = [l.rstrip("\r\n") for l in lines]
    while i < len(lines):
        l = lines[i]
        i += 1
        s = l.strip()
        if not s or s.startswith("#"):
            continue
        if s.startswith("!"):
            yield None, None, s[1:]
            continue
        if s.upper() == "DATA":
            msg = []
            while i < len(lines) and lines[i] != ".":
                msg.append(lines[i])
                i += 1
            i += 1  # the "."
            yield s, msg, None
            continue
        yield s, None, None


def main():
    ap = argparse.ArgumentParser(description="scripted SMTP client")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--bind", default=None)
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("--total", type=float, default=120.0)
    ap.add_argument("--out", default="-")
    ap.add_argument("script", nargs="?", default="-")
    a = ap.parse_args()

    src = sys.stdin if a.script == "-" else open(a.script, encoding="utf-8")
    script = list(parse_script(src.readlines()))
    out = sys.stdout if a.out == "-" else open(a.out, "w", encoding="utf-8")

    def rec(cmd, code, text):
        out.write("%s\t%s\t%s\n" % (cmd, code, text))
        out.flush()

    fam = socket.AF_INET6 if ":" in a.host else socket.AF_INET
    sock = socket.socket(fam, socket.SOCK_STREAM)
    try:
        if a.bind:
            sock.bind((a.bind, 0))
        sock.settimeout(min(a.timeout, 10.0))
        sock.connect((a.host, a.port))
    except OSError as e:
        sys.stderr.write("smtpclient: connect %s:%d: %s\n" % (a.host, a.port, e))
        return 1
    sess = Session(sock, a.timeout, time.monotonic() + a.total)
    cmd = "CONNECT"
    status = 0
    try:
        code, text = sess.reply()
        rec(cmd, code, text)
        for line, msg, directive in script:
            if directive is not None:
                word = directive.split()
                if word[0].upper() == "SLEEP":
                    time.sleep(float(word[1]))
                elif word[0].upper() == "EXPECT-CLOSE":
                    break
                continue
            cmd = line.split()[0].upper()
            sess.send(line.encode("utf-8") + b"\r\n")
            code, text = sess.reply()
            rec(cmd, code, text)
            if cmd == "DATA" and code == "354":
                cmd = "."
                body = b""
                for m in msg:
                    if m.startswith("."):
                        m = "." + m
                    body += m.encode("utf-8") + b"\r\n"
                sess.send(body + b".\r\n")
                code, text = sess.reply()
                rec(cmd, code, text)
            if cmd == "QUIT":
                break
    except Closed:
        rec("CLOSED", "-", "after " + cmd)
    except Timeout:
        rec("TIMEOUT", "-", cmd)
        status = 3
    finally:
        sock.close()
    return status


if __name__ == "__main__":
    sys.exit(main())
