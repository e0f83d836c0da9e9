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

/// `mgmt-pc1`'s lease, as the lab's state knows it: the SMTP recording
/// starts after its DHCP exchange.
fn with_lease(mut book: AddressBook) -> AddressBook {
    book.add("192.168.30.100".parse().unwrap(), "mgmt-pc1");
    book
}

fn smtp_events() -> (Vec<Tap>, Vec<Event>) {
    let (taps, frames) = recorded("smtp-two-routers");
    let mut decoder = Decoder::new(&taps, with_lease(book("labs/mastertech.yaml", "cdrec")));
    let mut events: Vec<Event> = frames.iter().flat_map(|f| decoder.feed(f)).collect();
    events.extend(decoder.finish());
    (taps, events)
}

#[test]
fn a_dhcp_exchange_through_a_relay() {
    let (_, events) = mastertech("dhcp-relay");
    let dhcp = lines(&events, Proto::Dhcp);
    let xid = "xid 0x0e829966";
    let relay = "giaddr 192.168.30.1 (relay)";
    let offer = "yiaddr 192.168.30.101";
    let server = "server id 192.168.10.2";
    assert_eq!(
        dhcp,
        [
            format!("mgmt-pc2 → broadcast: DHCP DISCOVER {xid}"),
            format!("r2 → server: DHCP DISCOVER {xid} {relay}"),
            format!("server → r2: DHCP OFFER {xid} {offer} {relay} {server}"),
            format!("r2 → broadcast: DHCP OFFER {xid} {offer} {relay} {server}"),
            format!("mgmt-pc2 → broadcast: DHCP REQUEST {xid} requested 192.168.30.101 {server}"),
            format!("r2 → server: DHCP REQUEST {xid} {relay} requested 192.168.30.101 {server}"),
            format!("server → r2: DHCP ACK {xid} {offer} {relay} {server}"),
            format!("r2 → broadcast: DHCP ACK {xid} {offer} {relay} {server}"),
            // The ACK taught the decoder mgmt-pc2's address.
            format!(
                "mgmt-pc2 → server: DHCP RELEASE xid 0x8025d523 ciaddr 192.168.30.101 {server}"
            ),
        ]
    );
    let replies: Vec<bool> = events
        .iter()
        .filter(|e| e.proto == Proto::Dhcp)
        .map(|e| e.reply)
        .collect();
    assert_eq!(
        replies,
        [false, false, true, true, false, false, true, true, false]
    );
}

#[test]
fn a_dns_walk_from_the_root_down_with_referrals() {
    let (_, events) = decode("dns-walk", "labs/dns-hierarchy.yaml", "cdrec-dns");
    assert_eq!(
        lines(&events, Proto::Dns),
        [
            "pc0 → resolver: DNS query 0xd5d8 www.example.com. A [rd]",
            "resolver → root: DNS query 0x445b com. NS",
            "root → resolver: DNS answer 0x445b com. NS NOERROR, referral to com. NS \
             a.gtld-servers.net. (glue a.gtld-servers.net. A 10.0.0.3)",
            "resolver → tld-com: DNS query 0x5fe3 example.com. NS",
            "tld-com → resolver: DNS answer 0x5fe3 example.com. NS NOERROR, referral to \
             example.com. NS ns.example.com. (glue ns.example.com. A 10.0.0.4)",
            "resolver → ns-example: DNS query 0x0a06 www.example.com. NS",
            "ns-example → resolver: DNS answer 0x0a06 www.example.com. NS [aa] NOERROR, no answer",
            "resolver → ns-example: DNS query 0x6c31 www.example.com. A",
            "ns-example → resolver: DNS answer 0x6c31 www.example.com. A [aa] NOERROR: \
             www.example.com. A 10.0.0.4",
            "resolver → pc0: DNS answer 0xd5d8 www.example.com. A [rd ra] NOERROR: \
             www.example.com. A 10.0.0.4",
        ]
    );
}

