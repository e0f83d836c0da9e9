//! Encoding of server data (RFC 3501 §9 `string`, `nstring`, flag lists):
//! text that is safe in a quoted string is quoted, anything else (8-bit,
//! CR/LF, very long) goes out as a literal, so any octets can be sent.

use crate::services::mail::store::Flag;

/// Longest value sent as a quoted string; longer ones go as literals.
const MAX_QUOTED: usize = 1024;

pub fn flag_name(flag: Flag) -> &'static str {
    match flag {
        Flag::Seen => "\\Seen",
        Flag::Answered => "\\Answered",
        Flag::Flagged => "\\Flagged",
        Flag::Deleted => "\\Deleted",
        Flag::Draft => "\\Draft",
    }
}

/// The flags every mailbox supports, for FLAGS and PERMANENTFLAGS.
pub const ALL_FLAGS: &str = "\\Answered \\Flagged \\Deleted \\Seen \\Draft";

/// `(\Seen \Flagged)`, with `\Recent` when `recent`.
pub fn push_flags(out: &mut Vec<u8>, flags: &[Flag], recent: bool) {
    out.push(b'(');
    let names = flags
        .iter()
        .map(|&f| flag_name(f))
        .chain(recent.then_some("\\Recent"));
    for (i, name) in names.enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        out.extend_from_slice(name.as_bytes());
    }
    out.push(b')');
}

pub fn push_string(out: &mut Vec<u8>, value: &[u8]) {
    let quotable = value.len() <= MAX_QUOTED
        && value
            .iter()
            .all(|&b| (1..0x80).contains(&b) && b != b'\r' && b != b'\n');
    if quotable {
        out.push(b'"');
        for &byte in value {
            if byte == b'"' || byte == b'\\' {
                out.push(b'\\');
            }
            out.push(byte);
        }
        out.push(b'"');
    } else {
        push_literal(out, value);
    }
}

/// An atom when the value is one (header field names echoed in FETCH, as
/// clients sent them), a string otherwise.
pub fn push_astring(out: &mut Vec<u8>, value: &[u8]) {
    let atom = !value.is_empty()
        && value
            .iter()
            .all(|&b| b > b' ' && b < 0x7f && !b"(){%*\"\\]".contains(&b));
    if atom {
        out.extend_from_slice(value);
    } else {
        push_string(out, value);
    }
}

pub fn push_literal(out: &mut Vec<u8>, value: &[u8]) {
    out.extend_from_slice(format!("{{{}}}\r\n", value.len()).as_bytes());
    out.extend_from_slice(value);
}

pub fn push_nstring(out: &mut Vec<u8>, value: Option<&[u8]>) {
    match value {
        Some(value) => push_string(out, value),
        None => out.extend_from_slice(b"NIL"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(value: &[u8]) -> String {
        let mut out = Vec::new();
        push_string(&mut out, value);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn quotes_safe_text_and_literals_the_rest() {
        assert_eq!(encoded(b"a \"b\" \\c"), r#""a \"b\" \\c""#);
        assert_eq!(encoded(b"two\r\nlines"), "{10}\r\ntwo\r\nlines");
        assert_eq!(encoded("café".as_bytes()), "{5}\r\ncafé");
        let mut out = Vec::new();
        push_flags(&mut out, &[Flag::Seen, Flag::Deleted], true);
        assert_eq!(out, b"(\\Seen \\Deleted \\Recent)");
    }
}
