//! A PC's mailbox as its mail client sees it, over POP3 or IMAP as its
//! settings say: the list of messages (number, size, sender, subject,
//! date), one whole message, the message a check is waiting for, and the
//! removal of exactly the messages that carry a check's token. Reading
//! never changes the mailbox.

use std::net::SocketAddrV4;
use std::time::Duration;

pub use super::fetch_error::FetchError;
use super::imap::{Imap, size_of};
use super::mime;
use super::pop3::Pop3;
pub use super::security::{IMAP_PORT, POP3_PORT, Security};
use crate::agent::tcp::connect;
use crate::lab::model_agents::{MailProtocol, MailSecurity};

/// How long connecting to the mail server may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// The port the mailbox is read on (143 or 993 for IMAP, 110 or 995 for POP3).
pub fn port(protocol: MailProtocol, security: MailSecurity) -> u16 {
    super::security::mailbox_port(protocol, security)
}

pub fn protocol_name(protocol: MailProtocol) -> &'static str {
    match protocol {
        MailProtocol::Pop3 => "POP3",
        MailProtocol::Imap => "IMAP",
    }
}

/// One line of the inbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Position in the mailbox, from 1 (what `labctl mail read` takes).
    pub number: u32,
    pub size: u64,
    pub from: String,
    pub subject: String,
    pub date: String,
}

/// Login details for one mailbox.
#[derive(Clone, Copy)]
pub struct Mailbox<'a> {
    pub protocol: MailProtocol,
    pub server: SocketAddrV4,
    pub user: &'a str,
    pub password: &'a str,
    /// Plain text, STARTTLS/STLS or TLS from the first byte.
    pub security: &'a Security,
}

fn summary(number: u32, size: u64, headers: &[u8]) -> Summary {
    let parsed = mime::parse(headers);
    let get = |name: &str| parsed.header(name).unwrap_or_default();
    Summary {
        number,
        size,
        from: get("from"),
        subject: get("subject"),
        date: get("date"),
    }
}

/// A client logged in to the mailbox's server.
enum Session {
    Pop3(Pop3),
    Imap(Imap),
}

async fn log_in(mailbox: Mailbox<'_>) -> Result<Session, FetchError> {
    let stream = connect(mailbox.server, CONNECT_TIMEOUT)
        .await
        .map_err(|e| FetchError::new("connect", e.to_string()))?;
    Ok(match mailbox.protocol {
        MailProtocol::Pop3 => {
            let mut client = Pop3::open(stream, mailbox.security).await?;
            client.login(mailbox.user, mailbox.password).await?;
            Session::Pop3(client)
        }
        MailProtocol::Imap => {
            let mut client = Imap::open(stream, mailbox.security).await?;
            client.login(mailbox.user, mailbox.password).await?;
            Session::Imap(client)
        }
    })
}

/// Every message's summary.
pub async fn inbox(mailbox: Mailbox<'_>) -> Result<Vec<Summary>, FetchError> {
    match log_in(mailbox).await? {
        Session::Pop3(mut client) => {
            let mut out = Vec::new();
            for (n, size) in client.list().await? {
                let headers = client.headers(n).await?;
                out.push(summary(n, size, &headers));
            }
            client.quit().await;
            Ok(out)
        }
        Session::Imap(mut client) => {
            let count = client.examine_inbox().await?;
            let fetched = if count == 0 {
                Vec::new()
            } else {
                client.all_headers().await?
            };
            client.logout().await;
            Ok(fetched
                .iter()
                .map(|f| {
                    summary(
                        f.sequence,
                        size_of(f),
                        f.literals.first().map(Vec::as_slice).unwrap_or_default(),
                    )
                })
                .collect())
        }
    }
}

/// Message `number` (from 1), whole.
pub async fn read(mailbox: Mailbox<'_>, number: u32) -> Result<Vec<u8>, FetchError> {
    match log_in(mailbox).await? {
        Session::Pop3(mut client) => {
            let message = client.retrieve(number).await?;
            client.quit().await;
            Ok(message)
        }
        Session::Imap(mut client) => {
            client.examine_inbox().await?;
            let message = client.message(number).await?;
            client.logout().await;
            Ok(message)
        }
    }
}

/// The whole first message whose Subject contains `token`, if one has come
/// (one session: list, then read).
pub async fn find(mailbox: Mailbox<'_>, token: &str) -> Result<Option<Vec<u8>>, FetchError> {
    match log_in(mailbox).await? {
        Session::Pop3(mut client) => {
            let mut found = None;
            for (n, _) in client.list().await? {
                if summary(n, 0, &client.headers(n).await?)
                    .subject
                    .contains(token)
                {
                    found = Some(client.retrieve(n).await?);
                    break;
                }
            }
            client.quit().await;
            Ok(found)
        }
        Session::Imap(mut client) => {
            client.examine_inbox().await?;
            let found = match client.search_uids(token, true).await?.first() {
                Some(&uid) => Some(client.message_by_uid(uid).await?),
                None => None,
            };
            client.logout().await;
            Ok(found)
        }
    }
}

/// Where a message must carry the token to be removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Carrying {
    /// In its Subject: the message a check sent.
    Subject,
    /// Anywhere in its text: also a bounce, which quotes the message's
    /// headers. Over POP3 only the newest `NEWEST` messages are read whole.
    Anywhere,
}

/// How many of the newest messages `Carrying::Anywhere` reads over POP3.
pub const NEWEST: usize = 20;

/// Removes every message that carries `token` (and nothing else); returns
/// how many. One session, which ends only once the server has removed them.
pub async fn delete_carrying(
    mailbox: Mailbox<'_>,
    token: &str,
    carrying: Carrying,
) -> Result<usize, FetchError> {
    match log_in(mailbox).await? {
        Session::Pop3(mut client) => {
            let listed = client.list().await?;
            let mut doomed = Vec::new();
            for (i, &(n, _)) in listed.iter().enumerate() {
                let carries = match carrying {
                    Carrying::Subject => summary(n, 0, &client.headers(n).await?)
                        .subject
                        .contains(token),
                    Carrying::Anywhere if i + NEWEST >= listed.len() => {
                        let whole = client.retrieve(n).await?;
                        whole.windows(token.len()).any(|w| w == token.as_bytes())
                    }
                    Carrying::Anywhere => false,
                };
                if carries {
                    client.delete(n).await?;
                    doomed.push(n);
                }
            }
            client.update().await?;
            Ok(doomed.len())
        }
        Session::Imap(mut client) => {
            client.select_inbox().await?;
            let uids = client
                .search_uids(token, carrying == Carrying::Subject)
                .await?;
            client.delete_uids(&uids).await?;
            client.logout().await;
            Ok(uids.len())
        }
    }
}
