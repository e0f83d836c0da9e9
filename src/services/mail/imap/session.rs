//! One IMAP session's state machine (RFC 3501 §3): not authenticated →
//! authenticated → selected, and every command's effect on the store and
//! its responses. Responses are built in a buffer and written out in
//! pieces, so a FETCH of a large mailbox never sits in memory whole. I/O
//! beyond that (reading AUTHENTICATE continuations, IDLE) is the server's.

use std::io;
use std::sync::Arc;
use std::time::SystemTime;

use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::command::{Command, CommandBody, FetchItem, StatusItem, StoreMode};
use super::fetch::{self, FetchContext};
use super::mailbox::Mailbox;
use super::response::{ALL_FLAGS, push_flags, push_string};
use super::search::{self, Candidate, Largest};
use super::sequence::SequenceSet;
use crate::services::mail::accounts::Accounts;
use crate::services::mail::sasl::{self, SaslError};
use crate::services::mail::smtp::data::with_crlf_line_ends;
use crate::services::mail::store::{Flag, Store};

/// What we claim to support; the same before and after login.
pub const CAPABILITIES: &str =
    "IMAP4rev1 LITERAL+ SASL-IR AUTH=PLAIN IDLE UIDPLUS MOVE UNSELECT NAMESPACE CHILDREN";

/// The hierarchy delimiter: Maildir++ folders are `.A.B` directories.
const DELIMITER: char = '.';

/// Responses are written out whenever this much is buffered.
const WRITE_CHUNK: usize = 64 * 1024;

/// What the server does after a command.
#[derive(Debug, PartialEq)]
pub enum Flow {
    Continue,
    Close,
    /// IDLE accepted: the server sends `+ idling` and waits for DONE.
    Idle {
        tag: String,
    },
    /// AUTHENTICATE PLAIN without an initial response: the server asks for it.
    AuthenticatePlain {
        tag: String,
    },
}

pub struct Session {
    store: Store,
    accounts: Arc<Accounts>,
    user: Option<String>,
    mailbox: Option<Mailbox>,
    auth_failures: u32,
    max_auth_failures: u32,
    out: Vec<u8>,
    /// The last tagged response, for the dialogue log.
    last_status: String,
}

impl Session {
    pub fn new(store: Store, accounts: Arc<Accounts>, max_auth_failures: u32) -> Session {
        Session {
            store,
            accounts,
            user: None,
            mailbox: None,
            auth_failures: 0,
            max_auth_failures,
            out: Vec::new(),
            last_status: String::new(),
        }
    }

    pub fn greeting() -> String {
        format!("* OK [CAPABILITY {CAPABILITIES}] labctl IMAP4rev1 ready\r\n")
    }

    /// Writes out what is buffered.
    pub async fn drain<W: AsyncWrite + Unpin>(&mut self, writer: &mut W) -> io::Result<()> {
        if !self.out.is_empty() {
            writer.write_all(&self.out).await?;
            self.out.clear();
        }
        Ok(())
    }

    fn line(&mut self, text: &str) {
        self.out.extend_from_slice(text.as_bytes());
        self.out.extend_from_slice(b"\r\n");
    }

    fn tagged(&mut self, tag: &str, text: &str) {
        self.last_status = format!("{tag} {text}");
        self.line(&format!("{tag} {text}"));
    }

    /// The last tagged response (and BYE, when the session ends).
    pub fn last_status(&self) -> &str {
        &self.last_status
    }

    /// Runs one parsed command; its responses go to `writer`.
    pub async fn handle<W: AsyncWrite + Unpin>(
        &mut self,
        command: Command,
        writer: &mut W,
    ) -> io::Result<Flow> {
        let Command { tag, body } = command;
        let flow = self.dispatch(&tag, body, writer).await?;
        self.drain(writer).await?;
        Ok(flow)
    }

