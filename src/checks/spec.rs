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
}
