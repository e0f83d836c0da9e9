//! `labctl test FILE [--checks FILE] [--json] [--junit FILE]`: what CI
//! runs. Builds the lab fresh, waits until its services are ready, runs
//! the checks, and always tears the lab down again — after a failure and
//! on Ctrl-C too. Exit codes as `check`: 0, 1, or 2 when the lab cannot be
//! built or a file is invalid.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;
use tokio::signal::unix::{SignalKind, signal};

use super::check::{Output, checks_from_file, emit, grade, invalid};
use super::up::{Leases, up_checked};
use super::validate::print_report;
use crate::checks::context::LabContext;
use crate::checks::load::load_lab_file;
use crate::checks::report::Timings;
use crate::lifecycle::teardown;
use crate::state::LabDir;

/// Exit code after Ctrl-C (128 + SIGINT), as shells report it.
const EXIT_INTERRUPTED: u8 = 130;

pub fn run(
    file: &Path,
    name: Option<&str>,
    checks_file: Option<&Path>,
    output: &Output,
) -> Result<ExitCode> {
    let (mut checked, lab_checks) = match load_lab_file(file) {
        Ok(loaded) => (loaded.checked, loaded.checks),
        Err(e) => return Ok(invalid(&e)),
    };
    if let Some(Err(e)) = name.map(|name| checked.rename(name)) {
        return Ok(invalid(&e));
    }
    let Some(plan) = &checked.plan else {
        return Ok(print_report(&checked));
    };
    // Every file is checked before anything is built.
    let checks = match checks_file {
        Some(path) => match checks_from_file(path, plan) {
            Ok(checks) => checks,
            Err(e) => return Ok(invalid(&e)),
        },
        None if lab_checks.is_empty() => {
            return Ok(invalid(&anyhow::anyhow!(
                "{} has no `checks:`: add some, or give a checks file with --checks FILE",
                file.display()
            )));
        }
        None => lab_checks,
    };
    let up = match up_checked(&checked, file, Leases::Reported) {
        Ok(up) => up,
        Err(e) => return Ok(invalid(&e)),
    };
    let lab = up.plan.lab.clone();
    let graded = run_checks_until_interrupted(
        &lab,
        checks,
        Timings {
            build: up.build,
            ready: up.ready,
            ..Timings::default()
        },
    );
    let tearing = Instant::now();
    let dir = LabDir::of(&lab)?;
    let record = dir.read_record().ok();
    let removed = teardown(&dir, record.as_ref().map(|r| &r.plan).or(Some(&up.plan)));
    let teardown_time = tearing.elapsed();
    if let Err(e) = removed {
        eprintln!("error: {}", crate::printable::lines(&format!("{e:#}")));
    }
    match graded {
        Graded::Interrupted => {
            eprintln!("interrupted: lab {lab} was torn down");
            Ok(ExitCode::from(EXIT_INTERRUPTED))
        }
        Graded::Failed(e) => Ok(invalid(&e)),
        Graded::Done(mut report) => {
            if let Some(t) = report.timings.as_mut() {
                t.teardown = teardown_time;
            }
            emit(&report, output)
        }
    }
}

enum Graded {
    Done(Box<crate::checks::report::Report>),
    Failed(anyhow::Error),
    Interrupted,
}

/// Runs the checks on their own thread while this one waits for Ctrl-C,
/// SIGTERM or SIGHUP, so the lab is torn down whatever happens.
fn run_checks_until_interrupted(
    lab: &str,
    checks: Vec<crate::checks::spec::CheckSpec>,
    timings: Timings,
) -> Graded {
    let lab = lab.to_string();
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let result = LabContext::load(&lab).map(|ctx| {
            let clock = Instant::now();
            let mut report = grade(&ctx, checks, None);
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
        let mut stops = [
            SignalKind::interrupt(),
            SignalKind::terminate(),
            SignalKind::hangup(),
        ]
        .map(|kind| signal(kind).expect("signal handlers can be installed"));
        let [interrupt, terminate, hangup] = &mut stops;
        tokio::select! {
            _ = interrupt.recv() => Graded::Interrupted,
            _ = terminate.recv() => Graded::Interrupted,
            _ = hangup.recv() => Graded::Interrupted,
            done = done_rx => match done {
                Ok(Ok(report)) => Graded::Done(Box::new(report)),
                Ok(Err(e)) => Graded::Failed(e),
                Err(_) => Graded::Failed(anyhow::anyhow!("the checks stopped unexpectedly")),
            },
        }
    })
}
