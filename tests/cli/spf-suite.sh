#!/bin/sh
# spf-suite.sh - the OpenSPF conformance suites (RFC 7208 and RFC 4408,
# in tests/data with their BSD licence) through spfcheck, served by testdns
# and evaluated by spfeval. Every test of both must pass: RFC 4408's
# tests whose expectation RFC 7208 changed list both results as
# acceptable in the suite itself, so no deviation list is needed.
# Skips (77) when python3 or its yaml module is missing.
set -u
data="${SPFGATE_TEST_DATA:-tests/data}"
tools="${SPFGATE_TOOLS:-tests/tools}"
here=$(dirname "$0")
python3 -c 'import yaml' 2>/dev/null || {
    echo "skip: python3 with the yaml module (Debian: python3-yaml) is needed"
    exit 77
}
rc=0
for suite in rfc7208 rfc4408; do
    echo "== $suite"
    if out=$(python3 "$here/../tools/spfsuite.py" -v --testdns "$tools/testdns" \
        --spfeval "$tools/spfeval" "$data/$suite-tests.yml" 2>&1); then
        echo "$out"
        echo "ok: $suite suite: $(echo "$out" | tail -n 1)"
    else
        echo "$out"
        echo "FAIL: $suite suite: $(echo "$out" | tail -n 1)"
        rc=1
    fi
done
exit $rc
