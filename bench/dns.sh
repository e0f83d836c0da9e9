#!/usr/bin/env bash
# bench/dns.sh — authoritative DNS benchmark (`make bench`, as root).
#
# What it is for: to measure how many queries per second labctl's
# authoritative DNS server answers, and how that compares with Knot DNS (the
# reference) serving the same zone on the same machine in the same run.
#
# How:
#   1. Two labs of the same shape, built with labctl: a server node
#      (10.78.0.2/24) and a load node `perf` (10.78.0.3/24) on one switch.
#      In lab bench-dns the server runs labctl's DNS service (lab file
#      `services: {dns: …}`) with the zone bench.lab: DNS_NAMES hosts
#      (h1 … hN, A records), an MX, a TXT and a CNAME. In lab bench-dns-ref
#      the server node has no service; the script starts knotd in it
#      (`labctl exec … -- knotd -c …`) with the same zone as a zone file, and
#      stops it by its pid afterwards.
#   2. dnsperf runs inside `perf` against SERVER:53 over UDP for DNS_PERIOD
#      seconds (default 10) with DNS_CLIENTS simulated clients (default 20)
#      and up to DNS_INFLIGHT queries in flight (default 500); the query file mixes A lookups of
#      existing hosts (most), the MX, TXT and CNAME, and names that do not
#      exist (NXDOMAIN). The result is dnsperf's "Queries per second".
#   3. With 2 cores or more, the server (labctl's lab daemon, all its
#      threads, or knotd) is pinned to CPU 0 and dnsperf to CPU 1 (taskset):
#      each server gets one core and the load generator does not steal it.
#   4. Each server is measured DNS_RUNS times (default 3), interleaved; the
#      table shows the median queries/s, the server's CPU time per query
#      (from /proc/PID/stat: the steadier figure when other work shares the
#      machine) and the ratio labctl / knot of queries/s. Target: a ratio of
#      at least 1 (at least the reference's queries/s). It prints PASS/MISS:
#      a miss is a result, not a failure; it exits non-zero only when
#      something broke (a lab did not come up, knotd did not start, dnsperf
#      printed no rate, answers were wrong).
#
# Everything happens inside the two labs' namespaces (bench-dns.* and
# bench-dns-ref.*): no query leaves them. On exit — normal, error, Ctrl-C or
# SIGTERM — it stops the knotd it started (by pid), takes down the labs it
# brought up and removes its temp dir, and nothing else; it refuses to start
# if one of its lab names is already up.
#
# Environment:
#   LABCTL=PATH     benchmark this binary instead of building target/release/labctl
#   DNS_PERIOD=S    seconds per measurement (default 10)
#   DNS_RUNS=N      measurements per server (default 3)
#   DNS_CLIENTS=N   dnsperf clients (default 20)
#   DNS_NAMES=N     hosts in the zone (default 1000)
#   DNS_INFLIGHT=N  queries dnsperf keeps in flight (default 500)
#   BENCH_KEEP=1    keep the temp dir (lab files, zone, dnsperf output)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PERIOD=${DNS_PERIOD:-10}
RUNS=${DNS_RUNS:-3}
CLIENTS=${DNS_CLIENTS:-20}
NAMES=${DNS_NAMES:-1000}
INFLIGHT=${DNS_INFLIGHT:-500}
RUN_DIR=${LABCTL_RUN_DIR:-/run/labctl}

LAB=bench-dns
REF_LAB=bench-dns-ref
SERVER_ADDR=10.78.0.2
PERF_ADDR=10.78.0.3
ZONE=bench.lab
TARGET_RATIO=1

STARTED_LABS=()
KNOT_PID=""
TMP=""

say() { printf '%s\n' "$*" >&2; }
die() { say "bench-dns: error: $*"; exit 1; }

