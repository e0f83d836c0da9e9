//! DNS: authoritative zones from the lab file, forwarding and recursive
//! resolver roles (hickory-server), and the stub client labctl's own probes
//! and the mail relay use (never the host's resolver).

#[allow(dead_code)] // an API for the mail relay and the checks (other branches)
pub mod client;
pub mod server;
mod zone;
