//! The SMTP submission client of a PC's mail program: greeting, EHLO, AUTH
//! PLAIN when the server offers it, MAIL, RCPT, DATA (dot-stuffed), QUIT.
//! Every refusal comes back with the stage it happened at and the server's
//! reply quoted, so a check can say exactly what the server said.

use std::time::Duration;

use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use super::lines::read_line;
use crate::services::mail::sasl;

/// How long each reply may take.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(10);
/// Most lines one reply may have.
const MAX_REPLY_LINES: usize = 100;

/// Where in the dialogue the server said no (or stopped answering).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpError {
    /// `greeting`, `EHLO`, `AUTH`, `MAIL FROM`, `RCPT TO`, `DATA`, `message`.
    pub stage: &'static str,
    /// The server's reply as it was sent (code and text), or what went wrong.
    pub reply: String,
    /// The reply code, when there was one.
    pub code: Option<u16>,
}

impl std::fmt::Display for SmtpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.code {
            Some(_) => write!(
                f,
                "at {} the server answered \"{}\"",
                self.stage, self.reply
            ),
            None => write!(f, "at {}: {}", self.stage, self.reply),
        }
    }
}

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
}

pub struct Session {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
}

impl Session {
    /// Reads the greeting and says EHLO; returns the session and the EHLO
    /// reply's extension lines.
    pub async fn open(
        stream: TcpStream,
        helo_name: &str,
    ) -> Result<(Session, Vec<String>), SmtpError> {
        let (read, write) = stream.into_split();
        let mut session = Session {
            reader: BufReader::new(read),
            writer: write,
        };
        session.expect("greeting", 220).await?;
        let (_, lines) = session
            .command("EHLO", &format!("EHLO {helo_name}"), 250)
            .await?;
        Ok((session, lines))
    }

    async fn reply(&mut self, stage: &'static str) -> Result<(u16, Vec<String>), SmtpError> {
        let mut lines = Vec::new();
        loop {
            let line = read_line(&mut self.reader, REPLY_TIMEOUT)
                .await
                .map_err(|why| SmtpError {
                    stage,
                    reply: why,
                    code: None,
                })?;
            let text = String::from_utf8_lossy(&line).into_owned();
            let code = text
                .get(..3)
                .and_then(|c| c.parse::<u16>().ok())
                .filter(|c| (200..600).contains(c));
            let Some(code) = code else {
                return Err(SmtpError {
                    stage,
                    reply: format!("not an SMTP reply: {text:?}"),
                    code: None,
                });
            };
            let last = text.as_bytes().get(3) != Some(&b'-');
            lines.push(text);
            if last {
                return Ok((code, lines));
            }
            if lines.len() > MAX_REPLY_LINES {
                return Err(SmtpError {
                    stage,
                    reply: "the reply has too many lines".into(),
                    code: None,
                });
            }
        }
    }

    async fn expect(
        &mut self,
        stage: &'static str,
        wanted: u16,
    ) -> Result<(u16, Vec<String>), SmtpError> {
        let (code, lines) = self.reply(stage).await?;
        if code / 100 != wanted / 100 {
            return Err(SmtpError {
                stage,
                reply: lines.join(" / "),
                code: Some(code),
            });
        }
        Ok((code, lines))
    }

    async fn command(
        &mut self,
        stage: &'static str,
        line: &str,
        wanted: u16,
    ) -> Result<(u16, Vec<String>), SmtpError> {
        self.writer
            .write_all(format!("{line}\r\n").as_bytes())
            .await
            .map_err(|e| SmtpError {
                stage,
                reply: format!("the connection failed: {e}"),
                code: None,
            })?;
        self.expect(stage, wanted).await
    }

    /// AUTH PLAIN (RFC 4954, 4616).
    pub async fn login(&mut self, login: &Login<'_>) -> Result<(), SmtpError> {
        let token = sasl::encode(&format!("\0{}\0{}", login.user, login.password));
        self.command("AUTH", &format!("AUTH PLAIN {token}"), 235)
            .await
            .map(|_| ())
    }

