//! FETCH responses (RFC 3501 §6.4.5, §7.4.2): one message's data items,
//! rendered from its metadata and, when an item needs it, its stored octets.
//! Sections (`BODY[1.2.MIME]`, `BODY[HEADER.FIELDS (…)]`, partials) are
//! slices of the stored message, so attachments go out byte-exact.

use std::borrow::Cow;

use super::command::{BodyRequest, FetchItem, Rfc822Label, Section, SectionText};
use super::mime::{self, Children, Part};
use super::response::{push_astring, push_flags, push_literal, push_string};
use super::structure::{push_envelope, push_structure};
use crate::services::mail::date;
use crate::services::mail::store::MessageMeta;

/// Whether any item needs the message's content (not only its metadata).
pub fn needs_content(items: &[FetchItem]) -> bool {
    items.iter().any(|item| {
        matches!(
            item,
            FetchItem::Envelope | FetchItem::Structure { .. } | FetchItem::Body(_)
        )
    })
}

/// Whether fetching `items` sets `\Seen` (a BODY[…] without .PEEK, RFC822,
/// RFC822.TEXT).
pub fn sets_seen(items: &[FetchItem]) -> bool {
    items
        .iter()
        .any(|item| matches!(item, FetchItem::Body(BodyRequest { peek: false, .. })))
}

/// Whether any item needs the MIME structure (anything but the whole
/// message and metadata).
fn needs_structure(items: &[FetchItem]) -> bool {
    items.iter().any(|item| match item {
        FetchItem::Envelope | FetchItem::Structure { .. } => true,
        FetchItem::Body(request) => {
            request.section
                != Section {
                    part: Vec::new(),
                    text: SectionText::Full,
                }
        }
        _ => false,
    })
}

/// What one FETCH response is made from.
pub struct FetchContext<'a> {
    pub sequence: u32,
    pub meta: &'a MessageMeta,
    pub recent: bool,
    /// The stored message, when `needs_content`.
    pub content: Option<&'a [u8]>,
    /// UID FETCH: UID is sent even when not asked for.
    pub with_uid: bool,
}

/// `* 3 FETCH (UID 7 FLAGS (\Seen) BODY[] {…}…)` with its line break.
pub fn push_fetch(out: &mut Vec<u8>, context: &FetchContext, items: &[FetchItem]) {
    let message = context.content.unwrap_or_default();
    // The whole message (BODY[], RFC822) is served without parsing it.
    let parsed = context
        .content
        .filter(|_| needs_structure(items))
        .map(mime::parse);
    out.extend_from_slice(format!("* {} FETCH (", context.sequence).as_bytes());
    let mut first = true;
    let mut separate = |out: &mut Vec<u8>| {
        if !std::mem::take(&mut first) {
            out.push(b' ');
        }
    };
    if context.with_uid && !items.contains(&FetchItem::Uid) {
        separate(out);
        out.extend_from_slice(format!("UID {}", context.meta.uid).as_bytes());
    }
    for item in items {
        separate(out);
        match item {
            FetchItem::Uid => out.extend_from_slice(format!("UID {}", context.meta.uid).as_bytes()),
            FetchItem::Flags => {
                out.extend_from_slice(b"FLAGS ");
                push_flags(out, &context.meta.flags, context.recent);
            }
            FetchItem::InternalDate => {
                out.extend_from_slice(b"INTERNALDATE ");
                push_string(
                    out,
                    date::format_date_time(context.meta.internal_date).as_bytes(),
                );
            }
            FetchItem::Rfc822Size => {
                out.extend_from_slice(format!("RFC822.SIZE {}", context.meta.size).as_bytes())
            }
            FetchItem::Envelope => {
                out.extend_from_slice(b"ENVELOPE ");
                if let Some(part) = &parsed {
                    push_envelope(out, message, part);
                }
            }
            FetchItem::Structure { extensible } => {
                out.extend_from_slice(if *extensible {
                    b"BODYSTRUCTURE "
                } else {
                    b"BODY "
                });
                if let Some(part) = &parsed {
                    push_structure(out, message, part, *extensible);
                }
            }
            FetchItem::Body(request) => {
                push_body_label(out, request);
                out.push(b' ');
                let data = match &parsed {
                    Some(part) => section_data(message, part, &request.section),
                    None => Cow::Borrowed(message),
                };
                let data = match request.partial {
                    Some((origin, count)) => {
                        let start = (origin as usize).min(data.len());
                        let end = start.saturating_add(count as usize).min(data.len());
                        &data[start..end]
                    }
                    None => &data[..],
                };
                push_literal(out, data);
            }
        }
    }
    out.extend_from_slice(b")\r\n");
}

