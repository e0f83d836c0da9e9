#!/usr/bin/env bash
# bench/run.sh — labctl performance benchmark (`make bench`, as root).
#
# For each size (100, 500 and 1000 hosts by default; 10 switches — one per
# 100 hosts above 1000, so 10,000 hosts have 100 — and 2 routers with
# `routing: auto`, static addresses, a gateway on every host) it:
#   1. generates a lab file bench-SIZE.yaml in a temp dir;
#   2. times `labctl up` and `labctl down` (wall clock) and measures the peak
#      memory of every labctl process: max RSS of `up` (GNU time) plus the
#      lab daemon's VmHWM (read from /proc while the lab is up);
#   3. builds the same topology with iproute2 alone — the "kernel floor",
#      see floor_up below for exactly how — and times that too;
#   4. checks that both builds gave the same addresses, routes, bridge ports,
#      interfaces up and forwarding on a sample of nodes (like for like).
# Each size is measured BENCH_RUNS times (default 3); the table shows the
# median times and the largest memory. It prints PASS/MISS against the targets
# of the performance issue: a miss is a result, not a failure. The script exits
# non-zero only when something broke (a build failed, the topologies differ…).
#
# Everything happens inside namespaces this script creates (labs bench-SIZE,
# namespaces LAB.NODE; floor namespaces lcfloor-SIZE.NODE): nothing is added to
# the host namespace and no packet is sent. On exit — normal, error, Ctrl-C or
# SIGTERM — it takes down the labs it brought up and deletes the lcfloor-*
# namespaces it created, and nothing else; it refuses to start if one of its
# names is already taken.
#
# Environment:
#   LABCTL=PATH        benchmark this binary instead of building target/release/labctl
#   BENCH_SIZES="..."  host counts (default "100 500 1000")
#   BENCH_RUNS=N       measurements per size (default 3)
#   BENCH_KEEP=1       keep the temp dir (lab files, floor batches, logs)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SIZES=${BENCH_SIZES:-"100 500 1000"}
RUNS=${BENCH_RUNS:-3}
SWITCHES=10       # switch S (1..SWITCHES) is swS on 10.S.0.0/16, its router at 10.S.0.1
HALF=5            # r1 serves switches 1..HALF, r2 the rest; r1–r2 on 10.0.0.0/30
# The switch count of a lab of SIZE hosts: 10, or one per 100 hosts.
size_switches() { SWITCHES=$(( $1 > 1000 ? $1 / 100 : 10 )); HALF=$(( SWITCHES / 2 )); }
RUN_DIR=${LABCTL_RUN_DIR:-/run/labctl}

# Targets from the performance issues: up <= 10 s, down <= 3 s and memory
# < 100 MB up to 1000 hosts; up <= 40 s, down <= 10 s and memory <= 150 MB
# for 10,000. up within 2x the floor, down within 1.5x, at every size.
TARGET_UP_RATIO=2
TARGET_DOWN_RATIO=1.5
targets() {         # SIZE: sets TARGET_UP_S, TARGET_DOWN_S, TARGET_MB
    if (( $1 > 1000 )); then TARGET_UP_S=40 TARGET_DOWN_S=10 TARGET_MB=150
    else TARGET_UP_S=10 TARGET_DOWN_S=3 TARGET_MB=100; fi
}

STARTED_LABS=()        # labs this run brought up: taken down on exit
OTHERS_SEEN=""         # other labs seen running during a measurement (noise)
FLOOR_NAMESPACES=()    # floor namespaces this run is creating: deleted on exit
TMP=""

say() { printf '%s\n' "$*" >&2; }
die() { say "bench: error: $*"; exit 1; }

# ---------------------------------------------------------------- cleanup

delete_floor() {
    local ns batch=""
    for ns in "${FLOOR_NAMESPACES[@]}"; do
        if [[ -e /run/netns/$ns ]]; then batch+="netns delete $ns"$'\n'; fi
    done
    if [[ -n $batch ]]; then printf '%s' "$batch" | ip -batch - >/dev/null; fi
    FLOOR_NAMESPACES=()
}

