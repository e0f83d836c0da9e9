//! Runs checks concurrently — one OS thread per check, each stepping into
//! the namespaces it needs — and collects their outcomes in file order.
//! Checks that share something only one may use at a time (a mailbox) take
//! turns where they use it (`probes::mailbox`); everything else overlaps.
//! Checks with `after:` change the lab (a cable down) and so run after all
//! the others, one at a time, each change undone before the next.

use std::time::Instant;

use super::context::LabContext;
use super::outcome::{Diagnosis, Outcome};
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
/// without `after:` all at once, then each one with `after:` alone, with
/// its cable changed before and put back after.
pub fn run_all(ctx: &LabContext, checks: Vec<CheckSpec>, options: &RunOptions) -> Vec<CheckResult> {
    let (later, now): (Vec<_>, Vec<_>) = checks
        .into_iter()
        .enumerate()
        .partition(|(_, spec)| spec.after.is_some());
    let (order, now): (Vec<usize>, Vec<CheckSpec>) = now.into_iter().unzip();
    let mut results: Vec<(usize, CheckResult)> = order
        .into_iter()
        .zip(run_together(ctx, now, options))
        .collect();
    for (index, spec) in later {
        results.push((index, run_after_change(ctx, spec, options)));
    }
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, result)| result).collect()
}

/// One check with its cable set down (or up) first, and back afterwards.
/// A change the daemon cannot make fails the check with its reason.
fn run_after_change(ctx: &LabContext, spec: CheckSpec, options: &RunOptions) -> CheckResult {
    let Some(change) = spec.after.clone() else {
        return run_together(ctx, vec![spec], options).remove(0);
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
        return CheckResult { spec, outcome };
    }
    let mut result = run_together(ctx, vec![spec], options).remove(0);
    if let Err(why) = set(!change.up) {
        tracing::warn!("could not put {} back: {why}", change.cable);
    }
    result.outcome.duration = started.elapsed();
    result
}

fn run_together(
    ctx: &LabContext,
    checks: Vec<CheckSpec>,
    options: &RunOptions,
) -> Vec<CheckResult> {
    std::thread::scope(|scope| {
        let running: Vec<_> = checks
            .into_iter()
            .map(|spec| {
                scope.spawn(move || {
                    let started = Instant::now();
                    let mut outcome = spec.probe.run(ctx, options);
                    outcome.duration = started.elapsed();
                    CheckResult { spec, outcome }
                })
            })
            .collect();
        running
            .into_iter()
            .map(|handle| handle.join().expect("a check thread panicked"))
            .collect()
    })
}
