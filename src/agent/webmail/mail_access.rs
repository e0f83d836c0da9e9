//! What webmail does at the mail server for a logged-in user, each over a
//! fresh connection as real webmail does per page: the server's name
//! looked up through the node's own resolver, then IMAP (LOGIN, LIST,
//! EXAMINE, FETCH, CREATE, UID MOVE) with the project's one IMAP client
//! and SMTP submission on 587, logging in, with its one SMTP client; both
//! say STARTTLS first when the server offers it and the lab has a CA. Each
//! connection is noted in the node's log, so the log (and a capture) shows
//! the HTTP → IMAP/SMTP chain.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::SystemTime;

use super::session::{Login, random_token};
use crate::agent::mail::imap::{Imap, size_of};
use crate::agent::mail::mailbox::{CONNECT_TIMEOUT, FetchError};
use crate::agent::mail::mime::{self, Draft};
use crate::agent::mail::security::{Security, Trust};
use crate::agent::mail::smtp::{self, Accepted};
use crate::agent::resolver;
use crate::agent::tcp::connect;
use crate::services::node_log::{NOTE, NodeLog};
use tokio_rustls::TlsConnector;

pub const SUBMISSION_PORT: u16 = 587;
pub use crate::agent::mail::mailbox::IMAP_PORT;
/// How many of a folder's newest messages a page lists.
pub const LISTED: u32 = 200;

/// The mail server webmail works through.
pub struct MailServer {
    /// Its name (or address) as the lab file gives it.
    pub name: String,
    /// The node's namespace, whose resolv.conf names its DNS servers.
    pub namespace: String,
    /// The name webmail says EHLO with.
    pub helo: String,
    /// IMAP's port (143) and submission's (587); others only in tests.
    pub imap_port: u16,
    pub submission_port: u16,
    /// Trusts the lab's CA; None: plain text always.
    pub tls: Option<TlsConnector>,
    pub log: NodeLog,
}

/// A folder as listed: the user's folders, its newest messages, how many it has.
pub struct Listing {
    pub folders: Vec<String>,
    pub rows: Vec<super::pages::Row>,
    pub total: u32,
}

/// What went wrong, in words for the page.
pub type Failure = String;

impl MailServer {
    /// The server's address, found as a mail client finds it: through
    /// the node's resolv.conf, read again at each use (DHCP may change it).
    async fn address(&self) -> Result<Ipv4Addr, Failure> {
        if let Ok(ip) = self.name.parse::<Ipv4Addr>() {
            return Ok(ip);
        }
        let servers = resolver::name_servers(&self.namespace);
        let found = resolver::addresses(&servers, &self.name)
            .await
            .map_err(|e| format!("the webmail cannot look up {}: {e}", self.name))?;
        found
            .first()
            .copied()
            .ok_or_else(|| format!("{} has no address in DNS", self.name))
    }

    /// STARTTLS whenever the server offers it, once the lab has a CA.
    fn security(&self) -> Security {
        match &self.tls {
            Some(connector) => Security::StartTlsIfOffered(Trust {
                connector: connector.clone(),
                name: self.name.clone(),
            }),
            None => Security::Plain,
        }
    }

    fn shown(&self, ip: Ipv4Addr, port: u16) -> String {
        if self.name == ip.to_string() {
            format!("{ip}:{port}")
        } else {
            format!("{} [{ip}]:{port}", self.name)
        }
    }

    /// An IMAP session logged in as `login`.
    async fn imap(&self, tag: &str, login: &Login) -> Result<Imap, Failure> {
        let ip = self.address().await?;
        let port = self.imap_port;
        let to = SocketAddrV4::new(ip, port);
        self.log.line(
            tag,
            NOTE,
            &format!("{}: IMAP to {}", login.user, self.shown(ip, port)),
        );
        let stream = connect(to, CONNECT_TIMEOUT).await.map_err(|e| {
            format!(
                "the webmail cannot reach the mail server {}: {e}",
                self.shown(ip, port)
            )
        })?;
        let mut imap = Imap::open(stream, &self.security())
            .await
            .map_err(|e| imap_failure(&e))?;
        if imap.is_encrypted() {
            self.log
                .line(tag, NOTE, &format!("{}: IMAP over TLS", login.user));
        }
        imap.login(&login.user, &login.password)
            .await
            .map_err(|e| match e.refused {
                true => format!(
                    "The mail server {} refused the login: {}",
                    self.name,
                    server_words(&e.message)
                ),
                false => imap_failure(&e),
            })?;
        Ok(imap)
    }

    /// Whether the mail server accepts this login (the login page's test).
    pub async fn check_login(&self, tag: &str, login: &Login) -> Result<(), Failure> {
        let imap = self.imap(tag, login).await?;
        imap.logout().await;
        Ok(())
    }

