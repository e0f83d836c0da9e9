//! ENVELOPE and BODY/BODYSTRUCTURE (RFC 3501 §7.4.2) rendered from a parsed
//! message: header values are sent as they are stored (encoded words stay
//! encoded, as in every IMAP server), sizes and line counts are the stored
//! octets.

use super::address::{self, Address};
use super::mime::{self, Children, Part};
use super::response::{push_nstring, push_string};

/// `(date subject from sender reply-to to cc bcc in-reply-to message-id)`.
pub fn push_envelope(out: &mut Vec<u8>, message: &[u8], part: &Part) {
    let header = &message[part.header.clone()];
    let value = |name| mime::field_value(header, name);
    out.push(b'(');
    push_nstring(out, value("Date").as_deref().map(str::as_bytes));
    out.push(b' ');
    push_nstring(out, value("Subject").as_deref().map(str::as_bytes));
    let from = address_fields(header, "From");
    for (i, name) in ["From", "Sender", "Reply-To", "To", "Cc", "Bcc"]
        .into_iter()
        .enumerate()
    {
        out.push(b' ');
        let list = address_fields(header, name);
        // Sender and Reply-To default to From (RFC 3501 §7.4.2).
        let list = if (i == 1 || i == 2) && list.is_empty() {
            &from
        } else {
            &list
        };
        push_address_list(out, list);
    }
    out.push(b' ');
    push_nstring(out, value("In-Reply-To").as_deref().map(str::as_bytes));
    out.push(b' ');
    push_nstring(out, value("Message-ID").as_deref().map(str::as_bytes));
    out.push(b')');
}

fn address_fields(header: &[u8], name: &str) -> Vec<Address> {
    mime::field_values(header, name)
        .iter()
        .flat_map(|v| address::parse_list(v))
        .collect()
}

fn push_address_list(out: &mut Vec<u8>, list: &[Address]) {
    if list.is_empty() {
        out.extend_from_slice(b"NIL");
        return;
    }
    out.push(b'(');
    for address in list {
        out.push(b'(');
        match address {
            Address::Mailbox {
                name,
                local,
                domain,
            } => {
                push_nstring(out, name.as_deref().map(str::as_bytes));
                out.extend_from_slice(b" NIL ");
                push_string(out, local.as_bytes());
                out.push(b' ');
                push_string(out, domain.as_bytes());
            }
            Address::GroupStart(name) => {
                out.extend_from_slice(b"NIL NIL ");
                push_string(out, name.as_bytes());
                out.extend_from_slice(b" NIL");
            }
            Address::GroupEnd => out.extend_from_slice(b"NIL NIL NIL NIL"),
        }
        out.push(b')');
    }
    out.push(b')');
}

/// BODY (`extensible` false) or BODYSTRUCTURE (true) of `part`.
pub fn push_structure(out: &mut Vec<u8>, message: &[u8], part: &Part, extensible: bool) {
    let header = &message[part.header.clone()];
    let value = |name| mime::field_value(header, name);
    out.push(b'(');
    if let Children::Multipart(children) = &part.children
        && !children.is_empty()
    {
        for child in children {
            push_structure(out, message, child, extensible);
        }
        out.push(b' ');
        push_string(out, part.content_type.subtype.as_bytes());
        if extensible {
            out.push(b' ');
            push_params(out, &part.content_type.params);
            push_extension(out, header);
        }
        out.push(b')');
        return;
    }
    let body = &message[part.body.clone()];
    push_string(out, part.content_type.kind.as_bytes());
    out.push(b' ');
    push_string(out, part.content_type.subtype.as_bytes());
    out.push(b' ');
    push_params(out, &part.content_type.params);
    for name in ["Content-ID", "Content-Description"] {
        out.push(b' ');
        push_nstring(out, value(name).as_deref().map(str::as_bytes));
    }
    out.push(b' ');
    let encoding = value("Content-Transfer-Encoding").unwrap_or_else(|| "7BIT".into());
    push_string(out, encoding.as_bytes());
    out.extend_from_slice(format!(" {}", body.len()).as_bytes());
    let lines = body.iter().filter(|&&b| b == b'\n').count();
    if let Children::Message(inner) = &part.children {
        out.push(b' ');
        push_envelope(out, message, inner);
        out.push(b' ');
        push_structure(out, message, inner, extensible);
        out.extend_from_slice(format!(" {lines}").as_bytes());
    } else if part.content_type.kind.eq_ignore_ascii_case("text") {
        out.extend_from_slice(format!(" {lines}").as_bytes());
    }
    if extensible {
        out.push(b' ');
        push_nstring(out, value("Content-MD5").as_deref().map(str::as_bytes));
        push_extension(out, header);
    }
    out.push(b')');
}