stop_knot() {
    local pid=$KNOT_PID
    [[ -n $pid ]] || return 0
    KNOT_PID=""
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local rc=$? lab
    trap - EXIT INT TERM
    stop_knot
    for lab in "${STARTED_LABS[@]}"; do
        if [[ -e $RUN_DIR/$lab ]]; then
            "$LABCTL" down "$lab" >/dev/null 2>&1 || say "bench-dns: warning: could not take down lab $lab"
        fi
    done
    if [[ -n $TMP ]]; then
        if [[ ${BENCH_KEEP:-0} == 1 ]]; then say "bench-dns: files kept in $TMP"; else rm -rf "$TMP"; fi
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'say "bench-dns: interrupted"; exit 130' INT
trap 'say "bench-dns: terminated"; exit 143' TERM

[[ $(id -u) == 0 ]] || die "run as root (labctl up needs CAP_SYS_ADMIN)"
for v in PERIOD RUNS CLIENTS NAMES INFLIGHT; do
    [[ ${!v} =~ ^[0-9]+$ && ${!v} -ge 1 ]] || die "DNS_$v must be a positive number, not '${!v}'"
done
(( PERIOD <= 120 )) || die "DNS_PERIOD is at most 120 seconds (the load must stay bounded)"
(( NAMES <= 50000 )) || die "DNS_NAMES is at most 50000"

if ! command -v dnsperf >/dev/null || ! command -v knotd >/dev/null || ! command -v dig >/dev/null; then
    say "bench-dns: installing dnsperf, knot and bind9-dnsutils"
    bash "$ROOT/tools/bootstrap.sh" servers dnsperf knot bind9-dnsutils \
        || die "cannot install dnsperf, knot and bind9-dnsutils"
fi
KNOTD=$(command -v knotd)

if [[ -z ${LABCTL:-} ]]; then
    (cd "$ROOT" && cargo build --release --quiet) || die "cargo build --release failed"
    LABCTL=$ROOT/target/release/labctl
fi
[[ -x $LABCTL ]] || die "$LABCTL is not an executable"
for lab in "$LAB" "$REF_LAB"; do
    [[ ! -e $RUN_DIR/$lab ]] || die "lab $lab is already up (not by this run): take it down with 'labctl down $lab' first"
done
TMP=$(mktemp -d /tmp/labctl-bench-dns.XXXXXX)
chmod 755 "$TMP"

if (( $(nproc) >= 2 )); then
    SERVER_CPU=0
    CLIENT_CPU=(taskset -c 1)
    PINNING="server on CPU 0, dnsperf on CPU 1"
else
    SERVER_CPU=""
    CLIENT_CPU=()
    PINNING="no pinning (1 core)"
fi
TICKS=$(getconf CLK_TCK)

# ---------------------------------------------------------------- the zone, both ways

write_lab() {       # NAME WITH_DNS(0|1)
    echo "# Generated by bench/dns.sh."
    echo "name: $1"
    echo "description: labctl DNS benchmark"
    echo "nodes:"
    echo "  server:"
    echo "    kind: server"
    echo "    interfaces: {eth0: $SERVER_ADDR/24}"
    if [[ $2 == 1 ]]; then
        echo "    services:"
        echo "      dns:"
        echo "        zones:"
        echo "          $ZONE:"
        echo "            '@': {NS: ns.$ZONE., MX: 10 mail.$ZONE., TXT: 'v=spf1 mx -all'}"
        echo "            ns: {A: $SERVER_ADDR}"
        echo "            mail: {A: $SERVER_ADDR}"
        echo "            www: {CNAME: h1.$ZONE.}"
        for ((i = 1; i <= NAMES; i++)); do
            echo "            h$i: {A: 10.78.$((i / 250 + 1)).$((i % 250 + 1))}"
        done
    fi
    echo "  sw0: {kind: switch}"
    echo "  perf: {kind: host, interfaces: {eth0: $PERF_ADDR/24}}"
    echo "links:"
    echo "  - [server, sw0]"
    echo "  - [perf, sw0]"
}

write_zone_file() {  # the same records for knot
    echo "\$ORIGIN $ZONE."
    echo "\$TTL 300"
    echo "@ SOA ns.$ZONE. hostmaster.$ZONE. 1 3600 600 604800 300"
    echo "@ NS ns.$ZONE."
    echo "@ MX 10 mail.$ZONE."
    echo "@ TXT \"v=spf1 mx -all\""
    echo "ns A $SERVER_ADDR"
    echo "mail A $SERVER_ADDR"
    echo "www CNAME h1.$ZONE."
    for ((i = 1; i <= NAMES; i++)); do
        echo "h$i A 10.78.$((i / 250 + 1)).$((i % 250 + 1))"
    done
}

write_knot_conf() {
    cat <<EOF
server:
    listen: $SERVER_ADDR@53
    rundir: $TMP/knot
    user: root:root
database:
    storage: $TMP/knot
log:
  - target: stderr
    any: warning
zone:
  - domain: $ZONE
    storage: $TMP
    file: $ZONE.zone
    journal-content: none
    zonefile-sync: -1
EOF
}

write_queries() {    # 8 of 10 existing hosts, then MX, TXT, CNAME, NXDOMAIN
    local i
    for ((i = 1; i <= 2000; i++)); do
        case $((i % 10)) in
            1) echo "$ZONE MX" ;;
            2) echo "nope$i.$ZONE A" ;;
            3) echo "www.$ZONE A" ;;
            4) echo "$ZONE TXT" ;;
            *) echo "h$(( (i * 7919) % NAMES + 1 )).$ZONE A" ;;
        esac
    done
}