fn push_body_label(out: &mut Vec<u8>, request: &BodyRequest) {
    match request.legacy {
        Some(Rfc822Label::Whole) => return out.extend_from_slice(b"RFC822"),
        Some(Rfc822Label::Header) => return out.extend_from_slice(b"RFC822.HEADER"),
        Some(Rfc822Label::Text) => return out.extend_from_slice(b"RFC822.TEXT"),
        None => {}
    }
    out.extend_from_slice(b"BODY[");
    let section = &request.section;
    let path: Vec<String> = section.part.iter().map(u32::to_string).collect();
    out.extend_from_slice(path.join(".").as_bytes());
    if !section.part.is_empty() && section.text != SectionText::Full {
        out.push(b'.');
    }
    match &section.text {
        SectionText::Full => {}
        SectionText::Header => out.extend_from_slice(b"HEADER"),
        SectionText::Text => out.extend_from_slice(b"TEXT"),
        SectionText::Mime => out.extend_from_slice(b"MIME"),
        SectionText::HeaderFields { fields, not } => {
            out.extend_from_slice(if *not {
                b"HEADER.FIELDS.NOT ("
            } else {
                b"HEADER.FIELDS ("
            });
            for (i, field) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                push_astring(out, field.as_bytes());
            }
            out.push(b')');
        }
    }
    out.push(b']');
    if let Some((origin, _)) = request.partial {
        out.extend_from_slice(format!("<{origin}>").as_bytes());
    }
}

/// The octets a section names; empty when the message has no such part.
fn section_data<'a>(message: &'a [u8], root: &Part, section: &Section) -> Cow<'a, [u8]> {
    let Some(part) = locate(root, &section.part) else {
        return Cow::Borrowed(&[]);
    };
    if section.part.is_empty() && section.text == SectionText::Full {
        return Cow::Borrowed(message);
    }
    // HEADER and TEXT of a part mean those of the message it encapsulates.
    let enclosed = match (&part.children, section.part.is_empty()) {
        (_, true) => Some(part),
        (Children::Message(inner), false) => Some(&**inner),
        _ => None,
    };
    let slice = |range: std::ops::Range<usize>| Cow::Borrowed(&message[range]);
    match &section.text {
        SectionText::Full => slice(part.body.clone()),
        SectionText::Mime => slice(part.header.clone()),
        SectionText::Header => enclosed.map_or(Cow::Borrowed(&[][..]), |m| slice(m.header.clone())),
        SectionText::Text => enclosed.map_or(Cow::Borrowed(&[][..]), |m| slice(m.body.clone())),
        SectionText::HeaderFields { fields, not } => enclosed.map_or(Cow::Borrowed(&[][..]), |m| {
            Cow::Owned(header_fields(&message[m.header.clone()], fields, *not))
        }),
    }
}

/// The part at `path` (1-based numbers, RFC 3501 §6.4.5): the parts of a
/// multipart, or of the message inside a message/rfc822; a non-multipart
/// body is its own part 1.
fn locate<'a>(root: &'a Part, path: &[u32]) -> Option<&'a Part> {
    let mut current = root;
    for (depth, &number) in path.iter().enumerate() {
        let container = match &current.children {
            Children::Message(inner) if depth > 0 => &**inner,
            _ => current,
        };
        current = match &container.children {
            Children::Multipart(parts) if !parts.is_empty() => parts.get(number as usize - 1)?,
            _ if number == 1 && (depth == 0 || !std::ptr::eq(container, current)) => container,
            _ => return None,
        };
    }
    Some(current)
}

