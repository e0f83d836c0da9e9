//! IMAP in a lab (root): a PC delivers a multipart message with a binary
//! attachment to the mail server by SMTP, then reads it by IMAP from the
//! same PC with curl and with Python's imaplib (every everyday command, see
//! tests/imap/imaplib_session.py), across the lab's switch; the server's
//! dialogue log shows the IMAP sessions.

mod common;

use common::{Lab, require_root, text};

const LAB: &str = "
name: LAB
nodes:
  sw0: {kind: switch}
  mail0:
    kind: server
    interfaces: {eth0: 10.9.0.10/24}
    services:
      mail:
        domains: [mt.com]
        users: {ada: secret, bob: pw}
  pc0:
    kind: host
    interfaces: {eth0: 10.9.0.20/24}
links:
  - [mail0, sw0]
  - [pc0, sw0]
";

/// Bob sends the message file (argv[1]) to Ada over SMTP, as is.
const SEND: &str = r#"
import smtplib, sys
message = open(sys.argv[1], "rb").read()
with smtplib.SMTP("10.9.0.10", 25, timeout=10) as s:
    s.sendmail("bob@mt.com", ["ada@mt.com"], message)
"#;

#[test]
fn deliver_by_smtp_read_by_imap_from_a_pc() {
    require_root();
    let lab = Lab::new("imap", LAB);
    lab.up_ok();
    let message_file = lab.file.parent().unwrap().join("lab3.eml");
    let expected = include_bytes!("imap/lab3.eml");
    std::fs::write(&message_file, expected).unwrap();
    let message_path = message_file.to_str().unwrap();
    lab.exec_ok("pc0", &["python3", "-c", SEND, message_path]);

    // curl: the message as stored (after the server's Received: field).
    let out = lab.exec(
        "pc0",
        &[
            "curl",
            "-sS",
            "--max-time",
            "10",
            "-u",
            "ada:secret",
            "imap://10.9.0.10/INBOX;UID=1",
        ],
    );
    assert!(out.status.success(), "curl:\n{}", text(&out));
    assert!(
        out.stdout.ends_with(expected) && out.stdout.starts_with(b"Received: "),
        "curl:\n{}",
        text(&out)
    );

    // Fetching BODY[] set \Seen; a custom command takes it away again.
    let out = lab.exec(
        "pc0",
        &[
            "curl",
            "-sS",
            "--max-time",
            "10",
            "-u",
            "ada:secret",
            "imap://10.9.0.10/INBOX",
            "-X",
            "UID STORE 1 -FLAGS (\\Seen)",
        ],
    );
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("FLAGS ()"),
        "curl STORE:\n{}",
        text(&out)
    );

    // imaplib: the whole everyday session, from the PC.
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/imap/imaplib_session.py");
    let out = common::labctl_env(
        &[
            "exec",
            &lab.name,
            "pc0",
            "--",
            "env",
            "IMAP_HOST=10.9.0.10",
            "IMAP_PORT=143",
            "IMAP_PREPENDED=1",
            &format!("IMAP_MESSAGE={message_path}"),
            "python3",
            script,
        ],
        &[],
    );
    assert!(out.status.success(), "imaplib in the lab:\n{}", text(&out));

    let logs = common::labctl(&["logs", &lab.name, "mail0"]);
    let logs = String::from_utf8_lossy(&logs.stdout);
    assert!(
        logs.contains("imap #") && logs.contains("AUTHENTICATE PLAIN"),
        "{logs}"
    );
}
