//! The writer's files read back by our reader and by tshark.

use std::process::Command;

use super::*;
use crate::capture::session::TapStats;

fn taps() -> Vec<Tap> {
    vec![
        Tap {
            node: "pc1".into(),
            iface: "eth0".into(),
        },
        Tap {
            node: "r1".into(),
            iface: "eth1".into(),
        },
    ]
}

/// An ARP request, a UDP datagram and a 64 KiB-long frame (as veth offloads
/// give), on two taps, with nanosecond times.
fn frames() -> Vec<Frame> {
    let mut arp = vec![0xff; 6];
    arp.extend([2, 0, 0, 0, 0, 1, 0x08, 0x06]);
    arp.extend([
        0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 10, 0, 0, 2, 0, 0, 0, 0, 0, 0, 10, 0, 0, 1,
    ]);
    let mut udp = Vec::new();
    etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [0xff; 6])
        .ipv4([0, 0, 0, 0], [255, 255, 255, 255], 64)
        .udp(68, 67)
        .write(&mut udp, b"hello")
        .expect("builds");
    let mut big = Vec::new();
    etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
        .ipv4([10, 0, 0, 2], [10, 0, 0, 1], 64)
        .udp(5000, 5001)
        .write(&mut big, &vec![0x5a; 65_000])
        .expect("builds");
    let frame = |tap, at_ns, direction, data: Vec<u8>| Frame {
        tap,
        at_ns,
        direction,
        wire_len: data.len() as u32,
        data,
    };
    vec![
        frame(0, 1_700_000_000_123_456_789, Direction::Out, arp),
        frame(1, 1_700_000_000_123_457_001, Direction::In, udp),
        frame(1, 1_700_000_001_000_000_007, Direction::Out, big),
    ]
}

fn stats() -> Stats {
    Stats {
        taps: taps()
            .into_iter()
            .enumerate()
            .map(|(i, tap)| TapStats {
                tap,
                captured: [1, 2][i],
                seen: [1, 5][i],
                dropped: [0, 3][i],
            })
            .collect(),
        started_ns: 1_700_000_000_000_000_000,
        ended_ns: 1_700_000_002_000_000_000,
    }
}

fn written() -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut sink = PcapngSink::new(&mut out);
        sink.start(&taps(), 0).expect("starts");
        let mut batch = frames();
        sink.frames(&mut batch).expect("writes");
        sink.finish(&stats()).expect("finishes");
    }
    out
}

#[test]
fn our_reader_reads_back_every_frame_tap_direction_and_count() {
    let recording = read(&written()[..]).expect("reads");
    assert_eq!(recording.taps, taps());
    assert_eq!(recording.frames, frames());
    assert_eq!(
        recording.counts[1],
        RecordedCounts {
            received: Some(5),
            dropped: Some(3),
            delivered: Some(2),
        }
    );
}

#[test]
fn microsecond_files_from_elsewhere_read_in_nanoseconds() {
    assert_eq!(to_ns(1_500_000, 6).unwrap(), 1_500_000_000);
    assert_eq!(to_ns(7, 9).unwrap(), 7);
    assert!(to_ns(1, 0x86).is_err());
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    assert!(read(&b"not a capture at all"[..]).is_err());
    let mut cut = written();
    cut.truncate(cut.len() - 10);
    assert!(read(&cut[..]).is_err());
}

/// tshark must be installed (`make test` installs it): a missing tshark
/// fails the test rather than skipping it.
fn tshark(args: &[&str]) -> String {
    let output = Command::new("tshark")
        .args(args)
        .output()
        .expect("tshark is not installed: `make deps` (or apt-get install tshark) installs it");
    assert!(
        output.status.success(),
        "tshark {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn tshark_reads_names_directions_times_and_drops() {
    let dir = std::env::temp_dir().join(format!("labctl-pcapng-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("two-taps.pcapng");
    std::fs::write(&file, written()).expect("writes");
    let path = file.to_str().expect("utf-8 path");
    let fields = tshark(&[
        "-r",
        path,
        "-T",
        "fields",
        "-e",
        "frame.interface_name",
        "-e",
        "frame.packet_flags_direction",
        "-e",
        "frame.time_epoch",
        "-e",
        "frame.len",
        "-e",
        "frame.cap_len",
        "-e",
        "_ws.col.Protocol",
    ]);
    let rows: Vec<Vec<&str>> = fields.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(rows.len(), 3, "{fields}");
    assert_eq!(rows[0][0], "pc1:eth0");
    assert_eq!(rows[1][0], "r1:eth1");
    // 0x2 outbound, 0x1 inbound (as tshark spells them).
    assert!(
        rows[0][1].ends_with('2') && rows[1][1].ends_with('1'),
        "{fields}"
    );
    assert!(rows[0][2].starts_with("1700000000.123456789"), "{fields}");
    assert_eq!(
        rows[2][3], rows[2][4],
        "the 64 KiB frame is whole: {fields}"
    );
    assert_eq!(rows[0][5], "ARP");
    let stats = tshark(&["-r", path, "-q", "-z", "io,stat,0"]);
    assert!(stats.contains("Frames"), "{stats}");
    let _ = std::fs::remove_dir_all(&dir);
}
