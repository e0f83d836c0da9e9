#!/usr/bin/env bash
# bench/imap.sh — IMAP retrieval benchmark (`make bench`, as root).
#
# What it is for: how fast labctl's IMAP server hands out 1,000 messages,
# against Dovecot (dovecot-imapd) measured the same way in the same run, in
# plain text (143) and over TLS from the first byte (993); and, in plain
# text, against the machine's floor: imap-floor (bench/imap_floor.rs), which
# answers the same dialogue from memory with one read and one write per
# command, so what it takes is the kernel's TCP path and nothing else.
#
# How:
#   1. One lab (bench-imap) with three nodes on one switch: `imap` runs
#      labctl's mail service (IMAP on 143, IMAPS on 993: `tls: optional`),
#      `ref` runs Dovecot (started by this script inside the node with
#      `labctl exec`, listening only on the node's address, its maildirs and
#      config in a temp dir; `ssl = yes`, so 143 plain and 993 TLS, with a
#      certificate the lab's CA issued to ref, which serves an idle web site
#      with TLS only for that), `floor` runs imap-floor on 143 (started the
#      same way), and `client` runs the load. Dovecot's
#      `ssl = required` would refuse the plain-text runs' LOGIN on 143; on
#      993 it changes nothing.
#   2. The same IMAP_MESSAGES messages (default 1,000, about 5 KiB each:
#      text and a base64 attachment) are put into ada's INBOX on both
#      servers as maildir files in new/ (both servers pick such files up).
#   3. imap-load (bench/imap_load.rs, built here as a cargo example; it
#      reads each reply whole and looks only at its last line, so the
#      client's work stays small) logs in, selects INBOX and times (a) one
#      `UID FETCH 1:* (UID FLAGS RFC822.SIZE BODY.PEEK[])` — bulk retrieval,
#      as a client syncing a mailbox does — and (b) one
#      `UID FETCH n (BODY.PEEK[])` per message, one after the other — the
#      round-trip-bound way of reading one at a time. Each session once in
#      plain text and once over TLS (993, the certificate checked against
#      the lab's CA; the handshake is before the timed part).
#   4. One warm-up session per server (Dovecot builds its index, labctl
#      its UID list), then IMAP_RUNS (default 5) sessions per server and
#      mode, interleaved; the table shows the medians, the ratio
#      Dovecot time / labctl time (above 1: labctl is faster; target for
#      one FETCH per message: at least 2x), the floor's time and labctl's
#      rate as a share of the floor's (100 % is all the machine does), and the
#      client's own CPU time as a share of the time measured (near 100 %
#      would mean the client, not the server, sets the pace). The client
#      was a Python script until TLS came: Python's ssl module spent 3-4
#      times longer than this client on the same bulk reply over TLS, and
#      set the pace there.
#   5. With 2 cores or more, the servers are pinned to CPU 0 and the client
#      to CPU 1 (taskset).
# It prints the ratio (a result, not a pass/fail); it exits non-zero only
# when something broke (the lab did not come up, a server did not answer, a
# FETCH returned the wrong number of messages…).
#
# Everything happens inside the lab's namespaces (bench-imap.*): no traffic
# leaves them. On exit — normal, error, Ctrl-C or SIGTERM — it stops the
# Dovecot it started (by pid), takes down the lab it brought up and removes
# its temp dir, and nothing else; it refuses to start if the lab is up.
#
# Environment:
#   LABCTL=PATH        benchmark this binary instead of building target/release/labctl
#   IMAP_LOAD=PATH     the client (default: built as target/release/examples/imap-load)
#   IMAP_FLOOR=PATH    the floor (default: built as target/release/examples/imap-floor)
#   IMAP_MESSAGES=N    messages in the mailbox (default 1000)
#   IMAP_RUNS=N        measured sessions per server (default 5)
#   BENCH_KEEP=1       keep the temp dir (lab file, Dovecot config and log)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MESSAGES=${IMAP_MESSAGES:-1000}
RUNS=${IMAP_RUNS:-5}
RUN_DIR=${LABCTL_RUN_DIR:-/run/labctl}
LAB=bench-imap
LABCTL_ADDR=10.78.0.10
DOVECOT_ADDR=10.78.0.11
FLOOR_ADDR=10.78.0.12
TARGET_SINGLE=2
TMP=""
DOVECOT_PID=""
FLOOR_PID=""
LAB_STARTED=0

