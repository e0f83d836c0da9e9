//! DNS: authoritative zones from the lab file, forwarding and recursive
//! resolver roles (hickory-server), and the stub client labctl's own probes
//! and the mail relay use (never the host's resolver).

mod authority;
#[allow(dead_code)] // an API for the mail relay and the checks (other branches)
pub mod client;
pub mod handler;
pub mod query_log;
mod reply_cache;
pub mod server;
mod udp_batch;
pub mod upstream;
mod zone;

use hickory_proto::op::Message;

/// hickory-proto's decoder is fuzzed upstream; a panic would still only
/// cost this one message.
pub fn decode(bytes: &[u8]) -> Option<Message> {
    std::panic::catch_unwind(|| Message::from_vec(bytes).ok()).ok()?
}
