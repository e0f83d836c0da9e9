//! What the probes of several kinds share: why a packet does not get
//! through (`path`), and a PC's mail client (`mail`, also behind
//! `labctl mail send`).

pub mod mail;
pub mod mail_server;
pub mod path;
