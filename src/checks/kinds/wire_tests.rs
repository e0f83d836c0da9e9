//! Wire assertions on decoded traffic: where a password was readable (and
//! how), a protocol crossing every named node in one packet, a DHCP answer
//! through the relay or around it.

use super::*;
use crate::capture::frame::{Direction, Frame};

const START: u64 = 1_000_000_000_000;

fn taps() -> Vec<Tap> {
    [
        "pc-ada:eth0",
        "r1:eth1",
        "r1:eth0",
        "r2:eth0",
        "r2:eth1",
        "mail:eth0",
    ]
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

fn hops(taps: &[usize], at_ns: u64) -> Vec<Hop> {
    taps.iter()
        .map(|&tap| Hop {
            tap,
            at_ns,
            ttl: None,
            src_mac: None,
            dst_mac: None,
        })
        .collect()
}

fn event(proto: Proto, at_ms: u64, path: &[usize], text: &str, app: Vec<(&str, &str)>) -> Event {
    let at_ns = START + at_ms * 1_000_000;
    Event {
        at_ns,
        proto,
        path: hops(path, at_ns),
        from: Some("pc-ada".into()),
        to: Some("mail".into()),
        text: text.into(),
        reply: proto == Proto::Dhcp,
        layers: vec![Layer::App {
            proto: proto.name().into(),
            fields: if app.is_empty() {
                vec![("line".into(), text.into())]
            } else {
                app.into_iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect()
            },
        }],
    }
}

fn observed(events: Vec<Event>, frames: Vec<Frame>) -> Observed {
    Observed {
        taps: taps(),
        frames,
        events,
        started_ns: START,
        dropped: 0,
        missed: 0,
    }
}

fn all_time() -> Vec<Window> {
    vec![Window {
        start_ns: START,
        end_ns: START + 10_000_000_000,
    }]
}

fn wire(assertion: Assertion) -> Wire {
    Wire {
        during: During::All,
        assertion,
    }
}

fn absent(text: &str, at: &[(&str, Option<&str>)]) -> Wire {
    wire(Assertion::Absent {
        text: text.into(),
        on: at
            .iter()
            .map(|(node, iface)| Place {
                node: node.to_string(),
                iface: iface.map(str::to_string),
            })
            .collect(),
    })
}

#[test]
fn a_password_in_auth_plain_is_found_decoded_with_where_and_when() {
    let auth = event(
        Proto::Smtp,
        420,
        &[0, 1, 2, 3, 4, 5],
        r#"C: AUTH PLAIN AGFkYQBodW50ZXIy  [AUTH PLAIN decoded: user "ada", password "hunter2"]"#,
        vec![],
    );
    let seen = observed(vec![auth], Vec::new());
    let failed = absent("hunter2", &[("r1", Some("eth0"))])
        .evaluate(&seen, &all_time())
        .unwrap_err();
    assert!(
        failed
            .message
            .starts_with("\"hunter2\" crossed r1:eth0 at 0.42 s in AUTH PLAIN (base64 is not encryption): smtp pc-ada → mail"),
        "{}",
        failed.message
    );
    // Not looked for where the check does not look, nor outside its window.
    assert!(
        absent("hunter2", &[("mail", None)])
            .evaluate(&seen, &all_time())
            .is_err()
    );
    let before = vec![Window {
        start_ns: START,
        end_ns: START + 100_000_000,
    }];
    assert!(absent("hunter2", &[]).evaluate(&seen, &before).is_ok());
}

#[test]
fn encrypted_traffic_passes_and_raw_bytes_are_searched_too() {
    let tls = event(
        Proto::Smtp,
        10,
        &[0, 1, 2],
        "C: [encrypted, 517 bytes]",
        vec![],
    );
    let frame = |data: &[u8]| Frame {
        tap: 3,
        at_ns: START + 50_000_000,
        direction: Direction::In,
        wire_len: data.len() as u32,
        data: data.to_vec(),
    };
    let seen = observed(vec![tls.clone()], vec![frame(b"\x16\x03\x01 random bytes")]);
    let passed = absent("hunter2", &[]).evaluate(&seen, &all_time()).unwrap();
    assert!(
        passed.detail.contains("none of 1 frames"),
        "{}",
        passed.detail
    );

    let seen = observed(vec![tls], vec![frame(b"GET /?pw=hunter2 HTTP/1.0")]);
    let failed = absent("hunter2", &[])
        .evaluate(&seen, &all_time())
        .unwrap_err();
    assert!(
        failed.message.starts_with(
            "\"hunter2\" crossed r2:eth0 at 0.05 s in clear text (in a frame's bytes)"
        ),
        "{}",
        failed.message
    );
}

#[test]
fn seen_needs_one_packet_across_every_node() {
    let seen_on = |at: &[&str]| {
        wire(Assertion::Seen {
            proto: Proto::Smtp,
            on: at
                .iter()
                .map(|n| Place {
                    node: n.to_string(),
                    iface: None,
                })
                .collect(),
            from: None,
            to: None,
            wanted: true,
        })
    };
    // Only as far as r1: never across r2.
    let short = observed(
        vec![event(
            Proto::Smtp,
            300,
            &[0, 1, 2],
            "C: EHLO pc-ada",
            vec![],
        )],
        Vec::new(),
    );
    let failed = seen_on(&["r1", "r2"])
        .evaluate(&short, &all_time())
        .unwrap_err();
    assert!(
        failed
            .message
            .contains("never crossing r1 and r2: at 0.30 s it went pc-ada:eth0 → r1:eth1,eth0"),
        "{}",
        failed.message
    );
    let long = observed(
        vec![event(
            Proto::Smtp,
            300,
            &[0, 1, 2, 3, 4, 5],
            "C: EHLO pc-ada",
            vec![],
        )],
        Vec::new(),
    );
    let passed = seen_on(&["r1", "r2"]).evaluate(&long, &all_time()).unwrap();
    assert!(
        passed.detail.contains("C: EHLO pc-ada"),
        "{}",
        passed.detail
    );
    let nothing = observed(Vec::new(), Vec::new());
    assert!(
        seen_on(&["r1"])
            .evaluate(&nothing, &all_time())
            .unwrap_err()
            .message
            .starts_with("no smtp was seen on any link")
    );
}

#[test]
fn a_dhcp_answer_counts_only_through_the_relay() {
    let relay = wire(Assertion::Relay {
        relay: "r1".into(),
        giaddrs: vec!["192.168.1.1".into()],
        client: Some(("pc-ada".into(), vec!["02:00:00:00:00:01".into()])),
    });
    let answer = |giaddr: Option<&str>| {
        let mut fields = vec![("type", "ACK"), ("chaddr", "02:00:00:00:00:01")];
        if let Some(g) = giaddr {
            fields.push(("giaddr", g));
        }
        event(Proto::Dhcp, 200, &[5, 4, 3, 2], "DHCP ACK", fields)
    };
    let direct = observed(vec![answer(None)], Vec::new());
    let failed = relay.evaluate(&direct, &all_time()).unwrap_err();
    assert!(
        failed
            .message
            .contains("straight from the server (no giaddr: no relay), not through r1"),
        "{}",
        failed.message
    );
    let relayed = observed(vec![answer(Some("192.168.1.1"))], Vec::new());
    let passed = relay.evaluate(&relayed, &all_time()).unwrap();
    assert!(
        passed
            .detail
            .starts_with("DHCP ACK for pc-ada answered through r1 (giaddr 192.168.1.1) at 0.20 s"),
        "{}",
        passed.detail
    );
}

#[test]
fn a_line_left_over_at_the_end_of_the_capture_is_searched_too() {
    // `Decoder::finish` flushes what an unfinished connection held: no path.
    let left = event(
        Proto::Pop3,
        700,
        &[],
        "C: PASS hunter2  [password in clear]",
        vec![],
    );
    let seen = observed(vec![left], Vec::new());
    let failed = absent("hunter2", &[])
        .evaluate(&seen, &all_time())
        .unwrap_err();
    assert!(
        failed
            .message
            .starts_with("\"hunter2\" crossed the wire at 0.70 s in clear text (pop3)"),
        "{}",
        failed.message
    );
    // A place was asked for: a line with no path cannot be placed there.
    assert!(
        absent("hunter2", &[("r1", None)])
            .evaluate(&seen, &all_time())
            .is_ok()
    );
}
