//! The settings a POP3 listener's sessions share: names, the store, limits
//! and timeouts.

use std::sync::Arc;
use std::time::Duration;

use crate::services::listener::Limits;
use crate::services::mail::accounts::Accounts;
use crate::services::mail::store::Store;
use crate::services::mail::{LOGIN_TIMEOUT, SESSION_LIMITS};
use crate::services::tls::ServerTls;

pub struct Pop3Config {
    pub hostname: String,
    pub accounts: Arc<Accounts>,
    pub store: Store,
    /// Sessions at once, in all and from one client address.
    pub connections: Limits,
    /// How long a client may stay silent before it has logged in (the
    /// AUTHORIZATION state). Capped by `idle_timeout`.
    pub login_timeout: Duration,
    /// After login. RFC 1939 §3: at least 10 minutes.
    pub idle_timeout: Duration,
    /// STLS offered (and maybe required), from the lab file's `tls:`.
    pub tls: Option<ServerTls>,
    /// Port 995 (RFC 8314): TLS from the first byte (needs `tls`).
    pub implicit_tls: bool,
}

impl Pop3Config {
    pub fn new(hostname: String, accounts: Arc<Accounts>, store: Store) -> Pop3Config {
        Pop3Config {
            hostname,
            accounts,
            store,
            connections: SESSION_LIMITS,
            login_timeout: LOGIN_TIMEOUT,
            idle_timeout: Duration::from_secs(600),
            tls: None,
            implicit_tls: false,
        }
    }
}
