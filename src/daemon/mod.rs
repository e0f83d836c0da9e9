//! The lab daemon: one background process per running lab, started by `up`
//! and stopped by `down`. It hosts the lab's services (each node's services
//! run inside that node's namespace, `node.rs`), started through one seam
//! (`services.rs`: what the plan asks for, and how each kind starts), and
//! answers on its control socket (`control_server.rs`). Stopping fires the
//! services' shutdown signal and waits until they have drained.
//! Its log is `daemon.log` in the lab's state dir (`log.rs`).

pub mod apply;
pub mod context;
pub mod control;
pub mod control_server;
pub mod convergence;
pub mod dhcp;
pub mod dns;
pub mod impairments;
pub mod lock;
pub mod log;
pub mod mail;
pub mod node;
pub mod node_logs;
pub mod pidfile;
pub mod services;
pub mod state;
pub mod switchable;
pub mod tls;
pub mod web;
pub mod webmail;
pub mod wire;

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};

use crate::lab::plan::Plan;
use crate::net::netns;
use crate::services::node_log::NodeLog;
use crate::services::shutdown::ShutdownTrigger;
use crate::state::LabDir;
use context::NodeContext;
use node::NodeThread;
use pidfile::ProcessId;
use services::Phase;
use state::Shared;

pub fn run(lab: &str) -> Result<ExitCode> {
    log::init();
    let dir = LabDir::of(lab)?;
    // Everything the daemon writes (mail, queue, leases, logs, its pid and
    // socket) is root's alone: it holds the lab's mail and logins.
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
    // Before anything else: a second daemon must not touch the first one's
    // pid file, socket or ports.
    let _lock = lock::acquire(&dir)?;
    // One copy of the plan, shared (a lab of 10,000 nodes has a plan of
    // several megabytes).
    let plan = Arc::new(dir.read_record()?.plan);
    for node in &plan.nodes {
        if !netns::exists(&node.namespace) {
            anyhow::bail!(
                "namespace {} of node {} is missing",
                node.namespace,
                node.name
            );
        }
    }
    ProcessId::current()?.write(&dir.pid_path())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let shared = Arc::new(Shared::default());
    let shutdown = ShutdownTrigger::new();
    let logs = node_logs::open_all(&dir.dir, &plan)?;
    let mut switchable = switchable::Switchable::new(dir.dir.clone(), &shared, logs.clone());
    let threads = start_services(&dir, &plan, &shared, &shutdown, &logs, &mut switchable)?;
    let switchable = Arc::new(switchable);
    let _ = shared.switchable.set(switchable.clone());
    let _ = shared
        .convergence
        .set(convergence::start(plan.clone(), runtime.handle())?);
    let impairments = Arc::new(impairments::Impairments::new(
        plan.clone(),
        runtime.handle(),
    ));
    runtime
        .block_on(impairments.apply_planned())
        .context("cannot impair the lab's cables")?;
    let _ = shared.impairments.set(impairments.clone());
    let served = runtime.block_on(control_server::serve(&dir, &shared));
    // Every service stops accepting and drains its open sessions (bounded
    // by `listener::DRAIN_LIMIT`); the threads end when all have.
    shutdown.fire();
    switchable.stop_all();
    for thread in threads {
        let _ = thread.join();
    }
    for log in logs.values() {
        log.sync();
    }
    served?;
    tracing::info!("lab {lab}: daemon stopped");
    Ok(ExitCode::SUCCESS)
}

/// Starts every node's planned services, phase by phase (servers and
/// relays of all nodes before any client), one thread per node and phase.
fn start_services(
    dir: &LabDir,
    plan: &Plan,
    shared: &Arc<Shared>,
    shutdown: &ShutdownTrigger,
    logs: &BTreeMap<String, NodeLog>,
    switchable: &mut switchable::Switchable,
) -> Result<Vec<NodeThread>> {
    let mut threads = Vec::new();
    for phase in Phase::ALL {
        for node in &plan.nodes {
            // Servers that `labctl service` stops and starts run alone.
            let (alone, kinds): (Vec<_>, Vec<_>) = services::to_start(node, phase)
                .into_iter()
                .partition(|k| k.service_name().is_some());
            for kind in alone {
                switchable.start(node, kind)?;
            }
            if kinds.is_empty() {
                continue;
            }
            let context = NodeContext {
                node: node.clone(),
                state_dir: dir.dir.clone(),
                shared: shared.clone(),
                shutdown: shutdown.subscribe(),
                log: logs
                    .get(&node.name)
                    .cloned()
                    .unwrap_or_else(NodeLog::discard),
            };
            threads.push(node::start(context, kinds)?);
        }
    }
    Ok(threads)
}
