//! `labctl restart LAB|FILE`: start a lab's daemon again after it crashed or
//! was killed, on the network that is still there. Mailboxes, the relay
//! queue and the DHCP leases live in the state dir and are picked up as
//! they are (a client gets its address back); `down` then `up` would start
//! from empty ones. Refused while a daemon of the lab runs.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use super::up::{DAEMON_READY, Leases, wait_for_leases};
use crate::daemon::control::{self, Request};
use crate::daemon::lock;
use crate::daemon::state::ClientReport;
use crate::lifecycle::{require_admin, start_daemon};
use crate::net::netns;
use crate::printable::line;
use crate::progress::Progress;
use crate::state::LabDir;

pub fn run(target: &str) -> Result<ExitCode> {
    let name = super::down::lab_name(target)?;
    require_admin("restart")?;
    let dir = LabDir::of(&name)?;
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
    let progress = Progress::new();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let leases = runtime.block_on(async {
        let daemon = progress.phase("daemon", 1);
        start_daemon(&dir, DAEMON_READY).await?;
        daemon.inc();
        daemon.finish();
        wait_for_leases(&record.plan, &dir, &progress, Leases::Reported).await
    })?;
    let pid = control::call(&dir.socket_path(), &Request::Ping)
        .map(|reply| format!(" (pid {})", reply.pid))
        .unwrap_or_default();
    println!(
        "lab {name}: daemon restarted{pid} in {:.2} s; mailboxes, the relay queue and DHCP leases were kept",
        started.elapsed().as_secs_f64()
    );
    print_leases(&leases);
    Ok(ExitCode::SUCCESS)
}

fn print_leases(leases: &BTreeMap<String, ClientReport>) {
    for (interface, client) in leases {
        match (&client.address, &client.reason) {
            (Some(address), _) => println!(
                "  {interface} {} (dhcp from {})",
                line(address),
                line(client.server.as_deref().unwrap_or("?"))
            ),
            (None, Some(reason)) => println!("  {interface} NO LEASE: {}", line(reason)),
            (None, None) => println!("  {interface} {}", client.state),
        }
    }
}
