#!/usr/bin/env bash
# bench/mail.sh — mail server benchmark (`make bench`, as root).
#
# What it is for: how many messages per second labctl's SMTP server accepts
# with durable storage (each 250 only after tmp/ + fsync + rename into new/ +
# fsync of the directory), against Postfix with its queue on disk measured
# the same way in the same run, in plain text and over STARTTLS; and how
# fast labctl's POP3 server hands out 1,000 messages, against Dovecot's
# POP3 server on the same messages.
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
#   3. STARTTLS: smtp-source has no TLS, so smtp-load (bench/smtp_load.rs,
#      labctl's own SMTP client, built here as a cargo example) sends the
#      same load: 20 sessions, a connection per message as smtp-source
#      without -d, greeting, EHLO, STARTTLS, EHLO, MAIL, RCPT, DATA, QUIT,
#      each certificate checked against the lab's CA. Both servers offer
#      STARTTLS and accept plain text too: labctl's mail service has
#      `tls: optional`, Postfix `smtpd_tls_security_level = may` with a
#      certificate the lab's CA issued to ref (ref serves an idle web site
#      with TLS only for that: the CA vouches only for the lab's TLS
#      servers). Twice: with TLS session resumption (rustls' default; both
#      servers issue tickets) and with a full handshake on every connection
#      (`--no-resume`). smtp-load also runs in plain text against both, so
#      its figures can be set beside smtp-source's: near 1x means the
#      client is not what limits the rate.
#   4. POP3: 1,000 messages of 5 KiB are put into both maildirs (labctl's
#      store and Dovecot's), then pop3-load (bench/pop3_load.rs, a cargo
#      example) logs in, LISTs and RETRs all of them and quits (no DELE),
#      against labctl (mx:110) and Dovecot (ref:110), after one warm-up
#      pass each; median of MAIL_RUNS. (A Python poplib client measured
#      before 2026-12-02 set the pace itself.)
# Targets: SMTP >= 2x Postfix (mail issue), and the same over STARTTLS
# (email-security issue); POP3 >= 1.5x Dovecot (performance issue). It
# prints PASS/MISS (a miss is a result, not a failure) and exits non-zero
# only when something broke.
# The machine's load average is printed: other work on the machine changes
# both figures, the ratio less.
#
# On exit (normal, error, Ctrl-C) it stops the Postfix and Dovecot it
# started, takes down its lab and removes its temp dir, nothing else; it
# refuses to start when lab bench-mail is already up.
#
# Environment:
#   LABCTL=PATH       benchmark this binary (default target/release/labctl)
#   SMTP_LOAD=PATH    the load client (default: built as target/release/examples/smtp-load)
#   POP3_LOAD=PATH    the POP3 client (default: built as target/release/examples/pop3-load)
#   MAIL_MESSAGES=N   messages per SMTP run (default 5000)
#   MAIL_RUNS=N       runs per server (default 3)
#   BENCH_KEEP=1      keep the temp dir
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LABCTL=${LABCTL:-$ROOT/target/release/labctl}
SMTP_LOAD=${SMTP_LOAD:-}
POP3_LOAD=${POP3_LOAD:-}
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
TARGET_POP3=1.5

[ "$(id -u)" = 0 ] || { echo "bench/mail.sh needs root" >&2; exit 1; }
# The peers: Postfix (with smtp-source) and Dovecot's POP3 server, installed
# here when missing, without starting their host daemons.
if ! command -v smtp-source >/dev/null || ! command -v postfix >/dev/null || ! command -v dovecot >/dev/null \
    || [ ! -e /usr/lib/dovecot/pop3 ]; then
  echo "bench-mail: installing postfix and dovecot-pop3d"
  bash "$ROOT/tools/bootstrap.sh" servers postfix dovecot-pop3d || { echo "cannot install postfix and dovecot-pop3d" >&2; exit 1; }
fi
command -v /usr/bin/time >/dev/null || bash "$ROOT/tools/bootstrap.sh" packages time >/dev/null || { echo "cannot install time" >&2; exit 1; }
for tool in smtp-source postfix dovecot python3 /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "missing $tool after installing its package" >&2; exit 1; }
done
if [ -z "$SMTP_LOAD" ]; then
  (cd "$ROOT" && cargo build --release --locked --quiet --example smtp-load) \
    || { echo "cannot build the load client (cargo build --release --example smtp-load)" >&2; exit 1; }
  SMTP_LOAD=$ROOT/target/release/examples/smtp-load
