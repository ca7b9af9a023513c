#!/bin/sh
# build-deb.sh - builds the Debian package of spfgate.
#
# usage: packaging/build-deb.sh [-r REV] OUTDIR
#
# Copies the source into a temporary directory, puts packaging/debian there
# as debian/ (where Debian's tools expect it), runs
# "dpkg-buildpackage -us -uc -b" and moves the .deb (with its .buildinfo
# and .changes) to OUTDIR. The source tree itself is never built in: dh
# runs autoreconf and an in-tree configure, which would get in the way of
# out-of-tree builds of the same tree.
#
# The source is the working tree (tracked files and new files git does not
# ignore), or with -r REV that git revision. Outside a git checkout, the
# whole tree is copied. DEB_BUILD_OPTIONS is passed on (e.g. nocheck).
# Exit status: 0 built, 1 the build failed (the log's end is shown, the
# whole log left in OUTDIR), 2 usage.
set -eu

usage() {
    echo "usage: $0 [-r REV] OUTDIR" >&2
    exit 2
}

rev=""
while getopts r: opt; do
    case $opt in
    r) rev=$OPTARG ;;
    *) usage ;;
    esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || usage
mkdir -p "$1"
out=$(cd "$1" && pwd)
top=$(cd "$(dirname "$0")/.." && pwd)

for tool in dpkg-buildpackage dpkg-parsechangelog; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "$0: $tool is missing: install the Debian packages dpkg-dev and debhelper" >&2
        exit 1
    fi
done

version=$(dpkg-parsechangelog -l "$top/packaging/debian/changelog" -S Version)
upstream=${version%-*}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/spfgate-deb.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
src="$tmp/spfgate-$upstream"
mkdir "$src"

if [ -n "$rev" ]; then
    git -C "$top" archive --format=tar "$rev" | tar -x -C "$src"
elif git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    (cd "$top" && git ls-files -z -c -o --exclude-standard |
        tar --null --ignore-failed-read -T - -cf - 2>/dev/null) |
        tar -x -C "$src"
else
    (cd "$top" && tar --exclude=./_build --exclude=./debian --exclude=./.git \
        -cf - .) | tar -x -C "$src"
fi
if [ ! -d "$src/packaging/debian" ]; then
    echo "$0: no packaging/debian in the source" >&2
    exit 1
fi
rm -rf "$src/debian"
cp -R "$src/packaging/debian" "$src/debian"
chmod +x "$src/debian/rules"

echo "building spfgate $version in $src"
start=$(date +%s)
if ! (cd "$src" && dpkg-buildpackage -us -uc -b) >"$tmp/build.log" 2>&1; then
    cp "$tmp/build.log" "$out/spfgate-build.log"
    tail -n 40 "$tmp/build.log" >&2
    echo "$0: dpkg-buildpackage failed; the whole log is $out/spfgate-build.log" >&2
    exit 1
fi
for f in "$tmp"/*.deb "$tmp"/*.buildinfo "$tmp"/*.changes; do
    [ -e "$f" ] || continue
    mv "$f" "$out/"
    echo "wrote $out/$(basename "$f")"
done
echo "built in $(($(date +%s) - start)) s"
