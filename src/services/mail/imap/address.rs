//! RFC 5322 address lists as the ENVELOPE needs them (RFC 3501 §7.4.2):
//! each mailbox as (name, local part, domain), groups as start and end
//! markers. Tolerant: whatever cannot be read as an address is skipped.

/// One element of an ENVELOPE address list.
#[derive(Debug, PartialEq)]
pub enum Address {
    Mailbox {
        name: Option<String>,
        local: String,
        domain: String,
    },
    GroupStart(String),
    GroupEnd,
}

#[derive(Debug, PartialEq)]
enum Token {
    Word(String),
    Special(char),
}

/// At most this many addresses are read from one field.
const MAX_ADDRESSES: usize = 1_000;

pub fn parse_list(value: &str) -> Vec<Address> {
    let tokens = tokenize(value);
    let mut addresses = Vec::new();
    let mut phrase: Vec<String> = Vec::new();
    let mut angle: Option<Vec<Token>> = None;
    let mut angle_done: Option<Vec<Token>> = None;
    let mut in_group = false;
    for token in tokens {
        if addresses.len() >= MAX_ADDRESSES {
            break;
        }
        if let Some(inside) = angle.as_mut() {
            match token {
                Token::Special('>') => angle_done = angle.take(),
                other => inside.push(other),
            }
            continue;
        }
        match token {
            Token::Special('<') => angle = Some(Vec::new()),
            Token::Special(':') if !in_group && angle_done.is_none() => {
                in_group = true;
                addresses.push(Address::GroupStart(phrase.join(" ")));
                phrase.clear();
            }
            Token::Special(c @ (',' | ';')) => {
                addresses.extend(finish(&mut phrase, angle_done.take()));
                if c == ';' && in_group {
                    in_group = false;
                    addresses.push(Address::GroupEnd);
                }
            }
            Token::Special(c) => phrase.push(c.to_string()),
            Token::Word(word) => phrase.push(word),
        }
    }
    addresses.extend(finish(&mut phrase, angle_done.or(angle)));
    if in_group {
        addresses.push(Address::GroupEnd);
    }
    addresses
}

/// One address from what was read since the last comma: `phrase <spec>` or
/// a bare `local@domain`.
fn finish(phrase: &mut Vec<String>, angle: Option<Vec<Token>>) -> Option<Address> {
    let words = std::mem::take(phrase);
    let (name, spec) = match angle {
        Some(inside) => {
            // Drop a source route (`@a,@b:`) before the address itself.
            let start = inside
                .iter()
                .rposition(|t| *t == Token::Special(':'))
                .map_or(0, |i| i + 1);
            let spec: String = inside[start..]
                .iter()
                .map(|t| match t {
                    Token::Word(w) => w.clone(),
                    Token::Special(c) => c.to_string(),
                })
                .collect();
            let name = (!words.is_empty()).then(|| words.join(" "));
            (name, spec)
        }
        None => (None, words.concat()),
    };
    if spec.is_empty()
        || spec
            .chars()
            .any(|c| "<>,:;()\"".contains(c) || c.is_whitespace())
    {
        return None;
    }
    let (local, domain) = spec.rsplit_once('@').unwrap_or((spec.as_str(), ""));
    Some(Address::Mailbox {
        name,
        local: local.to_string(),
        domain: domain.to_string(),
    })
}

fn tokenize(value: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut chars = value.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            _ if c.is_whitespace() => {
                chars.next();
            }
            '(' => {
                let mut depth = 0usize;
                for c in chars.by_ref() {
                    match c {
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        _ => {}
                    }
                    if depth == 0 {
                        break;
                    }
                }
            }
            '"' => {
                chars.next();
                let mut word = String::new();
                while let Some(q) = chars.next() {
                    match q {
                        '"' => break,
                        '\\' => word.extend(chars.next()),
                        _ => word.push(q),
                    }
                }
                tokens.push(Token::Word(word));
            }
            '<' | '>' | ',' | ':' | ';' | '@' => {
                chars.next();
                tokens.push(Token::Special(c));
            }
            ')' => {
                // A comment that never opened: skip it.
                chars.next();
            }
            _ => {
                let mut word = String::new();
                while let Some(&w) = chars.peek() {
                    if w.is_whitespace() || "()<>,:;@\"".contains(w) {
                        break;
                    }
                    word.push(w);
                    chars.next();
                }
                tokens.push(Token::Word(word));
            }
        }
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mailbox(name: Option<&str>, local: &str, domain: &str) -> Address {
        Address::Mailbox {
            name: name.map(String::from),
            local: local.into(),
            domain: domain.into(),
        }
    }

    #[test]
    fn names_angles_bare_addresses_and_comments() {
        assert_eq!(
            parse_list(
                "\"Lovelace, Ada\" <ada@mt.com>, bob@mt.com (Bob), Carl Friedrich <@relay:carl@x.org>"
            ),
            vec![
                mailbox(Some("Lovelace, Ada"), "ada", "mt.com"),
                mailbox(None, "bob", "mt.com"),
                mailbox(Some("Carl Friedrich"), "carl", "x.org"),
            ]
        );
    }

    #[test]
    fn groups_and_garbage() {
        assert_eq!(
            parse_list("team: ada@mt.com, bob@mt.com;, undisclosed-recipients:;"),
            vec![
                Address::GroupStart("team".into()),
                mailbox(None, "ada", "mt.com"),
                mailbox(None, "bob", "mt.com"),
                Address::GroupEnd,
                Address::GroupStart("undisclosed-recipients".into()),
                Address::GroupEnd,
            ]
        );
        assert_eq!(parse_list("<<<>>>,,,;;"), vec![]);
        assert_eq!(parse_list("ada"), vec![mailbox(None, "ada", "")]);
        // Found by the fuzzer: an unopened comment used to loop forever.
        assert_eq!(parse_list("g) x@d"), vec![mailbox(None, "gx", "d")]);
    }
}
