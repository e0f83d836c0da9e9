#!/usr/bin/env bash
# bench/live.sh — re-convergence benchmark (`make bench`, as root).
#
# On labs/triangle.yaml (three routers with routing: auto, a LAN on each):
# cut the cable r1–r2 with `labctl link` and time until pc1 reaches pc2
# again (round through r3), then restore it and time until the direct path
# is back (TTL 62 again). Target: at most 1 s each. Then on labs/mail-com.yaml:
# `labctl apply` of a mail password change, the command's whole time
# (target: at most 100 ms). Then a two-host lab for impairments: a 100 MB
# TCP transfer over a clear cable (the kernel's veth: the floor) and over a
# cable with `--loss 0.001%` (netem, or the lab daemon's userspace wire on a
# kernel without netem), throughput as a fraction of the floor; and with
# `--delay 10ms` the round trip's excess over the 20 ms asked (median of 50
# pings). BENCH_RUNS cycles each (default 5); medians and the worst are printed. A miss is a result, not a failure: the script
# exits non-zero only when something broke.
#
# Everything happens inside the labs' own namespaces (labs bench-live-PID
# bench-apply-PID and bench-wire-PID); on exit — normal, error, Ctrl-C — they are taken down.
#
# Environment:
#   LABCTL=PATH     benchmark this binary (default target/release/labctl, built)
#   BENCH_RUNS=N    cycles (default 5)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNS=${BENCH_RUNS:-5}
LAB="bench-live-$$"
MAIL_LAB="bench-apply-$$"
WIRE_LAB="bench-wire-$$"
TMP=""

say() { printf '%s\n' "$*" >&2; }
die() { say "bench-live: error: $*"; exit 1; }

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    for lab in "$LAB" "$MAIL_LAB" "$WIRE_LAB"; do
        if [[ -n ${LABCTL:-} && -e ${LABCTL_RUN_DIR:-/run/labctl}/$lab ]]; then
            "$LABCTL" down "$lab" >/dev/null 2>&1 || say "bench-live: warning: could not take down lab $lab"
        fi
    done
    [[ -n $TMP ]] && rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'say "bench-live: interrupted"; exit 130' INT
trap 'say "bench-live: terminated"; exit 143' TERM

[[ $(id -u) == 0 ]] || die "run as root (labctl builds namespaces)"
[[ $RUNS =~ ^[0-9]+$ && $RUNS -ge 1 ]] || die "BENCH_RUNS must be a positive number, not '$RUNS'"
if [[ -z ${LABCTL:-} ]]; then
    (cd "$ROOT" && cargo build --release --locked -q) || die "cargo build failed"
    LABCTL=$ROOT/target/release/labctl
fi

TMP=$(mktemp -d /tmp/labctl-bench-live.XXXXXX)
sed "s/^name: .*/name: $LAB/" "$ROOT/labs/triangle.yaml" > "$TMP/triangle.yaml"
"$LABCTL" up "$TMP/triangle.yaml" >/dev/null 2>"$TMP/up.log" || { cat "$TMP/up.log" >&2; die "up failed"; }

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2}'; }
# Pings pc2 from pc1 (100 ms timeout each, at most 5 s) until one comes
# back with TTL $1.
reach() {
    local deadline=$(( $(date +%s) + 5 ))
    while (( $(date +%s) < deadline )); do
        if "$LABCTL" exec "$LAB" pc1 -- ping -c1 -W0.1 192.168.2.10 2>/dev/null | grep -q "ttl=$1 "; then
            return 0
        fi
    done
    return 1
}

reach 62 || die "pc1 does not reach pc2 after up"
: > "$TMP/down"; : > "$TMP/up"
for run in $(seq "$RUNS"); do
    start=$(now)
    "$LABCTL" link "$LAB" r1 r2 down >/dev/null || die "link down failed on cycle $run"
    reach 61 || die "no path round through r3 within 5 s on cycle $run"
    echo "$(now) - $start" | bc -l >> "$TMP/down"
    start=$(now)
    "$LABCTL" link "$LAB" r1 r2 up >/dev/null || die "link up failed on cycle $run"
    reach 62 || die "the direct path did not come back within 5 s on cycle $run"
    echo "$(now) - $start" | bc -l >> "$TMP/up"
done

