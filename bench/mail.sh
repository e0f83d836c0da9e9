#!/usr/bin/env bash
# bench/mail.sh — mail server benchmark (`make bench`, as root).
#
# What it is for: how many messages per second labctl's SMTP server accepts
# with durable storage (each 250 only after tmp/ + fsync + rename into new/ +
# fsync of the directory), against Postfix with its queue on disk measured
# the same way in the same run; and how fast labctl's POP3 server hands out
# 1,000 messages, against Dovecot's POP3 server on the same messages.
#
# How:
#   1. One lab (bench-mail): node `mx` runs labctl's mail service (domain
#      bench.test), node `ref` runs the reference servers, node `load` the
#      clients, all on one switch. Nothing leaves the lab's namespaces.
#   2. SMTP: smtp-source (postfix package) opens 20 sessions and sends
#      MAIL_MESSAGES messages (default 5,000) of 5 KiB each to to@bench.test,
#      once against labctl (port 25 of mx) and once against Postfix (a private
#      instance in ref: its own config dir, queue and data dirs under the temp
#      dir, `local_transport = discard` so the figure is its smtpd + cleanup +
#      queue manager with the queue fsynced, the same promise as our 250),
#      MAIL_RUNS times (default 3) interleaved; the median rate is shown.
#   3. POP3: 1,000 messages of 5 KiB are put into both maildirs (labctl's
#      store and Dovecot's), then one Python poplib client logs in, LISTs and
#      RETRs all of them and quits (no DELE), against labctl (mx:110) and
#      Dovecot (ref:110), after one warm-up pass each; median of MAIL_RUNS.
# Target of the mail issue: SMTP >= 2x Postfix. It prints PASS/MISS (a miss
# is a result, not a failure) and exits non-zero only when something broke.
# The machine's load average is printed: other work on the machine changes
# both figures, the ratio less.
#
# On exit (normal, error, Ctrl-C) it stops the Postfix and Dovecot it
# started, takes down its lab and removes its temp dir, nothing else; it
# refuses to start when lab bench-mail is already up.
#
# Environment:
#   LABCTL=PATH       benchmark this binary (default target/release/labctl)
#   MAIL_MESSAGES=N   messages per SMTP run (default 5000)
#   MAIL_RUNS=N       runs per server (default 3)
#   BENCH_KEEP=1      keep the temp dir
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LABCTL=${LABCTL:-$ROOT/target/release/labctl}
MESSAGES=${MAIL_MESSAGES:-5000}
RUNS=${MAIL_RUNS:-3}
POP3_MESSAGES=1000
SESSIONS=20
SIZE=5120
LAB=bench-mail
RUN_DIR=${LABCTL_RUN_DIR:-/run/labctl}
OURS=10.78.0.2
REF=10.78.0.3
TARGET_RATIO=2

[ "$(id -u)" = 0 ] || { echo "bench/mail.sh needs root" >&2; exit 1; }
# The peers: Postfix (with smtp-source) and Dovecot's POP3 server, installed
# here when missing, without starting their host daemons.
if ! command -v smtp-source >/dev/null || ! command -v postfix >/dev/null || ! command -v dovecot >/dev/null \
    || [ ! -e /usr/lib/dovecot/pop3 ]; then
  echo "bench-mail: installing postfix and dovecot-pop3d"
  bash "$ROOT/tools/bootstrap.sh" servers postfix dovecot-pop3d || { echo "cannot install postfix and dovecot-pop3d" >&2; exit 1; }
fi
for tool in smtp-source postfix dovecot python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool after installing its package" >&2; exit 1; }
done
if [ -e "$RUN_DIR/$LAB" ]; then
  echo "lab $LAB is already up: take it down first ($LABCTL down $LAB)" >&2
  exit 1
fi

TMP=$(mktemp -d /tmp/labctl-bench-mail.XXXXXX)
chmod 755 "$TMP"  # postfix and dovecot drop privileges and must reach their dirs
LAB_UP=0
DOVECOT_PID=
cleanup() {
  set +e
  if [ "$LAB_UP" = 1 ]; then
    "$LABCTL" exec "$LAB" ref -- postfix -c "$TMP/postfix/etc" stop >/dev/null 2>&1
    [ -n "$DOVECOT_PID" ] && kill "$DOVECOT_PID" 2>/dev/null && wait "$DOVECOT_PID" 2>/dev/null
    "$LABCTL" down "$LAB" >/dev/null
  fi
  [ "${BENCH_KEEP:-0}" = 1 ] && echo "kept $TMP" || rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cat >"$TMP/lab.yaml" <<EOF
name: $LAB
nodes:
  sw0: {kind: switch}
  mx:
    kind: server
    interfaces: {eth0: $OURS/24}
    services:
      mail:
        domains: [bench.test]
        users: {to: secret, pop: secret}
  ref:
    kind: server
    interfaces: {eth0: $REF/24}
  load:
    kind: host
    interfaces: {eth0: 10.78.0.4/24}
links: [[mx, sw0], [ref, sw0], [load, sw0]]
EOF
"$LABCTL" up "$TMP/lab.yaml" >/dev/null
LAB_UP=1
in_node() { local node=$1; shift; "$LABCTL" exec "$LAB" "$node" -- "$@"; }

# --- Postfix, a private instance in ref -------------------------------------
P=$TMP/postfix
mkdir -p "$P/etc" "$P/spool" "$P/data"
chown postfix "$P/data"
cp /etc/postfix/master.cf "$P/etc/"
cat >"$P/etc/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $P/spool
data_directory = $P/data
maillog_file = $P/maillog
maillog_file_prefixes = $P
inet_interfaces = $REF
inet_protocols = ipv4
myhostname = ref.bench.test
mydestination = bench.test
mynetworks = 10.78.0.0/24
local_recipient_maps =
local_transport = discard
smtpd_recipient_restrictions = permit_mynetworks, reject
alias_maps =
alias_database =
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
default_process_limit = 100
biff = no
EOF
in_node ref postfix -c "$P/etc" start >/dev/null 2>&1 || { echo "postfix did not start (see $P/maillog)" >&2; exit 1; }

# --- Dovecot POP3, in ref ---------------------------------------------------
V=$TMP/dovecot
mkdir -p "$V/run" "$V/mail/pop/"{cur,new,tmp}
echo "pop:{PLAIN}secret" >"$V/passwd"
cat >"$V/dovecot.conf" <<EOF
protocols = pop3
listen = $REF
base_dir = $V/run
log_path = $V/log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
mail_location = maildir:$V/mail/%u
pop3_uidl_format = %08Xu%08Xv
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $V/passwd
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$V/mail/%u
}
EOF

