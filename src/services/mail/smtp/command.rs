//! SMTP commands (RFC 5321 §4.1) parsed strictly from one line: paths must
//! be in angle brackets, local parts at most 64 octets, domains at most 255,
//! no NUL or control bytes, and only the ESMTP parameters we announce.

use std::fmt;

/// The longest local part (RFC 5321 §4.5.3.1.1).
const MAX_LOCAL_PART: usize = 64;
/// The longest domain (RFC 5321 §4.5.3.1.2).
const MAX_DOMAIN: usize = 255;

/// A mailbox `local@domain` (domain as written, compared case-insensitively).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    pub local: String,
    pub domain: String,
}

impl Mailbox {
    /// The same mailbox with its domain in lower case. Domains are
    /// case-insensitive (RFC 5321 §2.4); the local part is left as written,
    /// for the domain's own server to interpret.
    pub fn with_lowercase_domain(&self) -> Mailbox {
        Mailbox {
            local: self.local.clone(),
            domain: self.domain.to_ascii_lowercase(),
        }
    }
}

impl fmt::Display for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.local, self.domain)
    }
}

/// Parameters of MAIL FROM.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailParams {
    pub size: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Helo(String),
    Ehlo(String),
    /// `None` is the null reverse path `<>` (bounces).
    Mail(Option<Mailbox>, MailParams),
    Rcpt(Mailbox),
    Data,
    Rset,
    Noop,
    Quit,
    Vrfy,
    Help,
    Auth {
        mechanism: String,
        initial: Option<String>,
    },
    StartTls,
}

/// Why a line is not a command we take: each maps to one reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// 500 5.5.1
    Unknown,
    /// 501 5.5.4 / 5.1.3 / 5.5.2 with the reason
    Syntax(&'static str),
    /// 501 5.1.3 (a path that is not a valid address)
    BadAddress(&'static str),
    /// 555 5.5.4
    UnknownParameter(String),
}

pub fn parse(line: &[u8]) -> Result<Command, ParseError> {
    if line
        .iter()
        .any(|&b| b == 0 || (b < 0x20 && b != b'\t') || b == 0x7f)
    {
        return Err(ParseError::Syntax("control characters are not allowed"));
    }
    let line = std::str::from_utf8(line).map_err(|_| ParseError::Syntax("not UTF-8"))?;
    let (verb, rest) = match line.split_once(' ') {
        Some((verb, rest)) => (verb, rest),
        None => (line, ""),
    };
    let no_argument = |command: Command| {
        if rest.trim().is_empty() {
            Ok(command)
        } else {
            Err(ParseError::Syntax("this command takes no argument"))
        }
    };
    match verb.to_ascii_uppercase().as_str() {
        "HELO" => Ok(Command::Helo(domain_argument(rest)?)),
        "EHLO" => Ok(Command::Ehlo(domain_argument(rest)?)),
        "MAIL" => {
            let path = strip_keyword(rest, "FROM:")?;
            let (mailbox, params) = path_and_params(path, true)?;
            Ok(Command::Mail(mailbox, mail_params(params)?))
        }
        "RCPT" => {
            let path = strip_keyword(rest, "TO:")?;
            let (mailbox, params) = path_and_params(path, false)?;
            if let Some(first) = params.first() {
                return Err(ParseError::UnknownParameter(first.to_string()));
            }
            mailbox
                .map(Command::Rcpt)
                .ok_or(ParseError::BadAddress("a recipient cannot be <>"))
        }
        "DATA" => no_argument(Command::Data),
        "RSET" => no_argument(Command::Rset),
        "QUIT" => no_argument(Command::Quit),
        "STARTTLS" => no_argument(Command::StartTls),
        "NOOP" => Ok(Command::Noop),
        "HELP" => Ok(Command::Help),
        "VRFY" if !rest.trim().is_empty() => Ok(Command::Vrfy),
        "VRFY" => Err(ParseError::Syntax("VRFY needs an argument")),
        "AUTH" => {
            let mut words = rest.split_whitespace();
            let mechanism = words
                .next()
                .ok_or(ParseError::Syntax("AUTH needs a mechanism"))?
                .to_ascii_uppercase();
            let initial = words.next().map(str::to_string);
            if words.next().is_some() {
                return Err(ParseError::Syntax(
                    "AUTH takes a mechanism and one response",
                ));
            }
            Ok(Command::Auth { mechanism, initial })
        }
        _ => Err(ParseError::Unknown),
    }
}

fn domain_argument(rest: &str) -> Result<String, ParseError> {
    let name = rest.trim();
    if name.is_empty() || name.contains(char::is_whitespace) {
        return Err(ParseError::Syntax("give your host name"));
    }
    if name.len() > MAX_DOMAIN {
        return Err(ParseError::Syntax("host name too long"));
    }
    Ok(name.to_string())
}

/// `FROM:<…>` with the keyword in any case and tolerating one space after
/// the colon (as many clients send).
fn strip_keyword<'a>(rest: &'a str, keyword: &str) -> Result<&'a str, ParseError> {
    let head = rest.get(..keyword.len()).unwrap_or("");
    if !head.eq_ignore_ascii_case(keyword) {
        return Err(ParseError::Syntax(if keyword == "FROM:" {
            "write MAIL FROM:<address>"
        } else {
            "write RCPT TO:<address>"
        }));
    }
    Ok(rest[keyword.len()..].trim_start_matches(' '))
}

