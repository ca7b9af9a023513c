#!/usr/bin/env python3
"""spfsuite.py - run the OpenSPF YAML test suite through spfcheck.

usage: spfsuite.py --testdns BIN --spfeval BIN [-v] [-k NAME] SUITE.yml

For each scenario of the suite: its zonedata becomes a testdns zone file
(an SPF record counts as TXT where the name has no TXT; "TXT: NONE" means
no TXT), testdns serves it on 127.0.0.1 and a free port, and spfeval
evaluates the scenario's tests. A test passes when the result is one of
the accepted ones and, where the suite gives one, the explanation matches.
Prints one line per failing test (-v) and "N passed, N failed" last;
exits 1 when a test failed, 2 when the tools cannot run. A suite
explanation of "DEFAULT" means the domain gave none: spfcheck reports "".

From a build directory:
  python3 SRCDIR/tests/tools/spfsuite.py --testdns tests/tools/testdns \
      --spfeval tests/tools/spfeval SRCDIR/tests/data/rfc7208-tests.yml
"""
import argparse
import os
import subprocess
import sys
import tempfile

import yaml


def to_bytes(s):
    """The octets a suite string stands for (latin-1 where possible)."""
    if isinstance(s, bytes):
        return s
    s = str(s)
    try:
        return s.encode("latin-1")
    except UnicodeEncodeError:
        return s.encode("utf-8")


def quote(b):
    """One zone-file quoted string with \\DDD escapes."""
    out = []
    for c in b:
        if c in (0x22, 0x5C) or c < 0x20 or c > 0x7E:
            out.append("\\%03d" % c)
        else:
            out.append(chr(c))
    return '"' + "".join(out) + '"'


def txt_value(v):
    """A TXT value (string or list of strings) as quoted strings."""
    parts = v if isinstance(v, list) else [v]
    if not parts:
        parts = [""]
    return " ".join(quote(to_bytes(p)) for p in parts)


def zone_lines(zonedata):
    """testdns zone lines for one scenario's zonedata."""
    lines = []
    for name, recs in (zonedata or {}).items():
        name = "".join(chr(c) if 0x20 < c < 0x7F and c != 0x5C
                       else "\\%03d" % c for c in to_bytes(name))
        if not name:
            continue
        has_txt = any(isinstance(r, dict) and "TXT" in r for r in recs)
        for r in recs:
            if r == "TIMEOUT":
                lines.append("%s TIMEOUT" % name)
                continue
            if not isinstance(r, dict):
                continue
            for typ, val in r.items():
                if typ == "SPF":
                    if has_txt:
                        continue
                    typ = "TXT"
                if typ == "TXT":
                    if val == "NONE":
                        continue
                    lines.append("%s TXT %s" % (name, txt_value(val)))
                elif typ == "MX":
                    lines.append("%s MX %s %s" % (name, val[0], val[1] or "."))
                elif typ in ("A", "AAAA", "PTR", "CNAME"):
                    for v in val if isinstance(val, list) else [val]:
                        lines.append("%s %s %s" % (name, typ, v))
    return lines


def start_testdns(binary, zone_path):
    """Starts testdns; returns (process, port)."""
    p = subprocess.Popen([binary, "-a", "127.0.0.1", "-p", "0", "-z",
                          zone_path], stdout=subprocess.PIPE)
    line = p.stdout.readline()
    if not line.strip().isdigit():
        p.kill()
        raise RuntimeError("testdns did not start")
    return p, int(line)


def run_scenario(doc, args, failures):
    """Runs one scenario; returns (passed, failed)."""
    tests = doc.get("tests") or {}
    if args.k:
        tests = {k: v for k, v in tests.items() if k in args.k}
    if not tests:
        return 0, 0
    with tempfile.NamedTemporaryFile("w", suffix=".zone", delete=False,
                                     encoding="latin-1") as z:
        z.write("\n".join(zone_lines(doc.get("zonedata"))) + "\n")
        zone_path = z.name
    dns, port = start_testdns(args.testdns, zone_path)
    try:
        cases = []
        for name, t in tests.items():
            mailfrom = str(t.get("mailfrom", ""))
            cases.append("\t".join([name, str(t["host"]), str(t["helo"]),
                                    mailfrom if mailfrom else "<>"]))
        out = subprocess.run(
            [args.spfeval, "-s", "127.0.0.1:%d" % port, "-t", "1000",
             "-d", "8000"],
            input="\n".join(cases) + "\n", stdout=subprocess.PIPE, text=True,
            errors="replace", check=False)
        if out.returncode != 0:
            raise RuntimeError("spfeval exited with status %d"
                               % out.returncode)
        got = {}
        for line in out.stdout.splitlines():
            f = line.split("\t")
            if len(f) >= 4:
                got[f[0]] = f
    finally:
        dns.terminate()
        dns.wait()
        os.unlink(zone_path)
    passed = failed = 0
    for name, t in tests.items():
        want = t["result"] if isinstance(t["result"], list) else [t["result"]]
        f = got.get(name)
        ok = f is not None and f[1] in want
        want_exp = str(t.get("explanation", ""))
        if want_exp == "DEFAULT":
            want_exp = ""
        if ok and "explanation" in t and f[2] != want_exp:
            ok = False
        if ok:
            passed += 1
            continue
        failed += 1
        failures.append("FAIL %s: want %s%s, got %s" % (
            name, "/".join(want),
            (" exp=%r" % t["explanation"]) if "explanation" in t else "",
            ("%s exp=%r problem=%r" % (f[1], f[2], f[3])) if f else "nothing"))
    return passed, failed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--testdns", required=True)
    ap.add_argument("--spfeval", required=True)
    ap.add_argument("-v", action="store_true", help="list failing tests")
    ap.add_argument("-k", action="append", help="run only this test")
    ap.add_argument("suite")
    args = ap.parse_args()
    with open(args.suite, "rb") as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    passed = failed = 0
    failures = []
    try:
        for doc in docs:
            p, n = run_scenario(doc, args, failures)
            passed += p
            failed += n
    except (OSError, RuntimeError) as e:
        print("spfsuite: %s" % e, file=sys.stderr)
        return 2
    if args.v:
        for line in failures:
            print(line)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
