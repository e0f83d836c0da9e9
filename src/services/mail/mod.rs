//! Mail: one durable Maildir++ store per mail node that SMTP delivers into
//! and POP3 and IMAP read, the node's accounts, SMTP with relay between
//! domains, POP3, and the per-node dialogue log.

pub mod accounts;
#[cfg(test)]
mod connection_limits_tests;
pub mod date;
pub mod dot_stuffing;
mod group_sync;
pub mod imap;
pub mod lines;
pub mod maildir;
pub mod opening;
pub mod pop3;
#[cfg(test)]
mod random_input_tests;
pub mod sasl;
pub mod smtp;
pub mod store;
mod store_folder;
#[cfg(test)]
pub(crate) mod test_support;
#[cfg(test)]
mod tls_tests;
pub mod transcript;

use std::time::Duration;

use crate::services::listener::Limits;

/// Sessions at once per mail listener, and from one client address: a
/// quarter (Postfix's smtpd_client_connection_count_limit is 50 too), so
/// one machine that opens and forgets connections leaves three quarters
/// of the slots to everyone else.
pub const SESSION_LIMITS: Limits = Limits {
    max_connections: 200,
    max_per_client: 50,
};

/// How long a client may stay silent before it has logged in (SMTP: before
/// AUTH or MAIL). Short, so forgotten or hostile connections give their
/// slots back soon; long enough for a student typing commands by hand.
/// The RFC timeouts (SMTP 5, POP3 10, IMAP 30 minutes) apply after login.
pub const LOGIN_TIMEOUT: Duration = Duration::from_secs(60);
