//! What the probes of several kinds share: why a packet does not get
//! through (`path`, from the lab's live state in `network` and the hop by
//! hop `trace`), why a DHCP lease cannot come (`lease_path`), what the
//! lab's zones say about a name (`zones`), a PC's mail client (`mail`, also
//! behind `labctl mail send`), its mailbox opened one session at a time
//! (`mailbox`), and what the plan and the mail servers' own record say
//! about a mail server (`mail_server`), port 25 as a stranger speaks it
//! (`port25`: STARTTLS when offered), and the whole lab's traffic while
//! checks run, decoded for the `wire` checks (`wire`).

pub mod auth_results;
pub mod lease_path;
pub mod mail;
pub mod mail_server;
pub mod mailbox;
pub mod network;
pub mod path;
pub mod port25;
pub mod trace;
pub mod wire;
pub mod zones;
