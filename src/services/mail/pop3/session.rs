//! One POP3 session (RFC 1939, CAPA from RFC 2449): USER/PASS, then STAT,
//! LIST, RETR, DELE, RSET, NOOP, UIDL, TOP, and QUIT, which alone removes
//! the messages marked deleted (the UPDATE state). Anything out of place
//! gets `-ERR` and the session goes on. Output is dot-stuffed with CRLF
//! line ends. One session per maildrop at a time (the RFC's lock). STLS
//! (RFC 2595) when the lab offers TLS, before login: commands pipelined
//! after it are dropped before the handshake; with `tls: required` no
//! USER or PASS is taken before it.

use std::collections::HashSet;
use std::io;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncWriteExt, BufWriter};
use tokio::time::timeout;

use super::command::{self, Command, Number};
use super::config::Pop3Config;
use crate::plural;
use crate::services::mail::dot_stuffing::{dot_stuffed, with_crlf_line_ends};
use crate::services::mail::lines::{Line, read_line};
use crate::services::mail::transcript::SessionLog;
use crate::services::tls::transport::{self, Reader, WriteHalf};

/// Commands are at most 255 octets with CRLF (RFC 2449 §4).
const MAX_LINE: usize = 253;
/// Messages up to this size are read on the session's own thread.
const READ_INLINE: u64 = 64 * 1024;
const MAX_AUTH_FAILURES: u32 = 3;
const MAX_ERRORS: u32 = 50;

/// The maildrops in use, shared by the server's sessions.
pub type Locks = Arc<Mutex<HashSet<String>>>;

/// A message of the maildrop as the session sees it.
struct Message {
    uid: u32,
    size: u64,
    deleted: bool,
}

/// The maildrop of a logged-in session.
struct Maildrop {
    user: String,
    uid_validity: u32,
    messages: Vec<Message>,
}

pub struct Session<'a> {
    config: &'a Pop3Config,
    locks: Locks,
    log: SessionLog,
    reader: Reader,
    writer: BufWriter<WriteHalf>,
    /// Whether the connection is encrypted (after STLS, or on 995).
    encrypted: bool,
    given_user: Option<String>,
    maildrop: Option<Maildrop>,
    auth_failures: u32,
    errors: u32,
}

impl<'a> Session<'a> {
    pub fn new(
        config: &'a Pop3Config,
        locks: Locks,
        log: SessionLog,
        reader: Reader,
        writer: BufWriter<WriteHalf>,
    ) -> Self {
        let encrypted = transport::is_encrypted(reader.get_ref());
        Session {
            config,
            locks,
            log,
            reader,
            writer,
            encrypted,
            given_user: None,
            maildrop: None,
            auth_failures: 0,
            errors: 0,
        }
    }

    pub async fn run(mut self) -> io::Result<()> {
        let result = self.dialogue().await;
        if let Some(maildrop) = self.maildrop.take() {
            self.locks.lock().expect("locks").remove(&maildrop.user);
        }
        self.log.note(if self.encrypted {
            "connection closed (encrypted)"
        } else {
            "connection closed (not encrypted)"
        });
        result
    }

    /// `tls: required` and still in plain text: no login yet.
    fn tls_missing(&self) -> bool {
        !self.encrypted && self.config.tls.as_ref().is_some_and(|tls| tls.required)
    }

    async fn start_tls(&mut self) -> io::Result<bool> {
        let Some(tls) = self.config.tls.clone() else {
            return self.error("-ERR STLS not offered").await;
        };
        if self.encrypted {
            return self.error("-ERR already using TLS").await;
        }
        self.reply("+OK begin TLS negotiation").await?;
        let allowed = self.config.login_timeout.min(self.config.idle_timeout);
        let switch = transport::start_server_tls(&mut self.reader, &mut self.writer, &tls.acceptor);
        let discarded = match timeout(allowed, switch).await {
            Ok(Ok(discarded)) => discarded,
            Ok(Err(e)) => {
                self.log.note(&format!("TLS handshake failed: {e}"));
                return Ok(false);
            }
            Err(_) => {
                self.log.note("TLS handshake failed: no handshake in time");
                return Ok(false);
            }
        };
        if discarded > 0 {
            self.log.note(&format!(
                "discarded {} sent after STLS in plain text (command injection)",
                plural::count(discarded, "byte")
            ));
        }
        self.encrypted = true;
        let tls = transport::describe(self.reader.get_ref()).unwrap_or_default();
        self.log.note(&format!("encrypted ({tls})"));
        self.given_user = None;
        Ok(true)
    }

