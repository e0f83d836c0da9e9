//! Addresses and MACs across the lab: each segment's subnet (the one its
//! static addresses share), no address or MAC used twice, and no two
//! separate networks overlapping.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::segments::segment_name;
use crate::lab::addr::{Mac, SubnetExt};
use crate::lab::model::{InterfaceSpec, Lab, NodeKind};
use crate::lab::raw::Step;
use crate::lab::topology::{End, Topology};
use crate::lab::validate::findings::Findings;
use crate::lab::validate::iface_path;

/// Where the address of an interface is written.
pub(super) fn address_path(lab: &Lab, topo: &Topology, end: End) -> Vec<Step> {
    let node = &topo.nodes[end.node].name;
    let iface = &topo.iface(end).name;
    let field = match lab.nodes[node.as_str()].interfaces.get(iface.as_str()) {
        Some(InterfaceSpec::Detailed(_)) => Some("address"),
        _ => None,
    };
    iface_path(node, iface, field)
}

/// Gives every segment the subnet of its static addresses (a router's if it
/// has one), and reports addresses outside it, addresses used twice, and
/// separate segments whose subnets overlap.
pub(super) fn assign_subnets(found: &mut Findings, lab: &Lab, topo: &mut Topology) {
    let mut owners: HashMap<Ipv4Addr, End> = HashMap::new();
    for s in 0..topo.segments.len() {
        let ends = topo.segments[s].ends.clone();
        let with_address: Vec<(End, Ipv4Net)> = ends
            .iter()
            .filter_map(|&e| topo.static_address(e).map(|a| (e, a)))
            .collect();
        let reference = with_address
            .iter()
            .find(|(e, _)| topo.nodes[e.node].kind == NodeKind::Router)
            .or(with_address.first())
            .copied();
        let Some((ref_end, ref_net)) = reference else {
            continue;
        };
        topo.segments[s].subnet = Some(ref_net.trunc());
        for &(end, net) in &with_address {
            if net.trunc() != ref_net.trunc() {
                let at = address_path(lab, topo, end);
                let peer = topo.peer(end);
                found.error(
                        &at,
                        format!(
                            "{net} on {} is outside {}, the subnet of the network it is plugged into ({} has {ref_net})",
                            topo.end_name(end),
                            ref_net.trunc(),
                            topo.end_name(ref_end),
                        ),
                        format!(
                            "use an address in {} (this interface is cabled to {}), or cable it elsewhere",
                            ref_net.trunc(),
                            topo.end_name(peer)
                        ),
                    );
            }
        }
    }
    for n in 0..topo.nodes.len() {
        for i in 0..topo.nodes[n].interfaces.len() {
            let end = End { node: n, iface: i };
            if let Some(net) = topo.static_address(end) {
                if let Some(&first) = owners.get(&net.addr()) {
                    let at = address_path(lab, topo, end);
                    found.error(
                        &at,
                        format!(
                            "{} is used twice: by {} and {}",
                            net.addr(),
                            topo.end_name(first),
                            topo.end_name(end)
                        ),
                        "every interface in a lab needs its own address",
                    );
                } else {
                    owners.insert(net.addr(), end);
                }
            }
        }
    }
    let mut subnets: Vec<(Ipv4Net, usize)> = topo
        .segments
        .iter()
        .enumerate()
        .filter_map(|(i, s)| s.subnet.map(|n| (n, i)))
        .collect();
    subnets.sort();
    for pair in subnets.windows(2) {
        let ((a, sa), (b, sb)) = (pair[0], pair[1]);
        if a.overlaps(&b) {
            let end = topo.segments[sb]
                .ends
                .iter()
                .copied()
                .find(|&e| topo.static_address(e).is_some())
                .expect("a segment with a subnet has an address");
            let at = address_path(lab, topo, end);
            found.error(
                    &at,
                    format!(
                        "{b} (network of {}) overlaps {a} (network of {}), but they are separate networks",
                        segment_name(topo, sb),
                        segment_name(topo, sa)
                    ),
                    "give each switch or router-to-router cable its own subnet",
                );
        }
    }
}

/// Two interfaces with one MAC confuse switches and DHCP servers alike.
pub(super) fn check_unique_macs(found: &mut Findings, topo: &Topology) {
    let mut owners: HashMap<Mac, End> = HashMap::new();
    for (n, node) in topo.nodes.iter().enumerate() {
        for (i, iface) in node.interfaces.iter().enumerate() {
            let end = End { node: n, iface: i };
            if let Some(&first) = owners.get(&iface.mac) {
                found.error(
                        &iface_path(&node.name, &iface.name, Some("mac")),
                        format!("MAC {} is used twice: by {} and {}", iface.mac, topo.end_name(first), topo.end_name(end)),
                        "every interface needs its own MAC: change one, or leave `mac` out to get a stable unique one",
                    );
            } else {
                owners.insert(iface.mac, end);
            }
        }
    }
}
