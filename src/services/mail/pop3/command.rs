//! POP3 commands (RFC 1939, RFC 2449) parsed from one line: keyword in any
//! case, arguments separated by single spaces. Message numbers that are not
//! numbers parse as `None`, so the session can answer "no such message".

/// A message-number argument: None when it is not a number.
pub type Number = Option<usize>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    User(String),
    /// The rest of the line: a password may contain spaces (RFC 1939 §7).
    Pass(String),
    Quit,
    Stat,
    Noop,
    Rset,
    Capa,
    Stls,
    List(Option<Number>),
    Uidl(Option<Number>),
    Retr(Number),
    Dele(Number),
    /// Message and number of body lines (None: not a number).
    Top(Number, Option<usize>),
    /// Unknown keyword or wrong arguments.
    Unknown,
}

pub fn parse(line: &[u8]) -> Command {
    let text = String::from_utf8_lossy(line);
    let (keyword, rest) = text.split_once(' ').unwrap_or((&text, ""));
    let args: Vec<&str> = if rest.is_empty() {
        Vec::new()
    } else {
        rest.split(' ').collect()
    };
    let number = |text: &str| text.parse::<usize>().ok();
    match (keyword.to_ascii_uppercase().as_str(), args.as_slice()) {
        ("USER", [name]) if !name.is_empty() => Command::User(name.to_string()),
        ("PASS", _) if !rest.is_empty() => Command::Pass(rest.to_string()),
        ("QUIT", []) => Command::Quit,
        ("STAT", []) => Command::Stat,
        ("NOOP", []) => Command::Noop,
        ("RSET", []) => Command::Rset,
        ("CAPA", []) => Command::Capa,
        ("STLS", []) => Command::Stls,
        ("LIST", []) => Command::List(None),
        ("LIST", [n]) => Command::List(Some(number(n))),
        ("UIDL", []) => Command::Uidl(None),
        ("UIDL", [n]) => Command::Uidl(Some(number(n))),
        ("RETR", [n]) => Command::Retr(number(n)),
        ("DELE", [n]) => Command::Dele(number(n)),
        ("TOP", [n, lines]) => Command::Top(number(n), number(lines)),
        _ => Command::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_and_arguments() {
        assert_eq!(parse(b"user ada"), Command::User("ada".into()));
        assert_eq!(parse(b"PASS two words"), Command::Pass("two words".into()));
        assert_eq!(parse(b"LIST"), Command::List(None));
        assert_eq!(parse(b"LIST 3"), Command::List(Some(Some(3))));
        assert_eq!(parse(b"UIDL x"), Command::Uidl(Some(None)));
        assert_eq!(parse(b"RETR -1"), Command::Retr(None));
        assert_eq!(parse(b"RETR 99999999999999999999999"), Command::Retr(None));
        assert_eq!(parse(b"TOP 1 0"), Command::Top(Some(1), Some(0)));
        assert_eq!(parse(b"TOP 1"), Command::Unknown);
        assert_eq!(parse(b"DELE"), Command::Unknown);
        assert_eq!(parse(b"USER"), Command::Unknown);
        assert_eq!(parse(b"PASS"), Command::Unknown);
        assert_eq!(parse(b"STAT now"), Command::Unknown);
        assert_eq!(parse(b"\xff\x00"), Command::Unknown);
        assert_eq!(parse(b"stls"), Command::Stls);
    }
}