say() { printf '%s\n' "$*" >&2; }
die() { say "bench-imap: error: $*"; exit 1; }

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    local pid
    for pid in $DOVECOT_PID $FLOOR_PID; do
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if (( LAB_STARTED )) && [[ -e $RUN_DIR/$LAB ]]; then
        "$LABCTL" down "$LAB" >/dev/null 2>&1 || say "bench-imap: warning: could not take down lab $LAB"
    fi
    if [[ -n $TMP ]]; then
        if [[ ${BENCH_KEEP:-0} == 1 ]]; then say "bench-imap: files kept in $TMP"; else rm -rf "$TMP"; fi
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'say "bench-imap: interrupted"; exit 130' INT
trap 'say "bench-imap: terminated"; exit 143' TERM

[[ $(id -u) == 0 ]] || die "run as root (labctl up needs CAP_SYS_ADMIN)"
[[ $MESSAGES =~ ^[0-9]+$ && $MESSAGES -ge 1 && $MESSAGES -le 20000 ]] || die "IMAP_MESSAGES must be 1..20000, not '$MESSAGES'"
[[ $RUNS =~ ^[0-9]+$ && $RUNS -ge 1 && $RUNS -le 50 ]] || die "IMAP_RUNS must be 1..50, not '$RUNS'"
if [[ ! -x /usr/sbin/dovecot ]] || [[ ! -e /usr/lib/dovecot/imap ]]; then
    say "bench-imap: installing dovecot-imapd"
    bash "$ROOT/tools/bootstrap.sh" servers dovecot-imapd \
        || die "cannot install dovecot-imapd"
fi
command -v python3 >/dev/null || die "python3 is missing"
if [[ -z ${LABCTL:-} ]]; then
    (cd "$ROOT" && cargo build --release --quiet) || die "cargo build --release failed"
    LABCTL=$ROOT/target/release/labctl
fi
[[ -x $LABCTL ]] || die "$LABCTL is not an executable"
if [[ -z ${IMAP_LOAD:-} ]]; then
    (cd "$ROOT" && cargo build --release --locked --quiet --example imap-load) \
        || die "cannot build the client (cargo build --release --example imap-load)"
    IMAP_LOAD=$ROOT/target/release/examples/imap-load
fi
[[ -x $IMAP_LOAD ]] || die "$IMAP_LOAD is not an executable"
if [[ -z ${IMAP_FLOOR:-} ]]; then
    (cd "$ROOT" && cargo build --release --locked --quiet --example imap-floor) \
        || die "cannot build the floor (cargo build --release --example imap-floor)"
    IMAP_FLOOR=$ROOT/target/release/examples/imap-floor
fi
[[ -x $IMAP_FLOOR ]] || die "$IMAP_FLOOR is not an executable"
[[ ! -e $RUN_DIR/$LAB ]] || die "lab $LAB is already up (not by this run): take it down with 'labctl down $LAB' first"

TMP=$(mktemp -d /tmp/labctl-bench-imap.XXXXXX)
chmod 755 "$TMP"    # Dovecot reads the mail as user nobody
if (( $(nproc) >= 2 )); then
    SERVER_CPU=(taskset -c 0); CLIENT_CPU=(taskset -c 1); PINNING="servers on CPU 0, client on CPU 1"
else
    SERVER_CPU=(); CLIENT_CPU=(); PINNING="no pinning (1 core)"
fi

cat >"$TMP/lab.yaml" <<YAML
name: $LAB
nodes:
  sw0: {kind: switch}
  imap:
    kind: server
    interfaces: {eth0: $LABCTL_ADDR/24}
    services:
      mail:
        domains: [mt.com]
        users: {ada: secret}
        tls: optional
  ref:
    kind: server
    interfaces: {eth0: $DOVECOT_ADDR/24}
    services:
      # Idle: only so that the lab's CA issues ref a certificate (Dovecot's).
      web: {pages: {/: reference}, tls: optional}
  floor:
    kind: server
    interfaces: {eth0: $FLOOR_ADDR/24}
  client:
    kind: host
    interfaces: {eth0: 10.78.0.20/24}
links:
  - [imap, sw0]
  - [ref, sw0]
  - [floor, sw0]
  - [client, sw0]
YAML

