//! The commands on the selected mailbox (RFC 3501 §6.4): SEARCH, FETCH,
//! STORE, COPY, MOVE and EXPUNGE, as more methods of the session.

use std::io;

use super::command::{FetchItem, SearchKey, StoreMode};
use super::fetch::{self, FetchContext};
use super::response::push_flags;
use super::search::{self, Candidate, Largest};
use super::sequence::SequenceSet;
use super::session::{Pieces, Session, store_failure};
use crate::services::mail::dot_stuffing::with_crlf_line_ends;
use crate::services::mail::store::Flag;

/// Responses are written out whenever this much is buffered.
const WRITE_CHUNK: usize = 64 * 1024;
/// A FETCH of one message up to this size is quick: its file is read from
/// the page cache in microseconds, and its reply stays under one piece
/// (`WRITE_CHUNK`) even if every line end doubles (bare LF to CRLF), so
/// it never waits on the connection (which it must not: it runs there).
const QUICK_FETCH: u64 = 24 * 1024;

impl Session {
    /// Removes the selected mailbox's \Deleted messages (only those in
    /// `uids`, for UID EXPUNGE), telling the client when `announce`.
    pub(super) fn expunge(&mut self, uids: Option<&SequenceSet>, announce: bool) {
        let Some(mailbox) = self.mailbox.as_mut() else {
            return;
        };
        if mailbox.read_only {
            return;
        }
        let user = self.user.as_deref().unwrap_or_default();
        let largest = mailbox.largest_uid();
        for index in (0..mailbox.messages.len()).rev() {
            let message = &mailbox.messages[index];
            let chosen = uids.is_none_or(|set| set.contains(message.uid, largest));
            if !chosen || !message.flags.contains(&Flag::Deleted) {
                continue;
            }
            match self.store.remove(user, &mailbox.folder, message.uid) {
                Ok(()) => {
                    mailbox.forget(index);
                    if announce {
                        self.out
                            .extend_from_slice(format!("* {} EXPUNGE\r\n", index + 1).as_bytes());
                    }
                }
                Err(e) => self.out.extend_from_slice(
                    format!("* NO cannot remove message {}: {e}\r\n", index + 1).as_bytes(),
                ),
            }
        }
    }

    pub(super) fn search(&mut self, tag: &str, key: &SearchKey, uid: bool) {
        let mailbox = self.mailbox.as_ref().expect("selected");
        let user = self.user.as_deref().unwrap_or_default();
        let largest = Largest {
            sequence: mailbox.count(),
            uid: mailbox.largest_uid(),
        };
        let read_content = search::needs_content(key);
        let mut found = Vec::new();
        for (index, meta) in mailbox.messages.iter().enumerate() {
            let content = if read_content {
                self.store
                    .read(user, &mailbox.folder, meta.uid)
                    .ok()
                    .map(with_crlf_line_ends)
            } else {
                None
            };
            let candidate = Candidate::new(
                index as u32 + 1,
                meta,
                mailbox.is_recent(meta.uid),
                content.as_deref(),
            );
            if search::matches(key, &candidate, largest) {
                found.push(if uid { meta.uid } else { index as u32 + 1 });
            }
        }
        let mut line = String::from("* SEARCH");
        for number in found {
            line.push_str(&format!(" {number}"));
        }
        self.line(&line);
        self.sync(false);
        self.tagged(tag, "OK SEARCH completed");
    }

    /// Whether `command` is a FETCH of one message small enough to run on
    /// the connection's own thread (`server::run_quick`): handing it to
    /// the blocking pool and back would cost more than the work.
    pub fn is_quick(&self, command: &super::command::Command) -> bool {
        let super::command::CommandBody::Fetch { set, uid, .. } = &command.body else {
            return false;
        };
        let Some(mailbox) = self.mailbox.as_ref() else {
            return false;
        };
        match mailbox.resolve(set, *uid) {
            Ok(targets) => targets.len() == 1 && mailbox.messages[targets[0]].size <= QUICK_FETCH,
            Err(_) => false,
        }
    }

    pub(super) fn fetch(
        &mut self,
        tag: &str,
        set: &SequenceSet,
        items: Vec<FetchItem>,
        uid: bool,
        pieces: &Pieces,
    ) -> io::Result<()> {
        let user = self.user.clone().unwrap_or_default();
        let Some(mailbox) = self.mailbox.as_mut() else {
            return Ok(());
        };
        let targets = match mailbox.resolve(set, uid) {
            Ok(targets) => targets,
            Err(message) => {
                self.tagged(tag, &format!("BAD {message}"));
                return Ok(());
            }
        };
        let marks_seen = fetch::sets_seen(&items) && !mailbox.read_only;
        let read_content = fetch::needs_content(&items);
        let with_flags: Vec<FetchItem> = items.iter().cloned().chain([FetchItem::Flags]).collect();
        let mut failures = 0;
        for index in targets {
            let Some(mailbox) = self.mailbox.as_mut() else {
                break;
            };
            let meta = &mut mailbox.messages[index];
            let mut items = &items;
            if marks_seen && !meta.flags.contains(&Flag::Seen) {
                let mut flags = meta.flags.clone();
                flags.push(Flag::Seen);
                flags.sort();
                if self
                    .store
                    .set_flags(&user, &mailbox.folder, meta.uid, &flags)
                    .is_ok()
                {
                    meta.flags = flags;
                    if !items.contains(&FetchItem::Flags) {
                        items = &with_flags;
                    }
                }
            }
            let content = if read_content {
                match self.store.read(&user, &mailbox.folder, meta.uid) {
                    Ok(content) => Some(with_crlf_line_ends(content)),
                    Err(_) => {
                        failures += 1;
                        continue;
                    }
                }
            } else {
                None
            };
            let meta = &mailbox.messages[index];
            let context = FetchContext {
                sequence: index as u32 + 1,
                meta,
                recent: mailbox.is_recent(meta.uid),
                content: content.as_deref(),
                with_uid: uid,
            };
            fetch::push_fetch(&mut self.out, &context, items);
            if self.out.len() >= WRITE_CHUNK {
                self.send_piece(pieces)?;
            }
        }
        self.sync(false);
        if failures > 0 {
            self.tagged(
                tag,
                &format!("NO {failures} message(s) could not be read (removed meanwhile?)"),
            );
        } else {
            self.tagged(tag, "OK FETCH completed");
        }
        Ok(())
    }

