//! ICMP echo (ping) from the current network namespace, over a RAW socket
//! (a fresh namespace has `ping_group_range = "1 0"`, so unprivileged
//! DGRAM ICMP sockets fail even for root). Replies are matched by
//! identifier and sequence; ICMP errors about our own echo (unreachable,
//! time exceeded) are reported with the router that sent them.

use std::io::ErrorKind;
use std::mem::MaybeUninit;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::unix::AsyncFd;
use tokio::time::Instant;

const ECHO_REPLY: u8 = 0;
const DEST_UNREACHABLE: u8 = 3;
const ECHO_REQUEST: u8 = 8;
const TIME_EXCEEDED: u8 = 11;

/// What became of a ping.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PingOutcome {
    /// An echo reply came back after `rtt`.
    Reply { rtt: Duration },
    /// A router (or the host itself) said the destination cannot be reached.
    Unreachable { from: Ipv4Addr, reason: String },
    /// Nothing came back in time.
    Silence,
    /// The kernel refused to send: no route from this node.
    NoRoute(String),
}

/// Sends up to `attempts` echo requests `interval` apart and waits `wait`
/// after the last; returns at the first reply or error report.
pub async fn ping(
    to: Ipv4Addr,
    attempts: u16,
    interval: Duration,
    wait: Duration,
) -> std::io::Result<PingOutcome> {
    let socket = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::ICMPV4))?;
    socket.set_nonblocking(true)?;
    // SAFETY: the socket owns its descriptor, which stays open and the same
    // for as long as the AsyncFd holds it.
    let socket = unsafe { AsyncFd::register(socket) }?;
    let identifier = (std::process::id() as u16) ^ (rand_u16());
    let start = Instant::now();
    let mut sent_at = Vec::new();
    let deadline = start + interval * u32::from(attempts.saturating_sub(1)) + wait;
    let mut next_send = start;
    let mut buffer = [MaybeUninit::<u8>::uninit(); 2048];
    loop {
        let now = Instant::now();
        if sent_at.len() < usize::from(attempts) && now >= next_send {
            let sequence = sent_at.len() as u16;
            let packet = echo_request(identifier, sequence);
            let destination = SocketAddr::V4(SocketAddrV4::new(to, 0)).into();
            match socket.get_ref().send_to(&packet, &destination) {
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.raw_os_error(),
                        Some(libc::ENETUNREACH | libc::EHOSTUNREACH)
                    ) =>
                {
                    return Ok(PingOutcome::NoRoute(e.to_string()));
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            sent_at.push(Instant::now());
            next_send = Instant::now() + interval;
        }
        let wake = if sent_at.len() < usize::from(attempts) {
            next_send.min(deadline)
        } else {
            deadline
        };
        if Instant::now() >= deadline {
            return Ok(PingOutcome::Silence);
        }
        let readable = tokio::time::timeout_at(wake, socket.readable()).await;
        let Ok(guard) = readable else {
            continue;
        };
        let mut guard = guard?;
        let received = guard.try_io(|s| s.get_ref().recv_from(&mut buffer));
        let Ok(result) = received else {
            continue;
        };
        let (length, _) = match result {
            Ok(x) => x,
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::EHOSTUNREACH | libc::ENETUNREACH)
                ) =>
            {
                return Ok(PingOutcome::NoRoute(e.to_string()));
            }
            Err(e) => return Err(e),
        };
        // SAFETY: recv_from initialised the first `length` bytes.
        let bytes: Vec<u8> = buffer[..length]
            .iter()
            .map(|b| unsafe { b.assume_init() })
            .collect();
        match classify(&bytes, to, identifier) {
            Some(Heard::Reply(sequence)) => {
                let rtt = sent_at
                    .get(usize::from(sequence))
                    .map(|t| t.elapsed())
                    .unwrap_or_default();
                return Ok(PingOutcome::Reply { rtt });
            }
            Some(Heard::Error { from, reason }) => {
                return Ok(PingOutcome::Unreachable { from, reason });
            }
            None => {}
        }
    }
}

fn rand_u16() -> u16 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos();
    (nanos ^ (nanos >> 16)) as u16
}

fn echo_request(identifier: u16, sequence: u16) -> Vec<u8> {
    let mut packet = vec![ECHO_REQUEST, 0, 0, 0];
    packet.extend_from_slice(&identifier.to_be_bytes());
    packet.extend_from_slice(&sequence.to_be_bytes());
    packet.extend_from_slice(b"labctl ping payload.....");
    let sum = checksum(&packet);
    packet[2..4].copy_from_slice(&sum.to_be_bytes());
    packet
}

