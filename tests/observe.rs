//! Watching a running lab (root): `status` lists every service with its
//! ports, `logs` shows a PC's DHCP exchange and DNS question on the
//! server, `logs -f` follows new lines and stops when the lab goes down,
//! `logs --bodies` shows a mail's body, and `graph LAB` draws the lab with
//! the address the PC leased.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{LABCTL, Lab, labctl, require_root, text};

const LAB: &str = "
name: LAB
nodes:
  sw0: {kind: switch}
  srv:
    kind: server
    interfaces: {eth0: 192.168.50.2/24}
    dns: [192.168.50.2]
    services:
      dhcp:
        pools: [{range: 192.168.50.100-192.168.50.120, dns: [192.168.50.2], domain: obs.test}]
      dns:
        zones:
          obs.test:
            www: {A: srv}
            follow: {A: 192.168.50.9}
            '@': {MX: 10 srv.obs.test.}
            srv: {A: srv}
      mail:
        domains: [obs.test]
        users: {ada: secret}
  web:
    kind: server
    interfaces: {eth0: 192.168.50.3/24}
    services:
      web:
        pages: {/: '<h1>hello</h1>'}
  pc1: {kind: host, interfaces: {eth0: dhcp}}
links:
  - [srv, sw0]
  - [web, sw0]
  - [pc1, sw0]
";

