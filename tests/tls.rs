//! TLS in a lab (root): the lab's own CA, trusted inside the nodes the way
//! Debian trusts any CA, so real clients on a PC verify the lab's servers
//! with no insecure flag — curl over HTTPS, `openssl s_client -starttls
//! smtp -verify_return_error`, swaks --tls --tls-verify, Python's smtplib
//! (STARTTLS), imaplib.IMAP4_SSL and poplib.POP3_SSL. `tls: required`
//! refuses plain logins with the standard replies; the relay between the
//! two servers goes over STARTTLS and the log says so; two labs have
//! different CAs.

mod common;

use common::{Lab, labctl, require_root, text};

const LAB: &str = "
name: LAB
nodes:
  sw: {kind: switch}
  dns0:
    kind: server
    interfaces: {eth0: 10.9.0.53/24}
    services:
      dns:
        zones:
          mt.com:
            '@': {MX: 10 mail.mt.com.}
            mail: {A: 10.9.0.10}
            www: {A: 10.9.0.30}
          cbrc.com:
            '@': {MX: 10 mail.cbrc.com.}
            mail: {A: 10.9.0.20}
  mx1:
    kind: server
    interfaces: {eth0: 10.9.0.10/24}
    dns: [10.9.0.53]
    services:
      mail: {domains: [mt.com], users: {ada: secret}, tls: required}
  mx2:
    kind: server
    interfaces: {eth0: 10.9.0.20/24}
    dns: [10.9.0.53]
    services:
      mail: {domains: [cbrc.com], users: {bob: secret}, tls: optional}
  web:
    kind: server
    interfaces: {eth0: 10.9.0.30/24}
    services:
      web:
        pages: {/: '<h1>over TLS</h1>'}
        tls: optional
  pc:
    kind: host
    interfaces: {eth0: 10.9.0.100/24}
    dns: [10.9.0.53]
links:
  - [dns0, sw]
  - [mx1, sw]
  - [mx2, sw]
  - [web, sw]
  - [pc, sw]
";

/// Python inside the PC, the system's (which reads the system's trust
/// store), with `script` on stdin.
fn python(lab: &Lab, script: &str) -> String {
    let path = lab.scratch("client.py");
    std::fs::write(&path, script).unwrap();
    lab.exec_ok("pc", &["/usr/bin/python3", path.to_str().unwrap()])
}

#[test]
fn real_clients_verify_the_lab_servers_without_insecure_flags() {
    require_root();
    let lab = Lab::new("tls", LAB);
    lab.up_ok();

    // HTTPS: curl with the system's CA bundle, no -k.
    let page = lab.exec_ok("pc", &["curl", "-sS", "--fail", "https://www.mt.com/"]);
    assert!(page.contains("over TLS"), "{page}");

    // STARTTLS on 25, checked by OpenSSL against its default CA file.
    let out = lab.exec(
        "pc",
        &[
            "sh",
            "-c",
            "echo QUIT | openssl s_client -starttls smtp -connect mail.mt.com:25 \
             -verify_return_error -verify_hostname mail.mt.com -servername mail.mt.com 2>&1",
        ],
    );
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("Verify return code: 0 (ok)"), "{said}");

    // tls: required: plain logins refused with each protocol's reply.
    let refused = python(
        &lab,
        r#"
import smtplib, imaplib, poplib
s = smtplib.SMTP("mail.mt.com", 587, timeout=10)
s.ehlo()
print("smtp", s.docmd("AUTH", "PLAIN AGFkYQBzZWNyZXQ="))
s.quit()
i = imaplib.IMAP4("mail.mt.com", timeout=10)
print("imap caps", " ".join(i.capabilities))
try:
    i.login("ada", "secret")
except imaplib.IMAP4.error as e:
    print("imap", e)
p = poplib.POP3("mail.mt.com", timeout=10)
try:
    p.user("ada")
except poplib.error_proto as e:
    print("pop3", e)
"#,
    );
    assert!(
        refused.contains("smtp (530, b'5.7.0 Must issue a STARTTLS command first')"),
        "{refused}"
    );
    assert!(
        refused.contains("LOGINDISABLED") && refused.contains("STARTTLS"),
        "{refused}"
    );
    assert!(
        refused.contains("imap") && refused.contains("PRIVACYREQUIRED"),
        "{refused}"
    );
    assert!(
        refused.contains("pop3 b'-ERR [AUTH] Plaintext"),
        "{refused}"
    );

    // swaks submits over STARTTLS with verification; mx1 relays to mx2
    // over STARTTLS.
    let out = lab.exec(
        "pc",
        &[
            "swaks",
            "--tls",
            "--tls-verify",
            "--server",
            "mail.mt.com",
            "--port",
            "587",
            "--auth",
            "PLAIN",
            "--auth-user",
            "ada",
            "--auth-password",
            "secret",
            "--from",
            "ada@mt.com",
            "--to",
            "bob@cbrc.com",
            "--h-Subject",
            "relayed over TLS",
        ],
    );
    assert!(out.status.success(), "swaks:\n{}", text(&out));

    // Python: STARTTLS submission, then IMAP over TLS (993) and POP3 over
    // TLS (995), each with the default (verifying) context.
    let read = python(
        &lab,
        r#"
import smtplib, imaplib, poplib, ssl, time
context = ssl.create_default_context()
s = smtplib.SMTP("mail.cbrc.com", 587, timeout=10)
s.starttls(context=context)
s.login("bob", "secret")
s.sendmail("bob@cbrc.com", ["bob@cbrc.com"], b"Subject: to myself\r\n\r\nhi\r\n")
s.quit()
for _ in range(100):
    p = poplib.POP3_SSL("mail.cbrc.com", context=context, timeout=10)
    p.user("bob")
    p.pass_("secret")
    count = p.stat()[0]
    p.quit()
    if count >= 2:
        break
    time.sleep(0.1)
print("pop3s", count)
i = imaplib.IMAP4_SSL("mail.cbrc.com", ssl_context=context, timeout=10)
i.login("bob", "secret")
i.select("INBOX")
typ, found = i.search(None, 'SUBJECT "relayed over TLS"')
print("imaps", typ, found)
i.logout()
"#,
    );
    assert!(read.contains("pop3s 2"), "{read}");
    assert!(read.contains("imaps OK [b'"), "{read}");

    let logs = labctl(&["logs", &lab.name, "mx1"]);
    let mx1 = text(&logs);
    assert!(
        mx1.contains("certificate of mail.cbrc.com verified") && mx1.contains("smtp-out"),
        "the relay used STARTTLS:\n{mx1}"
    );
    let out_session = mx1
        .lines()
        .filter(|l| l.contains("smtp-out"))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        out_session.contains("connection closed (encrypted)"),
        "{out_session}"
    );
    let mx2 = text(&labctl(&["logs", &lab.name, "mx2"]));
    assert!(mx2.contains("encrypted (TLS 1."), "{mx2}");
}

