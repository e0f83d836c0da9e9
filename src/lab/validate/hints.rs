//! The last pass: warnings for what builds but will probably surprise the
//! student (a node cabled to nothing, an interface without an address, two
//! cables into one network, a host with no way off its subnet).

use super::findings::Findings;
use super::topology::segment_name;
use super::{iface_path, some_switch};
use crate::lab::addr::DEFAULT_ROUTE;
use crate::lab::diagnostic::Diagnostic;
use crate::lab::model::{Lab, NodeKind};
use crate::lab::raw::RawNode;
use crate::lab::topology::{Addressing, Topology};

/// Warnings for what builds but will probably surprise the student.
pub(super) fn reachability_warnings(lab: &Lab, raw: &RawNode, topo: &Topology) -> Vec<Diagnostic> {
    let mut found = Findings::new(raw);
    let subnet_count = topo.segments.iter().filter(|s| s.subnet.is_some()).count();
    for (index, node) in topo.nodes.iter().enumerate() {
        let written = &lab.nodes[node.name.as_str()];
        if node.interfaces.is_empty()
            && node.kind != NodeKind::Switch
            && written.interfaces.is_empty()
        {
            found.warn_node(
                &node.name,
                format!("{} is not connected to anything", node.name),
                format!(
                    "add a link such as `[{}, {}]`",
                    node.name,
                    some_switch(&topo.nodes)
                ),
            );
        }
        if node.kind == NodeKind::Switch {
            continue;
        }
        warn_about_repeated_segments(&mut found, topo, index);
        for iface in &node.interfaces {
            let written_address = written
                .interfaces
                .get(&iface.name)
                .and_then(|i| i.address());
            if iface.addressing == Addressing::None && written_address.is_none() {
                found.warn(
                    &iface_path(&node.name, &iface.name, None),
                    format!("{}/{} has no address", node.name, iface.name),
                    format!(
                        "add `interfaces: {{{}: ADDRESS/PREFIX}}`{}",
                        iface.name,
                        if node.kind.is_end_device() {
                            " or `dhcp`"
                        } else {
                            ""
                        }
                    ),
                );
            }
        }
        if !node.kind.is_end_device() {
            continue;
        }
        let has_static = node
            .interfaces
            .iter()
            .any(|i| matches!(i.addressing, Addressing::Static(_)));
        let has_default = written.gateway.is_some()
            || written.interfaces.values().any(|i| i.gateway().is_some())
            || node.routes.iter().any(|r| r.to == DEFAULT_ROUTE);
        if has_static && !has_default && subnet_count > 1 {
            found.warn_node(
                &node.name,
                format!(
                    "{} has no default gateway: it reaches only its own subnet",
                    node.name
                ),
                "add `gateway: ROUTER-ADDRESS` to reach the other networks",
            );
        }
    }
    found.into_list()
}

/// A node with two cables into one network is almost always a mistake.
fn warn_about_repeated_segments(found: &mut Findings, topo: &Topology, index: usize) {
    let node = &topo.nodes[index];
    for (i, iface) in node.interfaces.iter().enumerate() {
        if let Some(first) = node.interfaces[..i]
            .iter()
            .find(|o| o.segment == iface.segment)
        {
            found.warn(
                &iface_path(&node.name, &iface.name, None),
                format!(
                    "{} has two cables into the same network ({} and {}, both on {})",
                    node.name,
                    first.name,
                    iface.name,
                    segment_name(topo, iface.segment)
                ),
                "cable each interface to a different switch or router",
            );
        }
    }
}
