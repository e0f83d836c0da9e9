#!/usr/bin/env bash
# bench/dhcp.sh — DHCP server benchmark (`make bench`, as root, after bench/run.sh).
#
# What it is for: to measure how many DHCP 4-way exchanges per second
# (DISCOVER-OFFER-REQUEST-ACK, "DORA/s") labctl's DHCP server completes, and
# how that compares with Kea and dnsmasq measured the same way on the same
# machine.
#
# How:
#   1. Two labs of the same shape, built with labctl: a server node
#      (10.77.0.2/16) and a load node `perf` (10.77.0.3/16) on one switch.
#      In lab bench-dhcp the server runs labctl's DHCP server (lab file
#      `services: {dhcp: …}`: 61,440 addresses 10.77.1.0-10.77.240.255, lease
#      1h). In lab bench-dhcp-ref the server node has no service; the script
#      starts Kea or dnsmasq in it (`labctl exec … -- kea-dhcp4 -c …`,
#      `… -- dnsmasq -k …`, same range and lease time) and stops it by its
#      pid afterwards.
#   2. perfdhcp (Kea's load generator, package kea-admin) runs inside `perf`
#      as a relay: every DISCOVER and REQUEST has giaddr = 10.77.0.3 and is
#      unicast to 10.77.0.2:67; the server answers to giaddr:67, where perfdhcp
#      listens. It offers DHCP_RATE new exchanges per second (default 20,000:
#      more than either server can take, so the result is what the server
#      completes when overloaded, which can be somewhat below its best rate
#      at a lower offered load) for DHCP_PERIOD seconds (default 10), from DHCP_CLIENTS
#      simulated clients (default 50,000 MAC addresses, fewer than the pool).
#      The result is perfdhcp's "Rate" line: completed 4-way exchanges
#      (ACKs received) per second of the test.
#   3. On a machine with 2 cores or more, the server (labctl's lab daemon,
#      Kea or dnsmasq) is pinned to CPU 0 and perfdhcp to CPU 1 (taskset), so that
#      the load generator does not steal the server's core.
#   4. Four servers, each measured DHCP_RUNS times (default 3) with a fresh
#      state every time (a new lab for labctl, a new Kea or dnsmasq process
#      with an empty lease file), interleaved; the table shows the median:
#        labctl             its lease journal in /run/labctl/bench-dhcp/
#        kea                kea-dhcp4 (the fastest open DHCP server; Debian's
#                           kea-dhcp4-server) with its memfile lease database,
#                           persisted to a CSV file in a temp dir (it appends
#                           a line per lease change, as labctl does; neither
#                           fsyncs), UDP sockets (relayed traffic), its
#                           default single-threaded packet processing, logging
#                           warnings only
#        dnsmasq            --dhcp-leasefile in a temp dir
#        dnsmasq, no file   --leasefile-ro: no lease file at all (shown for
#                           information: dnsmasq rewrites and fsyncs its whole
#                           lease file on every change, labctl appends a line)
#      plus the server's CPU time per completed exchange and how much of its
#      core it used (from /proc/PID/stat), and how much of its own core
#      perfdhcp used (the shell's `time`): the CPU time per exchange is the
#      steadier figure when other work shares the machine, and perfdhcp
#      near its whole core while it sends fewer DISCOVERs than DHCP_RATE
#      means the load generator, not the server, set the rate. A run that
#      starts on a busy machine (under 90% idle) is flagged with a warning.
# Targets of the DHCP performance issue: >= 5,000 DORA/s on the 2-core
# machine, >= 2x dnsmasq, at least Kea's DORA/s and less server CPU per DORA
# than Kea. It prints PASS/MISS: a miss is a result, not a failure. It exits
# non-zero only when something broke (a lab did not come up, a server did
# not start, perfdhcp failed or printed no rate…).
#
# Everything happens inside the two labs' namespaces (bench-dhcp.* and
# bench-dhcp-ref.*): the DHCP traffic never leaves them. On exit — normal,
# error, Ctrl-C or SIGTERM — it stops the Kea or dnsmasq it started (by pid), takes
# down the labs it brought up and removes its temp dir, and nothing else; it
# refuses to start if one of its lab names is already up.
#
# Environment:
#   LABCTL=PATH        benchmark this binary instead of building target/release/labctl
#   DHCP_RATE=N        exchanges per second offered by perfdhcp (default 20000)
#   DHCP_PERIOD=S      seconds per measurement (default 10)
#   DHCP_CLIENTS=N     simulated clients (default 50000; at most 61440)
#   DHCP_RUNS=N        measurements per server (default 3)
#   BENCH_KEEP=1       keep the temp dir (lab files, perfdhcp reports, leases)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RATE=${DHCP_RATE:-20000}
PERIOD=${DHCP_PERIOD:-10}
CLIENTS=${DHCP_CLIENTS:-50000}
RUNS=${DHCP_RUNS:-3}
RUN_DIR=${LABCTL_RUN_DIR:-/run/labctl}