#[test]
fn each_lab_has_its_own_ca_and_labs_without_tls_have_none() {
    require_root();
    let one = Lab::new("tlsa", LAB);
    let two = Lab::new("tlsb", LAB);
    one.up_ok();
    two.up_ok();
    let ca_one = labctl(&["ca", &one.name]);
    let ca_two = labctl(&["ca", &two.name]);
    assert!(ca_one.status.success() && ca_two.status.success());
    let stdout = |out: &std::process::Output| String::from_utf8_lossy(&out.stdout).into_owned();
    let (pem_one, pem_two) = (stdout(&ca_one), stdout(&ca_two));
    assert!(
        pem_one.starts_with("-----BEGIN CERTIFICATE-----"),
        "{pem_one}"
    );
    assert_ne!(pem_one, pem_two);
    // Lab one's PC trusts its own CA, not lab two's.
    let bundle = one.exec_ok("pc", &["cat", "/etc/ssl/certs/ca-certificates.crt"]);
    assert!(bundle.contains(pem_one.trim()));
    assert!(!bundle.contains(pem_two.trim()));
    // The CA key is root's alone, in the state dir.
    let key = std::path::Path::new("/run/labctl")
        .join(&one.name)
        .join("tls/ca.key");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&key).unwrap().permissions().mode();
    assert_eq!(mode & 0o077, 0, "{}", key.display());

    let plain = Lab::new(
        "tlsoff",
        &LAB.replace("tls: required", "")
            .replace("tls: optional", ""),
    );
    plain.up_ok();
    let none = labctl(&["ca", &plain.name]);
    assert!(!none.status.success());
    assert!(
        text(&none).contains("has no certificate authority"),
        "{}",
        text(&none)
    );
}

