//! POP3 (RFC 1939, RFC 2449) on port 110, reading the node's mail store.

pub mod command;
pub mod config;
pub mod server;
mod session;
#[cfg(test)]
mod tests;