    async fn dialogue(&mut self) -> io::Result<()> {
        if let Some(tls) = transport::describe(self.reader.get_ref()) {
            self.log.note(&format!("encrypted from the start ({tls})"));
        }
        let banner = format!("+OK {} POP3 server ready", self.config.hostname);
        self.reply(&banner).await?;
        loop {
            if self.reader.buffer().is_empty() {
                self.writer.flush().await?;
            }
            // Short until login (the AUTHORIZATION state), RFC 1939's after.
            let silence_allowed = match self.maildrop {
                Some(_) => self.config.idle_timeout,
                None => self.config.login_timeout.min(self.config.idle_timeout),
            };
            let line = match timeout(silence_allowed, read_line(&mut self.reader, MAX_LINE)).await {
                Ok(line) => line?,
                Err(_) => {
                    // No UPDATE state: deletions are not applied (RFC 1939 §3).
                    self.reply("-ERR timeout: closing the connection").await?;
                    break;
                }
            };
            let keep_going = match line {
                Line::Closed => break,
                Line::TooLong => {
                    self.log.client(b"<line too long>");
                    self.error("-ERR line too long").await?
                }
                Line::Complete(line) => {
                    self.log.client(&line);
                    self.command(&line).await?
                }
            };
            if !keep_going {
                break;
            }
        }
        self.writer.flush().await
    }

    async fn command(&mut self, line: &[u8]) -> io::Result<bool> {
        let command = command::parse(line);
        if self.maildrop.is_none() {
            return self.authorization(command).await;
        }
        match command {
            Command::Stat => {
                let (count, octets) = self.totals();
                self.ok(&format!("+OK {count} {octets}")).await
            }
            Command::List(None) => {
                let (count, octets) = self.totals();
                let mut reply = format!(
                    "+OK {} ({octets} octets)\r\n",
                    plural::count(count, "message")
                );
                for (n, m) in self.live() {
                    reply.push_str(&format!("{n} {}\r\n", m.size));
                }
                reply.push('.');
                self.ok(&reply).await
            }
            Command::Uidl(None) => {
                let validity = self.maildrop.as_ref().expect("logged in").uid_validity;
                let mut reply = "+OK unique-id listing follows\r\n".to_string();
                for (n, m) in self.live() {
                    reply.push_str(&format!("{n} {validity}.{}\r\n", m.uid));
                }
                reply.push('.');
                self.ok(&reply).await
            }
            Command::List(Some(number))
            | Command::Uidl(Some(number))
            | Command::Retr(number)
            | Command::Dele(number) => {
                let Some(index) = self.message_index(number) else {
                    return self.error("-ERR no such message").await;
                };
                self.on_message(&command, index).await
            }
            Command::Top(number, lines) => {
                let (Some(index), Some(lines)) = (self.message_index(number), lines) else {
                    return self
                        .error("-ERR no such message, or a bad line count")
                        .await;
                };
                self.top(index, Some(lines)).await
            }
            Command::Noop => self.ok("+OK").await,
            Command::Rset => {
                let maildrop = self.maildrop.as_mut().expect("logged in");
                maildrop.messages.iter_mut().for_each(|m| m.deleted = false);
                let (count, octets) = self.totals();
                self.ok(&format!(
                    "+OK maildrop has {} ({octets} octets)",
                    plural::count(count, "message")
                ))
                .await
            }
            Command::Quit => {
                self.update().await?;
                Ok(false)
            }
            Command::Capa => self.capabilities().await,
            Command::User(_) | Command::Pass(_) => self.error("-ERR already logged in").await,
            Command::Stls => self.error("-ERR STLS is only allowed before login").await,
            Command::Unknown => self.error("-ERR unknown command or wrong arguments").await,
        }
    }

    async fn authorization(&mut self, command: Command) -> io::Result<bool> {
        if matches!(command, Command::User(_) | Command::Pass(_)) && self.tls_missing() {
            return self
                .error("-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections: send STLS first")
                .await;
        }
        match command {
            Command::User(name) => {
                self.given_user = Some(name);
                self.ok("+OK send PASS").await
            }
            Command::Pass(password) => {
                let Some(given) = self.given_user.take() else {
                    return self.error("-ERR send USER first").await;
                };
                self.login(&given, &password).await
            }
            Command::Capa => self.capabilities().await,
            Command::Quit => {
                self.reply("+OK bye").await?;
                Ok(false)
            }
            Command::Stls => self.start_tls().await,
            _ => {
                self.error("-ERR log in first: USER name, then PASS password")
                    .await
            }
        }
    }

