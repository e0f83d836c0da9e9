//! One maildir folder's in-memory index: its UIDVALIDITY and the UIDs it
//! reserved (`labctl-uids`, written durably a block at a time), the entry
//! of every message by UID, rescans when `new/` or `cur/` changed behind
//! our back, and committing a synced file under the next UID, with the
//! directory fsync shared by concurrent deliveries (`group_sync.rs`).

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use super::group_sync::GroupSync;
use super::maildir::{FileName, unique_part};

/// The file in each folder directory that holds `UIDVALIDITY RESERVED`.
const UID_FILE: &str = "labctl-uids";
/// UIDs are reserved on disk this many at a time, so a delivery does not
/// rewrite the UID file; a restart skips the unused rest (UIDs only need to
/// grow, not to be dense).
const UID_BLOCK: u32 = 64;

/// A folder's index and the group syncs of its `new/` and `cur/`.
pub(super) struct FolderHandle {
    pub(super) index: Mutex<Folder>,
    pub(super) new_synced: GroupSync,
    pub(super) cur_synced: GroupSync,
}

impl FolderHandle {
    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, Folder> {
        self.index.lock().expect("folder lock")
    }

    /// Numbers a synced file in `tmp/` and renames it into `new/` or
    /// `cur/`; returns its UID once the directory is synced too.
    pub(super) fn commit(
        &self,
        temporary: &Path,
        name: FileName,
        into_new: bool,
        date: SystemTime,
    ) -> io::Result<u32> {
        let group = if into_new {
            &self.new_synced
        } else {
            &self.cur_synced
        };
        let (committed, dir) = {
            let mut index = self.lock();
            let committed = index
                .refresh()
                .and_then(|()| index.commit(temporary, name, into_new, date))
                .map(|uid| (uid, group.ticket()));
            (
                committed,
                index.dir.join(if into_new { "new" } else { "cur" }),
            )
        };
        let (uid, ticket) = committed.inspect_err(|_| {
            let _ = fs::remove_file(temporary);
        })?;
        group.wait(&dir, ticket)?;
        Ok(uid)
    }
}

/// The in-memory index of one folder.
pub(super) struct Folder {
    pub(super) dir: PathBuf,
    pub(super) uid_validity: u32,
    pub(super) uid_next: u32,
    /// UIDs below this may have been handed out (what the UID file says).
    reserved: u32,
    pub(super) entries: BTreeMap<u32, Entry>,
    /// The mtimes of `new/` and `cur/` when the index was last in step.
    stamp: (SystemTime, SystemTime),
    /// A new number whenever the index changes, unique in the process (a
    /// folder loaded again never repeats one), so a reader can tell that
    /// nothing changed without comparing every entry.
    pub(super) version: u64,
}

pub(super) struct Entry {
    pub(super) name: FileName,
    pub(super) in_new: bool,
    pub(super) size: u64,
    pub(super) internal_date: SystemTime,
}

impl Folder {
    pub(super) fn load(dir: PathBuf) -> io::Result<Folder> {
        let recorded = fs::read_to_string(dir.join(UID_FILE))
            .ok()
            .and_then(|text| {
                let mut fields = text.split_whitespace().map(|f| f.parse::<u32>().ok());
                Some((fields.next()??, fields.next()??))
            });
        let fresh = recorded.is_none();
        let (uid_validity, reserved) = recorded.unwrap_or_else(|| (new_uid_validity(), 1));
        let mut folder = Folder {
            dir,
            uid_validity,
            uid_next: reserved.max(1),
            reserved,
            entries: BTreeMap::new(),
            stamp: (UNIX_EPOCH, UNIX_EPOCH),
            version: next_version(),
        };
        if fresh {
            folder.save_uids()?;
        }
        folder.rescan()?;
        Ok(folder)
    }

    /// Rescans when `new/` or `cur/` changed since the index was made.
    pub(super) fn refresh(&mut self) -> io::Result<()> {
        if self.mtimes()? != self.stamp {
            self.rescan()?;
        }
        Ok(())
    }

