//! `down`: remove a lab completely, from its record alone (works after a
//! crash or `kill -9`; a damaged or missing record still leaves the state
//! dir to remove).

use anyhow::Result;

use super::lifecycle::teardown;
use crate::state::LabDir;

/// What `down` found.
#[derive(Debug, PartialEq, Eq)]
pub enum Down {
    /// The lab was not up: nothing to do.
    NotUp,
    /// Everything the lab made is gone.
    Removed,
}

/// Tears lab `name` down; the caller has checked `admin::require_admin`.
pub fn down(name: &str) -> Result<Down> {
    if crate::rootless::active() && !crate::rootless::inside() {
        return super::rootless::down(name);
    }
    let dir = LabDir::of(name)?;
    if !dir.exists() {
        return Ok(Down::NotUp);
    }
    let plan = dir.read_record().ok().map(|r| r.plan);
    teardown(&dir, plan.as_ref())?;
    Ok(Down::Removed)
}