    pub(super) fn store_flags(
        &mut self,
        tag: &str,
        set: &SequenceSet,
        mode: StoreMode,
        silent: bool,
        flags: &[Flag],
        uid: bool,
    ) {
        let user = self.user.clone().unwrap_or_default();
        let mailbox = self.mailbox.as_mut().expect("selected");
        if mailbox.read_only {
            return self.tagged(tag, "NO [READ-ONLY] the mailbox was opened with EXAMINE");
        }
        let targets = match mailbox.resolve(set, uid) {
            Ok(targets) => targets,
            Err(message) => return self.tagged(tag, &format!("BAD {message}")),
        };
        let mut failures = 0;
        for index in targets {
            let meta = &mut mailbox.messages[index];
            let mut new_flags: Vec<Flag> = match mode {
                StoreMode::Replace => flags.to_vec(),
                StoreMode::Add => meta.flags.iter().chain(flags).copied().collect(),
                StoreMode::Remove => meta
                    .flags
                    .iter()
                    .filter(|f| !flags.contains(f))
                    .copied()
                    .collect(),
            };
            new_flags.sort();
            new_flags.dedup();
            if new_flags != meta.flags {
                if self
                    .store
                    .set_flags(&user, &mailbox.folder, meta.uid, &new_flags)
                    .is_err()
                {
                    failures += 1;
                    continue;
                }
                meta.flags = new_flags;
            }
            if !silent {
                let mut line = format!("* {} FETCH (", index + 1).into_bytes();
                if uid {
                    line.extend_from_slice(format!("UID {} ", meta.uid).as_bytes());
                }
                line.extend_from_slice(b"FLAGS ");
                push_flags(&mut line, &meta.flags, mailbox.recent.contains(&meta.uid));
                line.extend_from_slice(b")\r\n");
                self.out.extend_from_slice(&line);
            }
        }
        self.sync(false);
        if failures > 0 {
            self.tagged(
                tag,
                &format!("NO the flags of {failures} message(s) could not be changed"),
            );
        } else {
            self.tagged(tag, "OK STORE completed");
        }
    }

    /// COPY, or MOVE (copy, then remove from here with EXPUNGE responses).
    pub(super) fn copy(
        &mut self,
        tag: &str,
        set: &SequenceSet,
        target: &str,
        uid: bool,
        moving: bool,
    ) {
        let user = self.user.clone().unwrap_or_default();
        let mailbox = self.mailbox.as_mut().expect("selected");
        let name = if moving { "MOVE" } else { "COPY" };
        if moving && mailbox.read_only {
            return self.tagged(tag, "NO [READ-ONLY] the mailbox was opened with EXAMINE");
        }
        let targets = match mailbox.resolve(set, uid) {
            Ok(targets) => targets,
            Err(message) => return self.tagged(tag, &format!("BAD {message}")),
        };
        let validity = match self.store.snapshot(&user, target) {
            Ok(snapshot) => snapshot.uid_validity,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return self.tagged(tag, &format!("NO [TRYCREATE] no mailbox {target}"));
            }
            Err(e) => return self.tagged(tag, &store_failure(&e)),
        };
        let (mut sources, mut copies) = (Vec::new(), Vec::new());
        for &index in &targets {
            let source = mailbox.messages[index].uid;
            match self.store.copy(&user, &mailbox.folder, source, target) {
                Ok(copy) => {
                    sources.push(source);
                    copies.push(copy);
                }
                Err(e) => {
                    return self.tagged(
                        tag,
                        &format!("NO {name} stopped after {} message(s): {e}", copies.len()),
                    );
                }
            }
        }
        let uid_list = |uids: &[u32]| {
            uids.iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(",")
        };
        let code = if copies.is_empty() {
            String::new()
        } else {
            format!(
                "[COPYUID {validity} {} {}] ",
                uid_list(&sources),
                uid_list(&copies)
            )
        };
        if moving {
            if !code.is_empty() {
                self.line(&format!("* OK {code}moved"));
            }
            let mailbox = self.mailbox.as_mut().expect("selected");
            for &index in targets.iter().rev() {
                let uid = mailbox.messages[index].uid;
                if self.store.remove(&user, &mailbox.folder, uid).is_ok() {
                    mailbox.forget(index);
                    self.out
                        .extend_from_slice(format!("* {} EXPUNGE\r\n", index + 1).as_bytes());
                }
            }
            self.sync(true);
            return self.tagged(tag, "OK MOVE completed");
        }
        self.sync(true);
        self.tagged(tag, &format!("OK {code}COPY completed"));
    }
}
