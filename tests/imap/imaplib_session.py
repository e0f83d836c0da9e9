"""Everyday IMAP use with Python's imaplib against labctl's server.

Run by the IMAP tests with IMAP_PORT (server on 127.0.0.1 or IMAP_HOST) and
IMAP_MESSAGE (a file holding the one message in ada's INBOX, byte for byte;
with IMAP_PREPENDED=1 the server may have put trace fields such as
Received: before it, as an SMTP delivery does). Every step asserts; a
failure exits non-zero with the reason.
"""
import base64
import imaplib
import os
import time

host = os.environ.get("IMAP_HOST", "127.0.0.1")
port = int(os.environ["IMAP_PORT"])
expected = open(os.environ["IMAP_MESSAGE"], "rb").read()

M = imaplib.IMAP4(host, port)
assert "IDLE" in M.capabilities and "AUTH=PLAIN" in M.capabilities, M.capabilities
typ, _ = M.authenticate("PLAIN", lambda _: b"\0ada\0secret")
assert typ == "OK"

typ, data = M.list()
assert typ == "OK" and any(b'"INBOX"' in line for line in data), data
typ, data = M.lsub()
assert typ == "OK" and any(b'"INBOX"' in line for line in data), data
typ, data = M.select("INBOX")
assert (typ, data) == ("OK", [b"1"]), (typ, data)
assert M.noop()[0] == "OK"

assert M.search(None, "ALL")[1] == [b"1"]
assert M.search(None, '(FROM "bob" UNSEEN SUBJECT "lab 3")')[1] == [b"1"]
assert M.search(None, "SUBJECT", '"no such"')[1] == [b""]
assert M.search(None, "SENTON", "1-Dec-2026")[1] == [b"1"]
assert M.search(None, "BODY", "routers")[1] == [b"1"]

# BODY.PEEK[] is the stored message, byte for byte, and leaves \Seen alone.
typ, data = M.fetch("1", "(BODY.PEEK[])")
body = data[0][1]
if os.environ.get("IMAP_PREPENDED"):
    assert body.endswith(expected) and body.startswith(b"Received: "), body[:300]
else:
    assert body == expected, "BODY[] differs from the stored message"
assert b"\\Seen" not in M.fetch("1", "(FLAGS)")[1][0]

typ, data = M.fetch("1", "(FLAGS RFC822.SIZE INTERNALDATE)")
assert f"RFC822.SIZE {len(body)}".encode() in data[0] and b"FLAGS ()" in data[0], data

typ, data = M.fetch("1", "(BODYSTRUCTURE ENVELOPE)")
line = data[0] if isinstance(data[0], bytes) else data[0][0]
assert b'"capture.bin"' in line and b'"Lab 3 results"' in line and b'"mixed"' in line, data

# The attachment decodes to the octets that were sent; BODY[2] sets \Seen.
typ, data = M.fetch("1", "(BODY[2])")
attachment = base64.b64decode(data[0][1])
assert attachment == bytes(i % 256 for i in range(3000)), "attachment differs"
assert b"\\Seen" in M.fetch("1", "(FLAGS)")[1][0]

assert M.create("Lab.Reports")[0] == "OK"
typ, data = M.append("Lab.Reports", r"(\Flagged)", imaplib.Time2Internaldate(time.time()),
                     b"Subject: appended\r\n\r\nnote\r\n")
assert typ == "OK" and b"APPENDUID" in data[0], data
typ, data = M.copy("1", "Lab.Reports")
assert typ == "OK" and b"COPYUID" in data[0], data
typ, data = M.status("Lab.Reports", "(MESSAGES UNSEEN)")
assert b"MESSAGES 2" in data[0] and b"UNSEEN 1" in data[0], data

typ, data = M.uid("STORE", "1", "+FLAGS", r"(\Deleted)")
assert typ == "OK" and b"\\Deleted" in data[0], data
assert M.expunge()[1] == [b"1"]
assert M.select("INBOX")[1] == [b"0"]

assert M.create("Tmp")[0] == "OK"
assert M.rename("Tmp", "Tmp2")[0] == "OK"
assert M.delete("Tmp2")[0] == "OK"
assert M.select("Nowhere")[0] == "NO"

typ, data = M.select("Lab.Reports", readonly=True)
assert data == [b"2"], data
assert M.search(None, "FLAGGED")[1] == [b"1"]
typ, data = M.uid("FETCH", "1:*", "(UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
assert b"Subject: appended" in data[0][1], data
M.close()
M.logout()
print("imaplib: all steps passed")