write_lab "$LAB" 1 >"$TMP/$LAB.yaml"
write_lab "$REF_LAB" 0 >"$TMP/$REF_LAB.yaml"
write_zone_file >"$TMP/$ZONE.zone"
mkdir -p "$TMP/knot"
write_knot_conf >"$TMP/knot.conf"
write_queries >"$TMP/queries.txt"

lab_up() {
    STARTED_LABS+=("$1")
    "$LABCTL" up "$TMP/$1.yaml" >"$TMP/$1.up.log" 2>&1 \
        || { cat "$TMP/$1.up.log" >&2; die "labctl up $1 failed"; }
}

# The same answer from a server, or the run stops: speed of wrong answers is no result.
check_answers() {   # LAB
    local a mx nx
    a=$("$LABCTL" exec "$1" perf -- dig +short +time=2 "@$SERVER_ADDR" "h7.$ZONE" A)
    mx=$("$LABCTL" exec "$1" perf -- dig +short +time=2 "@$SERVER_ADDR" "$ZONE" MX)
    nx=$("$LABCTL" exec "$1" perf -- dig +time=2 "@$SERVER_ADDR" "nope.$ZONE" A | grep -c 'status: NXDOMAIN' || true)
    [[ $a == "10.78.1.8" && $mx == "10 mail.$ZONE." && $nx == 1 ]] \
        || die "$1 answers wrongly (A: '$a', MX: '$mx', NXDOMAIN: $nx)"
}

cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }

run_dnsperf() {     # LAB RUN-TAG SERVER-PID -> "queries/s µs-of-server-CPU-per-query" on stdout
    local out=$TMP/dnsperf-$2.txt qps before after
    before=$(cpu_ticks "$3")
    "$LABCTL" exec "$1" perf -- "${CLIENT_CPU[@]}" dnsperf -s "$SERVER_ADDR" -d "$TMP/queries.txt" \
        -l "$PERIOD" -c "$CLIENTS" -q "$INFLIGHT" -t 2 >"$out" 2>&1 \
        || { cat "$out" >&2; die "dnsperf failed against $1"; }
    qps=$(awk '/Queries per second:/ { printf "%.0f", $4 }' "$out")
    [[ -n $qps ]] || { cat "$out" >&2; die "dnsperf printed no rate against $1"; }
    after=$(cpu_ticks "$3")
    awk -v q="$qps" -v t="$((after - before))" -v hz="$TICKS" -v p="$PERIOD" \
        'BEGIN { printf "%s %.1f\n", q, (q > 0) ? t * 1e6 / hz / (q * p) : 0 }'
}

