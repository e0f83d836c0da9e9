//! Reading protocol lines with a cap: a line longer than the cap is read to
//! its end and thrown away without ever being held, so a peer cannot make a
//! server allocate more than the cap.

use std::io;

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
}
