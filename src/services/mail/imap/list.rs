//! LIST and LSUB (RFC 3501 §6.3.8-9): the user's folders that match a
//! pattern, with the levels above them, as more methods of the session.
//! The pattern is capped in length and wildcards and matched without
//! backtracking, so one LIST costs at most folders × pattern × name steps.

use std::collections::BTreeSet;

use super::response::push_string;
use super::session::{DELIMITER, Session, store_failure};

/// Octets of reference and pattern together: a folder name is at most 200
/// octets (`store::check_folder_name`), so a longer pattern can only match
/// through wildcards, and nobody needs that many.
pub const MAX_LIST_PATTERN: usize = 512;
/// `*` and `%` in reference and pattern together; clients send one or two.
pub const MAX_LIST_WILDCARDS: usize = 20;

impl Session {
    pub(super) fn list(
        &mut self,
        tag: &str,
        reference: &str,
        pattern: &str,
        subscribed_only: bool,
    ) {
        let name = if subscribed_only { "LSUB" } else { "LIST" };
        if pattern.is_empty() && !subscribed_only {
            self.line("* LIST (\\Noselect) \".\" \"\"");
            return self.tagged(tag, "OK LIST completed");
        }
        let folders = match self.store.folders(self.user()) {
            Ok(folders) => folders,
            Err(e) => return self.tagged(tag, &store_failure(&e)),
        };
        let mut full = format!("{reference}{pattern}");
        let wildcards = full.bytes().filter(|b| matches!(b, b'*' | b'%')).count();
        if full.len() > MAX_LIST_PATTERN || wildcards > MAX_LIST_WILDCARDS {
            return self.tagged(
                tag,
                &format!(
                    "NO [LIMIT] {name} pattern too complex (at most {MAX_LIST_PATTERN} octets \
                     and {MAX_LIST_WILDCARDS} wildcards)"
                ),
            );
        }
        if full
            .get(..5)
            .is_some_and(|head| head.eq_ignore_ascii_case("INBOX"))
        {
            full.replace_range(..5, "INBOX");
        }
        // Levels above a folder that are not folders themselves (`Lab` of
        // `Lab.Reports`) are listed as \Noselect, so clients can browse down.
        let selectable: BTreeSet<&str> = folders.iter().map(String::as_str).collect();
        let mut names: BTreeSet<&str> = selectable.clone();
        for folder in &folders {
            names.extend(
                folder
                    .match_indices(DELIMITER)
                    .map(|(dot, _)| &folder[..dot]),
            );
        }
        let mut matcher = Matcher::new(full.as_bytes());
        let inbox_first =
            std::iter::once("INBOX").chain(names.iter().copied().filter(|&n| n != "INBOX"));
        for folder in inbox_first {
            if !matcher.matches(folder.as_bytes()) {
                continue;
            }
            // Sorted, so a child, if any, comes right after `folder.`.
            let prefix = format!("{folder}{DELIMITER}");
            let children = names
                .range(prefix.as_str()..)
                .next()
                .is_some_and(|next| next.starts_with(&prefix));
            let mut attributes = vec![if children {
                "\\HasChildren"
            } else {
                "\\HasNoChildren"
            }];
            if !selectable.contains(folder) {
                attributes.insert(0, "\\Noselect");
            }
            let mut line =
                format!("* {name} ({}) \"{DELIMITER}\" ", attributes.join(" ")).into_bytes();
            push_string(&mut line, folder.as_bytes());
            self.out.extend_from_slice(&line);
            self.out.extend_from_slice(b"\r\n");
        }
        self.tagged(tag, &format!("OK {name} completed"));
    }
}

/// A LIST pattern: `*` matches anything, `%` anything but the delimiter.
/// Matching runs the pattern over the set of name positions it can have
/// reached (dynamic programming, no backtracking): at most pattern × name
/// steps, whatever the pattern. Runs of wildcards are one wildcard, and a
/// name shorter than the pattern's other octets is refused at once.
struct Matcher {
    pattern: Vec<u8>,
    literals: usize,
    /// Reused between names: which name positions the pattern so far can
    /// end at.
    reachable: Vec<bool>,
    next: Vec<bool>,
}

impl Matcher {
    fn new(pattern: &[u8]) -> Matcher {
        let mut collapsed: Vec<u8> = Vec::with_capacity(pattern.len());
        for &p in pattern {
            match (collapsed.last_mut(), p) {
                // `**`, `*%` and `%*` match what `*` does; `%%` what `%` does.
                (Some(last @ (b'*' | b'%')), b'*' | b'%') => {
                    if p == b'*' {
                        *last = b'*';
                    }
                }
                _ => collapsed.push(p),
            }
        }
        let literals = collapsed
            .iter()
            .filter(|&&p| p != b'*' && p != b'%')
            .count();
        Matcher {
            pattern: collapsed,
            literals,
            reachable: Vec::new(),
            next: Vec::new(),
        }
    }

