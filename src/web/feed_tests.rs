use etherparse::PacketBuilder;

use super::*;
use crate::capture::frame::Direction;

const PC_MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];
const R1_MAC: [u8; 6] = [2, 0, 0, 0, 0, 2];

fn taps() -> Vec<Tap> {
    ["pc1:eth0", "sw:eth1", "sw:eth0", "r1:eth0"]
        .iter()
        .map(|t| {
            let (node, iface) = t.split_once(':').unwrap();
            Tap {
                node: node.into(),
                iface: iface.into(),
            }
        })
        .collect()
}

fn book() -> AddressBook {
    let mut book = AddressBook::default();
    book.add([10, 0, 0, 2].into(), "pc1");
    book.add([10, 0, 0, 1].into(), "r1");
    book
}

/// An ICMP echo request pc1 → r1 with sequence number `seq`.
fn echo(seq: u16) -> Vec<u8> {
    let mut data = Vec::new();
    PacketBuilder::ethernet2(PC_MAC, R1_MAC)
        .ipv4([10, 0, 0, 2], [10, 0, 0, 1], 64)
        .icmpv4_echo_request(7, seq)
        .write(&mut data, b"ping")
        .expect("builds");
    data
}

/// The packet seen on every tap of its path, a microsecond apart.
fn sightings(data: &[u8], at_ns: u64) -> Vec<Frame> {
    (0..4)
        .map(|tap| Frame {
            tap,
            at_ns: at_ns + tap as u64 * 1_000,
            direction: Direction::In,
            wire_len: data.len() as u32,
            data: data.to_vec(),
        })
        .collect()
}

fn parse(json: &str) -> serde_json::Value {
    serde_json::from_str(json).expect("valid JSON")
}

const SECOND: u64 = 1_000_000_000;

#[test]
fn a_packet_seen_on_four_taps_is_one_event_along_its_path_with_its_bytes() {
    let mut feed = Feed::new(&taps(), book(), Some(DISPLAY_PER_SECOND));
    let data = echo(1);
    assert!(feed.frames(&sightings(&data, SECOND), SECOND).is_empty());
    let sent = feed.tick(2 * SECOND);
    assert_eq!(sent.len(), 1);
    let event = parse(&sent[0]);
    assert_eq!(event["id"], 1);
    assert_eq!(event["proto"], "icmp");
    assert_eq!(event["from"], "pc1");
    assert_eq!(event["to"], "r1");
    assert_eq!(event["nodes"], serde_json::json!(["pc1", "sw", "r1"]));
    assert_eq!(
        event["hops"],
        serde_json::json!(["pc1:eth0", "sw:eth1", "sw:eth0", "r1:eth0"])
    );
    assert_eq!(event["path"].as_array().map(Vec::len), Some(4));
    let layers: Vec<&str> = event["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["layer"].as_str().unwrap())
        .collect();
    assert_eq!(layers, ["ethernet", "ipv4", "icmp"]);
    assert_eq!(feed.raw(1).as_deref(), Some(data.as_slice()));
    assert_eq!(feed.raw(2), None);
    assert_eq!(
        feed.counts(),
        Counts {
            frames: 4,
            events: 1,
            delivered: 1,
            ..Counts::default()
        }
    );
}

#[test]
fn past_the_display_burst_events_are_counted_as_dropped_not_sent() {
    let mut feed = Feed::new(&taps(), book(), Some(DISPLAY_PER_SECOND));
    let burst = DISPLAY_BURST + 15;
    let mut sent = Vec::new();
    for seq in 0..burst {
        let frame = Frame {
            tap: 0,
            at_ns: SECOND + seq * 1_000,
            direction: Direction::Out,
            wire_len: 0,
            data: echo(seq as u16),
        };
        sent.extend(feed.frames(&[frame], 5 * SECOND));
    }
    sent.extend(feed.tick(5 * SECOND));
    assert_eq!(sent.len() as u64, DISPLAY_BURST);
    let counts = feed.counts();
    assert_eq!(counts.events, burst);
    assert_eq!(counts.delivered, DISPLAY_BURST);
    assert_eq!(counts.dropped_for_display, 15);
    // Half a second later, half a second's worth gets through again.
    for seq in 0..DISPLAY_PER_SECOND {
        let at = 5 * SECOND + seq * 1_000;
        sent.extend(feed.frames(
            &sightings(&echo(seq as u16 + 20_000), at),
            5 * SECOND + SECOND / 2,
        ));
    }
    sent.extend(feed.tick(5 * SECOND + SECOND / 2));
    assert_eq!(
        feed.counts().delivered,
        DISPLAY_BURST + DISPLAY_PER_SECOND / 2
    );
    // Ids are consecutive over what was sent, and history is what was sent.
    let ids: Vec<u64> = sent
        .iter()
        .map(|s| parse(s)["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, (1..=ids.len() as u64).collect::<Vec<_>>());
    assert_eq!(feed.history(), sent);
}

#[test]
fn a_replay_has_no_display_cap_and_keeps_only_the_newest_events() {
    let mut feed = Feed::new(&taps(), book(), None);
    let total = KEEP as u64 + 10;
    for seq in 0..total {
        let frame = Frame {
            tap: 0,
            at_ns: SECOND + seq * 1_000,
            direction: Direction::Out,
            wire_len: 0,
            data: echo(seq as u16),
        };
        feed.frames(&[frame], SECOND);
    }
    feed.finish(SECOND);
    assert_eq!(feed.counts().delivered, total);
    assert_eq!(feed.counts().dropped_for_display, 0);
    let history = feed.history();
    assert_eq!(history.len(), KEEP);
    assert_eq!(parse(&history[0])["id"], 11);
    assert_eq!(feed.raw(10), None, "no longer kept");
    assert!(feed.raw(11).is_some());
}

/// A DNS query pc1 → r1 for `www.mt.com` A.
fn dns_query(id: u16) -> Vec<u8> {
    let mut dns = id.to_be_bytes().to_vec();
    dns.extend([1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in ["www", "mt", "com"] {
        dns.push(label.len() as u8);
        dns.extend(label.as_bytes());
    }
    dns.extend([0, 0, 1, 0, 1]);
    let mut data = Vec::new();
    PacketBuilder::ethernet2(PC_MAC, R1_MAC)
        .ipv4([10, 0, 0, 2], [10, 0, 0, 1], 64)
        .udp(40000, 53)
        .write(&mut data, &dns)
        .expect("builds");
    data
}

#[test]
fn a_flood_of_pings_does_not_hide_the_dialogue() {
    let mut feed = Feed::new(&taps(), book(), Some(DISPLAY_PER_SECOND));
    let mut sent = Vec::new();
    let flood = DISPLAY_BURST * 2;
    for seq in 0..flood {
        let frame = Frame {
            tap: 0,
            at_ns: SECOND + seq * 1_000,
            direction: Direction::Out,
            wire_len: 0,
            data: echo(seq as u16),
        };
        sent.extend(feed.frames(&[frame], 5 * SECOND));
    }
    sent.extend(feed.frames(&sightings(&dns_query(7), SECOND + 5_000_000), 5 * SECOND));
    sent.extend(feed.tick(5 * SECOND));
    let protos: Vec<String> = sent
        .iter()
        .map(|s| parse(s)["proto"].as_str().unwrap().to_string())
        .collect();
    assert!(protos.contains(&"dns".to_string()), "{protos:?}");
    assert_eq!(
        protos.iter().filter(|p| *p == "icmp").count() as u64,
        DISPLAY_BURST
    );
    assert_eq!(feed.counts().dropped_for_display, flood - DISPLAY_BURST);
}
