//! The settings an SMTP listener's sessions share: names, limits, timeouts
//! and whether the port is for submission.

use std::sync::Arc;
use std::time::Duration;

use super::delivery::Delivery;
use super::dkim_sign::Signer;
use super::sender_auth::SenderChecks;
use crate::services::listener::Limits;
use crate::services::mail::accounts::Accounts;
use crate::services::mail::{LOGIN_TIMEOUT, SESSION_LIMITS};
use crate::services::tls::ServerTls;

pub struct SmtpConfig {
    /// The name in the banner, EHLO reply and `Received:` headers.
    pub hostname: String,
    pub accounts: Arc<Accounts>,
    pub delivery: Arc<Delivery>,
    pub max_message_size: usize,
    pub max_recipients: usize,
    /// Sessions at once, in all and from one client address.
    pub connections: Limits,
    /// How long a client may stay silent before its first AUTH or MAIL
    /// (a real MTA sends EHLO and MAIL at once; only a forgotten or hostile
    /// connection sits before them). Capped by `idle_timeout`.
    pub login_timeout: Duration,
    /// How long a client may stay silent after that (RFC 5321 §4.5.3.2:
    /// 5 minutes).
    pub idle_timeout: Duration,
    /// Port 587 (RFC 6409): MAIL needs AUTH first.
    pub submission: bool,
    /// Signs the mail of logged-in users from the server's domains.
    pub dkim: Option<Arc<Signer>>,
    /// Checks the sender of mail that arrives without login.
    pub sender_checks: Option<Arc<SenderChecks>>,
    /// STARTTLS offered (and maybe required), from the lab file's `tls:`.
    pub tls: Option<ServerTls>,
    /// Port 465 (RFC 8314): TLS from the first byte (needs `tls`).
    pub implicit_tls: bool,
}

impl SmtpConfig {
    /// Defaults for a lab mail server.
    pub fn new(hostname: String, delivery: Arc<Delivery>, submission: bool) -> SmtpConfig {
        SmtpConfig {
            hostname,
            accounts: delivery.accounts.clone(),
            delivery,
            max_message_size: 10 * 1024 * 1024,
            max_recipients: 100,
            connections: SESSION_LIMITS,
            login_timeout: LOGIN_TIMEOUT,
            idle_timeout: Duration::from_secs(300),
            submission,
            dkim: None,
            sender_checks: None,
            tls: None,
            implicit_tls: false,
        }
    }
}
