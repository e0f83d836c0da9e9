//! A running lab's cables named as people write them: `r1 r2`, or with
//! interfaces `r1:eth0 r2:eth0` (`labctl link`, a check's `after:`), found
//! in the plan with a message that lists the cables there are.

use anyhow::{Result, bail};

use super::plan::{Plan, PlanEnd, PlanLink};

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
