//! The message after DATA (RFC 5321 §4.1.1.4, §4.5.2). Only CRLF "." CRLF
//! ends it: a "." line reached through a bare LF or a bare CR
//! (`<LF>.<CR><LF>`, `<CR><LF>.<LF>`, `<LF>.<LF>`, `<CR>.<CR><LF>`) is
//! content, which closes the SMTP smuggling hole. A leading dot is removed
//! from lines that carry more (dot-unstuffing). Bare CR and LF are then
//! turned into CRLF, so every reader sees the same lines we did. Past the
//! size cap the rest is read and dropped, never held.

use std::io;

use tokio::io::{AsyncBufRead, AsyncBufReadExt};

use crate::services::mail::dot_stuffing::with_crlf_line_ends;

#[derive(Debug, PartialEq, Eq)]
pub enum Data {
    /// The message, with CRLF line ends.
    Message(Vec<u8>),
    /// Longer than the cap; read to its end and dropped.
    TooBig,
    /// The connection ended before the final ".".
    Closed,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum At {
    /// Just after CRLF (or at the start).
    LineStart,
    /// A "." at the start of a line.
    Dot,
    /// A "." at the start of a line, then CR.
    DotCr,
    /// Inside a line; the last byte was CR.
    Cr,
    /// Inside a line.
    Middle,
}

/// Reads the message up to the final "." line, keeping at most `max` bytes.
pub async fn read_data<R: AsyncBufRead + Unpin>(reader: &mut R, max: usize) -> io::Result<Data> {
    let mut kept = Kept {
        message: Vec::new(),
        too_big: false,
        max,
    };
    let mut at = At::LineStart;
    loop {
        let buffer = reader.fill_buf().await?;
        if buffer.is_empty() {
            return Ok(Data::Closed);
        }
        let mut end = None;
        for (i, &byte) in buffer.iter().enumerate() {
            at = match (at, byte) {
                (At::LineStart, b'.') => At::Dot,
                (At::Dot, b'\r') => At::DotCr,
                (At::DotCr, b'\n') => {
                    end = Some(i + 1);
                    break;
                }
                // ".\r" then something else: the dot was stuffing.
                (At::DotCr, _) => {
                    kept.push(b'\r');
                    kept.push(byte);
                    after_content(byte)
                }
                (At::Cr, b'\n') => {
                    kept.push(byte);
                    At::LineStart
                }
                // The dot of a line with more on it is dropped.
                (At::Dot | At::LineStart | At::Middle | At::Cr, _) => {
                    kept.push(byte);
                    after_content(byte)
                }
            };
        }
        let used = end.unwrap_or(buffer.len());
        reader.consume(used);
        if end.is_some() {
            return Ok(if kept.too_big {
                Data::TooBig
            } else {
                Data::Message(with_crlf_line_ends(kept.message))
            });
        }
    }
}

/// What is kept of the message so far.
struct Kept {
    message: Vec<u8>,
    too_big: bool,
    max: usize,
}

impl Kept {
    fn push(&mut self, byte: u8) {
        if self.too_big {
            return;
        }
        if self.message.len() >= self.max {
            self.too_big = true;
            self.message = Vec::new();
        } else {
            self.message.push(byte);
        }
    }
}

fn after_content(byte: u8) -> At {
    if byte == b'\r' { At::Cr } else { At::Middle }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read(input: &[u8], max: usize) -> (Data, Vec<u8>) {
        let mut reader = tokio::io::BufReader::with_capacity(3, input);
        let data = read_data(&mut reader, max).await.unwrap();
        let mut rest = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut reader, &mut rest)
            .await
            .unwrap();
        (data, rest)
    }

    #[tokio::test]
    async fn ends_only_at_crlf_dot_crlf_and_unstuffs() {
        let (data, rest) = read(b"Subject: x\r\n\r\n..dot\r\n.\r\nQUIT\r\n", 1000).await;
        assert_eq!(data, Data::Message(b"Subject: x\r\n\r\n.dot\r\n".to_vec()));
        assert_eq!(rest, b"QUIT\r\n");
        let (data, _) = read(b".\r\n", 1000).await;
        assert_eq!(data, Data::Message(Vec::new()));
    }

    #[tokio::test]
    async fn smuggling_sequences_are_content() {
        for smuggled in [b"a\n.\r\n".as_slice(), b"a\r\n.\n", b"a\n.\n", b"a\r.\r\n"] {
            let input = [smuggled, b"MAIL FROM:<evil@x.org>\r\n.\r\n"].concat();
            let (data, rest) = read(&input, 1000).await;
            let Data::Message(message) = data else {
                panic!("{smuggled:?}: {data:?}");
            };
            assert!(rest.is_empty(), "{smuggled:?} ended DATA early");
            assert!(
                message.ends_with(b"MAIL FROM:<evil@x.org>\r\n"),
                "{smuggled:?}"
            );
            // Every line end is CRLF now.
            assert_eq!(with_crlf_line_ends(message.clone()), message);
        }
    }

    #[tokio::test]
    async fn too_big_is_read_to_the_end() {
        let (data, rest) = read(b"0123456789\r\n0123456789\r\n.\r\nNOOP\r\n", 15).await;
        assert_eq!(data, Data::TooBig);
        assert_eq!(rest, b"NOOP\r\n");
        let (data, _) = read(b"abc\r\n", 100).await;
        assert_eq!(data, Data::Closed);
    }
}
