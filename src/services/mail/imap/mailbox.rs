//! The selected mailbox as one session sees it: the messages in the order
//! of their sequence numbers, their flags, and which are recent (arrived
//! while this session had it selected). `sync` brings the view in step
//! with the store and writes the untagged EXISTS/RECENT/EXPUNGE/FETCH
//! responses that tell the client what changed.

use std::collections::{HashMap, HashSet};

use super::response::push_flags;
use super::sequence::SequenceSet;
use crate::services::mail::store::{FolderSnapshot, MessageMeta};

pub struct Mailbox {
    pub folder: String,
    pub read_only: bool,
    pub uid_validity: u32,
    pub uid_next: u32,
    /// Index + 1 is the sequence number.
    pub messages: Vec<MessageMeta>,
    pub recent: HashSet<u32>,
    /// The store's version of the folder this view is wholly in step
    /// with; 0 when it is not (an EXPUNGE still to tell).
    pub version: u64,
}

impl Mailbox {
    pub fn new(folder: String, read_only: bool, snapshot: FolderSnapshot) -> Mailbox {
        Mailbox {
            folder,
            read_only,
            uid_validity: snapshot.uid_validity,
            uid_next: snapshot.uid_next,
            messages: snapshot.messages,
            recent: HashSet::new(),
            version: snapshot.version,
        }
    }

    pub fn count(&self) -> u32 {
        self.messages.len() as u32
    }

    pub fn largest_uid(&self) -> u32 {
        self.messages.last().map_or(0, |m| m.uid)
    }

    pub fn is_recent(&self, uid: u32) -> bool {
        self.recent.contains(&uid)
    }

    /// Indices of the messages `set` names (sequence numbers, or UIDs with
    /// `uid`). A sequence number past the last message is an error; UIDs
    /// that do not exist are skipped (RFC 3501 §6.4.8).
    pub fn resolve(&self, set: &SequenceSet, uid: bool) -> Result<Vec<usize>, String> {
        if uid {
            let largest = self.largest_uid();
            if let Some((low, high)) = set.single_range(largest) {
                // Messages are sorted by UID: the range is one slice.
                let start = self.messages.partition_point(|m| m.uid < low);
                let end = self.messages.partition_point(|m| m.uid <= high);
                return Ok((start..end.max(start)).collect());
            }
            return Ok((0..self.messages.len())
                .filter(|&i| set.contains(self.messages[i].uid, largest))
                .collect());
        }
        let count = self.count();
        for &(a, b) in &set.ranges {
            for bound in [a, b] {
                if let super::sequence::Bound::Number(n) = bound
                    && n > count
                {
                    return Err(format!("no message {n} (the mailbox has {count})"));
                }
            }
        }
        if let Some((low, high)) = set.single_range(count) {
            return Ok((low.max(1) as usize - 1..high as usize).collect());
        }
        Ok((0..self.messages.len())
            .filter(|&i| set.contains(i as u32 + 1, count))
            .collect())
    }

    /// Takes in `snapshot`: writes `* n EXPUNGE` for messages gone (only when
    /// `expunge_allowed`: not during FETCH, STORE or SEARCH, RFC 3501
    /// §7.4.1), `* n FETCH (FLAGS …)` for changed flags, and EXISTS/RECENT
    /// for new messages.
    pub fn sync(&mut self, snapshot: FolderSnapshot, expunge_allowed: bool, out: &mut Vec<u8>) {
        let current: HashMap<u32, &MessageMeta> =
            snapshot.messages.iter().map(|m| (m.uid, m)).collect();
        let withheld =
            !expunge_allowed && self.messages.iter().any(|m| !current.contains_key(&m.uid));
        self.version = if withheld { 0 } else { snapshot.version };
        if expunge_allowed {
            for index in (0..self.messages.len()).rev() {
                if !current.contains_key(&self.messages[index].uid) {
                    let gone = self.messages.remove(index);
                    self.recent.remove(&gone.uid);
                    out.extend_from_slice(format!("* {} EXPUNGE\r\n", index + 1).as_bytes());
                }
            }
        }
        for (index, message) in self.messages.iter_mut().enumerate() {
            if let Some(now) = current.get(&message.uid)
                && now.flags != message.flags
            {
                message.flags = now.flags.clone();
                out.extend_from_slice(format!("* {} FETCH (FLAGS ", index + 1).as_bytes());
                push_flags(out, &message.flags, self.recent.contains(&message.uid));
                out.extend_from_slice(b")\r\n");
            }
        }
        let largest = self.largest_uid();
        let arrived: Vec<MessageMeta> = snapshot
            .messages
            .into_iter()
            .filter(|m| m.uid > largest)
            .collect();
        if !arrived.is_empty() {
            self.recent.extend(arrived.iter().map(|m| m.uid));
            self.messages.extend(arrived);
            out.extend_from_slice(
                format!(
                    "* {} EXISTS\r\n* {} RECENT\r\n",
                    self.count(),
                    self.recent.len()
                )
                .as_bytes(),
            );
        }
        self.uid_next = self.uid_next.max(snapshot.uid_next);
    }

