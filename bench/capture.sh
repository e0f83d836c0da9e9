#!/usr/bin/env bash
# bench/capture.sh — capture benchmark (`make bench`, as root).
#
# 1. `labctl test` of MasterTech with and without `--capture FILE` (every
#    interface recorded to pcapng), BENCH_RUNS times each; medians and the
#    ratio (target <= 1.10).
# 2. A lab of BENCH_HOSTS hosts (default 1000) on 10 switches behind one
#    router, under a bounded load: BENCH_PAIRS ping floods (`ping -f`, at most
#    BENCH_SECONDS seconds each) between hosts of different switches, all
#    inside the lab. `labctl capture LAB -w FILE` records every interface
#    while `tcpdump -w` records one (the router's side of the first switch)
#    in the same run. Reported: frames/s written by labctl and its kernel
#    drops (target >= 200,000 frames/s, 0 drops), and CPU per frame of
#    labctl against tcpdump.
# A miss is a result, not a failure: the script exits non-zero only when
# something broke. Labs are taken down on every exit path.
#
# Environment: LABCTL=PATH, BENCH_RUNS (5), BENCH_HOSTS (1000),
# BENCH_PAIRS (20), BENCH_SECONDS (10).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNS=${BENCH_RUNS:-5}
HOSTS=${BENCH_HOSTS:-1000}
PAIRS=${BENCH_PAIRS:-20}
SECONDS_LOAD=${BENCH_SECONDS:-10}
TEST_LAB="bench-captest-$$"
BIG_LAB="bench-capload-$$"
TMP=""

say() { printf '%s\n' "$*" >&2; }
die() { say "bench-capture: error: $*"; exit 1; }

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    jobs -p | xargs -r kill 2>/dev/null || true
    for lab in "$TEST_LAB" "$BIG_LAB"; do
        if [[ -n ${LABCTL:-} && -e ${LABCTL_RUN_DIR:-/run/labctl}/$lab ]]; then
            "$LABCTL" down "$lab" >/dev/null 2>&1 || say "bench-capture: warning: could not take down lab $lab"
        fi
    done
    [[ -n $TMP ]] && rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'say "bench-capture: interrupted"; exit 130' INT
trap 'say "bench-capture: terminated"; exit 143' TERM

[[ $(id -u) == 0 ]] || die "run as root (captures enter the lab's namespaces)"
for tool in tcpdump python3; do command -v $tool >/dev/null || die "$tool is missing (make deps installs it)"; done
if [[ -z ${LABCTL:-} ]]; then
    (cd "$ROOT" && cargo build --release --locked -q) || die "cargo build failed"
    LABCTL=$ROOT/target/release/labctl
fi
TMP=$(mktemp -d /tmp/labctl-bench-capture.XXXXXX)

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
now() { date +%s.%N; }

# ---------------------------------------------------------------- 1. test with and without --capture
sed "s/^name: .*/name: $TEST_LAB/" "$ROOT/labs/mastertech.yaml" > "$TMP/mastertech.yaml"
plain=() captured=()
for (( run = 1; run <= RUNS; run++ )); do
    for mode in plain capture; do
        args=(test "$TMP/mastertech.yaml")
        [[ $mode == capture ]] && args+=(--capture "$TMP/test.pcapng")
        start=$(now)
        "$LABCTL" "${args[@]}" >"$TMP/test.out" 2>&1 || { cat "$TMP/test.out" >&2; die "labctl test ($mode) failed"; }
        took=$(echo "$(now) - $start" | bc -l)
        if [[ $mode == plain ]]; then plain+=("$took"); else captured+=("$took"); fi
    done
done
P=$(printf '%s\n' "${plain[@]}" | median)
C=$(printf '%s\n' "${captured[@]}" | median)
printf 'labctl test mastertech: %.3f s, with --capture %.3f s, ratio %.2f (target <= 1.10)\n' "$P" "$C" "$(echo "$C / $P" | bc -l)"

