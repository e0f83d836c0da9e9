//! Runs checks concurrently — one OS thread per check, each stepping into
//! the namespaces it needs — and collects their outcomes in file order.
//! Checks that share something only one may use at a time (a mailbox) take
//! turns where they use it (`probes::mailbox`); everything else overlaps.
//! Checks with `after:` change the lab (a cable down) and so run after all
//! the others, one at a time, each change undone before the next.
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
use crate::daemon::control::{self, Request};
use crate::state::LabDir;

/// One check and what became of it.
pub struct CheckResult {
    pub spec: CheckSpec,
    pub outcome: Outcome,
}

/// Runs every check and returns their results in file order: those
/// without `after:` all at once, then each one with `after:` alone (its
/// cable changed before and put back after), then the wire checks.
pub fn run_all(ctx: &LabContext, checks: Vec<CheckSpec>, options: &RunOptions) -> Vec<CheckResult> {
    let (wires, others): (Vec<_>, Vec<_>) = checks
        .into_iter()
        .enumerate()
        .partition(|(_, c)| matches!(c.probe, Probe::Wire(_)));
    let recorder = (!wires.is_empty()).then(|| Recorder::start(ctx));
    let (later, now): (Vec<_>, Vec<_>) = others
        .into_iter()
        .partition(|(_, spec)| spec.after.is_some());
    let (order, now): (Vec<usize>, Vec<CheckSpec>) = now.into_iter().unzip();
    let mut ran: Vec<(usize, (CheckResult, Window))> = order
        .into_iter()
        .zip(run_concurrently(ctx, now, options))
        .collect();
    for (index, spec) in later {
        ran.push((index, run_after_change(ctx, spec, options)));
    }
    let Some(recorder) = recorder else {
        return in_file_order(
            ran.into_iter()
                .map(|(i, (result, _))| (i, result))
                .collect(),
        );
    };
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
        .map(|(_, (result, window))| (result.spec.title.clone(), *window))
        .collect();
    let mut results: Vec<(usize, CheckResult)> = ran
        .into_iter()
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
    in_file_order(results)
}

fn in_file_order(mut results: Vec<(usize, CheckResult)>) -> Vec<CheckResult> {
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, result)| result).collect()
}

/// One check with its cable set down (or up) first, and back afterwards.
/// A change the daemon cannot make fails the check with its reason.
fn run_after_change(
    ctx: &LabContext,
    spec: CheckSpec,
    options: &RunOptions,
) -> (CheckResult, Window) {
    let window = Window::open();
    let Some(change) = spec.after.clone() else {
        return run_concurrently(ctx, vec![spec], options).remove(0);
    };
    let set = |up: bool| -> Result<(), String> {
        let socket = LabDir::of(&ctx.lab)
            .map_err(|e| e.to_string())?
            .socket_path();
        let reply = control::call(
            &socket,
            &Request::Link {
                ends: change.ends,
                up,
            },
        )
        .map_err(|e| format!("the lab daemon does not answer: {e}"))?;
        match reply.error {
            Some(error) => Err(error),
            None => Ok(()),
        }
    };
    let started = Instant::now();
    if let Err(why) = set(change.up) {
        let mut outcome = Outcome::fail(Diagnosis::new(
            "after",
            format!(
                "could not set {} {}: {why}",
                change.cable,
                if change.up { "up" } else { "down" }
            ),
            "is the lab's daemon running (`labctl status`)?",
        ));
        outcome.duration = started.elapsed();
        return (CheckResult { spec, outcome }, window.close());
    }
    let (mut result, _) = run_concurrently(ctx, vec![spec], options).remove(0);
    if let Err(why) = set(!change.up) {
        tracing::warn!("could not put {} back: {why}", change.cable);
    }
    result.outcome.duration = started.elapsed();
    (result, window.close())
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
