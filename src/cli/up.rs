//! `labctl up FILE`: validate, plan, build, start the daemon, print a summary.
//! Any failure (or Ctrl-C) rolls everything back.

use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use tokio::signal::unix::{SignalKind, signal};

use super::validate::print_report;
use crate::lab::load::{Checked, check_file};
use crate::lab::plan::{Plan, PlanNode, plan};
use crate::lab::zones::ResolverRole;
use crate::plural::count;
use std::collections::BTreeMap;

use crate::daemon::control::{self, Request};
use crate::daemon::state::{ClientReport, ClientStatus};
use crate::lifecycle::{require_admin, start_daemon, teardown};
use crate::net::build::build;
use crate::net::{etc, netns};
use crate::printable::line;
use crate::progress::Progress;
use crate::state::{LabDir, LabRecord};

/// How long the daemon may take to answer after it starts.
pub(super) const DAEMON_READY: Duration = Duration::from_secs(15);

pub fn run(file: &Path, name: Option<&str>) -> Result<ExitCode> {
    let mut checked = check_file(file)?;
    if checked.valid.is_none() {
        return Ok(print_report(&checked));
    }
    if let Some(name) = name {
        checked.rename(name)?;
    }
    let up = up_checked(&checked, file, Leases::Required)?;
    print_summary(&up.plan, &up.leases, up.took);
    Ok(ExitCode::SUCCESS)
}

/// Whether `up` fails when a DHCP client gets no lease (`up`), or goes on
/// so the checks can report it (`test`: a missing relay is a lab's fault
/// to grade, not a reason to stop).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Leases {
    Required,
    Reported,
}

/// A lab that `up_checked` built: its plan, its DHCP leases, and how long
/// building and getting its services ready took.
pub struct Up {
    pub plan: Plan,
    pub leases: BTreeMap<String, ClientReport>,
    pub took: Duration,
    pub build: Duration,
    pub ready: Duration,
}

/// Builds a valid, checked lab file (shared by `up` and `test`); rolls
/// everything back on failure or Ctrl-C.
pub fn up_checked(checked: &Checked, file: &Path, leases: Leases) -> Result<Up> {
    let Some((_, topology)) = &checked.valid else {
        bail!("{} is not a valid lab file", file.display());
    };
    if !checked.diagnostics.is_empty() {
        let report = crate::lab::diagnostic::Report {
            source: &checked.source,
            diagnostics: checked.diagnostics.clone(),
        };
        eprintln!("{report}");
    }
    require_admin("up")?;
    let plan = plan(topology);
    let started = Instant::now();
    let Some(dir) = LabDir::claim(&plan.lab)? else {
        let from = LabDir::of(&plan.lab)?
            .read_record()
            .map(|r| format!(" (from {})", r.file))
            .unwrap_or_default();
        bail!(
            "lab `{}` is already up{from}\n  fix: run `labctl down {}` first, then `labctl up` again",
            plan.lab,
            plan.lab
        );
    };
    let record = LabRecord {
        file: std::fs::canonicalize(file)
            .unwrap_or_else(|_| file.to_path_buf())
            .display()
            .to_string(),
        started: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs(),
        plan,
    };
    if let Err(e) = dir.write_record(&record) {
        let _ = dir.remove();
        return Err(e);
    }
    // Never build over (and so never roll back) something this lab did not make.
    let taken = record
        .plan
        .nodes
        .iter()
        .find(|n| netns::exists(&n.namespace) || etc::node_etc_dir(&n.namespace).exists());
    if let Some(node) = taken {
        dir.remove()?;
        bail!(
            "namespace {ns} (or /etc/netns/{ns}) already exists, but lab `{lab}` is not up: something else made it \
             (`ip netns add`, or this lab under another LABCTL_RUN_DIR)\n  fix: remove it, or rename the lab",
            ns = node.namespace,
            lab = record.plan.lab
        );
    }
    let progress = Progress::new();
    progress.println(&format!(
        "building lab {} ({}, {})",
        record.plan.lab,
        count(record.plan.nodes.len(), "node"),
        count(record.plan.links.len(), "link")
    ));
    match bring_up(&record.plan, &dir, &progress, leases) {
        Ok((leases, build)) => {
            let took = started.elapsed();
            Ok(Up {
                plan: record.plan,
                leases,
                took,
                build,
                ready: took.saturating_sub(build),
            })
        }
        Err(e) => {
            progress.println("failed: removing everything this `up` made");
            if let Err(rollback) = teardown(&dir, Some(&record.plan)) {
                return Err(e.context(format!(
                    "lab `{}` could not be built, and the rollback failed: {rollback:#}",
                    record.plan.lab
                )));
            }
            Err(e.context(format!(
                "lab `{}` could not be built; nothing was left behind",
                record.plan.lab
            )))
        }
    }
}

