//! An HTTP/1.x response as a web check reads it (RFC 9112): the head parsed
//! by httparse, the body framed by Transfer-Encoding: chunked, by
//! Content-Length or by the end of the connection. Every byte comes from a
//! lab server, so every size is checked and capped; bad input is an error
//! naming the part at fault, never a panic. No I/O here (the fuzz target
//! includes this file as it is).

use std::fmt;

/// The most of an answer (head, framing and body) a check reads.
pub const MAX_RESPONSE: usize = 1024 * 1024;
/// The longest head: status line and header fields.
pub const MAX_HEAD: usize = 64 * 1024;
/// The most header fields in a head.
pub const MAX_HEADERS: usize = 100;
/// The longest chunk size line, chunk extensions included.
pub const MAX_CHUNK_LINE: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    /// Visible ASCII, spaces and tabs only, safe to print: httparse gives
    /// an empty reason for anything else.
    pub reason: String,
    /// Header fields in order, names in lower case, values as text
    /// (lossily: they came from a lab server).
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// Every value of header `name` (lower case).
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The part of a response that breaks HTTP/1.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Head,
    ChunkedBody,
    Body,
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Part::Head => "response head",
            Part::ChunkedBody => "chunked body",
            Part::Body => "body",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseError {
    /// The connection closed before the server sent a byte.
    Empty,
    /// The answer did not end within `MAX_RESPONSE` bytes.
    TooLarge,
    /// The server broke HTTP/1.1 in `part`; `detail` quotes what it sent,
    /// escaped.
    Malformed { part: Part, detail: String },
}

impl fmt::Display for ResponseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResponseError::Empty => {
                f.write_str("the server closed the connection without answering")
            }
            ResponseError::TooLarge => write!(
                f,
                "the answer is larger than the {} KiB a check reads",
                MAX_RESPONSE / 1024
            ),
            ResponseError::Malformed { part, detail } => write!(f, "malformed {part}: {detail}"),
        }
    }
}

fn malformed(part: Part, detail: impl Into<String>) -> ResponseError {
    ResponseError::Malformed {
        part,
        detail: detail.into(),
    }
}

/// The start of `bytes`, escaped for a terminal: `"abc\r\n\u{1b}…"`.
fn quoted(bytes: &[u8]) -> String {
    const SHOWN: usize = 40;
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(SHOWN)]);
    let mut quoted = format!("{text:?}");
    if bytes.len() > SHOWN {
        quoted.push('…');
    }
    quoted
}

/// How the body of a response is framed (RFC 9112 §6.3).
enum Framing {
    None,
    Chunked,
    Length(u64),
    UntilClose,
}

/// Parses the answer a server sent. `complete` says the server closed the
/// connection (this is all of it) rather than the reader stopping at
/// `MAX_RESPONSE`.
pub fn parse_response(raw: &[u8], complete: bool) -> Result<Response, ResponseError> {
    if raw.is_empty() {
        return Err(ResponseError::Empty);
    }
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut head = httparse::Response::new(&mut headers);
    let head_len = match head.parse(&raw[..raw.len().min(MAX_HEAD)]) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if raw.len() >= MAX_HEAD => {
            return Err(malformed(
                Part::Head,
                format!("no end of the header within {} KiB", MAX_HEAD / 1024),
            ));
        }
        Ok(httparse::Status::Partial) => {
            return Err(malformed(
                Part::Head,
                format!(
                    "it ends before the empty line that closes the header: {}",
                    quoted(raw)
                ),
            ));
        }
        Err(httparse::Error::TooManyHeaders) => {
            return Err(malformed(
                Part::Head,
                format!("more than {MAX_HEADERS} header fields"),
            ));
        }
        Err(httparse::Error::Version) => {
            return Err(malformed(
                Part::Head,
                format!("it is not HTTP/1.x: {}", quoted(raw)),
            ));
        }
        Err(e) => return Err(malformed(Part::Head, format!("{e}: {}", quoted(raw)))),
    };
    let status = head.code.unwrap_or_default();
    if !(100..=599).contains(&status) {
        return Err(malformed(
            Part::Head,
            format!("status {status} is outside 100–599"),
        ));
    }
    let reason = head.reason.unwrap_or_default().to_string();
    let fields = head
        .headers
        .iter()
        .map(|h| {
            (
                h.name.to_ascii_lowercase(),
                String::from_utf8_lossy(h.value).trim().to_string(),
            )
        })
        .collect();
    let rest = &raw[head_len..];
    let body = match framing(status, head.headers)? {
        Framing::None => Vec::new(),
        Framing::Chunked => dechunk(rest, complete)?,
        Framing::Length(length) => {
            let have = rest.len() as u64;
            if have < length {
                return Err(if complete {
                    malformed(
                        Part::Body,
                        format!(
                            "it ended after {have} of the {length} bytes of its Content-Length"
                        ),
                    )
                } else {
                    ResponseError::TooLarge
                });
            }
            // `length` fits: it is at most `rest.len()`.
            rest[..length as usize].to_vec()
        }
        Framing::UntilClose if !complete => return Err(ResponseError::TooLarge),
        Framing::UntilClose => rest.to_vec(),
    };
    Ok(Response {
        status,
        reason,
        headers: fields,
        body,
    })
}

