//! A strict parser for IMAP4rev1 commands (RFC 3501 §9 grammar, plus UID
//! MOVE/EXPUNGE, UNSELECT, IDLE, NAMESPACE and SASL-IR). Input is one whole
//! command as the connection assembled it: the lines, with each literal
//! (`{n}` or `{n+}`, CRLF, n octets) already read in place. Nothing here
//! allocates more than the input's size, and nesting depth is bounded, so
//! hostile input costs at most linear work. The tokens and the commands
//! are here; FETCH items (`fetch_items.rs`) and SEARCH keys
//! (`search_keys.rs`), the two nested grammars, have their own modules.

use super::command::*;
use super::sequence::SequenceSet;
use crate::services::mail::date;
use crate::services::mail::store::Flag;

mod fetch_items;
mod search_keys;

/// Why a command was refused: the tag when one was read, and the response
/// text after it (`BAD …` or `NO …`).
#[derive(Debug, PartialEq)]
pub struct ParseError {
    pub tag: Option<String>,
    pub response: String,
}

/// How deep NOT/OR/parentheses may nest in SEARCH.
const MAX_SEARCH_DEPTH: usize = 32;
/// Search keys in one SEARCH, groups and the keys in NOT and OR included.
/// Each may scan every message of the mailbox; clients send a handful
/// (mutt's most complex patterns stay in the dozens).
pub const MAX_SEARCH_KEYS: usize = 100;

pub fn parse(input: &[u8]) -> Result<Command, ParseError> {
    let mut cursor = Cursor {
        input,
        at: 0,
        search_keys: 0,
    };
    let tag = cursor.tag().map_err(|message| ParseError {
        tag: None,
        response: format!("BAD {message}"),
    })?;
    let body = cursor.command_body().map_err(|failure| ParseError {
        tag: Some(tag.clone()),
        response: match failure {
            Failure::Bad(message) => format!("BAD {message}"),
            Failure::BadCharset => "NO [BADCHARSET (US-ASCII UTF-8)] unsupported charset".into(),
            Failure::Limit(message) => format!("NO [LIMIT] {message}"),
        },
    })?;
    Ok(Command { tag, body })
}

enum Failure {
    Bad(String),
    BadCharset,
    /// Well-formed, but past one of our limits (RFC 5530 LIMIT).
    Limit(String),
}

type Parsed<T> = Result<T, Failure>;

fn bad<T>(message: impl Into<String>) -> Parsed<T> {
    Err(Failure::Bad(message.into()))
}

/// RFC 3501 ATOM-CHAR: any CHAR except atom-specials.
fn is_atom_char(byte: u8) -> bool {
    byte > b' ' && byte < 0x7f && !b"(){%*\"\\]".contains(&byte)
}