    /// Forgets the message at `index` after this session removed it; the
    /// caller writes the EXPUNGE.
    pub fn forget(&mut self, index: usize) {
        let gone = self.messages.remove(index);
        self.recent.remove(&gone.uid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::mail::store::Flag;
    use std::time::UNIX_EPOCH;

    fn meta(uid: u32, flags: &[Flag]) -> MessageMeta {
        MessageMeta {
            uid,
            size: 10,
            flags: flags.to_vec(),
            internal_date: UNIX_EPOCH,
        }
    }

    fn snapshot(messages: Vec<MessageMeta>) -> FolderSnapshot {
        FolderSnapshot {
            uid_validity: 1,
            uid_next: 20,
            messages,
            version: 7,
        }
    }

    #[test]
    fn sync_reports_expunges_flags_and_arrivals() {
        let mut mailbox = Mailbox::new(
            "INBOX".into(),
            false,
            snapshot(vec![meta(3, &[]), meta(5, &[]), meta(7, &[])]),
        );
        let mut out = Vec::new();
        mailbox.sync(
            snapshot(vec![meta(3, &[]), meta(7, &[Flag::Seen]), meta(9, &[])]),
            false,
            &mut out,
        );
        assert_eq!(
            String::from_utf8_lossy(&out),
            "* 3 FETCH (FLAGS (\\Seen))\r\n* 4 EXISTS\r\n* 1 RECENT\r\n"
        );
        assert_eq!(mailbox.count(), 4, "no EXPUNGE while not allowed");
        assert_eq!(
            mailbox.version, 0,
            "a withheld EXPUNGE keeps the view out of step with version 7"
        );
        out.clear();
        mailbox.sync(
            snapshot(vec![meta(3, &[]), meta(7, &[Flag::Seen]), meta(9, &[])]),
            true,
            &mut out,
        );
        assert_eq!(String::from_utf8_lossy(&out), "* 2 EXPUNGE\r\n");
        assert_eq!(mailbox.version, 7, "in step once everything was told");
        assert_eq!(
            mailbox.messages.iter().map(|m| m.uid).collect::<Vec<_>>(),
            vec![3, 7, 9]
        );
        assert!(mailbox.is_recent(9));
    }

    #[test]
    fn resolve_sequence_numbers_and_uids() {
        let mailbox = Mailbox::new(
            "INBOX".into(),
            false,
            snapshot(vec![meta(3, &[]), meta(5, &[]), meta(7, &[])]),
        );
        assert_eq!(
            mailbox
                .resolve(&SequenceSet::parse("2:*").unwrap(), false)
                .unwrap(),
            vec![1, 2]
        );
        assert!(
            mailbox
                .resolve(&SequenceSet::parse("4").unwrap(), false)
                .is_err()
        );
        assert_eq!(
            mailbox
                .resolve(&SequenceSet::parse("4:6,100").unwrap(), true)
                .unwrap(),
            vec![1]
        );
        assert_eq!(
            mailbox
                .resolve(&SequenceSet::parse("*").unwrap(), true)
                .unwrap(),
            vec![2]
        );
    }

    #[test]
    fn an_empty_mailbox_resolves_star_to_nothing() {
        let mailbox = Mailbox::new("INBOX".into(), false, snapshot(Vec::new()));
        for text in ["*", "*:*", "1:*", "5"] {
            let set = SequenceSet::parse(text).unwrap();
            assert_eq!(
                mailbox.resolve(&set, true).unwrap(),
                Vec::<usize>::new(),
                "UID {text}"
            );
        }
        let star = SequenceSet::parse("*").unwrap();
        assert_eq!(mailbox.resolve(&star, false).unwrap(), Vec::<usize>::new());
        assert!(
            mailbox
                .resolve(&SequenceSet::parse("1:*").unwrap(), false)
                .is_err()
        );
    }

    #[test]
    fn one_range_resolves_like_checking_every_message() {
        let uids = [3, 5, 7, 20, 21];
        let mailbox = Mailbox::new(
            "INBOX".into(),
            false,
            snapshot(uids.iter().map(|&uid| meta(uid, &[])).collect()),
        );
        let bounds = ["1", "3", "4", "7", "20", "21", "22", "100", "*"];
        for a in bounds {
            for b in bounds {
                let set = SequenceSet::parse(&format!("{a}:{b}")).unwrap();
                let every_uid: Vec<usize> = (0..uids.len())
                    .filter(|&i| set.contains(uids[i], 21))
                    .collect();
                assert_eq!(
                    mailbox.resolve(&set, true).unwrap(),
                    every_uid,
                    "UID {a}:{b}"
                );
                let every_number: Vec<usize> = (0..uids.len())
                    .filter(|&i| set.contains(i as u32 + 1, 5))
                    .collect();
                match mailbox.resolve(&set, false) {
                    Ok(found) => assert_eq!(found, every_number, "{a}:{b}"),
                    Err(_) => assert!([a, b].iter().any(|n| n.parse().is_ok_and(|n: u32| n > 5))),
                }
            }
        }
    }
}
