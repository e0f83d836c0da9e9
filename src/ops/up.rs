//! `up`: build a planned lab — claim its state dir, write its record,
//! build the network, start the daemon, wait for the DHCP leases — and roll
//! everything back on failure or when cancelled. Shared by `up` and `test`.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};

use super::admin::require_admin;
use super::cancel::Cancel;
use super::lifecycle::{start_daemon, teardown};
use crate::checks::probes::lease_path::lease_blocker;
use crate::checks::probes::network::{live_network, read_live};
use crate::daemon::control::{self, Request};
use crate::daemon::state::{ClientReport, ClientStatus};
use crate::lab::plan::Plan;
use crate::net::build::build;
use crate::net::{etc, netns};
use crate::plural::count;
use crate::progress::Progress;
use crate::state::{LabDir, LabRecord};

/// How long the daemon may take to answer after it starts.
pub(super) const DAEMON_READY: Duration = Duration::from_secs(15);

/// Whether `up` fails when a DHCP client gets no lease (`up`), or goes on
/// so the checks can report it (`test`: a missing relay is a lab's fault
/// to grade, not a reason to stop).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Leases {
    Required,
    Reported,
}

/// A lab that `up` built: its plan, its DHCP leases, and how long
/// building and getting its services ready took.
pub struct Up {
    pub plan: Plan,
    pub leases: BTreeMap<String, ClientReport>,
    pub took: Duration,
    pub build: Duration,
    pub ready: Duration,
}

/// Builds the lab `plan` describes (planned from `file`, recorded as its
/// source); rolls everything back on failure or when `cancel` fires.
pub fn up(
    plan: Plan,
    file: &Path,
    leases: Leases,
    progress: &Progress,
    cancel: &Cancel,
) -> Result<Up> {
    up_observed(plan, file, leases, progress, cancel, &mut |_| Ok(()))
}

/// Called once the network is built, before the daemon starts (so a
/// capture started there sees the services' first packets: DHCP, ARP).
/// An error rolls the lab back like any other.
pub type OnBuilt<'a> = &'a mut dyn FnMut(&Plan) -> Result<()>;

/// `up`, calling `on_built` between building the network and starting
/// the daemon.
pub fn up_observed(
    plan: Plan,
    file: &Path,
    leases: Leases,
    progress: &Progress,
    cancel: &Cancel,
    on_built: OnBuilt<'_>,
) -> Result<Up> {
    require_admin("up")?;
    super::open_files::allow_for(crate::net::build::descriptors_needed(&plan))?;
    let started = Instant::now();
    // Keys are made per `up`, before the plan is recorded: the daemon signs
    // and the lab's DNS publishes from the same record.
    let plan = crate::lab::dkim::complete(plan)?;
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
    progress.println(&format!(
        "building lab {} ({}, {})",
        record.plan.lab,
        count(record.plan.nodes.len(), "node"),
        count(record.plan.links.len(), "link")
    ));
    match bring_up(&record.plan, &dir, progress, leases, cancel, on_built) {
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

/// Builds the lab and starts its daemon, until done or cancelled; returns
/// the DHCP clients' leases and how long building the network took.
fn bring_up(
    plan: &Plan,
    dir: &LabDir,
    progress: &Progress,
    leases: Leases,
    cancel: &Cancel,
    on_built: OnBuilt<'_>,
) -> Result<(BTreeMap<String, ClientReport>, Duration)> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        // A cancel drops the steps at their next await point.
        tokio::select! {
            biased;
            why = cancel.cancelled() => bail!("{why}"),
            ready = steps(plan, dir, progress, leases, on_built) => ready,
        }
    })
}

/// Every step of `up` after the plan, in order.
async fn steps(
    plan: &Plan,
    dir: &LabDir,
    progress: &Progress,
    leases: Leases,
    on_built: OnBuilt<'_>,
) -> Result<(BTreeMap<String, ClientReport>, Duration)> {
    let building = Instant::now();
    build(plan, &dir.dir.join(etc::STORE), progress).await?;
    super::tls::prepare(plan, dir)?;
    let built = building.elapsed();
    on_built(plan)?;
    start_daemon_shown(dir, progress).await?;
    Ok((wait_for_leases(plan, dir, progress, leases).await?, built))
}

/// Starts the lab's daemon as a progress phase of its own.
pub(super) async fn start_daemon_shown(dir: &LabDir, progress: &Progress) -> Result<()> {
    let daemon = progress.phase("daemon", 1);
    start_daemon(dir, DAEMON_READY).await?;
    daemon.inc();
    daemon.finish();
    Ok(())
}

/// How long `up` waits for every DHCP interface to get a lease; a client
/// reports failure after 4 DISCOVERs (7.5 s) well before this.
const LEASES_READY: Duration = Duration::from_secs(30);

/// The `dhcp` interfaces no lease can reach, by `node/iface`, with the
/// reason — from the plan and the routers' tables, so `up` does not wait
/// for four DISCOVERs to go unanswered.
fn leases_that_cannot_come(plan: &Plan) -> BTreeMap<String, String> {
    let Ok(live) = read_live(plan) else {
        return BTreeMap::new();
    };
    let net = live_network(plan, &live);
    let mut doomed = BTreeMap::new();
    for (n, node) in plan.nodes.iter().enumerate() {
        for (i, iface) in node.interfaces.iter().enumerate() {
            if let Some(blocker) = iface.dhcp.then(|| lease_blocker(&net, (n, i))).flatten() {
                doomed.insert(format!("{}/{}", node.name, iface.name), blocker.reason);
            }
        }
    }
    doomed
}

/// Waits until every `dhcp` interface has a lease, or (with
/// `Leases::Reported`) until every one has a lease or cannot get one; fails
/// with the reason when one cannot (with `Leases::Required`).
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
    let owned = plan.clone();
    let doomed = tokio::task::spawn_blocking(move || leases_that_cannot_come(&owned))
        .await
        .unwrap_or_default();
    let mut counted = 0;
    loop {
        let reply = control::call(&dir.socket_path(), &Request::Ping)?;
        let failed: Vec<String> = reply
            .dhcp_clients
            .iter()
            .filter_map(|(key, c)| {
                let reason = doomed.get(key).or(c.reason.as_ref());
                (c.state != ClientStatus::Bound)
                    .then_some(reason)
                    .flatten()
                    .map(|r| format!("{key}: {r}"))
            })
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
                doomed.contains_key(*k)
                    || reply
                        .dhcp_clients
                        .get(*k)
                        .is_some_and(|c| c.state == ClientStatus::Bound || c.reason.is_some())
            })
            .count();
        if leases == Leases::Reported && settled == wanted.len() {
            let failed = crate::printable::line(&failed.join("; ")).into_owned();
            progress.println(&format!("no DHCP lease for: {failed}"));
            // A client still asking for a lease that cannot come is reported
            // with the reason it cannot.
            let mut clients = reply.dhcp_clients;
            for (key, why) in &doomed {
                if let Some(client) = clients.get_mut(key)
                    && client.state != ClientStatus::Bound
                {
                    client.reason.get_or_insert_with(|| why.clone());
                }
            }
            return Ok(clients);
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
