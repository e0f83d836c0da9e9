//! The SMTP listener and the settings its sessions share.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{BufReader, BufWriter};
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::delivery::Delivery;
use super::session::Session;
use crate::services::mail::accounts::Accounts;
use crate::services::mail::listener;
use crate::services::mail::transcript::Transcript;

pub struct SmtpConfig {
    /// The name in the banner, EHLO reply and `Received:` headers.
    pub hostname: String,
    pub accounts: Arc<Accounts>,
    pub delivery: Arc<Delivery>,
    pub max_message_size: usize,
    pub max_recipients: usize,
    pub max_sessions: usize,
    /// How long a client may stay silent (RFC 5321 §4.5.3.2: 5 minutes).
    pub idle_timeout: Duration,
    /// Port 587 (RFC 6409): MAIL needs AUTH first.
    pub submission: bool,
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
            max_sessions: 200,
            idle_timeout: Duration::from_secs(300),
            submission,
        }
    }
}

/// Accepts connections until `stop`.
pub async fn serve(
    listener: TcpListener,
    config: Arc<SmtpConfig>,
    transcript: Transcript,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let busy = "421 4.3.2 Too many connections; try again later";
    listener::serve(listener, config.max_sessions, busy, stop, |stream, peer| {
        let config = config.clone();
        let log = transcript.session("smtp", peer);
        async move {
            let (read, write) = stream.into_split();
            let session = Session::new(
                &config,
                log,
                peer,
                BufReader::new(read),
                BufWriter::new(write),
            );
            if let Err(e) = session.run().await {
                eprintln!("smtp {peer}: {e}");
            }
        }
    })
    .await
}
