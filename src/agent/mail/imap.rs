//! The IMAP client of a PC's mail program (RFC 9051/3501 subset): STARTTLS
//! or TLS from the first byte when its settings say so, LOGIN,
//! EXAMINE INBOX (read-only: reading never changes flags), FETCH of headers
//! and whole messages with literals read to their announced, capped size;
//! SELECT, UID SEARCH and UID STORE + UID EXPUNGE (RFC 4315) to remove
//! exactly the messages named, whatever else is marked deleted. For
//! webmail also: LIST of folders, EXAMINE of any folder, the newest
//! messages' headers with their UIDs, CREATE and UID MOVE (RFC 6851).

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::MAX_REPLY_LINE;
use super::fetch_error::FetchError;
use super::security::{self, Security};
use crate::services::mail::lines::read_server_line;
use crate::services::tls::transport::{self, ReadHalf, WriteHalf};

const TIMEOUT: Duration = Duration::from_secs(10);
/// The largest literal read.
pub const MAX_LITERAL: usize = 32 * 1024 * 1024;
/// Most untagged responses accepted for one command.
const MAX_RESPONSES: usize = 100_000;

pub struct Imap {
    reader: BufReader<ReadHalf>,
    writer: WriteHalf,
    tag: u32,
}

/// One untagged FETCH response: the message's sequence number, its text
/// with literals cut out, and the literals in order.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Fetched {
    pub sequence: u32,
    pub text: String,
    pub literals: Vec<Vec<u8>>,
}

impl Imap {
    /// Reads the greeting, over TLS or after STARTTLS as `security` says.
    pub async fn open(stream: TcpStream, security: &Security) -> Result<Imap, FetchError> {
        let (read, write) = security::open(stream, security, TIMEOUT)
            .await
            .map_err(FetchError::tls)?;
        let mut client = Imap {
            reader: BufReader::new(read),
            writer: write,
            tag: 0,
        };
        let greeting = client.line("greeting").await?;
        let text = String::from_utf8_lossy(&greeting).into_owned();
        if !text.starts_with("* OK") && !text.starts_with("* PREAUTH") {
            return Err(FetchError::refused("greeting", text));
        }
        if let Some((trust, must)) = security.starttls()
            && (must || client.offers("STARTTLS").await?)
        {
            client.command("STARTTLS", "STARTTLS").await?;
            transport::switch_client(
                &mut client.reader,
                &mut client.writer,
                &trust.connector,
                &trust.name,
                TIMEOUT,
            )
            .await
            .map_err(FetchError::tls)?;
        }
        Ok(client)
    }

    /// Whether the connection is encrypted now.
    pub fn is_encrypted(&self) -> bool {
        transport::is_encrypted(self.reader.get_ref())
    }

    /// Whether CAPABILITY lists `capability`.
    async fn offers(&mut self, capability: &str) -> Result<bool, FetchError> {
        let responses = self.command("STARTTLS", "CAPABILITY").await?;
        Ok(responses.iter().any(|r| {
            let mut words = r.text.split_whitespace();
            words.next() == Some("*")
                && words
                    .next()
                    .is_some_and(|w| w.eq_ignore_ascii_case("CAPABILITY"))
                && words.any(|w| w.eq_ignore_ascii_case(capability))
        }))
    }

    async fn line(&mut self, stage: &'static str) -> Result<Vec<u8>, FetchError> {
        read_server_line(&mut self.reader, MAX_REPLY_LINE, TIMEOUT)
            .await
            .map_err(|why| FetchError::new(stage, why.to_string()))
    }

