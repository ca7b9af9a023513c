#!/usr/bin/env python3
"""dnsquery.py - one DNS query over UDP, for the integration tests' checks.

    dnsquery.py SERVER PORT NAME TYPE [TIMEOUT]

Offers EDNS0 with 4096 octets. Prints "RCODE" on the first line (NOERROR, NXDOMAIN, SERVFAIL, REFUSED,
... or TIMEOUT, with " TC" when the answer was truncated), then one line
per answer record: "TYPE VALUE" (TXT strings are printed quoted, joined by
a space). Exit 0 when an answer came, 3 on timeout.
"""

import random
import socket
import struct
import sys

TYPES = {"A": 1, "CNAME": 5, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28}
NAMES = {v: k for k, v in TYPES.items()}
RCODES = ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"]


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def read_name(msg, off):
    labels, jumped, end = [], False, off
    for _ in range(128):
        n = msg[off]
        if n & 0xC0 == 0xC0:
            if not jumped:
                end = off + 2
            off = ((n & 0x3F) << 8) | msg[off + 1]
            jumped = True
            continue
        if n == 0:
            if not jumped:
                end = off + 1
            break
        labels.append(msg[off + 1:off + 1 + n].decode("ascii", "replace"))
        off += 1 + n
    return ".".join(labels) + ".", end


def main():
    server, port, name, qtype = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    timeout = float(sys.argv[5]) if len(sys.argv) > 5 else 3.0
    qid = random.randrange(65536)
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 1)
    q += encode_name(name) + struct.pack(">HH", TYPES[qtype.upper()], 1)
    q += b"\0" + struct.pack(">HHIH", 41, 4096, 0, 0)  # EDNS0, 4096 octets
    s = socket.socket(socket.AF_INET6 if ":" in server else socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.sendto(q, (server, port))
        while True:
            msg = s.recv(65535)
            if len(msg) >= 12 and struct.unpack(">H", msg[:2])[0] == qid:
                break
    except socket.timeout:
        print("TIMEOUT")
        return 3
    _, flags, qd, an, _, _ = struct.unpack(">HHHHHH", msg[:12])
    rc = flags & 0xF
    print((RCODES[rc] if rc < len(RCODES) else str(rc)) + (" TC" if flags & 0x200 else ""))
    off = 12
    for _ in range(qd):
        _, off = read_name(msg, off)
        off += 4
    for _ in range(an):
        _, off = read_name(msg, off)
        t, _, _, rdlen = struct.unpack(">HHIH", msg[off:off + 10])
        off += 10
        rd = msg[off:off + rdlen]
        if t == 1:
            v = socket.inet_ntop(socket.AF_INET, rd)
        elif t == 28:
            v = socket.inet_ntop(socket.AF_INET6, rd)
        elif t in (5, 12):
            v = read_name(msg, off)[0]
        elif t == 15:
            v = "%d %s" % (struct.unpack(">H", rd[:2])[0], read_name(msg, off + 2)[0])
        elif t == 16:
            parts, i = [], 0
            while i < len(rd):
                n = rd[i]
                parts.append('"%s"' % rd[i + 1:i + 1 + n].decode("utf-8", "replace"))
                i += 1 + n
            v = " ".join(parts)
        else:
            v = rd.hex()
        print("%s %s" % (NAMES.get(t, str(t)), v))
        off += rdlen
    return 0


if __name__ == "__main__":
    sys.exit(main())
