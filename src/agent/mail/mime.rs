//! Internet messages as a PC's mail client writes and reads them: compose
//! (RFC 5322 headers, MIME multipart/mixed with base64 attachments typed by
//! their file name's extension) and
//! parse (unfolded headers, encoded words, nested multiparts, base64 and
//! quoted-printable), with caps on depth and parts for hostile input.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use std::time::SystemTime;

use crate::services::mail::date::rfc5322;

/// What a user writes in the client.
pub struct Draft<'a> {
    pub from_name: Option<&'a str>,
    pub from: &'a str,
    pub to: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    /// File name and content.
    pub attachments: &'a [(String, Vec<u8>)],
    /// Unique part of the Message-ID and boundary.
    pub token: &'a str,
}

/// The message as sent: CRLF line ends, ready for SMTP DATA.
pub fn compose(draft: &Draft, now: SystemTime) -> Vec<u8> {
    let domain = draft.from.rsplit_once('@').map_or("localhost", |(_, d)| d);
    let from = match draft.from_name {
        Some(name) if !name.is_empty() => format!("{} <{}>", encode_word(name), draft.from),
        _ => draft.from.to_string(),
    };
    let mut head = vec![
        format!("From: {from}"),
        format!("To: {}", draft.to),
        format!("Subject: {}", encode_word(draft.subject)),
        format!("Date: {}", rfc5322(now)),
        format!("Message-ID: <{}@{domain}>", draft.token),
        "MIME-Version: 1.0".to_string(),
        "User-Agent: labctl mail".to_string(),
    ];
    let text = text_part(draft.body);
    let mut out = String::new();
    if draft.attachments.is_empty() {
        head.extend(text.0);
        out.push_str(&head.join("\r\n"));
        out.push_str("\r\n\r\n");
        out.push_str(&text.1);
    } else {
        let boundary = format!("=_labctl_{}", draft.token);
        head.push(format!(
            "Content-Type: multipart/mixed; boundary=\"{boundary}\""
        ));
        out.push_str(&head.join("\r\n"));
        out.push_str("\r\n\r\nThis is a MIME message.\r\n");
        // The line break before a delimiter belongs to the delimiter
        // (RFC 2046 §5.1.1): one more keeps the text's own last line end.
        out.push_str(&format!(
            "--{boundary}\r\n{}\r\n\r\n{}\r\n",
            text.0.join("\r\n"),
            text.1
        ));
        for (name, bytes) in draft.attachments {
            let content_type = attachment_type(name, bytes);
            let name = quoted(name);
            out.push_str(&format!(
                "--{boundary}\r\nContent-Type: {content_type}; name=\"{name}\"\r\nContent-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            ));
            out.push_str(&base64_lines(bytes));
        }
        out.push_str(&format!("--{boundary}--\r\n"));
    }
    out.into_bytes()
}

/// The Content-Type a mail client gives an attachment: the one its file
/// name's extension stands for (`image/png`, `application/pdf`), and
/// `application/octet-stream` for an unknown extension or none. A text
/// type names its charset when the content is UTF-8 (ASCII included).
pub fn attachment_type(name: &str, bytes: &[u8]) -> String {
    let guessed = mime_guess::from_path(name).first_or_octet_stream();
    let essence = guessed.essence_str();
    if guessed.type_() == mime_guess::mime::TEXT && std::str::from_utf8(bytes).is_ok() {
        format!("{essence}; charset=utf-8")
    } else {
        essence.to_string()
    }
}

/// Headers and body of a text part: 7bit when it is short-lined ASCII,
/// base64 UTF-8 otherwise.
fn text_part(body: &str) -> (Vec<String>, String) {
    let normalised: String = body
        .replace("\r\n", "\n")
        .split('\n')
        .collect::<Vec<_>>()
        .join("\r\n");
    let mut text = normalised;
    if !text.ends_with("\r\n") {
        text.push_str("\r\n");
    }
    if text.is_ascii() && text.split("\r\n").all(|l| l.len() <= 998) {
        (
            vec![
                "Content-Type: text/plain; charset=us-ascii".into(),
                "Content-Transfer-Encoding: 7bit".into(),
            ],
            text,
        )
    } else {
        (
            vec![
                "Content-Type: text/plain; charset=utf-8".into(),
                "Content-Transfer-Encoding: base64".into(),
            ],
            base64_lines(text.as_bytes()),
        )
    }
}

fn base64_lines(bytes: &[u8]) -> String {
    let encoded = BASE64.encode(bytes);
    let mut out = String::with_capacity(encoded.len() + encoded.len() / 76 * 2 + 2);
    for chunk in encoded.as_bytes().chunks(76) {
        out.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        out.push_str("\r\n");
    }
    out
}

/// A header value as is when it is plain ASCII, else an RFC 2047 word.
fn encode_word(text: &str) -> String {
    if text.is_ascii() && !text.contains(['\r', '\n']) {
        text.to_string()
    } else {
        format!(
            "=?utf-8?B?{}?=",
            BASE64.encode(text.replace(['\r', '\n'], " "))
        )
    }
}

fn quoted(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, '"' | '\\' | '\r' | '\n'))
        .collect()
}

