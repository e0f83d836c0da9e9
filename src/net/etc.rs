//! Per-node files under /etc/netns/NAMESPACE/, which `labctl exec` (and
//! `ip netns exec`) bind-mount over /etc inside the node: its own
//! resolv.conf, hosts and hostname. As root, /etc/netns/NAMESPACE is a
//! symbolic link into the lab's node-file store, a tmpfs of the lab's own
//! in its state dir (`STORE`): `down` unmounts it in one step, where
//! removing a directory from /etc one by one cost about 3 ms each on an
//! ext4 root (0.2 s of a 1000-host `down`). Rootless, they live on the
//! lab's private tmpfs (`rootless::ns_dir`) instead of /etc/netns.

use std::fs;
use std::io::ErrorKind;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use nix::errno::Errno;
use nix::mount::{MntFlags, MsFlags, mount, umount2};

use crate::lab::plan::PlanNode;

pub const ETC_NETNS: &str = "/etc/netns";

pub fn node_etc_dir(namespace: &str) -> PathBuf {
    match crate::rootless::ns_dir() {
        Some(dir) => dir.join("etc").join(namespace),
        None => Path::new(ETC_NETNS).join(namespace),
    }
}

/// The node-file store's name in a lab's state dir.
pub const STORE: &str = "etc";

/// Mounts the lab's node-file store at `store` (as root; rootless labs
/// have their tmpfs already). Readable by root only, like the state dir:
/// what a node reads through /etc is bind-mounted there, with its own modes.
pub fn mount_store(store: &Path) -> Result<()> {
    if crate::rootless::ns_dir().is_some() {
        return Ok(());
    }
    fs::create_dir_all(store).with_context(|| format!("cannot create {}", store.display()))?;
    mount(
        Some("tmpfs"),
        store,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        Some("mode=0700"),
    )
    .with_context(|| format!("cannot mount a tmpfs on {}", store.display()))
}

/// Unmounts the lab's node-file store (absent or not mounted is fine).
pub fn unmount_store(store: &Path) -> Result<()> {
    match umount2(store, MntFlags::MNT_DETACH) {
        Ok(()) | Err(Errno::EINVAL) | Err(Errno::ENOENT) => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot unmount {}", store.display())),
    }
}

/// Writes node `node`'s files: into `store` behind a link from
/// /etc/netns/NAMESPACE as root, straight into the node's directory
/// rootless.
pub fn write_node_files(node: &PlanNode, store: &Path) -> Result<()> {
    let dir = node_etc_dir(&node.namespace);
    if crate::rootless::ns_dir().is_none() {
        let real = store.join(&node.namespace);
        fs::create_dir_all(&real).with_context(|| format!("cannot create {}", real.display()))?;
        fs::create_dir_all(ETC_NETNS).with_context(|| format!("cannot create {ETC_NETNS}"))?;
        // A link left by a lab that was never taken down (its store went
        // with a reboot) is replaced; anything else there `up` has refused.
        if fs::symlink_metadata(&dir).is_ok_and(|m| m.file_type().is_symlink()) {
            let _ = fs::remove_file(&dir);
        }
        std::os::unix::fs::symlink(&real, &dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
    } else {
        fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let write = |name: &str, text: String| {
        let path = dir.join(name);
        fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))
    };
    write(
        "hosts",
        format!(
            "127.0.0.1\tlocalhost\n127.0.1.1\t{}\n::1\tlocalhost ip6-localhost ip6-loopback\n",
            node.name
        ),
    )?;
    write("hostname", format!("{}\n", node.name))?;
    write_resolv_conf(node, &node.dns, node.domain.as_deref(), "the lab file")
}

/// Writes the node's resolver settings. A node without DNS servers gets a
/// file with none, so nothing inside the lab falls back to the host's.
pub fn write_resolv_conf(
    node: &PlanNode,
    dns: &[Ipv4Addr],
    domain: Option<&str>,
    source: &str,
) -> Result<()> {
    let mut text = format!(
        "# labctl: DNS settings of node {}, from {source}\n",
        node.name
    );
    if let Some(domain) = domain {
        text.push_str(&format!("search {domain}\n"));
    }
    for server in dns {
        text.push_str(&format!("nameserver {server}\n"));
    }
    let path = node_etc_dir(&node.namespace).join("resolv.conf");
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, text).with_context(|| format!("cannot write {}", tmp.display()))?;
    fs::rename(&tmp, &path).with_context(|| format!("cannot replace {}", path.display()))
}

/// Removes the node's files (its link, as root: the store goes whole).
pub fn remove_node_files(namespace: &str) -> Result<()> {
    let dir = node_etc_dir(namespace);
    // As root it is a link: one unlink, without looking first (a 1000-node
    // `down` does this 1000 times). A directory (rootless) goes whole.
    let removed = match fs::remove_file(&dir) {
        Err(e) if e.kind() == ErrorKind::IsADirectory => fs::remove_dir_all(&dir),
        other => other,
    };
    match removed {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot remove {}", dir.display())),
    }
}

/// The host's trust store, which a node's `ssl` directory replaces.
const HOST_SSL: &str = "/etc/ssl";
/// The bundle Debian's tools read (curl, OpenSSL's default CA file,
/// Python's `ssl`, GnuTLS' system trust, swaks, s-nail, mutt, fetchmail).
const BUNDLE: &str = "certs/ca-certificates.crt";

/// Gives each node (by namespace) an `/etc/ssl` that trusts the lab's CA
/// as well as the host's: `/etc/netns/NS/ssl/` replaces `/etc/ssl` inside
/// the node (`ip netns exec` and `labctl exec` bind it over), so it holds
/// the host's `openssl.cnf` and certificate links as they are, the host's
/// bundle with the lab CA appended, and the lab CA on its own
/// (`certs/labctl-LAB-ca.pem`).
pub fn install_ca<'a>(
    namespaces: impl Iterator<Item = &'a str>,
    lab: &str,
    ca_pem: &str,
) -> Result<()> {
    let host = Path::new(HOST_SSL);
    let host_bundle = fs::read_to_string(host.join(BUNDLE)).unwrap_or_default();
    let bundle = format!("{host_bundle}\n# labctl: the CA of lab {lab}\n{ca_pem}");
    let links: Vec<(std::ffi::OsString, PathBuf)> = fs::read_dir(host.join("certs"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| Some((entry.file_name(), fs::read_link(entry.path()).ok()?)))
        .collect();
    let config = fs::read(host.join("openssl.cnf")).ok();
    for namespace in namespaces {
        let ssl = node_etc_dir(namespace).join("ssl");
        let certs = ssl.join("certs");
        fs::create_dir_all(&certs).with_context(|| format!("cannot create {}", certs.display()))?;
        let write = |path: PathBuf, bytes: &[u8]| {
            fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))
        };
        if let Some(config) = &config {
            write(ssl.join("openssl.cnf"), config)?;
        }
        for (name, target) in &links {
            let link = certs.join(name);
            std::os::unix::fs::symlink(target, &link)
                .with_context(|| format!("cannot create {}", link.display()))?;
        }
        write(ssl.join(BUNDLE), bundle.as_bytes())?;
        write(
            certs.join(format!("labctl-{lab}-ca.pem")),
            ca_pem.as_bytes(),
        )?;
    }
    Ok(())
}
