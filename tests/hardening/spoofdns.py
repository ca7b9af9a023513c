#!/usr/bin/env python3
"""spoofdns.py - a hostile UDP name server for the hardening tests.

    python3 spoofdns.py GOOD-TXT BAD-TXT

Listens on 127.0.0.1, a free UDP port, printed on stdout as the first
line. To every TXT question it answers three times, in this order:
  1. BAD-TXT with the query's ID inverted (a wrong ID),
  2. BAD-TXT with the right ID, but sent from another UDP port (a wrong
     source, as an off-path attacker's forgery would arrive),
  3. after 50 ms, GOOD-TXT with the right ID from the right port.
A resolver that takes the first or second answer evaluates BAD-TXT.
Other question types get an empty NOERROR answer. Runs until killed.
"""
import socket
import struct
import sys
import time


def txt_rdata(text):
    data = text.encode("ascii")
    out = b""
    while True:
        chunk, data = data[:255], data[255:]
        out += bytes([len(chunk)]) + chunk
        if not data:
            return out


def parse_question(pkt):
    """Returns (id, flags, question bytes, qtype) or None."""
    if len(pkt) < 12:
        return None
    qid, flags, qd = struct.unpack("!HHH", pkt[:6])
    if qd != 1 or flags & 0x8000:
        return None
    pos = 12
    while pos < len(pkt):
        n = pkt[pos]
        if n == 0:
            break
        if n & 0xC0:
            return None
        pos += 1 + n
    if pos + 5 > len(pkt):
        return None
    question = pkt[12:pos + 5]
    qtype = struct.unpack("!H", pkt[pos + 1:pos + 3])[0]
    return qid, flags, question, qtype


def answer(qid, flags, question, txt):
    rd = flags & 0x0100
    head = struct.pack("!HHHHHH", qid, 0x8400 | rd, 1, 1 if txt else 0, 0, 0)
    out = head + question
    if txt:
        rdata = txt_rdata(txt)
        out += b"\xc0\x0c" + struct.pack("!HHIH", 16, 1, 60, len(rdata)) + rdata
    return out


def main():
    good, bad = sys.argv[1], sys.argv[2]
    srv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    srv.bind(("127.0.0.1", 0))
    other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    other.bind(("127.0.0.1", 0))
    print(srv.getsockname()[1], flush=True)
    while True:
        pkt, peer = srv.recvfrom(4096)
        q = parse_question(pkt)
        if q is None:
            continue
        qid, flags, question, qtype = q
        if qtype != 16:
            srv.sendto(answer(qid, flags, question, None), peer)
            continue
        srv.sendto(answer(qid ^ 0xFFFF, flags, question, bad), peer)
        other.sendto(answer(qid, flags, question, bad), peer)
        time.sleep(0.05)
        srv.sendto(answer(qid, flags, question, good), peer)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
