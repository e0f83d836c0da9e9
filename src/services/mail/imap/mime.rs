//! The MIME structure of a stored message (RFC 2045/2046), as byte ranges
//! into the message: each part's header and body, its Content-Type, and its
//! children (parts of a multipart, or the message inside message/rfc822).
//! Nothing is copied or decoded, so FETCH serves parts byte-exact. Depth and
//! part count are bounded: a hostile message degrades to leaf parts.
//!
//! Why not mail-parser (which the PCs' client uses to read mail): its part
//! offsets are the same as these ranges, but it decodes every part's body
//! (base64, quoted-printable, charsets) while parsing, so each FETCH of
//! BODYSTRUCTURE or BODY[n] would copy every attachment of the message
//! where this parser copies nothing; it opens message/rfc822 only three
//! levels deep (IMAP serves twenty here); and it gives nothing for a
//! message without a header, where IMAP still has to serve one part.

use std::ops::Range;

/// Deeper nesting is served as opaque leaves.
const MAX_DEPTH: usize = 20;
/// At most this many parts per message are split out.
const MAX_PARTS: usize = 2_000;

#[derive(Debug)]
pub struct Part {
    /// The header, including the empty line that ends it.
    pub header: Range<usize>,
    pub body: Range<usize>,
    pub content_type: ContentType,
    pub children: Children,
}

