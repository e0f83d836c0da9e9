//! SEARCH (RFC 3501 §6.4.4): evaluates a parsed key against one message.
//! Strings match as case-insensitive substrings (ASCII case folding) of the
//! stored header values or octets; dates compare by UTC day. A message's
//! header is found and its octets case-folded once, however many keys look
//! at them (the parser caps the keys at `parser::MAX_SEARCH_KEYS`).

use std::cell::OnceCell;
use std::ops::Range;

use super::command::{DateTest, SearchKey};
use super::mime;
use crate::services::mail::date;
use crate::services::mail::store::MessageMeta;

/// One message as SEARCH sees it.
pub struct Candidate<'a> {
    sequence: u32,
    meta: &'a MessageMeta,
    recent: bool,
    /// The stored message, when `needs_content` said so.
    content: Option<&'a [u8]>,
    /// Where its header ends, and its octets in ASCII lower case: worked
    /// out on first use.
    header: OnceCell<Range<usize>>,
    folded: OnceCell<Vec<u8>>,
}

impl<'a> Candidate<'a> {
    pub fn new(
        sequence: u32,
        meta: &'a MessageMeta,
        recent: bool,
        content: Option<&'a [u8]>,
    ) -> Candidate<'a> {
        Candidate {
            sequence,
            meta,
            recent,
            content,
            header: OnceCell::new(),
            folded: OnceCell::new(),
        }
    }

    fn content(&self) -> &'a [u8] {
        self.content.unwrap_or_default()
    }

    fn header(&self) -> &'a [u8] {
        let content = self.content();
        &content[self
            .header
            .get_or_init(|| mime::parse_header_only(content))
            .clone()]
    }

    fn folded(&self) -> &[u8] {
        self.folded
            .get_or_init(|| self.content().to_ascii_lowercase())
    }
}

/// The largest sequence number and UID in the mailbox (what `*` means).
#[derive(Clone, Copy)]
pub struct Largest {
    pub sequence: u32,
    pub uid: u32,
}

/// Whether `key` looks at headers or text (so the message must be read).
pub fn needs_content(key: &SearchKey) -> bool {
    match key {
        SearchKey::And(keys) => keys.iter().any(needs_content),
        SearchKey::Not(key) => needs_content(key),
        SearchKey::Or(a, b) => needs_content(a) || needs_content(b),
        SearchKey::Sent(..) | SearchKey::Header(..) | SearchKey::Body(_) | SearchKey::Text(_) => {
            true
        }
        _ => false,
    }
}

pub fn matches(key: &SearchKey, message: &Candidate, largest: Largest) -> bool {
    match key {
        SearchKey::All => true,
        SearchKey::And(keys) => keys.iter().all(|k| matches(k, message, largest)),
        SearchKey::Not(key) => !matches(key, message, largest),
        SearchKey::Or(a, b) => matches(a, message, largest) || matches(b, message, largest),
        SearchKey::Flag(flag, wanted) => message.meta.flags.contains(flag) == *wanted,
        SearchKey::Recent(wanted) => message.recent == *wanted,
        SearchKey::New => {
            message.recent
                && !message
                    .meta
                    .flags
                    .contains(&crate::services::mail::store::Flag::Seen)
        }
        SearchKey::Keyword(negated) => *negated,
        SearchKey::Sequence(set) => set.contains(message.sequence, largest.sequence),
        SearchKey::Uid(set) => set.contains(message.meta.uid, largest.uid),
        SearchKey::Larger(size) => message.meta.size > *size,
        SearchKey::Smaller(size) => message.meta.size < *size,
        SearchKey::Received(day, test) => {
            compare(date::day_of(message.meta.internal_date), *day, *test)
        }
        SearchKey::Sent(day, test) => mime::field_value(message.header(), "Date")
            .and_then(|value| date::parse_header_date(&value))
            .is_some_and(|sent| compare(sent, *day, *test)),
        SearchKey::Header(name, needle) => mime::field_values(message.header(), name)
            .iter()
            .any(|value| contains(value.to_ascii_lowercase().as_bytes(), needle)),
        SearchKey::Body(needle) => {
            // Folding keeps every octet where it was.
            contains(&message.folded()[message.header().len()..], needle)
        }
        SearchKey::Text(needle) => contains(message.folded(), needle),
    }
}

fn compare(day: i64, wanted: i64, test: DateTest) -> bool {
    match test {
        DateTest::Before => day < wanted,
        DateTest::On => day == wanted,
        DateTest::Since => day >= wanted,
    }
}

/// Case-insensitive (ASCII) substring test in linear time (two-way search)
/// in a haystack already in lower case; the empty needle always matches.
fn contains(folded_haystack: &[u8], needle: &str) -> bool {
    needle.is_empty()
        || memchr::memmem::find(folded_haystack, &needle.as_bytes().to_ascii_lowercase()).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::mail::imap::command::CommandBody;
    use crate::services::mail::imap::parser;
    use crate::services::mail::store::Flag;
    use std::time::{Duration, UNIX_EPOCH};

    const MESSAGE: &[u8] = b"From: Ada <ada@mt.com>\r\nTo: bob@mt.com\r\nSubject: Lab Report\r\n\
Date: Tue, 1 Dec 2026 08:00:00 +0000\r\n\r\nThe routers forward.\r\n";

    fn hits(query: &str) -> bool {
        let CommandBody::Search { key, .. } = parser::parse(format!("t SEARCH {query}").as_bytes())
            .unwrap()
            .body
        else {
            panic!()
        };
        let meta = MessageMeta {
            uid: 9,
            size: MESSAGE.len() as u64,
            flags: vec![Flag::Seen],
            internal_date: UNIX_EPOCH + Duration::from_secs(20_000 * 86_400),
        };
        let content = needs_content(&key).then_some(MESSAGE);
        let candidate = Candidate::new(2, &meta, false, content);
        matches(
            &key,
            &candidate,
            Largest {
                sequence: 5,
                uid: 12,
            },
        )
    }

    #[test]
    fn flags_numbers_and_sizes() {
        assert!(hits("SEEN") && !hits("UNSEEN") && hits("ALL UNDELETED"));
        assert!(hits("2") && hits("1:*") && !hits("3:4") && hits("UID 9") && !hits("UID 10:*"));
        assert!(hits("LARGER 10") && !hits("SMALLER 10") && hits("OR SMALLER 10 SEEN"));
        assert!(
            !hits("NEW")
                && hits("OLD")
                && hits("NOT RECENT")
                && !hits("KEYWORD $Junk")
                && hits("UNKEYWORD $Junk")
        );
    }

    #[test]
    fn headers_text_and_dates() {
        assert!(hits("FROM ada") && hits("FROM \"ADA@MT\"") && !hits("FROM bob") && hits("TO bob"));
        assert!(
            hits("SUBJECT \"lab report\"")
                && hits("HEADER Date 2026")
                && !hits("HEADER X-Missing \"\"")
        );
        assert!(hits("HEADER Subject \"\""));
        assert!(hits("BODY routers") && !hits("BODY Subject") && hits("TEXT subject"));
        assert!(
            hits("SENTON 1-Dec-2026")
                && hits("SENTSINCE 30-Nov-2026")
                && !hits("SENTBEFORE 1-Dec-2026")
        );
        // 20,000 days after the epoch is 4-Oct-2024.
        assert!(hits("ON 4-Oct-2024") && hits("BEFORE 5-Oct-2024") && !hits("SINCE 5-Oct-2024"));
    }
}
