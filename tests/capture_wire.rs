//! What a capture means, on a real lab (root): Ada's PC (addressed by
//! DHCP through relay r1) and the mail server behind a second router r2.
//! `labctl capture` prints the SMTP dialogue live with node names and the
//! hop-by-hop path; `--sequence -r` draws a `check --capture` file; `wire`
//! checks grade what crossed the links (swaks and busybox udhcpc as the
//! real clients).

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{Lab, Spawned, labctl, require_root, text};

const LAB: &str = "name: LAB
nodes:
  r1:
    kind: router
    routing: auto
    interfaces:
      eth0: 10.0.0.1/30
      eth1: {address: 192.168.1.1/24, dhcp_relay: 192.168.2.2}
  r2:
    kind: router
    routing: auto
    interfaces:
      eth0: 10.0.0.2/30
      eth1: 192.168.2.1/24
  sw1: {kind: switch}
  sw2: {kind: switch}
  mail:
    kind: server
    interfaces: {eth0: 192.168.2.2/24}
    gateway: 192.168.2.1
    dns: [192.168.2.2]
    services:
      dhcp:
        pools:
          - {range: 192.168.1.100-192.168.1.150, gateway: 192.168.1.1, dns: [192.168.2.2], domain: cbrc.com}
      dns:
        zones:
          cbrc.com:
            '@': {A: mail, MX: 10 mail.cbrc.com.}
            mail: {A: mail}
      mail:
        domains: [cbrc.com]
        users: {ada: hunter2pw}
  pc-ada:
    kind: host
    interfaces: {eth0: dhcp}
    mail: {name: Ada, address: ada@cbrc.com, incoming: mail.cbrc.com, protocol: pop3, outgoing: mail.cbrc.com, user: ada, password: hunter2pw}
links:
  - [r1:eth0, r2:eth0]
  - [r1:eth1, sw1]
  - [r2:eth1, sw2]
  - [mail, sw2]
  - [pc-ada, sw1]
";

/// Ada's mail client logging in with AUTH PLAIN on the submission port
/// (swaks: a real SMTP client, not labctl's).
const SWAKS: &str = "swaks --silent 2 --server mail.cbrc.com --port 587 --auth PLAIN \
                     --auth-user ada --auth-password hunter2pw --from ada@cbrc.com --to ada@cbrc.com";

fn lab_up(prefix: &str) -> Lab {
    let lab = Lab::new(prefix, LAB);
    lab.up_ok();
    lab
}