cleanup() {
    local rc=$? lab
    trap - EXIT INT TERM
    for lab in "${STARTED_LABS[@]}"; do
        "$LABCTL" down "$lab" >/dev/null 2>&1 || say "bench: warning: could not take down lab $lab"
    done
    delete_floor || say "bench: warning: could not delete every lcfloor namespace"
    if [[ -n $TMP ]]; then
        if [[ ${BENCH_KEEP:-0} == 1 ]]; then say "bench: files kept in $TMP"; else rm -rf "$TMP"; fi
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'say "bench: interrupted"; exit 130' INT
trap 'say "bench: terminated"; exit 143' TERM

# ---------------------------------------------------------------- set-up

[[ $(id -u) == 0 ]] || die "run as root (labctl up and ip netns need CAP_SYS_ADMIN)"
command -v ip >/dev/null || die "iproute2 (ip) is missing"
command -v nsenter >/dev/null || die "nsenter (util-linux) is missing"
if [[ ! -x /usr/bin/time ]]; then
    say "bench: installing GNU time (package time) to measure max RSS"
    bash "$ROOT/tools/bootstrap.sh" packages time || die "cannot install time"
fi
if [[ -z ${LABCTL:-} ]]; then
    (cd "$ROOT" && cargo build --release --quiet) || die "cargo build --release failed"
    LABCTL=$ROOT/target/release/labctl
fi
[[ -x $LABCTL ]] || die "$LABCTL is not an executable"
TMP=$(mktemp -d /tmp/labctl-bench.XXXXXX)

now() { printf '%s' "$EPOCHREALTIME"; }          # seconds, µs precision, no fork
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
# Of a space-separated list of numbers:
median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
maximum() { tr ' ' '\n' <<<"$1" | grep . | sort -g | tail -n1; }
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }          # kB -> MB

# Network namespaces the kernel holds, live or still being freed (slab
# objects; per-CPU caches keep it a little above the truth). Empty if hidden.
netns_objects() { awk '$1 == "net_namespace" { print $2 }' /proc/slabinfo 2>/dev/null || true; }
BASELINE_NETNS=$(netns_objects)

# Deleting a namespace only unpins it: the kernel frees it and its interfaces
# later, in a work queue. Wait for that before the next measurement so that
# one build is not slowed down by the previous one's cleanup: until the count
# is back to where it started, or has not moved for 1 s. Prints roughly how
# long the kernel went on freeing.
settle() {
    local start changed count last=""
    start=$(now); changed=$start
    if [[ -z $BASELINE_NETNS ]]; then sleep 3; elapsed "$start" "$(now)"; return; fi
    for _ in $(seq 1200); do                              # at most ~2 minutes
        count=$(netns_objects)
        [[ $count != "$last" ]] && changed=$(now)
        (( count <= BASELINE_NETNS )) && break
        awk -v a="$changed" -v b="$(now)" 'BEGIN { exit !(b - a > 1) }' && break
        last=$count
        sleep 0.1
    done
    elapsed "$start" "$changed"
}

# ---------------------------------------------------------------- topology
# One description drives both builds. Host i (1-based) is hNNNN, on switch
# S = (i-1) % 10 + 1, with address 10.S.0.0 + ((i-1)/10 + 2) in a /16 and
# gateway 10.S.0.1. Switch S hangs off router r1 (S <= 5, port ethS) or r2
# (port eth(S-5)). routing: auto gives each router a route to the other's five
# LANs through the r1–r2 cable.

HOST=() HSW=() HADDR=()
plan_hosts() {                                    # SIZE: fills HOST, HSW, HADDR
    local size=$1 i s k
    HOST=() HSW=() HADDR=()
    for (( i = 1; i <= size; i++ )); do
        s=$(( (i - 1) % SWITCHES + 1 )); k=$(( (i - 1) / SWITCHES + 2 ))
        printf -v 'HOST[i]' 'h%04d' "$i"
        HSW[i]=$s
        HADDR[i]="10.$s.$(( k >> 8 )).$(( k & 255 ))"
    done
}
sw() { printf 'sw%02d' "$1"; }
router_of() { if (( $1 <= HALF )); then echo r1; else echo r2; fi; }
router_port() { if (( $1 <= HALF )); then echo "eth$1"; else echo "eth$(( $1 - HALF ))"; fi; }

