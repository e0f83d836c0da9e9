//! One attempt of the relay to hand a message to one server of the
//! recipients' domain: connect, the SMTP client's transaction logged as an
//! `smtp-out` session, QUIT; and what became of each recipient: delivered,
//! to be tried again (4xx), or bounced (5xx). With the lab's CA at hand,
//! STARTTLS whenever the server offers it, its certificate checked for the
//! name the server was found by; the log says whether the session was
//! encrypted.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_rustls::TlsConnector;

use super::client::{Client, SmtpError};
use super::command::Mailbox;
use crate::services::mail::transcript::SessionLog;

/// What became of one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Taken; the server's reply to the message (`250 … queued as ID`).
    Delivered(String),
    /// A 4xx reply or a broken connection: try again later.
    Later(String),
    /// A 5xx reply: bounce.
    Refused(String),
}

/// A server that could not be reached, or that broke off before any
/// recipient could be judged: the next server is tried.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Unreachable(pub String);

/// The server an attempt goes to.
pub struct Hop<'a> {
    pub address: SocketAddr,
    /// The name it was found by (its certificate must carry it).
    pub name: &'a str,
    /// Trusts the lab's CA; None when the lab has no TLS.
    pub tls: Option<&'a TlsConnector>,
}

/// Sends one message to `hop` for `recipients` (a null `sender` for a
/// bounce).
pub async fn send(
    hop: Hop<'_>,
    hostname: &str,
    sender: Option<&str>,
    recipients: &[Mailbox],
    message: &[u8],
    reply_timeout: Duration,
    log: SessionLog,
) -> Result<Vec<Outcome>, Unreachable> {
    let Hop {
        address: server,
        name,
        tls,
    } = hop;
    let stream = timeout(reply_timeout, TcpStream::connect(server))
        .await
        .map_err(|_| Unreachable(format!("connecting to {server} timed out")))?
        .map_err(|e| Unreachable(format!("cannot connect to {server}: {e}")))?;
    let mut client = Client::new(stream, reply_timeout, Some(log));
    let greeted = match (client.greet(hostname).await, tls) {
        (Ok(ehlo), Some(connector)) if ehlo.offers("STARTTLS") => client
            .start_tls(connector, name, hostname)
            .await
            .map(|_| ()),
        (greeted, _) => greeted.map(|_| ()),
    };
    let result = match greeted {
        Ok(()) => client
            .send(sender.unwrap_or(""), recipients, message)
            .await
            .map(|sent| {
                let reply = sent.accepted.map(|r| r.summary()).unwrap_or_default();
                sent.outcomes
                    .into_iter()
                    .map(|result| outcome(result, &reply))
                    .collect()
            }),
        Err(e) => Err(e),
    };
    client.quit().await;
    match result {
        Ok(outcomes) => Ok(outcomes),
        // Refused before any recipient (greeting, EHLO and HELO): the
        // server's answer holds for all of them.
        Err(refused @ SmtpError::Refused { .. }) => {
            Ok(vec![outcome(Err(refused), ""); recipients.len()])
        }
        Err(e @ SmtpError::Broken { .. }) => Err(Unreachable(format!("{server}: {e}"))),
    }
}

fn outcome(result: Result<(), SmtpError>, reply: &str) -> Outcome {
    match result {
        Ok(()) => Outcome::Delivered(reply.to_string()),
        Err(SmtpError::Refused { reply, .. }) if reply.code / 100 == 5 => {
            Outcome::Refused(reply.summary())
        }
        Err(SmtpError::Refused { reply, .. }) => Outcome::Later(reply.summary()),
        Err(broken) => Outcome::Later(broken.to_string()),
    }
}
