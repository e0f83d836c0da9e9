//! DHCP (RFC 2131/2132) on the wire: a server with pools and leases, a relay
//! for routers (Cisco's `ip helper-address`), and a client for hosts.

pub mod client;
mod journal;
mod leases;
pub mod relay;
pub mod server;
