//! A lab that changes while it runs (root): cables cut and restored with
//! `labctl link`, routers re-converging over the links that are up, an
//! `ip link set … down/up` inside a router healed by the lab daemon.

mod common;

use std::time::Duration;

use common::{Lab, eventually, labctl, require_root, text};

/// labs/triangle.yaml under a unique name.
fn triangle(prefix: &str) -> Lab {
    let yaml = std::fs::read_to_string("labs/triangle.yaml")
        .unwrap()
        .replace("name: triangle", "name: LAB");
    Lab::new(prefix, &yaml)
}

/// A router's routes via a gateway, sorted (`ip route` lines without the
/// connected ones).
fn routes(lab: &Lab, node: &str) -> Vec<String> {
    let mut lines: Vec<String> = lab
        .exec_ok(node, &["ip", "-4", "route"])
        .lines()
        .filter(|l| l.contains(" via "))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    lines.sort();
    lines
}

fn all_routes(lab: &Lab) -> Vec<Vec<String>> {
    ["r1", "r2", "r3"].iter().map(|r| routes(lab, r)).collect()
}

/// The TTL pc1's ping to pc2 arrives back with (64 minus the routers crossed).
fn ttl_to_pc2(lab: &Lab) -> Option<u32> {
    let out = lab.exec("pc1", &["ping", "-c1", "-W1", "192.168.2.10"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let at = stdout.find("ttl=")?;
    stdout[at + 4..].split_whitespace().next()?.parse().ok()
}

fn link(lab: &Lab, a: &str, b: &str, state: &str) -> String {
    let out = labctl(&["link", &lab.name, a, b, state]);
    assert!(
        out.status.success(),
        "link {a} {b} {state}:\n{}",
        text(&out)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_cut_cable_moves_the_traffic_to_the_third_router_and_back() {
    require_root();
    let lab = triangle("live-cut");
    lab.up_ok();
    let fresh = all_routes(&lab);
    assert_eq!(ttl_to_pc2(&lab), Some(62), "r1, r2");

    let said = link(&lab, "r1", "r2", "down");
    assert!(said.contains("cable r1:eth0 – r2:eth0 is down"), "{said}");
    assert!(
        said.contains("r1: 192.168.2.0/24 now via r3 (10.0.13.2), was via r2"),
        "{said}"
    );
    // Re-converged before `link` returned: at once one more router.
    assert_eq!(ttl_to_pc2(&lab), Some(61), "r1, r3, r2");
    assert!(
        routes(&lab, "r1")
            .contains(&"192.168.2.0/24 via 10.0.13.2 dev eth1 proto static".to_string())
    );
    let status = labctl(&["status", &lab.name]);
    let status = String::from_utf8_lossy(&status.stdout).into_owned();
    assert!(
        status.lines().any(|l| l.trim_start().starts_with("eth0")
            && l.contains("r2/eth0")
            && l.ends_with("DOWN")),
        "{status}"
    );
    let graph = labctl(&["graph", &lab.name, "--format", "dot"]);
    let graph = String::from_utf8_lossy(&graph.stdout).into_owned();
    assert_eq!(
        graph.lines().filter(|l| l.contains("style=dashed")).count(),
        1,
        "{graph}"
    );

    let said = link(&lab, "r2:eth0", "r1:eth0", "up");
    assert!(
        said.contains("r1: 192.168.2.0/24 now via r2 (10.0.12.2), was via r3"),
        "{said}"
    );
    assert_eq!(ttl_to_pc2(&lab), Some(62), "back on the direct path");
    // After down and up the routes are those of a fresh build.
    assert_eq!(all_routes(&lab), fresh);
    assert!(lab.down().status.success());
}

#[test]
fn ip_link_down_and_up_inside_a_router_heals() {
    require_root();
    let lab = triangle("live-iplink");
    lab.up_ok();
    let fresh = all_routes(&lab);
    // The kernel drops r1's routes through eth0 and r2 keeps a dead one:
    // the daemon sees the link events and routes round through r3.
    lab.exec_ok("r1", &["ip", "link", "set", "eth0", "down"]);
    assert!(
        eventually(Duration::from_secs(1), || ttl_to_pc2(&lab) == Some(61)),
        "no path round through r3 within a second: {:?}",
        all_routes(&lab)
    );
    lab.exec_ok("r1", &["ip", "link", "set", "eth0", "up"]);
    assert!(
        eventually(Duration::from_secs(1), || all_routes(&lab) == fresh),
        "routes not restored within a second: {:?}, fresh {fresh:?}",
        all_routes(&lab)
    );
    assert_eq!(ttl_to_pc2(&lab), Some(62));
    let log = std::fs::read_to_string(
        std::path::Path::new("/run/labctl")
            .join(&lab.name)
            .join("daemon.log"),
    )
    .unwrap();
    assert!(
        log.contains("r2: 192.168.1.0/24 now via r3 (10.0.23.2), was via r1"),
        "{log}"
    );
}

#[test]
fn a_cable_that_is_not_there_is_named_with_the_ones_that_are() {
    require_root();
    let lab = triangle("live-nocable");
    lab.up_ok();
    let out = labctl(&["link", &lab.name, "pc1", "r2", "down"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no cable joins pc1 and r2") && err.contains("pc1:eth0 – sw1:eth1"),
        "{err}"
    );
    let out = labctl(&["link", &lab.name, "r1:eth9", "r2", "down"]);
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("r1 has no interface eth9 (it has eth0, eth1, eth2)"),
        "{}",
        text(&out)
    );
}

/// The slowest of a burst of ten 1400-byte pings from a to b, in ms.
fn slowest_ping_ms(lab: &Lab) -> f64 {
    let out = lab.exec_ok(
        "a",
        &["ping", "-c10", "-i0.01", "-s1400", "-W3", "-q", "10.9.0.2"],
    );
    // rtt min/avg/max/mdev = 0.056/259.650/382.451/151.413 ms
    let stats = out.lines().find(|l| l.contains("min/avg/max")).expect(&out);
    let numbers = stats.split('=').nth(1).expect(&out).trim();
    numbers.split('/').nth(2).unwrap().parse().unwrap()
}

const TWO_HOSTS: &str = "
name: LAB
nodes:
  a: {kind: host, interfaces: {eth0: 10.9.0.1/24}}
  b: {kind: host, interfaces: {eth0: 10.9.0.2/24}}
links:
  - [a, b]
impairments:
  - {link: [a, b], rate: 64kbit}
";

#[test]
fn a_rate_from_the_lab_file_slows_a_burst_until_it_is_cleared() {
    require_root();
    let lab = Lab::new("live-rate", TWO_HOSTS);
    lab.up_ok();
    // 64 kbit/s is 8 KB/s: ten 1.4 KB packets queue behind each other.
    let slow = slowest_ping_ms(&lab);
    assert!(slow > 100.0, "a 64kbit cable answered a burst in {slow} ms");
    let out = labctl(&["link", &lab.name, "a", "b", "--clear"]);
    assert!(out.status.success(), "{}", text(&out));
    let fast = slowest_ping_ms(&lab);
    assert!(fast < 50.0, "a clear cable answered a burst in {fast} ms");
    let out = labctl(&["link", &lab.name, "b", "a", "--rate", "64kbit"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("impaired: rate 64kbit"),
        "{}",
        text(&out)
    );
    let slow = slowest_ping_ms(&lab);
    assert!(slow > 100.0, "the live rate answered a burst in {slow} ms");
}

/// The round-trip times of `count` pings from a to b, in ms, and the
/// duplicates ping counted.
fn ping_times(lab: &Lab, count: &str, interval: &str) -> (Vec<f64>, usize) {
    let out = lab.exec(
        "a",
        &["ping", "-c", count, "-i", interval, "-W2", "10.9.0.2"],
    );
    let out = String::from_utf8_lossy(&out.stdout).to_string();
    let times = out
        .lines()
        .filter(|l| !l.contains("(DUP!)"))
        .filter_map(|l| l.split("time=").nth(1))
        .filter_map(|t| t.split_whitespace().next()?.parse().ok())
        .collect();
    let duplicates = out.lines().filter(|l| l.contains("(DUP!)")).count();
    (times, duplicates)
}

#[test]
fn a_live_delay_shows_in_every_round_trip_and_leaves_with_clear() {
    require_root();
    let lab = Lab::new(
        "live-delay",
        &TWO_HOSTS.replace("rate: 64kbit", "rate: 1gbit"),
    );
    lab.up_ok();
    let out = labctl(&[
        "link", &lab.name, "a", "b", "--delay", "100ms", "--rate", "10mbit",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    // 100 ms each way (by netem, or by the lab daemon on a kernel without
    // it): every round trip takes at least 200 ms, and not much more.
    let (times, _) = ping_times(&lab, "5", "0.2");
    assert_eq!(times.len(), 5, "{times:?}");
    assert!(times.iter().all(|t| *t >= 200.0), "{times:?}");
    assert!(times.iter().skip(1).all(|t| *t < 230.0), "{times:?}");
    let out = labctl(&["link", &lab.name, "a", "b", "--clear"]);
    assert!(out.status.success(), "{}", text(&out));
    let (times, _) = ping_times(&lab, "5", "0.05");
    assert!(times.iter().all(|t| *t < 20.0), "{times:?}");
    // Nothing of the wire is left in the node.
    let links = lab.exec_ok("a", &["ip", "-o", "link"]);
    assert!(!links.contains("lcw"), "{links}");
}

const LOSSY: &str = "
name: LAB
nodes:
  a: {kind: host, interfaces: {eth0: 10.9.0.1/24}}
  b: {kind: host, interfaces: {eth0: 10.9.0.2/24}}
links:
  - [a, b]
impairments:
  - {link: [a, b], delay: 10ms, loss: 20%, duplicate: 10%}
";

#[test]
fn loss_and_duplicates_from_the_lab_file_and_tcp_still_delivers_every_byte() {
    require_root();
    let lab = Lab::new("live-loss", LOSSY);
    lab.up_ok();
    // A round trip crosses the cable twice: 64 % of 80 pings answered on
    // average (51); the bounds are 8 standard deviations wide.
    let (times, duplicates) = ping_times(&lab, "80", "0.02");
    assert!(
        (20..=75).contains(&times.len()),
        "{} of 80 answered",
        times.len()
    );
    assert!(
        duplicates > 0,
        "no duplicates among {} answers",
        times.len()
    );
    assert!(times.iter().all(|t| *t >= 20.0), "{times:?}");
    // TCP takes the loss and the duplicates: 2 MB arrive whole.
    let file = lab.scratch("received");
    let sink = std::process::Command::new(env!("CARGO_BIN_EXE_labctl"))
        .args(["exec", &lab.name, "b", "--", "sh", "-c"])
        .arg(format!("timeout 60 nc -l -p 5000 > {}", file.display()))
        .spawn()
        .unwrap();
    assert!(eventually(Duration::from_secs(5), || {
        lab.exec_ok("b", &["ss", "-ltn"]).contains(":5000")
    }));
    lab.exec_ok(
        "a",
        &[
            "sh",
            "-c",
            "head -c 2000000 /dev/zero | tr '\\0' x | timeout 60 nc -N 10.9.0.2 5000",
        ],
    );
    let status = sink.wait_with_output().unwrap().status;
    assert!(status.success(), "{status}");
    let received = std::fs::read(&file).unwrap();
    assert_eq!(received.len(), 2_000_000);
    assert!(received.iter().all(|b| *b == b'x'));
    lab.down();
    assert!(common::leftovers(&lab.name).is_empty());
}

/// labs/mail-com.yaml under a unique name (a DNS server `dns`, a mail
/// server `mail`).
fn mail_com(prefix: &str) -> Lab {
    let yaml = std::fs::read_to_string("labs/mail-com.yaml")
        .unwrap()
        .replace("name: mail-com", "name: LAB");
    Lab::new(prefix, &yaml)
}

#[test]
fn a_stopped_dns_server_is_diagnosed_as_stopped_and_starts_again() {
    require_root();
    let lab = mail_com("live-svc");
    lab.up_ok();
    let checks = lab.scratch("checks.yaml");
    std::fs::write(
        &checks,
        "checks:\n  - dns: {from: pc0, name: mail.com, type: A, expect: 192.168.1.2}\n  - tcp: {from: pc0, to: 192.168.1.2, port: 25}\n",
    )
    .unwrap();
    let checks = checks.to_str().unwrap();
    let out = labctl(&["service", &lab.name, "dns", "dns", "stop"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("the dns server on dns is stopped"),
        "{}",
        text(&out)
    );
    let out = labctl(&["service", &lab.name, "mail", "mail", "stop"]);
    assert!(out.status.success(), "{}", text(&out));
    let status = labctl(&["status", &lab.name]);
    let status = String::from_utf8_lossy(&status.stdout);
    assert_eq!(status.matches("[stopped:").count(), 2, "{status}");

    let out = labctl(&["check", &lab.name, "--checks", checks]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report.contains("pc0 could not resolve mail.com: the DNS server on dns is stopped"),
        "{report}"
    );
    assert!(
        report.contains("the mail server on mail is stopped"),
        "{report}"
    );
    assert!(
        report.contains(&format!("labctl service {} dns dns start", lab.name)),
        "{report}"
    );

    for (node, service) in [("dns", "dns"), ("mail", "mail")] {
        let out = labctl(&["service", &lab.name, node, service, "start"]);
        assert!(out.status.success(), "{}", text(&out));
    }
    let out = labctl(&["check", &lab.name, "--checks", checks]);
    assert!(out.status.success(), "{}", text(&out));
    let out = labctl(&["service", &lab.name, "dns", "web", "stop"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("dns runs no web server (it runs: dns)"),
        "{}",
        text(&out)
    );
}

const HOLD_SESSION: &str = r#"
import imaplib, sys
s = imaplib.IMAP4("192.168.1.2")
s.login("client1", "admin")
s.select("INBOX")
print("ready", flush=True)
sys.stdin.read()
print("still open:", s.noop()[0], flush=True)
s.logout()
"#;

#[test]
fn apply_adds_a_user_who_logs_in_while_an_open_session_stays() {
    require_root();
    let lab = mail_com("live-apply");
    lab.up_ok();
    // client1's IMAP session, open across the apply.
    let mut held = std::process::Command::new(common::LABCTL)
        .args([
            "exec",
            &lab.name,
            "pc0",
            "--",
            "python3",
            "-c",
            HOLD_SESSION,
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(held.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
    assert_eq!(line.trim(), "ready");

    let login = |user: &str, password: &str| {
        lab.exec(
            "pc1",
            &[
                "python3",
                "-c",
                &format!("import imaplib; s = imaplib.IMAP4('192.168.1.2'); print(s.login('{user}', '{password}')[0])"),
            ],
        )
    };
    assert!(
        !login("carol", "s3cret").status.success(),
        "carol logs in before she exists"
    );
    let edited = std::fs::read_to_string(&lab.file).unwrap().replace(
        "          client2: admin\n",
        "          client2: changed\n          carol: s3cret\n",
    );
    std::fs::write(&lab.file, edited).unwrap();
    let out = labctl(&["apply", &lab.name]);
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{}", text(&out));
    assert!(said.contains("mail: mail user carol added"), "{said}");
    assert!(
        said.contains("mail: password of mail user client2 changed"),
        "{said}"
    );
    assert!(!said.contains("needs"), "{said}");

    let out = login("carol", "s3cret");
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("OK"),
        "{}",
        text(&out)
    );
    assert!(
        !login("client2", "admin").status.success(),
        "the old password still works"
    );
    assert!(login("client2", "changed").status.success());

    drop(held.stdin.take());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert!(held.wait().unwrap().success());
    assert!(rest.contains("still open: OK"), "{rest}");

    // DNS records: the server starts again with the edited zones.
    let dig = |name: &str| {
        lab.exec_ok(
            "pc0",
            &["dig", "+short", "+time=1", "+tries=1", name, "@192.168.1.5"],
        )
    };
    assert_eq!(dig("www.mail.com").trim(), "");
    let edited = std::fs::read_to_string(&lab.file).unwrap().replace(
        "            \"@\": {A: mail, MX: 10 mail.com.}\n",
        "            \"@\": {A: mail, MX: 10 mail.com.}\n            www: {A: dns}\n",
    );
    std::fs::write(&lab.file, edited).unwrap();
    let out = labctl(&["apply", &lab.name]);
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(said.contains("dns: DNS zones reloaded"), "{}", text(&out));
    assert_eq!(dig("www.mail.com").trim(), "192.168.1.5");

    // A change apply cannot make live is named, not made.
    let edited = std::fs::read_to_string(&lab.file)
        .unwrap()
        .replace("192.168.1.4/24", "192.168.1.44/24");
    std::fs::write(&lab.file, edited).unwrap();
    let out = labctl(&["apply", &lab.name]);
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(said.contains("pc0: interfaces changed"), "{said}");
}

#[test]
fn a_check_after_a_cut_grades_resilience_and_the_cable_comes_back() {
    require_root();
    // Two routers, one cable between them: no way round.
    let yaml = std::fs::read_to_string("labs/two-routers.yaml")
        .unwrap()
        .replace("name: two-routers", "name: LAB");
    let lab = Lab::new("live-after", &yaml);
    lab.up_ok();
    let checks = lab.scratch("checks.yaml");
    std::fs::write(
        &checks,
        "checks:\n  \
           - ping: {from: mgmt-pc1, to: backend-pc1}\n    \
             after: {link: [r1, r2], state: down}\n  \
           - ping: {from: mgmt-pc1, to: backend-pc1}\n  \
           - ping: {from: mgmt-pc1, to: backend-pc1}\n    \
             after: {link: [r1, r9], state: down}\n",
    )
    .unwrap();
    let out = labctl(&[
        "check",
        &lab.name,
        "--checks",
        checks.to_str().unwrap(),
        "--show-rubric",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("lab"),
        "{}",
        text(&out)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("r9"),
        "{}",
        text(&out)
    );

    std::fs::write(
        &checks,
        "checks:\n  \
           - ping: {from: mgmt-pc1, to: backend-pc1}\n    \
             after: {link: [r1, r2], state: down}\n  \
           - ping: {from: mgmt-pc1, to: backend-pc1}\n",
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
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let checks = report["checks"].as_array().unwrap();
    assert_eq!(checks[0]["passed"], false, "{report:#}");
    assert!(
        checks[0]["name"]
            .as_str()
            .unwrap()
            .ends_with("with r1:eth0 – r2:eth0 down"),
        "{report:#}"
    );
    assert_eq!(checks[1]["passed"], true, "{report:#}");
    // The cable is back once the check is done.
    lab.exec_ok("mgmt-pc1", &["ping", "-c1", "-W2", "192.168.10.11"]);
    assert!(
        lab.exec_ok("r1", &["ip", "link", "show", "eth0"])
            .contains("state UP")
    );
}
