//! `link`: a running lab's cable cut or restored (both ends, as unplugging
//! does) through the lab daemon, which re-converges the routers at once
//! and says what moved; or impaired (delay, loss, rate, …) with netem on
//! both ends.

use anyhow::{Context, Result, bail};

use crate::daemon::control::{self, Request};
use crate::lab::netem::Netem;
use crate::lab::plan::{Plan, PlanEnd, PlanLink};
use crate::net::{links, netem};
use crate::state::LabDir;

/// One end as written on the command line: `r1` or `r1:eth0`.
pub struct EndSpec<'a> {
    pub node: &'a str,
    pub iface: Option<&'a str>,
}

impl<'a> EndSpec<'a> {
    pub fn parse(text: &'a str) -> EndSpec<'a> {
        match text.split_once(':') {
            Some((node, iface)) => EndSpec {
                node,
                iface: Some(iface),
            },
            None => EndSpec {
                node: text,
                iface: None,
            },
        }
    }
}

/// What `link … down|up` did.
pub struct CableChange {
    /// `r1:eth0 – r2:eth0`.
    pub cable: String,
    /// What moved in the routers' tables ("r1: 192.168.2.0/24 now via r3 …").
    pub changes: Vec<String>,
}

/// The cable between `a` and `b` in the plan, with a message naming the
/// lab's cables from `a` when there is none or more than one.
pub fn find_cable(plan: &Plan, a: &EndSpec, b: &EndSpec) -> Result<PlanLink> {
    for spec in [a, b] {
        let Some(node) = plan.node(spec.node) else {
            bail!(
                "lab {} has no node {} (`labctl status {}` lists them)",
                plan.lab,
                spec.node,
                plan.lab
            );
        };
        if let Some(iface) = spec.iface
            && !node.interfaces.iter().any(|i| i.name == iface)
        {
            let names: Vec<&str> = node.interfaces.iter().map(|i| i.name.as_str()).collect();
            bail!(
                "{} has no interface {iface} (it has {})",
                spec.node,
                names.join(", ")
            );
        }
    }
    let matches = |end: PlanEnd, spec: &EndSpec| {
        let node = &plan.nodes[end.node];
        node.name == spec.node && spec.iface.is_none_or(|i| plan.iface(end).name == i)
    };
    let found: Vec<PlanLink> = plan
        .links
        .iter()
        .filter(|l| (matches(l.a, a) && matches(l.b, b)) || (matches(l.a, b) && matches(l.b, a)))
        .copied()
        .collect();
    match found.as_slice() {
        [one] => Ok(*one),
        [] => {
            let from: Vec<String> = plan
                .links
                .iter()
                .filter_map(|l| {
                    if matches(l.a, a) {
                        Some(cable_name(plan, l))
                    } else if matches(l.b, a) {
                        Some(cable_name(plan, &PlanLink { a: l.b, b: l.a }))
                    } else {
                        None
                    }
                })
                .collect();
            bail!(
                "no cable joins {} and {} in lab {}; the cables of {}: {}",
                a.node,
                b.node,
                plan.lab,
                a.node,
                if from.is_empty() {
                    "none".to_string()
                } else {
                    from.join(", ")
                }
            )
        }
        _ => bail!(
            "more than one cable joins {} and {}: name the interfaces ({})",
            a.node,
            b.node,
            found
                .iter()
                .map(|l| cable_name(plan, l))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// `r1:eth0 – r2:eth0`.
pub fn cable_name(plan: &Plan, link: &PlanLink) -> String {
    let end = |e: PlanEnd| format!("{}:{}", plan.nodes[e.node].name, plan.iface(e).name);
    format!("{} – {}", end(link.a), end(link.b))
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
    crate::ops::admin::require_admin("link")?;
    let (dir, plan) = running(lab)?;
    let link = find_cable(&plan, &EndSpec::parse(a), &EndSpec::parse(b))?;
    let reply = control::call(
        &dir.socket_path(),
        &Request::Link {
            ends: [link.a, link.b],
            up,
        },
    )
    .with_context(|| {
        format!("the daemon of lab {lab} does not answer (`labctl restart {lab}` starts it again)")
    })?;
    if let Some(error) = reply.error {
        bail!("{error}");
    }
    Ok(CableChange {
        cable: cable_name(&plan, &link),
        changes: reply.changes,
    })
}

/// Puts `netem` on both ends of the cable between `a` and `b` (each
/// direction gets it), replacing what the cable had; a clear `netem`
/// takes every impairment off.
pub fn impair(lab: &str, a: &str, b: &str, netem: &Netem) -> Result<String> {
    crate::ops::admin::require_admin("link")?;
    let (_, plan) = running(lab)?;
    let link = find_cable(&plan, &EndSpec::parse(a), &EndSpec::parse(b))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let mut handles = Vec::new();
    for end in [link.a, link.b] {
        let namespace = &plan.nodes[end.node].namespace;
        handles.push(links::netlink_in(namespace, runtime.handle(), false)?.0);
    }
    let set = |netem: &Netem| -> Result<()> {
        for (end, handle) in [link.a, link.b].into_iter().zip(&handles) {
            let name = format!("{}:{}", plan.nodes[end.node].name, plan.iface(end).name);
            runtime
                .block_on(netem::set(handle, plan.iface(end).index, netem))
                .with_context(|| format!("on {name}"))?;
        }
        Ok(())
    };
    if let Err(e) = set(netem) {
        // Half a change is worse than none: the cable is left clear.
        let _ = set(&Netem::default());
        return Err(e);
    }
    Ok(cable_name(&plan, &link))
}