# ---------------------------------------------------------------- the mail
say "bench-imap: writing $MESSAGES messages"
python3 - "$TMP/messages" "$MESSAGES" <<'PY'
import base64, os, sys
out, count = sys.argv[1], int(sys.argv[2])
os.makedirs(out)
for i in range(count):
    blob = bytes((i * 7 + j) % 256 for j in range(3000))
    encoded = base64.encodebytes(blob).decode().replace("\n", "\r\n")
    message = (f"From: Bob <bob@mt.com>\r\nTo: Ada <ada@mt.com>\r\nSubject: message {i}\r\n"
               f"Date: Tue, 1 Dec 2026 08:00:00 +0000\r\nMessage-ID: <{i}@mt.com>\r\nMIME-Version: 1.0\r\n"
               "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n"
               + f"Line {i} of the benchmark.\r\n" * 20
               + "--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
               + encoded + "--b--\r\n")
    with open(os.path.join(out, f"1764576000.M{i}P1.bench"), "wb") as f:
        f.write(message.encode())
PY

say "bench-imap: bringing up lab $LAB"
LAB_STARTED=1
"$LABCTL" up "$TMP/lab.yaml" >"$TMP/up.log" 2>&1 || { cat "$TMP/up.log" >&2; die "labctl up failed"; }
LABCTL_MAILDIR=$RUN_DIR/$LAB/mail/imap/maildirs/ada
[[ -d $LABCTL_MAILDIR/new ]] || die "labctl's maildir $LABCTL_MAILDIR is missing"
cp "$TMP"/messages/* "$LABCTL_MAILDIR/new/"
DAEMON_PID=$(awk '{print $1}' "$RUN_DIR/$LAB/daemon.pid")
if (( ${#SERVER_CPU[@]} )); then taskset -a -p -c 0 "$DAEMON_PID" >/dev/null || die "cannot pin the lab daemon"; fi

# ---------------------------------------------------------------- Dovecot
DOVECOT=$TMP/dovecot
mkdir -p "$DOVECOT/run" "$DOVECOT/maildir/ada/new" "$DOVECOT/maildir/ada/cur" "$DOVECOT/maildir/ada/tmp" "$DOVECOT/home/ada"
cp "$TMP"/messages/* "$DOVECOT/maildir/ada/new/"
chown -R nobody:nogroup "$DOVECOT/maildir" "$DOVECOT/home"
# ref's certificate (and the CA's after it) and key, from the lab's CA;
# Dovecot's master reads them as root.
install -m 600 "$RUN_DIR/$LAB/tls/ref.pem" "$RUN_DIR/$LAB/tls/ref.key" "$DOVECOT/"
cat >"$DOVECOT/dovecot.conf" <<CONF
base_dir = $DOVECOT/run
state_dir = $DOVECOT/state
listen = $DOVECOT_ADDR
protocols = imap
ssl = yes
ssl_cert = <$DOVECOT/ref.pem
ssl_key = <$DOVECOT/ref.key
disable_plaintext_auth = no
auth_mechanisms = plain
log_path = $DOVECOT/dovecot.log
mail_location = maildir:$DOVECOT/maildir/%u
passdb {
  driver = static
  args = password=secret
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$DOVECOT/home/%u
}
CONF
# exec replaces labctl, then taskset, by dovecot: \$! is Dovecot's master.
"$LABCTL" exec "$LAB" ref -- "${SERVER_CPU[@]}" /usr/sbin/dovecot -F -c "$DOVECOT/dovecot.conf" >"$DOVECOT/stdout.log" 2>&1 &
DOVECOT_PID=$!
# ---------------------------------------------------------------- the floor
"$LABCTL" exec "$LAB" floor -- "${SERVER_CPU[@]}" "$IMAP_FLOOR" --listen "$FLOOR_ADDR:143" --messages "$TMP/messages" >"$TMP/floor.log" 2>&1 &
FLOOR_PID=$!

wait_listening() { # NODE ADDRESS PORT
    local i
    for (( i = 0; i < 100; i++ )); do
        ip netns exec "$LAB.$1" ss -Hltn "sport = :$3" | grep -q "$2:$3" && return 0
        sleep 0.05
    done
    return 1
}
for port in 143 993; do
    wait_listening imap "0.0.0.0" $port || die "labctl's IMAP server is not listening on $port"
    wait_listening ref "$DOVECOT_ADDR" $port || { cat "$DOVECOT/stdout.log" "$DOVECOT/dovecot.log" >&2 2>/dev/null; die "Dovecot is not listening on $port"; }
done
wait_listening floor "$FLOOR_ADDR" 143 || { cat "$TMP/floor.log" >&2; die "imap-floor is not listening on 143"; }

# ---------------------------------------------------------------- measuring
"$LABCTL" ca "$LAB" -o "$TMP/ca.pem" 2>/dev/null || die "cannot export the lab's CA"
session() { # ADDRESS MODE → "bulk single messages octets bulk_cpu single_cpu"
    local tls=(); [[ $2 == tls ]] && tls=(--tls --ca "$TMP/ca.pem")
    timeout 300 "$LABCTL" exec "$LAB" client -- "${CLIENT_CPU[@]}" "$IMAP_LOAD" "$1" "$MESSAGES" "${tls[@]}" \
        || die "the IMAP session ($2) with $1 failed"
}
median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

say "bench-imap: warm-up sessions"
for mode in plain tls; do
    session "$LABCTL_ADDR" $mode >/dev/null
    session "$DOVECOT_ADDR" $mode >/dev/null
done
session "$FLOOR_ADDR" plain >/dev/null
# Times and the client's CPU share (percent), by "kind server mode".
declare -A TIMES SHARE
for (( run = 1; run <= RUNS; run++ )); do
    for mode in plain tls; do
        for server in labctl dovecot floor; do
            [[ $server == floor && $mode == tls ]] && continue
            case $server in
                labctl) address=$LABCTL_ADDR ;;
                dovecot) address=$DOVECOT_ADDR ;;
                floor) address=$FLOOR_ADDR ;;
            esac
            read -r bulk single fetched octets bulk_cpu single_cpu < <(session "$address" $mode)
            say "  run $run/$RUNS $server $mode: bulk ${bulk}s, one by one ${single}s ($fetched messages, $octets octets; client CPU ${bulk_cpu}s, ${single_cpu}s)"
            TIMES[bulk $server $mode]+=" $bulk"
            TIMES[single $server $mode]+=" $single"
            SHARE[bulk $server $mode]+=" $(awk -v c="$bulk_cpu" -v t="$bulk" 'BEGIN { printf "%.0f", 100 * c / t }')"
            SHARE[single $server $mode]+=" $(awk -v c="$single_cpu" -v t="$single" 'BEGIN { printf "%.0f", 100 * c / t }')"
        done
    done
done

row() { printf '%-36s %10s %10s %12s %10s %9s %18s\n' "$@"; }
echo
echo "IMAP retrieval of $MESSAGES messages — $(date +%Y-%m-%d), $(nproc) cores, $PINNING, median of $RUNS sessions, load average $(cut -d' ' -f1-3 /proc/loadavg)"
row "" "labctl" "Dovecot" "ratio" "floor" "of floor" "client CPU share"
for mode in plain tls; do
    for kind in bulk single; do
        name="UID FETCH 1:* BODY.PEEK[]"; [[ $kind == single ]] && name="one UID FETCH per message"
        [[ $mode == tls ]] && name="$name, TLS"
        l=$(median "${TIMES[$kind labctl $mode]}"); d=$(median "${TIMES[$kind dovecot $mode]}")
        ratio=$(awk -v l="$l" -v d="$d" 'BEGIN { printf "%.2fx", d / l }')
        if [[ $kind == single ]]; then
            ratio+=" $(awk -v l="$l" -v d="$d" -v t=$TARGET_SINGLE 'BEGIN { print (d / l >= t) ? "PASS" : "MISS" }')"
        fi
        floor="—"; share_of_floor="—"
        if [[ $mode == plain ]]; then
            f=$(median "${TIMES[$kind floor plain]}")
            floor="${f}s"; share_of_floor=$(awk -v l="$l" -v f="$f" 'BEGIN { printf "%.0f%%", 100 * f / l }')
        fi
        share="$(median "${SHARE[$kind labctl $mode]}")% / $(median "${SHARE[$kind dovecot $mode]}")%"
        row "$name" "${l}s" "${d}s" "$ratio" "$floor" "$share_of_floor" "$share"
    done
done
echo "(ratio = Dovecot time / labctl time: above 1 means labctl is faster, target for one FETCH per message >= ${TARGET_SINGLE}x;"
echo " floor = imap-floor answering from memory, plain text only; of floor = floor time / labctl time;"
echo " TLS on 993, handshake not timed; client CPU share = the client's CPU time / the time measured, labctl / Dovecot)"
