//! TCP as a course shows it: the handshake (SYN, SYN-ACK, ACK) and the
//! close (FIN, RST) as events, and between them the application dialogue
//! of the connection — both directions reassembled, the protocol chosen by
//! the server's port. Other TCP traffic gets one short line per segment.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use super::Proto;
use super::dialogue::{Dialogue, Said};
use super::layers::TcpSegment;
use super::stream::{Chunk, Reassembly};

/// Connections followed at once; past this the stalest is forgotten.
const MAX_CONNECTIONS: usize = 4096;

type Endpoint = (Ipv4Addr, u16);

/// The protocol a server port speaks.
pub fn app_of(port: u16) -> Option<Proto> {
    match port {
        25 | 587 | 465 => Some(Proto::Smtp),
        110 | 995 => Some(Proto::Pop3),
        143 | 993 => Some(Proto::Imap),
        80 | 8080 => Some(Proto::Http),
        _ => None,
    }
}

/// What one segment meant.
pub struct Spoken {
    pub from_client: bool,
    pub text: String,
    /// Part of the application dialogue (not a TCP event).
    pub dialogue: bool,
}

struct Connection {
    client: Endpoint,
    server: Endpoint,
    proto: Proto,
    /// Client → server, server → client.
    streams: [Reassembly; 2],
    dialogue: Option<Dialogue>,
    syn_ack_seen: bool,
    established: bool,
    last_ns: u64,
}

#[derive(Default)]
pub struct Connections {
    table: HashMap<(Endpoint, Endpoint), Connection>,
}

/// Both directions of a connection share one key.
fn key(a: Endpoint, b: Endpoint) -> (Endpoint, Endpoint) {
    if a <= b { (a, b) } else { (b, a) }
}

impl Connections {
    /// One segment from `src` to `dst`: the connection's protocol, its
    /// client and server, and what the segment said.
    pub fn segment(
        &mut self,
        at_ns: u64,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        segment: &TcpSegment<'_>,
    ) -> (Proto, Endpoint, Endpoint, Vec<Spoken>) {
        let from = (src, segment.src_port);
        let to = (dst, segment.dst_port);
        if self.table.len() >= MAX_CONNECTIONS && !self.table.contains_key(&key(from, to)) {
            self.forget_stalest();
        }
        let connection = self
            .table
            .entry(key(from, to))
            .or_insert_with(|| Connection::new(from, to, segment));
        connection.last_ns = at_ns;
        let said = connection.segment(from == connection.client, segment);
        let found = (connection.proto, connection.client, connection.server);
        if segment.rst {
            self.table.remove(&key(from, to));
        }
        (found.0, found.1, found.2, said)
    }

    /// The end of the capture: what is still waiting in each connection.
    pub fn finish(&mut self) -> Vec<(Proto, Endpoint, Endpoint, u64, Vec<Spoken>)> {
        let mut connections: Vec<Connection> = self.table.drain().map(|(_, c)| c).collect();
        connections.sort_by_key(|c| c.last_ns);
        connections
            .into_iter()
            .map(|mut c| {
                let mut said = Vec::new();
                for from_client in [true, false] {
                    let chunks = c.streams[usize::from(!from_client)].finish();
                    said.extend(c.chunks(from_client, chunks));
                    if let Some(dialogue) = c.dialogue.as_mut() {
                        said.extend(dialogue.close(from_client).into_iter().map(line));
                    }
                }
                (c.proto, c.client, c.server, c.last_ns, said)
            })
            .collect()
    }

    fn forget_stalest(&mut self) {
        if let Some(stalest) = self
            .table
            .iter()
            .min_by_key(|(_, c)| c.last_ns)
            .map(|(k, _)| *k)
        {
            self.table.remove(&stalest);
        }
    }
}

fn line(said: Said) -> Spoken {
    Spoken {
        from_client: said.from_client,
        text: said.text,
        dialogue: true,
    }
}

impl Connection {
    fn new(from: Endpoint, to: Endpoint, first: &TcpSegment<'_>) -> Connection {
        // The SYN's sender is the client; without one, the side on a
        // known server port is the server, else the lower port.
        let from_is_client = if first.syn {
            !first.ack_flag
        } else if app_of(to.1).is_some() {
            true
        } else if app_of(from.1).is_some() {
            false
        } else {
            to.1 < from.1
        };
        let (client, server) = if from_is_client {
            (from, to)
        } else {
            (to, from)
        };
        let app = app_of(server.1);
        Connection {
            client,
            server,
            proto: app.unwrap_or(Proto::Tcp),
            streams: Default::default(),
            dialogue: app.map(|proto| Dialogue::new(proto, server.1)),
            syn_ack_seen: false,
            established: false,
            last_ns: 0,
        }
    }

    fn segment(&mut self, from_client: bool, segment: &TcpSegment<'_>) -> Vec<Spoken> {
        let mut said = Vec::new();
        let event = |text: String| Spoken {
            from_client,
            text,
            dialogue: false,
        };
        let ports = if from_client {
            format!("{} → {}", self.client.1, self.server.1)
        } else {
            format!("{} → {}", self.server.1, self.client.1)
        };
        let mine = usize::from(!from_client);
        if segment.syn {
            self.streams[mine].syn(segment.seq);
            if segment.ack_flag {
                self.syn_ack_seen = true;
                said.push(event(format!("TCP SYN-ACK {ports}")));
            } else {
                said.push(event(format!("TCP SYN {ports} (open a connection)")));
            }
        } else if segment.ack_flag
            && from_client
            && self.syn_ack_seen
            && !self.established
            && segment.payload.is_empty()
            && !segment.fin
            && !segment.rst
        {
            self.established = true;
            said.push(event(format!("TCP ACK {ports} (connection established)")));
        }
        if segment.ack_flag && !segment.syn {
            // The peer's bytes this acknowledges and the capture missed.
            let chunks = self.streams[1 - mine].acknowledged(segment.ack);
            said.extend(self.chunks(!from_client, chunks));
        }
        if !segment.payload.is_empty() && !segment.syn {
            if self.dialogue.is_none() {
                said.push(event(format!(
                    "TCP {ports}, {} bytes",
                    segment.payload.len()
                )));
            } else {
                let chunks = self.streams[mine].segment(segment.seq, segment.payload);
                said.extend(self.chunks(from_client, chunks));
            }
        }
        if segment.fin {
            let end = segment.seq.wrapping_add(segment.payload.len() as u32);
            let chunks = self.streams[mine].fin(end);
            said.extend(self.chunks(from_client, chunks));
            if let Some(dialogue) = self.dialogue.as_mut() {
                said.extend(dialogue.close(from_client).into_iter().map(line));
            }
            said.push(event(format!("TCP FIN {ports} (close)")));
        }
        if segment.rst {
            said.push(event(format!("TCP RST {ports} (reset)")));
        }
        said
    }

    fn chunks(&mut self, from_client: bool, chunks: Vec<Chunk>) -> Vec<Spoken> {
        let Some(dialogue) = self.dialogue.as_mut() else {
            return Vec::new();
        };
        chunks
            .into_iter()
            .flat_map(|chunk| dialogue.feed(from_client, chunk))
            .map(line)
            .collect()
    }
}
