//! Mail labs (root): two domains on two servers behind different routers,
//! MX found through a lab DNS server (dnsmasq), and real peers — Python's
//! smtplib and poplib, swaks, curl and fetchmail — as the users' clients.
//! Also: no open relay, `labctl logs`, and a `kill -9` of the daemon after
//! a 250 (and with mail in the relay queue) loses nothing: `labctl restart`
//! delivers it.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::{LABCTL, Lab, Spawned, eventually, require_root, text};

const LAB: &str = "
name: LAB
nodes:
  core: {kind: switch}
  lan1: {kind: switch}
  lan2: {kind: switch}
  r1:
    kind: router
    interfaces: {eth0: 10.0.0.1/24, eth1: 10.1.0.1/24}
    routing: auto
  r2:
    kind: router
    interfaces: {eth0: 10.0.0.2/24, eth1: 10.2.0.1/24}
    routing: auto
  dns0:
    kind: server
    interfaces: {eth0: 10.0.0.53/24}
    gateway: 10.0.0.1
  mx1:
    kind: server
    interfaces: {eth0: 10.1.0.10/24}
    gateway: 10.1.0.1
    dns: [10.0.0.53]
    services:
      mail:
        domains: [mt.com]
        users: {ada: secret}
  mx2:
    kind: server
    interfaces: {eth0: 10.2.0.10/24}
    gateway: 10.2.0.1
    dns: [10.0.0.53]
    services:
      mail:
        domains: [cbrc.com]
        users: {bob: secret}
  pc-ada:
    kind: host
    interfaces: {eth0: 10.1.0.20/24}
    gateway: 10.1.0.1
  pc-bob:
    kind: host
    interfaces: {eth0: 10.2.0.20/24}
    gateway: 10.2.0.1
links:
  - [r1:eth0, core]
  - [r2:eth0, core]
  - [dns0, core]
  - [r1:eth1, lan1]
  - [mx1, lan1]
  - [pc-ada, lan1]
  - [r2:eth1, lan2]
  - [mx2, lan2]
  - [pc-bob, lan2]
";

/// Ada writes to Bob through her server (submission, AUTH): a multipart
/// message with a binary attachment; prints the attachment's bytes in hex.
const SEND_WITH_SMTPLIB: &str = r#"
import smtplib, sys
from email.message import EmailMessage
m = EmailMessage()
m["From"] = "ada@mt.com"; m["To"] = "bob@cbrc.com"; m["Subject"] = "Lecture 5"
m.set_content("Hi Bob,\n.a line with a dot\nsee the attachment.\n")
blob = bytes(range(256)) * 4
m.add_attachment(blob, maintype="application", subtype="octet-stream", filename="notes.bin")
with smtplib.SMTP("10.1.0.10", 587, timeout=10) as s:
    s.ehlo("pc-ada")
    s.login("ada", "secret")
    s.send_message(m)
print(blob.hex())
"#;

/// Bob reads his mail by POP3; prints the attachment in hex, then quits
/// after deleting it.
const READ_WITH_POPLIB: &str = r#"
import poplib, email, email.policy, sys, time
deadline = time.time() + 20
while True:
    p = poplib.POP3("10.2.0.10", 110, timeout=10)
    p.user("bob"); p.pass_("secret")
    count, _ = p.stat()
    if count or time.time() > deadline:
        break
    p.quit(); time.sleep(0.2)
assert count == 1, f"{count} messages"
_, lines, _ = p.retr(1)
msg = email.message_from_bytes(b"\r\n".join(lines), policy=email.policy.default)
assert msg["Subject"] == "Lecture 5", msg["Subject"]
parts = list(msg.iter_attachments())
text = msg.get_body().get_content()
assert ".a line with a dot" in text, text
print(parts[0].get_payload(decode=True).hex())
p.dele(1); p.quit()
"#;