    /// The user's folders and the newest messages of `folder`.
    pub async fn listing(
        &self,
        tag: &str,
        login: &Login,
        folder: &str,
    ) -> Result<Listing, Failure> {
        let mut imap = self.imap(tag, login).await?;
        let folders = imap.folders().await.map_err(|e| imap_failure(&e))?;
        let total = imap.examine(folder).await.map_err(|e| imap_failure(&e))?;
        let fetched = imap
            .newest_headers(total, LISTED)
            .await
            .map_err(|e| imap_failure(&e))?;
        imap.logout().await;
        let rows = fetched
            .iter()
            .map(|(uid, f)| {
                let parsed = mime::parse(f.literals.first().map(Vec::as_slice).unwrap_or_default());
                let get = |name: &str| parsed.header(name).unwrap_or_default();
                super::pages::Row {
                    uid: *uid,
                    from: get("from"),
                    subject: get("subject"),
                    date: get("date"),
                    size: size_of(f),
                }
            })
            .collect();
        Ok(Listing {
            folders,
            rows,
            total,
        })
    }

    /// The user's folders and message `uid` of `folder`, whole.
    pub async fn message(
        &self,
        tag: &str,
        login: &Login,
        folder: &str,
        uid: u32,
    ) -> Result<(Vec<String>, Vec<u8>), Failure> {
        let mut imap = self.imap(tag, login).await?;
        let folders = imap.folders().await.map_err(|e| imap_failure(&e))?;
        imap.examine(folder).await.map_err(|e| imap_failure(&e))?;
        let message = imap
            .message_by_uid(uid)
            .await
            .map_err(|e| imap_failure(&e))?;
        imap.logout().await;
        Ok((folders, message))
    }

    /// Moves message `uid` of `folder` to `target`, creating it if new.
    pub async fn move_message(
        &self,
        tag: &str,
        login: &Login,
        folder: &str,
        uid: u32,
        target: &str,
    ) -> Result<(), Failure> {
        let mut imap = self.imap(tag, login).await?;
        imap.create(target).await.map_err(|e| imap_failure(&e))?;
        imap.select(folder).await.map_err(|e| imap_failure(&e))?;
        imap.move_uid(uid, target)
            .await
            .map_err(|e| imap_failure(&e))?;
        imap.logout().await;
        Ok(())
    }

    /// Composes and submits a message on 587, logged in as the user.
    pub async fn send(
        &self,
        tag: &str,
        login: &Login,
        from: &str,
        draft: &super::pages::Draft<'_>,
        attachments: &[(String, Vec<u8>)],
    ) -> Result<Accepted, Failure> {
        let token = format!("webmail.{}", random_token());
        let raw = mime::compose(
            &Draft {
                from_name: None,
                from,
                to: draft.to,
                subject: draft.subject,
                body: draft.body,
                attachments,
                token: &token,
            },
            SystemTime::now(),
        );
        let ip = self.address().await?;
        self.log.line(
            tag,
            NOTE,
            &format!(
                "{}: SMTP submission to {}",
                login.user,
                self.shown(ip, self.submission_port)
            ),
        );
        let stream = connect(SocketAddrV4::new(ip, self.submission_port), CONNECT_TIMEOUT)
            .await
            .map_err(|e| {
                format!(
                    "the webmail cannot reach the mail server {}: {e}",
                    self.shown(ip, self.submission_port)
                )
            })?;
        let smtp_login = smtp::Login {
            user: &login.user,
            password: &login.password,
        };
        let security = self.security();
        let accepted = smtp::submit(
            stream,
            &security,
            &self.helo,
            Some(&smtp_login),
            from,
            draft.to,
            &raw,
        )
        .await
        .map_err(|e| {
            format!(
                "The mail server {} did not take the message: {e}",
                self.name
            )
        })?;
        if accepted.encrypted {
            self.log
                .line(tag, NOTE, &format!("{}: SMTP over TLS", login.user));
        }
        Ok(accepted)
    }
}

fn imap_failure(e: &FetchError) -> Failure {
    format!("The mail server's IMAP {e}")
}

/// `NO [AUTHENTICATIONFAILED] Authentication failed.` → the words after
/// the status and response code, which say why.
pub fn server_words(reply: &str) -> String {
    let rest = reply
        .trim()
        .trim_start_matches("NO")
        .trim_start_matches("BAD")
        .trim_start();
    let rest = match rest.strip_prefix('[').and_then(|r| r.split_once(']')) {
        Some((_, after)) if !after.trim().is_empty() => after.trim(),
        _ => rest,
    };
    rest.to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_servers_reason_in_plain_words() {
        assert_eq!(
            super::server_words("NO [AUTHENTICATIONFAILED] Authentication failed."),
            "Authentication failed."
        );
        assert_eq!(super::server_words("NO bad password"), "bad password");
        assert_eq!(super::server_words("NO [UNAVAILABLE]"), "[UNAVAILABLE]");
    }
}
