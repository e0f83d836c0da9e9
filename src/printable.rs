//! Text that came from inside a lab — a DHCP hostname, a mail subject, a
//! server's reply, a command's output quoted by a check — made safe to
//! print on the operator's terminal. A lab guest must not be able to move
//! the cursor, retitle the window, clear the screen, rewrite a line with a
//! bare CR, or reorder text with Unicode bidi controls. Control characters
//! (C0, DEL and C1: ESC and CSI among them) and the invisible characters
//! that reorder or break lines are shown as escapes (`\x1b`, `\u{202e}`);
//! everything else is printed as it is. Escaped text has none of them left,
//! so escaping it again changes nothing.
//!
//! This is the one implementation: every verb that prints lab text, the
//! mail dialogue log, and the check reports go through it.

use std::borrow::Cow;
use std::fmt::Write;

/// Text meant for one line: line breaks are escaped too, so it cannot
/// start a line of its own (a fake `PASS` in a report, a fake lease in
/// `status`). A tab becomes a space, as mail clients show unfolded headers.
pub fn line(text: &str) -> Cow<'_, str> {
    escape(text, Layout::OneLine)
}

/// Text of several lines (a message body, a log): newlines and tabs stay, a
/// CR is dropped before LF (CRLF is how mail ends lines) and escaped
/// anywhere else.
pub fn lines(text: &str) -> Cow<'_, str> {
    escape(text, Layout::Lines)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Layout {
    OneLine,
    Lines,
}

fn escape(text: &str, layout: Layout) -> Cow<'_, str> {
    let clean = |c: char| match c {
        '\n' => layout == Layout::Lines,
        '\t' => layout == Layout::Lines,
        c => !is_unsafe(c),
    };
    if text.chars().all(clean) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' if layout == Layout::Lines && chars.peek() == Some(&'\n') => {}
            '\t' if layout == Layout::OneLine => out.push(' '),
            c if clean(c) => out.push(c),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
        }
    }
    Cow::Owned(out)
}

/// Characters a terminal acts on instead of showing: control characters
/// (Unicode category Cc: C0, DEL, C1), the bidi controls that reorder what
/// follows (as in "Trojan Source"), and the Unicode line and paragraph
/// separators.
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
                | '\u{2028}'
                | '\u{2029}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        let text = "Ada Lovelace <ada@mt.com> — café, 日本語, \\x1b as typed";
        assert!(matches!(line(text), Cow::Borrowed(t) if t == text));
        assert!(matches!(lines("a\n\tb\n"), Cow::Borrowed("a\n\tb\n")));
    }

    #[test]
    fn terminal_escape_sequences_are_shown_not_obeyed() {
        let hostile = "pc\u{1b}]0;owned\u{7}\u{1b}[2J\u{1b}[1;31mred\u{9b}31m\u{7f}";
        let shown = line(hostile);
        assert_eq!(
            shown,
            "pc\\x1b]0;owned\\x07\\x1b[2J\\x1b[1;31mred\\u{9b}31m\\x7f"
        );
        assert!(!shown.chars().any(is_unsafe));
    }

    #[test]
    fn one_line_text_cannot_break_the_line() {
        assert_eq!(
            line("ok\nPASS  9. forged\rX\u{2028}y\tz"),
            "ok\\nPASS  9. forged\\rX\\u{2028}y z"
        );
    }

    #[test]
    fn bidi_controls_are_escaped() {
        assert_eq!(
            line("invoice\u{202e}fdp.exe\u{2066}"),
            "invoice\\u{202e}fdp.exe\\u{2066}"
        );
    }

    #[test]
    fn several_lines_keep_newlines_and_tabs_and_lose_crlf() {
        assert_eq!(
            lines("Hi Bob,\r\n\tsee\r\nover\rwrite\u{1b}[A\n"),
            "Hi Bob,\n\tsee\nover\\rwrite\\x1b[A\n"
        );
    }

    #[test]
    fn escaping_twice_changes_nothing() {
        let hostile = "a\u{1b}[2J\r\nb\u{202e}\u{0}\u{85}";
        for escape in [line, lines] {
            let once = escape(hostile).into_owned();
            assert_eq!(escape(&once), once.as_str());
        }
    }
}
