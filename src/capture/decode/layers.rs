//! One frame taken apart with etherparse into the layers a course names —
//! Ethernet, ARP, IPv4 (or IPv6), ICMP, UDP, TCP — kept as data for the web
//! view, plus the identity of the packet that the hop-by-hop merge matches
//! across taps.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::net::{Ipv4Addr, Ipv6Addr};

use etherparse::{LaxNetSlice, LaxSlicedPacket, LinkSlice, TransportSlice};
use serde::Serialize;

use crate::lab::addr::Mac;

/// One decoded layer of a frame, outermost first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "layer", rename_all = "lowercase")]
pub enum Layer {
    Ethernet {
        src: String,
        dst: String,
        ethertype: u16,
    },
    Arp {
        operation: u16,
        sender_mac: String,
        sender_ip: Ipv4Addr,
        target_mac: String,
        target_ip: Ipv4Addr,
    },
    Ipv4 {
        src: Ipv4Addr,
        dst: Ipv4Addr,
        ttl: u8,
        id: u16,
        protocol: u8,
        total_len: u16,
    },
    Ipv6 {
        src: Ipv6Addr,
        dst: Ipv6Addr,
        hop_limit: u8,
        next_header: u8,
    },
    Icmp {
        kind: u8,
        code: u8,
    },
    Udp {
        src_port: u16,
        dst_port: u16,
        len: u16,
    },
    Tcp {
        src_port: u16,
        dst_port: u16,
        seq: u32,
        ack: u32,
        flags: String,
        window: u16,
        payload_len: usize,
    },
    /// The application's message as fields (`xid`, `yiaddr`, `name`…), or
    /// the dialogue line a TCP payload completed.
    App {
        proto: String,
        fields: Vec<(String, String)>,
    },
}

/// What the transport carries, for the decoders above it.
pub enum Transport<'a> {
    Arp {
        request: bool,
        sender_mac: [u8; 6],
        sender_ip: Ipv4Addr,
        target_ip: Ipv4Addr,
    },
    Icmp {
        kind: u8,
        code: u8,
        /// Identifier and sequence of an echo request or reply.
        echo: Option<(u16, u16)>,
    },
    Udp {
        src_port: u16,
        dst_port: u16,
        payload: &'a [u8],
    },
    Tcp(TcpSegment<'a>),
    /// Anything else: a short description.
    Other(String),
}

pub struct TcpSegment<'a> {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: u32,
    pub ack: u32,
    pub syn: bool,
    pub ack_flag: bool,
    pub fin: bool,
    pub rst: bool,
    pub payload: &'a [u8],
}

/// A frame taken apart.
pub struct Parsed<'a> {
    pub layers: Vec<Layer>,
    pub src_mac: Option<[u8; 6]>,
    pub dst_mac: Option<[u8; 6]>,
    /// Source and destination of the IPv4 packet, and its TTL.
    pub ipv4: Option<(Ipv4Addr, Ipv4Addr, u8)>,
    pub transport: Transport<'a>,
    /// The same for every sighting of this packet on its path (see `key`).
    pub key: u64,
}

pub fn mac_text(mac: [u8; 6]) -> String {
    Mac(mac).to_string()
}

fn ipv4_of(bytes: &[u8]) -> Ipv4Addr {
    <[u8; 4]>::try_from(bytes).map_or(Ipv4Addr::UNSPECIFIED, Ipv4Addr::from)
}

