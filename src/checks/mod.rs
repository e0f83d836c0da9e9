//! Grading by behaviour: the checks a lab declares, resolved against its
//! plan (`validate`, `load`), run from inside the lab's nodes (`runner`,
//! `probes`), and reported for people, scripts and CI (`report`).

pub mod load;
pub mod spec;
pub mod validate;
