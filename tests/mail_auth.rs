//! SPF, DKIM and DMARC on the lab's mail servers (root), on the course lab
//! `labs/mail-security.yaml`: a forged sender is refused under p=reject and
//! put into Junk under p=quarantine (read there with Python's imaplib), the
//! dean's signed mail passes DKIM across the relay between the two servers
//! with an Authentication-Results header, and a wrong SPF record gets a
//! diagnosis that names it.

mod common;

use std::process::{Command, Stdio};

use common::{LABCTL, Lab, require_root, text};

/// The course lab under a unique name, with `edits` applied.
fn lab(prefix: &str, edits: &[(&str, &str)]) -> Lab {
    require_root();
    let path = format!("{}/labs/mail-security.yaml", env!("CARGO_MANIFEST_DIR"));
    let mut yaml = std::fs::read_to_string(path)
        .unwrap()
        .replace("name: mail-security", "name: LAB");
    for (from, to) in edits {
        assert!(yaml.contains(from), "the lab no longer has {from:?}");
        yaml = yaml.replace(from, to);
    }
    Lab::new(prefix, &yaml)
}

/// The spoofer forges `forged` to `to` at `server` with smtplib; prints
/// "accepted" or "refused CODE MESSAGE".
fn spoof(server: &str, forged: &str, to: &str) -> String {
    format!(
        "import smtplib\n\
         s = smtplib.SMTP('{server}', 25, timeout=20)\n\
         m = 'From: {forged}\\r\\nTo: {to}\\r\\nSubject: pay me\\r\\n\\r\\nsend money\\r\\n'\n\
         try:\n    s.sendmail('{forged}', ['{to}'], m); print('accepted')\n\
         except smtplib.SMTPDataError as e:\n    print('refused', e.smtp_code, e.smtp_error.decode())\n"
    )
}

/// The headers of every message in `folder` of `user` at `server`, by imaplib.
fn imap_headers(server: &str, user: &str, password: &str, folder: &str) -> String {
    format!(
        "import imaplib\n\
         i = imaplib.IMAP4('{server}', 143, timeout=20); i.login('{user}', '{password}')\n\
         typ, data = i.select('{folder}', readonly=True)\n\
         assert typ == 'OK', data\n\
         typ, found = i.search(None, 'ALL')\n\
         for n in found[0].split():\n    print(i.fetch(n, '(BODY.PEEK[HEADER])')[1][0][1].decode())\n"
    )
}

#[test]
fn a_forged_sender_is_refused_under_reject_and_quarantined_under_quarantine() {
    let lab = lab("t-spoof", &[]);
    lab.up_ok();
    // uts.edu.au publishes p=reject: mail.com refuses the forged dean.
    let out = lab.exec_ok(
        "spoofer",
        &[
            "python3",
            "-c",
            &spoof("192.168.1.3", "dean@uts.edu.au", "client1@mail.com"),
        ],
    );
    assert!(out.starts_with("refused 550 5.7.26"), "{out}");
    assert!(out.contains("uts.edu.au"), "{out}");
    let inbox = lab.exec_ok(
        "client1",
        &[
            "python3",
            "-c",
            &imap_headers("192.168.1.3", "client1", "admin", "INBOX"),
        ],
    );
    assert!(!inbox.contains("pay me"), "{inbox}");

    // mail.com publishes p=quarantine: uts.edu.au takes the forged
    // client1, into the dean's Junk folder, with the results on top.
    let out = lab.exec_ok(
        "spoofer",
        &[
            "python3",
            "-c",
            &spoof("192.168.1.2", "client1@mail.com", "dean@uts.edu.au"),
        ],
    );
    assert_eq!(out.trim(), "accepted");
    let junk = lab.exec_ok(
        "dean",
        &[
            "python3",
            "-c",
            &imap_headers("192.168.1.2", "dean", "deanpass", "Junk"),
        ],
    );
    assert!(junk.contains("Subject: pay me"), "{junk}");
    assert!(
        junk.contains("Authentication-Results: mx-uts.uts.edu.au;"),
        "{junk}"
    );
    assert!(junk.contains("spf=fail"), "{junk}");
    assert!(junk.contains("dmarc=fail"), "{junk}");
    assert!(junk.contains("policy.dmarc=quarantine"), "{junk}");
    let inbox = lab.exec_ok(
        "dean",
        &[
            "python3",
            "-c",
            &imap_headers("192.168.1.2", "dean", "deanpass", "INBOX"),
        ],
    );
    assert!(!inbox.contains("pay me"), "{inbox}");
}

