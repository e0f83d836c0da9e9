#!/usr/bin/env bash
# bench/rootless.sh — `labctl up`/`down` of the same lab as root and rootless,
# in the same run (as root: the rootless half runs as the system user
# labctl-test, made if missing, through setpriv, with a runtime dir of its own).
#
# The lab is bench/run.sh's (SIZE hosts on 10 switches behind 2 routers,
# static addresses). Each mode is measured BENCH_RUNS times (default 3),
# alternating, and the medians are printed with the rootless/root ratios.
# Everything happens in namespaces labctl makes; on exit (normal, error,
# Ctrl-C) the labs this script started are taken down and its files removed.
#
# Environment:
#   LABCTL=PATH      the binary to measure (default target/release/labctl, built)
#   BENCH_SIZE=N     hosts (default 1000)
#   BENCH_RUNS=N     measurements per mode (default 3)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SIZE=${BENCH_SIZE:-1000}
RUNS=${BENCH_RUNS:-3}
USER_NAME=labctl-test
LAB=bench-rootless-$$
TMP=""
say() { printf '%s\n' "$*" >&2; }
die() { say "bench-rootless: error: $*"; exit 1; }

[[ $(id -u) == 0 ]] || die "run as root (it measures root mode, and runs the rootless half as $USER_NAME)"
if [[ -z ${LABCTL:-} ]]; then
    (cd "$ROOT" && cargo build --release --locked --quiet) || die "cannot build labctl"
    LABCTL=$ROOT/target/release/labctl
fi
id -u "$USER_NAME" >/dev/null 2>&1 \
    || useradd --system --no-create-home --shell /usr/sbin/nologin "$USER_NAME" \
    || die "cannot create the user $USER_NAME"

TMP=$(mktemp -d /tmp/labctl-bench-rootless.XXXXXX)
chmod 755 "$TMP"
RUNTIME=$TMP/runtime
mkdir -m 700 "$RUNTIME"
chown "$USER_NAME:" "$RUNTIME"
as_user() {
    setpriv --reuid="$USER_NAME" --regid="$(id -g "$USER_NAME")" --init-groups -- \
        env -i PATH="$PATH" HOME="$RUNTIME" XDG_RUNTIME_DIR="$RUNTIME" "$LABCTL" "$@"
}
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    "$LABCTL" down "$LAB" >/dev/null 2>&1 || true
    as_user down "$LAB" >/dev/null 2>&1 || true
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'say "bench-rootless: interrupted"; exit 130' INT
trap 'say "bench-rootless: terminated"; exit 143' TERM

bash "$ROOT/bench/run.sh" --print-lab "$SIZE" >"$TMP/lab.yaml"
chmod 644 "$TMP/lab.yaml"

now() { printf '%s' "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

declare -A TIMES
measure() {         # MODE RUN
    local mode=$1 run=$2 t0 t1 t2 run_labctl=("$LABCTL")
    [[ $mode == rootless ]] && run_labctl=(as_user)
    say "== $SIZE hosts, $mode, run $run/$RUNS"
    t0=$(now)
    "${run_labctl[@]}" up "$TMP/lab.yaml" --name "$LAB" >"$TMP/up.out" 2>&1 \
        || { cat "$TMP/up.out" >&2; die "$mode up failed"; }
    t1=$(now)
    "${run_labctl[@]}" down "$LAB" >"$TMP/down.out" 2>&1 \
        || { cat "$TMP/down.out" >&2; die "$mode down failed"; }
    t2=$(now)
    TIMES[$mode.up]+=" $(elapsed "$t0" "$t1")"
    TIMES[$mode.down]+=" $(elapsed "$t1" "$t2")"
}

for (( run = 1; run <= RUNS; run++ )); do
    measure root "$run"
    measure rootless "$run"
done
# Nothing of the rootless lab may be left: no process of the user, no file.
alive() { ps -u "$USER_NAME" -o stat= | grep -vc '^Z' || true; }   # zombies wait for init to reap them
for (( i = 0; i < 50; i++ )); do left=$(alive); [[ $left == 0 ]] && break; sleep 0.1; done
[[ $left == 0 ]] || die "$left processes of $USER_NAME are left after down"
[[ -z $(ls -A "$RUNTIME/labctl" 2>/dev/null) ]] || die "files are left in $RUNTIME/labctl"

ru=$(median "${TIMES[root.up]}") rd=$(median "${TIMES[root.down]}")
lu=$(median "${TIMES[rootless.up]}") ld=$(median "${TIMES[rootless.down]}")
printf '%-10s %10s %10s\n' "$SIZE hosts" "up (s)" "down (s)"
printf '%-10s %10s %10s\n' root "$ru" "$rd"
printf '%-10s %10s %10s\n' rootless "$lu" "$ld"
printf '%-10s %10s %10s\n' "ratio" "$(ratio "$lu" "$ru")x" "$(ratio "$ld" "$rd")x"
say "(medians of $RUNS runs each, alternating; $(basename "$LABCTL") at $LABCTL)"