report() {
    local name=$1 file=$2
    printf '  %-44s median %.3f s, worst %.3f s (target <= 1 s)\n' "$name" \
        "$(median < "$file")" "$(sort -g "$file" | tail -1)"
}
echo "bench-live: re-convergence on labs/triangle.yaml, $RUNS cycles (reachability measured from pc1 with ping)"
report "link r1 r2 down -> pc2 reached via r3" "$TMP/down"
report "link r1 r2 up -> pc2 reached directly again" "$TMP/up"
"$LABCTL" down "$LAB" >/dev/null

sed "s/^name: .*/name: $MAIL_LAB/" "$ROOT/labs/mail-com.yaml" > "$TMP/mail-com.yaml"
"$LABCTL" up "$TMP/mail-com.yaml" >/dev/null 2>"$TMP/up.log" || { cat "$TMP/up.log" >&2; die "up of mail-com failed"; }
: > "$TMP/apply"
for run in $(seq "$RUNS"); do
    sed -i "s/^          client2: .*/          client2: pw$run/" "$TMP/mail-com.yaml"
    start=$(now)
    "$LABCTL" apply "$MAIL_LAB" > "$TMP/apply.out" || die "apply failed on run $run"
    echo "$(now) - $start" | bc -l >> "$TMP/apply"
    grep -q "password of mail user client2 changed" "$TMP/apply.out" || { cat "$TMP/apply.out" >&2; die "apply did not change the password on run $run"; }
done
printf '  %-44s median %.3f s, worst %.3f s (target <= 0.1 s)\n' "apply of a mail password (whole command)" \
    "$(median < "$TMP/apply")" "$(sort -g "$TMP/apply" | tail -1)"
"$LABCTL" down "$MAIL_LAB" >/dev/null

cat > "$TMP/wire.yaml" <<EOF
name: $WIRE_LAB
nodes:
  a: {kind: host, interfaces: {eth0: 10.9.0.1/24}}
  b: {kind: host, interfaces: {eth0: 10.9.0.2/24}}
links:
  - [a, b]
EOF
"$LABCTL" up "$TMP/wire.yaml" >/dev/null 2>"$TMP/up.log" || { cat "$TMP/up.log" >&2; die "up of the two-host lab failed"; }
# Seconds to send 100 MB from a to b over TCP.
transfer() {
    "$LABCTL" exec "$WIRE_LAB" b -- sh -c 'timeout 30 nc -l -p 5001 > /dev/null' &
    local sink=$! deadline=$(( $(date +%s) + 5 ))
    until "$LABCTL" exec "$WIRE_LAB" b -- ss -ltn | grep -q ':5001 '; do
        (( $(date +%s) < deadline )) || die "the sink did not listen"
    done
    local start end
    start=$(now)
    "$LABCTL" exec "$WIRE_LAB" a -- sh -c 'head -c 100000000 /dev/zero | timeout 30 nc -N 10.9.0.2 5001' || die "the transfer failed"
    end=$(now)
    wait "$sink" || die "the sink failed"
    echo "$end - $start" | bc -l
}
: > "$TMP/clear"; : > "$TMP/carried"
for run in $(seq "$RUNS"); do
    "$LABCTL" link "$WIRE_LAB" a b --clear >/dev/null || die "link --clear failed"
    transfer >> "$TMP/clear"
    "$LABCTL" link "$WIRE_LAB" a b --loss 0.001% > "$TMP/link.out" || die "link --loss failed"
    transfer >> "$TMP/carried"
done
how="the kernel's netem"
grep -q "lab daemon carries" "$TMP/link.out" && how="the daemon's wire (no netem)"
clear=$(median < "$TMP/clear"); carried=$(median < "$TMP/carried")
printf '  %-44s clear %.0f Mbit/s, impaired %.0f Mbit/s (%.0f %% of the clear cable)\n' \
    "100 MB over TCP, $how" "$(echo "800 / $clear" | bc -l)" "$(echo "800 / $carried" | bc -l)" \
    "$(echo "100 * $clear / $carried" | bc -l)"
"$LABCTL" link "$WIRE_LAB" a b --delay 10ms >/dev/null || die "link --delay failed"
"$LABCTL" exec "$WIRE_LAB" a -- ping -c50 -i0.02 10.9.0.2 | sed -n 's/.*time=\([0-9.]*\) ms/\1/p' | tail -n +2 > "$TMP/rtt"
printf '  %-44s median %.3f ms over the 20 ms asked, worst %.3f ms\n' "round trip with --delay 10ms" \
    "$(echo "$(median < "$TMP/rtt") - 20" | bc -l)" "$(echo "$(sort -g "$TMP/rtt" | tail -1) - 20" | bc -l)"
"$LABCTL" down "$WIRE_LAB" >/dev/null
