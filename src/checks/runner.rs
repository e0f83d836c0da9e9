//! Runs checks concurrently — one OS thread per check, each stepping into
//! the namespaces it needs — and collects their outcomes in file order.

use std::time::Instant;

use super::context::LabContext;
use super::outcome::Outcome;
use super::spec::CheckSpec;

/// One check and what became of it.
pub struct CheckResult {
    pub spec: CheckSpec,
    pub outcome: Outcome,
}

pub fn run_all(ctx: &LabContext, checks: Vec<CheckSpec>) -> Vec<CheckResult> {
    std::thread::scope(|scope| {
        let running: Vec<_> = checks
            .into_iter()
            .map(|spec| {
                scope.spawn(move || {
                    let started = Instant::now();
                    let mut outcome = spec.probe.run(ctx);
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
