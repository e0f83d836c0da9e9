//! A PC's mail client, as Packet Tracer's "Configure Mail" sets it up:
//! compose and send over SMTP (logging in), list and read over POP3 or
//! IMAP, in plain text or over TLS as its `security:` says. Server names
//! are resolved by the caller through the PC's own DNS.

pub mod fetch_error;
pub mod imap;
pub mod mailbox;
pub mod mime;
pub mod pop3;
pub mod security;
pub mod smtp;

/// The longest reply line the clients read (RFC 5321 allows 512; POP3 and
/// IMAP lines of message data can be up to 998 plus CRLF).
pub const MAX_REPLY_LINE: usize = 8 * 1024;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tls_tests;
