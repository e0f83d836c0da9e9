//! The SMTP client that hands queued mail to the next server: EHLO (HELO if
//! refused), MAIL, one RCPT per recipient, DATA with dot-stuffing, QUIT,
//! with a timeout on every reply. It tells which recipients were accepted,
//! refused for now (4xx) or for good (5xx); the dialogue goes to the node's
//! transcript like the server's.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::time::timeout;

use super::command::Mailbox;
use super::data::dot_stuffed;
use crate::services::mail::lines::{Line, read_line};
use crate::services::mail::transcript::SessionLog;

/// The longest reply line read, and the most lines in one reply.
const MAX_REPLY_LINE: usize = 2000;
const MAX_REPLY_LINES: usize = 100;

/// What became of one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    /// A 4xx reply or a broken connection: try again later.
    Later(String),
    /// A 5xx reply: bounce.
    Refused(String),
}

/// A whole reply: code and its lines' text joined.
struct Reply {
    code: u16,
    text: String,
}

impl Reply {
    fn outcome(&self) -> Outcome {
        let text = format!("{} {}", self.code, self.text);
        match self.code {
            200..=399 => Outcome::Delivered,
            500..=599 => Outcome::Refused(text),
            _ => Outcome::Later(text),
        }
    }
}

/// A connection that failed before any recipient could be judged.
#[derive(Debug)]
pub struct Unreachable(pub String);

/// Sends one message to `server` for `recipients`.
pub async fn send(
    server: SocketAddr,
    hostname: &str,
    sender: Option<&str>,
    recipients: &[Mailbox],
    message: &[u8],
    reply_timeout: Duration,
    log: SessionLog,
) -> Result<Vec<Outcome>, Unreachable> {
    let stream = timeout(reply_timeout, TcpStream::connect(server))
        .await
        .map_err(|_| Unreachable(format!("connecting to {server} timed out")))?
        .map_err(|e| Unreachable(format!("cannot connect to {server}: {e}")))?;
    let (read, write) = stream.into_split();
    let mut conversation = Conversation {
        reader: BufReader::new(read),
        writer: write,
        reply_timeout,
        log,
    };
    let result = conversation
        .transaction(hostname, sender, recipients, message)
        .await;
    let _ = conversation.command("QUIT").await;
    conversation.log.note("connection closed");
    result.map_err(|e| Unreachable(format!("{server}: {e}")))
}

struct Conversation {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    reply_timeout: Duration,
    log: SessionLog,
}

impl Conversation {
    async fn transaction(
        &mut self,
        hostname: &str,
        sender: Option<&str>,
        recipients: &[Mailbox],
        message: &[u8],
    ) -> Result<Vec<Outcome>, String> {
        let greeting = self.reply().await?;
        if greeting.code != 220 {
            return Ok(vec![greeting.outcome(); recipients.len()]);
        }
        let hello = self.command(&format!("EHLO {hostname}")).await?;
        if hello.code != 250 {
            let helo = self.command(&format!("HELO {hostname}")).await?;
            if helo.code != 250 {
                return Ok(vec![helo.outcome(); recipients.len()]);
            }
        }
        let mail = self
            .command(&format!("MAIL FROM:<{}>", sender.unwrap_or("")))
            .await?;
        if mail.code != 250 {
            return Ok(vec![mail.outcome(); recipients.len()]);
        }
        let mut outcomes = Vec::new();
        for recipient in recipients {
            let reply = self.command(&format!("RCPT TO:<{recipient}>")).await?;
            outcomes.push(reply.outcome());
        }
        if !outcomes.contains(&Outcome::Delivered) {
            return Ok(outcomes);
        }
        let data = self.command("DATA").await?;
        if data.code != 354 {
            return Ok(undelivered(outcomes, data.outcome()));
        }
        self.log.message(message);
        self.send_raw(&dot_stuffed(message)).await?;
        let accepted = self.reply().await?;
        if accepted.code / 100 != 2 {
            return Ok(undelivered(outcomes, accepted.outcome()));
        }
        Ok(outcomes)
    }

    async fn command(&mut self, line: &str) -> Result<Reply, String> {
        self.log.client(line.as_bytes());
        self.send_raw(format!("{line}\r\n").as_bytes()).await?;
        self.reply().await
    }

    async fn send_raw(&mut self, bytes: &[u8]) -> Result<(), String> {
        timeout(self.reply_timeout, self.writer.write_all(bytes))
            .await
            .map_err(|_| "sending timed out".to_string())?
            .map_err(|e| format!("sending failed: {e}"))
    }

    /// Reads a (multi-line) reply.
    async fn reply(&mut self) -> Result<Reply, String> {
        let mut text = Vec::new();
        for _ in 0..MAX_REPLY_LINES {
            let line = timeout(
                self.reply_timeout,
                read_line(&mut self.reader, MAX_REPLY_LINE),
            )
            .await
            .map_err(|_| "no reply in time".to_string())?
            .map_err(|e| format!("reading failed: {e}"))?;
            let line = match line {
                Line::Complete(line) => line,
                Line::TooLong => return Err("reply line too long".into()),
                Line::Closed => return Err("connection closed by the server".into()),
            };
            self.log.server(&String::from_utf8_lossy(&line));
            let code = line
                .get(..3)
                .and_then(|c| std::str::from_utf8(c).ok())
                .and_then(|c| c.parse::<u16>().ok())
                .filter(|c| (200..600).contains(c))
                .ok_or("not an SMTP reply")?;
            text.push(String::from_utf8_lossy(line.get(4..).unwrap_or_default()).into_owned());
            if line.get(3) != Some(&b'-') {
                return Ok(Reply {
                    code,
                    text: text.join(" "),
                });
            }
        }
        Err("reply too long".into())
    }
}

/// After a refused DATA, the accepted recipients share its outcome.
fn undelivered(outcomes: Vec<Outcome>, outcome: Outcome) -> Vec<Outcome> {
    outcomes
        .into_iter()
        .map(|o| match o {
            Outcome::Delivered => outcome.clone(),
            other => other,
        })
        .collect()
}