fn path_and_params(
    text: &str,
    null_allowed: bool,
) -> Result<(Option<Mailbox>, Vec<&str>), ParseError> {
    let Some(inner_and_rest) = text.strip_prefix('<') else {
        return Err(ParseError::Syntax(
            "the address must be in angle brackets <>",
        ));
    };
    let close = closing_bracket(inner_and_rest).ok_or(ParseError::Syntax(
        "the address must be in angle brackets <>",
    ))?;
    let inner = &inner_and_rest[..close];
    let params: Vec<&str> = inner_and_rest[close + 1..].split_whitespace().collect();
    if !inner_and_rest[close + 1..].is_empty() && !inner_and_rest[close + 1..].starts_with(' ') {
        return Err(ParseError::Syntax("a space must follow the address"));
    }
    if inner.is_empty() {
        return if null_allowed {
            Ok((None, params))
        } else {
            Err(ParseError::BadAddress("a recipient cannot be <>"))
        };
    }
    // A source route (`@a,@b:user@host`) is accepted and ignored (§4.1.2).
    let address = match inner.strip_prefix('@') {
        Some(route) => route
            .split_once(':')
            .map(|(_, address)| address)
            .ok_or(ParseError::BadAddress("bad source route"))?,
        None => inner,
    };
    Ok((Some(mailbox(address)?), params))
}

/// The index of the `>` closing the path, skipping quoted parts.
fn closing_bracket(text: &str) -> Option<usize> {
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '>' if !quoted => return Some(i),
            _ => {}
        }
    }
    None
}

fn mailbox(address: &str) -> Result<Mailbox, ParseError> {
    let (local, domain) = address.rsplit_once('@').ok_or(ParseError::BadAddress(
        "the address needs a domain: user@domain",
    ))?;
    if local.is_empty() || local.len() > MAX_LOCAL_PART {
        return Err(ParseError::BadAddress(
            "the local part must be 1 to 64 octets",
        ));
    }
    let dot_atom = local.split('.').all(|atom| {
        !atom.is_empty()
            && atom.chars().all(|c| {
                c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c) || !c.is_ascii()
            })
    });
    let quoted = local.len() >= 2
        && local.starts_with('"')
        && local.ends_with('"')
        && !local[1..local.len() - 1].contains(['\r', '\n']);
    if !dot_atom && !quoted {
        return Err(ParseError::BadAddress("bad local part"));
    }
    if !valid_mail_domain(domain) {
        return Err(ParseError::BadAddress("bad domain"));
    }
    Ok(Mailbox {
        local: local.to_string(),
        domain: domain.to_string(),
    })
}

/// A host name (letters, digits, `-` in dot-separated labels of at most 63)
/// or an address literal `[192.0.2.1]`.
fn valid_mail_domain(domain: &str) -> bool {
    if domain.is_empty() || domain.len() > MAX_DOMAIN {
        return false;
    }
    if let Some(literal) = domain.strip_prefix('[').and_then(|d| d.strip_suffix(']')) {
        return literal.parse::<std::net::Ipv4Addr>().is_ok()
            || literal
                .strip_prefix("IPv6:")
                .is_some_and(|v6| v6.parse::<std::net::Ipv6Addr>().is_ok());
    }
    domain.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    })
}

