//! What a capture means, in a networking course's words: each frame taken
//! apart (`layers`), a packet seen on several taps of its path merged into
//! one event that moves hop by hop (pc → switch → router → …), and the
//! protocols decoded — ARP, ICMP, DHCP, DNS, the TCP handshake and close,
//! and the SMTP, POP3, IMAP and HTTP dialogue line by line. Events name
//! nodes, not only addresses (`address_book`).
//!
//! Pure code: frames in (in time order), events out.
//!
//! ```ignore
//! let mut decoder = Decoder::new(&taps, AddressBook::from_plan(&plan));
//! for frame in frames { for event in decoder.feed(&frame) { println!("{}", event.render(&taps)) } }
//! for event in decoder.finish() { … }
//! ```

pub mod address_book;
mod dhcp;
mod dialogue;
mod dns;
mod filter;
pub mod layers;
mod stream;
mod tcp;

use std::collections::{HashMap, VecDeque};
use std::net::Ipv4Addr;

use serde::Serialize;

pub use address_book::AddressBook;
pub use filter::Filter;
pub use layers::Layer;

use super::frame::{Frame, Tap};
use layers::{Parsed, Transport, mac_text};

/// A packet seen again on another tap within this time of its first
/// sighting is the same packet moving on (a hop takes microseconds); the
/// decoder holds an event this long before emitting it.
pub const HOP_WINDOW_NS: u64 = 50_000_000;

/// The protocol an event is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    Arp,
    Icmp,
    Dhcp,
    Dns,
    Tcp,
    Udp,
    Smtp,
    Pop3,
    Imap,
    Http,
    /// IPv6, other EtherTypes and IP protocols.
    Other,
}

impl Proto {
    pub const ALL: [Proto; 11] = [
        Proto::Arp,
        Proto::Icmp,
        Proto::Dhcp,
        Proto::Dns,
        Proto::Tcp,
        Proto::Udp,
        Proto::Smtp,
        Proto::Pop3,
        Proto::Imap,
        Proto::Http,
        Proto::Other,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Proto::Arp => "arp",
            Proto::Icmp => "icmp",
            Proto::Dhcp => "dhcp",
            Proto::Dns => "dns",
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Smtp => "smtp",
            Proto::Pop3 => "pop3",
            Proto::Imap => "imap",
            Proto::Http => "http",
            Proto::Other => "other",
        }
    }

    /// The application dialogue a sequence diagram draws.
    pub fn is_application(self) -> bool {
        matches!(
            self,
            Proto::Dhcp | Proto::Dns | Proto::Smtp | Proto::Pop3 | Proto::Imap | Proto::Http
        )
    }
}

/// One sighting of an event's packet: on which tap, when, with which TTL
/// and MAC addresses (they change at each router).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Hop {
    /// Index into the capture's taps.
    pub tap: usize,
    pub at_ns: u64,
    pub ttl: Option<u8>,
    pub src_mac: Option<String>,
    pub dst_mac: Option<String>,
}

/// One thing that happened on the wire, as one line.
#[derive(Clone, Debug, Serialize)]
pub struct Event {
    /// When its packet was first seen (ns since the Unix epoch).
    pub at_ns: u64,
    pub proto: Proto,
    /// The taps its packet crossed, in time order.
    pub path: Vec<Hop>,
    /// The sending node, else its address.
    pub from: Option<String>,
    /// The receiving node, its address, or `broadcast`.
    pub to: Option<String>,
    /// What happened, escaped (safe to print: see `printable::line`).
    pub text: String,
    /// An answer (DHCP OFFER/ACK, a DNS answer, a server's line): drawn
    /// dashed in a sequence diagram.
    pub reply: bool,
    /// The packet's layers, outermost first, then the application's.
    pub layers: Vec<Layer>,
}

