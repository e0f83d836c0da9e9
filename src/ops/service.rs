//! `service`: one server of a running lab (DHCP, DNS, mail, web) stopped or
//! started again by the lab daemon, for fault-finding exercises: checks
//! then diagnose the server as stopped.

use anyhow::{Context, Result, bail};

use crate::daemon::control::{self, Request};
use crate::state::LabDir;

/// Stops (`start` false) or starts `service` of `node`; true when that
/// changed something (false: it was stopped, or running, already).
pub fn switch(lab: &str, node: &str, service: &str, start: bool) -> Result<bool> {
    crate::ops::admin::require_admin("service")?;
    let dir = LabDir::of(lab)?;
    let record = dir
        .read_record()
        .with_context(|| format!("lab {lab} is not running"))?;
    if record.plan.node(node).is_none() {
        bail!("lab {lab} has no node {node} (`labctl status {lab}` lists them)");
    }
    let reply = control::call(
        &dir.socket_path(),
        &Request::Service {
            node: node.to_string(),
            service: service.to_string(),
            start,
        },
    )
    .with_context(|| {
        format!("the daemon of lab {lab} does not answer (`labctl restart {lab}` starts it again)")
    })?;
    if let Some(error) = reply.error {
        bail!("{error}");
    }
    Ok(!reply.changes.is_empty())
}