LAB=bench-dhcp             # labctl's DHCP server
REF_LAB=bench-dhcp-ref     # the same lab without it, for dnsmasq
SERVER_ADDR=10.77.0.2      # the server node, both labs
RELAY_ADDR=10.77.0.3       # the perfdhcp node (the "relay", giaddr)
PREFIX=16
POOL_FIRST=10.77.1.0       # 240 x 256 = 61,440 addresses
POOL_LAST=10.77.240.255
POOL_SIZE=61440
SUBNET=10.77.0.0/16
LEASE=1h

# Targets from the DHCP performance issue.
TARGET_DORA=5000
TARGET_RATIO=2        # labctl / dnsmasq, DORA/s
TARGET_KEA_RATIO=1    # labctl / Kea, DORA/s; and less CPU per DORA than Kea

STARTED_LABS=()   # labs this run brought up: taken down on exit
PEER_PID=""       # the Kea or dnsmasq this run started, while it runs
TMP=""

say() { printf '%s\n' "$*" >&2; }
die() { say "bench-dhcp: error: $*"; exit 1; }

# ---------------------------------------------------------------- cleanup

stop_peer() {
    local pid=$PEER_PID
    [[ -n $pid ]] || return 0
    PEER_PID=""
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local rc=$? lab
    trap - EXIT INT TERM
    stop_peer
    for lab in "${STARTED_LABS[@]}"; do
        if [[ -e $RUN_DIR/$lab ]]; then
            "$LABCTL" down "$lab" >/dev/null 2>&1 || say "bench-dhcp: warning: could not take down lab $lab"
        fi
    done
    if [[ -n $TMP ]]; then
        if [[ ${BENCH_KEEP:-0} == 1 ]]; then say "bench-dhcp: files kept in $TMP"; else rm -rf "$TMP"; fi
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'say "bench-dhcp: interrupted"; exit 130' INT
trap 'say "bench-dhcp: terminated"; exit 143' TERM

# ---------------------------------------------------------------- set-up

[[ $(id -u) == 0 ]] || die "run as root (labctl up and ip netns need CAP_SYS_ADMIN)"
[[ $CLIENTS =~ ^[0-9]+$ && $CLIENTS -ge 1 && $CLIENTS -le $POOL_SIZE ]] \
    || die "DHCP_CLIENTS must be between 1 and $POOL_SIZE (the pool), not '$CLIENTS'"
[[ $RUNS =~ ^[0-9]+$ && $RUNS -ge 1 ]] || die "DHCP_RUNS must be a positive number, not '$RUNS'"
[[ $RATE =~ ^[0-9]+$ && $RATE -ge 1 ]] || die "DHCP_RATE must be a positive number, not '$RATE'"
[[ $PERIOD =~ ^[0-9]+$ && $PERIOD -ge 1 ]] || die "DHCP_PERIOD must be a whole number of seconds, not '$PERIOD'"

# perfdhcp is in kea-admin on Debian 12, kea-dhcp4 in kea-dhcp4-server
# (installed without starting its host service), dnsmasq in dnsmasq-base.
if ! command -v perfdhcp >/dev/null || ! command -v kea-dhcp4 >/dev/null || ! command -v dnsmasq >/dev/null; then
    say "bench-dhcp: installing perfdhcp (kea-admin), kea-dhcp4 (kea-dhcp4-server) and dnsmasq (dnsmasq-base)"
    bash "$ROOT/tools/bootstrap.sh" servers kea-admin kea-dhcp4-server dnsmasq-base \
        || die "cannot install kea-admin, kea-dhcp4-server and dnsmasq-base"
fi
PERFDHCP=$(command -v perfdhcp) || die "perfdhcp is missing (dpkg -L kea-admin | grep perfdhcp)"
KEA=$(command -v kea-dhcp4) || die "kea-dhcp4 is missing (dpkg -L kea-dhcp4-server | grep kea-dhcp4)"
DNSMASQ=$(command -v dnsmasq) || die "dnsmasq is missing"
command -v ip >/dev/null || die "iproute2 (ip) is missing"
command -v ss >/dev/null || die "ss (iproute2) is missing"

if [[ -z ${LABCTL:-} ]]; then
    (cd "$ROOT" && cargo build --release --quiet) || die "cargo build --release failed"
    LABCTL=$ROOT/target/release/labctl
fi
[[ -x $LABCTL ]] || die "$LABCTL is not an executable"
for lab in "$LAB" "$REF_LAB"; do
    [[ ! -e $RUN_DIR/$lab ]] || die "lab $lab is already up (not by this run): take it down with 'labctl down $lab' first"
done
TMP=$(mktemp -d /tmp/labctl-bench-dhcp.XXXXXX)
chmod 755 "$TMP"     # dnsmasq drops to user nobody
mkdir "$TMP/kea"     # Kea's pid and lock files

# Pin the server and the load generator to separate cores when there are two.
if (( $(nproc) >= 2 )); then
    SERVER_CPU=(taskset -c 0)
    CLIENT_CPU=(taskset -c 1)
    PINNING="server on CPU 0, perfdhcp on CPU 1"
else
    SERVER_CPU=()
    CLIENT_CPU=()
    PINNING="no pinning (1 core)"
fi
TICKS=$(getconf CLK_TCK)

median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# CPU time (user + system, in clock ticks) of a process and all its threads.
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }

# ---------------------------------------------------------------- the labs

write_lab() {       # NAME WITH_DHCP(0|1)
    echo "# Generated by bench/dhcp.sh."
    echo "name: $1"
    echo "description: labctl DHCP benchmark"
    echo "nodes:"
    echo "  server:"
    echo "    kind: server"
    echo "    interfaces: {eth0: $SERVER_ADDR/$PREFIX}"
    if [[ $2 == 1 ]]; then
        echo "    services:"
        echo "      dhcp:"
        echo "        pools:"
        echo "          - {range: $POOL_FIRST-$POOL_LAST, lease: $LEASE}"
    fi
    echo "  sw0: {kind: switch}"
    echo "  perf: {kind: host, interfaces: {eth0: $RELAY_ADDR/$PREFIX}}"
    echo "links:"
    echo "  - [server, sw0]"
    echo "  - [perf, sw0]"
}

lab_up() {          # NAME
    local lab=$1
    STARTED_LABS+=("$lab")
    "$LABCTL" up "$TMP/$lab.yaml" >"$TMP/$lab.up.log" 2>&1 \
        || { cat "$TMP/$lab.up.log" >&2; die "labctl up $lab failed"; }
}

lab_down() {        # NAME
    "$LABCTL" down "$1" >"$TMP/$1.down.log" 2>&1 \
        || { cat "$TMP/$1.down.log" >&2; die "labctl down $1 failed"; }
}

daemon_pid() {      # LAB
    local pid
    read -r pid _ <"$RUN_DIR/$1/daemon.pid" || die "no daemon pid for lab $1"
    [[ -d /proc/$pid ]] || die "the daemon of lab $1 (pid $pid) is not running"
    echo "$pid"
}

# ---------------------------------------------------------------- perfdhcp