    /// Sends a command; returns its untagged responses (literals read).
    async fn command(
        &mut self,
        stage: &'static str,
        command: &str,
    ) -> Result<Vec<Fetched>, FetchError> {
        self.tag += 1;
        let tag = format!("a{}", self.tag);
        self.writer
            .write_all(format!("{tag} {command}\r\n").as_bytes())
            .await
            .map_err(|e| FetchError::new(stage, format!("the connection failed: {e}")))?;
        let mut responses = Vec::new();
        loop {
            let line = self.line(stage).await?;
            let text = String::from_utf8_lossy(&line).into_owned();
            if let Some(rest) = text.strip_prefix(&format!("{tag} ")) {
                return if rest.starts_with("OK") {
                    Ok(responses)
                } else {
                    Err(FetchError::refused(stage, rest.to_string()))
                };
            }
            if text.starts_with('+') {
                return Err(FetchError::new(
                    stage,
                    "the server asked for more input".to_string(),
                ));
            }
            let mut response = Fetched {
                text: text.clone(),
                ..Fetched::default()
            };
            let mut current = text;
            // A line ending in {N} announces N bytes of literal, then the line goes on.
            while let Some(size) = literal_size(&current) {
                if size > MAX_LITERAL {
                    return Err(FetchError::new(
                        stage,
                        format!("the server announced {size} bytes, more than {MAX_LITERAL}"),
                    ));
                }
                let mut literal = vec![0u8; size];
                tokio::time::timeout(TIMEOUT, self.reader.read_exact(&mut literal))
                    .await
                    .map_err(|_| FetchError::new(stage, "the server stopped sending".to_string()))?
                    .map_err(|e| FetchError::new(stage, format!("the connection failed: {e}")))?;
                response.literals.push(literal);
                current = String::from_utf8_lossy(&self.line(stage).await?).into_owned();
                response.text.push_str(&current);
            }
            response.sequence = fetch_sequence(&response.text).unwrap_or(0);
            responses.push(response);
            if responses.len() > MAX_RESPONSES {
                return Err(FetchError::new(stage, "too many responses".to_string()));
            }
        }
    }

    pub async fn login(&mut self, user: &str, password: &str) -> Result<(), FetchError> {
        self.command(
            "login",
            &format!("LOGIN {} {}", quote(user), quote(password)),
        )
        .await
        .map(|_| ())
    }

    /// Opens INBOX read-only; returns how many messages it has.
    pub async fn examine_inbox(&mut self) -> Result<u32, FetchError> {
        self.examine("INBOX").await
    }

    /// Opens `folder` read-only; returns how many messages it has.
    pub async fn examine(&mut self, folder: &str) -> Result<u32, FetchError> {
        let responses = self
            .command("list", &format!("EXAMINE {}", quote(folder)))
            .await?;
        Ok(responses
            .iter()
            .find_map(|r| {
                let mut words = r.text.split_whitespace();
                let (_, n, what) = (words.next()?, words.next()?, words.next()?);
                (what.eq_ignore_ascii_case("EXISTS"))
                    .then(|| n.parse().ok())
                    .flatten()
            })
            .unwrap_or(0))
    }

    /// The names of the folders the user can open (LIST "" "*"), INBOX
    /// first, levels that are not folders (\Noselect) left out.
    pub async fn folders(&mut self) -> Result<Vec<String>, FetchError> {
        let responses = self.command("folders", "LIST \"\" \"*\"").await?;
        let mut names: Vec<String> = responses
            .iter()
            .filter_map(list_entry)
            .filter(|(selectable, _)| *selectable)
            .map(|(_, name)| name)
            .collect();
        names.sort_by_key(|name| (name != "INBOX", name.clone()));
        names.dedup();
        Ok(names)
    }