fn exec_spawned(lab: &Lab, node: &str, command: &[&str]) -> std::process::Child {
    let mut args = vec!["exec", lab.name.as_str(), node, "--"];
    args.extend_from_slice(command);
    Command::new(LABCTL)
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// The lab's DNS server (dnsmasq on dns0); stopped when the result is
/// dropped, which must come before the lab's own drop. Its pid file is in
/// the lab's temp dir (dnsmasq, no longer root by then, cannot remove it).
fn start_dns(lab: &Lab) -> Spawned {
    let pid_file = format!("--pid-file={}", lab.scratch("dnsmasq.pid").display());
    let dnsmasq = Spawned(exec_spawned(
        lab,
        "dns0",
        &[
            "dnsmasq",
            &pid_file,
            "--keep-in-foreground",
            "--conf-file=/dev/null",
            "--no-resolv",
            "--no-hosts",
            "--listen-address=10.0.0.53",
            "--bind-interfaces",
            "--mx-host=mt.com,mx1.mt.com,10",
            "--mx-host=cbrc.com,mx2.cbrc.com,10",
            "--host-record=mx1.mt.com,10.1.0.10",
            "--host-record=mx2.cbrc.com,10.2.0.10",
        ],
    ));
    let answered = eventually(Duration::from_secs(5), || {
        let out = lab.exec(
            "mx1",
            &[
                "dig",
                "+short",
                "+time=1",
                "+tries=1",
                "@10.0.0.53",
                "cbrc.com",
                "MX",
            ],
        );
        String::from_utf8_lossy(&out.stdout).contains("mx2.cbrc.com")
    });
    assert!(answered, "dnsmasq does not answer in the lab");
    dnsmasq
}

fn daemon_pid(lab: &Lab) -> i32 {
    let text = std::fs::read_to_string(format!("/run/labctl/{}/daemon.pid", lab.name)).unwrap();
    text.split_whitespace().next().unwrap().parse().unwrap()
}

/// Whether a process has ended (a zombie counts: it holds no sockets).
fn gone(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
        Err(_) => true,
    }
}

