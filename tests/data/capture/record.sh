#!/bin/sh
# Records the capture fixtures of this directory from real labs (root).
# Each scenario is a directory of classic pcap files, one per tap, named
# NODE_IFACE.pcap, written by one tcpdump per interface inside the node's
# namespace while the scenario's traffic runs. All tcpdumps stamp with the
# kernel's one clock (nanoseconds), so the tests merge them by time.
#   sh tests/data/capture/record.sh            # from the repository root
# The labs are named cdrec and cdrec-dns: the tests load the lab files under
# these names, so the MAC addresses the plan derives match the recording.
set -eu
LABCTL=${LABCTL:-./target/debug/labctl}
OUT=${OUT:-tests/data/capture}
FILTER="not ip6"

# start LAB SCENARIO NODE:IFACE… — one tcpdump per tap, pids in $PIDS.
start() {
    lab=$1 scenario=$2
    shift 2
    rm -rf "$OUT/$scenario"
    mkdir -p "$OUT/$scenario"
    PIDS=""
    for tap in "$@"; do
        node=${tap%%:*} iface=${tap#*:}
        ip netns exec "$lab.$node" tcpdump -q -U -i "$iface" \
            --time-stamp-precision=nano -w "$OUT/$scenario/${node}_$iface.pcap" \
            $FILTER 2>/dev/null &
        PIDS="$PIDS $!"
    done
    sleep 1
}

stop() {
    sleep 1
    kill -INT $PIDS
    wait $PIDS || true
    PIDS=""
}

# Labs of these names may be someone else's: refuse rather than record into
# (or tear down) them.
for lab in cdrec cdrec-dns; do
    if $LABCTL status "$lab" >/dev/null 2>&1; then
        echo "record.sh: a lab named $lab is already up; take it down first (labctl down $lab)" >&2
        exit 1
    fi
done

# up FILE NAME — the exit trap tears down only the labs this script brought
# up, and stops its tcpdumps if a step failed between start and stop.
UP="" PIDS=""
trap '[ -z "$PIDS" ] || kill -INT $PIDS 2>/dev/null; for lab in $UP; do $LABCTL down "$lab" >/dev/null 2>&1; done' EXIT
up() {
    $LABCTL up "$1" --name "$2" >/dev/null
    UP="$UP $2"
}

up labs/mastertech.yaml cdrec

# A DHCP exchange of mgmt-pc2 through r2's relay to `server`, then a release.
start cdrec dhcp-relay mgmt-pc2:eth0 r2:eth1 r2:eth0 r1:eth0 r1:eth1 server:eth0
state=$(mktemp -d)
$LABCTL exec cdrec mgmt-pc2 -- dhclient -1 -sf /bin/true -pf "$state/pid" -lf "$state/lease" eth0
$LABCTL exec cdrec mgmt-pc2 -- dhclient -r -sf /bin/true -pf "$state/pid" -lf "$state/lease" eth0
rm -rf "$state"
stop

# One ping from mgmt-pc1 to mail across sw-mgmt, r2, r1 and sw-backend.
start cdrec ping-two-routers mgmt-pc1:eth0 sw-mgmt:eth1 sw-mgmt:eth0 r2:eth1 r2:eth0 \
    r1:eth0 r1:eth1 sw-backend:eth0 sw-backend:eth3 mail:eth0
$LABCTL exec cdrec mgmt-pc1 -- ping -c1 -W2 192.168.10.4 >/dev/null
stop

# Bob's mail to Ada across both routers: labctl's client (AUTH PLAIN), then
# swaks (AUTH LOGIN).
start cdrec smtp-two-routers mgmt-pc1:eth0 r2:eth0 r1:eth1 mail:eth0
$LABCTL mail send cdrec mgmt-pc1 --to ada@mt.com --subject 'Lunch?' --body 'At noon, Ada?' >/dev/null
$LABCTL exec cdrec mgmt-pc1 -- swaks --server 192.168.10.4 --auth LOGIN --auth-user bob \
    --auth-password secret --from bob@mt.com --to ada@mt.com \
    --header 'Subject: Minutes' --body 'See you.' >/dev/null
stop

# Ada reads her mail by POP3, Bob his by IMAP (Ada's mail to him is sent
# first, not recorded), frontend-pc1 fetches the web page.
$LABCTL mail send cdrec backend-pc1 --to bob@mt.com --subject 'Re: Lunch?' --body 'Yes.' >/dev/null
start cdrec pop3-imap-http backend-pc1:eth0 mgmt-pc1:eth0 frontend-pc1:eth0 mail:eth0 web:eth0
$LABCTL mail read cdrec backend-pc1 1 >/dev/null
$LABCTL mail read cdrec mgmt-pc1 1 >/dev/null
$LABCTL exec cdrec frontend-pc1 -- curl -s -o /dev/null http://www.mastertech.com/
stop
$LABCTL down cdrec >/dev/null
UP=""

# The resolver's walk from the root to example.com's server, for pc0's dig.
up labs/dns-hierarchy.yaml cdrec-dns
start cdrec-dns dns-walk pc0:eth0 resolver:eth0 r1:eth1 r1:eth0 root:eth0 tld-com:eth0 ns-example:eth0
$LABCTL exec cdrec-dns pc0 -- dig +tries=1 www.example.com >/dev/null
stop
