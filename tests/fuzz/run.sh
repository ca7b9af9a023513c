#!/bin/sh
# run.sh - runs spfgate's libFuzzer targets: replays the saved crash inputs
# of tests/fuzz/regressions/TARGET/, then fuzzes each target for SECONDS on
# a temporary copy of its seed corpus (tests/fuzz/corpus/TARGET/), one
# target at a time with one worker.
#
#   sh tests/fuzz/run.sh BUILD_DIR [SECONDS]
#
# BUILD_DIR is a build configured with CC=clang --enable-fuzzing. SECONDS
# defaults to 60. FUZZ_TARGETS (space separated) overrides the list of
# targets. Prints the executions of each target; exits 1 when a target
# crashes (the input is kept and its path printed) or a replay fails.
set -u

build=${1:?usage: run.sh BUILD_DIR [SECONDS]}
seconds=${2:-60}
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$build" && pwd) || exit 2

# fuzz_libspf2 (libspf2 alone, records spfgate never passes on) is left out
# by default: see tests/fuzz/README.md.
targets=${FUZZ_TARGETS:-"fuzz_settings fuzz_text fuzz_headers fuzz_addr fuzz_record fuzz_callbacks"}

max_len() {
    case $1 in
    fuzz_settings | fuzz_callbacks) echo 4096 ;;
    fuzz_addr | fuzz_libspf2) echo 1024 ;;
    *) echo 2048 ;;
    esac
}

work=$(mktemp -d "${TMPDIR:-/tmp}/spfgate-fuzz.XXXXXX") || exit 2
failed=0
summary=""

for t in $targets; do
    bin=$build/tests/fuzz/$t
    if [ ! -x "$bin" ]; then
        echo "$t: $bin is missing (configure with CC=clang --enable-fuzzing)" >&2
        failed=1
        continue
    fi
    # Replay the saved crashes: each must run clean now.
    reg=$here/regressions/$t
    if [ -d "$reg" ] && [ -n "$(ls -A "$reg" 2>/dev/null)" ]; then
        if "$bin" -runs=1 "$reg"/* >"$work/$t.replay.log" 2>&1; then
            echo "$t: replayed $(ls "$reg" | wc -l) regression inputs"
        else
            echo "$t: a regression input fails again; see $work/$t.replay.log" >&2
            tail -n 30 "$work/$t.replay.log" >&2
            failed=1
        fi
    fi
    # Fuzz on a copy of the seed corpus; new inputs stay in the copy.
    mkdir -p "$work/$t/corpus" "$work/$t/artifacts"
    cp "$here/corpus/$t"/* "$work/$t/corpus/" 2>/dev/null
    dict=""
    [ -f "$here/$t.dict" ] && dict="-dict=$here/$t.dict"
    "$bin" -max_total_time="$seconds" -max_len="$(max_len "$t")" $dict \
        -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$work/$t/artifacts/" "$work/$t/corpus" \
        >"$work/$t.log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t.log" | tail -n 1)
    if [ $rc -ne 0 ]; then
        echo "$t: CRASH after ${execs:-?} executions; input(s):" >&2
        ls "$work/$t/artifacts"/* >&2 2>/dev/null
        grep -m 5 -E 'ERROR|invariant broken|SUMMARY' "$work/$t.log" >&2
        echo "full log: $work/$t.log" >&2
        failed=1
        summary="$summary$t crashed
"
    else
        echo "$t: ${execs:-?} executions in ${seconds}s, no crash"
        summary="$summary$t ${execs:-?}
"
    fi
done

if [ $failed -eq 0 ]; then
    rm -rf "$work"
    echo "fuzz: all targets ran clean"
else
    echo "fuzz: FAILED (logs and inputs kept in $work)" >&2
fi
exit $failed
