//! Webmail in a real lab (root): a browser's HTTP to the webmail node, the
//! webmail's IMAP and SMTP to the mail server it finds by name. curl in
//! Bob's PC logs in with a cookie jar, lists the inbox, reads a message
//! `labctl mail send` delivered (its `<script>` shown as text), downloads
//! its attachment, and sends a message with an upload that Alice's POP3
//! client then finds; the mail server's dialogue log shows the webmail node
//! as the IMAP and SMTP client; an `http` check logs in; headless Chromium
//! driven over WebDriver logs in through the form and sees the inbox with
//! no script element made from the message.

mod common;

use common::{Lab, browser_script, labctl, require_root, text};

const LAB: &str = "
name: LAB
nodes:
  sw: {kind: switch}
  mail:
    kind: server
    interfaces: {eth0: 10.0.0.25/24}
    dns: [10.0.0.25]
    services:
      dns:
        zones:
          hamburger.edu:
            '@': {NS: mail.hamburger.edu., MX: 10 mail.hamburger.edu.}
            mail: {A: 10.0.0.25}
            webmail: {A: 10.0.0.80}
      mail:
        domains: [hamburger.edu]
        users: {bob: secret, alice: secret}
  webmail:
    kind: server
    interfaces: {eth0: 10.0.0.80/24}
    dns: [10.0.0.25]
    services:
      webmail: {server: mail.hamburger.edu}
  pc-bob:
    kind: host
    interfaces: {eth0: 10.0.0.10/24}
    dns: [10.0.0.25]
    mail: {address: bob@hamburger.edu, incoming: mail.hamburger.edu, protocol: imap, outgoing: mail.hamburger.edu, user: bob, password: secret}
  pc-alice:
    kind: host
    interfaces: {eth0: 10.0.0.11/24}
    dns: [10.0.0.25]
    mail: {address: alice@hamburger.edu, incoming: mail.hamburger.edu, outgoing: mail.hamburger.edu, user: alice, password: secret}
links:
  - [mail, sw]
  - [webmail, sw]
  - [pc-bob, sw]
  - [pc-alice, sw]
checks:
  - name: Bob reads his inbox in webmail
    http:
      from: pc-bob
      url: http://webmail.hamburger.edu/folder?name=INBOX
      login: {user: bob, password: secret}
      contains: bob@hamburger.edu
  - name: a wrong password is refused
    http:
      from: pc-bob
      url: http://webmail.hamburger.edu/folder?name=INBOX
      login: {user: bob, password: wrong}
";