fn logs(lab: &Lab, node: &str) -> String {
    let out = common::labctl(&["logs", &lab.name, node]);
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn two_domains_relay_by_mx_and_real_clients_send_and_read() {
    require_root();
    let lab = Lab::new("t-mail", LAB);
    lab.up_ok();
    let _dns = start_dns(&lab);

    // Ada sends with smtplib over submission with AUTH; MX relay to mx2.
    let sent = lab.exec_ok("pc-ada", &["python3", "-c", SEND_WITH_SMTPLIB]);
    // Bob reads it with poplib: the attachment arrives byte for byte.
    let read = lab.exec_ok("pc-bob", &["python3", "-c", READ_WITH_POPLIB]);
    assert_eq!(read.trim(), sent.trim());

    // No open relay: without AUTH, mail for another domain is refused.
    let out = lab.exec(
        "pc-ada",
        &[
            "swaks",
            "--server",
            "10.1.0.10",
            "--port",
            "25",
            "--from",
            "x@mt.com",
            "--to",
            "bob@cbrc.com",
            "--timeout",
            "10",
        ],
    );
    assert!(!out.status.success(), "relay accepted: {}", text(&out));
    assert!(text(&out).contains("554 5.7.1"), "{}", text(&out));

    // swaks with AUTH LOGIN from Bob's side to Ada, then curl reads it by POP3.
    let out = lab.exec(
        "pc-bob",
        &[
            "swaks",
            "--server",
            "10.2.0.10",
            "--port",
            "587",
            "--auth",
            "LOGIN",
            "--auth-user",
            "bob",
            "--auth-password",
            "secret",
            "--from",
            "bob@cbrc.com",
            "--to",
            "ada@mt.com",
            "--header",
            "Subject: reply by swaks",
            "--timeout",
            "10",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let arrived = eventually(Duration::from_secs(15), || {
        let out = lab.exec(
            "pc-ada",
            &["curl", "-s", "-u", "ada:secret", "pop3://10.1.0.10/1"],
        );
        String::from_utf8_lossy(&out.stdout).contains("Subject: reply by swaks")
    });
    assert!(arrived, "the relayed reply did not reach Ada's mailbox");

    // curl submits over SMTP with AUTH too; the message is relayed to Ada.
    let upload = lab.scratch("curl-mail.eml");
    let upload = upload.to_str().unwrap();
    std::fs::write(
        upload,
        "From: bob@cbrc.com\r\nTo: ada@mt.com\r\nSubject: sent by curl\r\n\r\nhello\r\n",
    )
    .unwrap();
    let out = lab.exec(
        "pc-bob",
        &[
            "curl",
            "-s",
            "--url",
            "smtp://10.2.0.10:587",
            "--mail-from",
            "bob@cbrc.com",
            "--mail-rcpt",
            "ada@mt.com",
            "-u",
            "bob:secret",
            "-T",
            upload,
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let relayed = eventually(Duration::from_secs(15), || {
        let out = lab.exec(
            "pc-ada",
            &["curl", "-s", "-u", "ada:secret", "pop3://10.1.0.10/"],
        );
        String::from_utf8_lossy(&out.stdout).lines().count() == 2
    });
    assert!(relayed, "curl's message did not reach Ada's mailbox");

    // fetchmail collects both. Its files (the rc file, and the .fetchids
    // and pid file it would keep in $HOME) live in the lab's temp dir.
    let rc = lab.scratch("fetchmailrc");
    let rc = rc.to_str().unwrap();
    let home = format!("FETCHMAILHOME={}", lab.temp_dir().display());
    std::fs::write(
        rc,
        "poll 10.1.0.10 protocol pop3 user \"ada\" password \"secret\" sslproto \"\" keep mda \"/bin/cat\"\n",
    )
    .unwrap();
    // fetchmail refuses a password file others can read.
    std::fs::set_permissions(rc, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let out = lab.exec(
        "pc-ada",
        &[
            "env",
            &home,
            "fetchmail",
            "-f",
            rc,
            "--nodetach",
            "--nosyslog",
        ],
    );
    let fetched = String::from_utf8_lossy(&out.stdout);
    assert!(
        fetched.contains("Subject: reply by swaks"),
        "{}",
        text(&out)
    );
    assert!(fetched.contains("Subject: sent by curl"), "{}", text(&out));

    // The dialogue logs read like the lecture's sample sessions.
    let mx1 = logs(&lab, "mx1");
    assert!(mx1.contains("C: AUTH PLAIN "), "{mx1}");
    assert!(
        mx1.contains("S: 554 5.7.1 <bob@cbrc.com>: Relay access denied"),
        "{mx1}"
    );
    // The server's own MX lookup, then its outgoing session to what it found.
    let lookup = mx1
        .find("smtp-out -- MX lookup for cbrc.com at 10.0.0.53:53: mx2.cbrc.com [10.2.0.10]")
        .unwrap_or_else(|| panic!("no MX lookup in\n{mx1}"));
    let outgoing = mx1
        .find("-- outgoing connection to mx2.cbrc.com [10.2.0.10]:25")
        .unwrap_or_else(|| panic!("no outgoing session in\n{mx1}"));
    assert!(lookup < outgoing, "{mx1}");
    // Bodies only with --bodies, dot-unstuffed, in both directions.
    assert!(!mx1.contains(" D: "), "{mx1}");
    let out = common::labctl(&["logs", &lab.name, "mx1", "--bodies"]);
    let bodies = String::from_utf8_lossy(&out.stdout);
    assert!(
        bodies.contains("submission #") || bodies.contains("smtp #"),
        "{bodies}"
    );
    assert!(bodies.contains(" D: .a line with a dot"), "{bodies}");
    assert!(
        bodies.contains("smtp-out #") && bodies.contains(" D: Subject: Lecture 5"),
        "{bodies}"
    );
    let mx2 = logs(&lab, "mx2");
    assert!(mx2.contains("C: EHLO mx1.mt.com"), "{mx2}");
    assert!(mx2.contains("C: RCPT TO:<bob@cbrc.com>"), "{mx2}");
    assert!(mx2.contains("C: RETR 1"), "{mx2}");
    let out = common::labctl(&["logs", &lab.name, "pc-ada"]);
    assert!(!out.status.success());
}

#[test]
fn kill_9_after_250_loses_nothing_and_the_queue_survives() {
    require_root();
    let lab = Lab::new("t-mailkill", LAB);
    lab.up_ok();
    let dns = start_dns(&lab);
    // mx2 is unreachable for now: mail for cbrc.com waits in mx1's queue.
    lab.exec_ok("r2", &["ip", "link", "set", "eth1", "down"]);
    for to in ["ada@mt.com", "bob@cbrc.com"] {
        let out = lab.exec(
            "pc-ada",
            &[
                "swaks",
                "--server",
                "10.1.0.10",
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
                to,
                "--header",
                "Subject: survives",
                "--timeout",
                "10",
            ],
        );
        assert!(out.status.success(), "{}", text(&out));
        assert!(
            text(&out).contains("250 2.0.0 Ok: queued as"),
            "{}",
            text(&out)
        );
    }
    // Right after the 250s: kill -9, no chance to flush anything.
    let pid = daemon_pid(&lab);
    unsafe { libc::kill(pid, libc::SIGKILL) };
    assert!(eventually(Duration::from_secs(5), || gone(pid)));
    lab.exec_ok("r2", &["ip", "link", "set", "eth1", "up"]);
    // The documented recovery: a new daemon on the same network.
    let out = common::labctl(&["restart", &lab.name]);
    assert!(out.status.success(), "{}", text(&out));
    let local = eventually(Duration::from_secs(10), || {
        let out = lab.exec(
            "pc-ada",
            &["curl", "-s", "-u", "ada:secret", "pop3://10.1.0.10/1"],
        );
        String::from_utf8_lossy(&out.stdout).contains("Subject: survives")
    });
    let relayed = eventually(Duration::from_secs(20), || {
        let out = lab.exec(
            "pc-bob",
            &["curl", "-s", "-u", "bob:secret", "pop3://10.2.0.10/"],
        );
        // The listing: one line, message 1.
        String::from_utf8_lossy(&out.stdout).starts_with("1 ")
    });
    drop(dns);
    drop(lab);
    assert!(
        local,
        "the local delivery acknowledged before kill -9 was lost"
    );
    assert!(
        relayed,
        "the queued message was lost or not relayed after the restart"
    );
}