    async fn dispatch<W: AsyncWrite + Unpin>(
        &mut self,
        tag: &str,
        body: CommandBody,
        writer: &mut W,
    ) -> io::Result<Flow> {
        use CommandBody as C;
        match body {
            C::Capability => {
                self.line(&format!("* CAPABILITY {CAPABILITIES}"));
                self.tagged(tag, "OK CAPABILITY completed");
            }
            C::Noop | C::Check => {
                self.sync(true);
                self.tagged(tag, "OK completed");
            }
            C::Logout => {
                self.line("* BYE logging out");
                self.tagged(tag, "OK LOGOUT completed");
                return Ok(Flow::Close);
            }
            C::Login { .. } | C::Authenticate { .. } if self.user.is_some() => {
                self.tagged(tag, "BAD already logged in");
            }
            C::Login { user, password } => return Ok(self.login(tag, &user, &password)),
            C::Authenticate { mechanism, initial } => {
                if mechanism != "PLAIN" {
                    self.tagged(tag, "NO [CANNOT] only AUTHENTICATE PLAIN is supported");
                } else if let Some(initial) = initial {
                    return Ok(self.authenticate_plain(tag, initial.as_bytes()));
                } else {
                    return Ok(Flow::AuthenticatePlain {
                        tag: tag.to_string(),
                    });
                }
            }
            _ if self.user.is_none() => {
                self.tagged(tag, "BAD log in first (LOGIN or AUTHENTICATE PLAIN)")
            }
            C::Namespace => {
                self.line("* NAMESPACE ((\"\" \".\")) NIL NIL");
                self.tagged(tag, "OK NAMESPACE completed");
            }
            C::Idle => {
                return Ok(Flow::Idle {
                    tag: tag.to_string(),
                });
            }
            C::Select { mailbox, read_only } => self.select(tag, mailbox, read_only),
            C::Create { mailbox } => {
                let name = mailbox.trim_end_matches(DELIMITER);
                let result = self.store.create_folder(self.user(), name);
                self.done(tag, result, "CREATE");
            }
            C::Delete { mailbox } => {
                if self.mailbox.as_ref().is_some_and(|m| m.folder == mailbox) {
                    self.mailbox = None;
                }
                let result = self.store.delete_folder(self.user(), &mailbox);
                self.done(tag, result, "DELETE");
            }
            C::Rename { from, to } => {
                let result = self.store.rename_folder(self.user(), &from, &to);
                self.done(tag, result, "RENAME");
            }
            C::Subscribe { mailbox } | C::Unsubscribe { mailbox } => {
                // Every folder counts as subscribed: LSUB lists them all.
                match self.store.snapshot(self.user(), &mailbox) {
                    Ok(_) => self.tagged(tag, "OK completed (every folder is subscribed)"),
                    Err(e) => self.tagged(tag, &store_failure(&e)),
                }
            }
            C::List {
                reference,
                pattern,
                subscribed_only,
            } => self.list(tag, &reference, &pattern, subscribed_only),
            C::Status { mailbox, items } => self.status(tag, &mailbox, &items),
            C::Append {
                mailbox,
                flags,
                date,
                message,
            } => self.append(tag, &mailbox, &flags, date, &message),
            _ if self.mailbox.is_none() => {
                self.tagged(tag, "BAD no mailbox selected (SELECT or EXAMINE first)")
            }
            C::Close | C::Unselect => {
                let close = matches!(body, C::Close);
                if close {
                    self.expunge(None, false);
                }
                self.mailbox = None;
                self.tagged(tag, "OK completed");
            }
            C::Expunge { uids } => {
                if self.mailbox.as_ref().is_some_and(|m| m.read_only) {
                    self.tagged(tag, "NO [READ-ONLY] the mailbox was opened with EXAMINE");
                } else {
                    self.sync(true);
                    self.expunge(uids.as_ref(), true);
                    self.tagged(tag, "OK EXPUNGE completed");
                }
            }
            C::Search { key, uid } => self.search(tag, &key, uid),
            C::Fetch { set, items, uid } => self.fetch(tag, &set, items, uid, writer).await?,
            C::Store {
                set,
                mode,
                silent,
                flags,
                uid,
            } => self.store_flags(tag, &set, mode, silent, &flags, uid),
            C::Copy { set, mailbox, uid } => self.copy(tag, &set, &mailbox, uid, false),
            C::Move { set, mailbox, uid } => self.copy(tag, &set, &mailbox, uid, true),
        }
        Ok(Flow::Continue)
    }

