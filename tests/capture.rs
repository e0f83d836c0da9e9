//! `labctl capture` and `--capture` on real labs (root): every interface of
//! the seed-000 challenge lab (Ada and Bob on two networks, DHCP for Bob's
//! through a relay on r1) recorded with labctl's own packet sockets, and
//! what was written read back with tshark.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Lab, Spawned, labctl, require_root, text};

/// The course's challenge lab under a unique name.
fn challenge_lab(prefix: &str) -> Lab {
    let source = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/labs/cbrc-challenge.yaml"
    ))
    .expect("labs/cbrc-challenge.yaml");
    let yaml: String = source
        .lines()
        .map(|line| {
            if line.starts_with("name:") {
                "name: LAB"
            } else {
                line
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    Lab::new(prefix, &yaml)
}

/// tshark's fields of `file` (tshark is installed by `make test`; its
/// absence fails the test).
fn tshark_fields(file: &Path, display_filter: &str, fields: &[&str]) -> Vec<Vec<String>> {
    let mut args = vec!["-r".to_string(), file.display().to_string()];
    if !display_filter.is_empty() {
        args.extend(["-Y".to_string(), display_filter.to_string()]);
    }
    args.extend(["-T".into(), "fields".into()]);
    for field in fields {
        args.extend(["-e".to_string(), field.to_string()]);
    }
    let out = Command::new("tshark")
        .args(&args)
        .output()
        .expect("tshark is not installed: `make deps` (or apt-get install tshark) installs it");
    assert!(
        out.status.success(),
        "tshark {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

/// Starts `labctl capture ARGS` and waits until its sockets are open.
fn start_capture(args: &[&str]) -> Spawned {
    let mut child = Command::new(common::LABCTL)
        .arg("capture")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("labctl runs");
    // "capturing on …" is printed once every socket is open.
    let mut stderr = child.stderr.take().expect("stderr");
    let mut first = [0u8; 9];
    std::io::Read::read_exact(&mut stderr, &mut first).expect("capture starts");
    assert_eq!(&first, b"capturing", "capture did not start");
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    Spawned(child)
}

/// Ctrl-C, then wait (bounded) for a clean exit.
fn interrupt(mut capture: Spawned) {
    unsafe { libc::kill(capture.0.id() as i32, libc::SIGINT) };
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = capture.0.try_wait().expect("wait") {
            assert!(status.success(), "capture ended with {status}");
            return;
        }
        assert!(Instant::now() < deadline, "capture did not stop on Ctrl-C");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_dhcp_exchange_through_the_relay_shows_on_both_sides_of_the_router() {
    require_root();
    let lab = challenge_lab("cap-dhcp");
    lab.up_ok();
    let file = lab.scratch("dhcp.pcapng");
    let capture = start_capture(&[&lab.name, "-w", file.to_str().unwrap()]);
    // A real client on Bob's network: its DISCOVER is relayed by r1 to server0.
    let out = lab.udhcpc("pc-bob", &[]);
    assert!(out.status.success(), "udhcpc failed:\n{}", text(&out));
    interrupt(capture);

    let rows = tshark_fields(&file, "dhcp", &["frame.interface_name", "dhcp.option.dhcp"]);
    let seen = |tap: &str, kind: &str| rows.iter().any(|r| r[0] == tap && r[1] == kind);
    // 1 DISCOVER, 2 OFFER, 3 REQUEST, 5 ACK.
    for tap in ["pc-bob:eth0", "r1:eth1", "r1:eth0", "server0:eth0"] {
        for kind in ["1", "2", "3", "5"] {
            assert!(seen(tap, kind), "no DHCP message {kind} on {tap}: {rows:?}");
        }
    }
}

#[test]
fn pcapng_on_stdout_streams_into_tshark_filtered_and_counted() {
    require_root();
    let lab = challenge_lab("cap-pipe");
    lab.up_ok();
    let pinger = Spawned(
        Command::new(common::LABCTL)
            .args([
                "exec",
                &lab.name,
                "pc-ada",
                "--",
                "ping",
                "-c",
                "25",
                "-i",
                "0.2",
                "192.168.1.1",
            ])
            .stdout(Stdio::null())
            .spawn()
            .expect("ping runs"),
    );
    let script = format!(
        "{} capture {} pc-ada -f icmp --count 4 --for 20s -w - | tshark -r - -T fields -e frame.interface_name -e icmp.type",
        common::LABCTL,
        lab.name
    );
    let out = Command::new("sh")
        .args(["-c", &script])
        .output()
        .expect("sh runs");
    drop(pinger);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let rows: Vec<&str> = stdout.lines().collect();
    assert_eq!(rows.len(), 4, "--count 4 gives four frames: {stdout}");
    for row in rows {
        // Only ICMP passed the filter (echo request 8, reply 0), on the tap named.
        assert!(
            row == "pc-ada:eth0\t8" || row == "pc-ada:eth0\t0",
            "{stdout}"
        );
    }
}

#[test]
fn a_bad_filter_or_tap_stops_before_anything_is_written() {
    require_root();
    let lab = challenge_lab("cap-bad");
    lab.up_ok();
    let file = lab.scratch("never.pcapng");
    let out = labctl(&[
        "capture",
        &lab.name,
        "-f",
        "udp prot 67",
        "-w",
        file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("invalid capture filter `udp prot 67`"),
        "{}",
        text(&out)
    );
    assert!(!file.exists(), "nothing is written for a bad filter");
    let out = labctl(&["capture", &lab.name, "r1:eth7", "--count", "1"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("node r1 has no interface `eth7`"),
        "{}",
        text(&out)
    );
}

#[test]
fn check_capture_records_the_run_and_the_report_names_the_file_and_time() {
    require_root();
    let lab = challenge_lab("cap-check");
    lab.up_ok();
    let checks = lab.scratch("checks.yaml");
    std::fs::write(
        &checks,
        "checks:\n  \
         - {name: Bob reaches the server, ping: {from: pc-bob, to: 192.168.1.2}}\n  \
         - {name: Ada reaches nobody, ping: {from: pc-ada, to: 192.168.1.250}}\n",
    )
    .unwrap();
    let file = lab.scratch("check.pcapng");
    let out = labctl(&[
        "check",
        &lab.name,
        "--checks",
        checks.to_str().unwrap(),
        "--capture",
        file.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "one check fails:\n{}",
        text(&out)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    assert_eq!(report["capture"]["file"], file.to_str().unwrap());
    assert!(
        report["checks"][0].get("capture_offset_s").is_none(),
        "{report}"
    );
    let offset = report["checks"][1]["capture_offset_s"]
        .as_f64()
        .expect("the failed check's time");
    assert!(offset > 0.0 && offset < 60.0, "{report}");
    // The file is complete and holds the run: Bob's echoes crossed r1.
    let echoes = tshark_fields(&file, "icmp.type == 8", &["frame.interface_name"]);
    assert!(echoes.iter().any(|r| r[0] == "r1:eth1"), "{echoes:?}");
    assert!(echoes.iter().any(|r| r[0] == "server0:eth0"), "{echoes:?}");

    let out = labctl(&[
        "check",
        &lab.name,
        "--checks",
        checks.to_str().unwrap(),
        "--capture",
        file.to_str().unwrap(),
    ]);
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains(&format!("capture: {} at ", file.display())),
        "{shown}"
    );
}

#[test]
fn a_busy_tap_gets_a_second_ring_and_no_frame_is_lost_or_seen_twice() {
    require_root();
    let lab = challenge_lab("cap-grow");
    lab.up_ok();
    let file = lab.scratch("grow.pcapng");
    let capture = start_capture(&[
        &lab.name,
        "pc-ada",
        "-f",
        "icmp",
        "-w",
        file.to_str().unwrap(),
    ]);
    // A bounded flood: tens of thousands of frames a second on one tap
    // fill its 64 KiB blocks within 50 ms, so it gets a second socket.
    let mut flood = Spawned(
        Command::new(common::LABCTL)
            .args(["exec", &lab.name, "pc-ada", "--"])
            .args(["ping", "-q", "-f", "-c", "30000", "-w", "20", "192.168.1.1"])
            .stdout(Stdio::null())
            .spawn()
            .expect("ping runs"),
    );
    let mut sockets_seen = 0;
    while flood.0.try_wait().expect("wait").is_none() {
        let table = lab.exec_ok("pc-ada", &["cat", "/proc/net/packet"]);
        sockets_seen = sockets_seen.max(table.lines().skip(1).count());
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        sockets_seen >= 2,
        "the busy tap got no second socket (at most {sockets_seen} in pc-ada)"
    );
    interrupt(capture);

    let recording = labctl::capture::pcapng::read_file(&file).expect("the file reads back");
    let dropped = recording.counts[0].dropped.expect("a drop count");
    let received = recording.counts[0].received.expect("a received count");
    // Every echo request and reply once: (type, sequence) never twice,
    // and what is missing is what the kernel counted as dropped.
    let rows = tshark_fields(&file, "icmp", &["icmp.type", "icmp.seq"]);
    let mut seen = std::collections::HashSet::new();
    for row in &rows {
        assert!(seen.insert(row.clone()), "{row:?} was written twice");
    }
    assert_eq!(
        rows.len() as u64 + dropped,
        received,
        "{} rows, {dropped} dropped",
        rows.len()
    );
    assert!(
        rows.len() > 10_000,
        "the flood was captured: {} rows",
        rows.len()
    );
}
