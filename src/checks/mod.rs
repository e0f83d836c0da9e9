//! Grading by behaviour: the checks a lab declares, resolved against its
//! plan (`validate`, `load`), run from inside the lab's nodes (`runner`,
//! `probes`, `context`), and reported for people, scripts and CI (`report`).

pub mod context;
pub mod load;
pub mod outcome;
pub mod probes;
pub mod report;
pub mod runner;
pub mod spec;
pub mod validate;

#[cfg(test)]
mod validate_tests;
