//! One line per frame for the terminal, as tcpdump prints it: time, tap,
//! direction, and what the frame is at the level of ARP, IPv4, ICMP, UDP
//! and TCP ports. The course-level decoders replace this one function.

use std::fmt::Write;
use std::net::Ipv4Addr;

use etherparse::{ArpOperation, Icmpv4Type, NetSlice, SlicedPacket, TransportSlice};

use super::frame::{Direction, Frame, Tap};

/// `12:04:31.123456 pc1:eth0 Out IPv4 10.0.0.2 > 10.0.0.1 ICMP echo request id 7 seq 1, 98 bytes`
/// (time in UTC, as `labctl logs`). Only numbers and names of the lab's own
/// plan go in; still, print it through `printable::line`.
pub fn summary(tap: &Tap, frame: &Frame) -> String {
    let mut line = format!(
        "{} {tap} {:<3} ",
        clock(frame.at_ns),
        match frame.direction {
            Direction::In => "In",
            Direction::Out => "Out",
        }
    );
    describe(&mut line, &frame.data);
    let _ = write!(line, ", {} bytes", frame.wire_len);
    line
}

/// `HH:MM:SS.micro`, UTC.
fn clock(at_ns: u64) -> String {
    let seconds = at_ns / 1_000_000_000;
    let of_day = seconds % 86_400;
    format!(
        "{:02}:{:02}:{:02}.{:06}",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60,
        at_ns % 1_000_000_000 / 1000
    )
}

fn ipv4(bytes: &[u8]) -> String {
    <[u8; 4]>::try_from(bytes).map_or_else(|_| "?".to_string(), |b| Ipv4Addr::from(b).to_string())
}

fn describe(line: &mut String, data: &[u8]) {
    let packet = match SlicedPacket::from_ethernet(data) {
        Ok(packet) => packet,
        Err(e) => {
            let _ = write!(line, "malformed frame ({e})");
            return;
        }
    };
    match &packet.net {
        Some(NetSlice::Arp(arp)) => {
            let (sender, target) = (
                ipv4(arp.sender_protocol_addr()),
                ipv4(arp.target_protocol_addr()),
            );
            let _ = match arp.operation() {
                ArpOperation::REQUEST => write!(line, "ARP who-has {target} tell {sender}"),
                ArpOperation::REPLY => {
                    let mac = arp
                        .sender_hw_addr()
                        .iter()
                        .map(|b| format!("{b:02x}"))
                        .collect::<Vec<_>>();
                    write!(line, "ARP {sender} is-at {}", mac.join(":"))
                }
                other => write!(line, "ARP operation {}", other.0),
            };
            return;
        }
        Some(NetSlice::Ipv4(ip)) => {
            let header = ip.header();
            let _ = write!(
                line,
                "IPv4 {} > {} ",
                header.source_addr(),
                header.destination_addr()
            );
        }
        Some(NetSlice::Ipv6(_)) => line.push_str("IPv6 "),
        None => {
            let ether_type = data
                .get(12..14)
                .map_or(0, |b| u16::from_be_bytes([b[0], b[1]]));
            let _ = write!(line, "ethertype {ether_type:#06x}");
            return;
        }
    }
    let _ = match &packet.transport {
        Some(TransportSlice::Icmpv4(icmp)) => match icmp.icmp_type() {
            Icmpv4Type::EchoRequest(echo) => {
                write!(line, "ICMP echo request id {} seq {}", echo.id, echo.seq)
            }
            Icmpv4Type::EchoReply(echo) => {
                write!(line, "ICMP echo reply id {} seq {}", echo.id, echo.seq)
            }
            Icmpv4Type::DestinationUnreachable(_) => write!(line, "ICMP destination unreachable"),
            Icmpv4Type::TimeExceeded(_) => write!(line, "ICMP time exceeded"),
            _ => write!(line, "ICMP type {}", icmp.type_u8()),
        },
        Some(TransportSlice::Udp(udp)) => write!(
            line,
            "UDP {} > {} length {}",
            udp.source_port(),
            udp.destination_port(),
            udp.payload().len()
        ),
        Some(TransportSlice::Tcp(tcp)) => {
            let flags: String = [
                (tcp.syn(), 'S'),
                (tcp.fin(), 'F'),
                (tcp.rst(), 'R'),
                (tcp.ack(), '.'),
            ]
            .iter()
            .filter(|(set, _)| *set)
            .map(|(_, c)| *c)
            .collect();
            write!(
                line,
                "TCP {} > {} [{flags}] length {}",
                tcp.source_port(),
                tcp.destination_port(),
                tcp.payload().len()
            )
        }
        Some(_) => write!(line, "other transport"),
        None => write!(line, "IP protocol"),
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;

    fn frame(data: Vec<u8>, direction: Direction) -> Frame {
        Frame {
            tap: 0,
            at_ns: 3_723_000_456_000,
            direction,
            wire_len: data.len() as u32,
            data,
        }
    }

    fn tap() -> Tap {
        Tap {
            node: "pc1".into(),
            iface: "eth0".into(),
        }
    }

    #[test]
    fn a_udp_frame_shows_addresses_and_ports() {
        let mut data = Vec::new();
        PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [0xff; 6])
            .ipv4([0, 0, 0, 0], [255, 255, 255, 255], 64)
            .udp(68, 67)
            .write(&mut data, &[0; 10])
            .expect("builds");
        let line = summary(&tap(), &frame(data, Direction::Out));
        assert_eq!(
            line,
            "01:02:03.000456 pc1:eth0 Out IPv4 0.0.0.0 > 255.255.255.255 UDP 68 > 67 length 10, 52 bytes"
        );
    }

    #[test]
    fn an_arp_request_and_an_echo_read_as_tcpdump_says_them() {
        let mut arp = vec![0xff; 6];
        arp.extend([2, 0, 0, 0, 0, 1, 0x08, 0x06]);
        arp.extend([
            0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 10, 0, 0, 2, 0, 0, 0, 0, 0, 0, 10, 0, 0, 1,
        ]);
        let line = summary(&tap(), &frame(arp, Direction::In));
        assert!(
            line.contains("pc1:eth0 In  ARP who-has 10.0.0.1 tell 10.0.0.2"),
            "{line}"
        );

        let mut echo = Vec::new();
        PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4([10, 0, 0, 2], [10, 0, 0, 1], 64)
            .icmpv4_echo_request(7, 1)
            .write(&mut echo, &[])
            .expect("builds");
        let line = summary(&tap(), &frame(echo, Direction::Out));
        assert!(
            line.contains("IPv4 10.0.0.2 > 10.0.0.1 ICMP echo request id 7 seq 1"),
            "{line}"
        );
    }
}