fn mail_params(params: Vec<&str>) -> Result<MailParams, ParseError> {
    let mut parsed = MailParams::default();
    for param in params {
        let (key, value) = param.split_once('=').unwrap_or((param, ""));
        match key.to_ascii_uppercase().as_str() {
            "SIZE" => {
                parsed.size = Some(
                    value
                        .parse()
                        .map_err(|_| ParseError::Syntax("SIZE needs a number"))?,
                );
            }
            "BODY"
                if ["7BIT", "8BITMIME"]
                    .iter()
                    .any(|b| b.eq_ignore_ascii_case(value)) => {}
            // The submitter's identity (RFC 4954 §5): accepted, not used.
            "AUTH" if !value.is_empty() => {}
            _ => return Err(ParseError::UnknownParameter(param.to_string())),
        }
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ada() -> Mailbox {
        Mailbox {
            local: "ada".into(),
            domain: "mt.com".into(),
        }
    }

    #[test]
    fn good_commands() {
        assert_eq!(
            parse(b"EHLO client.lab"),
            Ok(Command::Ehlo("client.lab".into()))
        );
        assert_eq!(parse(b"helo x"), Ok(Command::Helo("x".into())));
        assert_eq!(
            parse(b"MAIL FROM:<ada@mt.com> SIZE=1000 BODY=8BITMIME"),
            Ok(Command::Mail(Some(ada()), MailParams { size: Some(1000) }))
        );
        assert_eq!(
            parse(b"mail from: <>"),
            Ok(Command::Mail(None, MailParams::default()))
        );
        assert_eq!(parse(b"RCPT TO:<ada@mt.com>"), Ok(Command::Rcpt(ada())));
        assert_eq!(
            parse(b"RCPT TO:<@relay.org:ada@mt.com>"),
            Ok(Command::Rcpt(ada()))
        );
        assert_eq!(
            parse(b"RCPT TO:<\"a b\"@mt.com>"),
            Ok(Command::Rcpt(Mailbox {
                local: "\"a b\"".into(),
                domain: "mt.com".into()
            }))
        );
        assert_eq!(
            parse(b"AUTH plain AGFkYQBzZWNyZXQ="),
            Ok(Command::Auth {
                mechanism: "PLAIN".into(),
                initial: Some("AGFkYQBzZWNyZXQ=".into())
            })
        );
        assert_eq!(parse(b"DATA"), Ok(Command::Data));
        assert_eq!(parse(b"VRFY ada"), Ok(Command::Vrfy));
        assert_eq!(parse(b"NOOP anything"), Ok(Command::Noop));
        assert!(parse(b"RCPT TO:<x@[10.0.0.1]>").is_ok());
    }

    #[test]
    fn malformed_addresses_and_parameters() {
        let bad_address = |line: &[u8]| matches!(parse(line), Err(ParseError::BadAddress(_)));
        let syntax = |line: &[u8]| matches!(parse(line), Err(ParseError::Syntax(_)));
        assert!(syntax(b"MAIL FROM:ada@mt.com"));
        assert!(syntax(b"RCPT TO:ada@mt.com"));
        assert!(syntax(b"MAIL FROM:<ada@mt.com"));
        assert!(syntax(b"MAIL TO:<ada@mt.com>"));
        assert!(bad_address(b"RCPT TO:<ada>"));
        assert!(bad_address(b"RCPT TO:<>"));
        assert!(bad_address(
            &[b"RCPT TO:<".as_slice(), &[b'a'; 65], b"@mt.com>"].concat()
        ));
        let long_domain = format!("RCPT TO:<a@{}.com>", ["abcdefghij"; 26].join("."));
        assert!(bad_address(long_domain.as_bytes()));
        assert!(bad_address(b"RCPT TO:<a@bad_domain.com>"));
        assert!(bad_address(b"RCPT TO:<a..b@mt.com>"));
        assert!(syntax(b"RCPT TO:<a\0b@mt.com>"));
        assert!(syntax(b"MAIL FROM:<a@mt.com> SIZE=big"));
        assert_eq!(
            parse(b"MAIL FROM:<a@mt.com> SMTPUTF8"),
            Err(ParseError::UnknownParameter("SMTPUTF8".into()))
        );
        assert_eq!(
            parse(b"RCPT TO:<a@mt.com> NOTIFY=NEVER"),
            Err(ParseError::UnknownParameter("NOTIFY=NEVER".into()))
        );
        assert!(syntax(b"DATA now"));
        assert!(syntax(b"EHLO"));
        assert_eq!(parse(b"EXPN list"), Err(ParseError::Unknown));
        assert_eq!(parse(b""), Err(ParseError::Unknown));
    }
}
