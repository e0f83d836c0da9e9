//! Reading protocol lines with a cap: a line longer than the cap is read to
//! its end and thrown away without ever being held, so a peer cannot make a
//! server allocate more than the cap. Servers read their clients' commands
//! with `read_line`; clients (the relay's SMTP client, a PC's SMTP, POP3 and
//! IMAP clients) read their server's replies with `read_server_line`, which
//! adds a timeout and turns every way of getting no line into an error.

use std::io;
use std::time::Duration;

use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// One line read from a peer.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// The line without its CRLF (or bare LF).
    Complete(Vec<u8>),
    /// Longer than the cap; discarded up to and including its LF.
    TooLong,
    /// The peer closed the connection (a partial last line is dropped).
    Closed,
}

/// Reads up to the next LF, holding at most `max` bytes.
pub async fn read_line<R: AsyncBufRead + Unpin>(reader: &mut R, max: usize) -> io::Result<Line> {
    let mut line = Vec::new();
    let mut too_long = false;
    loop {
        let buffer = reader.fill_buf().await?;
        if buffer.is_empty() {
            return Ok(Line::Closed);
        }
        let (chunk, done) = match buffer.iter().position(|&b| b == b'\n') {
            Some(at) => (&buffer[..=at], true),
            None => (buffer, false),
        };
        let used = chunk.len();
        if !too_long && line.len() + used <= max + 2 {
            line.extend_from_slice(chunk);
        } else {
            too_long = true;
            line = Vec::new();
        }
        reader.consume(used);
        if done {
            if too_long {
                return Ok(Line::TooLong);
            }
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            if line.len() > max {
                return Ok(Line::TooLong);
            }
            return Ok(Line::Complete(line));
        }
    }
}

/// Why a client got no line from its server; the texts end up in check
/// diagnoses, so they say what the server did.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    #[error("the connection failed: {0}")]
    Failed(String),
    #[error("the server closed the connection")]
    Closed,
    #[error("the server sent a line longer than {0} bytes")]
    TooLong(usize),
    #[error("the server sent nothing for {:.0} s", .0.as_secs_f64())]
    Silent(Duration),
}

/// One line from a server, without its line end, within `timeout`.
pub async fn read_server_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    max: usize,
    timeout: Duration,
) -> Result<Vec<u8>, LineError> {
    match tokio::time::timeout(timeout, read_line(reader, max)).await {
        Err(_) => Err(LineError::Silent(timeout)),
        Ok(Err(e)) => Err(LineError::Failed(e.to_string())),
        Ok(Ok(Line::Complete(line))) => Ok(line),
        Ok(Ok(Line::TooLong)) => Err(LineError::TooLong(max)),
        Ok(Ok(Line::Closed)) => Err(LineError::Closed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn lines(input: &[u8], max: usize) -> Vec<Line> {
        let mut reader = tokio::io::BufReader::with_capacity(4, input);
        let mut found = Vec::new();
        loop {
            let line = read_line(&mut reader, max).await.unwrap();
            let closed = line == Line::Closed;
            found.push(line);
            if closed {
                return found;
            }
        }
    }

    #[tokio::test]
    async fn splits_caps_and_recovers() {
        let found = lines(b"NOOP\r\nbare\nabcdefghijk\r\nok\r\npartial", 8).await;
        assert_eq!(
            found,
            [
                Line::Complete(b"NOOP".to_vec()),
                Line::Complete(b"bare".to_vec()),
                Line::TooLong,
                Line::Complete(b"ok".to_vec()),
                Line::Closed
            ]
        );
    }

    #[tokio::test]
    async fn exactly_the_cap_is_fine() {
        let found = lines(b"12345678\r\n123456789\r\n", 8).await;
        assert_eq!(
            found,
            [
                Line::Complete(b"12345678".to_vec()),
                Line::TooLong,
                Line::Closed
            ]
        );
    }

    #[tokio::test]
    async fn a_client_hears_why_there_is_no_line() {
        let timeout = Duration::from_secs(5);
        let mut reader = tokio::io::BufReader::new(&b"+OK ready\r\n0123456789ab\r\npartial"[..]);
        assert_eq!(
            read_server_line(&mut reader, 10, timeout).await,
            Ok(b"+OK ready".to_vec())
        );
        let too_long = read_server_line(&mut reader, 10, timeout)
            .await
            .unwrap_err();
        assert_eq!(
            too_long.to_string(),
            "the server sent a line longer than 10 bytes"
        );
        let closed = read_server_line(&mut reader, 10, timeout)
            .await
            .unwrap_err();
        assert_eq!(closed.to_string(), "the server closed the connection");
        let (_keep_open, silent_end) = tokio::io::duplex(64);
        let mut silent = tokio::io::BufReader::new(silent_end);
        let error = read_server_line(&mut silent, 8, Duration::from_millis(20))
            .await
            .unwrap_err();
        assert_eq!(error.to_string(), "the server sent nothing for 0 s");
    }
}