    fn matches(&mut self, name: &[u8]) -> bool {
        if self.literals > name.len() {
            return false;
        }
        let (reachable, next) = (&mut self.reachable, &mut self.next);
        reachable.clear();
        reachable.resize(name.len() + 1, false);
        reachable[0] = true;
        for &p in &self.pattern {
            next.clear();
            next.resize(name.len() + 1, false);
            match p {
                b'*' | b'%' => {
                    let mut on = false;
                    for i in 0..=name.len() {
                        on = on || reachable[i];
                        next[i] = on;
                        if p == b'%' && i < name.len() && name[i] == DELIMITER as u8 {
                            on = false;
                        }
                    }
                }
                _ => {
                    let mut any = false;
                    for i in 0..name.len() {
                        next[i + 1] = reachable[i] && name[i] == p;
                        any |= next[i + 1];
                    }
                    if !any {
                        return false;
                    }
                }
            }
            std::mem::swap(reachable, next);
        }
        reachable[name.len()]
    }
}

#[cfg(test)]
fn wildcard_match(pattern: &[u8], name: &[u8]) -> bool {
    Matcher::new(pattern).matches(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_wildcards() {
        assert!(wildcard_match(b"*", b"a.b.c"));
        assert!(wildcard_match(b"%", b"INBOX") && !wildcard_match(b"%", b"a.b"));
        assert!(wildcard_match(b"a.%", b"a.b") && !wildcard_match(b"a.%", b"a.b.c"));
        assert!(wildcard_match(b"a*c", b"a.b.c") && !wildcard_match(b"a%c", b"a.b.c"));
        assert!(wildcard_match(b"Sent", b"Sent") && !wildcard_match(b"Sent", b"Sent2"));
        assert!(!wildcard_match(b"", b"INBOX"));
        let hostile = "*%".repeat(500);
        assert!(wildcard_match(hostile.as_bytes(), b"a.b"));
        assert!(wildcard_match(b"%%.%*", b"a.b.c") && !wildcard_match(b"%%.%%", b"a.b.c"));
    }

    /// What the patterns mean, said the slow way (backtracking).
    fn reference(pattern: &[u8], name: &[u8]) -> bool {
        match pattern.split_first() {
            None => name.is_empty(),
            Some((b'*', rest)) => (0..=name.len()).any(|i| reference(rest, &name[i..])),
            Some((b'%', rest)) => (0..=name.len())
                .take_while(|&i| i == 0 || name[i - 1] != DELIMITER as u8)
                .any(|i| reference(rest, &name[i..])),
            Some((&p, rest)) => name.first() == Some(&p) && reference(rest, &name[1..]),
        }
    }

    #[test]
    fn the_matcher_agrees_with_the_definition() {
        // Every pattern and name of up to 5 octets over a small alphabet.
        let words = |alphabet: &[u8], most: usize| {
            let mut all = vec![Vec::new()];
            let mut last = vec![Vec::new()];
            for _ in 0..most {
                last = last
                    .iter()
                    .flat_map(|w: &Vec<u8>| alphabet.iter().map(move |&c| [&w[..], &[c]].concat()))
                    .collect();
                all.extend(last.iter().cloned());
            }
            all
        };
        let names = words(b"ab.", 4);
        for pattern in words(b"a.*%", 5) {
            let mut matcher = Matcher::new(&pattern);
            for name in &names {
                assert_eq!(
                    matcher.matches(name),
                    reference(&pattern, name),
                    "{} against {}",
                    String::from_utf8_lossy(&pattern),
                    String::from_utf8_lossy(name)
                );
            }
        }
    }

    #[test]
    fn the_worst_pattern_costs_little() {
        // The most work a LIST can ask for: a pattern at both caps whose
        // literals all fit a longest name, so nothing is refused early,
        // against 1,000 such names: about 40 million steps (a backtracking
        // matcher would practically never finish).
        let mut pattern = Vec::new();
        for _ in 0..MAX_LIST_WILDCARDS {
            pattern.push(b'*');
            pattern.extend_from_slice(&[b'a'; 9]);
        }
        pattern.push(b'b');
        assert!(pattern.len() <= MAX_LIST_PATTERN);
        let name = [b'a'; 200];
        let mut matcher = Matcher::new(&pattern);
        for _ in 0..1_000 {
            assert!(!matcher.matches(&name));
        }
        let mut near_miss = name.to_vec();
        *near_miss.last_mut().unwrap() = b'b';
        assert!(matcher.matches(&near_miss));
        // No timed assertion (speed lives in benchmarks): the cost is
        // bounded by construction, one pass over the name per pattern octet,
        // and this test finishing at all shows no backtracking blow-up.
    }
}
