//! Network namespaces: create, open, enter and delete them. This is the one
//! place that calls setns/unshare; it does so on dedicated OS threads, never
//! on a tokio worker, so a thread's namespace never leaks into other work.
//!
//! A namespace is kept alive by a bind mount at `/run/netns/NAME`, exactly as
//! `ip netns add` does, so `ip netns exec NAME …` works on labctl's labs.
//! Rootless, the bind mount is on the lab's private tmpfs instead
//! (`rootless::ns_dir`), seen only inside the lab's mount namespace.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sched::{CloneFlags, setns, unshare};

pub const NETNS_DIR: &str = "/run/netns";

/// Where namespaces are pinned: /run/netns, or rootless the lab's tmpfs.
pub fn netns_dir() -> PathBuf {
    match crate::rootless::ns_dir() {
        Some(dir) => dir.join("netns"),
        None => PathBuf::from(NETNS_DIR),
    }
}

pub fn netns_path(name: &str) -> PathBuf {
    netns_dir().join(name)
}

/// Makes `/run/netns` exist and be a shared mount point, as iproute2 does, so
/// that namespace mounts made here are seen by every mount namespace.
/// Rootless, the lab's own dir is private to its mount namespace already.
pub fn ensure_netns_dir() -> Result<()> {
    if let Some(dir) = crate::rootless::ns_dir() {
        let pins = dir.join("netns");
        return fs::create_dir_all(&pins)
            .with_context(|| format!("cannot create {}", pins.display()));
    }
    fs::create_dir_all(NETNS_DIR).with_context(|| format!("cannot create {NETNS_DIR}"))?;
    let make_shared = || {
        mount(
            None::<&str>,
            NETNS_DIR,
            None::<&str>,
            MsFlags::MS_SHARED | MsFlags::MS_REC,
            None::<&str>,
        )
    };
    if make_shared().is_err() {
        // Not a mount point yet: bind it onto itself, then share it.
        mount(
            Some(NETNS_DIR),
            NETNS_DIR,
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None::<&str>,
        )
        .with_context(|| format!("cannot bind-mount {NETNS_DIR} onto itself"))?;
        make_shared().with_context(|| format!("cannot make {NETNS_DIR} a shared mount"))?;
    }
    Ok(())
}

/// Opens a namespace by name (the fd keeps it alive while held).
pub fn open(name: &str) -> Result<OwnedFd> {
    let path = netns_path(name);
    let file = File::open(&path)
        .with_context(|| format!("namespace {name} does not exist ({})", path.display()))?;
    Ok(OwnedFd::from(file))
}

fn current_netns() -> Result<OwnedFd> {
    Ok(OwnedFd::from(
        File::open("/proc/thread-self/ns/net")
            .context("cannot open this thread's network namespace")?,
    ))
}

/// What to do inside a namespace right after creating it.
pub struct NewNamespace {
    pub name: String,
    /// Sysctls under /proc/sys to write, e.g. ("net/ipv4/ip_forward", "1").
    pub sysctls: Vec<(&'static str, &'static str)>,
}

/// Creates namespaces one after another on a dedicated thread. For each one,
/// `inside` runs on that thread while it is in the new namespace (sockets it
/// opens belong to that namespace for life); the results come back in order.
/// No descriptor of the namespaces is kept (their pins keep them): a lab of
/// 10,000 nodes must fit the usual limit of open files.
/// On error, the namespaces created so far are left for the caller's
/// rollback, which deletes them by name.
pub fn create_all<T: Send + 'static>(
    namespaces: Vec<NewNamespace>,
    inside: impl Fn(usize, &NewNamespace) -> Result<T> + Send + 'static,
) -> Result<Vec<T>> {
    std::thread::Builder::new()
        .name("netns-create".into())
        .spawn(move || {
            let home = current_netns()?;
            let mut out = Vec::with_capacity(namespaces.len());
            for (i, ns) in namespaces.iter().enumerate() {
                let made = create_here(ns).and_then(|()| inside(i, ns));
                setns(home.as_fd(), CloneFlags::CLONE_NEWNET)
                    .context("cannot return to the host network namespace")?;
                out.push(made.with_context(|| format!("creating namespace {}", ns.name))?);
            }
            Ok(out)
        })
        .context("cannot start the namespace thread")?
        .join()
        .map_err(|_| anyhow::anyhow!("the namespace thread panicked"))?
}