#[test]
fn an_smtp_session_across_two_routers_with_its_auth_decoded() {
    let (taps, events) = smtp_events();
    let smtp = lines(&events, Proto::Smtp);
    let session = |start: &str| {
        let at = smtp.iter().position(|l| l.ends_with(start)).unwrap();
        smtp[at..].to_vec()
    };
    // labctl's mail client on the submission port: AUTH PLAIN.
    let plain = session("TCP SYN 45650 → 587 (open a connection)");
    let c = |text: &str| format!("mgmt-pc1 → mail: C: {text}");
    let s = |text: &str| format!("mail → mgmt-pc1: S: {text}");
    for expected in [
        "mail → mgmt-pc1: TCP SYN-ACK 587 → 45650".to_string(),
        "mgmt-pc1 → mail: TCP ACK 45650 → 587 (connection established)".to_string(),
        s("220 mail.mt.com ESMTP labctl"),
        c("EHLO mgmt-pc1"),
        s("250-AUTH PLAIN LOGIN"),
        c("AUTH PLAIN AGJvYgBzZWNyZXQ=  [AUTH PLAIN decoded: user \"bob\", password \"secret\"]"),
        s("235 2.7.0 Authentication successful"),
        c("MAIL FROM:<bob@mt.com>"),
        s("250 2.1.0 Ok"),
        c("RCPT TO:<ada@mt.com>"),
        s("250 2.1.5 Ok"),
        c("DATA"),
        s("354 End data with <CR><LF>.<CR><LF>"),
        c(
            "[message: 11 lines, 285 bytes; From: Bob <bob@mt.com>; To: ada@mt.com; Subject: Lunch?]",
        ),
        c("."),
        c("QUIT"),
        s("221 2.0.0 Bye"),
        "mail → mgmt-pc1: TCP FIN 587 → 45650 (close)".to_string(),
        "mgmt-pc1 → mail: TCP FIN 45650 → 587 (close)".to_string(),
    ] {
        assert!(plain.contains(&expected), "{expected}\nnot in\n{plain:#?}");
    }
    // swaks on port 25: AUTH LOGIN, the challenges decoded too.
    let login = session("TCP SYN 50582 → 25 (open a connection)");
    let at = login
        .iter()
        .position(|l| l.ends_with("C: AUTH LOGIN"))
        .unwrap();
    assert_eq!(
        login[at..at + 6],
        [
            c("AUTH LOGIN"),
            s("334 VXNlcm5hbWU6  [decoded: \"Username:\"]"),
            c("Ym9i  [AUTH LOGIN decoded: user \"bob\"]"),
            s("334 UGFzc3dvcmQ6  [decoded: \"Password:\"]"),
            c("c2VjcmV0  [AUTH LOGIN decoded: password \"secret\"]"),
            s("235 2.7.0 Authentication successful"),
        ]
    );
    // Each line is one event whose packet crossed both routers.
    let mail_from = events
        .iter()
        .find(|e| e.text == "C: MAIL FROM:<bob@mt.com>")
        .unwrap();
    assert_eq!(mail_from.nodes(&taps), ["mgmt-pc1", "r2", "r1", "mail"]);
}

