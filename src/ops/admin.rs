//! Whether this process may act on labs: building, entering and grading
//! them needs CAP_NET_ADMIN and CAP_SYS_ADMIN, and a kernel with network
//! namespaces. Checked first, so a user gets "run it as root" rather than
//! a failed system call half-way.

use std::fs;
use std::path::Path;

use anyhow::{Result, bail};

/// Fails with a clear message unless this process may build namespaces;
/// `verb` is the labctl verb the message names (`up`, `status LAB`).
pub fn require_admin(verb: &str) -> Result<()> {
    const CAP_SYS_ADMIN: u32 = 21;
    const CAP_NET_ADMIN: u32 = 12;
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    let effective = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .unwrap_or(0);
    let has = |cap: u32| effective & (1 << cap) != 0;
    if !has(CAP_NET_ADMIN) || !has(CAP_SYS_ADMIN) {
        bail!(
            "`labctl {verb}` needs root (CAP_NET_ADMIN to build networks, CAP_SYS_ADMIN to mount namespaces): run it as root (from a root shell, or through sudo)"
        );
    }
    if !Path::new("/proc/thread-self/ns/net").exists() {
        bail!("this kernel has no network namespaces (/proc/thread-self/ns/net is missing)");
    }
    Ok(())
}
