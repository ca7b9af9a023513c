# deps.sh - sourced by the top-level test and demo scripts: installs the
# Debian packages spfgate needs to build and test, when any is missing.
# Needs root (or everything already installed); fails with the list.

# The packages to build spfgate and run its unit tests.
SPFGATE_BUILD_DEPS="build-essential autoconf automake libtool pkg-config python3-yaml \
libmilter-dev libspf2-dev libcmocka-dev clang-format"

# deps_install PKG...: installs the packages of the list that are missing.
deps_install() {
  missing=""
  for p in "$@"; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
      missing="$missing $p"
  done
  [ -z "$missing" ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing Debian packages:$missing (run as root, or install them)" >&2
    return 1
  fi
  echo "installing:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null || return 1
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing >/dev/null || return 1
}

# deps_srcdir_clean DIR: an in-tree configure stops out-of-tree builds;
# undo it.
deps_srcdir_clean() {
  if [ -f "$1/config.status" ]; then
    echo "the source tree was configured in place; running make distclean there"
    (cd "$1" && make distclean >/dev/null 2>&1) || rm -f "$1/config.status"
  fi
}
