//! The mail store that SMTP delivers into and POP3 and IMAP read: Maildir++
//! per user under one root (`ROOT/USER/{cur,new,tmp}` is the INBOX,
//! `ROOT/USER/.NAME/` the folder NAME). Delivery is durable before it
//! returns (write into `tmp/`, fsync, rename into `new/`, fsync the
//! directory). Each folder keeps its UIDVALIDITY and the UIDs it may have
//! handed out in `labctl-uids`; a message's UID is part of its file name, so
//! it keeps it for life, across flag changes and restarts. Flags are the
//! maildir info letters. Messages are stored byte for byte as given.
//!
//! Each folder's index (`store_folder.rs`) is cached in memory and rescanned
//! when the mtime of its `new/` or `cur/` changes, so files dropped in by
//! hand are picked up (and given UIDs). One lock per folder; fsyncs happen
//! outside it.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use super::group_sync::GroupSync;
pub use super::maildir::Flag;
use super::maildir::{FileName, unique_part};
use super::store_folder::{Folder, FolderHandle, not_found, write_durably};

/// Folders per user besides INBOX. Far more than any exercise or mail
/// client makes, and it bounds what one user's LIST walks and answers.
pub const MAX_FOLDERS: usize = 1_000;

/// One message of a folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageMeta {
    pub uid: u32,
    pub size: u64,
    pub flags: Vec<Flag>,
    pub internal_date: SystemTime,
}

/// A folder at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderSnapshot {
    pub uid_validity: u32,
    pub uid_next: u32,
    /// Sorted by UID.
    pub messages: Vec<MessageMeta>,
    /// The folder's version at that moment (see `snapshot_if_changed`).
    pub version: u64,
}

/// Reads a whole file of about `size` bytes (the index's figure, so no
/// stat for a size hint). A name can claim any size (`S=` of a file put
/// there by hand), so the hint is trusted only up to `SIZE_HINT_CAP`.
fn read_sized(path: &Path, size: u64) -> io::Result<Vec<u8>> {
    use std::io::Read;
    const SIZE_HINT_CAP: u64 = 1 << 20;
    let mut content = Vec::with_capacity(size.min(SIZE_HINT_CAP) as usize + 1);
    // Through `take`: `File`'s own `read_to_end` stats and seeks the file
    // for a size hint, which is the call this function is here to save.
    File::open(path)?.take(u64::MAX).read_to_end(&mut content)?;
    Ok(content)
}

fn snapshot_of(index: &Folder) -> FolderSnapshot {
    FolderSnapshot {
        uid_validity: index.uid_validity,
        uid_next: index.uid_next,
        messages: index
            .entries
            .iter()
            .map(|(&uid, entry)| MessageMeta {
                uid,
                size: entry.size,
                flags: entry.name.flags(),
                internal_date: entry.internal_date,
            })
            .collect(),
        version: index.version,
    }
}

/// The store of one mail node.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    root: PathBuf,
    /// Folder indexes by folder directory.
    folders: Mutex<HashMap<PathBuf, Arc<FolderHandle>>>,
}

