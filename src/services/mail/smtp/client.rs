//! The one SMTP client (RFC 5321), for the relay handing queued mail to the
//! next server and for a PC's mail program submitting (RFC 6409): greeting,
//! EHLO (HELO when EHLO is refused), AUTH PLAIN or LOGIN when the caller
//! has a login and the server offers one, MAIL, one RCPT per recipient with
//! each recipient's outcome, DATA dot-stuffed, QUIT; a timeout on every
//! reply and every send. Every refusal names the stage and keeps the
//! server's reply, so the relay can bounce or retry and a check can quote
//! what the server said. With a session log, the dialogue goes to the node
//! log like a server session's.

use std::fmt::Display;
use std::time::Duration;

use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_rustls::TlsConnector;

use crate::services::mail::dot_stuffing::dot_stuffed;
use crate::services::mail::lines::{LineError, read_server_line};
use crate::services::mail::sasl;
use crate::services::mail::transcript::SessionLog;
use crate::services::tls::failure::HandshakeFailure;
use crate::services::tls::transport::{self, ReadHalf, WriteHalf};

/// The longest reply line read (RFC 5321 §4.5.3.1.5 allows 512), and the
/// most lines in one reply.
const MAX_REPLY_LINE: usize = 2000;
const MAX_REPLY_LINES: usize = 100;

/// A whole reply: its code and its lines as the server sent them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub lines: Vec<String>,
}

impl Reply {
    /// 2xx: positive completion.
    pub fn is_positive(&self) -> bool {
        self.code / 100 == 2
    }

    /// The lines as sent, joined: `250-mx / 250 HELP`.
    pub fn quoted(&self) -> String {
        self.lines.join(" / ")
    }

    /// The code and the lines' text, as a bounce or a queue entry says it:
    /// `550 5.1.1 no such user`.
    pub fn summary(&self) -> String {
        let texts: Vec<&str> = self
            .lines
            .iter()
            .map(|line| line.get(4..).unwrap_or_default())
            .collect();
        format!("{} {}", self.code, texts.join(" "))
    }

    /// Whether an EHLO reply offers the extension `keyword` (`STARTTLS`).
    pub fn offers(&self, keyword: &str) -> bool {
        self.lines.iter().skip(1).any(|line| {
            let mut words = line.get(4..).unwrap_or_default().split_whitespace();
            words
                .next()
                .is_some_and(|w| w.eq_ignore_ascii_case(keyword))
        })
    }

    /// Whether an EHLO reply offers the SASL mechanism `name` (`AUTH LOGIN PLAIN`).
    pub fn offers_auth(&self, name: &str) -> bool {
        self.lines.iter().any(|line| {
            let mut words = line.get(4..).unwrap_or_default().split_whitespace();
            words.next().is_some_and(|w| w.eq_ignore_ascii_case("AUTH"))
                && words.any(|w| w.eq_ignore_ascii_case(name))
        })
    }
}

/// What went wrong without a usable reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Broken {
    #[error(transparent)]
    Reading(#[from] LineError),
    #[error("the connection failed: {0}")]
    Sending(String),
    #[error("the server took no data for {:.0} s", .0.as_secs_f64())]
    SendingStalled(Duration),
    #[error("not an SMTP reply: {0:?}")]
    NotAReply(String),
    #[error("the reply has too many lines")]
    TooManyLines,
    #[error("{0}")]
    Tls(HandshakeFailure),
}

/// Where in the dialogue the server said no, or stopped answering. The
/// stage is `greeting`, `EHLO`, `HELO`, `AUTH`, `MAIL FROM`, `RCPT TO`,
/// `DATA`, `message` (the end of DATA), `RSET` or `QUIT`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmtpError {
    #[error("at {stage} the server answered \"{}\"", .reply.quoted())]
    Refused { stage: &'static str, reply: Reply },
    #[error("at {stage}: {why}")]
    Broken { stage: &'static str, why: Broken },
}

impl SmtpError {
    pub fn stage(&self) -> &'static str {
        match self {
            SmtpError::Refused { stage, .. } | SmtpError::Broken { stage, .. } => stage,
        }
    }

    /// The reply code, when the server answered.
    pub fn code(&self) -> Option<u16> {
        match self {
            SmtpError::Refused { reply, .. } => Some(reply.code),
            SmtpError::Broken { .. } => None,
        }
    }

    /// The server's reply as sent, or what went wrong.
    pub fn reply(&self) -> String {
        match self {
            SmtpError::Refused { reply, .. } => reply.quoted(),
            SmtpError::Broken { why, .. } => why.to_string(),
        }
    }
}

