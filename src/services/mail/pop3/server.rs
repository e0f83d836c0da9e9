//! The POP3 listener: accepts connections within the limits and runs a
//! session for each.

use std::sync::Arc;

use tokio::io::{BufReader, BufWriter};
use tokio::net::TcpListener;

pub use super::config::Pop3Config;
use super::session::{Locks, Session};
use crate::services::listener::{self, Busy, Gate};
use crate::services::mail::opening;
use crate::services::mail::transcript::Transcript;
use crate::services::shutdown::Shutdown;

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
                locks,
                log,
                BufReader::new(read),
                BufWriter::new(write),
            );
            if let Err(e) = session.run().await {
                tracing::warn!("pop3 {peer}: {e}");
            }
        }
    })
    .await
}
