//! Which interfaces a capture listens on: every interface of every node of
//! a lab's plan (switch ports included, the switches' bridges and `lo`
//! not: a bridge would show each frame a second time), or those a user
//! names as `NODE` (all of its interfaces) or `NODE:IFACE`.

use anyhow::{Result, bail};

use super::frame::Tap;
use crate::lab::plan::Plan;

/// Every interface of every node, in plan order.
pub fn all(plan: &Plan) -> Vec<Tap> {
    plan.nodes
        .iter()
        .flat_map(|node| {
            node.interfaces.iter().map(|iface| Tap {
                node: node.name.clone(),
                iface: iface.name.clone(),
            })
        })
        .collect()
}

/// The taps `specs` name (`NODE` or `NODE:IFACE`), in the order given and
/// each once; every spec `all` when there are none. A name the plan does
/// not have is an error that lists what it has.
pub fn select(plan: &Plan, specs: &[String]) -> Result<Vec<Tap>> {
    if specs.is_empty() {
        return Ok(all(plan));
    }
    let mut taps: Vec<Tap> = Vec::new();
    for spec in specs {
        let (node_name, iface) = match spec.split_once(':') {
            Some((node, iface)) => (node, Some(iface)),
            None => (spec.as_str(), None),
        };
        let Some(node) = plan.node(node_name) else {
            let nodes: Vec<&str> = plan.nodes.iter().map(|n| n.name.as_str()).collect();
            bail!(
                "lab {} has no node `{node_name}` (in `{spec}`)\n  its nodes: {}",
                plan.lab,
                nodes.join(", ")
            );
        };
        let names: Vec<&str> = node.interfaces.iter().map(|i| i.name.as_str()).collect();
        let chosen: Vec<&str> = match iface {
            None => names.clone(),
            Some(iface) if names.contains(&iface) => vec![iface],
            Some(iface) => bail!(
                "node {node_name} has no interface `{iface}` (in `{spec}`)\n  its interfaces: {}",
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            ),
        };
        if chosen.is_empty() {
            bail!("node {node_name} has no interfaces to capture on");
        }
        for iface in chosen {
            let tap = Tap {
                node: node_name.to_string(),
                iface: iface.to_string(),
            };
            if !taps.contains(&tap) {
                taps.push(tap);
            }
        }
    }
    Ok(taps)
}
