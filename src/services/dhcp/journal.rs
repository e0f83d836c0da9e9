//! The DHCP server's lease file: an append-only journal of JSON lines, one
//! lease per line, the last line for an address winning. It is compacted
//! (rewritten with one line per lease) when loaded and when it has grown
//! much longer than the lease table, so an ACK costs one small write and no
//! fsync: leases survive a daemon restart, not a power cut.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::leases::LeaseInfo;

/// Compaction waits until the journal has at least this many lines…
const MIN_LINES_TO_COMPACT: usize = 10_000;
/// …and this many lines per lease.
const LINES_PER_LEASE_TO_COMPACT: usize = 4;

/// An open lease file.
pub struct Journal {
    path: PathBuf,
    file: File,
    lines: usize,
}

impl Journal {
    /// The records of the lease file, oldest first; none when it does not
    /// exist. Unreadable lines (a write cut short) are skipped.
    pub fn load(path: &Path) -> anyhow::Result<Vec<LeaseInfo>> {
        let text = match fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("cannot read the lease file {}", path.display()));
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
    ) -> anyhow::Result<Journal> {
        let mut records: Vec<LeaseInfo> = records.collect();
        records.sort_by_key(|r| r.expires);
        let temporary = path.with_extension("tmp");
        let mut text = String::new();
        for record in &records {
            text.push_str(&line(record)?);
        }
        fs::write(&temporary, text)
            .with_context(|| format!("cannot write {}", temporary.display()))?;
        fs::rename(&temporary, path)
            .with_context(|| format!("cannot replace {}", path.display()))?;
        let file = OpenOptions::new().append(true).open(path)?;
        Ok(Journal {
            path: path.to_path_buf(),
            file,
            lines: records.len(),
        })
    }

    /// Appends records in one write.
    pub fn append(&mut self, records: &[LeaseInfo]) -> anyhow::Result<()> {
        let mut text = String::new();
        for record in records {
            text.push_str(&line(record)?);
        }
        self.file.write_all(text.as_bytes())?;
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

fn line(record: &LeaseInfo) -> anyhow::Result<String> {
    Ok(serde_json::to_string(record)? + "\n")
}