/// A message as a reader sees it.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    /// Unfolded headers in order, names as written.
    pub headers: Vec<(String, String)>,
    /// The first text/plain part (or the body of a single-part message).
    pub text: String,
    pub attachments: Vec<Attachment>,
}

#[derive(Debug, PartialEq, Eq)]
pub struct Attachment {
    pub name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

impl Parsed {
    /// A header's value with encoded words decoded.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| decode_words(v))
    }
}

/// Parts deeper than this are not opened.
const MAX_DEPTH: usize = 8;
/// Parts beyond this many are ignored.
const MAX_PARTS: usize = 100;

pub fn parse(raw: &[u8]) -> Parsed {
    let mut parsed = Parsed::default();
    let (headers, body) = split_message(raw);
    parsed.headers = headers.clone();
    let mut parts = 0;
    walk(&headers, body, 0, &mut parts, &mut parsed);
    parsed
}

fn walk(
    headers: &[(String, String)],
    body: &[u8],
    depth: usize,
    parts: &mut usize,
    out: &mut Parsed,
) {
    *parts += 1;
    if *parts > MAX_PARTS || depth > MAX_DEPTH {
        return;
    }
    let content_type = header_of(headers, "content-type").unwrap_or_else(|| "text/plain".into());
    let (mime, params) = split_params(&content_type);
    if mime.starts_with("multipart/") {
        if let Some(boundary) = param(&params, "boundary") {
            for part in split_multipart(body, &boundary) {
                let (h, b) = split_message(part);
                walk(&h, b, depth + 1, parts, out);
            }
        }
        return;
    }
    let encoding = header_of(headers, "content-transfer-encoding")
        .unwrap_or_default()
        .to_ascii_lowercase();
    let decoded = match encoding.trim() {
        "base64" => {
            let clean: Vec<u8> = body
                .iter()
                .copied()
                .filter(|b| !b.is_ascii_whitespace())
                .collect();
            BASE64.decode(clean).unwrap_or_default()
        }
        "quoted-printable" => decode_quoted_printable(body),
        _ => body.to_vec(),
    };
    let disposition = header_of(headers, "content-disposition").unwrap_or_default();
    let (disposition_kind, disposition_params) = split_params(&disposition);
    let name = param(&disposition_params, "filename").or_else(|| param(&params, "name"));
    let is_text = mime == "text/plain" || (mime == "text/html" && out.text.is_empty());
    if disposition_kind == "attachment" || name.is_some() || !is_text {
        out.attachments.push(Attachment {
            name: name
                .map(|n| decode_words(&n))
                .unwrap_or_else(|| "unnamed".into()),
            content_type: mime,
            bytes: decoded,
        });
    } else if out.text.is_empty() {
        out.text = String::from_utf8_lossy(&decoded).replace("\r\n", "\n");
    }
}

/// Headers (unfolded) and body of a message or part.
fn split_message(raw: &[u8]) -> (Vec<(String, String)>, &[u8]) {
    let mut headers: Vec<(String, String)> = Vec::new();
    let mut rest = raw;
    loop {
        let (line, next) = match rest.iter().position(|&b| b == b'\n') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &rest[rest.len()..]),
        };
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            return (headers, next);
        }
        let text = String::from_utf8_lossy(line);
        if text.starts_with([' ', '\t']) {
            if let Some(last) = headers.last_mut() {
                last.1.push(' ');
                last.1.push_str(text.trim());
            }
        } else if let Some((name, value)) = text.split_once(':') {
            headers.push((name.trim().to_string(), value.trim().to_string()));
        } else {
            // Not a header: the message has no header block.
            return (headers, rest);
        }
        if next.is_empty() {
            return (headers, next);
        }
        rest = next;
    }
}