impl Event {
    /// `10:42:07.123456 smtp  mgmt-pc1 → mail  C: MAIL FROM:<bob@mt.com>  [mgmt-pc1:eth0 → r2:eth1,eth0 → …]`
    pub fn render(&self, taps: &[Tap]) -> String {
        let ends = match (&self.from, &self.to) {
            (Some(from), Some(to)) => format!("{from} → {to}"),
            (Some(from), None) => from.clone(),
            (None, Some(to)) => format!("→ {to}"),
            (None, None) => String::new(),
        };
        format!(
            "{} {:<5} {:<24} {}  [{}]",
            time_of_day(self.at_ns),
            self.proto.name(),
            crate::printable::line(&ends),
            self.text,
            crate::printable::line(&path_text(&self.path, taps))
        )
    }

    /// Part of an application's dialogue (a DHCP or DNS message, a line
    /// of SMTP, POP3, IMAP or HTTP), not a lower layer's event (ARP, ICMP,
    /// TCP's handshake and close).
    pub fn is_dialogue(&self) -> bool {
        self.proto.is_application() && self.layers.iter().any(|l| matches!(l, Layer::App { .. }))
    }

    /// The nodes of its path in order, each once per visit.
    pub fn nodes<'a>(&self, taps: &'a [Tap]) -> Vec<&'a str> {
        let mut nodes: Vec<&str> = Vec::new();
        for hop in &self.path {
            if let Some(tap) = taps.get(hop.tap)
                && nodes.last() != Some(&tap.node.as_str())
            {
                nodes.push(&tap.node);
            }
        }
        nodes
    }
}

/// `mgmt-pc1:eth0 → r2:eth1,eth0 → mail:eth0`: consecutive taps of one
/// node are written together.
pub fn path_text(path: &[Hop], taps: &[Tap]) -> String {
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for hop in path {
        let Some(tap) = taps.get(hop.tap) else {
            continue;
        };
        match groups.last_mut() {
            Some((node, ifaces)) if *node == tap.node => ifaces.push(tap.iface.clone()),
            _ => groups.push((tap.node.clone(), vec![tap.iface.clone()])),
        }
    }
    groups
        .iter()
        .map(|(node, ifaces)| format!("{node}:{}", ifaces.join(",")))
        .collect::<Vec<_>>()
        .join(" → ")
}

/// `HH:MM:SS.micros` (UTC) of a time in ns since the epoch.
fn time_of_day(at_ns: u64) -> String {
    let secs = at_ns / 1_000_000_000;
    let micros = (at_ns % 1_000_000_000) / 1000;
    format!(
        "{:02}:{:02}:{:02}.{micros:06}",
        (secs / 3600) % 24,
        (secs / 60) % 60,
        secs % 60
    )
}

/// A packet waiting for more sightings.
struct Pending {
    key: u64,
    first_ns: u64,
    hops: Vec<Hop>,
    data: Vec<u8>,
}

/// Turns a capture's frames, in time order, into events.
pub struct Decoder {
    taps: Vec<Tap>,
    book: AddressBook,
    pending: VecDeque<Pending>,
    /// The number of `pending[0]`, counting every packet ever pending.
    first_number: u64,
    /// The newest pending packet with a key, by number.
    by_key: HashMap<u64, u64>,
    connections: tcp::Connections,
    /// The newest time seen.
    now_ns: u64,
}

impl Decoder {
    /// A decoder for frames seen on `taps`, naming nodes from `book`.
    pub fn new(taps: &[Tap], book: AddressBook) -> Decoder {
        Decoder {
            taps: taps.to_vec(),
            book,
            pending: VecDeque::new(),
            first_number: 0,
            by_key: HashMap::new(),
            connections: tcp::Connections::default(),
            now_ns: 0,
        }
    }

    /// The taps this decoder was made for.
    pub fn taps(&self) -> &[Tap] {
        &self.taps
    }