gen_lab() {                                       # SIZE: the lab file on stdout
    local size=$1 s i r
    echo "# Generated by bench/run.sh: $size hosts, $SWITCHES switches, 2 routers."
    echo "name: bench-$size"
    echo "description: labctl benchmark, $size hosts"
    echo "nodes:"
    for r in r1 r2; do
        printf '  %s:\n    kind: router\n    routing: auto\n    interfaces:\n' "$r"
        if [[ $r == r1 ]]; then echo "      eth0: 10.0.0.1/30"; else echo "      eth0: 10.0.0.2/30"; fi
        for (( s = 1; s <= SWITCHES; s++ )); do
            if [[ $(router_of $s) == "$r" ]]; then echo "      $(router_port $s): 10.$s.0.1/16"; fi
        done
    done
    for (( s = 1; s <= SWITCHES; s++ )); do echo "  $(sw $s): {kind: switch}"; done
    for (( i = 1; i <= size; i++ )); do
        echo "  ${HOST[i]}: {kind: host, interfaces: {eth0: ${HADDR[i]}/16}, gateway: 10.${HSW[i]}.0.1}"
    done
    echo "links:"
    echo "  - [r1:eth0, r2:eth0]"
    for (( s = 1; s <= SWITCHES; s++ )); do echo "  - [$(router_of $s):$(router_port $s), $(sw $s)]"; done
    for (( i = 1; i <= size; i++ )); do printf '  - [%s, sw%02d]\n' "${HOST[i]}" "${HSW[i]}"; done
}

# `bench/run.sh --print-lab SIZE`: only print the lab file (bench/rootless.sh uses it).
if [[ ${1:-} == --print-lab ]]; then size_switches "$2"; plan_hosts "$2"; gen_lab "$2"; exit 0; fi

# ---------------------------------------------------------------- kernel floor
# The same topology with iproute2 only, as fast as iproute2 can make it:
#   create: `ip -batch` runs in the host namespace (one up to 4000 lines;
#     the batch split beyond that, as ip holds descriptors per namespace) with every `netns add`,
#     every bridge (`link add br0 netns SW up type bridge`) and every veth pair
#     created straight into its two namespaces, the switch end up and already
#     in its bridge (`link add ethJ netns SW up master if2 type veth peer name
#     eth0 netns H`: the bridge is ifindex 2 in a fresh namespace and the
#     kernel resolves IFLA_MASTER there, as for labctl's own requests);
#   forwarding: ip_forward=1 on the two routers (`nsenter --net=… sysctl`);
#   configure: one `ip -batch FILE` per namespace — `ip -batch` has no
#     per-line namespace and addresses and routes can only be added from
#     inside — with lo up, the peer ends up, addresses, routes, started with
#     `nsenter --net=/run/netns/NS` (only setns: faster than `ip -n NS`, which
#     also builds a mount namespace and remounts /sys), $(nproc) at a time.
# Teardown is ONE `ip -batch` of `netns delete` lines.

