//! SEARCH's keys (RFC 3501 §6.4.4): nested lists, NOT and OR with a bound
//! depth and count, dates, sizes, flags, headers and text.

use super::*;

impl Cursor<'_> {
    pub(super) fn search(&mut self, uid: bool) -> Parsed<CommandBody> {
        self.space()?;
        let start = self.at;
        if self
            .take_while(|b| b.is_ascii_alphabetic())
            .eq_ignore_ascii_case("CHARSET")
        {
            self.space()?;
            let charset = self.astring()?;
            if !["US-ASCII", "UTF-8"]
                .iter()
                .any(|c| c.eq_ignore_ascii_case(&charset))
            {
                return Err(Failure::BadCharset);
            }
            self.space()?;
        } else {
            self.at = start;
        }
        let mut keys = vec![self.search_key(0)?];
        while self.peek() == Some(b' ') {
            self.at += 1;
            keys.push(self.search_key(0)?);
        }
        let key = if keys.len() == 1 {
            keys.remove(0)
        } else {
            SearchKey::And(keys)
        };
        Ok(CommandBody::Search { key, uid })
    }

    fn search_key(&mut self, depth: usize) -> Parsed<SearchKey> {
        if depth > MAX_SEARCH_DEPTH {
            return bad("search keys nested too deeply");
        }
        self.search_keys += 1;
        if self.search_keys > MAX_SEARCH_KEYS {
            return Err(Failure::Limit(format!(
                "too many search keys (at most {MAX_SEARCH_KEYS}); search in steps"
            )));
        }
        match self.peek() {
            Some(b'(') => {
                self.at += 1;
                let mut keys = vec![self.search_key(depth + 1)?];
                while self.peek() == Some(b' ') {
                    self.at += 1;
                    keys.push(self.search_key(depth + 1)?);
                }
                self.byte(b')')?;
                return Ok(SearchKey::And(keys));
            }
            Some(b'0'..=b'9' | b'*') => return Ok(SearchKey::Sequence(self.sequence_set()?)),
            _ => {}
        }
        let name = self.atom()?.to_ascii_uppercase();
        Ok(match name.as_str() {
            "ALL" => SearchKey::All,
            "ANSWERED" => SearchKey::Flag(Flag::Answered, true),
            "UNANSWERED" => SearchKey::Flag(Flag::Answered, false),
            "DELETED" => SearchKey::Flag(Flag::Deleted, true),
            "UNDELETED" => SearchKey::Flag(Flag::Deleted, false),
            "DRAFT" => SearchKey::Flag(Flag::Draft, true),
            "UNDRAFT" => SearchKey::Flag(Flag::Draft, false),
            "FLAGGED" => SearchKey::Flag(Flag::Flagged, true),
            "UNFLAGGED" => SearchKey::Flag(Flag::Flagged, false),
            "SEEN" => SearchKey::Flag(Flag::Seen, true),
            "UNSEEN" => SearchKey::Flag(Flag::Seen, false),
            "RECENT" => SearchKey::Recent(true),
            "OLD" => SearchKey::Recent(false),
            "NEW" => SearchKey::New,
            "KEYWORD" | "UNKEYWORD" => {
                self.space()?;
                self.atom()?;
                SearchKey::Keyword(name == "UNKEYWORD")
            }
            "NOT" => {
                self.space()?;
                SearchKey::Not(Box::new(self.search_key(depth + 1)?))
            }
            "OR" => {
                self.space()?;
                let left = self.search_key(depth + 1)?;
                self.space()?;
                let right = self.search_key(depth + 1)?;
                SearchKey::Or(Box::new(left), Box::new(right))
            }
            "UID" => {
                self.space()?;
                SearchKey::Uid(self.sequence_set()?)
            }
            "LARGER" | "SMALLER" => {
                self.space()?;
                let size = u64::from(self.number()?);
                if name == "LARGER" {
                    SearchKey::Larger(size)
                } else {
                    SearchKey::Smaller(size)
                }
            }
            "BEFORE" | "ON" | "SINCE" | "SENTBEFORE" | "SENTON" | "SENTSINCE" => {
                self.space()?;
                let text = self.astring()?;
                let Some(day) = date::parse_date(&text) else {
                    return bad(format!("bad date {text:?} (expected d-Mon-yyyy)"));
                };
                let test = match name.trim_start_matches("SENT") {
                    "BEFORE" => DateTest::Before,
                    "ON" => DateTest::On,
                    _ => DateTest::Since,
                };
                if name.starts_with("SENT") {
                    SearchKey::Sent(day, test)
                } else {
                    SearchKey::Received(day, test)
                }
            }
            "FROM" | "TO" | "CC" | "BCC" | "SUBJECT" => {
                self.space()?;
                SearchKey::Header(name.clone(), self.search_string()?)
            }
            "HEADER" => {
                self.space()?;
                let field = self.astring()?;
                self.space()?;
                SearchKey::Header(field, self.search_string()?)
            }
            "BODY" => {
                self.space()?;
                SearchKey::Body(self.search_string()?)
            }
            "TEXT" => {
                self.space()?;
                SearchKey::Text(self.search_string()?)
            }
            _ => return bad(format!("unknown SEARCH key {name}")),
        })
    }

    fn search_string(&mut self) -> Parsed<String> {
        Ok(String::from_utf8_lossy(&self.astring_bytes()?).into_owned())
    }
}