/// The fields named (or, with `not`, all others), then the empty line.
fn header_fields(header: &[u8], names: &[String], not: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, field) in mime::fields(header) {
        let named = names
            .iter()
            .any(|n| n.as_bytes().eq_ignore_ascii_case(name));
        if named != not {
            out.extend_from_slice(field);
        }
    }
    out.extend_from_slice(b"\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::mail::imap::command::CommandBody;
    use crate::services::mail::imap::parser;
    use crate::services::mail::store::Flag;
    use std::time::{Duration, UNIX_EPOCH};

    const MESSAGE: &[u8] = b"From: ada@mt.com\r\nSubject: parts\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n\
--b\r\nContent-Type: text/plain\r\n\r\nfirst\r\n--b\r\nContent-Type: message/rfc822\r\n\r\n\
Subject: inner\r\nContent-Type: multipart/alternative; boundary=c\r\n\r\n--c\r\n\r\nplain\r\n--c\r\n\
Content-Type: text/html\r\n\r\n<p>html</p>\r\n--c--\r\n--b--\r\n";

    fn fetch(items: &str, message: &[u8]) -> String {
        let CommandBody::Fetch { items, .. } =
            parser::parse(format!("t FETCH 1 {items}").as_bytes())
                .unwrap()
                .body
        else {
            panic!()
        };
        let meta = MessageMeta {
            uid: 42,
            size: message.len() as u64,
            flags: vec![Flag::Seen],
            internal_date: UNIX_EPOCH + Duration::from_secs(86_400),
        };
        let context = FetchContext {
            sequence: 3,
            meta: &meta,
            recent: false,
            content: Some(message),
            with_uid: true,
        };
        let mut out = Vec::new();
        push_fetch(&mut out, &context, &items);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn metadata_items() {
        assert_eq!(
            fetch("(FLAGS INTERNALDATE RFC822.SIZE)", MESSAGE),
            format!(
                "* 3 FETCH (UID 42 FLAGS (\\Seen) INTERNALDATE \"02-Jan-1970 00:00:00 +0000\" RFC822.SIZE {})\r\n",
                MESSAGE.len()
            )
        );
    }

    #[test]
    fn sections_by_part_path() {
        assert!(fetch("BODY[1]", MESSAGE).ends_with("BODY[1] {5}\r\nfirst)\r\n"));
        assert!(
            fetch("BODY[1.MIME]", MESSAGE)
                .ends_with("BODY[1.MIME] {28}\r\nContent-Type: text/plain\r\n\r\n)\r\n")
        );
        assert!(
            fetch("BODY.PEEK[2.HEADER.FIELDS (SUBJECT)]", MESSAGE)
                .ends_with("BODY[2.HEADER.FIELDS (SUBJECT)] {18}\r\nSubject: inner\r\n\r\n)\r\n")
        );
        assert!(fetch("BODY[2.1]", MESSAGE).ends_with("BODY[2.1] {5}\r\nplain)\r\n"));
        assert!(fetch("BODY[2.2]", MESSAGE).ends_with("BODY[2.2] {11}\r\n<p>html</p>)\r\n"));
        assert!(fetch("BODY[2.2.MIME]", MESSAGE).contains("Content-Type: text/html"));
        assert!(fetch("BODY[3]", MESSAGE).ends_with("BODY[3] {0}\r\n)\r\n"));
        assert!(fetch("BODY[]<6.3>", MESSAGE).ends_with("BODY[]<6> {3}\r\nada)\r\n"));
        let whole = fetch("RFC822", MESSAGE);
        assert!(whole.ends_with(&format!(
            "RFC822 {{{}}}\r\n{})\r\n",
            MESSAGE.len(),
            String::from_utf8_lossy(MESSAGE)
        )));
        assert!(fetch("RFC822.HEADER", MESSAGE).contains("RFC822.HEADER {"));
        assert!(
            fetch("BODY.PEEK[HEADER.FIELDS.NOT (Content-Type From)]", MESSAGE)
                .ends_with("{18}\r\nSubject: parts\r\n\r\n)\r\n")
        );
    }

    #[test]
    fn single_part_message_is_its_own_part_one() {
        let simple = b"Subject: s\r\n\r\nhello\r\n";
        assert!(fetch("BODY[1]", simple).ends_with("BODY[1] {7}\r\nhello\r\n)\r\n"));
        assert!(fetch("BODY[TEXT]", simple).ends_with("BODY[TEXT] {7}\r\nhello\r\n)\r\n"));
        assert!(fetch("BODY[1.1]", simple).ends_with("BODY[1.1] {0}\r\n)\r\n"));
    }
}
