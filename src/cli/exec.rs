//! `labctl exec LAB NODE -- CMD…` and `labctl shell LAB NODE`: run a command
//! inside a node the way `ip netns exec` does (`ops::exec` enters it), and
//! also under the node's hostname. The command replaces this process, so
//! its exit code is labctl's.
//!
//! Exit codes follow `docker exec`/`podman exec`, so a script can tell the
//! command's failure from labctl's: the command's own code; 125 when
//! labctl could not get there (no such lab or node, cannot enter the
//! namespace); 126 when the command cannot be executed; 127 when it is not
//! found.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, ExitCode};

use anyhow::Result;

use crate::ops;
use crate::ops::admin::require_admin;

/// labctl itself failed: the command never started.
pub const EXIT_LABCTL_FAILED: u8 = 125;
/// The command was found but cannot be executed.
pub const EXIT_CANNOT_EXECUTE: u8 = 126;
/// The command was not found.
pub const EXIT_NOT_FOUND: u8 = 127;

pub fn run(lab: &str, node: &str, command: &[String]) -> Result<ExitCode> {
    let node = match require_admin("exec").and_then(|()| ops::exec::enter(lab, node)) {
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