fi
if [ -z "$POP3_LOAD" ]; then
  (cd "$ROOT" && cargo build --release --locked --quiet --example pop3-load) \
    || { echo "cannot build the POP3 client (cargo build --release --example pop3-load)" >&2; exit 1; }
  POP3_LOAD=$ROOT/target/release/examples/pop3-load
fi
[ -x "$SMTP_LOAD" ] || { echo "$SMTP_LOAD is not an executable" >&2; exit 1; }
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
        tls: optional
  ref:
    kind: server
    interfaces: {eth0: $REF/24}
    services:
      # Idle: only so that the lab's CA issues ref a certificate (Postfix's).
      web: {pages: {/: reference}, tls: optional}
  load:
    kind: host
    interfaces: {eth0: 10.78.0.4/24}
links: [[mx, sw0], [ref, sw0], [load, sw0]]
EOF
"$LABCTL" up "$TMP/lab.yaml" >/dev/null
LAB_UP=1
in_node() { local node=$1; shift; "$LABCTL" exec "$LAB" "$node" -- "$@"; }
"$LABCTL" ca "$LAB" -o "$TMP/ca.pem" 2>/dev/null || { echo "cannot export the lab's CA" >&2; exit 1; }

# --- Postfix, a private instance in ref -------------------------------------
P=$TMP/postfix
mkdir -p "$P/etc" "$P/spool" "$P/data"
chown postfix "$P/data"
cp /etc/postfix/master.cf "$P/etc/"
# ref's certificate (and the CA's after it) and key, from the lab's CA;
# smtpd reads them as root before it drops privileges.
install -m 600 "$RUN_DIR/$LAB/tls/ref.pem" "$RUN_DIR/$LAB/tls/ref.key" "$P/etc/"
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
smtpd_tls_security_level = may
smtpd_tls_cert_file = $P/etc/ref.pem
smtpd_tls_key_file = $P/etc/ref.key
smtpd_tls_loglevel = 0
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

# The same load from either client; smtp-load prints its own line
# (`messages seconds rate handshakes resumed`) to $TMP/client.out.
LOAD_ARGS=(-s "$SESSIONS" -m "$MESSAGES" -l "$SIZE" -f from@load.test -t to@bench.test)
SOURCE=(smtp-source "${LOAD_ARGS[@]}")
LOAD_PLAIN=("$SMTP_LOAD" "${LOAD_ARGS[@]}")
LOAD_TLS=("$SMTP_LOAD" "${LOAD_ARGS[@]}" --starttls --ca "$TMP/ca.pem")
LOAD_TLS_FULL=("${LOAD_TLS[@]}" --no-resume)

# smtp_rate SERVER CLIENT... -> RATE (messages per second, timed from
# outside the same way for both clients) and CLIENT_CPU (the client's CPU
# time as a share of that time, percent: near 100 it would set the pace).
smtp_rate() {
  local server=$1 before start end; shift
  [ "$server" = "$OURS" ] && before=$(inbox_count)
  start=$(now)
  in_node load /usr/bin/time -f '%U %S' -o "$TMP/client.time" "$@" "$server:25" >"$TMP/client.out" \
    || { echo "the SMTP load on $server failed" >&2; exit 1; }
  end=$(now)
  if [ "$server" = "$OURS" ] && [ $(( $(inbox_count) - before )) -ne "$MESSAGES" ]; then
    echo "labctl stored $(( $(inbox_count) - before )) of $MESSAGES messages" >&2; exit 1
  fi
  RATE=$(python3 -c "print(f'{$MESSAGES / ($end - $start):.0f}')")
  CLIENT_CPU=$(awk -v t="$(python3 -c "print($end - $start)")" '{ printf "%.0f", 100 * ($1 + $2) / t }' "$TMP/client.time")
}
resumed() { awk '{ printf "%d of %d handshakes resumed", $5, $4 }' "$TMP/client.out"; }

pop3_rate() { # server -> messages per second retrieved (pop3-load's first field)
  in_node load "$POP3_LOAD" "$1" "$POP3_MESSAGES" | awk '{ print $1 }'
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }
verdict() { python3 -c "print('PASS' if $1 / $2 >= ${3:-$TARGET_RATIO} else 'MISS')"; }