#[test]
fn live_capture_shows_the_smtp_dialogue_of_mail_send_with_names_and_path() {
    require_root();
    let lab = lab_up("cw-live");
    let mut child = Command::new(common::LABCTL)
        // Only the SMTP session's frames: after its last one nothing else
        // comes, so its last events show only if time lets them go.
        .args([
            "capture",
            &lab.name,
            "-f",
            "tcp port 587",
            "--proto",
            "smtp",
            "--node",
            "pc-ada",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("labctl runs");
    let mut stderr = child.stderr.take().expect("stderr");
    let mut first = [0u8; 9];
    std::io::Read::read_exact(&mut stderr, &mut first).expect("capture starts");
    assert_eq!(&first, b"capturing", "capture did not start");
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    let (lines_tx, lines) = mpsc::channel();
    let stdout = child.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let capture = Spawned(child);

    let out = labctl(&[
        "mail",
        "send",
        &lab.name,
        "pc-ada",
        "--to",
        "ada@cbrc.com",
        "--subject",
        "Hello",
    ]);
    assert!(out.status.success(), "mail send:\n{}", text(&out));
    // Shown while the capture still runs: the hop window is let go by time.
    let mut seen: Vec<String> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !seen.iter().any(|l| l.contains("S: 221")) && Instant::now() < deadline {
        if let Ok(line) = lines.recv_timeout(Duration::from_millis(200)) {
            seen.push(line);
        }
    }
    drop(capture);
    let all = seen.join("\n");
    let path =
        "pc-ada:eth0 → sw1:eth1,eth0 → r1:eth1,eth0 → r2:eth0,eth1 → sw2:eth0,eth1 → mail:eth0";
    for (needle, what) in [
        ("pc-ada → mail", "the client by name (its DHCP lease)"),
        ("C: EHLO pc-ada", "the greeting"),
        (
            "[AUTH PLAIN decoded: user \"ada\", password \"hunter2pw\"]",
            "the credentials",
        ),
        ("C: MAIL FROM:<ada@cbrc.com>", "the envelope"),
        ("Subject: Hello]", "the message summary"),
        ("S: 221", "the goodbye"),
        (path, "the path hop by hop"),
    ] {
        assert!(
            all.contains(needle),
            "{what} ({needle}) not shown live:\n{all}"
        );
    }
    let mail_from = seen
        .iter()
        .find(|l| l.contains("C: MAIL FROM:"))
        .expect("a MAIL FROM line");
    assert!(
        mail_from.contains(" smtp  pc-ada → mail ") && mail_from.ends_with(&format!("[{path}]")),
        "{mail_from}"
    );
    // --proto smtp: no ARP, no DNS.
    assert!(
        seen.iter()
            .all(|l| !l.contains(" arp ") && !l.contains(" dns ")),
        "{all}"
    );
}

#[test]
fn a_check_capture_file_becomes_a_sequence_diagram_and_events() {
    require_root();
    let lab = lab_up("cw-seq");
    let checks = lab.scratch("checks.yaml");
    std::fs::write(
        &checks,
        "checks:\n  - {name: Ada mails herself, mail: {from: pc-ada, to: ada@cbrc.com, reader: pc-ada}}\n",
    )
    .unwrap();
    let file = lab.scratch("run.pcapng");
    let out = labctl(&[
        "check",
        &lab.name,
        "--checks",
        checks.to_str().unwrap(),
        "--capture",
        file.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));

    let out = labctl(&[
        "capture",
        &lab.name,
        "--sequence",
        "--proto",
        "smtp",
        "-r",
        file.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let diagram = String::from_utf8_lossy(&out.stdout);
    assert!(diagram.starts_with("sequenceDiagram\n"), "{diagram}");
    for line in [
        "    participant p1 as mail",
        "    participant p2 as pc-ada",
        "    p1-->>p2: S: 220 mail.cbrc.com ESMTP labctl",
        "    p2->>p1: C: EHLO pc-ada",
        "    p2->>p1: C: MAIL FROM:#lt;ada@cbrc.com#gt;",
        "    p1-->>p2: S: 221 2.0.0 Bye",
    ] {
        assert!(
            diagram.lines().any(|l| l == line),
            "no `{line}` in:\n{diagram}"
        );
    }
    assert!(
        !diagram.contains("SYN"),
        "the handshake is not dialogue:\n{diagram}"
    );

    // -r alone: the events, POP3 included.
    let out = labctl(&[
        "capture",
        &lab.name,
        "-r",
        file.to_str().unwrap(),
        "--proto",
        "pop3",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let events = String::from_utf8_lossy(&out.stdout);
    assert!(
        events.contains("pop3  pc-ada → mail")
            && events.contains("C: PASS hunter2pw  [password in clear]"),
        "{events}"
    );

    // The lab is gone: its lab file still names the nodes (no root needed).
    assert!(lab.down().status.success());
    let out = labctl(&[
        "capture",
        lab.file.to_str().unwrap(),
        "--sequence",
        "--proto",
        "smtp",
        "-r",
        file.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let diagram = String::from_utf8_lossy(&out.stdout);
    assert!(
        diagram.contains("participant p1 as mail") && diagram.contains("C: EHLO pc-ada"),
        "{diagram}"
    );
}

#[test]
fn wire_checks_grade_what_crossed_the_links() {
    require_root();
    let lab = lab_up("cw-wire");
    let checks = lab.scratch("checks.yaml");
    std::fs::write(
        &checks,
        format!(
            "checks:
  - name: Ada's mail crossed r1 and r2
    wire:
      run: {{node: pc-ada, command: \"{SWAKS}\"}}
      seen: {{proto: smtp, at: [r1, r2], from: pc-ada, to: mail}}
  - name: Ada's password is not visible on any link
    wire:
      run: {{node: pc-ada, command: \"{SWAKS}\"}}
      absent: {{text: hunter2pw, at: any}}
  - name: Ada's lease came through r1
    wire:
      run: {{node: pc-ada, command: busybox udhcpc -i eth0 -n -q -f -s /bin/true -t 5}}
      relay: {{relay: r1, client: pc-ada}}
  - name: no web traffic crossed r2
    wire: {{not-seen: {{proto: http, at: r2}}}}
  - {{name: Ada pings the server, ping: {{from: pc-ada, to: mail}}}}
  - name: the pings crossed r1:eth0
    wire: {{during: Ada pings the server, seen: {{proto: icmp, at: r1:eth0}}}}
"
        ),
    )
    .unwrap();
    let out = labctl(&["check", &lab.name, "--checks", checks.to_str().unwrap()]);
    let report = text(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "only the password check fails:\n{report}"
    );
    let result = |n: usize| {
        report
            .lines()
            .skip_while(|l| !l.contains(&format!(" {n}. ")))
            .take(2)
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(result(1).contains("PASS"), "{report}");
    assert!(
        result(1).contains("smtp from pc-ada to mail crossed pc-ada:eth0 → sw1:eth1,eth0 → r1:eth1,eth0 → r2:eth0,eth1"),
        "{report}"
    );
    assert!(result(2).contains("FAIL"), "{report}");
    assert!(
        result(2).contains("\"hunter2pw\" crossed pc-ada:eth0 → sw1:eth1,eth0 → r1:eth1,eth0 → r2:eth0,eth1 → sw2:eth0,eth1 → mail:eth0 at ")
            && result(2).contains(" s in AUTH PLAIN (base64 is not encryption): smtp pc-ada → mail"),
        "{report}"
    );
    assert!(result(3).contains("PASS"), "{report}");
    assert!(
        result(3).contains("DHCP ACK for pc-ada answered through r1 (giaddr 192.168.1.1)"),
        "{report}"
    );
    assert!(result(4).contains("PASS"), "{report}");
    assert!(result(5).contains("PASS"), "{report}");
    assert!(
        result(6).contains("PASS") && result(6).contains("icmp crossed"),
        "{report}"
    );
}

/// The course's point, end to end on labs/mail-tls.yaml: with TLS no link
/// can read Ada's password; with the same lab in plain text the wire check
/// finds it in AUTH PLAIN and says where.
#[test]
fn a_password_is_unreadable_on_the_wire_with_tls_and_found_without() {
    require_root();
    let course =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/labs/mail-tls.yaml"))
            .unwrap();
    let named = |yaml: &str| {
        let mut lines: Vec<String> = yaml.lines().map(String::from).collect();
        let at = lines.iter().position(|l| l.starts_with("name:")).unwrap();
        lines[at] = "name: LAB".into();
        lines.join("\n") + "\n"
    };
    let rubric = "checks:
  - {name: Ada emails Bob, mail: {from: pc-ada, to: bob@mt.com, reader: pc-bob}}
  - {name: Ada's password stays secret, wire: {during: Ada emails Bob, absent: {text: adapass, at: any}}}
";
    let grade = |lab: &Lab| {
        let checks = lab.scratch("rubric.yaml");
        std::fs::write(&checks, rubric).unwrap();
        labctl(&[
            "check",
            &lab.name,
            "--checks",
            checks.to_str().unwrap(),
            "--json",
        ])
    };

    let tls = Lab::new("cw-tls", &named(&course));
    tls.up_ok();
    let out = grade(&tls);
    assert!(out.status.success(), "{}", text(&out));

    let plain = Lab::new(
        "cw-plain",
        &named(&course)
            .replace("security: starttls", "security: none")
            .replace("tls: required", "tls: optional"),
    );
    plain.up_ok();
    let out = grade(&plain);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let wire = &report["checks"][1];
    assert_eq!(report["checks"][0]["passed"], true, "{report}");
    let said = wire["diagnosis"]["message"].as_str().unwrap_or_default();
    assert!(
        said.contains("\"adapass\" crossed pc-ada:eth0")
            && said.contains("AUTH PLAIN (base64 is not encryption)"),
        "{said}"
    );
}
