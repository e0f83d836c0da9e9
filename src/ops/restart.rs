//! `restart`: start a lab's daemon again after it crashed or was killed,
//! on the network that is still there. Mailboxes, the relay queue and the
//! DHCP leases live in the state dir and are picked up as they are (a
//! client gets its address back); `down` then `up` would start from empty
//! ones. Refused while a daemon of the lab runs.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::admin::require_admin;
use super::up::{Leases, start_daemon_shown, wait_for_leases};
use crate::daemon::control::{self, Request};
use crate::daemon::lock;
use crate::daemon::state::ClientReport;
use crate::net::netns;
use crate::progress::Progress;
use crate::state::LabDir;

/// A daemon started again: its pid (if it said), how long it took, and
/// the DHCP clients' leases.
pub struct Restarted {
    pub pid: Option<u32>,
    pub took: Duration,
    pub leases: BTreeMap<String, ClientReport>,
}

pub fn restart(name: &str, progress: &Progress) -> Result<Restarted> {
    require_admin("restart")?;
    let dir = LabDir::of(name)?;
    let record = dir.read_record()?;
    if lock::daemon_running(&dir)? {
        bail!(
            "the daemon of lab {name} is running{}: there is nothing to restart\n  \
             (to start the lab over with empty mailboxes: `labctl down {name}`, then `labctl up {}`)",
            lock::described_holder(&dir),
            record.file
        );
    }
    let missing: Vec<&str> = record
        .plan
        .nodes
        .iter()
        .filter(|n| !netns::exists(&n.namespace))
        .map(|n| n.name.as_str())
        .collect();
    if !missing.is_empty() {
        bail!(
            "lab {name} cannot be restarted: the namespaces of {} are gone (removed by hand, or the machine rebooted)\n  \
             fix: `labctl down {name}`, then `labctl up {}` (mail and leases start empty)",
            missing.join(", "),
            record.file
        );
    }
    let started = Instant::now();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let leases = runtime.block_on(async {
        start_daemon_shown(&dir, progress).await?;
        wait_for_leases(&record.plan, &dir, progress, Leases::Reported).await
    })?;
    let pid = control::call(&dir.socket_path(), &Request::Ping)
        .ok()
        .map(|reply| reply.pid);
    Ok(Restarted {
        pid,
        took: started.elapsed(),
        leases,
    })
}
