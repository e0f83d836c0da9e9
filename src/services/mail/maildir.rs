//! Maildir file names: `UNIQUE,U=UID,S=SIZE` in `new/`, with `:2,FLAGS` in
//! `cur/` (flags as the maildir spec's letters, sorted). The UID lives in
//! the name so that it survives flag changes (a rename) and restarts.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A message flag, stored as a maildir info letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Flag {
    Seen,
    Answered,
    Flagged,
    Deleted,
    Draft,
}

impl Flag {
    pub const ALL: [Flag; 5] = [
        Flag::Seen,
        Flag::Answered,
        Flag::Flagged,
        Flag::Deleted,
        Flag::Draft,
    ];

    /// The maildir info letter.
    pub fn letter(self) -> char {
        match self {
            Flag::Draft => 'D',
            Flag::Flagged => 'F',
            Flag::Answered => 'R',
            Flag::Seen => 'S',
            Flag::Deleted => 'T',
        }
    }

    fn from_letter(letter: char) -> Option<Flag> {
        Flag::ALL.into_iter().find(|f| f.letter() == letter)
    }
}

/// A message file's name, taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileName {
    /// Everything before the first `,` or `:`: unique within the folder.
    pub unique: String,
    pub uid: Option<u32>,
    pub size: Option<u64>,
    /// The info letters after `:2,` (flags and any letters we do not know,
    /// which are kept as they are).
    pub info: String,
}

impl FileName {
    /// Splits a file name; None for names that are not messages (dot files).
    pub fn parse(name: &str) -> Option<FileName> {
        if name.is_empty() || name.starts_with('.') {
            return None;
        }
        let (base, info) = match name.split_once(":2,") {
            Some((base, info)) => (base, info.to_string()),
            None => (name.split_once(':').map_or(name, |(b, _)| b), String::new()),
        };
        let mut fields = base.split(',');
        let unique = fields.next()?.to_string();
        let (mut uid, mut size) = (None, None);
        for field in fields {
            if let Some(value) = field.strip_prefix("U=") {
                uid = value.parse().ok().filter(|&u| u > 0);
            } else if let Some(value) = field.strip_prefix("S=") {
                size = value.parse().ok();
            }
        }
        Some(FileName {
            unique,
            uid,
            size,
            info,
        })
    }

    /// The flags among the info letters, in `Flag::ALL` order.
    pub fn flags(&self) -> Vec<Flag> {
        let mut flags: Vec<Flag> = self.info.chars().filter_map(Flag::from_letter).collect();
        flags.sort();
        flags.dedup();
        flags
    }

    /// The info letters with the system flags replaced by `flags`.
    pub fn with_flags(&self, flags: &[Flag]) -> FileName {
        let mut letters: Vec<char> = self
            .info
            .chars()
            .filter(|c| Flag::from_letter(*c).is_none())
            .chain(flags.iter().map(|f| f.letter()))
            .collect();
        letters.sort_unstable();
        letters.dedup();
        FileName {
            info: letters.into_iter().collect(),
            ..self.clone()
        }
    }

    /// The name in `new/` (no info part).
    pub fn in_new(&self) -> String {
        self.base()
    }

    /// The name in `cur/`.
    pub fn in_cur(&self) -> String {
        format!("{}:2,{}", self.base(), self.info)
    }

    fn base(&self) -> String {
        let mut base = self.unique.clone();
        if let Some(uid) = self.uid {
            base.push_str(&format!(",U={uid}"));
        }
        if let Some(size) = self.size {
            base.push_str(&format!(",S={size}"));
        }
        base
    }
}

/// A fresh unique part (`SECONDS.MMICROSPPIDQCOUNT.labctl`, as the maildir
/// spec suggests).
pub fn unique_part() -> String {
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    format!(
        "{}.M{}P{}Q{}.labctl",
        now.as_secs(),
        now.subsec_micros(),
        std::process::id(),
        COUNT.fetch_add(1, Ordering::Relaxed)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let name = FileName::parse("1.M2P3Q4.labctl,U=7,S=120:2,RS").unwrap();
        assert_eq!(name.uid, Some(7));
        assert_eq!(name.size, Some(120));
        assert_eq!(name.flags(), vec![Flag::Seen, Flag::Answered]);
        assert_eq!(name.in_cur(), "1.M2P3Q4.labctl,U=7,S=120:2,RS");
        assert_eq!(name.in_new(), "1.M2P3Q4.labctl,U=7,S=120");
    }

    #[test]
    fn foreign_names_and_letters_are_kept() {
        let name = FileName::parse("1234.abc.host:2,Sa").unwrap();
        assert_eq!(name.uid, None);
        assert_eq!(name.unique, "1234.abc.host");
        let flagged = name.with_flags(&[Flag::Deleted, Flag::Flagged]);
        assert_eq!(flagged.info, "FTa");
        assert_eq!(flagged.flags(), vec![Flag::Flagged, Flag::Deleted]);
        assert!(FileName::parse(".hidden").is_none());
        assert_eq!(FileName::parse("x,U=0").unwrap().uid, None);
    }

    #[test]
    fn unique_parts_differ() {
        assert_ne!(unique_part(), unique_part());
    }
}
