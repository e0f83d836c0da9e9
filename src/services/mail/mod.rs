//! Mail: one durable Maildir++ store per mail node that SMTP delivers into
//! and POP3 and IMAP read, the node's accounts, SMTP with relay between
//! domains, POP3, and the per-node dialogue log.

pub mod accounts;
pub mod date;
mod group_sync;
pub mod imap;
pub mod lines;
mod listener;
mod maildir;
pub mod pop3;
#[cfg(test)]
mod random_input_tests;
pub mod sasl;
pub mod smtp;
pub mod store;
#[cfg(test)]
pub(crate) mod test_support;
pub mod transcript;
