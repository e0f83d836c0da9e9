//! `exec` and `shell`: move this process into a node the way `ip netns
//! exec` does — the node's network namespace, a private mount namespace
//! with its /etc/netns files over /etc and its own /sys — and also under
//! the node's hostname. The caller then replaces itself with the command.

use std::ffi::OsStr;
use std::path::Path;

use anyhow::{Context, Result, bail};
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sched::{CloneFlags, unshare};

use crate::lab::diagnostic::did_you_mean;
use crate::lab::plan::PlanNode;
use crate::net::{etc, netns};
use crate::state::LabDir;

/// Moves this (single-threaded) process into node `name` of the running
/// lab `lab`; returns the node.
pub fn enter(lab: &str, name: &str) -> Result<PlanNode> {
    let node = find_node(lab, name)?;
    enter_node(&node)?;
    Ok(node)
}

fn find_node(lab: &str, name: &str) -> Result<PlanNode> {
    let record = LabDir::of(lab)?.read_record()?;
    if let Some(node) = record.plan.node(name) {
        return Ok(node.clone());
    }
    let names: Vec<&str> = record.plan.nodes.iter().map(|n| n.name.as_str()).collect();
    match did_you_mean(name, names.iter().copied()) {
        Some(close) => bail!("lab {lab} has no node `{name}`; did you mean `{close}`?"),
        None => bail!(
            "lab {lab} has no node `{name}`; its nodes are {}",
            names.join(", ")
        ),
    }
}

/// Moves this (single-threaded) process into the node: network namespace,
/// a private mount namespace with the node's /etc files and /sys, and its
/// own hostname.
fn enter_node(node: &PlanNode) -> Result<()> {
    netns::enter(&node.namespace)?;
    unshare(CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWUTS)
        .context("cannot create a mount namespace for the command")?;
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_SLAVE | MsFlags::MS_REC,
        None::<&str>,
    )
    .context("cannot make / a slave mount")?;
    // /sys shows the interfaces of the namespace that mounts it. Rootless,
    // the host's /sys is locked in place (a user namespace may not uncover
    // what lies under a mount it inherited), so the node's goes on top.
    if let Err(e) = umount2("/sys", MntFlags::MNT_DETACH)
        && !crate::rootless::active()
    {
        return Err(e).context("cannot unmount /sys");
    }
    mount(
        Some(node.namespace.as_str()),
        "/sys",
        Some("sysfs"),
        MsFlags::empty(),
        None::<&str>,
    )
    .context("cannot mount /sys for the node")?;
    let dir = etc::node_etc_dir(&node.namespace);
    for entry in
        std::fs::read_dir(&dir).with_context(|| format!("cannot read {}", dir.display()))?
    {
        let entry = entry?;
        let target = Path::new("/etc").join(entry.file_name());
        if target.exists() {
            mount(
                Some(&entry.path()),
                &target,
                None::<&OsStr>,
                MsFlags::MS_BIND,
                None::<&str>,
            )
            .with_context(|| {
                format!(
                    "cannot bind {} over {}",
                    entry.path().display(),
                    target.display()
                )
            })?;
        }
    }
    nix::unistd::sethostname(&node.name).context("cannot set the node's hostname")?;
    Ok(())
}