/// Builds the lab and starts its daemon; returns the DHCP clients' leases
/// and how long building the network took.
fn bring_up(
    plan: &Plan,
    dir: &LabDir,
    progress: &Progress,
    leases: Leases,
) -> Result<(BTreeMap<String, ClientReport>, Duration)> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        // Catch Ctrl-C, SIGTERM and a closed terminal before building, so
        // they roll back instead of killing `up` half-way.
        let mut stops = [
            SignalKind::interrupt(),
            SignalKind::terminate(),
            SignalKind::hangup(),
        ]
        .map(|kind| signal(kind).expect("signal handlers can be installed"));
        let [interrupt, terminate, hangup] = &mut stops;
        tokio::select! {
            biased;
            _ = interrupt.recv() => bail!("interrupted"),
            _ = terminate.recv() => bail!("terminated"),
            _ = hangup.recv() => bail!("the terminal went away"),
            ready = steps(plan, dir, progress, leases) => ready,
        }
    })
}

/// Every step of `up` after the plan, in order.
async fn steps(
    plan: &Plan,
    dir: &LabDir,
    progress: &Progress,
    leases: Leases,
) -> Result<(BTreeMap<String, ClientReport>, Duration)> {
    let building = Instant::now();
    build(plan, progress).await?;
    let built = building.elapsed();
    let daemon = progress.phase("daemon", 1);
    start_daemon(dir, DAEMON_READY).await?;
    daemon.inc();
    daemon.finish();
    Ok((wait_for_leases(plan, dir, progress, leases).await?, built))
}

/// How long `up` waits for every DHCP interface to get a lease; a client
/// reports failure after 4 DISCOVERs (7.5 s) well before this.
const LEASES_READY: Duration = Duration::from_secs(30);