/// The body's framing from the status and header fields (RFC 9112 §6.3):
/// none for 1xx, 204 and 304; Transfer-Encoding over Content-Length.
fn framing(status: u16, headers: &[httparse::Header]) -> Result<Framing, ResponseError> {
    if status < 200 || status == 204 || status == 304 {
        return Ok(Framing::None);
    }
    let mut length: Option<u64> = None;
    let mut encoded = None;
    for header in headers {
        if header.name.eq_ignore_ascii_case("transfer-encoding") {
            let codings = String::from_utf8_lossy(header.value).to_ascii_lowercase();
            let last = codings
                .rsplit(',')
                .next()
                .unwrap_or_default()
                .trim()
                .to_string();
            encoded = Some(last == "chunked");
        } else if header.name.eq_ignore_ascii_case("content-length") {
            let text = std::str::from_utf8(header.value).unwrap_or_default().trim();
            let value = text
                .bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| text.parse::<u64>().ok())
                .flatten()
                .ok_or_else(|| {
                    malformed(
                        Part::Head,
                        format!("Content-Length {} is not a number", quoted(header.value)),
                    )
                })?;
            if length.is_some_and(|l| l != value) {
                return Err(malformed(Part::Head, "two different Content-Length fields"));
            }
            length = Some(value);
        }
    }
    Ok(match (encoded, length) {
        (Some(true), _) => Framing::Chunked,
        // A transfer coding without chunked last: the body runs to the close.
        (Some(false), _) => Framing::UntilClose,
        (None, Some(length)) => Framing::Length(length),
        (None, None) => Framing::UntilClose,
    })
}

/// Decodes a chunked body (RFC 9112 §7.1); trailer fields are ignored.
fn dechunk(mut data: &[u8], complete: bool) -> Result<Vec<u8>, ResponseError> {
    let cut_short = |what: String| {
        if complete {
            malformed(Part::ChunkedBody, what)
        } else {
            ResponseError::TooLarge
        }
    };
    let mut body = Vec::new();
    loop {
        let line = &data[..data.len().min(MAX_CHUNK_LINE)];
        if !line.first().is_some_and(u8::is_ascii_hexdigit) {
            if line.is_empty() {
                return Err(cut_short("it ends where a chunk size should be".into()));
            }
            return Err(malformed(
                Part::ChunkedBody,
                format!("a chunk size must be hex digits, not {}", quoted(line)),
            ));
        }
        let (line_len, size) = match httparse::parse_chunk_size(line) {
            Ok(httparse::Status::Complete(parsed)) => parsed,
            Ok(httparse::Status::Partial) if line.len() == MAX_CHUNK_LINE => {
                return Err(malformed(
                    Part::ChunkedBody,
                    format!("a chunk size line longer than {MAX_CHUNK_LINE} bytes"),
                ));
            }
            Ok(httparse::Status::Partial) => {
                return Err(cut_short(format!(
                    "it ends inside a chunk size line: {}",
                    quoted(line)
                )));
            }
            Err(_) => {
                return Err(malformed(
                    Part::ChunkedBody,
                    format!("bad chunk size line {}", quoted(line)),
                ));
            }
        };
        data = &data[line_len..];
        if size == 0 {
            return Ok(body);
        }
        // Compared as u64: `size` may be far beyond usize (and the body can
        // never outgrow `raw`, which the reader caps).
        if (data.len() as u64) < size {
            return Err(cut_short(format!(
                "a chunk of {size} bytes ends after {}",
                data.len()
            )));
        }
        let size = size as usize;
        let (chunk, after) = data.split_at(size);
        match after.get(..2) {
            Some([b'\r', b'\n']) => {}
            None if after.len() < 2 && b"\r\n".starts_with(after) => {
                return Err(cut_short(format!(
                    "it ends after a chunk of {size} bytes, before its CRLF"
                )));
            }
            _ => {
                return Err(malformed(
                    Part::ChunkedBody,
                    format!(
                        "a chunk of {size} bytes is followed by {}, not CRLF",
                        quoted(after)
                    ),
                ));
            }
        }
        body.extend_from_slice(chunk);
        data = &after[2..];
    }
}

#[cfg(test)]
#[path = "http_response_tests.rs"]
mod tests;