    /// Rebuilds the index from the directories; files without a UID (put
    /// there by hand) get one.
    pub(super) fn rescan(&mut self) -> io::Result<()> {
        self.stamp = self.mtimes()?;
        self.version = next_version();
        let mut entries = BTreeMap::new();
        let mut unnumbered = Vec::new();
        for in_new in [true, false] {
            let sub = self.dir.join(if in_new { "new" } else { "cur" });
            for dirent in fs::read_dir(&sub)? {
                let dirent = dirent?;
                let Some(name) = dirent.file_name().to_str().and_then(FileName::parse) else {
                    continue;
                };
                let metadata = match dirent.metadata() {
                    Ok(m) if m.is_file() => m,
                    _ => continue,
                };
                let entry = Entry {
                    size: name.size.unwrap_or(metadata.len()),
                    internal_date: metadata.modified().unwrap_or(UNIX_EPOCH),
                    name,
                    in_new,
                };
                match entry.name.uid {
                    Some(uid) if !entries.contains_key(&uid) => {
                        entries.insert(uid, entry);
                    }
                    _ => unnumbered.push((dirent.path(), entry)),
                }
            }
        }
        if let Some(&highest) = entries.keys().next_back() {
            self.uid_next = self.uid_next.max(highest.saturating_add(1));
        }
        self.entries = entries;
        unnumbered.sort_by_key(|(_, entry)| entry.internal_date);
        for (path, entry) in unnumbered {
            let name = FileName {
                unique: entry.name.unique.clone(),
                size: Some(entry.size),
                ..entry.name
            };
            self.commit(&path, name, entry.in_new, entry.internal_date)?;
        }
        Ok(())
    }

    /// Gives `name` the next UID and renames `from` into `new/` or `cur/`
    /// under it. The UID is reserved on disk before it is used. Callers
    /// refresh the index first.
    fn commit(
        &mut self,
        from: &Path,
        mut name: FileName,
        into_new: bool,
        internal_date: SystemTime,
    ) -> io::Result<u32> {
        if self.uid_next >= self.reserved {
            self.reserved = self.uid_next.saturating_add(UID_BLOCK);
            self.save_uids()?;
        }
        let uid = self.uid_next;
        self.uid_next += 1;
        name.uid = Some(uid);
        let target = if into_new {
            self.dir.join("new").join(name.in_new())
        } else {
            self.dir.join("cur").join(name.in_cur())
        };
        fs::rename(from, &target)?;
        let size = name.size.unwrap_or(0);
        self.entries.insert(
            uid,
            Entry {
                name,
                in_new: into_new,
                size,
                internal_date,
            },
        );
        self.touch()?;
        Ok(uid)
    }

    /// Marks the index as in step with the directories after our own change.
    pub(super) fn touch(&mut self) -> io::Result<()> {
        self.stamp = self.mtimes()?;
        self.version = next_version();
        Ok(())
    }

    pub(super) fn path_of(&mut self, uid: u32) -> io::Result<PathBuf> {
        self.refresh()?;
        self.indexed_path_of(uid)
            .ok_or_else(|| not_found(&format!("no message with UID {uid}")))
    }

    /// Where the index last saw the message, without looking again (the
    /// file may have been renamed or removed since).
    pub(super) fn indexed_path_of(&self, uid: u32) -> Option<PathBuf> {
        let entry = self.entries.get(&uid)?;
        Some(if entry.in_new {
            self.dir.join("new").join(entry.name.in_new())
        } else {
            self.dir.join("cur").join(entry.name.in_cur())
        })
    }

    fn mtimes(&self) -> io::Result<(SystemTime, SystemTime)> {
        let mtime = |sub: &str| fs::metadata(self.dir.join(sub))?.modified();
        Ok((mtime("new")?, mtime("cur")?))
    }

    /// Writes `UIDVALIDITY RESERVED` durably (tmp file, fsync, rename).
    fn save_uids(&self) -> io::Result<()> {
        let temporary = self
            .dir
            .join("tmp")
            .join(format!("{UID_FILE}.{}", unique_part()));
        let text = format!("{} {}\n", self.uid_validity, self.reserved);
        write_durably(&temporary, text.as_bytes(), None)?;
        fs::rename(&temporary, self.dir.join(UID_FILE))?;
        sync_dir(&self.dir)
    }
}

/// A folder index version never handed out before (never 0).
fn next_version() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// A UIDVALIDITY for a new folder: the time in seconds, and always larger
/// than the last one this process gave.
fn new_uid_validity() -> u32 {
    static LAST: AtomicU32 = AtomicU32::new(0);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1, |d| d.as_secs() as u32)
        .max(1);
    let previous = LAST
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |last| {
            Some(now.max(last.saturating_add(1)))
        })
        .unwrap_or(0);
    now.max(previous.saturating_add(1))
}

/// Writes and syncs a file; returns its mtime (the message's internal date).
pub(super) fn write_durably(
    path: &Path,
    data: &[u8],
    modified: Option<SystemTime>,
) -> io::Result<SystemTime> {
    let mut file = File::create(path)?;
    file.write_all(data)?;
    if let Some(time) = modified {
        file.set_modified(time)?;
    }
    file.sync_all()?;
    file.metadata()?.modified()
}

pub(super) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

pub(super) fn not_found(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, message.to_string())
}