floor_write() {     # SIZE DIR: writes DIR/create.batch, DIR/ns/NS.batch, DIR/namespaces
    local size=$1 dir=$2 p="lcfloor-$1." s i r ns port
    local -A nextport=()
    mkdir -p "$dir/ns"
    {
        echo "netns add ${p}r1"
        echo "netns add ${p}r2"
        for (( s = 1; s <= SWITCHES; s++ )); do echo "netns add ${p}$(sw $s)"; done
        for (( i = 1; i <= size; i++ )); do echo "netns add ${p}${HOST[i]}"; done
        for (( s = 1; s <= SWITCHES; s++ )); do echo "link add br0 netns ${p}$(sw $s) up type bridge"; done
        echo "link add eth0 netns ${p}r1 up type veth peer name eth0 netns ${p}r2"
        for (( s = 1; s <= SWITCHES; s++ )); do
            echo "link add eth0 netns ${p}$(sw $s) up master if2 type veth peer name $(router_port $s) netns ${p}$(router_of $s)"
            nextport[$s]=1
        done
        for (( i = 1; i <= size; i++ )); do
            s=${HSW[i]}; port=${nextport[$s]}; nextport[$s]=$(( port + 1 ))
            printf 'link add eth%s netns %ssw%02d up master if2 type veth peer name eth0 netns %s%s\n' \
                "$port" "$p" "$s" "$p" "${HOST[i]}"
        done
    } >"$dir/create.batch"
    {
        echo "${p}r1"; echo "${p}r2"
        for (( s = 1; s <= SWITCHES; s++ )); do echo "${p}$(sw $s)"; done
        for (( i = 1; i <= size; i++ )); do echo "${p}${HOST[i]}"; done
    } >"$dir/namespaces"
    for r in r1 r2; do
        {
            echo "link set lo up"
            if [[ $r == r2 ]]; then echo "link set eth0 up"; fi      # r1's end was created up
            for (( s = 1; s <= SWITCHES; s++ )); do
                if [[ $(router_of $s) == "$r" ]]; then echo "link set $(router_port $s) up"; fi
            done
            if [[ $r == r1 ]]; then echo "addr add 10.0.0.1/30 dev eth0"; else echo "addr add 10.0.0.2/30 dev eth0"; fi
            for (( s = 1; s <= SWITCHES; s++ )); do
                if [[ $(router_of $s) == "$r" ]]; then
                    echo "addr add 10.$s.0.1/16 dev $(router_port $s)"
                elif [[ $r == r1 ]]; then
                    echo "route add 10.$s.0.0/16 via 10.0.0.2"
                else
                    echo "route add 10.$s.0.0/16 via 10.0.0.1"
                fi
            done
        } >"$dir/ns/${p}$r.batch"
    done
    for (( s = 1; s <= SWITCHES; s++ )); do echo "link set lo up" >"$dir/ns/${p}$(sw $s).batch"; done
    for (( i = 1; i <= size; i++ )); do
        printf 'link set lo up\nlink set eth0 up\naddr add %s/16 dev eth0\nroute add default via 10.%s.0.1\n' \
            "${HADDR[i]}" "${HSW[i]}" >"$dir/ns/${p}${HOST[i]}.batch"
    done
}

floor_up() {        # DIR: builds the floor; its phase times go to stderr
    local dir=$1 t0 t1 t2 t3 r part
    t0=$(now)
    # (Called after ||, where set -e does not apply: every step checks itself.)
    # In runs of at most 4000 lines: ip keeps a descriptor and a netlink
    # socket open per namespace it has named, and 10,000 hosts' worth would
    # pass the usual limit of open files.
    split -l 4000 -d -a 3 "$dir/create.batch" "$dir/create.part." || return 1
    for part in "$dir"/create.part.*; do ip -batch "$part" >/dev/null || return 1; done
    t1=$(now)
    rm -f "$dir"/create.part.*
    for r in r1 r2; do
        nsenter --net="/run/netns/$(grep -m1 "\.$r\$" "$dir/namespaces")" sysctl -qw net.ipv4.ip_forward=1 || return 1
    done
    t2=$(now)
    xargs -P "$(nproc)" -I NS nsenter --net=/run/netns/NS ip -batch "$dir/ns/NS.batch" <"$dir/namespaces" || return 1
    t3=$(now)
    say "    create (ip -batch) $(elapsed "$t0" "$t1") s, forwarding $(elapsed "$t1" "$t2") s, configure (ip -batch per namespace) $(elapsed "$t2" "$t3") s"
}

floor_down() {      # DIR
    sed 's/^/netns delete /' "$1/namespaces" | ip -batch - >/dev/null
}

