//! A mail connection as each mail server (SMTP, POP3, IMAP) opens it: on
//! the implicit-TLS ports (465, 995, 993) the TLS handshake comes first,
//! within the login timeout; a failed handshake is noted in the dialogue
//! log and ends the connection.

use std::time::Duration;

use tokio::net::TcpStream;

use super::transcript::SessionLog;
use crate::services::tls::ServerTls;
use crate::services::tls::transport::{self, ReadHalf, WriteHalf};

/// The connection's two halves, in TLS when `implicit` (and the server has
/// TLS), or None when the handshake failed (already logged).
pub async fn open(
    stream: TcpStream,
    tls: Option<&ServerTls>,
    implicit: bool,
    handshake_time: Duration,
    log: &SessionLog,
) -> Option<(ReadHalf, WriteHalf)> {
    let acceptor = tls.filter(|_| implicit).map(|tls| &tls.acceptor);
    match transport::open_server(stream, acceptor, handshake_time).await {
        Ok(halves) => Some(halves),
        Err(e) => {
            log.note(&format!("TLS handshake failed: {e}"));
            None
        }
    }
}
