//! Internet messages as a PC's mail client writes and reads them. Compose:
//! RFC 5322 headers, MIME multipart/mixed with base64 attachments typed by
//! their file name's extension; ours rather than mail-builder's, because
//! the boundary and Message-ID come from the check's token and the layout
//! is what the checks and tests expect byte for byte. Parse: mail-parser
//! (unfolded headers, RFC 2047 words, RFC 2231 names, nested multiparts,
//! base64 and quoted-printable, charsets; fuzzed, bounded on hostile input).

use std::time::SystemTime;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use mail_parser::decoders::base64::base64_decode;
use mail_parser::decoders::quoted_printable::quoted_printable_decode;
use mail_parser::{Encoding, HeaderValue, MessageParser, MessagePart, MimeHeaders};

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
    /// Unfolded headers in order, names as written, encoded words decoded.
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
    /// A header's value (encoded words decoded).
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    }
}

/// Reads a message with mail-parser: every header as unstructured text (so
/// `From` reads as written, `Ada <ada@cbrc.com>`), MIME headers parsed so
/// bodies are decoded. Parts are taken in order: the first text part that
/// is neither named nor an attachment is the text; every other leaf part,
/// a nested message included, is an attachment with its bytes as sent
/// (transfer encoding undone, no charset conversion).
pub fn parse(raw: &[u8]) -> Parsed {
    let parser = MessageParser::new()
        .with_mime_headers()
        .default_header_text();
    let Some(message) = parser.parse(raw) else {
        // No header at all: the whole message is its text.
        return Parsed {
            text: String::from_utf8_lossy(raw).replace("\r\n", "\n"),
            ..Parsed::default()
        };
    };
    let mut parsed = Parsed {
        headers: message
            .headers()
            .iter()
            .map(|h| (h.name.as_str().to_string(), header_text(&h.value)))
            .collect(),
        ..Parsed::default()
    };
    for part in message.parts.iter().filter(|p| !p.is_multipart()) {
        let content_type = part.content_type().map_or_else(
            || "text/plain".to_string(),
            |ct| {
                let mut essence = ct.ctype().to_ascii_lowercase();
                if let Some(subtype) = ct.subtype() {
                    essence.push('/');
                    essence.push_str(&subtype.to_ascii_lowercase());
                }
                essence
            },
        );
        let name = part.attachment_name();
        let attached = part
            .content_disposition()
            .is_some_and(|d| d.is_attachment());
        let is_text =
            content_type == "text/plain" || (content_type == "text/html" && parsed.text.is_empty());
        if attached || name.is_some() || !is_text {
            parsed.attachments.push(Attachment {
                name: name.unwrap_or("unnamed").to_string(),
                content_type,
                bytes: as_sent(raw, part),
            });
        } else if parsed.text.is_empty() {
            parsed.text = part
                .text_contents()
                .unwrap_or_default()
                .replace("\r\n", "\n");
        }
    }
    parsed
}

fn header_text(value: &HeaderValue) -> String {
    match value {
        HeaderValue::Text(text) => text.to_string(),
        HeaderValue::TextList(texts) => texts.join(", "),
        _ => String::new(),
    }
}

/// A part's content with its transfer encoding undone but no charset
/// conversion: mail-parser turns text parts into UTF-8, and an attached
/// text file must keep its bytes.
fn as_sent(raw: &[u8], part: &MessagePart) -> Vec<u8> {
    if !part.is_text() {
        return part.contents().to_vec();
    }
    let body = raw
        .get(part.offset_body as usize..part.offset_end as usize)
        .unwrap_or_default();
    let decoded = match part.encoding {
        Encoding::Base64 => base64_decode(body),
        Encoding::QuotedPrintable => quoted_printable_decode(body),
        Encoding::None => Some(body.to_vec()),
    };
    decoded.unwrap_or_else(|| part.contents().to_vec())
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

    #[test]
    fn attached_text_keeps_its_bytes() {
        let raw = b"Subject: files\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nbody\r\n--b\r\nContent-Type: text/plain; name=\"latin1.txt\"\r\nContent-Transfer-Encoding: 8bit\r\n\r\ncaf\xe9\r\n--b\r\nContent-Type: text/plain; charset=iso-8859-1; name=\"q.txt\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\ncaf=E9=\r\n!\r\n--b--\r\n";
        let parsed = parse(raw);
        assert_eq!(parsed.text, "body");
        let bytes: Vec<&[u8]> = parsed
            .attachments
            .iter()
            .map(|a| a.bytes.as_slice())
            .collect();
        assert_eq!(bytes, [&b"caf\xe9"[..], b"caf\xe9!"]);
    }
}