    /// Creates `folder`; true when it is new, false when it was there.
    pub async fn create(&mut self, folder: &str) -> Result<bool, FetchError> {
        match self
            .command("move", &format!("CREATE {}", quote(folder)))
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.refused && e.message.contains("ALREADYEXISTS") => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The UID, size and From/Subject/Date of the newest `count` messages
    /// of the open folder, which has `exists` messages, newest first.
    pub async fn newest_headers(
        &mut self,
        exists: u32,
        count: u32,
    ) -> Result<Vec<(u32, Fetched)>, FetchError> {
        if exists == 0 || count == 0 {
            return Ok(Vec::new());
        }
        let first = exists.saturating_sub(count - 1).max(1);
        let responses = self
            .command(
                "list",
                &format!(
                    "FETCH {first}:* (UID RFC822.SIZE BODY.PEEK[HEADER.FIELDS (FROM SUBJECT DATE)])"
                ),
            )
            .await?;
        let mut out: Vec<(u32, Fetched)> = responses
            .into_iter()
            .filter(|r| r.sequence > 0)
            .filter_map(|r| Some((uid_of(&r.text)?, r)))
            .collect();
        out.sort_by_key(|(_, r)| std::cmp::Reverse(r.sequence));
        Ok(out)
    }

    /// Moves the message with UID `uid` of the selected folder to `target`.
    pub async fn move_uid(&mut self, uid: u32, target: &str) -> Result<(), FetchError> {
        self.command("move", &format!("UID MOVE {uid} {}", quote(target)))
            .await
            .map(|_| ())
    }

    /// Opens `folder` read-write.
    pub async fn select(&mut self, folder: &str) -> Result<(), FetchError> {
        self.command("list", &format!("SELECT {}", quote(folder)))
            .await
            .map(|_| ())
    }

    /// The headers of every message, by sequence number.
    pub async fn all_headers(&mut self) -> Result<Vec<Fetched>, FetchError> {
        let responses = self
            .command("list", "FETCH 1:* (RFC822.SIZE BODY.PEEK[HEADER])")
            .await?;
        Ok(responses.into_iter().filter(|r| r.sequence > 0).collect())
    }

    /// The whole message `n`.
    pub async fn message(&mut self, n: u32) -> Result<Vec<u8>, FetchError> {
        let responses = self
            .command("read", &format!("FETCH {n} BODY.PEEK[]"))
            .await?;
        responses
            .into_iter()
            .find(|r| r.sequence == n)
            .and_then(|r| r.literals.into_iter().next())
            .ok_or_else(|| FetchError::new("read", format!("the server sent no message {n}")))
    }

    /// The whole message with UID `uid`.
    pub async fn message_by_uid(&mut self, uid: u32) -> Result<Vec<u8>, FetchError> {
        let responses = self
            .command("read", &format!("UID FETCH {uid} BODY.PEEK[]"))
            .await?;
        responses
            .into_iter()
            .find(|r| r.sequence > 0)
            .and_then(|r| r.literals.into_iter().next())
            .ok_or_else(|| FetchError::new("read", format!("the server sent no message UID {uid}")))
    }

    /// Opens INBOX read-write (to remove messages).
    pub async fn select_inbox(&mut self) -> Result<(), FetchError> {
        self.command("list", "SELECT INBOX").await.map(|_| ())
    }

    /// The UIDs of the messages whose text (header or body) contains `needle`
    /// (`subject_only`: whose Subject does).
    pub async fn search_uids(
        &mut self,
        needle: &str,
        subject_only: bool,
    ) -> Result<Vec<u32>, FetchError> {
        let key = if subject_only { "SUBJECT" } else { "TEXT" };
        let responses = self
            .command("search", &format!("UID SEARCH {key} {}", quote(needle)))
            .await?;
        Ok(responses
            .iter()
            .filter_map(|r| r.text.strip_prefix("* SEARCH"))
            .flat_map(|numbers| numbers.split_whitespace().filter_map(|n| n.parse().ok()))
            .collect())
    }

    /// Removes the messages with these UIDs, and only them (UID EXPUNGE).
    pub async fn delete_uids(&mut self, uids: &[u32]) -> Result<(), FetchError> {
        if uids.is_empty() {
            return Ok(());
        }
        let set = uids
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(",");
        self.command(
            "delete",
            &format!("UID STORE {set} +FLAGS.SILENT (\\Deleted)"),
        )
        .await?;
        self.command("delete", &format!("UID EXPUNGE {set}"))
            .await
            .map(|_| ())
    }

    pub async fn logout(mut self) {
        let _ = self.command("quit", "LOGOUT").await;
    }
}

/// `{123}` (or `{123+}`) at the end of a line: the size of the literal that follows.
fn literal_size(line: &str) -> Option<usize> {
    let open = line.strip_suffix('}')?.rfind('{')?;
    line[open + 1..line.len() - 1]
        .trim_end_matches('+')
        .parse()
        .ok()
}

/// `* 12 FETCH (…` → 12.
fn fetch_sequence(text: &str) -> Option<u32> {
    let mut words = text.split_whitespace();
    let (star, n, kind) = (words.next()?, words.next()?, words.next()?);
    (star == "*" && kind.eq_ignore_ascii_case("FETCH"))
        .then(|| n.parse().ok())
        .flatten()
}

/// `* LIST (\HasNoChildren) "." "Lab.Reports"` → (selectable, name): the
/// name quoted, as an atom, or as a literal.
fn list_entry(response: &Fetched) -> Option<(bool, String)> {
    let rest = response.text.strip_prefix("* LIST ")?;
    let close = rest.find(')')?;
    let selectable = !rest[..close].to_ascii_lowercase().contains("\\noselect");
    let rest = rest[close + 1..].trim_start();
    // The delimiter: a quoted character or NIL.
    let rest = if let Some(after) = rest.strip_prefix('"') {
        let end = after.strip_prefix('\\').map_or(1, |_| 2);
        after.get(end + 1..)?
    } else {
        rest.strip_prefix("NIL")?
    };
    let name = rest.trim();
    let name = if let Some(literal) = response.literals.first() {
        String::from_utf8_lossy(literal).into_owned()
    } else if let Some(quoted) = name.strip_prefix('"').and_then(|n| n.strip_suffix('"')) {
        quoted.replace("\\\"", "\"").replace("\\\\", "\\")
    } else {
        name.to_string()
    };
    (!name.is_empty()).then_some((selectable, name))
}

/// `* 3 FETCH (UID 7 RFC822.SIZE …` → 7.
fn uid_of(text: &str) -> Option<u32> {
    let upper = text.to_ascii_uppercase();
    let at = upper.find("(UID ").or_else(|| upper.find(" UID "))? + 5;
    upper[at..]
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// An IMAP quoted string.
fn quote(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The RFC822.SIZE of a FETCH response, if it has one.
pub fn size_of(fetched: &Fetched) -> u64 {
    let upper = fetched.text.to_ascii_uppercase();
    upper
        .find("RFC822.SIZE ")
        .and_then(|i| {
            upper[i + 12..]
                .split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_response_parts() {
        assert_eq!(literal_size("* 1 FETCH (BODY[] {342}"), Some(342));
        assert_eq!(literal_size("* 1 FETCH (BODY[] {342+}"), Some(342));
        assert_eq!(literal_size("* OK {x}"), None);
        assert_eq!(fetch_sequence("* 7 FETCH (UID 9)"), Some(7));
        assert_eq!(fetch_sequence("* 7 EXISTS"), None);
        assert_eq!(quote("a\"b\\"), "\"a\\\"b\\\\\"");
        let f = Fetched {
            sequence: 1,
            text: "* 1 FETCH (RFC822.SIZE 1234 BODY[HEADER] {5})".into(),
            literals: vec![],
        };
        assert_eq!(size_of(&f), 1234);
        assert_eq!(uid_of("* 3 FETCH (UID 7 RFC822.SIZE 9"), Some(7));
        assert_eq!(uid_of("* 3 FETCH (RFC822.SIZE 9 UID 12)"), Some(12));
        assert_eq!(uid_of("* 3 FETCH (RFC822.SIZE 9)"), None);
    }

    #[test]
    fn reads_folder_lists() {
        let entry = |text: &str, literals: Vec<Vec<u8>>| {
            list_entry(&Fetched {
                sequence: 0,
                text: text.into(),
                literals,
            })
        };
        assert_eq!(
            entry("* LIST (\\HasNoChildren) \".\" \"Lab.Reports\"", vec![]),
            Some((true, "Lab.Reports".into()))
        );
        assert_eq!(
            entry("* LIST (\\HasNoChildren) \"/\" INBOX", vec![]),
            Some((true, "INBOX".into()))
        );
        assert_eq!(
            entry("* LIST (\\Noselect \\HasChildren) \".\" \"Lab\"", vec![]),
            Some((false, "Lab".into()))
        );
        assert_eq!(
            entry("* LIST () NIL {4})", vec![b"a\"b)".to_vec()]),
            Some((true, "a\"b)".into()))
        );
        assert_eq!(
            entry("* LIST () \".\" \"say \\\"hi\\\"\"", vec![]),
            Some((true, "say \"hi\"".into()))
        );
        assert_eq!(entry("* 1 EXISTS", vec![]), None);
    }
}
