//! Reading IMAP commands off a connection with every size capped before
//! anything is allocated: a line is at most `max_line` octets (the rest of
//! an over-long line is read and dropped by `lines::read_line`, so the
//! session goes on), and a
//! literal's announced size is checked against the command's budget before
//! a byte of it is read. Before login every command has the small budget
//! of `max_literals_before_login`, so a stranger cannot make the server
//! hold a message-sized literal. Synchronizing literals (`{n}`) get their
//! `+` continuation here; non-synchronizing ones (`{n+}`, LITERAL+) do not.

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::services::mail::lines::{Line, read_line};

/// Size limits for one command.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Octets of command text (literals excluded) in one command.
    pub max_line: usize,
    /// Octets of literals in one APPEND (the largest message accepted).
    pub max_message: usize,
    /// Octets of literals in any other command.
    pub max_literals: usize,
    /// Octets of literals in any command before login (LOGIN's user name
    /// and password are all a stranger needs).
    pub max_literals_before_login: usize,
}

impl Limits {
    /// The limits for a connection that has not logged in yet: every
    /// command, APPEND included, gets the small pre-login budget.
    pub fn before_login(self) -> Limits {
        let budget = self.max_literals_before_login.min(self.max_literals);
        Limits {
            max_message: budget,
            max_literals: budget,
            ..self
        }
    }
}

/// What came in.
#[derive(Debug, PartialEq)]
pub enum Incoming {
    /// A whole command: its lines, with literals in place (`{n}` CRLF octets).
    Command(Vec<u8>),
    /// The command text went past `max_line`; it was read to its end and
    /// dropped. The tag, when one could be read.
    TooLong(Option<String>),
    /// A literal larger than the command may carry. After a synchronizing
    /// literal the client waits for our answer; after a non-synchronizing
    /// one its octets are on their way, so the connection must close.
    LiteralTooLarge {
        tag: Option<String>,
        synchronizing: bool,
    },
    /// The peer closed the connection.
    Closed,
}

/// Reads one command, answering synchronizing literals with `+`.
pub async fn read_command<R, W>(
    reader: &mut R,
    writer: &mut W,
    limits: Limits,
) -> std::io::Result<Incoming>
where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin,
{
    // The tag is read from what is buffered, so that even a line too long
    // to keep gets a tagged reply.
    let buffered = reader.fill_buf().await?;
    let tag = tag_of(buffered);
    let mut command = Vec::new();
    let mut text_left = limits.max_line;
    let mut literals_left = None;
    loop {
        let line_start = command.len();
        match read_line(reader, text_left).await? {
            Line::Closed => return Ok(Incoming::Closed),
            Line::TooLong => return Ok(Incoming::TooLong(tag)),
            Line::Complete(line) => command.extend_from_slice(&line),
        }
        text_left -= command.len() - line_start;
        let Some((size, synchronizing)) = literal_announced(&command[line_start..]) else {
            return Ok(Incoming::Command(command));
        };
        let budget = literals_left.get_or_insert(if is_append(&command) {
            limits.max_message
        } else {
            limits.max_literals
        });
        if size > *budget {
            return Ok(Incoming::LiteralTooLarge {
                tag: tag_of(&command),
                synchronizing,
            });
        }
        *budget -= size;
        if synchronizing {
            writer.write_all(b"+ Ready for literal data\r\n").await?;
            writer.flush().await?;
        }
        command.extend_from_slice(b"\r\n");
        command.reserve(size);
        let read = (&mut *reader)
            .take(size as u64)
            .read_to_end(&mut command)
            .await?;
        if read < size {
            return Ok(Incoming::Closed);
        }
    }
}

/// `{123}` or `{123+}` at the end of a line: the size, and whether the
/// client waits for a continuation.
fn literal_announced(line: &[u8]) -> Option<(usize, bool)> {
    let inner = line.strip_suffix(b"}")?;
    let open = inner.iter().rposition(|&b| b == b'{')?;
    let digits = &inner[open + 1..];
    let (digits, synchronizing) = match digits.strip_suffix(b"+") {
        Some(digits) => (digits, false),
        None => (digits, true),
    };
    if digits.is_empty() || digits.len() > 10 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let size = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some((size, synchronizing))
}

