//! SMTP (RFC 5321): the server on ports 25 and 587, the relay queue and
//! worker, and the client that hands mail on to other domains.

pub mod client;
pub mod command;
pub mod config;
pub mod data;
pub mod delivery;
pub mod queue;
pub mod relay;
pub mod server;
mod session;
#[cfg(test)]
mod tests;