#[derive(Debug)]
pub enum Children {
    None,
    Multipart(Vec<Part>),
    Message(Box<Part>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ContentType {
    pub kind: String,
    pub subtype: String,
    pub params: Vec<(String, String)>,
}

impl ContentType {
    fn text_plain() -> ContentType {
        ContentType {
            kind: "text".into(),
            subtype: "plain".into(),
            params: vec![("charset".into(), "us-ascii".into())],
        }
    }

    fn message_rfc822() -> ContentType {
        ContentType {
            kind: "message".into(),
            subtype: "rfc822".into(),
            params: Vec::new(),
        }
    }

    pub fn is(&self, kind: &str, subtype: &str) -> bool {
        self.kind.eq_ignore_ascii_case(kind) && self.subtype.eq_ignore_ascii_case(subtype)
    }

    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The structure of a whole message.
pub fn parse(message: &[u8]) -> Part {
    let mut budget = MAX_PARTS;
    parse_part(message, 0..message.len(), false, 0, &mut budget)
}

fn parse_part(
    data: &[u8],
    range: Range<usize>,
    in_digest: bool,
    depth: usize,
    budget: &mut usize,
) -> Part {
    let (header, body) = split_header(data, range);
    let header_bytes = &data[header.clone()];
    let content_type = field_value(header_bytes, "Content-Type")
        .and_then(|value| parse_content_type(&value))
        .unwrap_or_else(|| {
            if in_digest {
                ContentType::message_rfc822()
            } else {
                ContentType::text_plain()
            }
        });
    let mut part = Part {
        header,
        body,
        content_type,
        children: Children::None,
    };
    if depth >= MAX_DEPTH || *budget == 0 {
        return part;
    }
    *budget -= 1;
    if part.content_type.kind.eq_ignore_ascii_case("multipart") {
        if let Some(boundary) = part
            .content_type
            .param("boundary")
            .filter(|b| !b.is_empty())
        {
            let digest = part.content_type.subtype.eq_ignore_ascii_case("digest");
            let children = split_multipart(data, part.body.clone(), boundary.as_bytes())
                .into_iter()
                .map(|range| parse_part(data, range, digest, depth + 1, budget))
                .collect();
            part.children = Children::Multipart(children);
        }
    } else if part.content_type.is("message", "rfc822") {
        let inner = parse_part(data, part.body.clone(), false, depth + 1, budget);
        part.children = Children::Message(Box::new(inner));
    }
    part
}

/// The range of a message's top-level header (through the empty line).
pub fn parse_header_only(message: &[u8]) -> Range<usize> {
    split_header(message, 0..message.len()).0
}

/// Header (through the empty line) and body of `range`. Without an empty
/// line everything is header.
fn split_header(data: &[u8], range: Range<usize>) -> (Range<usize>, Range<usize>) {
    let bytes = &data[range.clone()];
    let mut line_start = 0;
    while line_start < bytes.len() {
        let line_end = bytes[line_start..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(bytes.len(), |i| line_start + i + 1);
        let line = &bytes[line_start..line_end];
        if line == b"\r\n" || line == b"\n" {
            let split = range.start + line_end;
            return (range.start..split, split..range.end);
        }
        line_start = line_end;
    }
    (range.clone(), range.end..range.end)
}

/// The content ranges of a multipart body's parts: between delimiter lines
/// `--boundary`, up to the close delimiter `--boundary--` (or the end). The
/// line break before a delimiter belongs to the delimiter (RFC 2046 §5.1.1).
fn split_multipart(data: &[u8], body: Range<usize>, boundary: &[u8]) -> Vec<Range<usize>> {
    let mut parts = Vec::new();
    let mut open: Option<usize> = None;
    let mut line_start = body.start;
    while line_start < body.end {
        let line_end = data[line_start..body.end]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(body.end, |i| line_start + i + 1);
        let line = &data[line_start..line_end];
        if let Some(rest) = line
            .strip_prefix(b"--")
            .and_then(|l| l.strip_prefix(boundary))
        {
            let close = rest.starts_with(b"--");
            let rest = if close { &rest[2..] } else { rest };
            if rest.iter().all(|b| b.is_ascii_whitespace()) {
                if let Some(start) = open.take() {
                    let mut end = line_start.max(start);
                    if end > start && data[end - 1] == b'\n' {
                        end -= 1;
                        if end > start && data[end - 1] == b'\r' {
                            end -= 1;
                        }
                    }
                    parts.push(start..end);
                }
                if close || parts.len() == MAX_PARTS {
                    return parts;
                }
                open = Some(line_end);
            }
        }
        line_start = line_end;
    }
    if let Some(start) = open {
        parts.push(start..body.end);
    }
    parts
}

/// The header's fields in order: (name, whole field with its folded lines
/// and line break).
pub fn fields(header: &[u8]) -> Vec<(&[u8], &[u8])> {
    let mut fields = Vec::new();
    let mut at = 0;
    while at < header.len() {
        let mut end = at;
        loop {
            end = header[end..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(header.len(), |i| end + i + 1);
            if end >= header.len() || !matches!(header[end], b' ' | b'\t') {
                break;
            }
        }
        let field = &header[at..end];
        if let Some(colon) = field.iter().position(|&b| b == b':') {
            let name = field[..colon].trim_ascii();
            if !name.is_empty() && !name.contains(&b'\n') {
                fields.push((name, field));
            }
        }
        at = end;
    }
    fields
}

/// The unfolded value of the first field called `name`, trimmed.
pub fn field_value(header: &[u8], name: &str) -> Option<String> {
    fields(header)
        .into_iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
        .map(|(_, field)| unfold(&field[field.iter().position(|&b| b == b':').unwrap_or(0) + 1..]))
}

/// Every value of fields called `name`, unfolded.
pub fn field_values(header: &[u8], name: &str) -> Vec<String> {
    fields(header)
        .into_iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
        .map(|(_, field)| unfold(&field[field.iter().position(|&b| b == b':').unwrap_or(0) + 1..]))
        .collect()
}

fn unfold(value: &[u8]) -> String {
    let joined: Vec<u8> = value
        .iter()
        .copied()
        .filter(|&b| b != b'\r' && b != b'\n')
        .collect();
    String::from_utf8_lossy(joined.trim_ascii()).into_owned()
}

/// `type/subtype; name=value; name="quoted value" (comment)`.
pub fn parse_content_type(value: &str) -> Option<ContentType> {
    let mut items = split_params(value).into_iter();
    let full_type = items.next()?;
    let (kind, subtype) = full_type.split_once('/')?;
    let (kind, subtype) = (kind.trim(), subtype.trim());
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?=".contains(&b))
    };
    if !token(kind) || !token(subtype) {
        return None;
    }
    Some(ContentType {
        kind: kind.into(),
        subtype: subtype.into(),
        params: parse_params(items),
    })
}

/// `value; name=value` as in Content-Disposition: the value and parameters.
pub fn parse_disposition(value: &str) -> Option<(String, Vec<(String, String)>)> {
    let mut items = split_params(value).into_iter();
    let kind = items.next()?.trim().to_string();
    (!kind.is_empty()).then(|| (kind, parse_params(items)))
}

fn parse_params(items: impl Iterator<Item = String>) -> Vec<(String, String)> {
    items
        .filter_map(|item| {
            let (name, value) = item.split_once('=')?;
            let name = name.trim();
            (!name.is_empty()).then(|| (name.to_string(), value.trim().to_string()))
        })
        .collect()
}

/// Splits at `;` outside quotes, unquoting and dropping comments.
fn split_params(value: &str) -> Vec<String> {
    let mut items = vec![String::new()];
    let mut chars = value.chars();
    let mut comment_depth = 0usize;
    while let Some(c) = chars.next() {
        let current = items.last_mut().expect("never empty");
        match c {
            '(' if comment_depth < 16 => comment_depth += 1,
            ')' if comment_depth > 0 => comment_depth -= 1,
            _ if comment_depth > 0 => {}
            '"' => {
                while let Some(q) = chars.next() {
                    match q {
                        '"' => break,
                        '\\' => current.extend(chars.next()),
                        _ => current.push(q),
                    }
                }
            }
            ';' => items.push(String::new()),
            _ => current.push(c),
        }
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIXED: &[u8] = b"From: a@b\r\nContent-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n\
preamble\r\n--XX\r\n\r\nhello\r\n--XX\r\nContent-Type: message/rfc822\r\n\r\n\
Subject: inner\r\n\r\ninner body\r\n--XX--\r\nepilogue\r\n";

    #[test]
    fn multipart_parts_and_nested_message() {
        let top = parse(MIXED);
        assert!(top.content_type.is("multipart", "mixed"));
        let Children::Multipart(parts) = &top.children else {
            panic!("{top:?}")
        };
        assert_eq!(parts.len(), 2);
        assert_eq!(&MIXED[parts[0].body.clone()], b"hello");
        assert!(parts[0].content_type.is("text", "plain"));
        let Children::Message(inner) = &parts[1].children else {
            panic!()
        };
        assert_eq!(&MIXED[inner.header.clone()], b"Subject: inner\r\n\r\n");
        assert_eq!(&MIXED[inner.body.clone()], b"inner body");
    }

    #[test]
    fn headers_unfold_and_parameters_unquote() {
        let header = b"Subject: one\r\n two\r\nX: y\r\n\r\n";
        assert_eq!(field_value(header, "subject").as_deref(), Some("one two"));
        assert_eq!(fields(header).len(), 2);
        let ct = parse_content_type("Text/HTML; charset=\"utf-8\" (comment); name=a.html").unwrap();
        assert_eq!(
            (ct.kind.as_str(), ct.param("CHARSET"), ct.param("name")),
            ("Text", Some("utf-8"), Some("a.html"))
        );
        assert!(parse_content_type("garbage").is_none());
    }

    #[test]
    fn hostile_nesting_is_bounded() {
        let mut message = Vec::new();
        for _ in 0..200 {
            message.extend_from_slice(b"Content-Type: message/rfc822\r\n\r\n");
        }
        let mut depth = 0;
        let mut part = &parse(&message);
        while let Children::Message(inner) = &part.children {
            depth += 1;
            part = inner;
        }
        assert_eq!(depth, MAX_DEPTH);
        // A header without an empty line is all header.
        let lone = parse(b"Subject: x");
        assert_eq!((lone.header, lone.body), (0..10, 10..10));
    }
}