#[test]
fn pop3_imap_and_http_dialogues() {
    let (_, events) = mastertech("pop3-imap-http");
    // Ada reads by POP3 (her address is not in the plan: DHCP, before the capture).
    let pop3: Vec<String> = lines(&events, Proto::Pop3)
        .into_iter()
        .filter(|l| l.contains(": C: ") || l.contains(": S: "))
        .map(|l| l.split_once(": ").unwrap().1.to_string())
        .collect();
    assert_eq!(
        pop3,
        [
            "S: +OK mail.mt.com POP3 server ready",
            "C: USER ada",
            "S: +OK send PASS",
            "C: PASS secret  [password in clear]",
            "S: +OK maildrop has 2 messages (810 octets)",
            "C: RETR 1",
            "S: +OK 442 octets",
            "S: [message: 15 lines, 442 bytes; From: Bob <bob@mt.com>; To: ada@mt.com; Subject: Lunch?]",
            "S: .",
            "C: QUIT",
            "S: +OK mail.mt.com POP3 server signing off (2 messages left)",
        ]
    );
    let imap = lines(&events, Proto::Imap);
    for expected in [
        "192.168.30.100 → mail: C: a1 LOGIN \"bob\" \"secret\"  [user and password in clear]",
        "192.168.30.100 → mail: C: a3 FETCH 1 BODY.PEEK[]",
        "mail → 192.168.30.100: S: * 1 FETCH (BODY[] {440}",
        "mail → 192.168.30.100: S: [message: 440 bytes; From: Ada <ada@mt.com>; To: bob@mt.com; Subject: Re: Lunch?]",
        "mail → 192.168.30.100: S: )",
        "mail → 192.168.30.100: S: a3 OK FETCH completed",
    ] {
        assert!(
            imap.iter().any(|l| l == expected),
            "{expected}\nnot in\n{imap:#?}"
        );
    }
    let http: Vec<String> = lines(&events, Proto::Http)
        .into_iter()
        .filter(|l| !l.contains(": TCP "))
        .collect();
    assert_eq!(
        http,
        [
            "192.168.20.100 → web: C: GET / HTTP/1.1",
            "192.168.20.100 → web: C: Host: www.mastertech.com",
            "192.168.20.100 → web: C: User-Agent: curl/7.88.1",
            "192.168.20.100 → web: C: Accept: */*",
            "web → 192.168.20.100: S: HTTP/1.1 200 OK",
            "web → 192.168.20.100: S: Server: labctl",
            "web → 192.168.20.100: S: Content-Type: text/html; charset=utf-8",
            "web → 192.168.20.100: S: Content-Length: 134",
            "web → 192.168.20.100: S: Connection: keep-alive",
            "web → 192.168.20.100: S: [body: 134 bytes, text/html; charset=utf-8]",
        ]
    );
}

#[test]
fn one_ping_across_two_routers_is_one_event_with_its_path() {
    let (taps, events) = mastertech("ping-two-routers");
    let pings: Vec<&Event> = events.iter().filter(|e| e.proto == Proto::Icmp).collect();
    // Ten taps saw the request, ten the reply: two events.
    assert_eq!(pings.len(), 2, "{pings:#?}");
    let request = pings[0];
    assert_eq!(request.text, "ICMP echo request id 21062 seq 1");
    let path: Vec<String> = request
        .path
        .iter()
        .map(|h| taps[h.tap].to_string())
        .collect();
    assert_eq!(
        path,
        [
            "mgmt-pc1:eth0",
            "sw-mgmt:eth1",
            "sw-mgmt:eth0",
            "r2:eth1",
            "r2:eth0",
            "r1:eth0",
            "r1:eth1",
            "sw-backend:eth0",
            "sw-backend:eth3",
            "mail:eth0",
        ]
    );
    // The TTL drops at each router, the switches leave it.
    let ttls: Vec<u8> = request.path.iter().map(|h| h.ttl.unwrap()).collect();
    assert_eq!(ttls, [64, 64, 64, 64, 63, 63, 62, 62, 62, 62]);
    assert_eq!(
        request.nodes(&taps),
        ["mgmt-pc1", "sw-mgmt", "r2", "r1", "sw-backend", "mail"]
    );
    assert_eq!(pings[1].text, "ICMP echo reply id 21062 seq 1");
    assert_eq!(pings[1].path.len(), 10);
    // ARP stays on its LAN, merged across the switch's ports.
    let arp: Vec<String> = events
        .iter()
        .filter(|e| e.proto == Proto::Arp)
        .map(|e| format!("{} [{}]", e.text, e.nodes(&taps).join(" ")))
        .collect();
    assert_eq!(
        arp,
        [
            "ARP who-has 192.168.30.1? tell 192.168.30.100 [mgmt-pc1 sw-mgmt r2]",
            "ARP 192.168.30.1 is-at 02:20:a2:73:49:3b [r2 sw-mgmt mgmt-pc1]",
            "ARP who-has 192.168.10.4? tell 192.168.10.1 [r1 sw-backend mail]",
            "ARP 192.168.10.4 is-at 02:ce:b8:9f:58:de [mail sw-backend r1]",
        ]
    );
}

