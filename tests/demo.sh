#!/bin/sh
# demo.sh - quick start: installs what the build needs, builds spfgate and
# shows it working. (For now: prints the SMTP command-reply table that
# every reply of spfgate is checked against.)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/tests/lib/deps.sh"
deps_install $SPFGATE_BUILD_DEPS
deps_srcdir_clean "$top"
(cd "$top" && autoreconf -fi >/dev/null 2>&1)
dir="$top/_build/demo"
mkdir -p "$dir"
cd "$dir"
[ -f Makefile ] || "$top/configure" -q
make -j"$(nproc 2>/dev/null || echo 2)" >/dev/null
echo "spfgate $(./milter/spfgate --version | cut -d' ' -f2): the reply table it answers by"
./milter/spfgate --reply-table