fn stdout(args: &[&str]) -> String {
    let out = labctl(args);
    assert!(out.status.success(), "labctl {args:?}:\n{}", text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A `labctl logs … -f` whose lines arrive on a channel.
struct Follower {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Follower {
    fn start(lab: &str, node: &str) -> Follower {
        let mut child = Command::new(LABCTL)
            .args(["logs", lab, node, "-f"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Follower { child, lines }
    }

    /// Waits (bounded) for a line containing `text`.
    fn wait_for(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut seen = String::new();
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(text) => return line,
                Ok(line) => seen.push_str(&format!("{line}\n")),
                Err(_) => break,
            }
        }
        panic!("no line with {text:?} within 10 s; got:\n{seen}");
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn services_logs_and_graph_of_a_running_lab() {
    require_root();
    let lab = Lab::new("observe", LAB);
    lab.up_ok();

    // status: every service, with its ports, from the plan and the daemon.
    let status = stdout(&["status", &lab.name]);
    for expected in [
        "dhcp server (DHCP 67): ",
        "dns server (DNS 53; authoritative): obs.test.",
        "mail (SMTP 25, 587; POP3 110; IMAP 143): obs.test, users ada",
        "web (HTTP 80): pages /",
        "dhcp client (DHCP 68) eth0: 192.168.50.",
    ] {
        assert!(status.contains(expected), "{expected}\nnot in\n{status}");
    }
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&["status", &lab.name, "--json"])).unwrap();
    let node = |name: &str| {
        json["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["name"] == name)
            .unwrap()
            .clone()
    };
    let kinds: Vec<String> = node("srv")["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            assert_eq!(s["running"], true, "{s}");
            s["kind"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(kinds, ["dhcp-server", "dns-server", "mail-server"]);
    let mail = &node("srv")["services"][2];
    assert_eq!(mail["domains"], serde_json::json!(["obs.test"]));
    assert_eq!(
        mail["ports"][3],
        serde_json::json!({"protocol": "IMAP", "transport": "tcp", "port": 143})
    );
    let web = &node("web")["services"][0];
    assert_eq!(
        (web["kind"].as_str(), web["ports"][0]["port"].as_u64()),
        (Some("web-server"), Some(80))
    );
    let leased = node("pc1")["interfaces"][0]["lease"]["address"]
        .as_str()
        .unwrap()
        .to_string();

    // The PC resolves a name through the server it learned by DHCP.
    let answer = lab.exec_ok("pc1", &["dig", "+short", "+tries=1", "www.obs.test"]);
    assert_eq!(answer.trim(), "192.168.50.2");

    // The server's log: the PC's DORA and its question with the answer.
    let log = stdout(&["logs", &lab.name, "srv"]);
    let mac = node("pc1")["interfaces"][0]["mac"]
        .as_str()
        .unwrap()
        .to_string();
    let address = leased.split('/').next().unwrap();
    for expected in [
        format!("C: DISCOVER from {mac} \"pc1\" on 192.168.50.2/24"),
        format!("S: OFFER {address} to {mac} on 192.168.50.2/24"),
        format!("C: REQUEST from {mac} \"pc1\" for {address} (server 192.168.50.2)"),
        format!("S: ACK {address} to {mac} on 192.168.50.2/24"),
        format!("dns {address}:"),
        "C: www.obs.test. A (udp, id ".to_string(),
        "S: NOERROR, 1 answer: www.obs.test. 300 IN A 192.168.50.2".to_string(),
    ] {
        assert!(log.contains(&expected), "{expected}\nnot in\n{log}");
    }
    // Each DHCP line of one exchange carries the same xid.
    let xid = log
        .lines()
        .find(|l| l.contains("C: DISCOVER"))
        .and_then(|l| l.split("xid ").nth(1))
        .and_then(|rest| rest.split(' ').next())
        .unwrap()
        .to_string();
    assert!(log.contains(&format!("dhcp xid {xid} S: OFFER")), "{log}");
    // A node with only a DHCP client has a log too.
    let pc_log = stdout(&["logs", &lab.name, "pc1"]);
    assert!(
        pc_log.contains(&format!(
            "dhcp-client eth0 -- bound to {leased} from 192.168.50.2"
        )),
        "{pc_log}"
    );

    // -f: a new question appears while following.
    let follower = Follower::start(&lab.name, "srv");
    follower.wait_for("C: www.obs.test. A");
    lab.exec_ok("pc1", &["dig", "+short", "+tries=1", "follow.obs.test"]);
    let line = follower.wait_for("follow.obs.test. A");
    assert!(line.contains(&format!("dns {address}:")), "{line}");
    drop(follower);

    // --bodies: a mail's body line, which the plain log leaves out.
    let out = lab.exec(
        "pc1",
        &[
            "swaks",
            "--silent",
            "2",
            "--server",
            "192.168.50.2",
            "--from",
            "ada@obs.test",
            "--to",
            "ada@obs.test",
            "--body",
            "the body line of the observe test",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let plain = stdout(&["logs", &lab.name, "srv"]);
    assert!(plain.contains("-- <message of "), "{plain}");
    assert!(
        !plain.contains("the body line of the observe test"),
        "{plain}"
    );
    let bodies = stdout(&["logs", &lab.name, "srv", "--bodies"]);
    assert!(
        bodies.contains(" D: the body line of the observe test"),
        "{bodies}"
    );

    // graph LAB: the running lab, with the PC's leased address.
    let dot = stdout(&["graph", &lab.name, "--format", "dot"]);
    assert!(
        dot.contains(&format!("label=\"pc1\\nPC\\neth0 {leased} (DHCP)\"")),
        "{dot}"
    );
    assert!(
        dot.contains("srv\\nserver\\neth0 192.168.50.2/24\\nDHCP, DNS, mail"),
        "{dot}"
    );
    // The file as written shows no lease.
    let written = stdout(&["graph", lab.file.to_str().unwrap(), "--format", "dot"]);
    assert!(
        written.contains("label=\"pc1\\nPC\\neth0 DHCP\""),
        "{written}"
    );

    // -f stops by itself when the lab goes down.
    let mut follower = Follower::start(&lab.name, "srv");
    follower.wait_for("follow.obs.test");
    assert!(lab.down().status.success());
    let deadline = Instant::now() + Duration::from_secs(5);
    let status = loop {
        if let Some(status) = follower.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "logs -f still running after down"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success());
}