# Runs perfdhcp in LAB's perf node against its server; the report goes to
# FILE. perfdhcp exits 3 when some exchanges did not complete — expected
# under overload — and 1 or 2 when it broke.
# Its wall-clock, user and system seconds go to FILE.time.
load() {            # LAB FILE
    local lab=$1 file=$2 rc=0 TIMEFORMAT='%R %U %S'
    { time timeout $(( PERIOD + 60 )) ip netns exec "$lab.perf" "${CLIENT_CPU[@]}" \
        "$PERFDHCP" -4 -l "$RELAY_ADDR" -r "$RATE" -R "$CLIENTS" -p "$PERIOD" "$SERVER_ADDR" \
        >"$file" 2>&1 || rc=$? ; } 2>"$file.time"
    if (( rc != 0 && rc != 3 )); then
        cat "$file" >&2
        die "perfdhcp failed (exit $rc) against lab $lab"
    fi
    grep -q '^Rate: ' "$file" || { cat "$file" >&2; die "perfdhcp printed no rate (lab $lab)"; }
}

# From a perfdhcp report: completed 4-way exchanges per second, then the sent
# and received counts of the DISCOVER-OFFER and REQUEST-ACK exchanges.
rate_of() { awk '/^Rate: / { printf "%.0f", $2 }' "$1"; }
counts_of() {
    awk '/Statistics for: DISCOVER-OFFER/ { s = "do" } /Statistics for: REQUEST-ACK/ { s = "ra" }
         /^sent packets:/ { sent[s] = $3 } /^received packets:/ { got[s] = $3 }
         END { print sent["do"] + 0, got["do"] + 0, sent["ra"] + 0, got["ra"] + 0 }' "$1"
}

# Idle share of all CPUs over one second, in percent: other work on the
# machine (another benchmark, a build) makes every figure low and noisy.
idle_percent() {
    local a b c d e f g h t1 i1
    read -r _ a b c d e f g h _ </proc/stat
    t1=$(( a + b + c + d + e + f + g + h )); i1=$d
    sleep 1
    read -r _ a b c d e f g h _ </proc/stat
    echo $(( 100 * (d - i1) / (a + b + c + d + e + f + g + h - t1 + 1) ))
}
check_quiet() {
    local idle
    idle=$(idle_percent)
    if (( idle < 90 )); then
        say "  warning: the machine is busy before this run (${idle}% idle): expect low, noisy figures"
    fi
}

declare -A DORA CPU_US CORE CLIENT_CORE
record() {          # KEY FILE CPU_TICKS
    local key=$1 file=$2 ticks=$3 rate do_sent do_got ra_sent ra_got us core client
    rate=$(rate_of "$file")
    read -r do_sent do_got ra_sent ra_got < <(counts_of "$file")
    # CPU per completed exchange: ticks -> µs, divided by the ACKs received;
    # and how much of one core the server had (near 100% = it was the limit).
    us=$(awk -v t="$ticks" -v hz="$TICKS" -v n="$ra_got" 'BEGIN { if (n > 0) printf "%.0f", t * 1e6 / hz / n; else print "-" }')
    core=$(awk -v t="$ticks" -v hz="$TICKS" -v p="$PERIOD" 'BEGIN { printf "%.0f", 100 * t / hz / p }')
    # perfdhcp's share of its core over its run: near 100%, and fewer
    # DISCOVERs sent than offered, means the load generator was the limit.
    client=$(awk '{ printf "%.0f", ($1 > 0) ? 100 * ($2 + $3) / $1 : 0 }' "$file.time")
    DORA[$key]+=" $rate"
    CPU_US[$key]+=" $us"
    CORE[$key]+=" $core%"
    CLIENT_CORE[$key]+=" $client%"
    say "  $rate DORA/s; DISCOVER $do_sent sent, OFFER $do_got received; REQUEST $ra_sent sent, ACK $ra_got received; server CPU $us µs per DORA, $core% of a core; perfdhcp $client% of its core"
}

# ---------------------------------------------------------------- the servers

