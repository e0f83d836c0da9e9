//! A PC's mail client, as Packet Tracer's "Configure Mail" sets it up:
//! compose and send over SMTP (logging in), list and read over POP3 or
//! IMAP. Server names are resolved by the caller through the PC's own DNS.

pub mod fetch_error;
pub mod imap;
pub mod lines;
pub mod mailbox;
pub mod mime;
pub mod pop3;
pub mod smtp;

#[cfg(test)]
mod tests;