struct Cursor<'a> {
    input: &'a [u8],
    at: usize,
    /// SEARCH keys read so far.
    search_keys: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.input.get(self.at).copied()
    }

    fn at_end(&self) -> bool {
        self.at == self.input.len()
    }

    fn take_while(&mut self, keep: impl Fn(u8) -> bool) -> &str {
        let start = self.at;
        while self.peek().is_some_and(&keep) {
            self.at += 1;
        }
        // Only ASCII bytes are ever kept by the callers' predicates.
        std::str::from_utf8(&self.input[start..self.at]).unwrap_or_default()
    }

    fn tag(&mut self) -> Result<String, &'static str> {
        let tag = self
            .take_while(|b| is_atom_char(b) && b != b'+')
            .to_string();
        if tag.is_empty() {
            return Err("missing or malformed tag");
        }
        if self.peek() != Some(b' ') {
            return Err("expected a space and a command after the tag");
        }
        self.at += 1;
        Ok(tag)
    }

    fn space(&mut self) -> Parsed<()> {
        if self.peek() == Some(b' ') {
            self.at += 1;
            Ok(())
        } else {
            bad("expected a space")
        }
    }

    fn byte(&mut self, expected: u8) -> Parsed<()> {
        if self.peek() == Some(expected) {
            self.at += 1;
            Ok(())
        } else {
            bad(format!("expected '{}'", expected as char))
        }
    }

    fn end(&self) -> Parsed<()> {
        if self.at_end() {
            Ok(())
        } else {
            bad("unexpected characters at the end of the command")
        }
    }

    fn atom(&mut self) -> Parsed<String> {
        let atom = self.take_while(is_atom_char);
        if atom.is_empty() {
            return bad("expected an atom");
        }
        Ok(atom.to_string())
    }

    fn number(&mut self) -> Parsed<u32> {
        let digits = self.take_while(|b| b.is_ascii_digit());
        match digits.parse::<u32>() {
            Ok(n) if digits.len() <= 10 => Ok(n),
            _ => bad("expected a number"),
        }
    }

    fn quoted(&mut self) -> Parsed<Vec<u8>> {
        self.byte(b'"')?;
        let mut value = Vec::new();
        loop {
            match self.peek() {
                None | Some(b'\r' | b'\n' | 0) => return bad("unterminated quoted string"),
                Some(b'"') => {
                    self.at += 1;
                    return Ok(value);
                }
                Some(b'\\') => match self.input.get(self.at + 1) {
                    Some(&escaped @ (b'"' | b'\\')) => {
                        value.push(escaped);
                        self.at += 2;
                    }
                    _ => return bad("bad escape in quoted string"),
                },
                Some(other) => {
                    value.push(other);
                    self.at += 1;
                }
            }
        }
    }

    /// `{n}` or `{n+}`, CRLF, n octets (already in the input).
    fn literal(&mut self) -> Parsed<&[u8]> {
        self.byte(b'{')?;
        let length = self.number()? as usize;
        if self.peek() == Some(b'+') {
            self.at += 1;
        }
        self.byte(b'}')?;
        if !self.input[self.at..].starts_with(b"\r\n") {
            return bad("a literal's size must end its line");
        }
        self.at += 2;
        let Some(content) = self.input.get(self.at..self.at + length) else {
            return bad("literal shorter than announced");
        };
        self.at += length;
        Ok(content)
    }

    fn string(&mut self) -> Parsed<Vec<u8>> {
        match self.peek() {
            Some(b'"') => self.quoted(),
            Some(b'{') => Ok(self.literal()?.to_vec()),
            _ => bad("expected a string"),
        }
    }

    /// ASTRING: an atom (']' allowed) or a string.
    fn astring_bytes(&mut self) -> Parsed<Vec<u8>> {
        match self.peek() {
            Some(b'"' | b'{') => self.string(),
            _ => {
                let atom = self.take_while(|b| is_atom_char(b) || b == b']');
                if atom.is_empty() {
                    return bad("expected an atom or a string");
                }
                Ok(atom.as_bytes().to_vec())
            }
        }
    }

    fn astring(&mut self) -> Parsed<String> {
        String::from_utf8(self.astring_bytes()?).or_else(|_| bad("text is not UTF-8"))
    }

    /// A mailbox name; INBOX in any case is INBOX.
    fn mailbox(&mut self) -> Parsed<String> {
        let name = self.astring()?;
        if name.eq_ignore_ascii_case("INBOX") {
            return Ok("INBOX".into());
        }
        Ok(name)
    }

    /// A LIST pattern: like an atom, but `%`, `*` and `]` are allowed.
    fn list_mailbox(&mut self) -> Parsed<String> {
        match self.peek() {
            Some(b'"' | b'{') => self.astring(),
            _ => {
                let pattern = self.take_while(|b| is_atom_char(b) || b"%*]".contains(&b));
                if pattern.is_empty() {
                    return bad("expected a mailbox pattern");
                }
                Ok(pattern.to_string())
            }
        }
    }

    fn sequence_set(&mut self) -> Parsed<SequenceSet> {
        let text = self.take_while(|b| b.is_ascii_digit() || b"*:,".contains(&b));
        match SequenceSet::parse(text) {
            Some(set) => Ok(set),
            None => bad("bad sequence set"),
        }
    }

    fn command_body(&mut self) -> Parsed<CommandBody> {
        let name = self.atom()?.to_ascii_uppercase();
        let body = match name.as_str() {
            "CAPABILITY" => CommandBody::Capability,
            "STARTTLS" => CommandBody::StartTls,
            "NOOP" => CommandBody::Noop,
            "LOGOUT" => CommandBody::Logout,
            "NAMESPACE" => CommandBody::Namespace,
            "IDLE" => CommandBody::Idle,
            "CHECK" => CommandBody::Check,
            "CLOSE" => CommandBody::Close,
            "UNSELECT" => CommandBody::Unselect,
            "EXPUNGE" => CommandBody::Expunge { uids: None },
            "LOGIN" => {
                self.space()?;
                let user = self.astring()?;
                self.space()?;
                let password = self.astring()?;
                CommandBody::Login { user, password }
            }
            "AUTHENTICATE" => {
                self.space()?;
                let mechanism = self.atom()?.to_ascii_uppercase();
                let initial = if self.peek() == Some(b' ') {
                    self.at += 1;
                    let text =
                        self.take_while(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b));
                    if text.is_empty() {
                        return bad("bad initial response");
                    }
                    Some(text.to_string())
                } else {
                    None
                };
                CommandBody::Authenticate { mechanism, initial }
            }
            "SELECT" | "EXAMINE" => {
                self.space()?;
                let mailbox = self.mailbox()?;
                CommandBody::Select {
                    mailbox,
                    read_only: name == "EXAMINE",
                }
            }
            "CREATE" | "DELETE" | "SUBSCRIBE" | "UNSUBSCRIBE" => {
                self.space()?;
                let mailbox = self.mailbox()?;
                match name.as_str() {
                    "CREATE" => CommandBody::Create { mailbox },
                    "DELETE" => CommandBody::Delete { mailbox },
                    "SUBSCRIBE" => CommandBody::Subscribe { mailbox },
                    _ => CommandBody::Unsubscribe { mailbox },
                }
            }
            "RENAME" => {
                self.space()?;
                let from = self.mailbox()?;
                self.space()?;
                let to = self.mailbox()?;
                CommandBody::Rename { from, to }
            }
            "LIST" | "LSUB" => {
                self.space()?;
                let reference = self.astring()?;
                self.space()?;
                let pattern = self.list_mailbox()?;
                CommandBody::List {
                    reference,
                    pattern,
                    subscribed_only: name == "LSUB",
                }
            }
            "STATUS" => self.status()?,
            "APPEND" => self.append()?,
            "UID" => {
                self.space()?;
                let name = self.atom()?.to_ascii_uppercase();
                self.uid_command(&name, true)?
            }
            "SEARCH" | "FETCH" | "STORE" | "COPY" | "MOVE" => self.uid_command(&name, false)?,
            _ => return bad(format!("unknown command {name}")),
        };
        self.end()?;
        Ok(body)
    }

    /// The commands that take sequence numbers, or UIDs after `UID`.
    fn uid_command(&mut self, name: &str, uid: bool) -> Parsed<CommandBody> {
        if name == "SEARCH" {
            return self.search(uid);
        }
        self.space()?;
        let set = self.sequence_set()?;
        match name {
            "EXPUNGE" if uid => Ok(CommandBody::Expunge { uids: Some(set) }),
            "FETCH" => {
                self.space()?;
                let items = self.fetch_items()?;
                Ok(CommandBody::Fetch { set, items, uid })
            }
            "STORE" => self.store(set, uid),
            "COPY" | "MOVE" => {
                self.space()?;
                let mailbox = self.mailbox()?;
                if name == "COPY" {
                    Ok(CommandBody::Copy { set, mailbox, uid })
                } else {
                    Ok(CommandBody::Move { set, mailbox, uid })
                }
            }
            _ => bad(format!("unknown UID command {name}")),
        }
    }

    fn status(&mut self) -> Parsed<CommandBody> {
        self.space()?;
        let mailbox = self.mailbox()?;
        self.space()?;
        self.byte(b'(')?;
        let mut items = Vec::new();
        loop {
            let item = match self.atom()?.to_ascii_uppercase().as_str() {
                "MESSAGES" => StatusItem::Messages,
                "RECENT" => StatusItem::Recent,
                "UIDNEXT" => StatusItem::UidNext,
                "UIDVALIDITY" => StatusItem::UidValidity,
                "UNSEEN" => StatusItem::Unseen,
                other => return bad(format!("unknown STATUS item {other}")),
            };
            items.push(item);
            if self.peek() == Some(b')') {
                self.at += 1;
                break;
            }
            self.space()?;
        }
        Ok(CommandBody::Status { mailbox, items })
    }

    fn append(&mut self) -> Parsed<CommandBody> {
        self.space()?;
        let mailbox = self.mailbox()?;
        self.space()?;
        let mut flags = Vec::new();
        if self.peek() == Some(b'(') {
            flags = self.flag_list()?;
            self.space()?;
        }
        let mut date = None;
        if self.peek() == Some(b'"') {
            let text = String::from_utf8(self.quoted()?).unwrap_or_default();
            date = Some(date::parse_date_time(&text).ok_or_else(|| {
                Failure::Bad("bad date-time (expected \"dd-Mon-yyyy hh:mm:ss +zzzz\")".into())
            })?);
            self.space()?;
        }
        if self.peek() != Some(b'{') {
            return bad("APPEND needs the message as a literal");
        }
        let message = self.literal()?.to_vec();
        Ok(CommandBody::Append {
            mailbox,
            flags,
            date,
            message,
        })
    }

    /// `(\Seen \Flagged kw)`; keywords and `\Recent` are not stored: dropped.
    fn flag_list(&mut self) -> Parsed<Vec<Flag>> {
        self.byte(b'(')?;
        let mut flags = Vec::new();
        if self.peek() == Some(b')') {
            self.at += 1;
            return Ok(flags);
        }
        loop {
            flags.extend(self.flag()?);
            match self.peek() {
                Some(b')') => {
                    self.at += 1;
                    return Ok(flags);
                }
                _ => self.space()?,
            }
        }
    }

    fn flag(&mut self) -> Parsed<Option<Flag>> {
        let system = self.peek() == Some(b'\\');
        if system {
            self.at += 1;
        }
        let name = self.atom()?;
        if !system {
            return Ok(None);
        }
        Ok(match name.to_ascii_uppercase().as_str() {
            "SEEN" => Some(Flag::Seen),
            "ANSWERED" => Some(Flag::Answered),
            "FLAGGED" => Some(Flag::Flagged),
            "DELETED" => Some(Flag::Deleted),
            "DRAFT" => Some(Flag::Draft),
            "RECENT" => None,
            _ => return bad(format!("unknown system flag \\{name}")),
        })
    }

    fn store(&mut self, set: SequenceSet, uid: bool) -> Parsed<CommandBody> {
        self.space()?;
        let item = self.atom()?.to_ascii_uppercase();
        let (mode, rest) = match item.as_bytes().first() {
            Some(b'+') => (StoreMode::Add, &item[1..]),
            Some(b'-') => (StoreMode::Remove, &item[1..]),
            _ => (StoreMode::Replace, item.as_str()),
        };
        let silent = match rest {
            "FLAGS" => false,
            "FLAGS.SILENT" => true,
            _ => return bad(format!("unknown STORE item {item}")),
        };
        self.space()?;
        let flags = if self.peek() == Some(b'(') {
            self.flag_list()?
        } else {
            let mut flags: Vec<Flag> = self.flag()?.into_iter().collect();
            while self.peek() == Some(b' ') {
                self.at += 1;
                flags.extend(self.flag()?);
            }
            flags
        };
        Ok(CommandBody::Store {
            set,
            mode,
            silent,
            flags,
            uid,
        })
    }
}

#[cfg(test)]
mod tests;
