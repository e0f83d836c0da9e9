//! Runs checks concurrently — one OS thread per check, each stepping into
//! the namespaces it needs — and collects their outcomes in file order.
//! Checks that share something only one may use at a time (a mailbox) take
//! turns where they use it (`probes::mailbox`); everything else overlaps.
//! When the rubric has `wire` checks, every interface is captured while
//! the others run; the wire checks' own commands then run one at a time
//! (so each sees only its own traffic), and the wire checks are graded
//! last, on that capture.

use std::time::Instant;

use super::context::LabContext;
use super::kinds::Probe;
use super::kinds::wire::{During, Wire};
use super::outcome::{Diagnosis, Outcome};
use super::probes::wire::{Observed, Recorder, Window};
use super::run_options::RunOptions;
use super::spec::CheckSpec;

/// One check and what became of it.
pub struct CheckResult {
    pub spec: CheckSpec,
    pub outcome: Outcome,
}

pub fn run_all(ctx: &LabContext, checks: Vec<CheckSpec>, options: &RunOptions) -> Vec<CheckResult> {
    if !checks.iter().any(|c| matches!(c.probe, Probe::Wire(_))) {
        return run_concurrently(ctx, checks, options)
            .into_iter()
            .map(|(result, _)| result)
            .collect();
    }
    let (wires, others): (Vec<_>, Vec<_>) = checks
        .into_iter()
        .enumerate()
        .partition(|(_, c)| matches!(c.probe, Probe::Wire(_)));
    let recorder = Recorder::start(ctx);
    let (order, others): (Vec<usize>, Vec<CheckSpec>) = others.into_iter().unzip();
    let ran = run_concurrently(ctx, others, options);
    // Each command-running wire check alone on the wire: its window.
    let commands: Vec<(usize, CheckSpec, Instant, Result<Window, Diagnosis>)> = wires
        .into_iter()
        .map(|(index, spec)| {
            let started = Instant::now();
            let window = match &spec.probe {
                Probe::Wire(wire) if matches!(wire.during, During::Run(_)) => {
                    let window = Window::open();
                    wire.run_command(ctx).map(|()| window.close())
                }
                _ => Ok(Window::open()),
            };
            (index, spec, started, window)
        })
        .collect();
    let observed = recorder.and_then(Recorder::finish);
    let windows: Vec<(String, Window)> = ran
        .iter()
        .map(|(result, window)| (result.spec.title.clone(), *window))
        .collect();
    let mut results: Vec<(usize, CheckResult)> = order
        .into_iter()
        .zip(ran)
        .map(|(index, (result, _))| (index, result))
        .collect();
    for (index, spec, started, window) in commands {
        let outcome = match (&spec.probe, window, &observed) {
            (_, Err(diagnosis), _) => Outcome::fail(diagnosis),
            (_, _, Err(e)) => Outcome::fail(Diagnosis::new(
                "wire",
                format!("the lab's traffic could not be captured: {e:#}"),
                "is the lab up? (`labctl status`)",
            )),
            (Probe::Wire(wire), Ok(own), Ok(observed)) => grade(wire, observed, own, &windows),
            (probe, Ok(_), Ok(_)) => {
                unreachable!("only wire checks were set aside, not {}", probe.kind())
            }
        };
        let mut outcome = outcome;
        outcome.duration = started.elapsed();
        results.push((index, CheckResult { spec, outcome }));
    }
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, result)| result).collect()
}

/// A wire check on the run's capture: within its own command's window, or
/// those of the checks it names (all of them by default).
fn grade(wire: &Wire, observed: &Observed, own: Window, windows: &[(String, Window)]) -> Outcome {
    let chosen: Vec<Window> = match &wire.during {
        During::Run(_) => vec![own],
        During::All => windows.iter().map(|(_, w)| *w).collect(),
        During::Named(names) => windows
            .iter()
            .filter(|(title, _)| names.iter().any(|n| n == title))
            .map(|(_, w)| *w)
            .collect(),
    };
    match wire.evaluate(observed, &chosen) {
        Ok(outcome) => outcome,
        Err(diagnosis) => Outcome::fail(diagnosis),
    }
}

/// Every check on its own thread; each result with when it ran.
fn run_concurrently(
    ctx: &LabContext,
    checks: Vec<CheckSpec>,
    options: &RunOptions,
) -> Vec<(CheckResult, Window)> {
    std::thread::scope(|scope| {
        let running: Vec<_> = checks
            .into_iter()
            .map(|spec| {
                scope.spawn(move || {
                    let started = Instant::now();
                    let window = Window::open();
                    let mut outcome = spec.probe.run(ctx, options);
                    outcome.duration = started.elapsed();
                    (CheckResult { spec, outcome }, window.close())
                })
            })
            .collect();
        running
            .into_iter()
            .map(|handle| handle.join().expect("a check thread panicked"))
            .collect()
    })
}
