#!/usr/bin/env bash
# bench/dns.sh — authoritative DNS benchmark (`make bench`, as root).
#
# What it is for: to measure how many queries per second labctl's
# authoritative DNS server answers, against the machine's floor (the least a
# UDP responder can do per query) and against Knot DNS and NSD serving the
# same zone, all on the same machine in the same run.
#
# How:
#   1. Two labs built with labctl, one switch each. In lab bench-dns a
#      server node (10.78.0.2/24) runs labctl's DNS service (lab file
#      `services: {dns: …}`) with the zone bench.lab: DNS_NAMES hosts
#      (h1 … hN, A records), an MX, a TXT and a CNAME. Lab bench-dns-ref
#      has three server nodes without services, on the same switch as its
#      load node: `knot` (10.78.0.2), `nsd` (10.78.0.4) and `floor`
#      (10.78.0.5). The script starts knotd and nsd in theirs (`labctl exec
#      … -- knotd -c …`, `… -- nsd -d -c …`, one server process: NSD's
#      server-count 1) with the same zone as a zone file, and in `floor`
#      dns-floor (bench/dns_floor.rs, built here as a cargo example): one
#      thread that takes queries with recvmmsg and sends one fixed reply
#      packet (h1's A record, the query's ID copied in) with sendmmsg — no
#      parsing, no lookup. It stops each by its pid afterwards.
#   2. The load node `perf` (10.78.0.3/24) of each lab runs dnsperf against
#      SERVER:53 over UDP for DNS_PERIOD seconds (default 10) with
#      DNS_CLIENTS simulated clients (default 20) and up to DNS_INFLIGHT
#      queries in flight (default 500); the query file mixes A lookups of
#      existing hosts (most), the MX, TXT and CNAME, and names that do not
#      exist (NXDOMAIN). The result is dnsperf's "Queries per second".
#   3. With 2 cores or more, the server (labctl's lab daemon, all its
#      threads, or knotd, nsd, dns-floor and their children) is pinned to
#      CPU 0 and dnsperf to CPU 1 (taskset): each server gets one core and
#      the load generator does not steal it.
#   4. Each server is measured DNS_RUNS times (default 3), interleaved
#      (labctl, floor, knot, nsd in every run); the table shows the median
#      queries/s, the server's CPU time per query and share of its core, and
#      dnsperf's share of its core (from /proc/PID/stat and the shell's
#      `time`). When the floor does not fill its core but dnsperf fills its
#      own, the load generator is the ceiling and the floor is a floor of
#      this load, not of the server's core.
# Targets of the performance issue: labctl's queries/s at least 70 % of the
# floor's (medians), and at least 1.5x Knot's in every run; labctl / NSD is
# shown for information. It prints PASS/MISS: a miss is a result, not a
# failure; it exits non-zero only when something broke (a lab did not come
# up, a server did not start, dnsperf printed no rate, answers were wrong).
#
# Everything happens inside the two labs' namespaces (bench-dns.* and
# bench-dns-ref.*): no query leaves them. On exit — normal, error, Ctrl-C or
# SIGTERM — it stops the servers it started (by pid), takes down the labs it
# brought up and removes its temp dir, and nothing else; it refuses to start
# if one of its lab names is already up.
#
# Environment:
#   LABCTL=PATH     benchmark this binary instead of building target/release/labctl
#   DNS_FLOOR=PATH  the floor responder (default: built as target/release/examples/dns-floor)
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
SERVER_ADDR=10.78.0.2    # labctl in bench-dns
KNOT_ADDR=10.78.0.2      # the nodes of bench-dns-ref
NSD_ADDR=10.78.0.4
FLOOR_ADDR=10.78.0.5
PERF_ADDR=10.78.0.3      # dnsperf, both labs
ZONE=bench.lab

# Targets of the performance issue.
TARGET_FLOOR=0.70        # labctl / floor, median queries/s
TARGET_KNOT=1.5          # labctl / knot, queries/s in every run

STARTED_LABS=()
PEER_PIDS=()             # knotd, nsd and dns-floor, while they run
TMP=""

say() { printf '%s\n' "$*" >&2; }
die() { say "bench-dns: error: $*"; exit 1; }

# A process and its living descendants, one pid a line.
tree_pids() {
    cat /proc/[0-9]*/stat 2>/dev/null | awk -v root="$1" '
        { pid = $1; sub(/^.*\) /, ""); parent[pid] = $2 }
        END {
            for (p in parent) {
                for (q = p; q != "" && q > 1 && q != root; q = parent[q]) {}
                if (q == root) print p
            }
        }'
}

