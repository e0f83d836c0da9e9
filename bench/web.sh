#!/usr/bin/env bash
# bench/web.sh — `labctl web` benchmark (`make bench`, as root).
#
# 1. MasterTech: from `labctl web LAB` starting to its URL printed, to
#    /api/status answering, and to the topology drawn in headless Chromium
#    (started beforehand, so its own start-up is not counted; target <= 1 s),
#    BENCH_RUNS times, medians.
# 2. The 200-host lab of bench/run.sh under a bounded load: BENCH_PAIRS
#    pings (one every 2 ms, BENCH_SECONDS seconds) between hosts behind
#    different routers, while one reader follows /api/events. Reported:
#    frames captured, events made, events/s delivered to the page,
#    dropped-for-display and lagged counts (as the page shows them), and
#    labctl web's CPU over the load (utime+stime from /proc/PID/stat).
# Figures only: a miss is a result, not a failure; the script exits
# non-zero only when something broke. All traffic is between the lab's own
# namespaces and 127.0.0.1; labs are taken down on every exit path.
#
# Environment: LABCTL=PATH, BENCH_RUNS (5), BENCH_PAIRS (4), BENCH_SECONDS (10).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNS=${BENCH_RUNS:-5}
PAIRS=${BENCH_PAIRS:-4}
SECONDS_LOAD=${BENCH_SECONDS:-10}
SMALL_LAB="bench-webmt-$$"
BIG_LAB="bench-web200-$$"
TMP=""
WEB_PID=""

say() { printf '%s\n' "$*" >&2; }
die() { say "bench-web: error: $*"; exit 1; }

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    [[ -n $WEB_PID ]] && kill "$WEB_PID" 2>/dev/null || true
    jobs -p | xargs -r kill 2>/dev/null || true
    for lab in "$SMALL_LAB" "$BIG_LAB"; do
        if [[ -n ${LABCTL:-} && -e ${LABCTL_RUN_DIR:-/run/labctl}/$lab ]]; then
            "$LABCTL" down "$lab" >/dev/null 2>&1 || say "bench-web: warning: could not take down lab $lab"
        fi
    done
    [[ -n $TMP ]] && rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'say "bench-web: interrupted"; exit 130' INT
trap 'say "bench-web: terminated"; exit 143' TERM

[[ $(id -u) == 0 ]] || die "run as root (labs are built as root here)"
for tool in python3 chromium chromedriver; do command -v $tool >/dev/null || die "$tool is missing (make deps installs it)"; done
if [[ -z ${LABCTL:-} ]]; then
    (cd "$ROOT" && cargo build --release --locked -q) || die "cargo build failed"
    LABCTL=$ROOT/target/release/labctl
fi
TMP=$(mktemp -d /tmp/labctl-bench-web.XXXXXX)

