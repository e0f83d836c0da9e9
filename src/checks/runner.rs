//! Runs checks concurrently — one OS thread per check, each stepping into
//! the namespaces it needs — and collects their outcomes in file order.
//! Checks that share something only one may use at a time (a mailbox) take
//! turns where they use it (`probes::mailbox`); everything else overlaps.

use std::time::Instant;

use super::context::LabContext;
use super::outcome::Outcome;
use super::run_options::RunOptions;
use super::spec::CheckSpec;

/// One check and what became of it.
pub struct CheckResult {
    pub spec: CheckSpec,
    pub outcome: Outcome,
}

pub fn run_all(ctx: &LabContext, checks: Vec<CheckSpec>, options: &RunOptions) -> Vec<CheckResult> {
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
