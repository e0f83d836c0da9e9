//! The operator's side of a running lab (root): the state dir is root's
//! alone, nothing a lab guest sends reaches the terminal raw, there is one
//! daemon per lab, and `restart` brings a crashed daemon back with its mail
//! and leases.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::*;

/// A DHCP and mail server, a DHCP client with Ada's mail settings, and a
/// probe with a static address to play the hostile guest.
const SERVER_AND_PCS: &str = "
name: LAB
nodes:
  server0:
    kind: server
    interfaces: {eth0: 192.168.1.2/24}
    services:
      dhcp:
        pools:
          - {range: 192.168.1.100-192.168.1.150, lease: 1h}
      mail:
        domains: [lab.test]
        users: {ada: secret}
  sw0: {kind: switch}
  pc0:
    kind: host
    interfaces: {eth0: dhcp}
    mail: {address: ada@lab.test, incoming: 192.168.1.2, outgoing: 192.168.1.2, user: ada, password: secret, protocol: imap}
  probe: {kind: host, interfaces: {eth0: 192.168.1.9/24}}
links:
  - [server0, sw0]
  - [pc0, sw0]
  - [probe, sw0]
";

fn state_dir(lab: &Lab) -> PathBuf {
    Path::new("/run/labctl").join(&lab.name)
}

fn daemon_pid(lab: &Lab) -> i32 {
    let text = std::fs::read_to_string(state_dir(lab).join("daemon.pid")).unwrap();
    text.split_whitespace().next().unwrap().parse().unwrap()
}

/// Whether a process has ended (a zombie counts).
fn gone(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |stat| {
        stat.rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z'))
    })
}

