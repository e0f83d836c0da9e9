//! SMTP (RFC 5321): the server on ports 25 and 587, the relay queue and
//! worker with its hand-on attempts (`outbound`), and the one SMTP client
//! (`client`) that the relay and the PCs' mail programs share, and what
//! became of each recent message (`fates`).

pub mod client;
pub mod command;
pub mod config;
pub mod data;
pub mod delivery;
pub mod dkim_sign;
pub mod dmarc_walk;
pub mod fates;
pub mod outbound;
pub mod queue;
pub mod relay;
pub mod sender_auth;
pub mod server;
mod session;
#[cfg(test)]
mod tests;