    async fn login(&mut self, given: &str, password: &str) -> io::Result<bool> {
        let accounts = &self.config.accounts;
        let user = match accounts.user(given) {
            Some(user) if accounts.check(given, password) => user.to_string(),
            _ => {
                self.auth_failures += 1;
                if self.auth_failures >= MAX_AUTH_FAILURES {
                    self.reply("-ERR [AUTH] too many failed logins; closing")
                        .await?;
                    return Ok(false);
                }
                return self.ok("-ERR [AUTH] invalid user name or password").await;
            }
        };
        if !self.locks.lock().expect("locks").insert(user.clone()) {
            return self
                .ok("-ERR [IN-USE] the maildrop is already in use")
                .await;
        }
        let store = self.config.store.clone();
        let name = user.clone();
        let snapshot = tokio::task::spawn_blocking(move || store.snapshot(&name, "INBOX"))
            .await
            .map_err(io::Error::other)?;
        let snapshot = match snapshot {
            Ok(snapshot) => snapshot,
            Err(e) => {
                self.locks.lock().expect("locks").remove(&user);
                self.log.note(&format!("cannot open the maildrop: {e}"));
                return self.ok("-ERR [SYS/TEMP] cannot open the maildrop").await;
            }
        };
        self.log.note(&format!("logged in as {user}"));
        self.maildrop = Some(Maildrop {
            user,
            uid_validity: snapshot.uid_validity,
            messages: snapshot
                .messages
                .iter()
                .map(|m| Message {
                    uid: m.uid,
                    size: m.size,
                    deleted: false,
                })
                .collect(),
        });
        let (count, octets) = self.totals();
        self.ok(&format!(
            "+OK maildrop has {} ({octets} octets)",
            plural::count(count, "message")
        ))
        .await
    }

    async fn on_message(&mut self, command: &Command, index: usize) -> io::Result<bool> {
        let maildrop = self.maildrop.as_mut().expect("logged in");
        let n = index + 1;
        let message = &mut maildrop.messages[index];
        match command {
            Command::List(_) => {
                let reply = format!("+OK {n} {}", message.size);
                self.ok(&reply).await
            }
            Command::Uidl(_) => {
                let reply = format!("+OK {n} {}.{}", maildrop.uid_validity, message.uid);
                self.ok(&reply).await
            }
            Command::Dele(_) => {
                message.deleted = true;
                self.ok(&format!("+OK message {n} deleted")).await
            }
            _ => self.top(index, None).await,
        }
    }

    /// RETR (all lines) or TOP (headers and `lines` lines of the body).
    async fn top(&mut self, index: usize, lines: Option<usize>) -> io::Result<bool> {
        let maildrop = self.maildrop.as_ref().expect("logged in");
        let (user, uid) = (maildrop.user.clone(), maildrop.messages[index].uid);
        let store = self.config.store.clone();
        // A small message is read here (a few microseconds from the page
        // cache, less than handing it to another thread and back, which
        // was most of a RETR's time); a big one on the blocking pool, so
        // one session cannot hold the node's other sessions up.
        let read = if maildrop.messages[index].size <= READ_INLINE {
            store.read(&user, "INBOX", uid)
        } else {
            tokio::task::spawn_blocking(move || store.read(&user, "INBOX", uid))
                .await
                .map_err(io::Error::other)?
        };
        let message = match read {
            Ok(message) => with_crlf_line_ends(message),
            Err(e) => {
                self.log
                    .note(&format!("cannot read message UID {uid}: {e}"));
                return self.ok("-ERR [SYS/TEMP] cannot read that message").await;
            }
        };
        let shown = match lines {
            None => message.as_slice(),
            Some(lines) => head_and_lines(&message, lines),
        };
        let status = format!("+OK {} octets", message.len());
        self.reply(&status).await?;
        self.log.note(&format!(
            "<{} of message data>",
            plural::count(shown.len(), "byte")
        ));
        self.writer.write_all(&dot_stuffed(shown)).await?;
        Ok(true)
    }

