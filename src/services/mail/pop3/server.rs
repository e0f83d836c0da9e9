//! The POP3 listener and the settings its sessions share.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{BufReader, BufWriter};
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::session::{Locks, Session};
use crate::services::mail::accounts::Accounts;
use crate::services::mail::listener;
use crate::services::mail::store::Store;
use crate::services::mail::transcript::Transcript;

pub struct Pop3Config {
    pub hostname: String,
    pub accounts: Arc<Accounts>,
    pub store: Store,
    pub max_sessions: usize,
    /// RFC 1939 §3: at least 10 minutes.
    pub idle_timeout: Duration,
}

impl Pop3Config {
    pub fn new(hostname: String, accounts: Arc<Accounts>, store: Store) -> Pop3Config {
        Pop3Config {
            hostname,
            accounts,
            store,
            max_sessions: 200,
            idle_timeout: Duration::from_secs(600),
        }
    }
}

/// Accepts connections until `stop`.
pub async fn serve(
    listener: TcpListener,
    config: Arc<Pop3Config>,
    transcript: Transcript,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let locks = Locks::default();
    let busy = "-ERR [SYS/TEMP] too many connections; try again later";
    listener::serve(listener, config.max_sessions, busy, stop, |stream, peer| {
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
