//! Per-node files under /etc/netns/NAMESPACE/, which `labctl exec` (and
//! `ip netns exec`) bind-mount over /etc inside the node: its own
//! resolv.conf, hosts and hostname.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::lab::plan::PlanNode;

pub const ETC_NETNS: &str = "/etc/netns";

pub fn node_etc_dir(namespace: &str) -> PathBuf {
    Path::new(ETC_NETNS).join(namespace)
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
    write("resolv.conf", resolv_conf(node))?;
    Ok(())
}

/// The node's resolver settings. A node without DNS servers gets a file with
/// none, so nothing inside the lab falls back to the host's resolver.
pub fn resolv_conf(node: &PlanNode) -> String {
    let mut text = format!("# labctl: DNS settings of node {}\n", node.name);
    if let Some(domain) = &node.domain {
        text.push_str(&format!("search {domain}\n"));
    }
    for server in &node.dns {
        text.push_str(&format!("nameserver {server}\n"));
    }
    text
}

pub fn remove_node_files(namespace: &str) -> Result<()> {
    let dir = node_etc_dir(namespace);
    match fs::remove_dir_all(&dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot remove {}", dir.display())),
    }
}
