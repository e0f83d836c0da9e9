//! User namespaces for rootless labs: the system calls that make a lab's
//! user, mount and network namespace (in its holder process), pin a private
//! tmpfs inside it, and move a labctl process in. Inside, labctl is root
//! over namespaces its user owns and nothing else: the host's network, mounts
//! and files keep their owners' rights (see docs/architecture.md, "Rootless
//! labs"). Node namespaces are still made and entered by `netns.rs`.

use std::ffi::CString;
use std::fs::{self, File};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use anyhow::{Context, Result};
use nix::errno::Errno;
use nix::mount::{MsFlags, mount};
use nix::sched::{CloneFlags, setns, unshare};
use nix::unistd::{Gid, Uid};

/// Moves this single-threaded process into a new user namespace, with a
/// new mount and network namespace owned by it. Its id maps are still
/// unwritten: the process that started it maps a range of subordinate ids
/// (`net::subid`), or this one maps its own ids only (`map_own_ids_only`).
pub fn unshare_own() -> Result<()> {
    unshare(CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWNET)
        .map_err(|errno| anyhow::anyhow!(explain_refusal(errno, &Sysctls::read())))?;
    // `newuidmap` checks that /proc/PID is its caller's, which it is not
    // for an undumpable process.
    set_dumpable();
    Ok(())
}

/// Maps only the user's own ids (to root) in this process's new user
/// namespace: an unprivileged process may not map more, and must give up
/// setgroups before it may map its group. A map already written (by
/// `newuidmap`, when `newgidmap` then failed) is kept. `uid` and `gid` are
/// the ids from before `unshare_own` (unmapped ones read as the overflow id).
pub fn map_own_ids_only(uid: Uid, gid: Gid) -> Result<()> {
    let unwritten = |file: &str| {
        fs::read_to_string(format!("/proc/self/{file}")).is_ok_and(|map| map.trim().is_empty())
    };
    let write = |file: &str, text: String| {
        fs::write(format!("/proc/self/{file}"), &text)
            .with_context(|| format!("cannot write `{}` to /proc/self/{file}", text.trim()))
    };
    if unwritten("uid_map") {
        write("uid_map", format!("0 {uid} 1\n"))?;
    }
    if unwritten("gid_map") {
        write("setgroups", "deny".into())?;
        write("gid_map", format!("0 {gid} 1\n"))?;
    }
    Ok(())
}

/// This process's user namespace's inode (its identity in
/// /proc/PID/ns/user).
pub fn own_inode() -> Result<u64> {
    Ok(fs::metadata("/proc/self/ns/user")
        .context("cannot read this process's user namespace")?
        .ino())
}

/// Mounts a tmpfs only this mount namespace sees, readable by its owner
/// only, with `netns/` (the pins) and `etc/` (the nodes' /etc files).
pub fn mount_private_tmpfs(dir: &Path) -> Result<()> {
    mount(
        Some("labctl"),
        dir,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        Some("mode=0700,size=64m"),
    )
    .with_context(|| format!("cannot mount a tmpfs on {}", dir.display()))?;
    for sub in ["netns", "etc"] {
        let path = dir.join(sub);
        fs::create_dir(&path).with_context(|| format!("cannot create {}", path.display()))?;
    }
    Ok(())
}

/// A lab's namespaces, opened from its holder process, to move into.
pub struct LabNamespaces {
    user: OwnedFd,
    mount: OwnedFd,
    net: OwnedFd,
}

impl LabNamespaces {
    pub fn of_process(pid: i32) -> Result<LabNamespaces> {
        let open = |kind: &str| -> Result<OwnedFd> {
            let path = format!("/proc/{pid}/ns/{kind}");
            Ok(OwnedFd::from(
                File::open(&path).with_context(|| format!("cannot open {path}"))?,
            ))
        };
        Ok(LabNamespaces {
            user: open("user")?,
            mount: open("mnt")?,
            net: open("net")?,
        })
    }

    /// Moves this single-threaded process in: user namespace first (it
    /// grants the rights over the other two), then mount and network. The
    /// working directory is kept (entering a mount namespace resets it to /).
    pub fn enter(self) -> Result<()> {
        let cwd = std::env::current_dir().ok();
        setns(self.user.as_fd(), CloneFlags::CLONE_NEWUSER)
            .context("cannot enter the lab's user namespace")?;
        setns(self.mount.as_fd(), CloneFlags::CLONE_NEWNS)
            .context("cannot enter the lab's mount namespace")?;
        setns(self.net.as_fd(), CloneFlags::CLONE_NEWNET)
            .context("cannot enter the lab's network namespace")?;
        if let Some(cwd) = cwd.and_then(|c| CString::new(c.as_os_str().as_bytes()).ok()) {
            // A directory the lab's root may not search is left for /.
            let _ = nix::unistd::chdir(cwd.as_c_str());
        }
        set_dumpable();
        Ok(())
    }
}

/// Changing credentials (a new user namespace) makes a process undumpable,
/// which would hide its namespaces from its own user's labctl (entering the
/// holder's, `down` finding every process of the lab).
fn set_dumpable() {
    // SAFETY: prctl(PR_SET_DUMPABLE) takes plain integers.
    unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 1, 0, 0, 0) };
}