# Stops each server this run started and waits for its child processes too
# (NSD's server process outlives its parent by a moment), at most 5 s each.
stop_peers() {
    local pid tree p i
    for pid in "${PEER_PIDS[@]}"; do
        tree=$(tree_pids "$pid")
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        for p in $tree; do
            for ((i = 0; i < 100; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
        done
    done
    PEER_PIDS=()
}

cleanup() {
    local rc=$? lab
    trap - EXIT INT TERM
    stop_peers
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

# Installed without starting the host services of knot and nsd.
if ! command -v dnsperf >/dev/null || ! command -v knotd >/dev/null || ! command -v nsd >/dev/null \
    || ! command -v dig >/dev/null; then
    say "bench-dns: installing dnsperf, knot, nsd and bind9-dnsutils"
    bash "$ROOT/tools/bootstrap.sh" servers dnsperf knot nsd bind9-dnsutils \
        || die "cannot install dnsperf, knot, nsd and bind9-dnsutils"
fi
KNOTD=$(command -v knotd)
NSD=$(command -v nsd)

if [[ -z ${LABCTL:-} ]]; then
    (cd "$ROOT" && cargo build --release --quiet) || die "cargo build --release failed"
    LABCTL=$ROOT/target/release/labctl
fi
[[ -x $LABCTL ]] || die "$LABCTL is not an executable"
if [[ -z ${DNS_FLOOR:-} ]]; then
    (cd "$ROOT" && cargo build --release --locked --quiet --example dns-floor) \
        || die "cannot build the floor (cargo build --release --example dns-floor)"
    DNS_FLOOR=$ROOT/target/release/examples/dns-floor
fi
[[ -x $DNS_FLOOR ]] || die "$DNS_FLOOR is not an executable"
for lab in "$LAB" "$REF_LAB"; do
    [[ ! -e $RUN_DIR/$lab ]] || die "lab $lab is already up (not by this run): take it down with 'labctl down $lab' first"
done
TMP=$(mktemp -d /tmp/labctl-bench-dns.XXXXXX)
chmod 755 "$TMP"

if (( $(nproc) >= 2 )); then
    SERVER_CPU=0
    SERVER_PIN=(taskset -c 0)
    CLIENT_CPU=(taskset -c 1)
    PINNING="server on CPU 0, dnsperf on CPU 1"
else
    SERVER_CPU=""
    SERVER_PIN=()
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
    if [[ $2 == 0 ]]; then
        echo "  knot: {kind: server, interfaces: {eth0: $KNOT_ADDR/24}}"
        echo "  nsd: {kind: server, interfaces: {eth0: $NSD_ADDR/24}}"
        echo "  floor: {kind: server, interfaces: {eth0: $FLOOR_ADDR/24}}"
    else
        echo "  server:"
        echo "    kind: server"
        echo "    interfaces: {eth0: $SERVER_ADDR/24}"
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
    if [[ $2 == 0 ]]; then
        echo "  - [knot, sw0]"
        echo "  - [nsd, sw0]"
        echo "  - [floor, sw0]"
    else
        echo "  - [server, sw0]"
    fi
    echo "  - [perf, sw0]"
}

write_zone_file() {  # the same records for knot and nsd
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
    listen: $KNOT_ADDR@53
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

# NSD with one server process (the others are pinned to one core too), no
# response rate limiting (Debian's NSD answers each /24 at most 200 times a
# second by default, which would measure the limit; Knot and labctl have
# none unless told), no database file, no remote control, everything under
# the temp dir.
write_nsd_conf() {
    cat <<EOF
server:
    ip-address: $NSD_ADDR
    port: 53
    server-count: 1
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
    username: ""
    chroot: ""
    zonesdir: "$TMP"
    database: ""
    zonelistfile: "$TMP/nsd/zone.list"
    xfrdfile: "$TMP/nsd/xfrd.state"
    xfrdir: "$TMP/nsd"
    pidfile: "$TMP/nsd/nsd.pid"
    verbosity: 0
remote-control:
    control-enable: no
zone:
    name: $ZONE
    zonefile: $ZONE.zone
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
mkdir -p "$TMP/knot" "$TMP/nsd"
write_knot_conf >"$TMP/knot.conf"
write_nsd_conf >"$TMP/nsd.conf"
write_queries >"$TMP/queries.txt"

lab_up() {
    STARTED_LABS+=("$1")
    "$LABCTL" up "$TMP/$1.yaml" >"$TMP/$1.up.log" 2>&1 \
        || { cat "$TMP/$1.up.log" >&2; die "labctl up $1 failed"; }
}

# The same answer from a server, or the run stops: speed of wrong answers is no result.
check_answers() {   # LAB ADDRESS NAME
    local a mx nx
    a=$("$LABCTL" exec "$1" perf -- dig +short +time=2 "@$2" "h7.$ZONE" A)
    mx=$("$LABCTL" exec "$1" perf -- dig +short +time=2 "@$2" "$ZONE" MX)
    nx=$("$LABCTL" exec "$1" perf -- dig +time=2 "@$2" "nope.$ZONE" A | grep -c 'status: NXDOMAIN' || true)
    [[ $a == "10.78.1.8" && $mx == "10 mail.$ZONE." && $nx == 1 ]] \
        || die "$3 answers wrongly (A: '$a', MX: '$mx', NXDOMAIN: $nx)"
}

# CPU time of a process, its threads and its living descendants (NSD
# serves from a child process): "user system", in clock ticks.
cpu_ticks() {
    local p
    for p in $(tree_pids "$1"); do cat "/proc/$p/stat" 2>/dev/null; done \
        | awk '{ sub(/^.*\) /, ""); u += $12; s += $13 } END { print u + 0, s + 0 }'
}

# Datagrams that the UDP sockets of network namespace NETNS dropped so far
# because their receive buffer was full.
rcvbuf_errors() {
    ip netns exec "$1" awk '$1 == "Udp:" { if (n++) print $col; else for (i = 1; i <= NF; i++) if ($i == "RcvbufErrors") col = i }' /proc/net/snmp
}

# dnsperf from LAB's perf node against NODE at ADDRESS, whose server is PID.
# Prints on stdout: queries/s, µs of server CPU per query and of it in user
# space, the server's share of its core, dnsperf's share of its core (its
# CPU time over its run time) and its µs of CPU per query, the share of
# queries lost, and the datagrams dropped for a full receive buffer at the
# server and at dnsperf.
run_dnsperf() {     # LAB NODE RUN-TAG PID ADDRESS
    local lab=$1 node=$2 tag=$3 pid=$4 address=$5 out=$TMP/dnsperf-$3.txt TIMEFORMAT='%R %U %S'
    local qps u0 s0 u1 s1 sd0 sd1 pd0 pd1 client run_time lost
    read -r u0 s0 < <(cpu_ticks "$pid")
    sd0=$(rcvbuf_errors "$lab.$node"); pd0=$(rcvbuf_errors "$lab.perf")
    { time "$LABCTL" exec "$lab" perf -- "${CLIENT_CPU[@]}" dnsperf -s "$address" -d "$TMP/queries.txt" \
        -l "$PERIOD" -c "$CLIENTS" -q "$INFLIGHT" -t 2 >"$out" 2>&1 ; } 2>"$TMP/time-$tag.txt" \
        || { cat "$out" >&2; die "dnsperf failed against $node of $lab"; }
    read -r u1 s1 < <(cpu_ticks "$pid")
    sd1=$(rcvbuf_errors "$lab.$node"); pd1=$(rcvbuf_errors "$lab.perf")
    qps=$(awk '/Queries per second:/ { printf "%.0f", $4 }' "$out")
    [[ -n $qps ]] || { cat "$out" >&2; die "dnsperf printed no rate against $node of $lab"; }
    lost=$(awk '/Queries lost:/ { gsub(/[()%]/, "", $4); print $4 }' "$out")
    run_time=$(awk '/Run time \(s\):/ { print $4 }' "$out")
    client=$(awk '{ print $2 + $3 }' "$TMP/time-$tag.txt")
    awk -v q="$qps" -v u="$((u1 - u0))" -v s="$((s1 - s0))" -v hz="$TICKS" -v p="$PERIOD" -v c="$client" \
        -v r="${run_time:-$PERIOD}" -v l="${lost:-0}" -v sd="$((sd1 - sd0))" -v pd="$((pd1 - pd0))" \
        'BEGIN {
            n = q * p
            printf "%s %.1f %.1f %.0f %.0f %.1f %s %d %d\n", q, (n > 0) ? (u + s) * 1e6 / hz / n : 0,
                (n > 0) ? u * 1e6 / hz / n : 0, 100 * (u + s) / hz / p, (r > 0) ? 100 * c / r : 0,
                (q * r > 0) ? c * 1e6 / (q * r) : 0, l, sd, pd
        }'
}

DAEMON_PID=""
pin_daemon() {      # LAB: every thread of the lab daemon onto the server CPU
    DAEMON_PID=$(awk 'NR == 1 { print $1 }' "$RUN_DIR/$1/daemon.pid" 2>/dev/null || true)
    [[ $DAEMON_PID =~ ^[0-9]+$ ]] || die "no daemon pid for lab $1"
    [[ -n $SERVER_CPU ]] || return 0
    taskset -a -c -p "$SERVER_CPU" "$DAEMON_PID" >/dev/null
}

# Starts a server in a node of the reference lab, pinned, and waits until
# it answers h1's A record; its pid goes to PEER_PID (and PEER_PIDS, for the
# clean-up). `labctl exec` execs taskset and the server: $! is the server.
PEER_PID=""
start_peer() {      # NODE ADDRESS COMMAND...
    local node=$1 address=$2 i
    shift 2
    "$LABCTL" exec "$REF_LAB" "$node" -- "${SERVER_PIN[@]}" "$@" >"$TMP/$node.log" 2>&1 &
    PEER_PID=$!
    PEER_PIDS+=("$PEER_PID")
    for ((i = 0; i < 50; i++)); do
        if "$LABCTL" exec "$REF_LAB" perf -- dig +short +time=1 +tries=1 "@$address" "h1.$ZONE" A 2>/dev/null | grep -q .; then
            return 0
        fi
        kill -0 "$PEER_PID" 2>/dev/null || { cat "$TMP/$node.log" >&2; die "$node exited"; }
        sleep 0.2
    done
    cat "$TMP/$node.log" >&2
    die "$node does not answer"
}

median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
say "bench-dns: $NAMES names, $CLIENTS clients, ${PERIOD}s x $RUNS runs per server; $PINNING; load average $LOAD_BEFORE"
lab_up "$LAB"
lab_up "$REF_LAB"
pin_daemon "$LAB"
start_peer knot "$KNOT_ADDR" "$KNOTD" -c "$TMP/knot.conf"; KNOT_PID=$PEER_PID
start_peer nsd "$NSD_ADDR" "$NSD" -d -c "$TMP/nsd.conf"; NSD_PID=$PEER_PID
start_peer floor "$FLOOR_ADDR" "$DNS_FLOOR" --listen "$FLOOR_ADDR:53" --name "h1.$ZONE." --address 10.78.1.2
FLOOR_PID=$PEER_PID
check_answers "$LAB" "$SERVER_ADDR" labctl
check_answers "$REF_LAB" "$KNOT_ADDR" knot
check_answers "$REF_LAB" "$NSD_ADDR" nsd
floor_a=$("$LABCTL" exec "$REF_LAB" perf -- dig +short +time=2 "@$FLOOR_ADDR" "h1.$ZONE" A)
[[ $floor_a == 10.78.1.2 ]] || die "the floor answers wrongly (A: '$floor_a')"

SERVERS=(labctl floor knot nsd)
declare -A QPS US USER CORE CLIENT CLIENT_US LOST DROPS
measure() {         # KEY RUN LAB NODE PID ADDRESS
    local q us user core client client_us lost sdrops pdrops
    read -r q us user core client client_us lost sdrops pdrops < <(run_dnsperf "$3" "$4" "$1-$2" "$5" "$6")
    QPS[$1]+=" $q"; US[$1]+=" $us"; USER[$1]+=" $user"; CORE[$1]+=" $core"; CLIENT[$1]+=" $client"
    CLIENT_US[$1]+=" $client_us"; LOST[$1]+=" $lost"; DROPS[$1]+=" $sdrops/$pdrops"
    say "  run $2: $(printf '%-6s' "$1") $q q/s, $us µs of server CPU per query ($user in user space), server $core% of its core, dnsperf $client% of its core and $client_us µs per query; $lost% of queries lost, receive buffer drops $sdrops at the server, $pdrops at dnsperf"
}
for ((run = 1; run <= RUNS; run++)); do
    measure labctl "$run" "$LAB" server "$DAEMON_PID" "$SERVER_ADDR"
    measure floor "$run" "$REF_LAB" floor "$FLOOR_PID" "$FLOOR_ADDR"
    measure knot "$run" "$REF_LAB" knot "$KNOT_PID" "$KNOT_ADDR"
    measure nsd "$run" "$REF_LAB" nsd "$NSD_PID" "$NSD_ADDR"
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "inf" }'; }
atleast() { awk -v v="$1" -v t="$2" 'BEGIN { print (v != "inf" && v >= t) ? "PASS" : "MISS" }'; }
nth() { tr ' ' '\n' <<<"$1" | grep . | sed -n "$2p"; }
per_run() {         # KEY: labctl / KEY of every run
    local run out=""
    for ((run = 1; run <= RUNS; run++)); do
        out+=" $(ratio "$(nth "${QPS[labctl]}" "$run")" "$(nth "${QPS[$1]}" "$run")")"
    done
    echo "${out# }"
}

ours=$(median "${QPS[labctl]}")
ours_us=$(median "${US[labctl]}")
knot_version=$("$KNOTD" --version 2>/dev/null | awk 'NR == 1')
nsd_version=$("$NSD" -v 2>&1 | awk 'NR == 1')
echo
echo "DNS authoritative benchmark — $(date +%Y-%m-%d), dnsperf over UDP, $CLIENTS clients, ${PERIOD}s, median of $RUNS runs; $PINNING"
echo "machine: $(nproc) cores, kernel $(uname -r), load average $LOAD_BEFORE before, $(cut -d' ' -f1-3 /proc/loadavg) after"
echo
row() { printf '| %-32s | %-9s | %-20s | %-11s | %-12s | %-6s | %-13s |\n' "$@"; }
row "server" "queries/s" "CPU per query (user)" "server core" "dnsperf core" "lost" "labctl / this"
row "--------------------------------" "--------:" "-------------------:" "----------:" "-----------:" "-----:" "-------------"
for key in "${SERVERS[@]}"; do
    case $key in
    labctl) name=labctl ;;
    floor) name="floor (dns-floor, fixed reply)" ;;
    knot) name=${knot_version:-knotd} ;;
    nsd) name=${nsd_version:-nsd} ;;
    esac
    r=""
    [[ $key == labctl ]] || r="$(ratio "$ours" "$(median "${QPS[$key]}")")x"
    row "$name" "$(median "${QPS[$key]}")" "$(median "${US[$key]}") µs ($(median "${USER[$key]}"))" \
        "$(median "${CORE[$key]}")%" "$(median "${CLIENT[$key]}")%" "$(median "${LOST[$key]}")%" "$r"
