//! DHCP (RFC 2131/2132) on the wire: a server with pools and leases, a relay
//! for routers (Cisco's `ip helper-address`), and a client for hosts.
//!
//! Inside the server, arrows point one way: `server` → `leases` (the lease
//! table) and `journal` (the lease file) → `pool` and `lease_info` (plain
//! values, which depend on nothing here).

pub mod client;
mod journal;
pub mod lease_info;
mod leases;
pub mod pool;
pub mod relay;
pub mod server;

use dhcproto::v4::{HType, Message};
use dhcproto::{Decodable, Decoder};

/// Decodes a received datagram; None unless it is a well-formed message
/// with an Ethernet address. dhcproto panics on some hostile inputs (debug
/// assertions on option lengths), and `chaddr()` slices by `hlen`: both are
/// guarded here, for every role that reads from the network.
pub fn decode(datagram: &[u8]) -> Option<Message> {
    let decoded = std::panic::catch_unwind(|| Message::decode(&mut Decoder::new(datagram)));
    let message = decoded.ok()?.ok()?;
    (message.htype() == HType::Eth && message.hlen() == 6).then_some(message)
}