echo "mail benchmark: $SESSIONS SMTP sessions x $MESSAGES messages of $SIZE bytes, a connection per message (smtp-source; smtp-load in plain text and over STARTTLS); POP3 retrieval of $POP3_MESSAGES messages; $RUNS runs each, interleaved"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
pop3_rate "$OURS" >/dev/null; pop3_rate "$REF" >/dev/null   # warm-up: indexes
# Rates by measure and server: smtp (smtp-source), plain (smtp-load),
# tls (STARTTLS, resumed sessions), full (STARTTLS, full handshakes), pop3.
declare -A RATES
declare -A SHARES
measure() { # name server client... -> "RATE/s (client CPU N%)", also kept in RATES and SHARES
  local name=$1 server=$2; shift 2
  smtp_rate "$server" "$@"
  RATES[$name]+=" $RATE"; SHARES[$name]+=" $CLIENT_CPU"
  SAID="$RATE/s (client CPU $CLIENT_CPU%)"
}
for run in $(seq "$RUNS"); do
  measure smtp-ours "$OURS" "${SOURCE[@]}"; a=$SAID
  measure smtp-ref "$REF" "${SOURCE[@]}"; b=$SAID
  echo "run $run: SMTP (smtp-source) labctl $a, postfix $b"
  measure plain-ours "$OURS" "${LOAD_PLAIN[@]}"; a=$SAID
  measure plain-ref "$REF" "${LOAD_PLAIN[@]}"; b=$SAID
  echo "run $run: SMTP (smtp-load) labctl $a, postfix $b"
  measure tls-ours "$OURS" "${LOAD_TLS[@]}"; a="$SAID, $(resumed)"
  measure tls-ref "$REF" "${LOAD_TLS[@]}"; b="$SAID, $(resumed)"
  echo "run $run: STARTTLS labctl $a; postfix $b"
  measure full-ours "$OURS" "${LOAD_TLS_FULL[@]}"; a="$SAID, $(resumed)"
  measure full-ref "$REF" "${LOAD_TLS_FULL[@]}"; b="$SAID, $(resumed)"
  echo "run $run: STARTTLS, full handshakes: labctl $a; postfix $b"
  a=$(pop3_rate "$OURS"); b=$(pop3_rate "$REF")
  RATES[pop3-ours]+=" $a"; RATES[pop3-ref]+=" $b"
  echo "run $run: POP3 labctl $a/s dovecot $b/s"
done
med() { tr ' ' '\n' <<<"${RATES[$1]}" | grep . | median; }
share() { [ -n "${SHARES[$1]:-}" ] && echo "$(tr ' ' '\n' <<<"${SHARES[$1]}" | grep . | median)%" || echo "-"; }

echo
printf '%-44s %10s %10s %8s %18s\n' "median of $RUNS" labctl reference ratio "client CPU share"
row() { # label measure
  local ours ref
  ours=$(med "$2-ours"); ref=$(med "$2-ref")
  printf '%-44s %10s %10s %8s %18s\n' "$1" "$ours" "$ref" "$(ratio "$ours" "$ref")" "$(share "$2-ours") / $(share "$2-ref")"
}
row "SMTP accepted msg/s (smtp-source)" smtp
row "SMTP accepted msg/s (smtp-load)" plain
row "STARTTLS accepted msg/s (resumed sessions)" tls
row "STARTTLS accepted msg/s (full handshakes)" full
row "POP3 retrieved msg/s (reference: Dovecot)" pop3
target() { # measure [target ratio] -> "PASS (2.50x)"
  echo "$(verdict "$(med "$1-ours")" "$(med "$1-ref")" "${2:-}") ($(ratio "$(med "$1-ours")" "$(med "$1-ref")")x)"
}
echo "SMTP target >= ${TARGET_RATIO}x Postfix: $(target smtp)"
echo "STARTTLS target >= ${TARGET_RATIO}x Postfix: resumed sessions $(target tls), full handshakes $(target full)"
echo "POP3 target >= ${TARGET_POP3}x Dovecot: $(target pop3 "$TARGET_POP3")"
echo "smtp-load / smtp-source in plain text: labctl $(ratio "$(med plain-ours)" "$(med smtp-ours)")x, Postfix $(ratio "$(med plain-ref)" "$(med smtp-ref)")x (near 1: the client does not limit the rate)"
echo "(client CPU share: the load client's CPU time / the time measured, labctl / reference)"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
