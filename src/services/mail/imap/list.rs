//! LIST and LSUB (RFC 3501 §6.3.8-9): the user's folders that match a
//! pattern, with the levels above them, as more methods of the session.

use super::response::push_string;
use super::session::{DELIMITER, Session, store_failure};

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
        if full
            .get(..5)
            .is_some_and(|head| head.eq_ignore_ascii_case("INBOX"))
        {
            full.replace_range(..5, "INBOX");
        }
        // Levels above a folder that are not folders themselves (`Lab` of
        // `Lab.Reports`) are listed as \Noselect, so clients can browse down.
        let mut names: Vec<(String, bool)> = Vec::new();
        for folder in &folders {
            let mut level = 0;
            while let Some(dot) = folder[level..].find(DELIMITER) {
                let parent = &folder[..level + dot];
                if !folders.iter().any(|f| f == parent) && !names.iter().any(|(n, _)| n == parent) {
                    names.push((parent.to_string(), false));
                }
                level += dot + 1;
            }
            names.push((folder.clone(), true));
        }
        for (folder, selectable) in &names {
            if !wildcard_match(full.as_bytes(), folder.as_bytes()) {
                continue;
            }
            let prefix = format!("{folder}{DELIMITER}");
            let children = names.iter().any(|(other, _)| other.starts_with(&prefix));
            let mut attributes = vec![if children {
                "\\HasChildren"
            } else {
                "\\HasNoChildren"
            }];
            if !selectable {
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

/// LIST patterns: `*` matches anything, `%` anything but the delimiter
/// (dynamic programming: linear in pattern × name, whatever the pattern).
fn wildcard_match(pattern: &[u8], name: &[u8]) -> bool {
    let mut reachable = vec![false; name.len() + 1];
    reachable[0] = true;
    for &p in pattern {
        let mut next = vec![false; name.len() + 1];
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
                for i in 0..name.len() {
                    next[i + 1] = reachable[i] && name[i] == p;
                }
            }
        }
        reachable = next;
    }
    reachable[name.len()]
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
    }
}