    fn user(&self) -> &str {
        self.user.as_deref().unwrap_or_default()
    }

    fn done(&mut self, tag: &str, result: io::Result<()>, name: &str) {
        match result {
            Ok(()) => self.tagged(tag, &format!("OK {name} completed")),
            Err(e) => self.tagged(tag, &store_failure(&e)),
        }
    }

    fn login(&mut self, tag: &str, login: &str, password: &str) -> Flow {
        let account = self.accounts.user(login).map(str::to_string);
        match account {
            Some(user) if self.accounts.check(login, password) => {
                if let Err(e) = self.store.create_user(&user) {
                    self.tagged(
                        tag,
                        &format!("NO [UNAVAILABLE] cannot open the mailbox of {user}: {e}"),
                    );
                    return Flow::Continue;
                }
                self.user = Some(user);
                self.tagged(tag, &format!("OK [CAPABILITY {CAPABILITIES}] logged in"));
                Flow::Continue
            }
            _ => {
                self.auth_failures += 1;
                self.tagged(tag, "NO [AUTHENTICATIONFAILED] wrong user name or password");
                if self.auth_failures >= self.max_auth_failures {
                    self.line("* BYE too many failed logins");
                    self.last_status
                        .push_str("\r\n* BYE too many failed logins");
                    return Flow::Close;
                }
                Flow::Continue
            }
        }
    }

    /// The SASL PLAIN response (RFC 4616, base64 of `authzid NUL user NUL
    /// password`); `*` cancels.
    pub fn authenticate_plain(&mut self, tag: &str, response: &[u8]) -> Flow {
        match sasl::plain(response.trim_ascii()) {
            Ok((user, password)) => self.login(tag, &user, &password),
            Err(SaslError::Cancelled) => {
                self.tagged(tag, "BAD AUTHENTICATE cancelled");
                Flow::Continue
            }
            Err(SaslError::Malformed) => {
                self.tagged(
                    tag,
                    "BAD the PLAIN response must be base64 of authzid NUL user NUL password",
                );
                Flow::Continue
            }
        }
    }

    /// The untagged updates of the selected mailbox (for NOOP and IDLE too).
    pub fn sync(&mut self, expunge_allowed: bool) {
        let Some(mailbox) = self.mailbox.as_mut() else {
            return;
        };
        let user = self.user.as_deref().unwrap_or_default();
        match self.store.snapshot(user, &mailbox.folder) {
            Ok(snapshot) => mailbox.sync(snapshot, expunge_allowed, &mut self.out),
            Err(e) => self.out.extend_from_slice(
                format!("* NO [UNAVAILABLE] cannot read the mailbox: {e}\r\n").as_bytes(),
            ),
        }
    }

    /// Whether anything is waiting to be written (IDLE's cue to send it).
    pub fn has_output(&self) -> bool {
        !self.out.is_empty()
    }

    fn select(&mut self, tag: &str, folder: String, read_only: bool) {
        self.mailbox = None;
        let snapshot = match self.store.snapshot(self.user(), &folder) {
            Ok(snapshot) => snapshot,
            Err(e) => return self.tagged(tag, &store_failure(&e)),
        };
        let mailbox = Mailbox::new(folder, read_only, snapshot);
        self.line(&format!("* FLAGS ({ALL_FLAGS})"));
        let permanent = if read_only { "" } else { ALL_FLAGS };
        self.line(&format!(
            "* OK [PERMANENTFLAGS ({permanent})] flags that stay"
        ));
        self.line(&format!("* {} EXISTS", mailbox.count()));
        self.line("* 0 RECENT");
        if let Some(first) = mailbox
            .messages
            .iter()
            .position(|m| !m.flags.contains(&Flag::Seen))
        {
            self.line(&format!("* OK [UNSEEN {}] first unseen message", first + 1));
        }
        self.line(&format!(
            "* OK [UIDVALIDITY {}] UIDs valid",
            mailbox.uid_validity
        ));
        self.line(&format!(
            "* OK [UIDNEXT {}] predicted next UID",
            mailbox.uid_next
        ));
        let mode = if read_only { "READ-ONLY" } else { "READ-WRITE" };
        let name = if read_only { "EXAMINE" } else { "SELECT" };
        self.tagged(tag, &format!("OK [{mode}] {name} completed"));
        self.mailbox = Some(mailbox);
    }