fn header_of(headers: &[(String, String)], name: &str) -> Option<String> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.clone())
}

/// `type/subtype; a=b; c="d"` → lowercased type and its parameters.
fn split_params(value: &str) -> (String, Vec<(String, String)>) {
    let mut pieces = value.split(';');
    let kind = pieces
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let params = pieces
        .filter_map(|p| {
            let (k, v) = p.split_once('=')?;
            Some((
                k.trim().to_ascii_lowercase(),
                v.trim().trim_matches('"').to_string(),
            ))
        })
        .collect();
    (kind, params)
}

fn param(params: &[(String, String)], name: &str) -> Option<String> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}

/// The parts between `--boundary` lines, up to `--boundary--`.
fn split_multipart<'a>(body: &'a [u8], boundary: &str) -> Vec<&'a [u8]> {
    let delimiter = format!("--{boundary}");
    let mut parts = Vec::new();
    let mut start: Option<usize> = None;
    let mut offset = 0;
    for line in body.split_inclusive(|&b| b == b'\n') {
        let trimmed = line.strip_suffix(b"\n").unwrap_or(line);
        let trimmed = trimmed.strip_suffix(b"\r").unwrap_or(trimmed);
        if trimmed.starts_with(delimiter.as_bytes()) {
            let closing = trimmed[delimiter.len()..].starts_with(b"--");
            if let Some(s) = start {
                // The line break before a delimiter belongs to it.
                let mut end = offset;
                if body[..end].ends_with(b"\n") {
                    end -= 1;
                }
                if body[..end].ends_with(b"\r") {
                    end -= 1;
                }
                parts.push(&body[s..end.max(s)]);
            }
            if closing || parts.len() >= MAX_PARTS {
                return parts;
            }
            start = Some(offset + line.len());
        }
        offset += line.len();
    }
    parts
}

