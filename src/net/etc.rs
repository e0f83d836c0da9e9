//! Per-node files under /etc/netns/NAMESPACE/, which `labctl exec` (and
//! `ip netns exec`) bind-mount over /etc inside the node: its own
//! resolv.conf, hosts and hostname. Rootless, they live on the lab's
//! private tmpfs (`rootless::ns_dir`) instead of /etc/netns.

use std::fs;
use std::io::ErrorKind;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::lab::plan::PlanNode;

pub const ETC_NETNS: &str = "/etc/netns";

pub fn node_etc_dir(namespace: &str) -> PathBuf {
    match crate::rootless::ns_dir() {
        Some(dir) => dir.join("etc").join(namespace),
        None => Path::new(ETC_NETNS).join(namespace),
    }
}

pub fn write_node_files(node: &PlanNode) -> Result<()> {
    let dir = node_etc_dir(&node.namespace);
    fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
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

pub fn remove_node_files(namespace: &str) -> Result<()> {
    let dir = node_etc_dir(namespace);
    match fs::remove_dir_all(&dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot remove {}", dir.display())),
    }
}