done
echo
floor_ratio=$(ratio "$ours" "$(median "${QPS[floor]}")")
echo "labctl / floor: $floor_ratio (target >= $TARGET_FLOOR): $(atleast "$floor_ratio" "$TARGET_FLOOR"); run by run: $(per_run floor)"
echo "server CPU per query, floor / labctl: $(ratio "$(median "${US[floor]}")" "$ours_us") (the share of the floor's efficiency labctl reaches)"
knot_runs=$(per_run knot)
knot_passed=$(tr ' ' '\n' <<<"$knot_runs" | awk -v t="$TARGET_KNOT" '$1 != "inf" && $1 >= t { n++ } END { print n + 0 }')
echo "labctl / knot, run by run: $knot_runs (target >= $TARGET_KNOT in every run): $knot_passed of $RUNS — $( ((knot_passed == RUNS)) && echo PASS || echo MISS)"
echo "labctl / nsd, run by run: $(per_run nsd) (for information)"
for key in knot nsd; do
    echo "server CPU per query, $key / labctl: $(ratio "$(median "${US[$key]}")" "$ours_us") (above 1: labctl needs less CPU per answer)"
done
echo "against the floor, dnsperf used $(median "${CLIENT_US[floor]}") µs of CPU per query and the floor $(median "${US[floor]}") µs; the floor had $(median "${CORE[floor]}")% of its core, dnsperf $(median "${CLIENT[floor]}")% of its own"
echo "  (dnsperf needing more CPU per query than the floor, or the floor well under 100% of its core: dnsperf on one core is the ceiling)"
echo
echo "every run (queries/s; server CPU per query, µs; % lost; receive buffer drops at the server/at dnsperf):"
for key in "${SERVERS[@]}"; do echo "  $key:${QPS[$key]};${US[$key]};${LOST[$key]};${DROPS[$key]}"; done