    /// QUIT in the TRANSACTION state: remove what was deleted. Every
    /// removal is tried, even after one fails; a message already gone
    /// (expunged over IMAP meanwhile) counts as removed.
    async fn update(&mut self) -> io::Result<()> {
        let maildrop = self.maildrop.as_ref().expect("logged in");
        let user = maildrop.user.clone();
        let doomed: Vec<u32> = maildrop
            .messages
            .iter()
            .filter(|m| m.deleted)
            .map(|m| m.uid)
            .collect();
        let left = maildrop.messages.len() - doomed.len();
        let store = self.config.store.clone();
        let failures = tokio::task::spawn_blocking(move || {
            doomed
                .into_iter()
                .filter_map(|uid| {
                    let removed = store.remove(&user, "INBOX", uid);
                    removed.err().map(|e| format!("UID {uid}: {e}"))
                })
                .collect::<Vec<String>>()
        })
        .await
        .map_err(io::Error::other)?;
        if failures.is_empty() {
            let reply = format!(
                "+OK {} POP3 server signing off ({} left)",
                self.config.hostname,
                plural::count(left, "message")
            );
            return self.reply(&reply).await;
        }
        self.log
            .note(&format!("removing failed: {}", failures.join("; ")));
        self.reply("-ERR [SYS/TEMP] some deleted messages were not removed")
            .await
    }

    async fn capabilities(&mut self) -> io::Result<bool> {
        let offer_stls = self.config.tls.is_some() && !self.encrypted && self.maildrop.is_none();
        let stls = if offer_stls { "STLS\r\n" } else { "" };
        let user = if self.tls_missing() { "" } else { "USER\r\n" };
        self.ok(&format!(
            "+OK capability list follows\r\n{user}TOP\r\nUIDL\r\nRESP-CODES\r\n\
             AUTH-RESP-CODE\r\nPIPELINING\r\n{stls}IMPLEMENTATION labctl\r\n."
        ))
        .await
    }

    /// Messages not marked deleted, with their numbers.
    fn live(&self) -> impl Iterator<Item = (usize, &Message)> {
        let maildrop = self.maildrop.as_ref().expect("logged in");
        maildrop
            .messages
            .iter()
            .enumerate()
            .filter(|(_, m)| !m.deleted)
            .map(|(i, m)| (i + 1, m))
    }

    fn totals(&self) -> (usize, u64) {
        self.live().fold((0, 0), |(count, octets), (_, m)| {
            (count + 1, octets + m.size)
        })
    }

    /// The index of message `number`, if it exists and is not deleted.
    fn message_index(&self, number: Number) -> Option<usize> {
        let maildrop = self.maildrop.as_ref()?;
        let n = number?;
        let message = maildrop.messages.get(n.checked_sub(1)?)?;
        (!message.deleted).then_some(n - 1)
    }

    async fn error(&mut self, reply: &str) -> io::Result<bool> {
        self.errors += 1;
        if self.errors > MAX_ERRORS {
            self.reply("-ERR too many errors; closing").await?;
            return Ok(false);
        }
        self.ok(reply).await
    }

    async fn ok(&mut self, reply: &str) -> io::Result<bool> {
        self.reply(reply).await?;
        Ok(true)
    }

    async fn reply(&mut self, reply: &str) -> io::Result<()> {
        self.log.server(reply);
        self.writer.write_all(reply.as_bytes()).await?;
        self.writer.write_all(b"\r\n").await
    }
}

/// The header, the blank line and the first `lines` lines of the body.
fn head_and_lines(message: &[u8], lines: usize) -> &[u8] {
    let body_start = message
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(message.len(), |at| at + 4);
    let mut end = body_start;
    for _ in 0..lines {
        match message[end..].windows(2).position(|w| w == b"\r\n") {
            Some(at) => end += at + 2,
            None => return message,
        }
    }
    &message[..end]
}

#[cfg(test)]
mod tests {
    use super::head_and_lines;

    #[test]
    fn top_takes_the_header_and_some_lines() {
        let message = b"A: 1\r\nB: 2\r\n\r\none\r\ntwo\r\nthree";
        assert_eq!(head_and_lines(message, 0), b"A: 1\r\nB: 2\r\n\r\n");
        assert_eq!(
            head_and_lines(message, 2),
            b"A: 1\r\nB: 2\r\n\r\none\r\ntwo\r\n"
        );
        assert_eq!(head_and_lines(message, 9), message);
    }
}
