#!/usr/bin/env bash
# bench/all.sh — every benchmark, then one summary (`make bench`, as root).
#
# Runs the benchmarks of bench/ one after another (each installs its own
# reference servers and cleans up after itself); one that fails does not
# stop the others. At the end it prints one table: each benchmark, whether
# it ran to the end, how long it took, and its result lines (the lines with
# a target, a verdict — PASS or MISS — or a ratio), then the machine's load.
# It exits non-zero when any benchmark broke (a MISS is a result, not a
# failure).
#
# Environment:
#   LABCTL=PATH        the binary every benchmark measures (default
#                      target/release/labctl, built)
#   BENCH_ONLY="a b"   run only these (names as in bench/NAME.sh)
#   BENCH_SUMMARY=FILE also write the summary there, as Markdown (to paste
#                      into docs/performance.md)
#   every benchmark's own variables (BENCH_RUNS, MAIL_MESSAGES…) pass on
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ALL="run dhcp dns mail imap checks grade capture live web rootless"
NAMES=${BENCH_ONLY:-$ALL}

say() { printf '%s\n' "$*" >&2; }
[[ $(id -u) == 0 ]] || { say "bench: run as root (the benchmarks build labs)"; exit 1; }
for name in $NAMES; do
    [[ -f $ROOT/bench/$name.sh ]] || { say "bench: there is no bench/$name.sh (benchmarks: $ALL)"; exit 1; }
done
if [[ -z ${LABCTL:-} ]]; then
    (cd "$ROOT" && cargo build --release --locked -q) || { say "bench: cargo build failed"; exit 1; }
    LABCTL=$ROOT/target/release/labctl
fi
export LABCTL

TMP=$(mktemp -d /tmp/labctl-bench-all.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
trap 'say "bench: interrupted"; exit 130' INT
trap 'say "bench: terminated"; exit 143' TERM

failed=0
for name in $NAMES; do
    say ""
    say "=== bench/$name.sh"
    start=$(date +%s.%N)
    bash "$ROOT/bench/$name.sh" 2>&1 | tee "$TMP/$name.log"
    rc=${PIPESTATUS[0]}
    end=$(date +%s.%N)
    echo "$rc" > "$TMP/$name.rc"
    echo "$end - $start" | bc -l > "$TMP/$name.time"
    (( rc == 0 )) || failed=1
done

# The lines that carry a result: a verdict or a ratio, at most 8 per benchmark.
results() {
    grep -E 'PASS|MISS|target|ratio|[0-9.]+x( |$)|[0-9.]+ %' "$TMP/$1.log" | sed -E 's/^[[:space:]]+//; s/[[:space:]]{2,}/  /g' | head -8
}

summary() {
    local markdown=$1 name rc seconds state
    if [[ $markdown == 1 ]]; then
        echo "| benchmark | ran | time | results |"
        echo "|---|---|---|---|"
    else
        echo ""
        echo "=== summary ($(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores)"
    fi
    for name in $NAMES; do
        rc=$(cat "$TMP/$name.rc")
        seconds=$(printf '%.0f' "$(cat "$TMP/$name.time")")
        if [[ $rc == 0 ]]; then state=ok; else state="FAILED (exit $rc)"; fi
        if [[ $markdown == 1 ]]; then
            printf '| %s | %s | %s s | %s |\n' "$name" "$state" "$seconds" \
                "$(results "$name" | sed 's/|/\\|/g' | paste -sd';' - | sed 's/;/<br>/g')"
        else
            printf '%-9s %-18s %5s s\n' "$name" "$state" "$seconds"
            results "$name" | sed 's/^/            /'
        fi
    done
    if [[ $markdown == 1 ]]; then
        echo ""
        echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
    else
        echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
    fi
}

summary 0
if [[ -n ${BENCH_SUMMARY:-} ]]; then
    summary 1 > "$BENCH_SUMMARY"
    say "bench: summary written to $BENCH_SUMMARY"
fi
(( failed == 0 )) || say "bench: at least one benchmark failed (see FAILED above); the others ran"
exit "$failed"
