//! What the probes of several kinds share: why a packet does not get
//! through (`path`, from the lab's live state in `network` and the hop by
//! hop `trace`), why a DHCP lease cannot come (`lease_path`), what the
//! lab's zones say about a name (`zones`), and a PC's
//! mail client (`mail`, also behind `labctl mail send`).

pub mod lease_path;
pub mod mail;
pub mod network;
pub mod path;
pub mod trace;
pub mod zones;
