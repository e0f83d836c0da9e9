"""IMAP retrieval load for bench/imap.sh: logs in as ada/secret, selects
INBOX, and times (1) one `UID FETCH 1:* (UID FLAGS RFC822.SIZE BODY.PEEK[])`
of every message and (2) one `UID FETCH n (BODY.PEEK[])` per message, one
after the other. A raw socket client, so that the client's own parsing
stays small next to the server's work. Prints one line:
`bulk_seconds single_seconds messages octets`.

Usage: python3 imap_client.py HOST EXPECTED_MESSAGES
"""
import re
import socket
import sys
import time

host, expected = sys.argv[1], int(sys.argv[2])
sock = socket.create_connection((host, 143), timeout=20)
buffer = bytearray()
counter = 0


def command(text):
    """Sends one command; returns everything up to its tagged reply."""
    global counter
    counter += 1
    tag = b"T%d" % counter
    sock.sendall(tag + b" " + text.encode() + b"\r\n")
    done = re.compile(rb"(?:^|\r\n)" + tag + rb" (OK|NO|BAD)[^\r\n]*\r\n$")
    while True:
        match = done.search(buffer, max(0, len(buffer) - 8192))
        if match:
            status = bytes(match.group(1))  # before the buffer it points into changes
            reply = bytes(buffer)
            buffer.clear()
            if status != b"OK":
                sys.exit(f"{text!r} failed: {reply[-300:]!r}")
            return reply
        chunk = sock.recv(1 << 20)
        if not chunk:
            sys.exit(f"connection closed during {text!r}")
        buffer.extend(chunk)


while not buffer.endswith(b"\r\n"):
    buffer.extend(sock.recv(4096))
buffer.clear()
command("LOGIN ada secret")
command("SELECT INBOX")
uids = [int(n) for n in re.search(rb"\* SEARCH([ 0-9]*)", command("UID SEARCH ALL")).group(1).split()]
if len(uids) != expected:
    sys.exit(f"{len(uids)} messages in INBOX, expected {expected}")

start = time.perf_counter()
reply = command("UID FETCH 1:* (UID FLAGS RFC822.SIZE BODY.PEEK[])")
bulk = time.perf_counter() - start
fetched = reply.count(b" FETCH (")
if fetched != expected:
    sys.exit(f"bulk FETCH returned {fetched} messages, expected {expected}")

start = time.perf_counter()
for uid in uids:
    command(f"UID FETCH {uid} (BODY.PEEK[])")
single = time.perf_counter() - start
command("LOGOUT")
print(f"{bulk:.4f} {single:.4f} {fetched} {len(reply)}")
