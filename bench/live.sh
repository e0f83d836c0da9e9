#!/usr/bin/env bash
# bench/live.sh — re-convergence benchmark (`make bench`, as root).
#
# On labs/triangle.yaml (three routers with routing: auto, a LAN on each):
# cut the cable r1–r2 with `labctl link` and time until pc1 reaches pc2
# again (round through r3), then restore it and time until the direct path
# is back (TTL 62 again). Target: at most 1 s each. Then on labs/mail-com.yaml:
# `labctl apply` of a mail password change, the command's whole time
# (target: at most 100 ms). BENCH_RUNS cycles each (default 5); medians and
# the worst are printed. A miss is a result, not a failure: the script
# exits non-zero only when something broke.
#
# Everything happens inside the labs' own namespaces (labs bench-live-PID
# and bench-apply-PID); on exit — normal, error, Ctrl-C — they are taken down.
#
# Environment:
#   LABCTL=PATH     benchmark this binary (default target/release/labctl, built)
#   BENCH_RUNS=N    cycles (default 5)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNS=${BENCH_RUNS:-5}
LAB="bench-live-$$"
MAIL_LAB="bench-apply-$$"
TMP=""

say() { printf '%s\n' "$*" >&2; }
die() { say "bench-live: error: $*"; exit 1; }

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    for lab in "$LAB" "$MAIL_LAB"; do
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
