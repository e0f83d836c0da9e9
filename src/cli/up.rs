//! `labctl up FILE`: validate, plan, build, start the daemon, print a summary.
//! Any failure (or Ctrl-C) rolls everything back.

use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use futures::FutureExt;
use tokio::signal::unix::{SignalKind, signal};

use super::validate::print_report;
use crate::lab::load::check_file;
use crate::lab::plan::{Plan, plan};
use crate::lifecycle::{require_admin, start_daemon, teardown};
use crate::net::build::build;
use crate::progress::Progress;
use crate::state::{LabDir, LabRecord};

/// How long the daemon may take to answer after it starts.
const DAEMON_READY: Duration = Duration::from_secs(15);

pub fn run(file: &Path) -> Result<ExitCode> {
    let checked = check_file(file)?;
    let Some((_, topology)) = &checked.valid else {
        return Ok(print_report(&checked));
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
        let from = LabDir::of(&plan.lab)
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
    let progress = Progress::new();
    progress.println(&format!(
        "building lab {} ({} nodes, {} links)",
        record.plan.lab,
        record.plan.nodes.len(),
        record.plan.links.len()
    ));
    match bring_up(&record.plan, &dir, &progress) {
        Ok(()) => {
            print_summary(&record.plan, started.elapsed());
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            progress.println("failed: removing everything this `up` made");
            teardown(&dir, Some(&record.plan)).context("rollback failed too")?;
            Err(e.context(format!(
                "lab `{}` could not be built; nothing was left behind",
                record.plan.lab
            )))
        }
    }
}

fn bring_up(plan: &Plan, dir: &LabDir, progress: &Progress) -> Result<()> {
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
            built = build(plan, progress) => built?,
        }
        let daemon = progress.phase("daemon", 1);
        start_daemon(dir, DAEMON_READY)?;
        daemon.inc();
        daemon.finish();
        if stops.iter_mut().any(|s| s.recv().now_or_never().is_some()) {
            bail!("interrupted");
        }
        Ok(())
    })
}

/// The most nodes the summary lists before pointing at `labctl status`.
const SUMMARY_NODES: usize = 40;

fn print_summary(plan: &Plan, took: Duration) {
    println!(
        "lab {} is up: {} nodes, {} links in {:.2} s",
        plan.lab,
        plan.nodes.len(),
        plan.links.len(),
        took.as_secs_f64()
    );
    let width = plan
        .nodes
        .iter()
        .map(|n| n.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    println!("  {:<width$}  {:<6}  ADDRESSES", "NODE", "KIND");
    for node in plan.nodes.iter().take(SUMMARY_NODES) {
        let addresses: Vec<String> = node
            .interfaces
            .iter()
            .filter_map(|i| match (&i.address, i.dhcp) {
                (Some(net), _) => Some(format!("{} {net}", i.name)),
                (None, true) => Some(format!("{} dhcp (no client yet)", i.name)),
                _ => None,
            })
            .collect();
        let detail = if node.interfaces.iter().all(|i| i.bridge_port) {
            format!("{} ports", node.interfaces.len())
        } else {
            addresses.join(", ")
        };
        println!(
            "  {:<width$}  {:<6}  {detail}",
            node.name,
            node.kind.as_str()
        );
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