/// curl's session in Bob's PC: log in through the form with a cookie jar.
const LOG_IN: &str = r#"set -e
cd "$DIR"
base=http://webmail.hamburger.edu
curl -sS -c jar -b jar -o login.html "$base/login"
token=$(sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' login.html | head -n1)
curl -sS -c jar -b jar -o /dev/null -w '%{http_code} %{redirect_url}\n' \
  --data-urlencode "csrf=$token" --data-urlencode user=bob --data-urlencode password=secret "$base/login"
grep -q 'HttpOnly' jar && grep -q '#HttpOnly_webmail.hamburger.edu' jar
curl -sS -b jar -o inbox.html "$base/folder?name=INBOX"
curl -sS -b jar -o message.html "$base/message?folder=INBOX&uid=1"
curl -sS -b jar -D headers.txt -o download.bin "$base/attachment?folder=INBOX&uid=1&part=0"
curl -sS -b jar -o compose.html "$base/compose"
token=$(sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' compose.html | head -n1)
curl -sS -b jar -o /dev/null -w '%{http_code}\n' -F "csrf=$token" -F to=alice@hamburger.edu \
  -F 'subject=sent from webmail' -F 'body=Hello Alice' -F attachment=@upload.txt "$base/send"
"#;

/// A real browser in Bob's PC fills in the login form and submits it
/// (`common::browser_script`).
const BROWSER: &str = r#"
import os, time
with Browser(os.path.join(os.environ["DIR"], "profile")) as b:
    b.go("http://webmail.hamburger.edu/")
    b.type("input[name=user]", "bob")
    b.type("input[name=password]", "secret")
    b.click("button[type=submit]")
    for _ in range(50):
        if "/folder" in b.url():
            break
        time.sleep(0.1)
    print("URL", b.url())
    print("SCRIPTS", b.run("return document.querySelectorAll('script').length"))
    print("TITLE", b.title())
    print("TEXT", b.run("return document.body.innerText"))
"#;

#[test]
fn webmail_reads_and_sends_through_imap_and_smtp_in_a_real_lab() {
    require_root();
    let lab = Lab::new("t-webmail", LAB);
    lab.up_ok();
    let dir = lab.temp_dir().to_str().unwrap().to_string();
    let attachment = lab.scratch("notes.txt");
    std::fs::write(&attachment, "lecture notes\n").unwrap();
    std::fs::write(lab.scratch("upload.txt"), "uploaded by Bob\n").unwrap();
    let xss = "<script>alert(1)</script>";
    let out = labctl(&[
        "mail",
        "send",
        &lab.name,
        "pc-alice",
        "--to",
        "bob@hamburger.edu",
        "--subject",
        &format!("{xss} lecture 5"),
        "--body",
        &format!("Hi Bob {xss}"),
        "--attach",
        attachment.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));

    let out = lab.exec(
        "pc-bob",
        &["env", &format!("DIR={dir}"), "sh", "-c", LOG_IN],
    );
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("303 http://webmail.hamburger.edu/folder?name=INBOX"),
        "{stdout}"
    );
    assert!(stdout.trim_end().ends_with("303"), "the send: {stdout}");
    let read = |name: &str| std::fs::read_to_string(lab.scratch(name)).unwrap();
    let inbox = read("inbox.html");
    assert!(inbox.contains("bob@hamburger.edu"), "{inbox}");
    assert!(
        inbox.contains("&lt;script&gt;alert(1)&lt;/script&gt; lecture 5"),
        "{inbox}"
    );
    assert!(!inbox.contains("<script"), "{inbox}");
    let message = read("message.html");
    assert!(
        message.contains("Hi Bob &lt;script&gt;alert(1)&lt;/script&gt;"),
        "{message}"
    );
    assert!(!message.contains("<script"), "{message}");
    assert!(message.contains("notes.txt"), "{message}");
    assert_eq!(read("download.bin"), "lecture notes\n");
    let headers = read("headers.txt").to_ascii_lowercase();
    assert!(
        headers.contains("content-disposition: attachment; filename=\"notes.txt\""),
        "{headers}"
    );

    // Alice's own mail client (POP3) finds what Bob sent from webmail.
    let out = labctl(&["mail", "inbox", &lab.name, "pc-alice"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("sent from webmail"),
        "{}",
        text(&out)
    );
    let out = labctl(&["mail", "read", &lab.name, "pc-alice", "1"]);
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains("Hello Alice") && shown.contains("upload.txt"),
        "{}",
        text(&out)
    );

    // The chain in the mail server's dialogue log: the webmail node
    // (10.0.0.80) is the IMAP and SMTP client, logged in as bob.
    let out = labctl(&["logs", &lab.name, "mail"]);
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(log.contains("connection from 10.0.0.80:"), "{log}");
    assert!(log.contains("C: a1 LOGIN \"bob\""), "{log}");
    assert!(log.contains("C: AUTH PLAIN"), "{log}");
    assert!(log.contains("C: RCPT TO:<alice@hamburger.edu>"), "{log}");
    // And in the webmail node's own log: HTTP in, IMAP and SMTP out.
    let out = labctl(&["logs", &lab.name, "webmail"]);
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(log.contains("connection from 10.0.0.10:"), "{log}");
    assert!(log.contains("C: POST /login"), "{log}");
    assert!(
        log.contains("bob: IMAP to mail.hamburger.edu [10.0.0.25]:143"),
        "{log}"
    );
    assert!(
        log.contains("bob: SMTP submission to mail.hamburger.edu [10.0.0.25]:587"),
        "{log}"
    );
    assert!(!log.contains("secret"), "no password in the log: {log}");

    // The lab's checks: the login check passes, the wrong password fails
    // with the server's reason.
    let out = labctl(&["check", &lab.name, "--json"]);
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report.contains("could not log in") && report.contains("refused the login"),
        "{}",
        text(&out)
    );
    assert!(
        report.contains("\"passed\": 1") || report.contains("\"passed\":1"),
        "{}",
        text(&out)
    );

    // A real browser logs in through the form and sees the inbox.
    let out = lab.exec(
        "pc-bob",
        &[
            "env",
            &format!("DIR={dir}"),
            "python3",
            "-c",
            &browser_script(BROWSER),
        ],
    );
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        shown.contains("URL http://webmail.hamburger.edu/folder?name=INBOX"),
        "{shown}"
    );
    assert!(shown.contains("SCRIPTS 0"), "{shown}");
    assert!(
        shown.contains("<script>alert(1)</script> lecture 5"),
        "the subject shows as text: {shown}"
    );
}