fn push_params(out: &mut Vec<u8>, params: &[(String, String)]) {
    if params.is_empty() {
        out.extend_from_slice(b"NIL");
        return;
    }
    out.push(b'(');
    for (i, (name, value)) in params.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        push_string(out, name.as_bytes());
        out.push(b' ');
        push_string(out, value.as_bytes());
    }
    out.push(b')');
}

/// ` disposition language location`, shared by both kinds of body.
fn push_extension(out: &mut Vec<u8>, header: &[u8]) {
    let value = |name| mime::field_value(header, name);
    out.push(b' ');
    match value("Content-Disposition")
        .as_deref()
        .and_then(mime::parse_disposition)
    {
        Some((kind, params)) => {
            out.push(b'(');
            push_string(out, kind.as_bytes());
            out.push(b' ');
            push_params(out, &params);
            out.push(b')');
        }
        None => out.extend_from_slice(b"NIL"),
    }
    for name in ["Content-Language", "Content-Location"] {
        out.push(b' ');
        push_nstring(out, value(name).as_deref().map(str::as_bytes));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(message: &[u8], render: fn(&mut Vec<u8>, &[u8], &Part)) -> String {
        let part = mime::parse(message);
        let mut out = Vec::new();
        render(&mut out, message, &part);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn envelope_defaults_sender_and_reply_to_to_from() {
        let message = b"Date: Tue, 1 Dec 2026 08:00:00 +0000\r\nFrom: Ada <ada@mt.com>\r\n\
To: bob@mt.com, team: carl@mt.com;\r\nSubject: Hi \"there\"\r\nMessage-ID: <1@mt.com>\r\n\r\nbody\r\n";
        assert_eq!(
            rendered(message, push_envelope),
            "(\"Tue, 1 Dec 2026 08:00:00 +0000\" \"Hi \\\"there\\\"\" ((\"Ada\" NIL \"ada\" \"mt.com\")) \
((\"Ada\" NIL \"ada\" \"mt.com\")) ((\"Ada\" NIL \"ada\" \"mt.com\")) \
((NIL NIL \"bob\" \"mt.com\")(NIL NIL \"team\" NIL)(NIL NIL \"carl\" \"mt.com\")(NIL NIL NIL NIL)) \
NIL NIL NIL \"<1@mt.com>\")"
        );
    }

    #[test]
    fn bodystructure_of_a_message_with_an_attachment() {
        let message = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
Content-Type: text/plain; charset=utf-8\r\n\r\nhi\r\nthere\r\n--b\r\n\
Content-Type: application/pdf; name=a.pdf\r\nContent-Transfer-Encoding: base64\r\n\
Content-Disposition: attachment; filename=\"a.pdf\"\r\n\r\nJVBERi0=\r\n--b--\r\n";
        let part = mime::parse(message);
        let mut out = Vec::new();
        push_structure(&mut out, message, &part, true);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"7BIT\" 9 1 NIL NIL NIL NIL)\
(\"application\" \"pdf\" (\"name\" \"a.pdf\") NIL NIL \"base64\" 8 NIL (\"attachment\" (\"filename\" \"a.pdf\")) NIL NIL) \
\"mixed\" (\"boundary\" \"b\") NIL NIL NIL)"
        );
        let mut out = Vec::new();
        push_structure(&mut out, message, &part, false);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"7BIT\" 9 1)\
(\"application\" \"pdf\" (\"name\" \"a.pdf\") NIL NIL \"base64\" 8) \"mixed\")"
        );
    }
}
