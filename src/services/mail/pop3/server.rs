//! The POP3 listener and the settings its sessions share.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{BufReader, BufWriter};
use tokio::net::TcpListener;

use super::session::{Locks, Session};
use crate::services::listener::{self, Busy, Gate, Limits};
use crate::services::mail::accounts::Accounts;
use crate::services::mail::store::Store;
use crate::services::mail::transcript::Transcript;
use crate::services::mail::{LOGIN_TIMEOUT, SESSION_LIMITS};
use crate::services::shutdown::Shutdown;

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
        }
    }
}

/// Accepts connections until `stop`.
pub async fn serve(
    listener: TcpListener,
    config: Arc<Pop3Config>,
    transcript: Transcript,
    stop: Shutdown,
) -> anyhow::Result<()> {
    let locks = Locks::default();
    let busy = Busy {
        service: "pop3",
        server_full: "-ERR [SYS/TEMP] too many connections; try again later\r\n",
        client_full: "-ERR [SYS/TEMP] too many connections from your address; try again later\r\n",
    };
    let gate = Gate::new(config.connections);
    listener::serve(listener, gate, busy, stop, |stream, peer| {
        let config = config.clone();
        let locks = locks.clone();
        let log = transcript.session("pop3", peer);
        async move {
            let (read, write) = stream.into_split();
            let session = Session::new(
                &config,
                locks,
                log,
                BufReader::new(read),
                BufWriter::new(write),
            );
            if let Err(e) = session.run().await {
                eprintln!("pop3 {peer}: {e}");
            }
        }
    })
    .await
}