/// Moves the calling thread into a new namespace and pins it at /run/netns.
fn create_here(ns: &NewNamespace) -> Result<()> {
    let path = netns_path(&ns.name);
    match OpenOptions::new().write(true).create_new(true).open(&path) {
        Ok(_) => {}
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            bail!(
                "{} already exists: something else made a namespace of this name",
                path.display()
            )
        }
        Err(e) => return Err(e).with_context(|| format!("cannot create {}", path.display())),
    }
    unshare(CloneFlags::CLONE_NEWNET).context("unshare(CLONE_NEWNET) failed")?;
    mount(
        Some("/proc/thread-self/ns/net"),
        &path,
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
    .with_context(|| format!("cannot bind-mount the namespace at {}", path.display()))?;
    for (key, value) in &ns.sysctls {
        let file = Path::new("/proc/sys").join(key);
        OpenOptions::new()
            .write(true)
            .open(&file)
            .and_then(|mut f| f.write_all(value.as_bytes()))
            .with_context(|| format!("cannot set {key}={value}"))?;
    }
    Ok(())
}

/// Runs `f` on a fresh thread that has entered namespace `name`.
pub fn run_in<T: Send + 'static>(
    name: &str,
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    spawn_in(name, f)?
        .join()
        .map_err(|_| anyhow::anyhow!("a thread in namespace {name} panicked"))?
}

/// Starts a long-lived thread inside namespace `name` running `f` (a node's
/// services live on such a thread for the life of the daemon).
pub fn spawn_in<T: Send + 'static>(
    name: &str,
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<std::thread::JoinHandle<Result<T>>> {
    let fd = open(name)?;
    std::thread::Builder::new()
        .name(format!("in-{name}"))
        .spawn(move || {
            setns(fd.as_fd(), CloneFlags::CLONE_NEWNET).context("setns failed")?;
            f()
        })
        .context("cannot start a thread")
}

/// Runs `f` in each of the namespaces `names`, one after another on one
/// fresh thread (cheaper than a thread each when a lab has a thousand
/// nodes); sockets `f` opens belong to that namespace for life. Stops at
/// the first error, naming the namespace.
pub fn run_in_each<T: Send + 'static>(
    names: Vec<String>,
    f: impl Fn(usize, &str) -> Result<T> + Send + 'static,
) -> Result<Vec<T>> {
    std::thread::Builder::new()
        .name("netns-each".into())
        .spawn(move || {
            let home = current_netns()?;
            let mut out = Vec::with_capacity(names.len());
            for (i, name) in names.iter().enumerate() {
                let done = enter(name).and_then(|()| f(i, name));
                setns(home.as_fd(), CloneFlags::CLONE_NEWNET)
                    .context("cannot return to the host network namespace")?;
                out.push(done.with_context(|| format!("in namespace {name}"))?);
            }
            Ok(out)
        })
        .context("cannot start the namespace thread")?
        .join()
        .map_err(|_| anyhow::anyhow!("the namespace thread panicked"))?
}

/// Moves the calling thread into namespace `name` for good (for `exec`, just
/// before the command replaces this process).
pub fn enter(name: &str) -> Result<()> {
    let fd = open(name)?;
    setns(fd.as_fd(), CloneFlags::CLONE_NEWNET)
        .with_context(|| format!("cannot enter namespace {name}"))?;
    Ok(())
}

/// Unpins and removes a namespace. Missing is fine (idempotent). The kernel
/// frees it, with all its interfaces, once no process is left inside.
pub fn delete(name: &str) -> Result<()> {
    let path = netns_path(name);
    match umount2(&path, MntFlags::MNT_DETACH) {
        Ok(()) | Err(nix::errno::Errno::EINVAL) | Err(nix::errno::Errno::ENOENT) => {}
        Err(e) => return Err(e).with_context(|| format!("cannot unmount {}", path.display())),
    }
    match fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot remove {}", path.display())),
    }
}

pub fn exists(name: &str) -> bool {
    netns_path(name).exists()
}

/// The inode that identifies namespace `name` (as in /proc/PID/ns/net).
pub fn inode(name: &str) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    fs::metadata(netns_path(name)).ok().map(|m| m.ino())
}