# The same 1,000 messages in both maildirs (labctl numbers files dropped in).
python3 - "$V/mail/pop/new" "$RUN_DIR/$LAB/mail/mx/maildirs/pop/new" "$POP3_MESSAGES" "$SIZE" <<'EOF'
import sys
dirs, count, size = sys.argv[1:3], int(sys.argv[3]), int(sys.argv[4])
line = b"x" * 74 + b"\r\n"
for n in range(count):
    head = b"From: a@b.test\r\nTo: pop@bench.test\r\nSubject: message %d\r\n\r\n" % n
    body = (line * (size // len(line) + 1))[: size - len(head)]
    for d in dirs:
        with open(f"{d}/{1700000000 + n}.M{n}P1.bench", "wb") as f:
            f.write(head + body)
EOF
chown -R nobody:nogroup "$V/mail"
"$LABCTL" exec "$LAB" ref -- dovecot -F -c "$V/dovecot.conf" >"$V/stdout" 2>&1 &
DOVECOT_PID=$!

# --- measurements -----------------------------------------------------------
wait_port() {
  for _ in $(seq 50); do
    in_node load python3 -c "import socket,sys; socket.create_connection(('$1', $2), 1)" 2>/dev/null && return 0
    sleep 0.2
  done
  echo "nothing listens on $1:$2" >&2; exit 1
}
wait_port "$OURS" 25; wait_port "$REF" 25; wait_port "$OURS" 110; wait_port "$REF" 110

now() { date +%s.%N; }
inbox_count() { find "$RUN_DIR/$LAB/mail/mx/maildirs/to/new" -type f | wc -l; }

smtp_rate() { # server -> messages per second
  local before start end
  [ "$1" = "$OURS" ] && before=$(inbox_count)
  start=$(now)
  in_node load smtp-source -s "$SESSIONS" -m "$MESSAGES" -l "$SIZE" \
    -f from@load.test -t to@bench.test "$1:25" >/dev/null
  end=$(now)
  if [ "$1" = "$OURS" ] && [ $(( $(inbox_count) - before )) -ne "$MESSAGES" ]; then
    echo "labctl stored $(( $(inbox_count) - before )) of $MESSAGES messages" >&2; exit 1
  fi
  python3 -c "print(f'{$MESSAGES / ($end - $start):.0f}')"
}

pop3_rate() { # server -> messages per second retrieved
  in_node load python3 - "$1" "$POP3_MESSAGES" <<'EOF'
import poplib, sys, time
host, count = sys.argv[1], int(sys.argv[2])
start = time.monotonic()
p = poplib.POP3(host, 110, timeout=30)
p.user("pop"); p.pass_("secret")
listed = p.list()[1]
assert len(listed) == count, f"{len(listed)} messages listed"
for n in range(1, count + 1):
    p.retr(n)
p.quit()
print(f"{count / (time.monotonic() - start):.0f}")
EOF
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "mail benchmark: $SESSIONS smtp-source sessions x $MESSAGES messages of $SIZE bytes; POP3 retrieval of $POP3_MESSAGES messages; $RUNS runs each"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
pop3_rate "$OURS" >/dev/null; pop3_rate "$REF" >/dev/null   # warm-up: indexes
ours_smtp=(); ref_smtp=(); ours_pop3=(); ref_pop3=()
for run in $(seq "$RUNS"); do
  ours_smtp+=("$(smtp_rate "$OURS")"); ref_smtp+=("$(smtp_rate "$REF")")
  ours_pop3+=("$(pop3_rate "$OURS")"); ref_pop3+=("$(pop3_rate "$REF")")
  echo "run $run: SMTP labctl ${ours_smtp[-1]}/s postfix ${ref_smtp[-1]}/s; POP3 labctl ${ours_pop3[-1]}/s dovecot ${ref_pop3[-1]}/s"
done
os=$(printf '%s\n' "${ours_smtp[@]}" | median); rs=$(printf '%s\n' "${ref_smtp[@]}" | median)
op=$(printf '%s\n' "${ours_pop3[@]}" | median); rp=$(printf '%s\n' "${ref_pop3[@]}" | median)
smtp_ratio=$(python3 -c "print(f'{$os / $rs:.2f}')")
pop3_ratio=$(python3 -c "print(f'{$op / $rp:.2f}')")
verdict=$(python3 -c "print('PASS' if $os / $rs >= $TARGET_RATIO else 'MISS')")
echo
printf '%-28s %10s %10s %8s\n' "median of $RUNS" labctl reference ratio
printf '%-28s %10s %10s %8s\n' "SMTP accepted msg/s" "$os" "$rs" "$smtp_ratio"
printf '%-28s %10s %10s %8s\n' "POP3 retrieved msg/s" "$op" "$rp" "$pop3_ratio"
echo "SMTP target >= ${TARGET_RATIO}x Postfix: $verdict ($smtp_ratio x)"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
