//! Root or rootless: whether this process runs labs as an ordinary user,
//! and so where a lab's files go. Rootless is chosen when labctl is not
//! root (or `--rootless` forces it); each lab then lives in a user, mount
//! and network namespace of its own (`ops::rootless` makes and enters it,
//! `net::userns` holds the system calls). Inside that namespace, labctl
//! pins the lab's node namespaces and keeps their /etc files on a private
//! tmpfs instead of /run/netns and /etc/netns, and its state under the
//! user's runtime dir instead of /run/labctl.
//!
//! The mode travels to the processes labctl starts inside a lab (its
//! daemon, `labctl dhcp-client` in a node) in two environment variables,
//! set once while labctl is still single-threaded.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set inside a lab's user namespace: the tmpfs holding its namespace pins
/// (`netns/`) and node /etc files (`etc/`).
pub const NS_DIR_ENV: &str = "LABCTL_ROOTLESS_NS";

/// Where lab state lives when set (tests move it; rootless labctl pins the
/// user's state dir in it for the processes it starts inside a lab).
pub const RUN_DIR_ENV: &str = "LABCTL_RUN_DIR";

static FORCED: AtomicBool = AtomicBool::new(false);

/// `--rootless`: run labs rootless even as root (for tests and for trying it).
pub fn force() {
    FORCED.store(true, Ordering::Relaxed);
}

/// Whether labs are run rootless: inside a lab's user namespace, when
/// forced, or when labctl is not root.
pub fn active() -> bool {
    inside() || FORCED.load(Ordering::Relaxed) || !nix::unistd::geteuid().is_root()
}

/// Whether this process is already inside a rootless lab's namespaces.
pub fn inside() -> bool {
    ns_dir().is_some()
}

/// The lab's private tmpfs, inside its user namespace.
pub fn ns_dir() -> Option<PathBuf> {
    std::env::var_os(NS_DIR_ENV)
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
}

/// The user's own state root: `$XDG_RUNTIME_DIR/labctl` (a per-user tmpfs
/// the login manager makes, emptied at logout or boot), else
/// `/tmp/labctl-UID`. `state` checks its owner and mode before using it.
pub fn user_run_dir() -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        Some(dir) => PathBuf::from(dir).join("labctl"),
        None => PathBuf::from(format!("/tmp/labctl-{}", nix::unistd::geteuid())),
    }
}