impl Store {
    /// Opens (creating if needed) a store rooted at `root`.
    pub fn open(root: &Path) -> io::Result<Store> {
        fs::create_dir_all(root)?;
        Ok(Store {
            inner: Arc::new(Inner {
                root: root.to_path_buf(),
                folders: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// Creates the user's maildir if it does not exist yet.
    pub fn create_user(&self, user: &str) -> io::Result<()> {
        if self.has_user(user) {
            return Ok(());
        }
        create_maildir(&self.user_dir(user)?)
    }

    pub fn has_user(&self, user: &str) -> bool {
        self.user_dir(user).is_ok_and(|dir| is_maildir(&dir))
    }

    /// Durable before it returns: write tmp/, fsync, rename into new/, fsync the dir.
    pub fn deliver(&self, user: &str, message: &[u8]) -> io::Result<u32> {
        self.add(user, "INBOX", message, &[], None)
    }

    /// The user's folders, "INBOX" first, the others sorted.
    pub fn folders(&self, user: &str) -> io::Result<Vec<String>> {
        let dir = self.existing_user_dir(user)?;
        let mut names = Vec::new();
        for entry in fs::read_dir(&dir)? {
            let entry = entry?;
            let file_name = entry.file_name();
            let Some(name) = file_name.to_str().and_then(|n| n.strip_prefix('.')) else {
                continue;
            };
            if check_folder_name(name).is_ok() && is_maildir(&entry.path()) {
                names.push(name.to_string());
            }
        }
        names.sort();
        names.insert(0, "INBOX".to_string());
        Ok(names)
    }

    /// Creates a folder (not the levels above it), at most `MAX_FOLDERS`.
    pub fn create_folder(&self, user: &str, name: &str) -> io::Result<()> {
        self.existing_user_dir(user)?;
        if is_inbox(name) {
            return Err(already_exists("INBOX"));
        }
        let dir = self.folder_dir(user, name)?;
        // Not exact under concurrent CREATEs of one user; a bound, not a quota.
        if !dir.exists() && self.folders(user)?.len() > MAX_FOLDERS {
            return Err(io::Error::new(
                io::ErrorKind::QuotaExceeded,
                format!(
                    "{user} has {MAX_FOLDERS} folders already, the most there can be; delete some first"
                ),
            ));
        }
        fs::create_dir(&dir).map_err(|e| match e.kind() {
            io::ErrorKind::AlreadyExists => already_exists(name),
            _ => e,
        })?;
        create_maildir(&dir)?;
        File::create(dir.join("maildirfolder"))?;
        Ok(())
    }

    /// Deletes one folder and its messages (not the folders below it).
    pub fn delete_folder(&self, user: &str, name: &str) -> io::Result<()> {
        if is_inbox(name) {
            return Err(invalid("INBOX cannot be deleted"));
        }
        let dir = self.existing_folder_dir(user, name)?;
        self.forget(&dir);
        fs::remove_dir_all(&dir)
    }

    /// Renames a folder and the folders below it. Renaming INBOX moves its
    /// messages into a new folder and leaves INBOX empty (RFC 3501 §6.3.5).
    pub fn rename_folder(&self, user: &str, from: &str, to: &str) -> io::Result<()> {
        let source = self.existing_folder_dir(user, from)?;
        if is_inbox(to) {
            return Err(already_exists("INBOX"));
        }
        let target = self.folder_dir(user, to)?;
        if target.exists() {
            return Err(already_exists(to));
        }
        if is_inbox(from) {
            self.create_folder(user, to)?;
            for message in self.snapshot(user, "INBOX")?.messages {
                self.copy(user, "INBOX", message.uid, to)?;
                self.remove(user, "INBOX", message.uid)?;
            }
            return Ok(());
        }
        let user_dir = self.existing_user_dir(user)?;
        let children = format!(".{from}.");
        let mut moves = vec![(source, target)];
        for entry in fs::read_dir(&user_dir)? {
            let file_name = entry?.file_name();
            if let Some(rest) = file_name.to_str().and_then(|n| n.strip_prefix(&children)) {
                moves.push((
                    user_dir.join(&file_name),
                    user_dir.join(format!(".{to}.{rest}")),
                ));
            }
        }
        for (old, new) in moves {
            self.forget(&old);
            fs::rename(&old, &new)?;
        }
        Ok(())
    }

    pub fn snapshot(&self, user: &str, folder: &str) -> io::Result<FolderSnapshot> {
        let handle = self.folder(user, folder)?;
        let mut index = handle.lock();
        index.refresh()?;
        Ok(snapshot_of(&index))
    }

    /// The folder as it is now, or None when it has not changed since the
    /// snapshot whose `version` is `seen`: what an IMAP session asks after
    /// every command, without copying every message's entry each time.
    pub fn snapshot_if_changed(
        &self,
        user: &str,
        folder: &str,
        seen: u64,
    ) -> io::Result<Option<FolderSnapshot>> {
        let handle = self.folder(user, folder)?;
        let mut index = handle.lock();
        index.refresh()?;
        Ok((index.version != seen).then(|| snapshot_of(&index)))
    }

    pub fn read(&self, user: &str, folder: &str, uid: u32) -> io::Result<Vec<u8>> {
        let handle = self.folder(user, folder)?;
        // A message file never changes, it is only renamed or removed, so
        // where the index saw it is worth a try before looking again.
        let (path, size) = {
            let mut index = handle.lock();
            let path = match index.indexed_path_of(uid) {
                Some(path) => path,
                None => index.path_of(uid)?,
            };
            (path, index.entries.get(&uid).map_or(0, |entry| entry.size))
        };
        match read_sized(&path, size) {
            // Renamed or removed behind our back: look again once.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let mut index = handle.lock();
                index.rescan()?;
                let size = index.entries.get(&uid).map_or(0, |entry| entry.size);
                read_sized(&index.path_of(uid)?, size)
            }
            other => other,
        }
    }

    /// Replaces the message's flags (other info letters are kept).
    pub fn set_flags(&self, user: &str, folder: &str, uid: u32, flags: &[Flag]) -> io::Result<()> {
        let handle = self.folder(user, folder)?;
        let mut index = handle.lock();
        let old = index.path_of(uid)?;
        let entry = index.entries.get_mut(&uid).expect("path_of found it");
        let name = entry.name.with_flags(flags);
        let new = index.dir.join("cur").join(name.in_cur());
        if old != new {
            fs::rename(&old, &new)?;
        }
        let entry = index.entries.get_mut(&uid).expect("still there");
        entry.name = name;
        entry.in_new = false;
        index.touch()
    }

    /// Adds a message to a folder with flags and an internal date (IMAP
    /// APPEND); durable like `deliver`.
    pub fn append(
        &self,
        user: &str,
        folder: &str,
        message: &[u8],
        flags: &[Flag],
        internal_date: SystemTime,
    ) -> io::Result<u32> {
        self.add(user, folder, message, flags, Some(internal_date))
    }

    /// Copies a message (flags and internal date too) into another folder
    /// under a new UID there; returns that UID.
    pub fn copy(&self, user: &str, from: &str, uid: u32, to: &str) -> io::Result<u32> {
        let source = self.folder(user, from)?;
        let (path, name, date) = {
            let mut index = source.lock();
            let path = index.path_of(uid)?;
            let entry = &index.entries[&uid];
            (path, entry.name.clone(), entry.internal_date)
        };
        let target = self.folder(user, to)?;
        let target_dir = target.lock().dir.clone();
        let temporary = target_dir.join("tmp").join(unique_part());
        // A hard link shares the (already durable) data; copy across devices.
        if fs::hard_link(&path, &temporary).is_err() {
            let data = fs::read(&path)?;
            write_durably(&temporary, &data, Some(date))?;
        }
        let name = FileName {
            unique: unique_part(),
            ..name
        };
        let uid = target.commit(&temporary, name, false, date)?;
        Ok(uid)
    }

    /// Removes a message. One already gone (expunged by another session,
    /// deleted by hand) counts as removed: the caller wanted it gone.
    pub fn remove(&self, user: &str, folder: &str, uid: u32) -> io::Result<()> {
        let handle = self.folder(user, folder)?;
        let mut index = handle.lock();
        let path = match index.path_of(uid) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            other => other?,
        };
        match fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        index.entries.remove(&uid);
        index.touch()
    }

    /// Writes a new message into `tmp/`, syncs it and commits it into
    /// `new/` (no flags, no date given: a delivery) or `cur/`.
    fn add(
        &self,
        user: &str,
        folder: &str,
        message: &[u8],
        flags: &[Flag],
        internal_date: Option<SystemTime>,
    ) -> io::Result<u32> {
        let handle = self.folder(user, folder)?;
        let dir = handle.lock().dir.clone();
        let unique = unique_part();
        let temporary = dir.join("tmp").join(&unique);
        let date = write_durably(&temporary, message, internal_date)?;
        let delivery = flags.is_empty() && internal_date.is_none();
        let name = FileName {
            unique,
            uid: None,
            size: Some(message.len() as u64),
            info: String::new(),
        }
        .with_flags(flags);
        handle.commit(&temporary, name, delivery, date)
    }

    fn folder(&self, user: &str, folder: &str) -> io::Result<Arc<FolderHandle>> {
        // A folder already indexed exists (deleting one forgets its index).
        let dir = self.folder_dir(user, folder)?;
        if let Some(handle) = self.inner.folders.lock().expect("store lock").get(&dir) {
            return Ok(handle.clone());
        }
        let dir = self.existing_folder_dir(user, folder)?;
        let mut folders = self.inner.folders.lock().expect("store lock");
        if let Some(handle) = folders.get(&dir) {
            return Ok(handle.clone());
        }
        let handle = Arc::new(FolderHandle {
            index: Mutex::new(Folder::load(dir.clone())?),
            new_synced: GroupSync::default(),
            cur_synced: GroupSync::default(),
        });
        folders.insert(dir, handle.clone());
        Ok(handle)
    }

    fn forget(&self, dir: &Path) {
        self.inner
            .folders
            .lock()
            .expect("store lock")
            .retain(|cached, _| !cached.starts_with(dir));
    }

    fn user_dir(&self, user: &str) -> io::Result<PathBuf> {
        check_user_name(user)?;
        Ok(self.inner.root.join(user))
    }

    fn existing_user_dir(&self, user: &str) -> io::Result<PathBuf> {
        let dir = self.user_dir(user)?;
        if !is_maildir(&dir) {
            return Err(not_found(&format!("no mailbox for user {user}")));
        }
        Ok(dir)
    }

    fn folder_dir(&self, user: &str, folder: &str) -> io::Result<PathBuf> {
        let user_dir = self.user_dir(user)?;
        if is_inbox(folder) {
            return Ok(user_dir);
        }
        check_folder_name(folder)?;
        Ok(user_dir.join(format!(".{folder}")))
    }

    fn existing_folder_dir(&self, user: &str, folder: &str) -> io::Result<PathBuf> {
        self.existing_user_dir(user)?;
        let dir = self.folder_dir(user, folder)?;
        if !is_maildir(&dir) {
            return Err(not_found(&format!("no folder {folder}")));
        }
        Ok(dir)
    }
}

fn create_maildir(dir: &Path) -> io::Result<()> {
    for sub in ["cur", "new", "tmp"] {
        fs::create_dir_all(dir.join(sub))?;
    }
    Ok(())
}

fn is_maildir(dir: &Path) -> bool {
    ["cur", "new", "tmp"]
        .iter()
        .all(|sub| dir.join(sub).is_dir())
}

fn is_inbox(name: &str) -> bool {
    name.eq_ignore_ascii_case("INBOX")
}

/// User names become directory names: letters, digits and `._+-`, not
/// starting with a dot, at most 64 bytes (an RFC 5321 local part).
fn check_user_name(user: &str) -> io::Result<()> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "._+-".contains(c);
    if user.is_empty() || user.len() > 64 || user.starts_with('.') || !user.chars().all(allowed) {
        return Err(invalid(&format!("bad user name {user:?}")));
    }
    Ok(())
}

/// Folder names become `.NAME` directories: `.` separates levels, so no
/// empty level; no `/`, no control characters, at most 200 bytes.
fn check_folder_name(name: &str) -> io::Result<()> {
    let bad = name.is_empty()
        || name.len() > 200
        || name.split('.').any(str::is_empty)
        || name.chars().any(|c| c == '/' || c.is_control());
    if bad {
        return Err(invalid(&format!("bad folder name {name:?}")));
    }
    Ok(())
}

fn invalid(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message.to_string())
}

fn already_exists(name: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!("folder {name} already exists"),
    )
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
