//! Subordinate ids for rootless labs: the ranges an administrator granted a
//! user in /etc/subuid and /etc/subgid, and the setuid `newuidmap` and
//! `newgidmap` (the `uidmap` package) that map them into a user namespace,
//! as rootless podman does. With them a lab's user namespace maps 0 to the
//! user and 1..=N to the range, so tools that switch user inside (tcpdump
//! dropping to its `tcpdump` user) work; without them only the user's own
//! ids are mapped (docs/architecture.md, "Rootless labs").

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// One range of a user's subordinate ids: `start`, `start + 1`, … (`count`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub start: u32,
    pub count: u32,
}

/// What maps a full range of ids into a user namespace for this user.
#[derive(Debug)]
pub struct SubordinateIds {
    uids: Range,
    gids: Range,
    newuidmap: PathBuf,
    newgidmap: PathBuf,
}

/// Where the ranges are granted.
const SUBUID: &str = "/etc/subuid";
const SUBGID: &str = "/etc/subgid";

impl SubordinateIds {
    /// This user's ranges and the tools, or why a full map is not possible
    /// (one clause, for the warning).
    pub fn of_current_user() -> Result<SubordinateIds, String> {
        let uid = nix::unistd::getuid();
        let name = nix::unistd::User::from_uid(uid)
            .ok()
            .flatten()
            .map(|u| u.name)
            .unwrap_or_default();
        let range = |file: &str| -> Result<Range, String> {
            let text =
                std::fs::read_to_string(file).map_err(|e| format!("cannot read {file}: {e}"))?;
            first_range(&text, &name, uid.as_raw()).ok_or_else(|| {
                let who = if name.is_empty() {
                    uid.to_string()
                } else {
                    name.clone()
                };
                format!("{file} has no range for {who}")
            })
        };
        let tool =
            |program: &str| on_path(program).ok_or_else(|| format!("`{program}` is not installed"));
        Ok(SubordinateIds {
            uids: range(SUBUID)?,
            gids: range(SUBGID)?,
            newuidmap: tool("newuidmap")?,
            newgidmap: tool("newgidmap")?,
        })
    }

    /// Maps the user namespace of process `pid` (which has unshared and
    /// waits, its maps unwritten): 0 is this user's own id, 1..=N the
    /// range. `newgidmap` leaves setgroups allowed, as the range is not
    /// the user's own group alone.
    pub fn map(&self, pid: i32) -> Result<()> {
        let uid = nix::unistd::geteuid();
        let gid = nix::unistd::getegid();
        run(&self.newuidmap, pid, map_args(uid.as_raw(), self.uids))?;
        run(&self.newgidmap, pid, map_args(gid.as_raw(), self.gids))
    }
}

/// The user's own id and the range, as `newuidmap` takes them.
fn map_args(own: u32, range: Range) -> [String; 6] {
    [
        "0".into(),
        own.to_string(),
        "1".into(),
        "1".into(),
        range.start.to_string(),
        range.count.to_string(),
    ]
}

fn run(tool: &Path, pid: i32, args: [String; 6]) -> Result<()> {
    let out = Command::new(tool)
        .arg(pid.to_string())
        .args(&args)
        .output()
        .with_context(|| format!("cannot run {}", tool.display()))?;
    if !out.status.success() {
        bail!(
            "`{} {pid} {}` failed: {}",
            tool.display(),
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// The first `NAME:START:COUNT` line of /etc/subuid (or subgid) for this
/// user, by name or by number, as shadow's own tools read it.
fn first_range(text: &str, name: &str, id: u32) -> Option<Range> {
    text.lines().find_map(|line| {
        let mut fields = line.trim().split(':');
        let owner = fields.next()?;
        let start = fields.next()?.parse().ok()?;
        let count: u32 = fields.next()?.parse().ok()?;
        let ours = (!name.is_empty() && owner == name) || owner == id.to_string();
        (ours && count > 0).then_some(Range { start, count })
    })
}

/// Where `program` is on PATH, if anywhere.
fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into());
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_users_first_range_by_name_or_number() {
        let file = "# comment\nada:100000:65536\nbob:165536:65536\n1001:231072:10\nbob:300000:5\n";
        assert_eq!(
            first_range(file, "bob", 1000),
            Some(Range {
                start: 165536,
                count: 65536
            })
        );
        assert_eq!(
            first_range(file, "carol", 1001),
            Some(Range {
                start: 231072,
                count: 10
            })
        );
        assert_eq!(first_range(file, "dave", 1002), None);
        assert_eq!(first_range("dave:1:0\ndave:x:3\n", "dave", 7), None);
    }

    #[test]
    fn the_map_puts_the_user_at_zero_and_the_range_after() {
        let args = map_args(
            1000,
            Range {
                start: 100000,
                count: 65536,
            },
        );
        assert_eq!(args.join(" "), "0 1000 1 1 100000 65536");
    }
}
