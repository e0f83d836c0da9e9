//! The SMTP listener and the settings its sessions share.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{BufReader, BufWriter};
use tokio::net::TcpListener;

use super::delivery::Delivery;
use super::session::Session;
use crate::services::listener::{self, Busy, Gate, Limits};
use crate::services::mail::accounts::Accounts;
use crate::services::mail::transcript::Transcript;
use crate::services::mail::{LOGIN_TIMEOUT, SESSION_LIMITS};
use crate::services::shutdown::Shutdown;

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
        }
    }
}

/// Accepts connections until `stop`.
pub async fn serve(
    listener: TcpListener,
    config: Arc<SmtpConfig>,
    transcript: Transcript,
    stop: Shutdown,
) -> anyhow::Result<()> {
    let busy = Busy {
        service: "smtp",
        server_full: "421 4.3.2 Too many connections; try again later\r\n",
        client_full: "421 4.7.0 Too many connections from your address; try again later\r\n",
    };
    let gate = Gate::new(config.connections);
    listener::serve(listener, gate, busy, stop, |stream, peer| {
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
