#!/usr/bin/env bash
# bench/imap.sh — IMAP retrieval benchmark (`make bench`, as root).
#
# What it is for: how fast labctl's IMAP server hands out 1,000 messages,
# against Dovecot (dovecot-imapd) measured the same way in the same run.
#
# How:
#   1. One lab (bench-imap) with three nodes on one switch: `imap` runs
#      labctl's mail service (IMAP on 143), `ref` runs Dovecot (started by
#      this script inside the node with `labctl exec`, listening only on the
#      node's address, its maildirs and config in a temp dir), and `client`
#      runs the load.
#   2. The same IMAP_MESSAGES messages (default 1,000, about 5 KiB each:
#      text and a base64 attachment) are put into ada's INBOX on both
#      servers as maildir files in new/ (both servers pick such files up).
#   3. bench/imap_client.py (a raw-socket client, so client parsing stays
#      small) logs in, selects INBOX and times (a) one
#      `UID FETCH 1:* (UID FLAGS RFC822.SIZE BODY.PEEK[])` — bulk retrieval,
#      as a client syncing a mailbox does — and (b) one
#      `UID FETCH n (BODY.PEEK[])` per message, one after the other — the
#      round-trip-bound way of reading one at a time.
#   4. One warm-up session per server (Dovecot builds its index, labctl
#      its UID list), then IMAP_RUNS (default 5) sessions per server,
#      interleaved; the table shows the medians and the ratio
#      Dovecot time / labctl time (above 1: labctl is faster).
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
TMP=""
DOVECOT_PID=""
LAB_STARTED=0

say() { printf '%s\n' "$*" >&2; }
die() { say "bench-imap: error: $*"; exit 1; }

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -n $DOVECOT_PID ]]; then
        kill -TERM "$DOVECOT_PID" 2>/dev/null || true
        wait "$DOVECOT_PID" 2>/dev/null || true
    fi
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
  ref:
    kind: server
    interfaces: {eth0: $DOVECOT_ADDR/24}
  client:
    kind: host
    interfaces: {eth0: 10.78.0.20/24}
links:
  - [imap, sw0]
  - [ref, sw0]
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
cat >"$DOVECOT/dovecot.conf" <<CONF
base_dir = $DOVECOT/run
state_dir = $DOVECOT/state
listen = $DOVECOT_ADDR
protocols = imap
ssl = no
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

wait_listening() { # NODE ADDRESS
    local i
    for (( i = 0; i < 100; i++ )); do
        ip netns exec "$LAB.$1" ss -Hltn "sport = :143" | grep -q "$2:143" && return 0
        sleep 0.05
    done
    return 1
}
wait_listening imap "0.0.0.0" || die "labctl's IMAP server is not listening on 143"
wait_listening ref "$DOVECOT_ADDR" || { cat "$DOVECOT/stdout.log" "$DOVECOT/dovecot.log" >&2 2>/dev/null; die "Dovecot is not listening on 143"; }

# ---------------------------------------------------------------- measuring
CLIENT=$ROOT/bench/imap_client.py
session() { # ADDRESS → "bulk single messages octets"
    timeout 300 "$LABCTL" exec "$LAB" client -- "${CLIENT_CPU[@]}" python3 "$CLIENT" "$1" "$MESSAGES" \
        || die "the IMAP session with $1 failed"
}
median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

say "bench-imap: warm-up sessions"
session "$LABCTL_ADDR" >/dev/null
session "$DOVECOT_ADDR" >/dev/null
declare -A BULK SINGLE
for (( run = 1; run <= RUNS; run++ )); do
    for server in labctl dovecot; do
        address=$LABCTL_ADDR; [[ $server == dovecot ]] && address=$DOVECOT_ADDR
        read -r bulk single fetched octets < <(session "$address")
        say "  run $run/$RUNS $server: bulk ${bulk}s, one by one ${single}s ($fetched messages, $octets octets)"
        BULK[$server]+=" $bulk"
        SINGLE[$server]+=" $single"
    done
done

row() { printf '%-26s %12s %12s %8s\n' "$@"; }
echo
echo "IMAP retrieval of $MESSAGES messages — $(date +%Y-%m-%d), $(nproc) cores, $PINNING, median of $RUNS sessions"
row "" "labctl" "Dovecot" "ratio"
for kind in bulk single; do
    if [[ $kind == bulk ]]; then
        l=$(median "${BULK[labctl]}"); d=$(median "${BULK[dovecot]}"); name="UID FETCH 1:* BODY.PEEK[]"
    else
        l=$(median "${SINGLE[labctl]}"); d=$(median "${SINGLE[dovecot]}"); name="one UID FETCH per message"
    fi
    ratio=$(awk -v l="$l" -v d="$d" 'BEGIN { printf "%.2fx", d / l }')
    row "$name" "${l}s" "${d}s" "$ratio"
done
echo "(ratio = Dovecot time / labctl time: above 1 means labctl is faster)"
