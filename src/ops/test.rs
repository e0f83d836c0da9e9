//! `test`: what CI runs. Builds the lab fresh, waits until its services
//! are ready, runs the checks, and always tears the lab down again — after
//! a failure and when cancelled too.

use std::path::Path;
use std::time::Instant;

use anyhow::Result;

use super::cancel::Cancel;
use super::capture::Recording;
use super::check::grade;
use super::lifecycle::teardown;
use super::up::{Leases, up_observed};
use crate::capture::session::Stats;
use crate::checks::context::LabContext;
use crate::checks::report::{Report, Timings};
use crate::checks::run_options::RunOptions;
use crate::checks::spec::CheckSpec;
use crate::lab::plan::Plan;
use crate::progress::Progress;
use crate::state::LabDir;

/// How the checks of a built lab ended.
pub enum Graded {
    /// The report, its timings complete (teardown included).
    Done(Box<Report>),
    /// The checks could not run.
    Failed(anyhow::Error),
    /// Cancelled while the checks ran.
    Interrupted,
}

/// A lab built, checked and torn down.
pub struct Tested {
    pub lab: String,
    pub graded: Graded,
    /// Whether the teardown removed everything.
    pub teardown: Result<()>,
    /// With a capture file: what the capture saw, or why it failed.
    pub capture: Option<Result<Stats>>,
}

/// Builds the lab `plan` describes (from `file`), runs `checks` and tears it
/// down. An error means the lab could not be built (and nothing was left).
pub fn test(
    plan: Plan,
    file: &Path,
    checks: Vec<CheckSpec>,
    options: &RunOptions,
    progress: &Progress,
    cancel: &Cancel,
) -> Result<Tested> {
    test_recorded(plan, file, checks, options, progress, cancel, None)
}

/// `test`, recording every interface into the pcapng file `capture` from
/// the moment the network is built (before any service starts) until the
/// checks end; the report names the file.
pub fn test_recorded(
    plan: Plan,
    file: &Path,
    checks: Vec<CheckSpec>,
    options: &RunOptions,
    progress: &Progress,
    cancel: &Cancel,
    capture: Option<&Path>,
) -> Result<Tested> {
    let mut recording: Option<Recording> = None;
    let built = up_observed(
        plan,
        file,
        Leases::Reported,
        progress,
        cancel,
        &mut |plan| {
            if let Some(path) = capture {
                recording = Some(Recording::start(&plan.lab, path)?);
            }
            Ok(())
        },
    )?;
    let lab = built.plan.lab.clone();
    let timings = Timings {
        build: built.build,
        ready: built.ready,
        ..Timings::default()
    };
    let mut graded = run_checks_until_cancelled(&lab, checks, options, timings, cancel);
    // The file is complete when `capture` is; the sockets close while the
    // lab is torn down.
    let mut closing = None;
    let capture = recording.map(|recording| {
        if let Graded::Done(report) = &mut graded {
            report.capture = Some(recording.note());
        }
        let (stats, sockets) = recording.finish_closing_later();
        closing = Some(sockets);
        stats
    });
    let tearing = Instant::now();
    let removed = LabDir::of(&lab).and_then(|dir| {
        let record = dir.read_record().ok();
        teardown(&dir, record.as_ref().map(|r| &r.plan).or(Some(&built.plan)))
    });
    drop(closing);
    if let Graded::Done(report) = &mut graded
        && let Some(t) = report.timings.as_mut()
    {
        t.teardown = tearing.elapsed();
    }
    Ok(Tested {
        lab,
        graded,
        teardown: removed,
        capture,
    })
}

/// Runs the checks on their own thread while this one waits for a cancel,
/// so the lab is torn down whatever happens.
fn run_checks_until_cancelled(
    lab: &str,
    checks: Vec<CheckSpec>,
    options: &RunOptions,
    timings: Timings,
    cancel: &Cancel,
) -> Graded {
    let lab = lab.to_string();
    let options = *options;
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let result = LabContext::load(&lab).map(|ctx| {
            let clock = Instant::now();
            let mut report = grade(&ctx, checks, None, &options);
            report.timings = Some(Timings {
                checks: clock.elapsed(),
                ..timings
            });
            report
        });
        let _ = done_tx.send(result);
    });
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return Graded::Failed(e.into()),
    };
    runtime.block_on(async {
        tokio::select! {
            biased;
            _ = cancel.cancelled() => Graded::Interrupted,
            done = done_rx => match done {
                Ok(Ok(report)) => Graded::Done(Box::new(report)),
                Ok(Err(e)) => Graded::Failed(e),
                Err(_) => Graded::Failed(anyhow::anyhow!("the checks stopped unexpectedly")),
            },
        }
    })
}