# ---------------------------------------------------------------- 1. start to drawn, MasterTech
sed "s/^name: .*/name: $SMALL_LAB/" "$ROOT/labs/mastertech.yaml" > "$TMP/mastertech.yaml"
"$LABCTL" up "$TMP/mastertech.yaml" >/dev/null 2>"$TMP/up.err" || { cat "$TMP/up.err" >&2; die "MasterTech did not come up"; }
{ cat "$ROOT/tests/common/webdriver.py"; cat <<'PY'
import statistics, sys, urllib.request
labctl, lab, runs, profile = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
took = {"url": [], "api": [], "drawn": []}
with Browser(profile) as b:
    for _ in range(runs):
        b.go("about:blank")
        start = time.monotonic()
        web = subprocess.Popen([labctl, "web", lab, "--listen", "127.0.0.1:0"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            url = next(w for w in web.stdout.readline().split() if w.startswith("http://"))
            took["url"].append(time.monotonic() - start)
            while True:
                try:
                    with urllib.request.urlopen(url + "api/status", timeout=5) as r:
                        if r.status == 200:
                            r.read(); break
                except OSError:
                    time.sleep(0.005)
            took["api"].append(time.monotonic() - start)
            b.go(url)
            while not b.run("return !!(window.labview && labview.cy && labview.cy.nodes('.device').length > 0)"):
                time.sleep(0.01)
            took["drawn"].append(time.monotonic() - start)
        finally:
            web.terminate(); web.wait()
med = {k: statistics.median(v) for k, v in took.items()}
print(f"labctl web {lab} (14 nodes), median of {runs}: URL printed {med['url']:.3f} s, "
      f"/api/status answered {med['api']:.3f} s, topology drawn in Chromium {med['drawn']:.3f} s (target <= 1 s)")
PY
} > "$TMP/start.py"
python3 "$TMP/start.py" "$LABCTL" "$SMALL_LAB" "$RUNS" "$TMP/chromium" || die "the start-up measurement failed"
"$LABCTL" down "$SMALL_LAB" >/dev/null

# ---------------------------------------------------------------- 2. 200 hosts under pings
bash "$ROOT/bench/run.sh" --print-lab 200 | sed "s/^name: .*/name: $BIG_LAB/" > "$TMP/big.yaml"
"$LABCTL" up "$TMP/big.yaml" >/dev/null 2>"$TMP/up.err" || { cat "$TMP/up.err" >&2; die "the 200-host lab did not come up"; }
"$LABCTL" web "$BIG_LAB" --listen 127.0.0.1:0 >"$TMP/web.out" 2>"$TMP/web.err" &
WEB_PID=$!
for _ in $(seq 100); do grep -q http:// "$TMP/web.out" && break; sleep 0.1; done
URL=$(grep -o 'http://[^ ]*' "$TMP/web.out") || { cat "$TMP/web.err" >&2; die "labctl web printed no URL"; }
cpu() { awk '{print $14 + $15}' "/proc/$WEB_PID/stat"; }
python3 - "$URL" "$(( SECONDS_LOAD + 2 ))" > "$TMP/stream.out" <<'PY' &
import json, sys, time, urllib.request
url, seconds = sys.argv[1], float(sys.argv[2])
pdus, counts = 0, {}
deadline = time.monotonic() + seconds
with urllib.request.urlopen(url + "api/events", timeout=seconds + 5) as stream:
    kind = None
    for raw in stream:
        line = raw.decode().rstrip("\n")
        if line.startswith("event: "):
            kind = line[7:]
        elif line.startswith("data: ") and kind == "counts":
            counts = json.loads(line[6:])
        elif line.startswith("data: ") and kind == "pdu":
            pdus += 1
        if time.monotonic() > deadline:
            break
print(json.dumps({"pdus": pdus, "counts": counts}))
PY
reader=$!
sleep 1
cpu_before=$(cpu); t0=$(date +%s.%N)
# Host p (behind r1) pings host p+5 (behind r2): every echo crosses both routers.
for p in $(seq 1 "$PAIRS"); do
    ip netns exec "$BIG_LAB.$(printf h%04d "$p")" ping -q -i 0.002 -w "$SECONDS_LOAD" "10.$(( p + 5 )).0.2" >/dev/null 2>&1 &
done
sleep "$SECONDS_LOAD"
cpu_after=$(cpu); t1=$(date +%s.%N)
wait "$reader" || die "the event reader failed"
kill "$WEB_PID"; wait "$WEB_PID" 2>/dev/null || true; WEB_PID=""
wait || true
python3 - "$TMP/stream.out" "$(( cpu_after - cpu_before ))" "$(getconf CLK_TCK)" "$(echo "$t1 - $t0" | bc -l)" "$PAIRS" "$SECONDS_LOAD" <<'PY'
import json, sys
got = json.load(open(sys.argv[1]))
ticks, hz, wall, pairs, load = int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5], sys.argv[6]
c = got["counts"]
print(f"200 hosts, {pairs} pings every 2 ms for {load} s, one page reading /api/events:")
print(f"  frames captured {c.get('frames', 0)}, not decoded {c.get('frames_dropped', 0)}; events {c.get('events', 0)}, "
      f"delivered {c.get('delivered', 0)}, dropped for display {c.get('dropped_for_display', 0)}, lagged {c.get('lagged', 0)}")
print(f"  the page got {got['pdus']} events ({got['pdus'] / (float(load) + 2):.0f}/s; budget {c.get('per_second')}/s, burst {c.get('burst')})")
print(f"  labctl web CPU over the load: {ticks / hz:.2f} s in {wall:.1f} s ({100 * ticks / hz / wall:.0f}% of one core)")
PY
"$LABCTL" down "$BIG_LAB" >/dev/null
