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
#   5. two copies of one lab graded side by side under other names (--name);
#   6. rootless: MasterTech graded by its rubric as an ordinary user (the
#      system user labctl-test, made if missing), leaving nothing behind.
# Each `labctl test` builds the lab fresh and always tears it down, under a
# name of its own (`--name lt$$-NAME`), so a lab of the same name that a
# user has up is left alone. Prints `N passed, N failed`.
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

unique() { echo "lt$$-$1"; }    # a lab name no one else uses

for lab in "$ROOT"/labs/*.yaml; do
    name=$(basename "$lab" .yaml)
    expect 0 "labs/$name.yaml passes its checks" "$OUT/$name.log" -- test "$lab" --name "$(unique "$name")"
done

for rubric in "$ROOT"/examples/*/checks.yaml; do
    dir=$(dirname "$rubric")
    name=$(basename "$dir")
    [[ $name == broken ]] && continue
    if expect 0 "examples/$name/checks.yaml gives labs/$name.yaml full marks" "$OUT/$name.rubric.log" \
        -- test "$ROOT/labs/$name.yaml" --name "$(unique "$name")" --checks "$rubric" --junit "$OUT/$name.xml"; then
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
    -- test "$broken/lab.yaml" --name "$(unique broken)" --checks "$broken/checks.yaml"; then
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

# Two submissions with the same `name:` graded at once, as a CI job grading
# a folder of students' files does.
"$LABCTL" test "$ROOT/labs/cbrc-challenge.yaml" --name "$(unique copy-a)" >"$OUT/copy-a.log" 2>&1 &
copy_a=$!
expect 0 "a second copy of labs/cbrc-challenge.yaml at the same time" "$OUT/copy-b.log" \
    -- test "$ROOT/labs/cbrc-challenge.yaml" --name "$(unique copy-b)"
if wait "$copy_a"; then
    ok "the first copy of labs/cbrc-challenge.yaml at the same time"
else
    fail "the first copy of labs/cbrc-challenge.yaml at the same time"
    sed 's/^/      /' "$OUT/copy-a.log"
fi

# Rootless: the same grading as an ordinary user, in a runtime dir of its own.
if id -u labctl-test >/dev/null 2>&1 \
    || useradd --system --no-create-home --shell /usr/sbin/nologin labctl-test; then
    RUNTIME=$(mktemp -d /tmp/labctl-labs-test-rootless.XXXXXX)
    chown labctl-test: "$RUNTIME"
    as_user() {
        setpriv --reuid=labctl-test --regid="$(id -g labctl-test)" --init-groups -- \
            env -i PATH="$PATH" HOME="$RUNTIME" XDG_RUNTIME_DIR="$RUNTIME" "$LABCTL" "$@"
    }
    if as_user test "$ROOT/labs/mastertech.yaml" --name "$(unique rootless)" \
        --checks "$ROOT/examples/mastertech/checks.yaml" >"$OUT/rootless.log" 2>&1; then
        ok "rootless: examples/mastertech/checks.yaml gives labs/mastertech.yaml full marks"
    else
        fail "rootless: examples/mastertech/checks.yaml as labctl-test"
        sed 's/^/      /' "$OUT/rootless.log"
    fi
    for (( i = 0; i < 50; i++ )); do    # zombies wait for init to reap them
        left=$(ps -u labctl-test -o stat=,args= | grep -v '^Z')
        [[ -z $left ]] && break
        sleep 0.1
    done
    if [[ -z $left && -z $(ls -A "$RUNTIME/labctl" 2>/dev/null) ]]; then
        ok "rootless: nothing left behind (no process of labctl-test, no file)"
    else
        fail "rootless: left behind: ${left:-} $(ls -A "$RUNTIME/labctl" 2>/dev/null)"
    fi
    rm -rf "$RUNTIME"
else
    fail "rootless: cannot create the user labctl-test"
fi

echo
echo "labs-test: $passed passed, $failed failed"
(( failed == 0 ))
