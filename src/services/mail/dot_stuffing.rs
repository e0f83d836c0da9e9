//! Mail text on the wire: CR and LF only as CRLF (RFC 5321 §2.3.8), and
//! dot-stuffing for sending (RFC 5321 §4.5.2, RFC 1939 §3): a line that
//! starts with "." gets another, and CRLF "." CRLF ends the text. The SMTP
//! client (relay and PCs), POP3 RETR/TOP and the stores share these, so
//! what one part of a lab sends, every other part reads the same way.

/// Whether a message has a CR or LF that is not part of a CRLF.
fn has_bare_line_ends(message: &[u8]) -> bool {
    // Only the line ends are looked at (memchr finds them a word at a time):
    // this runs on every message a client reads.
    memchr::memchr2_iter(b'\r', b'\n', message).any(|i| match message[i] {
        b'\r' => message.get(i + 1) != Some(&b'\n'),
        _ => i == 0 || message[i - 1] != b'\r',
    })
}

/// Turns bare CR and bare LF into CRLF.
pub fn with_crlf_line_ends(message: Vec<u8>) -> Vec<u8> {
    if !has_bare_line_ends(&message) {
        return message;
    }
    let mut fixed = Vec::with_capacity(message.len() + 16);
    let mut i = 0;
    while i < message.len() {
        match message[i] {
            b'\r' if message.get(i + 1) == Some(&b'\n') => {
                fixed.extend_from_slice(b"\r\n");
                i += 1;
            }
            b'\r' | b'\n' => fixed.extend_from_slice(b"\r\n"),
            byte => fixed.push(byte),
        }
        i += 1;
    }
    fixed
}

/// Dot-stuffs a message for sending (SMTP DATA, POP3 RETR): line ends
/// become CRLF, lines starting with "." get another, and the terminating
/// CRLF "." CRLF is appended.
pub fn dot_stuffed(message: &[u8]) -> Vec<u8> {
    let normalized;
    let message = if has_bare_line_ends(message) {
        normalized = with_crlf_line_ends(message.to_vec());
        normalized.as_slice()
    } else {
        message
    };
    let mut out = Vec::with_capacity(message.len() + message.len() / 64 + 8);
    let mut copied = 0;
    for (i, &byte) in message.iter().enumerate() {
        let line_start = i == 0 || message[i - 1] == b'\n';
        if line_start && byte == b'.' {
            out.extend_from_slice(&message[copied..i]);
            out.push(b'.');
            copied = i;
        }
    }
    out.extend_from_slice(&message[copied..]);
    if !message.is_empty() && !message.ends_with(b"\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stuffing_for_output() {
        assert_eq!(
            dot_stuffed(b".a\r\nb\n.\r\nc"),
            b"..a\r\nb\r\n..\r\nc\r\n.\r\n"
        );
        assert_eq!(dot_stuffed(b""), b".\r\n");
        assert_eq!(
            with_crlf_line_ends(b"a\rb\n\r\n".to_vec()),
            b"a\r\nb\r\n\r\n"
        );
    }

    #[test]
    fn stuffs_every_line_and_ends_the_text() {
        assert_eq!(
            dot_stuffed(b".a\n..b\r\nc.\n."),
            b"..a\r\n...b\r\nc.\r\n..\r\n.\r\n"
        );
        assert_eq!(dot_stuffed(b"x\r\n"), b"x\r\n.\r\n");
    }

    #[test]
    fn a_bare_cr_is_a_line_end_too() {
        // Never a bare CR on the wire, and a dot after one starts a line.
        assert_eq!(dot_stuffed(b"a\r.b\r"), b"a\r\n..b\r\n.\r\n");
    }
}
