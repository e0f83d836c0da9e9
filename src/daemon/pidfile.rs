//! The daemon's pid file: the pid and the process start time, so a pid the
//! kernel has since given to another program is never mistaken for ours.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcessId {
    pub pid: i32,
    /// Field 22 of /proc/PID/stat (clock ticks since boot).
    pub start_time: u64,
}

impl ProcessId {
    pub fn current() -> Result<ProcessId> {
        let pid = std::process::id() as i32;
        let start_time = start_time(pid).context("cannot read this process's start time")?;
        Ok(ProcessId { pid, start_time })
    }

    /// True while this very process (not a later one with the same pid)
    /// runs; a zombie waiting to be reaped counts as gone.
    pub fn is_alive(&self) -> bool {
        stat_fields(self.pid).is_some_and(|(state, start)| state != 'Z' && start == self.start_time)
    }

    pub fn write(&self, path: &Path) -> Result<()> {
        fs::write(path, format!("{} {}\n", self.pid, self.start_time))
            .with_context(|| format!("cannot write {}", path.display()))
    }

    pub fn read(path: &Path) -> Option<ProcessId> {
        let text = fs::read_to_string(path).ok()?;
        let mut parts = text.split_whitespace();
        Some(ProcessId {
            pid: parts.next()?.parse().ok()?,
            start_time: parts.next()?.parse().ok()?,
        })
    }
}

pub fn start_time(pid: i32) -> Option<u64> {
    stat_fields(pid).map(|(_, start)| start)
}

/// The state letter (field 3) and start time (field 22) of /proc/PID/stat.
fn stat_fields(pid: i32) -> Option<(char, u64)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces: count from the last ')'.
    let mut fields = stat[stat.rfind(')')? + 1..].split_whitespace();
    let state = fields.next()?.chars().next()?;
    Some((state, fields.nth(18)?.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_changed_start_time_is_not() {
        let me = ProcessId::current().unwrap();
        assert!(me.is_alive());
        let other = ProcessId {
            start_time: me.start_time + 1,
            ..me
        };
        assert!(!other.is_alive());
    }
}