/// The Internet checksum (RFC 1071).
pub fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for chunk in data.chunks(2) {
        let word = u16::from_be_bytes([chunk[0], *chunk.get(1).unwrap_or(&0)]);
        sum += u32::from(word);
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[derive(Debug, PartialEq, Eq)]
enum Heard {
    Reply(u16),
    Error { from: Ipv4Addr, reason: String },
}

/// What an IPv4 packet read from the raw socket says about our pings.
fn classify(packet: &[u8], to: Ipv4Addr, identifier: u16) -> Option<Heard> {
    let (source, icmp) = split_ipv4(packet)?;
    if icmp.len() < 8 {
        return None;
    }
    match icmp[0] {
        ECHO_REPLY if source == to && u16::from_be_bytes([icmp[4], icmp[5]]) == identifier => {
            Some(Heard::Reply(u16::from_be_bytes([icmp[6], icmp[7]])))
        }
        DEST_UNREACHABLE | TIME_EXCEEDED => {
            // The error quotes our IP header and the first 8 bytes of our echo.
            let (_, quoted_dest, quoted) = split_ipv4_with_dest(&icmp[8..])?;
            if quoted_dest != to || quoted.len() < 8 || quoted[0] != ECHO_REQUEST {
                return None;
            }
            if u16::from_be_bytes([quoted[4], quoted[5]]) != identifier {
                return None;
            }
            let reason = match (icmp[0], icmp[1]) {
                (DEST_UNREACHABLE, 0) => "network unreachable",
                (DEST_UNREACHABLE, 1) => "host unreachable (no answer to ARP)",
                (DEST_UNREACHABLE, 3) => "port unreachable",
                (DEST_UNREACHABLE, 9 | 10 | 13) => "administratively prohibited",
                (DEST_UNREACHABLE, _) => "destination unreachable",
                _ => "time to live exceeded (a routing loop?)",
            };
            Some(Heard::Error {
                from: source,
                reason: reason.to_string(),
            })
        }
        _ => None,
    }
}

fn split_ipv4(packet: &[u8]) -> Option<(Ipv4Addr, &[u8])> {
    let (source, _, payload) = split_ipv4_with_dest(packet)?;
    Some((source, payload))
}

fn split_ipv4_with_dest(packet: &[u8]) -> Option<(Ipv4Addr, Ipv4Addr, &[u8])> {
    if packet.len() < 20 || packet[0] >> 4 != 4 {
        return None;
    }
    let header = usize::from(packet[0] & 0x0f) * 4;
    if header < 20 || packet.len() < header {
        return None;
    }
    let source = Ipv4Addr::new(packet[12], packet[13], packet[14], packet[15]);
    let dest = Ipv4Addr::new(packet[16], packet[17], packet[18], packet[19]);
    Some((source, dest, &packet[header..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ipv4(source: Ipv4Addr, dest: Ipv4Addr, payload: &[u8]) -> Vec<u8> {
        let mut p = vec![0x45, 0, 0, 0, 0, 0, 0, 0, 64, 1, 0, 0];
        p.extend_from_slice(&source.octets());
        p.extend_from_slice(&dest.octets());
        p.extend_from_slice(payload);
        p
    }

    #[test]
    fn echo_request_checksums_to_zero() {
        let packet = echo_request(0x1234, 7);
        assert_eq!(checksum(&packet), 0);
        assert_eq!(&packet[4..8], &[0x12, 0x34, 0, 7]);
    }

    #[test]
    fn matches_replies_and_errors_about_our_echo_only() {
        let me = Ipv4Addr::new(10, 0, 0, 2);
        let target = Ipv4Addr::new(10, 0, 1, 5);
        let router = Ipv4Addr::new(10, 0, 0, 1);
        let mut reply = echo_request(42, 3);
        reply[0] = ECHO_REPLY;
        assert_eq!(
            classify(&ipv4(target, me, &reply), target, 42),
            Some(Heard::Reply(3))
        );
        assert_eq!(classify(&ipv4(target, me, &reply), target, 43), None);
        assert_eq!(classify(&ipv4(router, me, &reply), target, 42), None);
        let ours = ipv4(me, target, &echo_request(42, 0));
        let mut error = vec![DEST_UNREACHABLE, 1, 0, 0, 0, 0, 0, 0];
        error.extend_from_slice(&ours[..28]);
        assert_eq!(
            classify(&ipv4(router, me, &error), target, 42),
            Some(Heard::Error {
                from: router,
                reason: "host unreachable (no answer to ARP)".into()
            })
        );
        assert_eq!(classify(&ipv4(router, me, &error), target, 41), None);
        assert_eq!(classify(&[0x45, 0, 1], target, 42), None);
    }
}