measure_labctl() {  # RUN
    local file=$TMP/labctl.$1.txt pid before after
    say "== run $1/$RUNS: labctl (lab $LAB)"
    lab_up "$LAB"
    pid=$(daemon_pid "$LAB")
    if (( ${#SERVER_CPU[@]} )); then taskset -a -p -c 0 "$pid" >/dev/null || die "cannot pin the daemon of lab $LAB"; fi
    # `labctl up` returns once the server's sockets are bound.
    ip netns exec "$LAB.server" ss -Hlun "sport = :67" | grep -q . || die "labctl's DHCP server is not listening on :67 in lab $LAB"
    check_quiet
    before=$(cpu_ticks "$pid")
    load "$LAB" "$file"
    after=$(cpu_ticks "$pid")
    record labctl "$file" $(( after - before ))
    cp "$RUN_DIR/$LAB/daemon.log" "$TMP/labctl.$1.daemon.log" 2>/dev/null || true
    lab_down "$LAB"
}

# Kea's configuration: the same subnet, pool and lease time; the memfile
# lease database persisted to LEASES; UDP sockets on eth0 (every packet is
# relayed), retried for up to 5 s while the interface comes up; warnings
# only on stderr.
write_kea_conf() {  # LEASES
    cat <<EOF
{
  "Dhcp4": {
    "interfaces-config": {
      "interfaces": [ "eth0" ], "dhcp-socket-type": "udp",
      "service-sockets-max-retries": 50, "service-sockets-retry-wait-time": 100
    },
    "lease-database": { "type": "memfile", "persist": true, "name": "$1", "lfc-interval": 0 },
    "valid-lifetime": 3600,
    "subnet4": [ {
      "id": 1,
      "subnet": "$SUBNET",
      "pools": [ { "pool": "$POOL_FIRST - $POOL_LAST" } ]
    } ],
    "loggers": [ {
      "name": "kea-dhcp4",
      "output_options": [ { "output": "stderr" } ],
      "severity": "WARN"
    } ]
  }
}
EOF
}

# Starts KEY (kea, dnsmasq or dnsmasq-ro) in the reference lab's server node,
# pinned; its pid goes to PEER_PID. `labctl exec` execs taskset, env and the
# server in turn: $! is the server's pid.
start_peer() {      # RUN KEY
    local run=$1 key=$2 log=$TMP/$2.$1.log leases
    case $key in
    kea)
        write_kea_conf "$TMP/kea.$run.leases.csv" >"$TMP/kea.$run.json"
        "$LABCTL" exec "$REF_LAB" server -- "${SERVER_CPU[@]}" \
            env KEA_PIDFILE_DIR="$TMP/kea" KEA_LOCKFILE_DIR="$TMP/kea" \
            "$KEA" -c "$TMP/kea.$run.json" >"$log" 2>&1 &
        ;;
    dnsmasq | dnsmasq-ro)
        leases=--dhcp-leasefile="$TMP/dnsmasq.$run.leases"
        [[ $key == dnsmasq-ro ]] && leases=--leasefile-ro
        "$LABCTL" exec "$REF_LAB" server -- "${SERVER_CPU[@]}" "$DNSMASQ" -k \
            --conf-file=/dev/null --port=0 --interface=eth0 --bind-interfaces --no-ping \
            --dhcp-range="$POOL_FIRST,$POOL_LAST,255.255.0.0,$LEASE" --dhcp-lease-max=$(( POOL_SIZE + 1000 )) \
            "$leases" >"$log" 2>&1 &
        ;;
    *) die "unknown server $key" ;;
    esac
    PEER_PID=$!
}

measure_peer() {    # RUN KEY
    local run=$1 key=$2 file=$TMP/$2.$1.txt pid before after i
    say "== run $run/$RUNS: $key (lab $REF_LAB)"
    start_peer "$run" "$key"
    pid=$PEER_PID
    for (( i = 0; i < 100; i++ )); do
        if ip netns exec "$REF_LAB.server" ss -Hlunp "sport = :67" | grep -q "pid=$pid,"; then break; fi
        [[ -d /proc/$pid ]] || { cat "$TMP/$key.$run.log" >&2; die "$key did not start"; }
        sleep 0.05
    done
    (( i < 100 )) || { cat "$TMP/$key.$run.log" >&2; die "$key is not listening on :67 after 5 s"; }
    check_quiet
    before=$(cpu_ticks "$pid")
    load "$REF_LAB" "$file"
    after=$(cpu_ticks "$pid")
    stop_peer
    record "$key" "$file" $(( after - before ))
}