/// What became of a mail transaction.
#[derive(Debug)]
pub struct Sent {
    /// Each recipient's outcome, in order.
    pub outcomes: Vec<Result<(), SmtpError>>,
    /// The reply to the end of DATA, when the message was taken.
    pub accepted: Option<Reply>,
}

/// An open SMTP connection.
pub struct Client {
    reader: BufReader<ReadHalf>,
    writer: WriteHalf,
    reply_timeout: Duration,
    log: Option<SessionLog>,
}

impl Client {
    /// Takes a connected stream; nothing is read yet.
    pub fn new(stream: TcpStream, reply_timeout: Duration, log: Option<SessionLog>) -> Client {
        let (read, write) = transport::split(stream);
        Client::from_halves(read, write, reply_timeout, log)
    }

    /// Takes the halves of a connection, maybe already encrypted (465).
    pub fn from_halves(
        read: ReadHalf,
        write: WriteHalf,
        reply_timeout: Duration,
        log: Option<SessionLog>,
    ) -> Client {
        Client {
            reader: BufReader::new(read),
            writer: write,
            reply_timeout,
            log,
        }
    }

    /// Reads the greeting and introduces the client as `hostname`: EHLO,
    /// or HELO when EHLO is refused (RFC 5321 §3.2). Returns the reply that
    /// was accepted (EHLO's lists the extensions).
    pub async fn greet(&mut self, hostname: &str) -> Result<Reply, SmtpError> {
        let greeting = self.reply("greeting").await?;
        expect_positive("greeting", greeting)?;
        let ehlo = self.command("EHLO", &format!("EHLO {hostname}")).await?;
        if ehlo.is_positive() {
            return Ok(ehlo);
        }
        let helo = self.command("HELO", &format!("HELO {hostname}")).await?;
        expect_positive("HELO", helo)
    }

    /// STARTTLS (RFC 3207), the server's certificate checked for `name`
    /// against the connector's roots, then EHLO again as `hostname`.
    pub async fn start_tls(
        &mut self,
        connector: &TlsConnector,
        name: &str,
        hostname: &str,
    ) -> Result<Reply, SmtpError> {
        let reply = self.command("STARTTLS", "STARTTLS").await?;
        expect_positive("STARTTLS", reply)?;
        let switched = transport::switch_client(
            &mut self.reader,
            &mut self.writer,
            connector,
            name,
            self.reply_timeout,
        )
        .await;
        if let Err(failure) = switched {
            if let Some(log) = &self.log {
                log.note(&format!("TLS handshake with {name} failed: {failure}"));
            }
            return Err(SmtpError::Broken {
                stage: "STARTTLS",
                why: Broken::Tls(failure),
            });
        }
        if let Some(log) = &self.log {
            let tls = transport::describe(self.reader.get_ref()).unwrap_or_default();
            log.note(&format!(
                "encrypted ({tls}); certificate of {name} verified"
            ));
        }
        let ehlo = self.command("EHLO", &format!("EHLO {hostname}")).await?;
        expect_positive("EHLO", ehlo)
    }

    pub fn is_encrypted(&self) -> bool {
        transport::is_encrypted(self.reader.get_ref())
    }

    /// Whether the TLS handshake resumed an earlier session.
    pub fn is_resumed(&self) -> bool {
        transport::is_resumed(self.reader.get_ref())
    }

    /// Logs in with the first mechanism of PLAIN (RFC 4616) and LOGIN that
    /// the EHLO reply offers; false when it offers neither.
    pub async fn log_in(
        &mut self,
        ehlo: &Reply,
        user: &str,
        password: &str,
    ) -> Result<bool, SmtpError> {
        if ehlo.offers_auth("PLAIN") {
            let token = sasl::encode(&format!("\0{user}\0{password}"));
            let reply = self.command("AUTH", &format!("AUTH PLAIN {token}")).await?;
            expect_positive("AUTH", reply)?;
            return Ok(true);
        }
        if ehlo.offers_auth("LOGIN") {
            for (line, wanted) in [
                ("AUTH LOGIN".to_string(), 334),
                (sasl::encode(user), 334),
                (sasl::encode(password), 235),
            ] {
                let reply = self.command("AUTH", &line).await?;
                if reply.code / 100 != wanted / 100 {
                    return Err(SmtpError::Refused {
                        stage: "AUTH",
                        reply,
                    });
                }
            }
            return Ok(true);
        }
        Ok(false)
    }

