//! The DHCP server's lease file: an append-only journal of JSON lines, one
//! lease per line, the last line for an address winning. It is compacted
//! (rewritten with one line per lease) when loaded and when it has grown
//! much longer than the lease table, so an ACK costs one small write and no
//! fsync: leases survive a daemon restart, not a power cut.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::lease_info::LeaseInfo;

/// Compaction waits until the journal has at least this many lines…
const MIN_LINES_TO_COMPACT: usize = 10_000;
/// …and this many lines per lease.
const LINES_PER_LEASE_TO_COMPACT: usize = 4;

/// What went wrong with the lease file, and which file.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("cannot read the lease file {}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("cannot write {}", path.display())]
    Write { path: PathBuf, source: io::Error },
    #[error("cannot replace {}", path.display())]
    Replace { path: PathBuf, source: io::Error },
    #[error("cannot append to the lease file {}", path.display())]
    Append { path: PathBuf, source: io::Error },
    #[error("cannot encode a lease")]
    Encode(#[from] serde_json::Error),
}

/// An open lease file.
pub struct Journal {
    path: PathBuf,
    file: File,
    lines: usize,
}

impl Journal {
    /// The records of the lease file, oldest first; none when it does not
    /// exist. Unreadable lines (a write cut short) are skipped.
    pub fn load(path: &Path) -> Result<Vec<LeaseInfo>, JournalError> {
        let text = match fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(JournalError::Read {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        Ok(text
            .lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect())
    }

    /// Writes `records` as a fresh lease file (through a temporary file and a
    /// rename) and opens it for appending. They are written by expiry, so
    /// that a client's latest address comes last, as in the journal.
    pub fn create(
        path: &Path,
        records: impl Iterator<Item = LeaseInfo>,
    ) -> Result<Journal, JournalError> {
        let mut records: Vec<LeaseInfo> = records.collect();
        records.sort_by_key(|r| r.expires);
        let temporary = path.with_extension("tmp");
        let mut text = String::new();
        for record in &records {
            text.push_str(&line(record)?);
        }
        fs::write(&temporary, text).map_err(|source| JournalError::Write {
            path: temporary.clone(),
            source,
        })?;
        let replace = |source| JournalError::Replace {
            path: path.to_path_buf(),
            source,
        };
        fs::rename(&temporary, path).map_err(replace)?;
        let file = OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(replace)?;
        Ok(Journal {
            path: path.to_path_buf(),
            file,
            lines: records.len(),
        })
    }

    /// Appends records in one write.
    pub fn append(&mut self, records: &[LeaseInfo]) -> Result<(), JournalError> {
        let mut text = String::new();
        for record in records {
            text.push_str(&line(record)?);
        }
        self.file
            .write_all(text.as_bytes())
            .map_err(|source| JournalError::Append {
                path: self.path.clone(),
                source,
            })?;
        self.lines += records.len();
        Ok(())
    }

    /// True when the file is long enough to be worth rewriting for a table
    /// of `leases` leases.
    pub fn wants_compaction(&self, leases: usize) -> bool {
        self.lines >= MIN_LINES_TO_COMPACT && self.lines >= LINES_PER_LEASE_TO_COMPACT * leases
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn line(record: &LeaseInfo) -> Result<String, JournalError> {
    Ok(serde_json::to_string(record)? + "\n")
}