/// labctl's own mail clients over TLS in a real lab (`labs/mail-tls.yaml`,
/// whose server requires TLS): the `mail` checks from a PC with `security:
/// starttls` (POP3 STLS) and one with `security: tls` (IMAP on 993, SMTP on
/// 465) pass; `labctl mail send` and `labctl mail inbox` work over them; a
/// PC whose settings name the server by a name its certificate lacks (a
/// wildcard record leads there) fails with the certificate's names; a PC
/// in plain text is told to set `security: starttls`; a `dns` check reads
/// the `_dmarc` TXT record.
#[test]
fn labctl_mail_clients_use_tls_as_the_settings_say() {
    require_root();
    let course = include_str!("../labs/mail-tls.yaml").replace("name: mail-tls", "name: LAB");
    let yaml = course
        .replace(
            "            mail: {A: mx}\n",
            "            mail: {A: mx}\n            \"*\": {A: mx}\n",
        )
        .replace(
            "links:\n",
            "  pc-eve:
    kind: host
    interfaces: {eth0: 192.168.1.12/24}
    dns: [192.168.1.5]
    mail: {address: bob@mt.com, incoming: imap.mt.com, protocol: imap, outgoing: mail.mt.com, user: bob, password: bobpass, security: starttls}
  pc-old:
    kind: host
    interfaces: {eth0: 192.168.1.13/24}
    dns: [192.168.1.5]
    mail: {address: ada@mt.com, incoming: mail.mt.com, outgoing: mail.mt.com, user: ada, password: adapass}
links:
  - [pc-eve, sw0]
  - [pc-old, sw0]
",
        );
    let lab = Lab::new("tlsmua", &yaml);
    let validated = labctl(&["validate", lab.file.to_str().unwrap()]);
    assert!(
        text(&validated).contains(
            "pc-old's mail settings log in without TLS, but mx requires TLS (`tls: required`)"
        ),
        "{}",
        text(&validated)
    );
    lab.up_ok();
    let checks = lab.scratch("checks.yaml");
    std::fs::write(
        &checks,
        "checks:
  - mail: {from: pc-ada, to: bob@mt.com, reader: pc-bob}
  - mail: {from: pc-bob, to: ada@mt.com, reader: pc-ada}
  - mail: {from: pc-ada, to: bob@mt.com, reader: pc-eve}
  - mail: {from: pc-old, to: bob@mt.com, reader: pc-bob}
  - dns: {from: pc-ada, name: _dmarc.mt.com, type: TXT, expect: 'v=DMARC1; p=none'}
",
    )
    .unwrap();
    let out = labctl(&[
        "check",
        &lab.name,
        "--checks",
        checks.to_str().unwrap(),
        "--json",
    ]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", text(&out)));
    let check = |i: usize| &report["checks"][i];
    for i in [0, 1, 4] {
        assert_eq!(check(i)["passed"], true, "{:#}", check(i));
    }
    let wrong_name = &check(2)["diagnosis"];
    assert_eq!(wrong_name["step"], "tls", "{wrong_name:#}");
    assert_eq!(
        wrong_name["message"],
        "pc-eve's mail settings name its incoming server imap.mt.com, but the certificate of 192.168.1.2 (mx) is for mx.mt.com, mail.mt.com, mx and 192.168.1.2, not imap.mt.com",
        "{wrong_name:#}"
    );
    assert_eq!(
        wrong_name["hint"],
        "use a name the certificate has: `incoming: mx.mt.com` in pc-eve's mail settings"
    );
    let plain = &check(3)["diagnosis"];
    assert!(
        plain["hint"]
            .as_str()
            .unwrap()
            .contains("set `security: starttls` (or `tls`) in pc-old's mail settings"),
        "{plain:#}"
    );

    // `labctl mail` by hand: send over STARTTLS, list over IMAPS.
    let sent = labctl(&[
        "mail",
        "send",
        &lab.name,
        "pc-ada",
        "--to",
        "bob@mt.com",
        "--subject",
        "by hand",
        "--body",
        "over TLS",
    ]);
    assert!(sent.status.success(), "{}", text(&sent));
    let listed = common::eventually(std::time::Duration::from_secs(5), || {
        let out = labctl(&["mail", "inbox", &lab.name, "pc-bob"]);
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("by hand")
    });
    assert!(
        listed,
        "{}",
        text(&labctl(&["mail", "inbox", &lab.name, "pc-bob"]))
    );
    // pc-bob's IMAP sessions (993), each encrypted to the end. The last
    // inbox listing's session may still be closing: its line comes then.
    let closings = |logs: &str| -> Vec<String> {
        logs.lines()
            .filter(|l| l.contains("-- connection from 192.168.1.11:"))
            .filter_map(|l| l.split(" -- ").next()?.split_once(' ').map(|(_, s)| s))
            .filter(|session| session.starts_with("imap "))
            .map(|session| format!("{session} -- connection closed (encrypted)"))
            .collect()
    };
    let unclosed = |logs: &str| -> Vec<String> {
        let mut all = closings(logs);
        all.retain(|closed| !logs.contains(closed.as_str()));
        all
    };
    let mut logs = String::new();
    let all_closed = common::eventually(std::time::Duration::from_secs(5), || {
        logs = text(&labctl(&["logs", &lab.name, "mx"]));
        !closings(&logs).is_empty() && unclosed(&logs).is_empty()
    });
    assert!(all_closed, "{:?}:\n{logs}", unclosed(&logs));
    let status = text(&labctl(&["status", &lab.name]));
    assert!(
        status.contains("SMTPS 465; POP3 110; POP3S 995; IMAP 143; IMAPS 993"),
        "{status}"
    );
}