fn decode_quoted_printable(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        match body[i] {
            b'=' if body.get(i + 1) == Some(&b'\r') && body.get(i + 2) == Some(&b'\n') => i += 3,
            b'=' if body.get(i + 1) == Some(&b'\n') => i += 2,
            b'=' => match body
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok())
            {
                Some(byte) => {
                    out.push(byte);
                    i += 3;
                }
                None => {
                    out.push(b'=');
                    i += 1;
                }
            },
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// Decodes RFC 2047 encoded words (`=?utf-8?B?…?=`, `=?iso-8859-1?Q?…?=`).
pub fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    let mut last_was_word = false;
    while let Some(start) = rest.find("=?") {
        let after = &rest[start + 2..];
        let decoded = (|| {
            let (charset, after) = after.split_once('?')?;
            let (encoding, after) = after.split_once('?')?;
            let end = after.find("?=")?;
            let text = &after[..end];
            let bytes = match encoding.to_ascii_uppercase().as_str() {
                "B" => BASE64.decode(text).ok()?,
                "Q" => decode_quoted_printable(text.replace('_', " ").as_bytes()),
                _ => return None,
            };
            let text = if charset.eq_ignore_ascii_case("iso-8859-1")
                || charset.eq_ignore_ascii_case("latin1")
            {
                bytes.iter().map(|&b| b as char).collect()
            } else {
                String::from_utf8_lossy(&bytes).into_owned()
            };
            Some((text, charset.len() + encoding.len() + end + 6))
        })();
        match decoded {
            Some((text, used)) => {
                let before = &rest[..start];
                // Whitespace between two encoded words is not shown.
                if !(last_was_word && before.trim().is_empty()) {
                    out.push_str(before);
                }
                out.push_str(&text);
                last_was_word = true;
                rest = &rest[start + used..];
            }
            None => {
                out.push_str(&rest[..start + 2]);
                last_was_word = false;
                rest = &rest[start + 2..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn composes_and_parses_back_with_an_attachment() {
        let bytes: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
        let attachments = vec![("data.bin".to_string(), bytes.clone())];
        let draft = Draft {
            from_name: Some("Ada Lovelace"),
            from: "ada@cbrc.com",
            to: "bob@mt.com",
            subject: "Grüße [labctl 42]",
            body: "Hello Bob,\nsee attached.\n.\nA line with a dot.",
            attachments: &attachments,
            token: "tok42",
        };
        let raw = compose(&draft, SystemTime::UNIX_EPOCH);
        let text = String::from_utf8(raw.clone()).unwrap();
        assert!(text.lines().all(|l| l.len() <= 998));
        assert!(
            !text.replace("\r\n", "").contains('\n'),
            "only CRLF line ends"
        );
        let parsed = parse(&raw);
        assert_eq!(parsed.header("subject").unwrap(), "Grüße [labctl 42]");
        assert_eq!(
            parsed.header("From").unwrap(),
            "Ada Lovelace <ada@cbrc.com>"
        );
        assert_eq!(parsed.header("message-id").unwrap(), "<tok42@cbrc.com>");
        assert_eq!(
            parsed.text,
            "Hello Bob,\nsee attached.\n.\nA line with a dot.\n"
        );
        assert_eq!(parsed.attachments.len(), 1);
        assert_eq!(parsed.attachments[0].name, "data.bin");
        assert_eq!(parsed.attachments[0].bytes, bytes);
    }

    #[test]
    fn attachments_are_typed_as_a_mail_client_types_them() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        let attachments = vec![
            ("photo.png".to_string(), png.clone()),
            ("Lecture 5.PDF".to_string(), b"%PDF-1.7\n".to_vec()),
            ("notes.txt".to_string(), "Grüße\n".as_bytes().to_vec()),
            ("index.html".to_string(), b"<p>hi</p>\n".to_vec()),
            ("data.xyz123".to_string(), vec![0, 1, 2]),
            ("Makefile".to_string(), b"all:\n".to_vec()),
        ];
        let draft = Draft {
            from_name: None,
            from: "ada@mt.com",
            to: "bob@mt.com",
            subject: "types",
            body: "see attached",
            attachments: &attachments,
            token: "tok7",
        };
        let raw = String::from_utf8(compose(&draft, SystemTime::UNIX_EPOCH)).unwrap();
        for header in [
            "Content-Type: image/png; name=\"photo.png\"\r\n",
            "Content-Type: application/pdf; name=\"Lecture 5.PDF\"\r\n",
            "Content-Type: text/plain; charset=utf-8; name=\"notes.txt\"\r\n",
            "Content-Type: text/html; charset=utf-8; name=\"index.html\"\r\n",
            "Content-Type: application/octet-stream; name=\"data.xyz123\"\r\n",
            "Content-Type: application/octet-stream; name=\"Makefile\"\r\n",
        ] {
            assert!(raw.contains(header), "{header:?} missing from\n{raw}");
        }
        let parsed = parse(raw.as_bytes());
        let types: Vec<&str> = parsed
            .attachments
            .iter()
            .map(|a| a.content_type.as_str())
            .collect();
        assert_eq!(
            types,
            [
                "image/png",
                "application/pdf",
                "text/plain",
                "text/html",
                "application/octet-stream",
                "application/octet-stream"
            ]
        );
        assert_eq!(parsed.attachments[0].bytes, png);
        assert_eq!(parsed.attachments[2].bytes, "Grüße\n".as_bytes());
        // Text that is not UTF-8 claims no charset.
        assert_eq!(attachment_type("latin1.txt", b"caf\xe9"), "text/plain");
    }

    #[test]
    fn reads_foreign_messages() {
        let raw = b"Subject: =?iso-8859-1?Q?caf=E9?= =?utf-8?B?w6k=?=\r\nContent-Type: multipart/mixed;\r\n boundary=\"XX\"\r\n\r\npreamble\r\n--XX\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nsoft=\r\nbreak =3D ok\r\n--XX\r\nContent-Type: image/png\r\n\r\nPNG\r\n--XX--\r\n";
        let parsed = parse(raw);
        assert_eq!(parsed.header("subject").unwrap(), "caféé");
        assert_eq!(parsed.text, "softbreak = ok");
        assert_eq!(parsed.attachments[0].content_type, "image/png");
        assert_eq!(parsed.attachments[0].bytes, b"PNG");
    }

    #[test]
    fn survives_garbage() {
        for raw in [
            &b""[..],
            b"\r\n",
            b"no header at all",
            b"Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\n--a\r\n",
            &[0xff; 64],
        ] {
            let _ = parse(raw);
        }
        let mut deep = String::new();
        for i in 0..50 {
            deep.push_str(&format!(
                "Content-Type: multipart/mixed; boundary=b{i}\r\n\r\n--b{i}\r\n"
            ));
        }
        let _ = parse(deep.as_bytes());
    }
}
