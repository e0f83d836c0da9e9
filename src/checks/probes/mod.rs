//! What the probes of several kinds share: why a packet does not get
//! through (`path`), a PC's mail client (`mail`, also behind
//! `labctl mail send`), its mailbox opened one session at a time
//! (`mailbox`), and what the plan and the mail servers' own record say
//! about a mail server (`mail_server`).

pub mod mail;
pub mod mail_server;
pub mod mailbox;
pub mod path;