fn status_json(lab: &Lab) -> serde_json::Value {
    let out = labctl(&["status", &lab.name, "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn node<'a>(status: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    status["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == name)
        .unwrap()
}

/// pc0's address from its DHCP client, and the server's lease for it.
fn pc0_lease(lab: &Lab) -> (String, String) {
    let status = status_json(lab);
    let lease = &node(&status, "pc0")["interfaces"][0]["lease"];
    assert_eq!(lease["state"], "bound", "{status:#}");
    let address = lease["address"].as_str().unwrap().to_string();
    let leases = node(&status, "server0")["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "dhcp-server")
        .map(|s| s["leases"].clone())
        .unwrap();
    let held = leases
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["hostname"] == "pc0")
        .map(|l| format!("{} {}", l["address"], l["mac"]))
        .unwrap_or_default();
    (address, held)
}

/// From the probe, over SMTP port 25: a hostile EHLO (refused, but
/// logged), then `message` for Ada as raw bytes.
fn deliver_raw(lab: &Lab, message: &[u8], ehlo: &str) {
    let hex = |bytes: &[u8]| -> String { bytes.iter().map(|b| format!("{b:02x}")).collect() };
    let script = format!(
        "import smtplib\nwith smtplib.SMTP('192.168.1.2', 25, timeout=10) as s:\n  \
         s.docmd('EHLO', bytes.fromhex('{}').decode())\n  s.ehlo('probe')\n  \
         s.sendmail('eve@lab.test', ['ada@lab.test'], bytes.fromhex('{}'))",
        hex(ehlo.as_bytes()),
        hex(message)
    );
    lab.exec_ok("probe", &["python3", "-c", &script]);
}

fn assert_no_terminal_controls(what: &str, bytes: &[u8]) {
    let shown = String::from_utf8_lossy(bytes);
    let raw: Vec<char> = shown
        .chars()
        .filter(|&c| c.is_control() && c != '\n')
        .collect();
    assert!(raw.is_empty(), "{what} printed raw {raw:?}:\n{shown}");
}

/// pc0 (Ada's PC) sends a message to Ada with its own mail settings.
fn mail_ada(lab: &Lab, message: &[&str]) {
    let mut args = vec!["mail", "send", &lab.name, "pc0", "--to", "ada@lab.test"];
    args.extend_from_slice(message);
    let out = labctl(&args);
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn the_state_dir_is_root_only() {
    require_root();
    let lab = Lab::new("t-perm", SERVER_AND_PCS);
    lab.up_ok();
    // A delivered message, a dialogue log with a login, a lease file.
    mail_ada(&lab, &["--subject", "private", "--body", "for Ada only"]);
    let state = state_dir(&lab);
    let inbox = state.join("mail/server0/maildirs/ada/new");
    assert!(
        eventually(Duration::from_secs(5), || std::fs::read_dir(&inbox)
            .is_ok_and(|mut d| d.next().is_some())),
        "the message never reached {}",
        inbox.display()
    );
    let log = state.join("logs/server0.log");
    assert!(
        eventually(Duration::from_secs(5), || std::fs::read_to_string(&log)
            .is_ok_and(|text| text.contains("AUTH PLAIN"))),
        "the service log {} never showed the login",
        log.display()
    );
    assert!(state.join("dhcp-leases-server0.jsonl").exists());

    let mut open = Vec::new();
    let mut seen = 0;
    let mut pending = vec![state.clone()];
    // The node-file store (a tmpfs, 0700) holds what nodes see as /etc:
    // hosts, resolv.conf, the CA's public certificate, links to the host's
    // certificates — public, and unreachable through its root anyway.
    let store = state.join("etc");
    let store_mode = std::fs::metadata(&store).map(|m| m.permissions());
    assert_eq!(
        store_mode
            .map(|p| std::os::unix::fs::PermissionsExt::mode(&p) & 0o777)
            .ok(),
        Some(0o700)
    );
    while let Some(path) = pending.pop() {
        if path == store {
            continue;
        }
        let meta = std::fs::symlink_metadata(&path).unwrap();
        let mode = std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o777;
        if mode & 0o077 != 0 {
            open.push(format!("{mode:o} {}", path.display()));
        }
        seen += 1;
        if meta.is_dir() {
            pending.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        }
    }
    assert!(seen > 15, "walked only {seen} entries");
    assert_eq!(open, Vec::<String>::new(), "group or others can open these");

    // As `nobody`, the passwords in lab.json stay unread.
    let out = Command::new("setpriv")
        .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", "cat"])
        .arg(state.join("lab.json"))
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "nobody read lab.json:\n{}",
        text(&out)
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("secret"));
    // `nobody`'s labctl lists nobody's own (rootless) labs, never root's…
    let as_nobody = |run_dir: Option<&str>| {
        let mut command = Command::new("setpriv");
        command.args([
            "--reuid=nobody",
            "--regid=nogroup",
            "--clear-groups",
            LABCTL,
            "status",
        ]);
        command
            .env_remove("LABCTL_RUN_DIR")
            .env("XDG_RUNTIME_DIR", "");
        if let Some(dir) = run_dir {
            command.env("LABCTL_RUN_DIR", dir);
        }
        command.output().unwrap()
    };
    let out = as_nobody(None);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!text(&out).contains(&lab.name), "{}", text(&out));
    // …and pointed at root's state, says why it cannot read it instead of
    // "no lab is up".
    let out = as_nobody(Some("/run/labctl"));
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("readable by root only"),
        "{}",
        text(&out)
    );
}

