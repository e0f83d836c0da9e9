//! Sending as a PC's mail program does, over the one SMTP client
//! (`services::mail::smtp::client`): EHLO, STARTTLS or TLS from the first
//! byte as the settings say (`security`), logging in when the server
//! offers AUTH and the PC has a login, one message for one recipient. Every
//! refusal comes back with the stage it happened at and the server's reply
//! quoted, so a check can say exactly what the server said.

use std::time::Duration;

use tokio::net::TcpStream;

use super::security::{self, Security};
pub use crate::services::mail::smtp::client::{Broken, Client, Reply, SmtpError};

/// How long each reply may take.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// The login to use when the server offers AUTH.
pub struct Login<'a> {
    pub user: &'a str,
    pub password: &'a str,
}

/// What the server said at the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// The reply to the end of DATA, e.g. `250 2.0.0 Ok: queued as …`.
    pub reply: String,
    /// Whether the client logged in.
    pub authenticated: bool,
    /// Whether the message went over TLS.
    pub encrypted: bool,
}

/// Reads the greeting and says EHLO as `helo_name`, switching to TLS as
/// `security` says; returns the session and the EHLO reply (the one after
/// STARTTLS, which lists what the server offers over TLS).
pub async fn open(
    stream: TcpStream,
    helo_name: &str,
    security: &Security,
) -> Result<(Client, Reply), SmtpError> {
    let (read, write) = security::open(stream, security, REPLY_TIMEOUT)
        .await
        .map_err(|failure| SmtpError::Broken {
            stage: "TLS",
            why: Broken::Tls(failure),
        })?;
    let mut client = Client::from_halves(read, write, REPLY_TIMEOUT, None);
    let ehlo = client.greet(helo_name).await?;
    match security.starttls() {
        Some((trust, must)) if must || ehlo.offers("STARTTLS") => {
            let ehlo = client
                .start_tls(&trust.connector, &trust.name, helo_name)
                .await?;
            Ok((client, ehlo))
        }
        _ => Ok((client, ehlo)),
    }
}

/// Sends one message the way a PC's mail client does: logs in when the
/// server offers AUTH, then MAIL, RCPT, DATA.
pub async fn submit(
    stream: TcpStream,
    security: &Security,
    helo_name: &str,
    login: Option<&Login<'_>>,
    sender: &str,
    recipient: &str,
    message: &[u8],
) -> Result<Accepted, SmtpError> {
    let (mut client, ehlo) = open(stream, helo_name, security).await?;
    let authenticated = match login {
        Some(login) => client.log_in(&ehlo, login.user, login.password).await?,
        None => false,
    };
    let sent = client.send(sender, &[recipient], message).await?;
    // One recipient, one outcome: its refusal is the message's.
    if let Some(Err(refused)) = sent.outcomes.into_iter().next() {
        return Err(refused);
    }
    let reply = sent
        .accepted
        .as_ref()
        .map(Reply::quoted)
        .unwrap_or_default();
    let encrypted = client.is_encrypted();
    client.quit().await;
    Ok(Accepted {
        reply,
        authenticated,
        encrypted,
    })
}
