#!/usr/bin/env bash
# tests/labs-test.sh — `make labs-test`: every course lab, end to end (root).
#
# What it is for: the labs under labs/ are what instructors teach from and
# the examples/ are what students start from, so each must really work:
#   1. every labs/NAME.yaml passes its own checks (`labctl test`);
#   2. every examples/NAME/checks.yaml (the instructor's rubric) gives
#      labs/NAME.yaml full marks, and its JUnit report is written;
#   3. every examples/NAME/starter.yaml is a valid lab file;
#   4. examples/broken/ fails as documented: exit 1, and the report says
#      what is broken (the lines in examples/broken/expected.txt).
# Each `labctl test` builds the lab fresh and always tears it down. The labs
# run under their own names (`name:` in each file), so this refuses to
# start while one of them is already up. Prints `N passed, N failed`.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LABCTL=${LABCTL:-$ROOT/target/release/labctl}
OUT=$(mktemp -d /tmp/labctl-labs-test.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
passed=0
failed=0

ok() { passed=$((passed + 1)); echo "ok    $*"; }
fail() { failed=$((failed + 1)); echo "FAIL  $*"; }

# Runs labctl; on an unexpected exit code shows its output.
expect() {          # EXIT-CODE DESCRIPTION LOG -- labctl ARGS...
    local want=$1 what=$2 log=$3
    shift 4
    "$LABCTL" "$@" >"$log" 2>&1
    local got=$?
    if [[ $got == "$want" ]]; then
        ok "$what"
    else
        fail "$what: exit $got, expected $want"
        sed 's/^/      /' "$log"
    fi
    return $(( got != want ))
}

running=$("$LABCTL" status --json 2>/dev/null | python3 -c 'import json,sys; print(" ".join(l["name"] for l in json.load(sys.stdin)["labs"]))')
for lab in "$ROOT"/labs/*.yaml; do
    name=$(basename "$lab" .yaml)
    if [[ " $running " == *" $name "* ]]; then
        echo "error: lab $name is up; take it down first (labctl down $name)" >&2
        exit 2
    fi
done

for lab in "$ROOT"/labs/*.yaml; do
    name=$(basename "$lab" .yaml)
    [[ $name == two-routers ]] && continue     # no services, no checks: the engine demo
    expect 0 "labs/$name.yaml passes its checks" "$OUT/$name.log" -- test "$lab"
done

for rubric in "$ROOT"/examples/*/checks.yaml; do
    dir=$(dirname "$rubric")
    name=$(basename "$dir")
    [[ $name == broken ]] && continue
    if expect 0 "examples/$name/checks.yaml gives labs/$name.yaml full marks" "$OUT/$name.rubric.log" \
        -- test "$ROOT/labs/$name.yaml" --checks "$rubric" --junit "$OUT/$name.xml"; then
        if python3 -c 'import sys, xml.etree.ElementTree as t; r=t.parse(sys.argv[1]).getroot(); sys.exit(0 if r.iter("testcase") else 1)' "$OUT/$name.xml"; then
            ok "examples/$name: JUnit report written"
        else
            fail "examples/$name: no JUnit report"
        fi
    fi
    expect 0 "examples/$name/starter.yaml is a valid lab" "$OUT/$name.starter.log" \
        -- validate "$dir/starter.yaml"
done

broken=$ROOT/examples/broken
if expect 1 "examples/broken fails its checks (exit 1)" "$OUT/broken.log" \
    -- test "$broken/lab.yaml" --checks "$broken/checks.yaml"; then
    while IFS= read -r line; do
        [[ -z $line || $line == \#* ]] && continue
        if grep -qF -- "$line" "$OUT/broken.log"; then
            ok "examples/broken report says: $line"
        else
            fail "examples/broken report lacks: $line"
            sed 's/^/      /' "$OUT/broken.log"
        fi
    done <"$broken/expected.txt"
fi

echo
echo "labs-test: $passed passed, $failed failed"
(( failed == 0 ))