# ---------------------------------------------------------------- 2. a big lab under ping floods
{
    echo "name: $BIG_LAB"
    echo "description: capture benchmark, $HOSTS hosts"
    echo "nodes:"
    printf '  r1:\n    kind: router\n    interfaces:\n'
    for s in $(seq 1 10); do echo "      eth$s: 10.$s.0.1/16"; done
    for s in $(seq 1 10); do printf '  sw%02d: {kind: switch}\n' "$s"; done
    for i in $(seq 1 "$HOSTS"); do
        s=$(( (i - 1) % 10 + 1 )); n=$(( (i - 1) / 10 + 2 ))
        printf '  h%04d: {kind: host, interfaces: {eth0: 10.%d.%d.%d/16}, gateway: 10.%d.0.1}\n' "$i" "$s" $(( n / 256 )) $(( n % 256 )) "$s"
    done
    echo "links:"
    for s in $(seq 1 10); do printf '  - [r1:eth%d, sw%02d]\n' "$s" "$s"; done
    for i in $(seq 1 "$HOSTS"); do printf '  - [h%04d, sw%02d]\n' "$i" $(( (i - 1) % 10 + 1 )); done
} > "$TMP/big.yaml"
"$LABCTL" up "$TMP/big.yaml" >/dev/null 2>"$TMP/up.err" || { cat "$TMP/up.err" >&2; die "the $HOSTS-host lab did not come up"; }
taps=$(( HOSTS * 2 + 10 * 2 ))

/usr/bin/time -f '%U %S' -o "$TMP/labctl.cpu" "$LABCTL" capture "$BIG_LAB" -w "$TMP/big.pcapng" \
    --for "$(( SECONDS_LOAD + 2 ))s" 2>"$TMP/capture.err" &
cap=$!
/usr/bin/time -f '%U %S' -o "$TMP/tcpdump.cpu" ip netns exec "$BIG_LAB.r1" \
    timeout -s INT "$(( SECONDS_LOAD + 2 ))" tcpdump -i eth1 -s 0 -w "$TMP/tcpdump.pcap" 2>"$TMP/tcpdump.err" &
tcpd=$!
sleep 1
# Pairs across switches: host i (switch s) floods host i+1 (switch s+1), through r1.
for p in $(seq 1 "$PAIRS"); do
    i=$(( (p - 1) * 10 + 1 )); n=$(( (i) / 10 + 2 )); s=$(( i % 10 + 1 ))
    ip netns exec "$BIG_LAB.$(printf h%04d "$i")" ping -q -f -w "$SECONDS_LOAD" \
        "10.$s.$(( n / 256 )).$(( n % 256 ))" >/dev/null 2>&1 &
done
wait "$cap" || { cat "$TMP/capture.err" >&2; die "labctl capture failed"; }
wait "$tcpd" || true
wait || true

frames=$(sed -n 's/^\([0-9,]*\) frames\? on .* in \([0-9.]*\) s, \([0-9]*\) dropped$/\1 \2 \3/p' "$TMP/capture.err" | tr -d ,)
read -r lframes lsecs ldrops <<<"$frames"
[[ -n ${lframes:-} ]] || { cat "$TMP/capture.err" >&2; die "no summary from labctl capture"; }
tframes=$(sed -n 's/^\([0-9]*\) packets captured$/\1/p' "$TMP/tcpdump.err")
tdrops=$(sed -n 's/^\([0-9]*\) packets dropped by kernel$/\1/p' "$TMP/tcpdump.err")
# The last line: time(1) puts "Command exited with non-zero status" first.
read -r lu ls < <(tail -n1 "$TMP/labctl.cpu"); read -r tu ts < <(tail -n1 "$TMP/tcpdump.cpu")
lcpu=$(echo "$lu + $ls" | bc -l); tcpu=$(echo "$tu + $ts" | bc -l)
rate=$(echo "$lframes / $SECONDS_LOAD" | bc -l)
lper=$(echo "$lcpu * 1000000 / ($lframes + 1)" | bc -l)
tper=$(echo "$tcpu * 1000000 / (${tframes:-0} + 1)" | bc -l)
printf '%d hosts, %d interfaces, %d ping floods for %d s:\n' "$HOSTS" "$taps" "$PAIRS" "$SECONDS_LOAD"
printf '  labctl capture: %d frames (%.0f frames/s over the load, target >= 200000), %d dropped (target 0), file %d MB\n' \
    "$lframes" "$rate" "$ldrops" $(( $(stat -c %s "$TMP/big.pcapng") / 1000000 ))
printf '  CPU per frame: labctl %.2f us (every interface), tcpdump -w %.2f us (r1:eth1 only, %d frames, %d dropped), ratio %.2f\n' \
    "$lper" "$tper" "${tframes:-0}" "${tdrops:-0}" "$(echo "$lper / ($tper + 0.000001)" | bc -l)"
"$LABCTL" down "$BIG_LAB" >/dev/null