    /// One message for one recipient.
    pub async fn send(
        &mut self,
        sender: &str,
        recipient: &str,
        message: &[u8],
    ) -> Result<String, SmtpError> {
        self.command("MAIL FROM", &format!("MAIL FROM:<{sender}>"), 250)
            .await?;
        self.command("RCPT TO", &format!("RCPT TO:<{recipient}>"), 250)
            .await?;
        self.command("DATA", "DATA", 354).await?;
        let mut data = dot_stuff(message);
        data.extend_from_slice(b".\r\n");
        self.writer.write_all(&data).await.map_err(|e| SmtpError {
            stage: "message",
            reply: format!("the connection failed: {e}"),
            code: None,
        })?;
        let (_, lines) = self.expect("message", 250).await?;
        Ok(lines.join(" / "))
    }

    /// Tries MAIL FROM and RCPT TO without sending anything (relay tests).
    pub async fn try_recipient(
        &mut self,
        sender: &str,
        recipient: &str,
    ) -> Result<String, SmtpError> {
        self.command("MAIL FROM", &format!("MAIL FROM:<{sender}>"), 250)
            .await?;
        let (_, lines) = self
            .command("RCPT TO", &format!("RCPT TO:<{recipient}>"), 250)
            .await?;
        let _ = self.command("RSET", "RSET", 250).await;
        Ok(lines.join(" / "))
    }

    pub async fn quit(mut self) {
        let _ = self.command("QUIT", "QUIT", 221).await;
    }
}

/// Whether an EHLO reply offers AUTH PLAIN.
pub fn offers_plain(ehlo: &[String]) -> bool {
    ehlo.iter().any(|l| {
        let words: Vec<String> = l
            .get(4..)
            .unwrap_or("")
            .split_whitespace()
            .map(str::to_ascii_uppercase)
            .collect();
        words.first().is_some_and(|w| w == "AUTH") && words.iter().any(|w| w == "PLAIN")
    })
}

/// CRLF line ends, and a dot doubled at the start of a line (RFC 5321 §4.5.2).
pub fn dot_stuff(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 64);
    let mut at_line_start = true;
    let mut previous = 0u8;
    for &b in message {
        if b == b'\n' && previous != b'\r' {
            out.push(b'\r');
        }
        if at_line_start && b == b'.' {
            out.push(b'.');
        }
        out.push(b);
        at_line_start = b == b'\n';
        previous = b;
    }
    if !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Sends one message the way a PC's mail client does: logs in when the
/// server offers AUTH, then MAIL, RCPT, DATA.
pub async fn submit(
    stream: TcpStream,
    helo_name: &str,
    login: Option<&Login<'_>>,
    sender: &str,
    recipient: &str,
    message: &[u8],
) -> Result<Accepted, SmtpError> {
    let (mut session, ehlo) = Session::open(stream, helo_name).await?;
    let mut authenticated = false;
    if let Some(login) = login
        && offers_plain(&ehlo)
    {
        session.login(login).await?;
        authenticated = true;
    }
    let reply = session.send(sender, recipient, message).await?;
    session.quit().await;
    Ok(Accepted {
        reply,
        authenticated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stuffs_dots_and_line_ends() {
        assert_eq!(
            dot_stuff(b".a\n..b\r\nc.\n."),
            b"..a\r\n...b\r\nc.\r\n..\r\n"
        );
        assert_eq!(dot_stuff(b"x\r\n"), b"x\r\n");
    }

    #[test]
    fn finds_auth_plain() {
        assert!(offers_plain(&[
            "250-mail.cbrc.com".into(),
            "250-AUTH LOGIN PLAIN".into(),
            "250 HELP".into()
        ]));
        assert!(!offers_plain(&["250-mail".into(), "250 AUTH LOGIN".into()]));
    }
}