/// Waits until every `dhcp` interface has a lease; fails with the client's
/// own diagnosis when one cannot get one.
pub(super) async fn wait_for_leases(
    plan: &Plan,
    dir: &LabDir,
    progress: &Progress,
    leases: Leases,
) -> Result<BTreeMap<String, ClientReport>> {
    let wanted: Vec<String> = plan
        .nodes
        .iter()
        .flat_map(|n| {
            n.interfaces
                .iter()
                .filter(|i| i.dhcp)
                .map(move |i| format!("{}/{}", n.name, i.name))
        })
        .collect();
    if wanted.is_empty() {
        return Ok(BTreeMap::new());
    }
    let phase = progress.phase("dhcp leases", wanted.len());
    let deadline = Instant::now() + LEASES_READY;
    let mut counted = 0;
    loop {
        let reply = control::call(&dir.socket_path(), &Request::Ping)?;
        let failed: Vec<String> = reply
            .dhcp_clients
            .iter()
            .filter_map(|(key, c)| c.reason.as_ref().map(|r| format!("{key}: {r}")))
            .collect();
        if !failed.is_empty() && leases == Leases::Required {
            bail!("{}", failed.join("\n"));
        }
        let bound = wanted
            .iter()
            .filter(|k| {
                reply
                    .dhcp_clients
                    .get(*k)
                    .is_some_and(|c| c.state == ClientStatus::Bound)
            })
            .count();
        for _ in counted..bound {
            phase.inc();
        }
        counted = bound;
        if bound == wanted.len() {
            phase.finish();
            return Ok(reply.dhcp_clients);
        }
        let settled = wanted
            .iter()
            .filter(|k| {
                reply
                    .dhcp_clients
                    .get(*k)
                    .is_some_and(|c| c.state == ClientStatus::Bound || c.reason.is_some())
            })
            .count();
        if leases == Leases::Reported && settled == wanted.len() {
            let failed = crate::printable::line(&failed.join("; ")).into_owned();
            progress.println(&format!("no DHCP lease for: {failed}"));
            return Ok(reply.dhcp_clients);
        }
        if Instant::now() > deadline {
            let missing: Vec<&String> = wanted
                .iter()
                .filter(|k| {
                    reply
                        .dhcp_clients
                        .get(*k)
                        .is_none_or(|c| c.state != ClientStatus::Bound)
                })
                .collect();
            bail!("no DHCP lease after {LEASES_READY:?} for {missing:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The most nodes the summary lists before pointing at `labctl status`.
const SUMMARY_NODES: usize = 40;

/// A node's addresses for the summary: static ones, leases, or its ports.
fn addresses_of(node: &PlanNode, leases: &BTreeMap<String, ClientReport>) -> String {
    if node.interfaces.iter().all(|i| i.bridge_port) {
        return count(node.interfaces.len(), "port");
    }
    let addresses: Vec<String> = node
        .interfaces
        .iter()
        .filter_map(|i| match (&i.address, i.dhcp) {
            (Some(net), _) => Some(format!("{} {net}", i.name)),
            (None, true) => {
                let lease = leases.get(&format!("{}/{}", node.name, i.name));
                let address = lease.and_then(|l| l.address.as_deref()).unwrap_or("?");
                let server = lease.and_then(|l| l.server.as_deref()).unwrap_or("?");
                let (address, server) = (line(address), line(server));
                Some(format!("{} {address} (dhcp from {server})", i.name))
            }
            _ => None,
        })
        .collect();
    addresses.join(", ")
}

/// What a node runs or relays, in a few words per service.
fn services_of(node: &PlanNode) -> Vec<String> {
    let mut services = Vec::new();
    if let Some(pools) = &node.dhcp_server {
        services.push(format!("dhcp ({})", count(pools.len(), "pool")));
    }
    let relays: Vec<String> = node
        .interfaces
        .iter()
        .filter_map(|i| i.dhcp_relay.map(|to| format!("{}→{to}", i.name)))
        .collect();
    if !relays.is_empty() {
        services.push(format!("dhcp relay {}", relays.join(" ")));
    }
    if let Some(dns) = &node.dns_server {
        let zones: Vec<&str> = dns
            .zones
            .iter()
            .map(|z| match z.origin.trim_end_matches('.') {
                "" => ".",
                origin => origin,
            })
            .collect();
        let mut text = format!("dns {}", zones.join(" "));
        match &dns.resolver {
            Some(ResolverRole::Forward { .. }) => text.push_str(" +forwarder"),
            Some(ResolverRole::Recursive { .. }) => text.push_str(" +resolver"),
            None => {}
        }
        services.push(text.trim_end().to_string());
    }
    if let Some(mail) = &node.mail {
        services.push(format!("mail {} (smtp pop3 imap)", mail.domains.join(" ")));
    }
    if node.agents.web.is_some() {
        services.push("web".into());
    }
    if let Some(account) = node.agents.mail.first() {
        services.push(format!("mail client {}", account.address));
    }
    services
}

fn print_summary(plan: &Plan, leases: &BTreeMap<String, ClientReport>, took: Duration) {
    println!(
        "lab {} is up: {}, {} in {:.2} s",
        plan.lab,
        count(plan.nodes.len(), "node"),
        count(plan.links.len(), "link"),
        took.as_secs_f64()
    );
    if let Some(description) = &plan.description {
        println!("  {description}");
    }
    let width = plan
        .nodes
        .iter()
        .map(|n| n.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let rows: Vec<(String, String)> = plan
        .nodes
        .iter()
        .take(SUMMARY_NODES)
        .map(|node| (addresses_of(node, leases), services_of(node).join(", ")))
        .collect();
    let address_width = rows.iter().map(|(a, _)| a.len()).max().unwrap_or(0).max(9);
    println!(
        "  {:<width$}  {:<6}  {:<address_width$}  SERVICES",
        "NODE", "KIND", "ADDRESSES"
    );
    for (node, (addresses, services)) in plan.nodes.iter().zip(&rows) {
        let line = format!(
            "  {:<width$}  {:<6}  {addresses:<address_width$}  {services}",
            node.name,
            node.kind.as_str()
        );
        println!("{}", line.trim_end());
    }
    if plan.nodes.len() > SUMMARY_NODES {
        println!(
            "  … and {} more: labctl status {}",
            plan.nodes.len() - SUMMARY_NODES,
            plan.lab
        );
    }
    if let Some(node) = plan.nodes.iter().find(|n| n.kind.is_end_device()) {
        println!("try: labctl exec {} {} -- ip addr", plan.lab, node.name);
    }
    println!("stop: labctl down {}", plan.lab);
}