# ---------------------------------------------------------------- main

say "labctl DHCP benchmark: $LABCTL ($("$LABCTL" --version 2>/dev/null || echo "version unknown")), $("$PERFDHCP" -v 2>&1 | awk 'NR == 1' | sed 's/^/perfdhcp /'), kea-dhcp4 $("$KEA" -v 2>&1 | awk 'NR == 1'), $("$DNSMASQ" --version | awk 'NR == 1')"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
say "machine: $(nproc) cores, kernel $(uname -r), load average $LOAD_BEFORE; $PINNING"
say "load: perfdhcp -4 -r $RATE -R $CLIENTS -p $PERIOD, relayed from $RELAY_ADDR to $SERVER_ADDR; pool $POOL_FIRST-$POOL_LAST ($POOL_SIZE addresses), lease $LEASE"
write_lab "$LAB" 1 >"$TMP/$LAB.yaml"
write_lab "$REF_LAB" 0 >"$TMP/$REF_LAB.yaml"
for lab in "$LAB" "$REF_LAB"; do
    "$LABCTL" validate "$TMP/$lab.yaml" >/dev/null || die "the generated $lab.yaml is not valid"
done
lab_up "$REF_LAB"
for (( run = 1; run <= RUNS; run++ )); do
    measure_labctl "$run"
    measure_peer "$run" kea
    measure_peer "$run" dnsmasq
    measure_peer "$run" dnsmasq-ro
done
lab_down "$REF_LAB"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "inf" }'; }
atleast() { awk -v v="$1" -v t="$2" 'BEGIN { print (v != "inf" && v >= t) ? "PASS" : "MISS" }'; }
above() { awk -v v="$1" -v t="$2" 'BEGIN { print (v != "inf" && v > t) ? "PASS" : "MISS" }'; }

labctl=$(median "${DORA[labctl]}")
labctl_us=$(median "${CPU_US[labctl]}")
echo
echo "DHCP server throughput — $(date +%Y-%m-%d), $(nproc) cores, kernel $(uname -r), median of $RUNS runs of ${PERIOD} s"
echo "load: perfdhcp -r $RATE -R $CLIENTS (relayed); $PINNING; machine load average $LOAD_BEFORE before, $(cut -d' ' -f1-3 /proc/loadavg) after"
echo "targets: labctl >= $TARGET_DORA DORA/s; labctl/kea >= ${TARGET_KEA_RATIO}x DORA/s with less server CPU per DORA than kea; labctl/dnsmasq >= ${TARGET_RATIO}x"
echo
row() { printf '| %-24s | %-13s | %-19s | %-22s | %-28s |\n' "$@"; }
row server DORA/s "server CPU per DORA" "DORA/s, labctl / this" "CPU per DORA, this / labctl"
row ------------------------ ------------: ------------------: ---------------------- ----------------------------
row "labctl" "$labctl $(atleast "$labctl" $TARGET_DORA)" "$labctl_us us" "" ""
for key in kea dnsmasq dnsmasq-ro; do
    value=$(median "${DORA[$key]}")
    us=$(median "${CPU_US[$key]}")
    r=$(ratio "$labctl" "$value")
    c=$(ratio "$us" "$labctl_us")
    case $key in
    kea) name="kea (memfile, persisted)"; verdict="$(atleast "$r" $TARGET_KEA_RATIO)"; cpu_verdict=" $(above "$c" 1)" ;;
    dnsmasq) name="dnsmasq (lease file)"; verdict="$(atleast "$r" $TARGET_RATIO)"; cpu_verdict="" ;;
    *) name="dnsmasq (--leasefile-ro)"; verdict="(for information)"; cpu_verdict="" ;;
    esac
    row "$name" "$value" "$us us" "${r}x $verdict" "${c}x$cpu_verdict"
done
echo
echo "every run (DORA/s; server CPU per DORA in us; the server's use of its core; perfdhcp's of its own):"
for key in labctl kea dnsmasq dnsmasq-ro; do echo "  $key:${DORA[$key]};${CPU_US[$key]}; server${CORE[$key]}; perfdhcp${CLIENT_CORE[$key]}"; done