    /// One more frame (not older than the previous ones, give or take the
    /// hop window); returns the events whose packets can no longer be seen
    /// again.
    pub fn feed(&mut self, frame: &Frame) -> Vec<Event> {
        let mut events = self.tick(frame.at_ns);
        let parsed = layers::parse(&frame.data);
        let hop = Hop {
            tap: frame.tap,
            at_ns: frame.at_ns,
            ttl: parsed.ipv4.map(|(_, _, ttl)| ttl),
            src_mac: parsed.src_mac.map(mac_text),
            dst_mac: parsed.dst_mac.map(mac_text),
        };
        if let Some(number) = self.by_key.get(&parsed.key).copied()
            && let Some(index) = number.checked_sub(self.first_number)
            && let Some(pending) = self.pending.get_mut(index as usize)
            && !pending.hops.iter().any(|h| h.tap == frame.tap)
        {
            pending.hops.push(hop);
            return events;
        }
        let number = self.first_number + self.pending.len() as u64;
        self.by_key.insert(parsed.key, number);
        self.pending.push_back(Pending {
            key: parsed.key,
            first_ns: frame.at_ns,
            hops: vec![hop],
            data: frame.data.clone(),
        });
        // A burst larger than the window can hold is emitted early.
        if self.pending.len() > 100_000 {
            events.extend(self.emit_first());
        }
        events
    }

    /// Time has reached `now_ns` (a live capture with no frames): emits
    /// the events whose hop window has passed.
    pub fn tick(&mut self, now_ns: u64) -> Vec<Event> {
        self.now_ns = self.now_ns.max(now_ns);
        let mut events = Vec::new();
        while self
            .pending
            .front()
            .is_some_and(|p| p.first_ns + HOP_WINDOW_NS < self.now_ns)
        {
            events.extend(self.emit_first());
        }
        events
    }

    /// The capture ended: every event still held, and what open
    /// connections still had waiting.
    pub fn finish(&mut self) -> Vec<Event> {
        let mut events = Vec::new();
        while !self.pending.is_empty() {
            events.extend(self.emit_first());
        }
        for (proto, client, server, at_ns, said) in self.connections.finish() {
            for spoken in said {
                let (from, to) = if spoken.from_client {
                    (client.0, server.0)
                } else {
                    (server.0, client.0)
                };
                events.push(Event {
                    at_ns,
                    proto,
                    path: Vec::new(),
                    from: Some(self.book.name_ip(from)),
                    to: Some(self.book.name_ip(to)),
                    text: crate::printable::line(&spoken.text).into_owned(),
                    reply: !spoken.from_client,
                    layers: vec![app_layer(proto, &spoken.text)],
                });
            }
        }
        events
    }

    fn emit_first(&mut self) -> Vec<Event> {
        let Some(pending) = self.pending.pop_front() else {
            return Vec::new();
        };
        if self.by_key.get(&pending.key) == Some(&self.first_number) {
            self.by_key.remove(&pending.key);
        }
        self.first_number += 1;
        self.decode(pending)
    }