    fn list(&mut self, tag: &str, reference: &str, pattern: &str, subscribed_only: bool) {
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
        if full.len() >= 5 && full[..5].eq_ignore_ascii_case("INBOX") && full.is_char_boundary(5) {
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

    fn status(&mut self, tag: &str, folder: &str, items: &[StatusItem]) {
        let snapshot = match self.store.snapshot(self.user(), folder) {
            Ok(snapshot) => snapshot,
            Err(e) => return self.tagged(tag, &store_failure(&e)),
        };
        let values: Vec<String> = items
            .iter()
            .map(|item| match item {
                StatusItem::Messages => format!("MESSAGES {}", snapshot.messages.len()),
                StatusItem::Recent => "RECENT 0".to_string(),
                StatusItem::UidNext => format!("UIDNEXT {}", snapshot.uid_next),
                StatusItem::UidValidity => format!("UIDVALIDITY {}", snapshot.uid_validity),
                StatusItem::Unseen => {
                    format!(
                        "UNSEEN {}",
                        snapshot
                            .messages
                            .iter()
                            .filter(|m| !m.flags.contains(&Flag::Seen))
                            .count()
                    )
                }
            })
            .collect();
        let mut line = b"* STATUS ".to_vec();
        push_string(&mut line, folder.as_bytes());
        line.extend_from_slice(format!(" ({})\r\n", values.join(" ")).as_bytes());
        self.out.extend_from_slice(&line);
        self.tagged(tag, "OK STATUS completed");
    }

    fn append(
        &mut self,
        tag: &str,
        folder: &str,
        flags: &[Flag],
        date: Option<SystemTime>,
        message: &[u8],
    ) {
        let message = with_crlf_line_ends(message.to_vec());
        let date = date.unwrap_or_else(SystemTime::now);
        let appended = self
            .store
            .append(self.user(), folder, &message, flags, date)
            .and_then(|uid| Ok((uid, self.store.snapshot(self.user(), folder)?.uid_validity)));
        match appended {
            Ok((uid, validity)) => {
                self.sync(true);
                self.tagged(
                    tag,
                    &format!("OK [APPENDUID {validity} {uid}] APPEND completed"),
                );
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.tagged(tag, &format!("NO [TRYCREATE] no mailbox {folder}"));
            }
            Err(e) => self.tagged(tag, &store_failure(&e)),
        }
    }

    /// Removes the selected mailbox's \Deleted messages (only those in
    /// `uids`, for UID EXPUNGE), telling the client when `announce`.
    fn expunge(&mut self, uids: Option<&SequenceSet>, announce: bool) {
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

    fn search(&mut self, tag: &str, key: &super::command::SearchKey, uid: bool) {
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
            let candidate = Candidate {
                sequence: index as u32 + 1,
                meta,
                recent: mailbox.is_recent(meta.uid),
                content: content.as_deref(),
            };
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

    async fn fetch<W: AsyncWrite + Unpin>(
        &mut self,
        tag: &str,
        set: &SequenceSet,
        items: Vec<FetchItem>,
        uid: bool,
        writer: &mut W,
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
                self.drain(writer).await?;
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

    fn store_flags(
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
    fn copy(&mut self, tag: &str, set: &SequenceSet, target: &str, uid: bool, moving: bool) {
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

/// A store error as a tagged NO with an RFC 5530 response code.
fn store_failure(error: &io::Error) -> String {
    let code = match error.kind() {
        io::ErrorKind::NotFound => "NONEXISTENT",
        io::ErrorKind::AlreadyExists => "ALREADYEXISTS",
        io::ErrorKind::InvalidInput => "CANNOT",
        _ => "UNAVAILABLE",
    };
    format!("NO [{code}] {error}")
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
