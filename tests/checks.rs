//! Grading in real labs (root): every check kind passing on a correct lab,
//! and failing with the right diagnosis on deliberately broken ones;
//! `check` with a separate checks file; the mail client by hand, read back
//! by a real POP3 client (curl); `test` always tearing down.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

/// The MasterTech lab of tests/labs, under a placeholder name.
fn mastertech() -> String {
    include_str!("labs/mastertech.yaml")
        .replace("name: mastertech", "name: LAB")
        .replace("attach: mastertech.yaml", "attach: lab.yaml")
}

fn json_of(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", text(out)))
}

#[test]
fn every_kind_passes_on_a_correct_lab() {
    require_root();
    let lab = Lab::new("ck-good", &mastertech());
    let junit = lab.file.with_file_name("report.xml");
    let out = labctl(&[
        "test",
        lab.file.to_str().unwrap(),
        "--json",
        "--junit",
        junit.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let report = json_of(&out);
    assert_eq!(report["passed"], true);
    assert_eq!(report["score"]["percent"], 100.0);
    let kinds: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    for kind in [
        "ping",
        "tcp",
        "dhcp",
        "dns",
        "http",
        "mail",
        "mail-refused",
        "exec",
    ] {
        assert!(kinds.contains(&kind), "{kind} is not covered: {kinds:?}");
    }
    let timings = &report["timings"];
    for phase in ["build_ms", "ready_ms", "checks_ms", "teardown_ms"] {
        assert!(timings[phase].is_u64(), "{phase}: {timings}");
    }
    let schema = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/junit-10.xsd");
    let lint = Command::new("xmllint")
        .args(["--noout", "--schema", schema])
        .arg(&junit)
        .output()
        .expect("xmllint runs");
    assert!(
        lint.status.success(),
        "{}",
        String::from_utf8_lossy(&lint.stderr)
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(xml.matches("<testcase ").count(), kinds.len());
    assert!(
        leftovers(&lab.name).is_empty(),
        "{:?}",
        leftovers(&lab.name)
    );
}

/// One broken variant of the MasterTech lab: what to change, the check
/// that must fail, and words its diagnosis must contain.
struct Broken {
    name: &'static str,
    from: &'static str,
    to: &'static str,
    check: &'static str,
    diagnosis: &'static [&'static str],
}

const BROKEN: &[Broken] = &[
    Broken {
        name: "missing DNS record",
        from: "            mail: {A: mail}\n",
        to: "            post: {A: mail}\n",
        check: "Ada and Bob can email each other",
        diagnosis: &[
            "could not resolve mail.mt.com",
            "NXDOMAIN",
            "is there an A record for mail.mt.com",
        ],
    },
    Broken {
        name: "missing MX record",
        from: "            \"@\": {MX: 10 mail.cbrc.com.}\n",
        to: "",
        check: "mail crosses domains and routers with its attachment",
        diagnosis: &[
            "could not deliver the message and returned it to bob@mt.com",
            "MX record for cbrc.com",
        ],
    },
    Broken {
        // mail-cbrc cannot answer: mt.com's server keeps the message queued.
        name: "next mail server unreachable",
        from: "    gateway: 192.168.10.1\n    dns: [192.168.30.2]\n    services:\n      mail:\n        domains: [cbrc.com]",
        to: "    gateway: 192.168.10.254\n    dns: [192.168.30.2]\n    services:\n      mail:\n        domains: [cbrc.com]",
        check: "mail crosses domains and routers with its attachment",
        diagnosis: &[
            "the message waits in mail's relay queue",
            "cannot reach cbrc.com's mail server 192.168.10.3",
        ],
    },
    Broken {
        name: "wrong password",
        from: "user: ada, password: ada-secret}",
        to: "user: ada, password: guess}",
        check: "Ada and Bob can email each other",
        diagnosis: &[
            "at AUTH the server answered \"535",
            "password in pc-backend's mail settings",
        ],
    },
    Broken {
        name: "wrong IMAP password",
        from: "protocol: imap, outgoing: mail.mt.com, user: carol, password: carol-secret}",
        to: "protocol: imap, outgoing: mail.mt.com, user: carol, password: carol}",
        check: "Carol reads mail over IMAP",
        diagnosis: &[
            "pc-management could not read its mailbox on mail.mt.com over IMAP",
            "at login the server answered",
            "password",
        ],
    },
    Broken {
        name: "no relay on the router",
        from: "eth2: {address: 192.168.20.1/24, dhcp_relay: 192.168.30.2}",
        to: "eth2: 192.168.20.1/24",
        check: "pc-frontend/eth0 gets a DHCP lease in 192.168.20.0/24 from server",
        diagnosis: &[
            "pc-frontend/eth0 has no DHCP lease",
            "no DHCP server or relay on its network, sw-frontend (192.168.20.0/24)",
            "`dhcp_relay` on its router",
        ],
    },
    Broken {
        name: "mail server down",
        from: "      mail:\n        domains: [mt.com]",
        to: "      web: {pages: {/: down}}\n      x-mail:\n        domains: [mt.com]",
        check: "Ada and Bob can email each other",
        diagnosis: &[
            "mail.mt.com",
            "nothing listens on that port",
            "mail service",
        ],
    },
    Broken {
        name: "wrong gateway",
        from: "{range: 192.168.10.100-192.168.10.199, gateway: 192.168.10.1,",
        to: "{range: 192.168.10.100-192.168.10.199, gateway: 192.168.10.254,",
        check: "pc-backend can ping pc-frontend",
        diagnosis: &[
            "pc-backend's gateway 192.168.10.254 is not on pc-backend's network: no node on sw-backend (192.168.10.0/24) has it",
            "router's address on pc-backend's network",
        ],
    },
    Broken {
        // The server takes the address without a login: for a relay test
        // that is an open relay.
        name: "accepted without login",
        from: "  - mail-refused: {from: pc-cbrc, server: mail.mt.com, to: someone@elsewhere.org}",
        to: "  - mail-refused: {from: pc-cbrc, server: mail.mt.com, to: carol@mt.com}",
        check: "mail.mt.com refuses to relay mail for carol@mt.com from pc-cbrc without login",
        diagnosis: &[
            "open relay",
            "accepted mail for carol@mt.com",
            "250",
            "only for users who logged in",
        ],
    },
];

#[test]
fn broken_labs_fail_with_the_right_diagnosis() {
    require_root();
    let runs: Vec<_> = BROKEN
        .iter()
        .map(|broken| {
            let yaml = mastertech();
            assert!(yaml.contains(broken.from), "{}: the lab no longer has {:?}", broken.name, broken.from);
            // The x-mail key of "mail server down" must not be a valid service.
            let yaml = yaml.replace(broken.from, broken.to).replace("      x-mail:\n        domains: [mt.com]\n        users: {ada: ada-secret, bob: bob-secret, carol: carol-secret}\n", "");
            let lab = Lab::new("ck-bad", &yaml);
            let child = Command::new(LABCTL)
                .args(["test", lab.file.to_str().unwrap(), "--json"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            (broken, lab, child)
        })
        .collect();
    for (broken, lab, child) in runs {
        let out = child.wait_with_output().unwrap();
        let report = json_of(&out);
        let check = report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == broken.check)
            .unwrap_or_else(|| {
                panic!(
                    "{}: no check {:?}:\n{}",
                    broken.name,
                    broken.check,
                    text(&out)
                )
            });
        let diagnosis = &check["diagnosis"];
        let message = format!(
            "{} — {}",
            diagnosis["message"].as_str().unwrap_or(""),
            diagnosis["hint"].as_str().unwrap_or("")
        );
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}: {}",
            broken.name,
            text(&out)
        );
        assert_eq!(check["passed"], false, "{}: {check}", broken.name);
        for words in broken.diagnosis {
            assert!(
                message.contains(words),
                "{}: diagnosis lacks {words:?}: {message}",
                broken.name
            );
        }
        assert!(
            leftovers(&lab.name).is_empty(),
            "{}: {:?}",
            broken.name,
            leftovers(&lab.name)
        );
    }
}

#[test]
fn check_grades_a_running_lab_with_a_separate_checks_file() {
    require_root();
    let lab = Lab::new("ck-run", &mastertech());
    lab.up_ok();
    let dir = lab.file.parent().unwrap();
    let good = dir.join("good.yaml");
    std::fs::write(
        &good,
        "checks:\n  - http: {from: pc-management, url: http://www.mastertech.com/contact.html, contains: info@mt.com}\n    points: 4\n  - ping: {from: pc-cbrc, to: mail}\n",
    )
    .unwrap();
    let out = labctl(&[
        "check",
        &lab.name,
        "--checks",
        good.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(json_of(&out)["score"]["max_points"], 5);
    let failing = dir.join("failing.yaml");
    std::fs::write(&failing, "checks:\n  - http: {from: pc-management, url: http://www.mastertech.com/prices.html}\n  - ping: {from: pc-cbrc, to: mail}\n").unwrap();
    let out = labctl(&["check", &lab.name, "--checks", failing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("answered 404 Not Found"), "{stdout}");
    assert!(
        stdout.contains("score: 1/2 points (50.0%), 1 of 2 checks passed"),
        "{stdout}"
    );
    // A node the lab lacks fails that check; a mistake of the file itself
    // stops everything, placed by check and field (a rubric may be hidden).
    let lacking = dir.join("lacking.yaml");
    std::fs::write(&lacking, "checks:\n  - ping: {from: pc-nobody, to: mail}\n").unwrap();
    let out = labctl(&["check", &lab.name, "--checks", lacking.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("has no node `pc-nobody`"),
        "{}",
        text(&out)
    );
    let invalid = dir.join("invalid.yaml");
    std::fs::write(
        &invalid,
        "checks:\n  - ping: {from: pc-cbrc, to: mail, expect: maybe}\n",
    )
    .unwrap();
    let out = labctl(&["check", &lab.name, "--checks", invalid.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("invalid.yaml: check 1, `ping.expect`"),
        "{}",
        text(&out)
    );
    // The lab's own checks, by lab file.
    let out = labctl(&["check", lab.file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = labctl(&["check", "ck-not-up-anywhere"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

/// `labctl mail send` composes with the PC's settings; the message is read
/// back by `labctl mail inbox/read` and by curl, a real POP3 client, from
/// the recipient's PC.
#[test]
fn the_mail_client_sends_and_reads_like_a_pc() {
    require_root();
    let lab = Lab::new("ck-mua", &mastertech());
    lab.up_ok();
    let attachment = lab.file.with_file_name("photo.bin");
    let bytes: Vec<u8> = (0..20_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&attachment, &bytes).unwrap();
    let out = labctl(&[
        "mail",
        "send",
        &lab.name,
        "pc-backend",
        "--to",
        "bob@mt.com",
        "--subject",
        "Hello Bob",
        "--body",
        "See the photo.\n.\nAda",
        "--attach",
        attachment.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let mut listed = String::new();
    for _ in 0..50 {
        let out = labctl(&["mail", "inbox", &lab.name, "pc-frontend"]);
        assert!(out.status.success(), "{}", text(&out));
        listed = String::from_utf8_lossy(&out.stdout).into_owned();
        if listed.contains("Hello Bob") {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        listed.contains("Ada <ada@mt.com>") && listed.contains("Hello Bob"),
        "{listed}"
    );
    let out = labctl(&["mail", "read", &lab.name, "pc-frontend", "1"]);
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(shown.contains("Subject: Hello Bob"), "{shown}");
    assert!(shown.contains("See the photo.\n.\nAda"), "{shown}");
    assert!(
        shown.contains("[attachment] photo.bin (application/octet-stream, 20000 bytes)"),
        "{shown}"
    );
    // curl, a real POP3 client, on pc-frontend: the same message.
    let raw = lab.exec_ok(
        "pc-frontend",
        &[
            "curl",
            "-s",
            "--max-time",
            "5",
            "-u",
            "bob:bob-secret",
            "pop3://mail.mt.com/1",
        ],
    );
    assert!(raw.contains("Subject: Hello Bob"), "{raw}");
    assert!(raw.contains("filename=\"photo.bin\""), "{raw}");
    // Carol reads over IMAP: her client and curl see the same message.
    let out = labctl(&[
        "mail",
        "send",
        &lab.name,
        "pc-frontend",
        "--to",
        "carol@mt.com",
        "--subject",
        "Über IMAP",
        "--body",
        "Hi Carol",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let mut listed = String::new();
    for _ in 0..50 {
        listed =
            String::from_utf8_lossy(&labctl(&["mail", "inbox", &lab.name, "pc-management"]).stdout)
                .into_owned();
        if listed.contains("Über IMAP") {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        listed.contains("Bob <bob@mt.com>") && listed.contains("Über IMAP"),
        "{listed}"
    );
    let shown =
        String::from_utf8_lossy(&labctl(&["mail", "read", &lab.name, "pc-management", "1"]).stdout)
            .into_owned();
    assert!(
        shown.contains("Subject: Über IMAP") && shown.contains("Hi Carol"),
        "{shown}"
    );
    let raw = lab.exec_ok(
        "pc-management",
        &[
            "curl",
            "-s",
            "--max-time",
            "5",
            "-u",
            "carol:carol-secret",
            "imap://mail.mt.com/INBOX;UID=1",
        ],
    );
    assert!(raw.contains("Hi Carol"), "{raw}");
    // A wrong account name is refused with the accounts listed.
    let out = labctl(&[
        "mail",
        "inbox",
        &lab.name,
        "pc-frontend",
        "--account",
        "nobody@mt.com",
    ]);
    assert!(
        !out.status.success() && text(&out).contains("bob@mt.com"),
        "{}",
        text(&out)
    );
}

/// Ctrl-C while the checks run: the lab is torn down and nothing is left.
#[test]
fn test_tears_down_on_interrupt() {
    require_root();
    let yaml = mastertech().replace(
        "checks:\n",
        "checks:\n  - exec: {node: pc-backend, command: [sleep, '20'], timeout: 30s}\n",
    );
    let lab = Lab::new("ck-int", &yaml);
    let child = Command::new(LABCTL)
        .args(["test", lab.file.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the lab is up and the checks run.
    let state = std::path::Path::new("/run/labctl").join(&lab.name);
    for _ in 0..100 {
        if state.join("control.sock").exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(800));
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out));
    assert!(
        leftovers(&lab.name).is_empty(),
        "{:?}",
        leftovers(&lab.name)
    );
}

/// A hostile web server in the lab: a chunk size of 2^64-1, then the close.
/// It serves a few connections and stops by itself within 30 s.
const HOSTILE_WEB: &str = r#"
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("192.168.1.2", 80))
s.listen(4)
s.settimeout(30)
print("ready", flush=True)
for _ in range(4):
    c, _ = s.accept()
    c.recv(4096)
    c.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nabc")
    c.close()
"#;

/// The server's process; stopped on drop.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The check blames the server for its malformed answer, and the probe
/// survives it (a panic was reported as "is the lab up?").
#[test]
fn a_hostile_web_server_is_blamed_not_the_lab() {
    require_root();
    let lab = Lab::new(
        "ck-hostile",
        "
name: LAB
nodes:
  sw0: {kind: switch}
  evil: {kind: server, interfaces: {eth0: 192.168.1.2/24}}
  pc0: {kind: host, interfaces: {eth0: 192.168.1.10/24}}
links: [[evil, sw0], [pc0, sw0]]
",
    );
    lab.up_ok();
    let mut server = Server(
        Command::new(LABCTL)
            .args([
                "exec",
                &lab.name,
                "evil",
                "--",
                "python3",
                "-c",
                HOSTILE_WEB,
            ])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut ready = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(server.0.stdout.as_mut().unwrap()),
        &mut ready,
    )
    .unwrap();
    assert_eq!(ready.trim(), "ready");
    let checks = lab.file.parent().unwrap().join("hostile.yaml");
    std::fs::write(
        &checks,
        "checks:\n  - http: {from: pc0, url: http://192.168.1.2/}\n",
    )
    .unwrap();
    let out = labctl(&[
        "check",
        &lab.name,
        "--checks",
        checks.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report = json_of(&out);
    let diagnosis = &report["checks"][0]["diagnosis"];
    let message = diagnosis["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with(
            "the web server at evil (192.168.1.2:80) sent a malformed chunked body for http://192.168.1.2/: "
        ),
        "{diagnosis}"
    );
    assert!(
        !diagnosis.to_string().contains("is the lab up"),
        "{diagnosis}"
    );
}