/// Takes `data` (from the Ethernet header on) apart; never fails: what
/// cannot be read is described as such.
pub fn parse(data: &[u8]) -> Parsed<'_> {
    let mut parsed = Parsed {
        layers: Vec::new(),
        src_mac: None,
        dst_mac: None,
        ipv4: None,
        transport: Transport::Other(format!("unreadable frame of {} bytes", data.len())),
        key: whole_frame_key(data),
    };
    let Ok(packet) = LaxSlicedPacket::from_ethernet(data) else {
        return parsed;
    };
    if let Some(LinkSlice::Ethernet2(eth)) = &packet.link {
        parsed.src_mac = Some(eth.source());
        parsed.dst_mac = Some(eth.destination());
        parsed.layers.push(Layer::Ethernet {
            src: mac_text(eth.source()),
            dst: mac_text(eth.destination()),
            ethertype: eth.ether_type().0,
        });
        parsed.transport = Transport::Other(format!("ethertype 0x{:04x}", eth.ether_type().0));
    }
    match &packet.net {
        Some(LaxNetSlice::Arp(arp)) => {
            let arp = arp.to_packet();
            let sender_mac = <[u8; 6]>::try_from(arp.sender_hw_addr()).unwrap_or_default();
            let target_mac = <[u8; 6]>::try_from(arp.target_hw_addr()).unwrap_or_default();
            let sender_ip = ipv4_of(arp.sender_protocol_addr());
            let target_ip = ipv4_of(arp.target_protocol_addr());
            parsed.layers.push(Layer::Arp {
                operation: arp.operation.0,
                sender_mac: mac_text(sender_mac),
                sender_ip,
                target_mac: mac_text(target_mac),
                target_ip,
            });
            parsed.transport = Transport::Arp {
                request: arp.operation == etherparse::ArpOperation::REQUEST,
                sender_mac,
                sender_ip,
                target_ip,
            };
            return parsed;
        }
        Some(LaxNetSlice::Ipv4(ip)) => {
            let header = ip.header();
            let (src, dst) = (header.source_addr(), header.destination_addr());
            parsed.ipv4 = Some((src, dst, header.ttl()));
            parsed.layers.push(Layer::Ipv4 {
                src,
                dst,
                ttl: header.ttl(),
                id: header.identification(),
                protocol: header.protocol().0,
                total_len: header.total_len(),
            });
            parsed.key = ipv4_key(
                src,
                dst,
                header.protocol().0,
                header.identification(),
                ip.payload().payload,
            );
            parsed.transport = Transport::Other(match header.protocol().0 {
                2 => "IGMP (multicast membership)".to_string(),
                89 => "OSPF".to_string(),
                n => format!("IP protocol {n}"),
            });
        }
        Some(LaxNetSlice::Ipv6(ip)) => {
            let header = ip.header();
            parsed.layers.push(Layer::Ipv6 {
                src: header.source_addr(),
                dst: header.destination_addr(),
                hop_limit: header.hop_limit(),
                next_header: header.next_header().0,
            });
            parsed.transport = Transport::Other(format!(
                "IPv6 {} → {} next header {}",
                header.source_addr(),
                header.destination_addr(),
                header.next_header().0
            ));
        }
        None => return parsed,
    }
    match &packet.transport {
        Some(TransportSlice::Icmpv4(icmp)) => {
            let (kind, code) = (icmp.type_u8(), icmp.code_u8());
            parsed.layers.push(Layer::Icmp { kind, code });
            let echo = match icmp.icmp_type() {
                etherparse::Icmpv4Type::EchoRequest(e) | etherparse::Icmpv4Type::EchoReply(e) => {
                    Some((e.id, e.seq))
                }
                _ => None,
            };
            parsed.transport = Transport::Icmp { kind, code, echo };
        }
        Some(TransportSlice::Icmpv6(icmp)) => {
            parsed.layers.push(Layer::Icmp {
                kind: icmp.type_u8(),
                code: icmp.code_u8(),
            });
            parsed.transport = Transport::Other(format!("ICMPv6 type {}", icmp.type_u8()));
        }
        Some(TransportSlice::Udp(udp)) => {
            parsed.layers.push(Layer::Udp {
                src_port: udp.source_port(),
                dst_port: udp.destination_port(),
                len: udp.length(),
            });
            parsed.transport = Transport::Udp {
                src_port: udp.source_port(),
                dst_port: udp.destination_port(),
                payload: udp.payload(),
            };
        }
        Some(TransportSlice::Tcp(tcp)) => {
            let segment = TcpSegment {
                src_port: tcp.source_port(),
                dst_port: tcp.destination_port(),
                seq: tcp.sequence_number(),
                ack: tcp.acknowledgment_number(),
                syn: tcp.syn(),
                ack_flag: tcp.ack(),
                fin: tcp.fin(),
                rst: tcp.rst(),
                payload: tcp.payload(),
            };
            parsed.layers.push(Layer::Tcp {
                src_port: segment.src_port,
                dst_port: segment.dst_port,
                seq: segment.seq,
                ack: segment.ack,
                flags: tcp_flags(&segment),
                window: tcp.window_size(),
                payload_len: segment.payload.len(),
            });
            parsed.transport = Transport::Tcp(segment);
        }
        _ => {}
    }
    parsed
}

/// `SYN`, `SYN-ACK`, `FIN-ACK`, `ACK`… as a course writes them.
pub fn tcp_flags(segment: &TcpSegment<'_>) -> String {
    let mut names = Vec::new();
    for (set, name) in [
        (segment.syn, "SYN"),
        (segment.fin, "FIN"),
        (segment.rst, "RST"),
        (segment.ack_flag, "ACK"),
    ] {
        if set {
            names.push(name);
        }
    }
    names.join("-")
}

/// An IPv4 packet keeps its addresses, protocol, identification and
/// transport bytes from router to router (TTL, header checksum and MACs
/// change); the transport checksum is left out, as a sending interface with
/// checksum offload may show it unfinished.
fn ipv4_key(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, id: u16, l4: &[u8]) -> u64 {
    let mut hasher = DefaultHasher::new();
    (src, dst, protocol, id).hash(&mut hasher);
    let checksum_at = match protocol {
        6 => Some(16),
        17 => Some(6),
        1 => Some(2),
        _ => None,
    };
    match checksum_at {
        Some(at) if l4.len() >= at + 2 => {
            hasher.write(&l4[..at]);
            hasher.write(&l4[at + 2..]);
        }
        _ => hasher.write(l4),
    }
    hasher.finish()
}

/// Anything that is not IPv4 (ARP, IPv6…) crosses only switches, which
/// change nothing in the frame.
fn whole_frame_key(data: &[u8]) -> u64 {
    let mut hasher = DefaultHasher::new();
    hasher.write(data);
    hasher.finish()
}