#[test]
fn what_a_guest_sends_is_escaped_on_the_operators_terminal() {
    require_root();
    let lab = Lab::new("t-escape", SERVER_AND_PCS);
    lab.up_ok();

    // A DHCP client whose hostname retitles the window and clears the screen.
    let out = lab.udhcpc(
        "probe",
        &["-x", "hostname:evil\u{1b}]0;owned\u{7}\u{1b}[2Jx"],
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = labctl(&["status", &lab.name]);
    assert!(out.status.success(), "{}", text(&out));
    assert_no_terminal_controls("status", &out.stdout);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("evil\\x1b]0;owned\\x07\\x1b[2Jx"),
        "{}",
        text(&out)
    );

    // A message with ESC in its Subject, an RFC 2047 From that decodes to
    // ESC and BEL, and a body that tries to clear the screen.
    let from = "=?utf-8?B?RXZlIBtdMDtvd25lZAcbWzJK?= <eve@lab.test>"; // "Eve \e]0;owned\a\e[2J"
    let message = format!(
        "From: {from}\r\nTo: ada@lab.test\r\nSubject: hi \u{1b}[31mred\u{1b}[0m \u{9b}2J\r\n\r\nbody \u{1b}[2J\r\n"
    );
    deliver_raw(&lab, message.as_bytes(), "probe\u{1b}[2J");

    let out = labctl(&["mail", "inbox", &lab.name, "pc0"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_no_terminal_controls("mail inbox", &out.stdout);
    let inbox = String::from_utf8_lossy(&out.stdout);
    assert!(
        inbox.contains("hi \\x1b[31mred\\x1b[0m \\u{9b}2J"),
        "{inbox}"
    );
    assert!(inbox.contains("Eve \\x1b]0;owned\\x07"), "{inbox}");

    let out = labctl(&["mail", "read", &lab.name, "pc0", "1"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_no_terminal_controls("mail read", &out.stdout);
    let read = String::from_utf8_lossy(&out.stdout);
    assert!(
        read.contains("From: Eve \\x1b]0;owned\\x07\\x1b[2J <eve@lab.test>"),
        "{read}"
    );
    assert!(read.contains("body \\x1b[2J"), "{read}");

    let out = labctl(&["logs", &lab.name, "server0"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_no_terminal_controls("logs", &out.stdout);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("C: EHLO probe\\x1b[2J"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_second_daemon_is_refused_and_down_stops_the_daemon_the_pid_file_hides() {
    require_root();
    let lab = Lab::new("t-onedaemon", SERVER_AND_PCS);
    lab.up_ok();
    let first = daemon_pid(&lab);
    let pid_file = state_dir(&lab).join("daemon.pid");
    let recorded = std::fs::read(&pid_file).unwrap();

    let out = labctl(&["daemon", &lab.name]);
    assert!(!out.status.success(), "{}", text(&out));
    let said = text(&out);
    assert!(
        said.contains("already has a running daemon") && said.contains(&format!("pid {first}")),
        "{said}"
    );
    assert_eq!(
        std::fs::read(&pid_file).unwrap(),
        recorded,
        "pid file touched"
    );
    // The first daemon still answers on its socket and serves DHCP and mail.
    let status = status_json(&lab);
    assert_eq!(status["lab"]["daemon"]["running"], true);
    assert_eq!(status["lab"]["daemon"]["pid"], first);
    assert!(
        status["lab"]["daemon"]["uptime_seconds"].is_u64(),
        "{status:#}"
    );
    pc0_lease(&lab);
    let out = labctl(&["mail", "inbox", &lab.name, "pc0"]);
    assert!(out.status.success(), "{}", text(&out));

    // Even when the pid file lies, `down` finds the daemon by its lock.
    std::fs::write(&pid_file, "1 1\n").unwrap();
    let out = lab.down();
    assert!(out.status.success(), "{}", text(&out));
    assert!(gone(first), "the daemon survived down");
    assert_eq!(leftovers(&lab.name), Vec::<String>::new());
}

#[test]
fn restart_after_kill_9_keeps_mail_and_leases() {
    require_root();
    let lab = Lab::new("t-restart", SERVER_AND_PCS);
    lab.up_ok();
    let send = |subject: &str| mail_ada(&lab, &["--subject", subject]);
    let inbox = || {
        let out = labctl(&["mail", "inbox", &lab.name, "pc0"]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    send("before the crash");
    assert!(
        eventually(Duration::from_secs(5), || inbox()
            .contains("before the crash")),
        "{}",
        inbox()
    );
    let lease_before = pc0_lease(&lab);

    let pid = daemon_pid(&lab);
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
    assert!(eventually(Duration::from_secs(5), || gone(pid)));
    let out = labctl(&["status", &lab.name]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains(&format!("labctl restart {}", lab.name)),
        "{}",
        text(&out)
    );

    let out = labctl(&["restart", &lab.name]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("restarted"), "{}", text(&out));
    let again = labctl(&["restart", &lab.name]);
    assert!(!again.status.success(), "{}", text(&again));
    assert!(text(&again).contains("is running"), "{}", text(&again));

    // Mail from before the crash is still there (read over IMAP), new
    // mail is accepted, and pc0 kept its address.
    assert!(inbox().contains("before the crash"), "{}", inbox());
    send("after the restart");
    assert!(
        eventually(Duration::from_secs(5), || inbox()
            .contains("after the restart")),
        "{}",
        inbox()
    );
    assert_eq!(pc0_lease(&lab), lease_before);
    assert_ne!(daemon_pid(&lab), pid);

    let out = lab.down();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(leftovers(&lab.name), Vec::<String>::new());
}
