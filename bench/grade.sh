#!/usr/bin/env bash
# bench/grade.sh — grading a class with `labctl grade` (`make bench`, as root).
#
# Generates BENCH_CLASS (default 200) MasterTech submissions into a temp dir
# — half the solution (labs/mastertech.yaml), half with one of three student
# mistakes: the MX record of mt.com missing, www.mastertech.com pointing at
# the mail server, Bob's mail client with the wrong password — and grades
# them with the course rubric (examples/mastertech/checks.yaml):
#   1. the whole class, mixed;
#   2. BENCH_SAMPLE (default 40) correct submissions only;
#   3. BENCH_SAMPLE broken submissions only;
# and prints submissions per minute for each, and what a broken submission
# costs against a correct one. Targets (issue 12): >= 300 per minute on 2
# cores; a broken submission at most 2x a correct one. A miss is a result,
# not a failure: the script exits non-zero only when something broke (a
# correct submission did not score full marks, a broken one did, a
# submission could not be graded, a lab stayed up).
#
# Everything runs inside the labs' own namespaces (labs bg-PID-…). On exit
# — normal, error, Ctrl-C, SIGTERM — a running `labctl grade` is stopped
# (it tears its labs down), any of this run's labs still up is taken down,
# and the temp dir is removed.
#
# Environment:
#   LABCTL=PATH       benchmark this binary (default target/release/labctl, built)
#   BENCH_CLASS=N     submissions in the mixed class (default 200)
#   BENCH_SAMPLE=N    submissions in the correct-only and broken-only runs (default 40)
#   BENCH_JOBS=N      `--jobs` (default: labctl's, the number of cores)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CLASS=${BENCH_CLASS:-200}
SAMPLE=${BENCH_SAMPLE:-40}
JOBS=${BENCH_JOBS:-}
TARGET_PER_MIN=300
TARGET_BROKEN_RATIO=2
PREFIX="bg-$$"
RUN_DIR=${LABCTL_RUN_DIR:-/run/labctl}
TMP=""
GRADING=""

say() { printf '%s\n' "$*" >&2; }
die() { say "bench-grade: error: $*"; exit 1; }

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -n $GRADING ]] && kill -0 "$GRADING" 2>/dev/null; then
        kill -TERM "$GRADING" 2>/dev/null || true
        wait "$GRADING" 2>/dev/null || true
    fi
    local lab
    for lab in "$RUN_DIR/$PREFIX"-*; do
        [[ -e $lab ]] || continue
        "$LABCTL" down "$(basename "$lab")" >/dev/null 2>&1 \
            || say "bench-grade: warning: could not take down lab $(basename "$lab")"
    done
    [[ -n $TMP ]] && rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'say "bench-grade: interrupted"; exit 130' INT
trap 'say "bench-grade: terminated"; exit 143' TERM

[[ $(id -u) == 0 ]] || die "run as root (labctl grade builds namespaces)"
for n in "$CLASS" "$SAMPLE"; do
    [[ $n =~ ^[0-9]+$ && $n -ge 2 ]] || die "BENCH_CLASS and BENCH_SAMPLE must be numbers >= 2, not '$n'"
done
[[ -z $JOBS || $JOBS =~ ^[0-9]+$ ]] || die "BENCH_JOBS must be a number, not '$JOBS'"
command -v python3 >/dev/null || die "python3 is missing (it reads the JSON report)"
if [[ -z ${LABCTL:-} ]]; then
    (cd "$ROOT" && cargo build --release --locked -q) || die "cargo build failed"
    LABCTL=$ROOT/target/release/labctl
fi

SOLUTION=$ROOT/labs/mastertech.yaml
RUBRIC=$ROOT/examples/mastertech/checks.yaml
TMP=$(mktemp -d /tmp/labctl-bench-grade.XXXXXX)

# broken KIND < solution > submission: one student mistake.
broken() {
    case $1 in
        0) sed '/"@": {MX: 10 mail.mt.com.}/d' ;;
        1) sed 's/^            www: {A: web}$/            www: {A: mail}/' ;;
        2) sed '/^  mgmt-pc1:$/,/^  mgmt-pc2:/s/password: secret/password: sekret/' ;;
    esac
}