    /// One mail transaction: MAIL, RCPT for each recipient, and DATA when
    /// at least one was accepted. Returns each recipient's outcome, in
    /// order: a refusal at MAIL, DATA or the end of DATA is every accepted
    /// recipient's. An error is a connection that broke on the way.
    pub async fn send(
        &mut self,
        sender: &str,
        recipients: &[impl Display],
        message: &[u8],
    ) -> Result<Sent, SmtpError> {
        let refused_all = |refused: SmtpError| Sent {
            outcomes: vec![Err(refused); recipients.len()],
            accepted: None,
        };
        let mail = self
            .command("MAIL FROM", &format!("MAIL FROM:<{sender}>"))
            .await?;
        if let Err(refused) = expect_positive("MAIL FROM", mail) {
            return Ok(refused_all(refused));
        }
        let mut outcomes = Vec::with_capacity(recipients.len());
        for recipient in recipients {
            let reply = self
                .command("RCPT TO", &format!("RCPT TO:<{recipient}>"))
                .await?;
            outcomes.push(expect_positive("RCPT TO", reply).map(|_| ()));
        }
        let undelivered = |outcomes, stage, reply| Sent {
            outcomes: undelivered(outcomes, stage, reply),
            accepted: None,
        };
        if !outcomes.iter().any(Result::is_ok) {
            return Ok(Sent {
                outcomes,
                accepted: None,
            });
        }
        let data = self.command("DATA", "DATA").await?;
        if data.code / 100 != 3 {
            return Ok(undelivered(outcomes, "DATA", data));
        }
        if let Some(log) = &self.log {
            log.message(message);
        }
        self.send_raw("message", &dot_stuffed(message)).await?;
        let accepted = self.reply("message").await?;
        if !accepted.is_positive() {
            return Ok(undelivered(outcomes, "message", accepted));
        }
        Ok(Sent {
            outcomes,
            accepted: Some(accepted),
        })
    }

    /// MAIL and RCPT without sending anything, then RSET: whether the
    /// server would take mail for `recipient` (relay tests). Returns the
    /// reply to RCPT.
    pub async fn try_recipient(
        &mut self,
        sender: &str,
        recipient: &str,
    ) -> Result<Reply, SmtpError> {
        let mail = self
            .command("MAIL FROM", &format!("MAIL FROM:<{sender}>"))
            .await?;
        expect_positive("MAIL FROM", mail)?;
        let rcpt = self
            .command("RCPT TO", &format!("RCPT TO:<{recipient}>"))
            .await?;
        let rcpt = expect_positive("RCPT TO", rcpt)?;
        let _ = self.command("RSET", "RSET").await;
        Ok(rcpt)
    }

    /// Says QUIT (whatever the answer) and closes.
    pub async fn quit(mut self) {
        let _ = self.command("QUIT", "QUIT").await;
        if let Some(log) = &self.log {
            log.note(if self.is_encrypted() {
                "connection closed (encrypted)"
            } else {
                "connection closed (not encrypted)"
            });
        }
    }

    async fn command(&mut self, stage: &'static str, line: &str) -> Result<Reply, SmtpError> {
        if let Some(log) = &self.log {
            log.client(line.as_bytes());
        }
        self.send_raw(stage, format!("{line}\r\n").as_bytes())
            .await?;
        self.reply(stage).await
    }

    async fn send_raw(&mut self, stage: &'static str, bytes: &[u8]) -> Result<(), SmtpError> {
        let broken = |why| SmtpError::Broken { stage, why };
        timeout(self.reply_timeout, self.writer.write_all(bytes))
            .await
            .map_err(|_| broken(Broken::SendingStalled(self.reply_timeout)))?
            .map_err(|e| broken(Broken::Sending(e.to_string())))
    }

    /// Reads a (multi-line) reply.
    async fn reply(&mut self, stage: &'static str) -> Result<Reply, SmtpError> {
        let broken = |why| SmtpError::Broken { stage, why };
        let mut lines = Vec::new();
        while lines.len() < MAX_REPLY_LINES {
            let line = read_server_line(&mut self.reader, MAX_REPLY_LINE, self.reply_timeout)
                .await
                .map_err(|e| broken(Broken::Reading(e)))?;
            let text = String::from_utf8_lossy(&line).into_owned();
            if let Some(log) = &self.log {
                log.server(&text);
            }
            let code = text
                .get(..3)
                .and_then(|c| c.parse::<u16>().ok())
                .filter(|c| (200..600).contains(c))
                .ok_or_else(|| broken(Broken::NotAReply(text.clone())))?;
            let last = line.get(3) != Some(&b'-');
            lines.push(text);
            if last {
                return Ok(Reply { code, lines });
            }
        }
        Err(broken(Broken::TooManyLines))
    }
}

fn expect_positive(stage: &'static str, reply: Reply) -> Result<Reply, SmtpError> {
    if reply.is_positive() {
        Ok(reply)
    } else {
        Err(SmtpError::Refused { stage, reply })
    }
}

