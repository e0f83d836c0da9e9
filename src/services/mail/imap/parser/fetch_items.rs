//! FETCH's data items (RFC 3501 §6.4.5): macros, BODY[section]<partial>
//! with HEADER.FIELDS lists and part numbers, BINARY and the rest.

use super::*;

impl Cursor<'_> {
    pub(super) fn fetch_items(&mut self) -> Parsed<Vec<FetchItem>> {
        if self.peek() != Some(b'(') {
            let start = self.at;
            let word = self
                .take_while(|b| b.is_ascii_alphabetic())
                .to_ascii_uppercase();
            let expanded = match word.as_str() {
                "ALL" => Some(vec![
                    FetchItem::Flags,
                    FetchItem::InternalDate,
                    FetchItem::Rfc822Size,
                    FetchItem::Envelope,
                ]),
                "FAST" => Some(vec![
                    FetchItem::Flags,
                    FetchItem::InternalDate,
                    FetchItem::Rfc822Size,
                ]),
                "FULL" => Some(vec![
                    FetchItem::Flags,
                    FetchItem::InternalDate,
                    FetchItem::Rfc822Size,
                    FetchItem::Envelope,
                    FetchItem::Structure { extensible: false },
                ]),
                _ => None,
            };
            if let Some(items) = expanded.filter(|_| self.at_end()) {
                return Ok(items);
            }
            self.at = start;
            return Ok(vec![self.fetch_item()?]);
        }
        self.at += 1;
        let mut items = Vec::new();
        loop {
            items.push(self.fetch_item()?);
            match self.peek() {
                Some(b')') => {
                    self.at += 1;
                    return Ok(items);
                }
                _ => self.space()?,
            }
        }
    }

    fn fetch_item(&mut self) -> Parsed<FetchItem> {
        let name = self
            .take_while(|b| b.is_ascii_alphanumeric() || b == b'.')
            .to_ascii_uppercase();
        let legacy = |label, section: SectionText, peek| {
            FetchItem::Body(BodyRequest {
                section: Section {
                    part: Vec::new(),
                    text: section,
                },
                partial: None,
                peek,
                legacy: Some(label),
            })
        };
        Ok(match name.as_str() {
            "UID" => FetchItem::Uid,
            "FLAGS" => FetchItem::Flags,
            "INTERNALDATE" => FetchItem::InternalDate,
            "RFC822.SIZE" => FetchItem::Rfc822Size,
            "ENVELOPE" => FetchItem::Envelope,
            "BODYSTRUCTURE" => FetchItem::Structure { extensible: true },
            "RFC822" => legacy(Rfc822Label::Whole, SectionText::Full, false),
            "RFC822.HEADER" => legacy(Rfc822Label::Header, SectionText::Header, true),
            "RFC822.TEXT" => legacy(Rfc822Label::Text, SectionText::Text, false),
            "BODY" if self.peek() != Some(b'[') => FetchItem::Structure { extensible: false },
            "BODY" | "BODY.PEEK" => {
                let section = self.section()?;
                let partial = self.partial()?;
                FetchItem::Body(BodyRequest {
                    section,
                    partial,
                    peek: name == "BODY.PEEK",
                    legacy: None,
                })
            }
            _ => return bad(format!("unknown FETCH item {name}")),
        })
    }

    fn section(&mut self) -> Parsed<Section> {
        self.byte(b'[')?;
        let mut part = Vec::new();
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            let number = self.number()?;
            if number == 0 || part.len() == 64 {
                return bad("bad section part number");
            }
            part.push(number);
            if self.peek() != Some(b'.') {
                break;
            }
            self.at += 1;
        }
        let word = self
            .take_while(|b| b.is_ascii_alphabetic() || b == b'.')
            .to_ascii_uppercase();
        let text = match word.as_str() {
            "" if part.is_empty() || self.input[self.at - 1] != b'.' => SectionText::Full,
            "HEADER" => SectionText::Header,
            "TEXT" => SectionText::Text,
            "MIME" if !part.is_empty() => SectionText::Mime,
            "HEADER.FIELDS" | "HEADER.FIELDS.NOT" => {
                self.space()?;
                self.byte(b'(')?;
                let mut fields = Vec::new();
                loop {
                    fields.push(self.astring()?);
                    match self.peek() {
                        Some(b')') => {
                            self.at += 1;
                            break;
                        }
                        _ => self.space()?,
                    }
                }
                SectionText::HeaderFields {
                    fields,
                    not: word.ends_with(".NOT"),
                }
            }
            _ => return bad(format!("bad section {word}")),
        };
        self.byte(b']')?;
        Ok(Section { part, text })
    }

    fn partial(&mut self) -> Parsed<Option<(u32, u32)>> {
        if self.peek() != Some(b'<') {
            return Ok(None);
        }
        self.at += 1;
        let origin = self.number()?;
        self.byte(b'.')?;
        let count = self.number()?;
        self.byte(b'>')?;
        if count == 0 {
            return bad("a partial's length must not be 0");
        }
        Ok(Some((origin, count)))
    }
}
