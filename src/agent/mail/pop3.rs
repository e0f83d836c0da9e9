//! The POP3 client of a PC's mail program (RFC 1939): STLS (RFC 2595) or
//! TLS from the first byte when its settings say so, USER/PASS, LIST,
//! TOP for headers, RETR for whole messages, DELE; multi-line answers are
//! dot-unstuffed and capped. A session ends with QUIT and waits until the
//! server closes, so the maildrop's lock is free when it returns.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::MAX_REPLY_LINE;
use super::fetch_error::FetchError;
use super::security::{self, Security};
use crate::services::mail::lines::read_server_line;
use crate::services::tls::transport::{self, ReadHalf, WriteHalf};

/// How long each answer may take.
const TIMEOUT: Duration = Duration::from_secs(10);
/// The largest multi-line answer read.
pub const MAX_ANSWER: usize = 32 * 1024 * 1024;

pub struct Pop3 {
    reader: BufReader<ReadHalf>,
    writer: WriteHalf,
}

impl Pop3 {
    /// Reads the greeting, over TLS or after STLS as `security` says.
    pub async fn open(stream: TcpStream, security: &Security) -> Result<Pop3, FetchError> {
        let (read, write) = security::open(stream, security, TIMEOUT)
            .await
            .map_err(FetchError::tls)?;
        let mut client = Pop3 {
            reader: BufReader::new(read),
            writer: write,
        };
        client.status("greeting").await?;
        if let Some((trust, must)) = security.starttls()
            && (must || client.offers("STLS").await?)
        {
            client.command("STARTTLS", "STLS").await?;
            transport::switch_client(
                &mut client.reader,
                &mut client.writer,
                &trust.connector,
                &trust.name,
                TIMEOUT,
            )
            .await
            .map_err(FetchError::tls)?;
        }
        Ok(client)
    }

    /// Whether the connection is encrypted now.
    pub fn is_encrypted(&self) -> bool {
        transport::is_encrypted(self.reader.get_ref())
    }

    /// Whether CAPA (RFC 2449) lists `capability`; a server without CAPA
    /// lists nothing.
    async fn offers(&mut self, capability: &str) -> Result<bool, FetchError> {
        match self.command("STARTTLS", "CAPA").await {
            Err(e) if e.refused => return Ok(false),
            Err(e) => return Err(e),
            Ok(_) => {}
        }
        let listed = String::from_utf8_lossy(&self.multiline("STARTTLS").await?).into_owned();
        Ok(listed.lines().any(|line| {
            line.split_whitespace()
                .next()
                .is_some_and(|word| word.eq_ignore_ascii_case(capability))
        }))
    }

    async fn status(&mut self, stage: &'static str) -> Result<String, FetchError> {
        let line = read_server_line(&mut self.reader, MAX_REPLY_LINE, TIMEOUT)
            .await
            .map_err(|why| FetchError::new(stage, why.to_string()))?;
        let text = String::from_utf8_lossy(&line).into_owned();
        if text.starts_with("+OK") {
            Ok(text)
        } else {
            Err(FetchError::refused(stage, text))
        }
    }

    async fn command(&mut self, stage: &'static str, line: &str) -> Result<String, FetchError> {
        self.writer
            .write_all(format!("{line}\r\n").as_bytes())
            .await
            .map_err(|e| FetchError::new(stage, format!("the connection failed: {e}")))?;
        self.status(stage).await
    }

    async fn multiline(&mut self, stage: &'static str) -> Result<Vec<u8>, FetchError> {
        let mut out = Vec::new();
        loop {
            let line = read_server_line(&mut self.reader, MAX_REPLY_LINE, TIMEOUT)
                .await
                .map_err(|why| FetchError::new(stage, why.to_string()))?;
            if line == b"." {
                return Ok(out);
            }
            let line = line.strip_prefix(b".").unwrap_or(&line);
            out.extend_from_slice(line);
            out.extend_from_slice(b"\r\n");
            if out.len() > MAX_ANSWER {
                return Err(FetchError::new(
                    stage,
                    format!("the answer is larger than {MAX_ANSWER} bytes"),
                ));
            }
        }
    }

    pub async fn login(&mut self, user: &str, password: &str) -> Result<(), FetchError> {
        self.command("login", &format!("USER {user}")).await?;
        self.command("login", &format!("PASS {password}"))
            .await
            .map(|_| ())
    }

    /// Message numbers and sizes.
    pub async fn list(&mut self) -> Result<Vec<(u32, u64)>, FetchError> {
        self.command("list", "LIST").await?;
        let text = String::from_utf8_lossy(&self.multiline("list").await?).into_owned();
        Ok(text
            .lines()
            .filter_map(|l| {
                let mut words = l.split_whitespace();
                Some((words.next()?.parse().ok()?, words.next()?.parse().ok()?))
            })
            .collect())
    }

    /// The headers of message `n`.
    pub async fn headers(&mut self, n: u32) -> Result<Vec<u8>, FetchError> {
        self.command("read", &format!("TOP {n} 0")).await?;
        self.multiline("read").await
    }

    pub async fn retrieve(&mut self, n: u32) -> Result<Vec<u8>, FetchError> {
        self.command("read", &format!("RETR {n}")).await?;
        self.multiline("read").await
    }

    /// Marks message `n` deleted; the server removes it at QUIT.
    pub async fn delete(&mut self, n: u32) -> Result<(), FetchError> {
        self.command("delete", &format!("DELE {n}"))
            .await
            .map(|_| ())
    }

    /// Ends the session without caring how (nothing was changed).
    pub async fn quit(self) {
        let _ = self.update().await;
    }

    /// QUIT: the server removes the messages marked deleted (RFC 1939's
    /// UPDATE state) and says whether it could. Returns once the server has
    /// closed the connection: the server frees the maildrop's lock before it
    /// closes, so a session opened next is not refused with `[IN-USE]`.
    pub async fn update(mut self) -> Result<(), FetchError> {
        let reply = self.command("quit", "QUIT").await;
        // Whatever a server still sends is read and dropped, up to a cap.
        let mut rest = Vec::new();
        let mut left = (&mut self.reader).take(64 * 1024);
        let closed = tokio::time::timeout(TIMEOUT, left.read_to_end(&mut rest)).await;
        reply?;
        match closed {
            Ok(_) => Ok(()),
            Err(_) => Err(FetchError::new(
                "quit",
                format!("the server did not close the connection within {TIMEOUT:?} of QUIT"),
            )),
        }
    }
}
