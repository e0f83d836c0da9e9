//! `link`: a running lab's cable cut or restored (both ends, as unplugging
//! does) through the lab daemon, which re-converges the routers at once
//! and says what moved; or impaired (delay, loss, rate, …) with netem on
//! both ends.

use anyhow::{Context, Result, bail};

use crate::daemon::control::{self, Request};
pub use crate::lab::cables::{EndSpec, cable_name, find_cable};
use crate::lab::netem::Netem;
use crate::lab::plan::{Plan, PlanEnd};
use crate::state::LabDir;

/// What `link … down|up` did.
pub struct CableChange {
    /// `r1:eth0 – r2:eth0`.
    pub cable: String,
    /// What moved in the routers' tables ("r1: 192.168.2.0/24 now via r3 …").
    pub changes: Vec<String>,
}

/// The running lab's record, for a verb that changes it.
pub fn running(lab: &str) -> Result<(LabDir, Plan)> {
    let dir = LabDir::of(lab)?;
    let record = dir
        .read_record()
        .with_context(|| format!("lab {lab} is not running"))?;
    Ok((dir, record.plan))
}

/// Cuts (`up` false) or restores the cable between `a` and `b`.
pub fn set_cable(lab: &str, a: &str, b: &str, up: bool) -> Result<CableChange> {
    change_cable(lab, a, b, |ends| Request::Link { ends, up })
}

/// Puts `netem` on both ends of the cable between `a` and `b` (each
/// direction gets it) through the lab daemon, replacing what the cable
/// had; a clear `netem` takes every impairment off.
pub fn impair(lab: &str, a: &str, b: &str, netem: &Netem) -> Result<CableChange> {
    change_cable(lab, a, b, |ends| Request::Impair {
        ends,
        netem: netem.clone(),
    })
}

/// Finds the cable between `a` and `b` in the running lab and asks its
/// daemon to change it with the request `request` makes of its ends.
fn change_cable(
    lab: &str,
    a: &str,
    b: &str,
    request: impl FnOnce([PlanEnd; 2]) -> Request,
) -> Result<CableChange> {
    crate::ops::admin::require_admin("link")?;
    let (dir, plan) = running(lab)?;
    let link = find_cable(&plan, &EndSpec::parse(a), &EndSpec::parse(b))?;
    let reply =
        control::call(&dir.socket_path(), &request([link.a, link.b])).with_context(|| {
            format!(
                "the daemon of lab {lab} does not answer (`labctl restart {lab}` starts it again)"
            )
        })?;
    if let Some(error) = reply.error {
        bail!("{error}");
    }
    Ok(CableChange {
        cable: cable_name(&plan, &link),
        changes: reply.changes,
    })
}