/// The same lab with TLS everywhere: the mail server refuses plain logins,
/// the webmail serves HTTPS only (port 80 redirects).
fn tls_lab() -> String {
    LAB.replace(
        "users: {bob: secret, alice: secret}",
        "users: {bob: secret, alice: secret}\n        tls: required",
    )
    .replace(
        "webmail: {server: mail.hamburger.edu}",
        "webmail: {server: mail.hamburger.edu, tls: required}",
    )
    .replace(
        "outgoing: mail.hamburger.edu, user: bob, password: secret}",
        "outgoing: mail.hamburger.edu, user: bob, password: secret, security: starttls}",
    )
    .replace(
        "outgoing: mail.hamburger.edu, user: alice, password: secret}",
        "outgoing: mail.hamburger.edu, user: alice, password: secret, security: starttls}",
    )
}

/// curl's session over HTTPS, verifying with the PC's trust store (no -k):
/// the redirect from port 80, the login, the inbox; then the cookie jar's
/// secure column.
const LOG_IN_HTTPS: &str = r#"set -e
cd "$DIR"
curl -sS -o /dev/null -w '%{http_code} %{redirect_url}\n' "http://webmail.hamburger.edu/login"
base=https://webmail.hamburger.edu
curl -sS --fail -c jar -b jar -o login.html "$base/login"
token=$(sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' login.html | head -n1)
curl -sS -c jar -b jar -o /dev/null -w '%{http_code} %{redirect_url}\n' \
  --data-urlencode "csrf=$token" --data-urlencode user=bob --data-urlencode password=secret "$base/login"
curl -sS --fail -b jar -o inbox.html "$base/folder?name=INBOX"
grep '^#HttpOnly_webmail.hamburger.edu' jar | cut -f4
"#;

#[test]
fn webmail_over_https_with_the_lab_ca_and_secure_cookies() {
    require_root();
    let lab = Lab::new("t-webmails", &tls_lab());
    lab.up_ok();
    let dir = lab.temp_dir().to_str().unwrap().to_string();
    let out = labctl(&[
        "mail",
        "send",
        &lab.name,
        "pc-alice",
        "--to",
        "bob@hamburger.edu",
        "--subject",
        "lecture 6 over TLS",
        "--body",
        "Hi Bob",
    ]);
    assert!(out.status.success(), "{}", text(&out));

    let out = lab.exec(
        "pc-bob",
        &["env", &format!("DIR={dir}"), "sh", "-c", LOG_IN_HTTPS],
    );
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "301 https://webmail.hamburger.edu/login",
            "303 https://webmail.hamburger.edu/folder?name=INBOX",
            "TRUE",
        ],
        "the redirect, the login, the Secure cookie: {stdout}"
    );
    let inbox = std::fs::read_to_string(lab.scratch("inbox.html")).unwrap();
    assert!(inbox.contains("lecture 6 over TLS"), "{inbox}");

    // The webmail spoke IMAP over TLS to a server that requires it.
    let out = labctl(&["logs", &lab.name, "webmail"]);
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(log.contains("IMAP over TLS"), "{log}");
    assert!(!log.contains("secret"), "no password in the log: {log}");

    let out = labctl(&["status", &lab.name]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("HTTP 80; HTTPS 443"),
        "{}",
        text(&out)
    );
}