# class DIR CORRECT BROKEN: a folder of submissions, correct ones first.
class() {
    local dir=$1 correct=$2 wrong=$3 i
    mkdir -p "$dir"
    for ((i = 0; i < correct; i++)); do
        cp "$SOLUTION" "$dir/$PREFIX-c$i.yaml"
    done
    for ((i = 0; i < wrong; i++)); do
        broken $((i % 3)) < "$SOLUTION" > "$dir/$PREFIX-b$i.yaml"
        cmp -s "$SOLUTION" "$dir/$PREFIX-b$i.yaml" && die "broken variant $((i % 3)) did not change the lab"
    done
    return 0
}

now() { date +%s.%N; }

# grade NAME DIR: grades the folder, checks the verdicts, and writes
# "SUBMISSIONS SECONDS" to $TMP/NAME.result.
grade() {
    local name=$1 dir=$2 start end
    start=$(now)
    "$LABCTL" grade "$dir" --checks "$RUBRIC" ${JOBS:+--jobs "$JOBS"} \
        --json "$TMP/$name.json" > "$TMP/$name.table" 2> "$TMP/$name.log" &
    GRADING=$!
    local rc=0
    wait "$GRADING" || rc=$?
    GRADING=""
    end=$(now)
    if [[ $rc != 0 ]]; then
        cat "$TMP/$name.table" "$TMP/$name.log" >&2
        die "labctl grade exited $rc for the $name class"
    fi
    python3 - "$TMP/$name.json" "$name" <<'PY' || die "wrong verdicts in the $name class"
import json, sys
rows = json.load(open(sys.argv[1]))["rows"]
bad = [r["student"] for r in rows
       if not r["graded"] or (r["student"].split("-")[-1].startswith("c")) != (r["points"] == r["max_points"])]
if bad:
    print(f"bench-grade: {sys.argv[2]}: wrong or missing verdict for {', '.join(bad[:5])}", file=sys.stderr)
    sys.exit(1)
PY
    local count
    count=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["rows"]))' "$TMP/$name.json")
    echo "$count $(echo "$end - $start" | bc -l)" > "$TMP/$name.result"
}

class "$TMP/mixed" $((CLASS / 2)) $((CLASS - CLASS / 2))
class "$TMP/correct" "$SAMPLE" 0
class "$TMP/broken" 0 "$SAMPLE"

grade mixed "$TMP/mixed"
grade correct "$TMP/correct"
grade broken "$TMP/broken"
read -r mixed_n mixed_s < "$TMP/mixed.result"
read -r correct_n correct_s < "$TMP/correct.result"
read -r broken_n broken_s < "$TMP/broken.result"

per_min() { echo "$1 * 60 / $2" | bc -l; }
mixed_rate=$(per_min "$mixed_n" "$mixed_s")
correct_rate=$(per_min "$correct_n" "$correct_s")
broken_rate=$(per_min "$broken_n" "$broken_s")
cost=$(echo "$correct_rate / $broken_rate" | bc -l)
pass() { [[ $(echo "$1" | bc -l) == 1 ]] && echo PASS || echo MISS; }

printf '\nlabctl grade of MasterTech submissions (%s checks, jobs %s, %s cores):\n' \
    "$(grep -c '^  - ' "$RUBRIC")" "${JOBS:-default}" "$(nproc)"
printf '  %-34s %4s in %7.2f s  %6.0f per minute   target >= %s: %s\n' \
    "mixed class (half broken)" "$mixed_n" "$mixed_s" "$mixed_rate" "$TARGET_PER_MIN" "$(pass "$mixed_rate >= $TARGET_PER_MIN")"
printf '  %-34s %4s in %7.2f s  %6.0f per minute\n' "correct only" "$correct_n" "$correct_s" "$correct_rate"
printf '  %-34s %4s in %7.2f s  %6.0f per minute\n' "broken only (3 mistakes)" "$broken_n" "$broken_s" "$broken_rate"
printf '  %-34s %6.2f x   target <= %s: %s\n' "a broken one costs a correct one's" "$cost" \
    "$TARGET_BROKEN_RATIO" "$(pass "$cost <= $TARGET_BROKEN_RATIO")"
printf '  load average: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