# What a node looks like, without what may legitimately differ (ifindex
# numbering, MACs, route protocol): IPv4 addresses, routes, bridge ports,
# interfaces up, forwarding.
describe() {        # NAMESPACE
    local ns=$1
    echo "addresses: $(ip -n "$ns" -o -4 addr show | awk '{ print $2, $4 }' | sort | paste -sd' ')"
    echo "routes: $(ip -n "$ns" -4 route show | sed -E 's/ proto [a-z]+//; s/ +$//' | sort | paste -sd';')"
    echo "bridge ports: $(ip -n "$ns" -o link show master br0 2>/dev/null | wc -l)"
    echo "up: $(ip -n "$ns" -o link show up | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | sort | paste -sd' ')"
    echo "forwarding: $(nsenter --net="/run/netns/$ns" sysctl -n net.ipv4.ip_forward)"
}
sample_nodes() { echo r1 r2 "$(sw 1)" "$(sw $SWITCHES)" "${HOST[1]}" "${HOST[$1]}"; }   # SIZE

# ---------------------------------------------------------------- one size

# Other labs running at the same time compete for the CPU and the kernel's
# locks: remember them, so the results say they may be perturbed.
note_other_labs() {
    local dir name
    for dir in "$RUN_DIR"/*/; do
        [[ -d $dir ]] || continue
        name=$(basename "$dir")
        [[ $name =~ ^bench-[0-9]+$ ]] && continue
        [[ " $OTHERS_SEEN " == *" $name "* ]] || OTHERS_SEEN+=" $name"
    done
}

declare -A UP DOWN FUP FDOWN UPMB DAEMONMB MB
measure() {         # SIZE RUN: one labctl up/down and one floor up/down
    local size=$1 run=$2 lab=bench-$1 dir=$TMP/$1 t0 t1 up_kb daemon_kb pid node
    local log=$dir/run$run

    say "== $size hosts, run $run/$RUNS: labctl"
    note_other_labs
    STARTED_LABS+=("$lab")
    t0=$(now)
    /usr/bin/time -f %M -o "$log.up.rss" "$LABCTL" up "$dir/$lab.yaml" >"$log.up.out" 2>"$log.up.err" \
        || { cat "$log.up.err" >&2; die "labctl up $lab failed"; }
    t1=$(now)
    UP[$size]+=" $(elapsed "$t0" "$t1")"
    grep -v '^building' "$log.up.err" | sed 's/^ */    /' >&2 || true       # per-phase timings
    up_kb=$(tail -n1 "$log.up.rss")
    read -r pid _ <"$RUN_DIR/$lab/daemon.pid"
    daemon_kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status")
    [[ -n $up_kb && -n $daemon_kb ]] || die "could not read the memory of labctl up or of its daemon"
    for node in $(sample_nodes "$size"); do describe "$lab.$node"; done >"$dir/labctl.describe"

    t0=$(now)
    /usr/bin/time -f %M -o "$log.down.rss" "$LABCTL" down "$lab" >"$log.down.out" 2>&1 \
        || { cat "$log.down.out" >&2; die "labctl down $lab failed"; }
    t1=$(now)
    DOWN[$size]+=" $(elapsed "$t0" "$t1")"
    [[ ! -e $RUN_DIR/$lab ]] || die "labctl down left $RUN_DIR/$lab behind"
    UPMB[$size]+=" $(mb "$up_kb")"
    DAEMONMB[$size]+=" $(mb "$daemon_kb")"
    MB[$size]+=" $(mb $(( up_kb + daemon_kb )))"
    say "  labctl: up ${UP[$size]##* } s, down ${DOWN[$size]##* } s;" \
        "max RSS: up $(mb "$up_kb") MB + daemon $(mb "$daemon_kb") MB (down: $(mb "$(tail -n1 "$log.down.rss")") MB)"
    say "  (the kernel went on freeing namespaces for ~$(settle) s after down)"

    say "== $size hosts, run $run/$RUNS: kernel floor"
    note_other_labs
    mapfile -t FLOOR_NAMESPACES <"$dir/floor/namespaces"
    t0=$(now)
    floor_up "$dir/floor" || die "the kernel floor of $size hosts could not be built"
    t1=$(now)
    FUP[$size]+=" $(elapsed "$t0" "$t1")"
    for node in $(sample_nodes "$size"); do describe "lcfloor-$size.$node"; done >"$dir/floor.describe"
    t0=$(now)
    floor_down "$dir/floor" || die "the kernel floor of $size hosts could not be deleted"
    t1=$(now)
    FLOOR_NAMESPACES=()
    FDOWN[$size]+=" $(elapsed "$t0" "$t1")"
    say "  floor: up ${FUP[$size]##* } s, down ${FDOWN[$size]##* } s"
    say "  (the kernel went on freeing namespaces for ~$(settle) s after down)"

    if ! diff -u "$dir/labctl.describe" "$dir/floor.describe" >"$dir/describe.diff"; then
        cat "$dir/describe.diff" >&2
        die "labctl and the kernel floor built different topologies for $size hosts"
    fi
}