DAEMON_PID=""
pin_daemon() {      # LAB: every thread of the lab daemon onto the server CPU
    DAEMON_PID=$(awk 'NR == 1 { print $1 }' "$RUN_DIR/$1/daemon.pid" 2>/dev/null || true)
    [[ $DAEMON_PID =~ ^[0-9]+$ ]] || die "no daemon pid for lab $1"
    [[ -n $SERVER_CPU ]] || return 0
    taskset -a -c -p "$SERVER_CPU" "$DAEMON_PID" >/dev/null
}

start_knot() {
    local pin=()
    [[ -n $SERVER_CPU ]] && pin=(taskset -c "$SERVER_CPU")
    "$LABCTL" exec "$REF_LAB" server -- "${pin[@]}" "$KNOTD" -c "$TMP/knot.conf" >"$TMP/knot.log" 2>&1 &
    KNOT_PID=$!
    local i
    for ((i = 0; i < 50; i++)); do
        if "$LABCTL" exec "$REF_LAB" perf -- dig +short +time=1 +tries=1 "@$SERVER_ADDR" "h1.$ZONE" A 2>/dev/null | grep -q .; then
            return 0
        fi
        kill -0 "$KNOT_PID" 2>/dev/null || { cat "$TMP/knot.log" >&2; die "knotd exited"; }
        sleep 0.2
    done
    cat "$TMP/knot.log" >&2
    die "knotd does not answer"
}

median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

say "bench-dns: $NAMES names, $CLIENTS clients, ${PERIOD}s x $RUNS runs per server; $PINNING"
lab_up "$LAB"
lab_up "$REF_LAB"
pin_daemon "$LAB"
start_knot
check_answers "$LAB"
check_answers "$REF_LAB"

LABCTL_QPS="" LABCTL_US=""
KNOT_QPS="" KNOT_US=""
for ((run = 1; run <= RUNS; run++)); do
    read -r q us < <(run_dnsperf "$LAB" "labctl-$run" "$DAEMON_PID"); LABCTL_QPS+=" $q"; LABCTL_US+=" $us"
    say "  run $run: labctl $q q/s, $us µs of server CPU per query"
    read -r q us < <(run_dnsperf "$REF_LAB" "knot-$run" "$KNOT_PID"); KNOT_QPS+=" $q"; KNOT_US+=" $us"
    say "  run $run: knot   $q q/s, $us µs of server CPU per query"
done

ours=$(median "$LABCTL_QPS")
ref=$(median "$KNOT_QPS")
ours_us=$(median "$LABCTL_US")
ref_us=$(median "$KNOT_US")
ratio=$(awk -v a="$ours" -v b="$ref" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "inf" }')
verdict=$(awk -v r="$ratio" -v t="$TARGET_RATIO" 'BEGIN { print (r != "inf" && r >= t) ? "PASS" : "MISS" }')
knot_version=$("$KNOTD" --version 2>/dev/null | head -1)

echo
echo "DNS authoritative benchmark (dnsperf, UDP, ${PERIOD}s, median of $RUNS; $PINNING; load $(cut -d' ' -f1-3 /proc/loadavg))"
row() { printf '| %-32s | %-10s | %-26s |\n' "$@"; }
row "server" "queries/s" "server CPU per query (µs)"
row "--------------------------------" "----------" "--------------------------"
row "labctl" "$ours" "$ours_us"
row "${knot_version:-knotd}" "$ref" "$ref_us"
echo "ratio labctl/knot: $ratio (target >= $TARGET_RATIO): $verdict"
echo "server CPU per query, knot/labctl: $(awk -v a="$ref_us" -v b="$ours_us" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }') (above 1: labctl needs less CPU per answer)"
