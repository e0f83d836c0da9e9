//! IMAP4rev1 (RFC 3501) over the mail store, on port 143: enough for
//! Python's imaplib, curl, s-nail and mutt. A hand-written strict parser
//! (`parser` → `command`), the session state machine (`session`, with the
//! selected mailbox's commands in `selected`, its view in `mailbox`, and
//! LIST in `list`), FETCH and SEARCH evaluated from stored octets (`fetch`,
//! `structure`, `mime`, `address`, `search`), and the listener with its
//! limits (`server`, `connection`).

mod address;
mod command;
mod connection;
mod fetch;
mod list;
mod mailbox;
pub mod mime;
pub mod parser;
mod response;
mod search;
mod selected;
mod sequence;
pub mod server;
mod session;
pub mod structure;

#[cfg(test)]
#[path = "server_tests.rs"]
pub(crate) mod server_tests;

#[cfg(test)]
#[path = "sharing_tests.rs"]
mod sharing_tests;
