//! One daemon per lab. The daemon takes an exclusive `flock` on
//! `daemon.lock` in the lab's state dir before it does anything else and
//! holds it for its whole life; the kernel drops it when the process ends,
//! `kill -9` included, so a crashed daemon never leaves a stale lock. A
//! second daemon finds the lock taken and exits without touching anything
//! (the pid file, the control socket, the ports stay the first one's).
//! `down` takes the lock itself once the daemon has stopped; when it cannot,
//! it finds every process that has the lock file open, so a pid file that
//! lies cannot hide a daemon from it.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::ErrorKind;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::{Context, Result, bail};

use super::pidfile::{ProcessId, start_time};
use crate::state::LabDir;

/// The lock, held until dropped (the daemon keeps it until it exits).
pub struct DaemonLock {
    _file: File,
}

/// Takes the lab's daemon lock, or says which daemon has it.
pub fn acquire(dir: &LabDir) -> Result<DaemonLock> {
    let file = open(dir)?;
    match file.try_lock() {
        Ok(()) => Ok(DaemonLock { _file: file }),
        Err(TryLockError::WouldBlock) => bail!(
            "lab {lab} already has a running daemon{pid}: only one may run per lab, this one exits\n  \
             (`labctl status {lab}` shows it; `labctl restart {lab}` is for when it has stopped)",
            lab = dir.name,
            pid = described_holder(dir)
        ),
        Err(TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("cannot lock {}", dir.lock_path().display()))
        }
    }
}

/// Whether a daemon of the lab runs (holds the lock). Takes the lock for a
/// moment when it is free, so only a verb that is about to start a daemon
/// itself (`restart`) should ask.
pub fn daemon_running(dir: &LabDir) -> Result<bool> {
    let file = open(dir)?;
    match file.try_lock() {
        Ok(()) => Ok(false),
        Err(TryLockError::WouldBlock) => Ok(true),
        Err(TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("cannot lock {}", dir.lock_path().display()))
        }
    }
}

/// Takes the lab's lock when no daemon holds it; None when one does (or
/// the lock file cannot be opened). `down` holds it to the end, so a
/// daemon that is only starting finds it taken and exits.
pub fn take_if_free(dir: &LabDir) -> Option<DaemonLock> {
    let file = open(dir).ok()?;
    file.try_lock().ok().map(|()| DaemonLock { _file: file })
}

/// " (pid N)" of the daemon that holds the lock, when it can be found.
pub fn described_holder(dir: &LabDir) -> String {
    match holders(dir).first() {
        Some(daemon) => format!(" (pid {})", daemon.pid),
        None => String::new(),
    }
}

/// Every other process that has the lab's lock file open: its daemon, and
/// any second one still starting. Found through /proc, not the pid file.
pub fn holders(dir: &LabDir) -> Vec<ProcessId> {
    let Ok(lock) = std::fs::canonicalize(dir.lock_path()) else {
        return Vec::new();
    };
    let me = std::process::id() as i32;
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| pid != me && has_open(pid, &lock))
        .filter_map(|pid| {
            Some(ProcessId {
                pid,
                start_time: start_time(pid)?,
            })
        })
        .collect()
}

/// Whether process `pid` has `path` open.
fn has_open(pid: i32, path: &Path) -> bool {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .into_iter()
        .flatten()
        .flatten()
        .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|target| target == path))
}

/// Opens (creating, readable by root only) the lab's lock file; a lab
/// without a state dir is not up.
fn open(dir: &LabDir) -> Result<File> {
    let path = dir.lock_path();
    match OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
    {
        Ok(file) => Ok(file),
        Err(e) if e.kind() == ErrorKind::NotFound => {
            bail!(
                "lab {} is not up (no state dir {})",
                dir.name,
                dir.dir.display()
            )
        }
        Err(e) => Err(e).with_context(|| format!("cannot open {}", path.display())),
    }
}