fn is_append(command: &[u8]) -> bool {
    let mut words = command.split(|&b| b == b' ');
    words.next();
    words
        .next()
        .is_some_and(|name| name.eq_ignore_ascii_case(b"APPEND"))
}

/// The tag at the start of a command, if it looks like one.
fn tag_of(command: &[u8]) -> Option<String> {
    let end = command.iter().position(|&b| b == b' ')?;
    let tag = &command[..end];
    let valid = !tag.is_empty()
        && tag.len() <= 64
        && tag
            .iter()
            .all(|&b| b.is_ascii_graphic() && !b"(){%*\"\\]+".contains(&b));
    valid.then(|| String::from_utf8_lossy(tag).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        max_line: 40,
        max_message: 100,
        max_literals: 10,
        max_literals_before_login: 4,
    };

    async fn read(input: &[u8]) -> (Incoming, Vec<u8>) {
        let mut reader = tokio::io::BufReader::with_capacity(8, input);
        let mut written = Vec::new();
        let incoming = read_command(&mut reader, &mut written, LIMITS)
            .await
            .unwrap();
        (incoming, written)
    }

    #[tokio::test]
    async fn literals_are_read_in_place_with_continuations() {
        let (incoming, written) = read(b"a LOGIN {3}\r\nada {6+}\r\nsecret\r\nnext").await;
        assert_eq!(
            incoming,
            Incoming::Command(b"a LOGIN {3}\r\nada {6+}\r\nsecret".to_vec())
        );
        assert_eq!(written, b"+ Ready for literal data\r\n");
        let (incoming, _) = read(b"b APPEND INBOX {50}\r\n").await;
        assert_eq!(
            incoming,
            Incoming::Closed,
            "the literal is within APPEND's budget, then the peer left"
        );
    }

    #[tokio::test]
    async fn oversize_is_refused_before_reading() {
        let (incoming, written) = read(b"a LOGIN {11}\r\n").await;
        assert_eq!(
            incoming,
            Incoming::LiteralTooLarge {
                tag: Some("a".into()),
                synchronizing: true
            }
        );
        assert!(written.is_empty());
        let (incoming, _) = read(b"a APPEND INBOX {4294967295+}\r\n").await;
        assert_eq!(
            incoming,
            Incoming::LiteralTooLarge {
                tag: Some("a".into()),
                synchronizing: false
            }
        );
        let mut reader = tokio::io::BufReader::with_capacity(8, &b"a APPEND INBOX {50}\r\n"[..]);
        let mut written = Vec::new();
        let incoming = read_command(&mut reader, &mut written, LIMITS.before_login())
            .await
            .unwrap();
        assert_eq!(
            incoming,
            Incoming::LiteralTooLarge {
                tag: Some("a".into()),
                synchronizing: true
            },
            "before login, APPEND gets no message-sized budget"
        );
        assert!(written.is_empty(), "and no continuation");
        let long = format!("t1 NOOP {}\r\nt2 NOOP\r\n", "x".repeat(100));
        let mut reader = tokio::io::BufReader::with_capacity(8, long.as_bytes());
        let mut sink = Vec::new();
        let first = read_command(&mut reader, &mut sink, LIMITS).await.unwrap();
        assert_eq!(first, Incoming::TooLong(Some("t1".into())));
        let second = read_command(&mut reader, &mut sink, LIMITS).await.unwrap();
        assert_eq!(
            second,
            Incoming::Command(b"t2 NOOP".to_vec()),
            "the session goes on after an over-long line"
        );
    }

    #[tokio::test]
    async fn many_small_literals_still_hit_the_text_cap() {
        let input = "a LOGIN {0}\r\n".repeat(10);
        let (incoming, _) = read(input.as_bytes()).await;
        assert_eq!(incoming, Incoming::TooLong(Some("a".into())));
    }
}
