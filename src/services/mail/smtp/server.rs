//! The SMTP listener: accepts connections within the limits and runs a
//! session for each.

use std::sync::Arc;

use tokio::io::{BufReader, BufWriter};
use tokio::net::TcpListener;

pub use super::config::SmtpConfig;
use super::session::Session;
use crate::services::listener::{self, Busy, Gate};
use crate::services::mail::opening;
use crate::services::mail::transcript::Transcript;
use crate::services::shutdown::Shutdown;

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
            let opened = opening::open(
                stream,
                config.tls.as_ref(),
                config.implicit_tls,
                config.login_timeout,
                &log,
            )
            .await;
            let Some((read, write)) = opened else {
                return;
            };
            let session = Session::new(
                &config,
                log,
                peer,
                BufReader::new(read),
                BufWriter::new(write),
            );
            if let Err(e) = session.run().await {
                tracing::warn!("smtp {peer}: {e}");
            }
        }
    })
    .await
}