    /// The events of one packet, once every sighting of it is in.
    fn decode(&mut self, pending: Pending) -> Vec<Event> {
        let parsed = layers::parse(&pending.data);
        let (from, to) = self.ends(&parsed);
        let base = Event {
            at_ns: pending.first_ns,
            proto: Proto::Other,
            path: pending.hops,
            from,
            to,
            text: String::new(),
            reply: false,
            layers: parsed.layers.clone(),
        };
        let one = |proto: Proto, text: String, reply: bool, fields: Vec<(String, String)>| {
            let mut event = base.clone();
            event.proto = proto;
            event.text = crate::printable::line(&text).into_owned();
            event.reply = reply;
            if !fields.is_empty() {
                event.layers.push(Layer::App {
                    proto: proto.name().to_string(),
                    fields: fields
                        .into_iter()
                        .map(|(k, v)| (k, crate::printable::line(&v).into_owned()))
                        .collect(),
                });
            }
            vec![event]
        };
        match &parsed.transport {
            Transport::Arp {
                request,
                sender_mac,
                sender_ip,
                target_ip,
            } => {
                let text = if *request {
                    format!("ARP who-has {target_ip}? tell {sender_ip}")
                } else {
                    format!("ARP {sender_ip} is-at {}", mac_text(*sender_mac))
                };
                one(Proto::Arp, text, !request, Vec::new())
            }
            Transport::Icmp { kind, code, echo } => {
                let text = icmp_text(*kind, *code, *echo);
                one(Proto::Icmp, text, *kind == 0, Vec::new())
            }
            Transport::Udp {
                src_port,
                dst_port,
                payload,
            } => {
                let ports = [*src_port, *dst_port];
                if ports.iter().any(|p| matches!(p, 67 | 68))
                    && let Some(message) = dhcp::decode(payload)
                {
                    if let Some((ip, mac)) = message.lease {
                        self.book.learn(ip, mac);
                    }
                    return one(Proto::Dhcp, message.text, message.reply, message.fields);
                }
                if ports.contains(&53)
                    && let Some(message) = dns::decode(payload)
                {
                    return one(Proto::Dns, message.text, message.reply, message.fields);
                }
                let text = format!("UDP {src_port} → {dst_port}, {} bytes", payload.len());
                one(Proto::Udp, text, false, Vec::new())
            }
            Transport::Tcp(segment) => {
                let Some((src, dst, _)) = parsed.ipv4 else {
                    return Vec::new();
                };
                let (proto, client, server, said) =
                    self.connections
                        .segment(pending.first_ns, src, dst, segment);
                said.into_iter()
                    .map(|spoken| {
                        let mut event = base.clone();
                        event.proto = proto;
                        event.reply = !spoken.from_client;
                        event.text = crate::printable::line(&spoken.text).into_owned();
                        if spoken.dialogue {
                            // A line completed by this segment may have been
                            // begun, or be answered, by the other side.
                            let (speaker, hearer) = if spoken.from_client {
                                (client.0, server.0)
                            } else {
                                (server.0, client.0)
                            };
                            event.from = Some(self.book.name_ip(speaker));
                            event.to = Some(self.book.name_ip(hearer));
                            event.layers.push(app_layer(proto, &spoken.text));
                        }
                        event
                    })
                    .collect()
            }
            Transport::Other(text) => one(Proto::Other, text.clone(), false, Vec::new()),
        }
    }

    /// The sending and receiving node of a packet.
    fn ends(&self, parsed: &Parsed<'_>) -> (Option<String>, Option<String>) {
        let by_mac = |mac: Option<[u8; 6]>| {
            mac.and_then(|m| self.book.node_of_mac(m))
                .map(str::to_string)
        };
        match parsed.ipv4 {
            Some((src, dst, _)) => {
                let from = if src.is_unspecified() {
                    by_mac(parsed.src_mac).or(Some(src.to_string()))
                } else {
                    Some(self.book.name_ip(src))
                };
                let to = if dst == Ipv4Addr::BROADCAST {
                    Some("broadcast".to_string())
                } else {
                    Some(self.book.name_ip(dst))
                };
                (from, to)
            }
            None => {
                let from = by_mac(parsed.src_mac).or(parsed.src_mac.map(mac_text));
                let to = match parsed.dst_mac {
                    Some([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]) => Some("broadcast".to_string()),
                    mac => by_mac(mac).or(mac.map(mac_text)),
                };
                (from, to)
            }
        }
    }
}

fn app_layer(proto: Proto, line: &str) -> Layer {
    Layer::App {
        proto: proto.name().to_string(),
        fields: vec![("line".into(), crate::printable::line(line).into_owned())],
    }
}

fn icmp_text(kind: u8, code: u8, echo: Option<(u16, u16)>) -> String {
    let echo = echo.map_or(String::new(), |(id, seq)| format!(" id {id} seq {seq}"));
    match kind {
        8 => format!("ICMP echo request{echo}"),
        0 => format!("ICMP echo reply{echo}"),
        3 => {
            let why = match code {
                0 => "network unreachable",
                1 => "host unreachable",
                3 => "port unreachable",
                4 => "fragmentation needed",
                13 => "administratively prohibited",
                _ => "unreachable",
            };
            format!("ICMP destination unreachable ({why})")
        }
        11 => "ICMP time exceeded (TTL expired in transit)".to_string(),
        _ => format!("ICMP type {kind} code {code}"),
    }
}
