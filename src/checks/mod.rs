//! Grading by behaviour: the checks a lab declares, resolved against its
//! plan (`load`, `resolve`, one module per kind under `kinds`), run from
//! inside the lab's nodes (`runner`, `context`, what probes share under
//! `probes`), and reported for people, scripts and CI (`report`).

pub mod context;
pub mod kinds;
pub mod load;
pub mod outcome;
pub mod probes;
pub mod report;
pub mod resolve;
pub mod resolver;
pub mod run_options;
pub mod runner;
pub mod spec;
pub mod target;

#[cfg(test)]
mod resolve_tests;