#[test]
fn filters_by_protocol_and_node() {
    let (taps, events) = mastertech("pop3-imap-http");
    let count = |filter: &Filter| events.iter().filter(|e| filter.matches(e, &taps)).count();
    let http = Filter {
        protos: Filter::parse_protos("http").unwrap(),
        nodes: Vec::new(),
    };
    let tcp = Filter {
        protos: Filter::parse_protos("tcp").unwrap(),
        nodes: Vec::new(),
    };
    let web = Filter {
        protos: Vec::new(),
        nodes: vec!["web".into()],
    };
    assert_eq!(count(&http), 15);
    // The handshakes and closes of the three connections, and their lines.
    assert!(count(&tcp) > count(&http));
    assert!(
        events
            .iter()
            .filter(|e| web.matches(e, &taps))
            .all(|e| e.proto == Proto::Http || e.proto == Proto::Arp)
    );
    let err = Filter::parse_protos("smtp,ftp").unwrap_err();
    assert!(
        err.contains("\"ftp\"") && err.contains("smtp, pop3, imap, http"),
        "{err}"
    );
}

#[test]
fn the_smtp_session_as_a_sequence_diagram() {
    let (_, events) = smtp_events();
    let plain: Vec<Event> = events
        .into_iter()
        .take_while(|e| !e.text.starts_with("TCP SYN 50582"))
        .collect();
    let diagram = sequence::mermaid(&plain);
    let expected = "\
sequenceDiagram
    participant p1 as mgmt-pc1
    participant p2 as server
    participant p3 as mail
    p1->>p2: DNS query 0x42d6 mail.mt.com. A [rd]
    p2-->>p1: DNS answer 0x42d6 mail.mt.com. A [aa rd] NOERROR: mail.mt.com. A 192.168.10.4
    p3-->>p1: S: 220 mail.mt.com ESMTP labctl
    p1->>p3: C: EHLO mgmt-pc1
";
    assert!(diagram.starts_with(expected), "{diagram}");
    for arrow in [
        "    p1->>p3: C: AUTH PLAIN AGJvYgBzZWNyZXQ=  [AUTH PLAIN decoded: user #quot;bob#quot;, password #quot;secret#quot;]\n",
        "    p1->>p3: C: MAIL FROM:#lt;bob@mt.com#gt;\n",
        "    p3-->>p1: S: 354 End data with #lt;CR#gt;#lt;LF#gt;.#lt;CR#gt;#lt;LF#gt;\n",
        "    p1->>p3: C: [message: 11 lines, 285 bytes#59; From: Bob #lt;bob@mt.com#gt;#59; To: ada@mt.com#59; Subject: Lunch?]\n",
        "    p3-->>p1: S: 221 2.0.0 Bye\n",
    ] {
        assert!(diagram.contains(arrow), "{arrow}\nnot in\n{diagram}");
    }
    // The handshake is TCP's, not the dialogue's.
    assert!(!diagram.contains("SYN"));
}

#[test]
fn what_came_from_a_packet_is_escaped_for_the_terminal_and_for_mermaid() {
    // The recorded session, its client's EHLO name replaced on every tap by
    // terminal control bytes and Mermaid syntax of the same length.
    let (taps, mut frames) = recorded("smtp-two-routers");
    let (real, hostile) = (b"EHLO mgmt-pc1", b"EHLO \x1b]0;\x07;#\n");
    let mut replaced = 0;
    for frame in &mut frames {
        if let Some(at) = frame.data.windows(real.len()).position(|w| w == real) {
            frame.data[at..at + real.len()].copy_from_slice(hostile);
            replaced += 1;
        }
    }
    assert!(replaced >= 4);
    let mut decoder = Decoder::new(&taps, with_lease(book("labs/mastertech.yaml", "cdrec")));
    let mut events: Vec<Event> = frames.iter().flat_map(|f| decoder.feed(f)).collect();
    events.extend(decoder.finish());
    let ehlo = events
        .iter()
        .find(|e| e.text.starts_with("C: EHLO"))
        .unwrap();
    assert_eq!(ehlo.text, "C: EHLO \\x1b]0;\\x07;#");
    for event in &events {
        assert!(!event.render(&taps).chars().any(|c| c.is_control()));
    }
    let diagram = sequence::mermaid(&events);
    assert!(
        diagram.contains("p1->>p3: C: EHLO \\x1b]0#59;\\x07#59;#35;\n"),
        "{diagram}"
    );
}
