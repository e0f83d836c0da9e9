//! What the probes of several kinds share: why a packet does not get
//! through (`path`), a PC's mail client (`mail`, also behind
//! `labctl mail send`), and its mailbox opened one session at a time
//! (`mailbox`).

pub mod mail;
pub mod mailbox;
pub mod path;
