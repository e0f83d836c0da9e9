//! Runnable checks: the lab file's checks with every name resolved against
//! the lab's plan, every value parsed, and a readable title. Each kind's
//! resolved settings (its probe) are defined in its module under `kinds/`.

use super::kinds::Probe;

#[derive(Clone, Debug)]
pub struct CheckSpec {
    /// What the report calls it: the check's `name`, or a sentence.
    pub title: String,
    pub points: u32,
    pub probe: Probe,
    /// `after:`: a cable set down or up before this check runs (and put
    /// back after it).
    pub after: Option<Change>,
}

/// A cable of the running lab set down or up for a check.
#[derive(Clone, Debug)]
pub struct Change {
    pub ends: [crate::lab::plan::PlanEnd; 2],
    pub up: bool,
    /// `r1:eth0 – r2:eth0`.
    pub cable: String,
}
