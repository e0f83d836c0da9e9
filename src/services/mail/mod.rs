//! Mail: one durable Maildir++ store per mail node that SMTP delivers into
//! and POP3 and IMAP read, and the node's accounts.

pub mod accounts;
pub mod imap;
mod maildir;
pub mod store;