#[test]
fn dkim_passes_across_the_relay_and_the_results_are_recorded() {
    let lab = lab("t-dkim", &[]);
    lab.up_ok();
    // The dean submits with AUTH to his own server, which signs and relays
    // to mail.com by MX.
    let send = "import smtplib\n\
        s = smtplib.SMTP('mail.uts.edu.au', 587, timeout=20); s.login('dean', 'deanpass')\n\
        s.sendmail('dean@uts.edu.au', ['client1@mail.com'], 'From: dean@uts.edu.au\\r\\nTo: client1@mail.com\\r\\nSubject: exam\\r\\n\\r\\nsigned\\r\\n')\n";
    lab.exec_ok("dean", &["python3", "-c", send]);
    let read = imap_headers("192.168.1.3", "client1", "admin", "INBOX");
    let mut headers = String::new();
    let arrived = common::eventually(std::time::Duration::from_secs(10), || {
        headers = lab.exec_ok("client1", &["python3", "-c", &read]);
        headers.contains("Subject: exam")
    });
    assert!(arrived, "{headers}");
    assert!(
        headers.contains("DKIM-Signature: v=1; a=ed25519-sha256; s=s1; d=uts.edu.au"),
        "{headers}"
    );
    assert!(
        headers.contains("Authentication-Results: mx-mail.mail.com;"),
        "{headers}"
    );
    assert!(
        headers.contains("dkim=pass header.d=uts.edu.au header.s=s1"),
        "{headers}"
    );
    assert!(headers.contains("spf=pass"), "{headers}");
    assert!(
        headers.contains("dmarc=pass header.from=uts.edu.au policy.dmarc=reject"),
        "{headers}"
    );
    assert!(headers.contains("client-ip=192.168.1.2;"), "{headers}");
}

/// `labctl test --json` of `lab`: the check named `name`.
fn check_report(lab: &Lab, name: &str) -> serde_json::Value {
    let out = Command::new(LABCTL)
        .args(["test", lab.file.to_str().unwrap(), "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name:?}: {}", text(&out)))
        .clone()
}

#[test]
fn an_spf_record_without_the_sending_server_is_named_in_the_diagnosis() {
    // Under p=none the mail arrives, so the SPF result itself is graded.
    let lab = lab(
        "t-spf",
        &[
            ("v=spf1 ip4:192.168.1.2 -all", "v=spf1 ip4:192.168.1.9 -all"),
            (
                "_dmarc: {TXT: \"v=DMARC1; p=reject\"}",
                "_dmarc: {TXT: \"v=DMARC1; p=none\"}",
            ),
        ],
    );
    let check = check_report(
        &lab,
        "the dean's mail passes SPF, DKIM and DMARC at mail.com",
    );
    assert_eq!(check["passed"], false, "{check}");
    let d = &check["diagnosis"];
    let message = d["message"].as_str().unwrap_or("");
    assert_eq!(d["step"], "spf", "{check}");
    assert!(
        message.contains(
            "SPF for uts.edu.au does not list 192.168.1.2: add ip4:192.168.1.2 to the TXT record"
        ),
        "{check}"
    );
    assert!(message.contains("v=spf1 ip4:192.168.1.9 -all"), "{check}");
}

#[test]
fn a_server_without_sender_checks_fails_the_spoof_check_saying_so() {
    let lab = lab(
        "t-nochk",
        &[(
            "        users: {client1: admin}\n        dkim: {selector: s1, publish: true}\n        sender_checks: reject\n",
            "        users: {client1: admin}\n        dkim: {selector: s1, publish: true}\n",
        )],
    );
    let check = check_report(&lab, "mail.com refuses mail forged as the dean");
    assert_eq!(check["passed"], false, "{check}");
    let hint = check["diagnosis"]["hint"].as_str().unwrap_or("");
    assert!(
        hint.contains("mx-mail does not check senders: add `sender_checks: reject`"),
        "{check}"
    );
}

/// mx-mail with `tls: required` (`edits` on top): its `530 … STARTTLS`
/// to plain text must not pass for a refusal of the forged mail.
const TLS_REQUIRED: (&str, &str) = (
    "        users: {client1: admin}\n",
    "        users: {client1: admin}\n        tls: required\n",
);
const NO_SENDER_CHECKS: (&str, &str) = (
    "        dkim: {selector: s1, publish: true}\n        sender_checks: reject\n  dns:",
    "        dkim: {selector: s1, publish: true}\n  dns:",
);
const RELAY_CHECK: (&str, &str) = (
    "checks:\n",
    "checks:\n  - name: mail.com is no open relay\n    mail-refused: {from: spoofer, server: mail.com, to: someone@elsewhere.org}\n",
);

#[test]
fn the_spoof_and_relay_checks_say_starttls_to_a_server_that_requires_it() {
    // No sender checks: the forged mail is delivered over TLS, so the
    // check fails, saying why (the plain-text 530 once passed it).
    let open = lab("t-spooftls", &[TLS_REQUIRED, NO_SENDER_CHECKS, RELAY_CHECK]);
    let check = check_report(&open, "mail.com refuses mail forged as the dean");
    assert_eq!(check["passed"], false, "{check}");
    assert_eq!(check["diagnosis"]["step"], "sender-checks", "{check}");
    let hint = check["diagnosis"]["hint"].as_str().unwrap_or("");
    assert!(hint.contains("mx-mail does not check senders"), "{check}");
    // The relay is refused at RCPT over TLS, not at MAIL for lack of TLS.
    let check = check_report(&open, "mail.com is no open relay");
    assert_eq!(check["passed"], true, "{check}");
    let detail = check.to_string();
    assert!(!detail.contains("STARTTLS"), "{check}");
    assert!(detail.contains("refused: "), "{check}");

    // With sender checks the refusal over TLS passes, for the forgery.
    let checking = lab("t-spooftls2", &[TLS_REQUIRED]);
    let check = check_report(&checking, "mail.com refuses mail forged as the dean");
    assert_eq!(check["passed"], true, "{check}");
    let detail = check.to_string();
    assert!(!detail.contains("530"), "{check}");
}
