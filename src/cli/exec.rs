//! `labctl exec LAB NODE -- CMD…` and `labctl shell LAB NODE`: run a command
//! inside a node the way `ip netns exec` does — in the node's network
//! namespace, with its /etc/netns files mounted over /etc and its own /sys —
//! and also under the node's hostname. The command replaces this process, so
//! its exit code is labctl's.
//!
//! Exit codes follow `docker exec`/`podman exec`, so a script can tell the
//! command's failure from labctl's: the command's own code; 125 when
//! labctl could not get there (no such lab or node, cannot enter the
//! namespace); 126 when the command cannot be executed; 127 when it is not
//! found.

use std::ffi::OsStr;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sched::{CloneFlags, unshare};

use crate::lab::diagnostic::did_you_mean;
use crate::lab::plan::PlanNode;
use crate::lifecycle::require_admin;
use crate::net::{etc, netns};
use crate::state::LabDir;

/// labctl itself failed: the command never started.
pub const EXIT_LABCTL_FAILED: u8 = 125;
/// The command was found but cannot be executed.
pub const EXIT_CANNOT_EXECUTE: u8 = 126;
/// The command was not found.
pub const EXIT_NOT_FOUND: u8 = 127;

pub fn run(lab: &str, node: &str, command: &[String]) -> Result<ExitCode> {
    let node = match require_admin("exec")
        .and_then(|()| find_node(lab, node))
        .and_then(|node| enter_node(&node).map(|()| node))
    {
        Ok(node) => node,
        Err(e) => {
            eprintln!("error: {e:#}");
            return Ok(ExitCode::from(EXIT_LABCTL_FAILED));
        }
    };
    let error = Command::new(&command[0])
        .args(&command[1..])
        .env("LABCTL_LAB", lab)
        .env("LABCTL_NODE", &node.name)
        .exec();
    eprintln!(
        "labctl: cannot run `{}` in {}: {error}",
        crate::printable::line(&command[0]),
        node.name
    );
    Ok(ExitCode::from(
        if error.kind() == std::io::ErrorKind::NotFound {
            EXIT_NOT_FOUND
        } else {
            EXIT_CANNOT_EXECUTE
        },
    ))
}

pub fn shell(lab: &str, node: &str) -> Result<ExitCode> {
    let shell = std::env::var("SHELL")
        .ok()
        .filter(|s| Path::new(s).exists())
        .unwrap_or_else(|| "/bin/sh".to_string());
    eprintln!("labctl: shell on {node} in lab {lab} (exit to leave)");
    run(lab, node, &[shell])
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
    // /sys shows the interfaces of the namespace that mounts it.
    umount2("/sys", MntFlags::MNT_DETACH).context("cannot unmount /sys")?;
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