/// After a refused DATA, the accepted recipients share its refusal.
fn undelivered(
    outcomes: Vec<Result<(), SmtpError>>,
    stage: &'static str,
    reply: Reply,
) -> Vec<Result<(), SmtpError>> {
    outcomes
        .into_iter()
        .map(|outcome| {
            outcome.and(Err(SmtpError::Refused {
                stage,
                reply: reply.clone(),
            }))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(code: u16, lines: &[&str]) -> Reply {
        Reply {
            code,
            lines: lines.iter().map(|l| l.to_string()).collect(),
        }
    }

    #[test]
    fn finds_auth_mechanisms() {
        let ehlo = reply(
            250,
            &["250-mail.cbrc.com", "250-AUTH LOGIN PLAIN", "250 HELP"],
        );
        assert!(ehlo.offers_auth("PLAIN") && ehlo.offers_auth("login"));
        let login_only = reply(250, &["250-mail", "250 AUTH LOGIN"]);
        assert!(!login_only.offers_auth("PLAIN") && login_only.offers_auth("LOGIN"));
        assert!(!reply(250, &["250 PLAIN AUTH"]).offers_auth("PLAIN"));
    }

    #[test]
    fn replies_read_two_ways() {
        let refused = reply(550, &["550-5.1.1 no such user", "550 5.1.1 here"]);
        assert_eq!(refused.summary(), "550 5.1.1 no such user 5.1.1 here");
        assert_eq!(refused.quoted(), "550-5.1.1 no such user / 550 5.1.1 here");
        let error = SmtpError::Refused {
            stage: "RCPT TO",
            reply: refused,
        };
        assert_eq!(
            error.to_string(),
            "at RCPT TO the server answered \"550-5.1.1 no such user / 550 5.1.1 here\""
        );
        assert_eq!((error.stage(), error.code()), ("RCPT TO", Some(550)));
    }

    /// Against the real submission server: AUTH LOGIN (as with a server
    /// that offers only LOGIN), then one recipient taken and one refused,
    /// and the message arrives with its leading dot intact.
    #[tokio::test]
    async fn logs_in_with_login_and_judges_each_recipient() {
        use crate::services::mail::test_support::{MailServer, Options};
        let server = MailServer::start(Options::default()).await;
        let login_only = reply(250, &["250-mx.test", "250 AUTH LOGIN"]);
        let stream = TcpStream::connect(server.submission).await.unwrap();
        let mut client = Client::new(stream, Duration::from_secs(5), None);
        let ehlo = client.greet("pc.test").await.unwrap();
        assert!(
            ehlo.offers_auth("PLAIN") && ehlo.offers_auth("LOGIN"),
            "{ehlo:?}"
        );
        let wrong = client.log_in(&login_only, "ada", "nope").await.unwrap_err();
        assert_eq!(
            (wrong.stage(), wrong.code()),
            ("AUTH", Some(535)),
            "{wrong}"
        );
        assert!(client.log_in(&login_only, "ada", "secret").await.unwrap());
        let sent = client
            .send(
                "ada@mt.com",
                &["bob@mt.com", "nobody@mt.com"],
                b"Subject: two\r\n\r\n.dot\r\n",
            )
            .await
            .unwrap();
        assert!(sent.outcomes[0].is_ok(), "{sent:?}");
        let refused = sent.outcomes[1].as_ref().unwrap_err();
        assert_eq!((refused.stage(), refused.code()), ("RCPT TO", Some(550)));
        assert!(sent.accepted.is_some_and(|r| r.is_positive()));
        client.quit().await;
        let inbox = server.wait_for_inbox("bob", 1).await;
        assert!(inbox[0].ends_with(b"\r\n\r\n.dot\r\n"));
    }

    /// A server that refuses EHLO is greeted with HELO (RFC 5321 §3.2).
    #[tokio::test]
    async fn falls_back_to_helo_when_ehlo_is_refused() {
        use tokio::io::AsyncBufReadExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let peer = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let (read, mut write) = stream.into_split();
            let mut lines = BufReader::new(read).lines();
            write.write_all(b"220 old.test\r\n").await.unwrap();
            let mut heard = Vec::new();
            for answer in ["502 5.5.1 no EHLO here", "250 old.test", "221 bye"] {
                heard.push(lines.next_line().await.unwrap().unwrap());
                write
                    .write_all(format!("{answer}\r\n").as_bytes())
                    .await
                    .unwrap();
            }
            heard
        });
        let stream = TcpStream::connect(address).await.unwrap();
        let mut client = Client::new(stream, Duration::from_secs(5), None);
        let hello = client.greet("pc.test").await.unwrap();
        assert_eq!(hello.lines, ["250 old.test"]);
        client.quit().await;
        assert_eq!(
            peer.await.unwrap(),
            ["EHLO pc.test", "HELO pc.test", "QUIT"]
        );
    }
}
