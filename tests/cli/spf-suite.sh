#!/bin/sh
# spf-suite.sh - the OpenSPF RFC 7208 conformance suite (tests/data) through
# spfcheck, served by testdns and evaluated by spfeval. Every test must
# pass. Skips (77) when python3 or its yaml module is missing.
set -u
data="${SPFGATE_TEST_DATA:-tests/data}"
tools="${SPFGATE_TOOLS:-tests/tools}"
here=$(dirname "$0")
python3 -c 'import yaml' 2>/dev/null || {
    echo "skip: python3 with the yaml module (Debian: python3-yaml) is needed"
    exit 77
}
python3 "$here/../tools/spfsuite.py" -v --testdns "$tools/testdns" \
    --spfeval "$tools/spfeval" "$data/rfc7208-tests.yml"