run_size() {        # SIZE
    local size=$1 lab=bench-$1 dir=$TMP/$1 ns run
    mkdir -p "$dir"
    size_switches "$size"
    plan_hosts "$size"
    gen_lab "$size" >"$dir/$lab.yaml"
    floor_write "$size" "$dir/floor"
    # Never touch what this run did not create.
    [[ ! -e $RUN_DIR/$lab ]] || die "lab $lab is already up (not by this run): take it down with 'labctl down $lab' first"
    while read -r ns; do
        [[ ! -e /run/netns/$ns ]] || die "namespace $ns exists already (not made by this run): delete it first"
    done <"$dir/floor/namespaces"
    "$LABCTL" validate "$dir/$lab.yaml" >/dev/null || die "the generated $lab.yaml is not valid"
    for (( run = 1; run <= RUNS; run++ )); do measure "$size" "$run"; done
}

# ---------------------------------------------------------------- main

say "labctl benchmark: $LABCTL ($("$LABCTL" --version 2>/dev/null || echo "version unknown"))"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
say "machine: $(nproc) cores, kernel $(uname -r), $(ip -V), open files limit $(ulimit -Sn), load average $LOAD_START"
settle >/dev/null
for size in $SIZES; do run_size "$size"; done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "inf" }'; }
mark() { awk -v v="$1" -v t="$2" 'BEGIN { print (v != "inf" && v <= t) ? "PASS" : "MISS" }'; }  # v <= t

echo
echo "labctl vs kernel floor — $(date +%Y-%m-%d), $(nproc) cores, kernel $(uname -r), median of $RUNS runs"
echo "load average (1, 5, 15 min): $LOAD_START at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end"
echo "targets: up <= 10 s, down <= 3 s, peak memory < 100 MB up to 1000 hosts (40 s, 10 s, 150 MB above);" \
    "up within ${TARGET_UP_RATIO}x the floor, down within ${TARGET_DOWN_RATIO}x"
echo
row() { printf '| %5s | %-11s | %10s | %-10s | %-13s | %12s | %-10s | %-10s |\n' "$@"; }
row hosts "labctl up s" "floor up s" ratio "labctl down s" "floor down s" ratio "peak MB"
row ----: ----------- ---------: ---------- ------------- -----------: ---------- ----------
for size in $SIZES; do
    up=$(median "${UP[$size]}"); fup=$(median "${FUP[$size]}")
    down=$(median "${DOWN[$size]}"); fdown=$(median "${FDOWN[$size]}")
    mb=$(maximum "${MB[$size]}")
    upr=$(ratio "$up" "$fup"); downr=$(ratio "$down" "$fdown")
    targets "$size"
    row "$size" "$up $(mark "$up" $TARGET_UP_S)" "$fup" "${upr}x $(mark "$upr" $TARGET_UP_RATIO)" \
        "$down $(mark "$down" $TARGET_DOWN_S)" "$fdown" "${downr}x $(mark "$downr" $TARGET_DOWN_RATIO)" \
        "$mb $(mark "$mb" $TARGET_MB)"
done
if [[ -n $OTHERS_SEEN ]]; then
    echo
    echo "WARNING: other labs were running during the measurements (${OTHERS_SEEN# }): the figures may be perturbed"
fi
echo
echo "every run (seconds; MB = max RSS of \`labctl up\` + VmHWM of the lab daemon):"
for size in $SIZES; do
    echo "  $size hosts: labctl up${UP[$size]}; floor up${FUP[$size]}; labctl down${DOWN[$size]}; floor down${FDOWN[$size]}"
    echo "  $size hosts: up MB${UPMB[$size]}; daemon MB${DAEMONMB[$size]}"
done