/// Unmounts the lab's tmpfs where this process sees it mounted (inside the
/// lab's mount namespace); elsewhere it is a plain empty dir already.
pub fn unmount_private_tmpfs(dir: &Path) {
    let _ = nix::mount::umount2(dir, nix::mount::MntFlags::MNT_DETACH);
}

/// The settings that decide whether an ordinary user may make a user
/// namespace (`None`: not present on this kernel).
#[derive(Debug, Default)]
pub struct Sysctls {
    pub max_user_namespaces: Option<u64>,
    /// Debian's and older Ubuntu kernels' switch.
    pub unprivileged_userns_clone: Option<u64>,
    /// Ubuntu 23.10 and later: AppArmor decides per program.
    pub apparmor_restrict: Option<u64>,
}

impl Sysctls {
    pub fn read() -> Sysctls {
        let read = |path: &str| {
            fs::read_to_string(path)
                .ok()
                .and_then(|t| t.trim().parse().ok())
        };
        Sysctls {
            max_user_namespaces: read("/proc/sys/user/max_user_namespaces"),
            unprivileged_userns_clone: read("/proc/sys/kernel/unprivileged_userns_clone"),
            apparmor_restrict: read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns"),
        }
    }
}

/// Why the system refused a user namespace, naming the setting and how an
/// administrator allows it.
pub fn explain_refusal(errno: Errno, sysctls: &Sysctls) -> String {
    let head = format!(
        "this system does not let an ordinary user create user namespaces ({errno}), which rootless labctl needs"
    );
    let fix = if sysctls.unprivileged_userns_clone == Some(0) {
        "kernel.unprivileged_userns_clone is 0\n  fix (administrator): `sysctl -w kernel.unprivileged_userns_clone=1`, \
         and put `kernel.unprivileged_userns_clone = 1` in /etc/sysctl.d/90-labctl.conf to keep it"
            .to_string()
    } else if sysctls.max_user_namespaces == Some(0) {
        "user.max_user_namespaces is 0\n  fix (administrator): `sysctl -w user.max_user_namespaces=15000`, \
         and put `user.max_user_namespaces = 15000` in /etc/sysctl.d/90-labctl.conf to keep it"
            .to_string()
    } else if errno == Errno::ENOSPC {
        format!(
            "this user has as many user namespaces as user.max_user_namespaces ({}) allows\n  \
             fix: take labs down (`labctl down --all`), or an administrator raises user.max_user_namespaces",
            sysctls
                .max_user_namespaces
                .map_or("?".to_string(), |n| n.to_string())
        )
    } else if sysctls.apparmor_restrict == Some(1) {
        "AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns is 1)\n  \
         fix (administrator): allow labctl alone with a profile, /etc/apparmor.d/labctl:\n    \
         abi <abi/4.0>,\n    include <tunables/global>\n    \
         profile labctl /usr/local/bin/labctl flags=(unconfined) {\n      userns,\n    }\n  \
         (with labctl's real path), then `apparmor_parser -r /etc/apparmor.d/labctl`; \
         or allow every program with `sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`"
            .to_string()
    } else {
        "none of the usual settings forbids it (kernel.unprivileged_userns_clone, user.max_user_namespaces, \
         kernel.apparmor_restrict_unprivileged_userns), so a container's seccomp profile or a security \
         module may\n  fix: run labctl as root, or ask the administrator to allow user namespaces (on Docker: \
         `--security-opt seccomp=unconfined`)"
            .to_string()
    };
    format!("{head}: {fix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_refusal_names_its_setting_and_fix() {
        let debian = Sysctls {
            unprivileged_userns_clone: Some(0),
            max_user_namespaces: Some(1000),
            ..Sysctls::default()
        };
        let text = explain_refusal(Errno::EPERM, &debian);
        assert!(
            text.contains("sysctl -w kernel.unprivileged_userns_clone=1"),
            "{text}"
        );

        let zero = Sysctls {
            max_user_namespaces: Some(0),
            ..Sysctls::default()
        };
        let text = explain_refusal(Errno::ENOSPC, &zero);
        assert!(text.contains("user.max_user_namespaces is 0"), "{text}");

        let full = Sysctls {
            max_user_namespaces: Some(3),
            ..Sysctls::default()
        };
        let text = explain_refusal(Errno::ENOSPC, &full);
        assert!(
            text.contains("as many user namespaces as user.max_user_namespaces (3)"),
            "{text}"
        );

        let ubuntu = Sysctls {
            max_user_namespaces: Some(1000),
            apparmor_restrict: Some(1),
            ..Sysctls::default()
        };
        let text = explain_refusal(Errno::EACCES, &ubuntu);
        assert!(
            text.contains("apparmor_parser -r /etc/apparmor.d/labctl"),
            "{text}"
        );
        assert!(text.contains("userns,"), "{text}");

        let text = explain_refusal(Errno::EPERM, &Sysctls::default());
        assert!(text.contains("seccomp"), "{text}");
    }
}
