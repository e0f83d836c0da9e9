//! Whether every LAN reaches every other, both ways, with the routes the
//! lab will get: hosts' gateways (written, or from their DHCP pool),
//! routers' static routes and `routing: auto`'s computed ones (the plan's
//! own `node_routes`). A packet is walked hop by hop (`lab::path_walk`
//! over the planned `Network`) from each host of one LAN to the other
//! LAN's network; where it stops is the
//! router and the prefix a warning names ("r2 has no route back to
//! 192.168.20.0/24"). Warnings only: a starter may leave routing for the
//! student, and networks no router joins are not compared at all.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::dhcp::DhcpServers;
use super::findings::Findings;
use crate::lab::addr::DEFAULT_ROUTE;
use crate::lab::diagnostic::Diagnostic;
use crate::lab::model::{Lab, NodeKind};
use crate::lab::network::{Network, NodeRoute, NodeState};
use crate::lab::path_walk::{Goal, Stop as Walked, walk};
use crate::lab::plan::plan;
use crate::lab::raw::RawNode;
use crate::lab::routing::auto_routes;
use crate::lab::topology::{Addressing, Topology};
use crate::path;

#[cfg(test)]
mod tests;

/// A LAN: a network with hosts or servers on it.
struct Lan {
    subnet: Ipv4Net,
    /// The end devices on it, which the packets start from.
    hosts: Vec<usize>,
    /// The address packets to it are sent to: a host's, or the first.
    target: Ipv4Addr,
    /// Which group of networks joined by routers it is in.
    group: usize,
}

/// Why packets from some LANs to `to` stop, grouped for one warning.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum Stop {
    NoRoute {
        node: usize,
        to: Ipv4Net,
    },
    NotForwarding {
        from: usize,
        to: usize,
        net: Ipv4Net,
    },
    Loop {
        nodes: Vec<usize>,
        to: Ipv4Net,
    },
}

/// Warnings for pairs of LANs that cannot reach each other.
pub(super) fn routing_warnings(
    lab: &Lab,
    raw: &RawNode,
    topo: &Topology,
    dhcp: &DhcpServers,
) -> Vec<Diagnostic> {
    let plan = plan(topo);
    let net = planned_network(&plan, topo, dhcp);
    let lans = lans(topo);
    // For each stop, the LANs whose packets end there.
    let mut stops: BTreeMap<Stop, Vec<Ipv4Net>> = BTreeMap::new();
    let mut delivered: Vec<(Ipv4Net, Ipv4Net)> = Vec::new();
    for from in &lans {
        for to in lans.iter().filter(|l| l.subnet != from.subnet) {
            if to.group != from.group {
                continue;
            }
            for &host in &from.hosts {
                let stop = match walk(&net, host, to.target, Goal::Network) {
                    Ok(_) => {
                        delivered.push((from.subnet, to.subnet));
                        continue;
                    }
                    // A host without a gateway: the hints pass says so.
                    Err(Walked::NoRoute { node, .. }) if node == host => continue,
                    // A DHCP client's gateway: the providers pass checks it.
                    Err(Walked::NotForwarding { from: node, .. })
                        if node == host && !has_written_gateway(lab, topo, host) =>
                    {
                        continue;
                    }
                    // A next hop no node has: the topology pass warns about it.
                    Err(Walked::NoNextHop { .. }) => continue,
                    Err(Walked::NoRoute { node, .. }) => Stop::NoRoute {
                        node,
                        to: to.subnet,
                    },
                    Err(Walked::NotForwarding {
                        from: node,
                        node: next,
                    }) => Stop::NotForwarding {
                        from: node,
                        to: next,
                        net: to.subnet,
                    },
                    Err(Walked::Loop { nodes }) => Stop::Loop {
                        nodes,
                        to: to.subnet,
                    },
                };
                let sources = stops.entry(stop).or_default();
                if !sources.contains(&from.subnet) {
                    sources.push(from.subnet);
                }
            }
        }
    }
    let mut found = Findings::new(raw);
    for (stop, sources) in stops {
        report(&mut found, lab, topo, &stop, &sources, &delivered);
    }
    found.into_list()
}

/// The network as the lab builds it: the plan's addresses and routes, and
/// a DHCP client's default route to its pool's gateway.
fn planned_network<'a>(
    plan: &'a crate::lab::plan::Plan,
    topo: &Topology,
    dhcp: &DhcpServers,
) -> Network<'a> {
    let state = plan
        .nodes
        .iter()
        .zip(&topo.nodes)
        .map(|(planned, node)| {
            let mut state = NodeState::planned(planned);
            if node.kind.is_end_device() && !planned.routes.iter().any(|r| r.to == DEFAULT_ROUTE) {
                let leased = node.interfaces.iter().enumerate().find_map(|(i, iface)| {
                    let pool = (iface.addressing == Addressing::Dhcp)
                        .then(|| dhcp.serving(topo, iface.segment))??;
                    Some((i, pool.gateway?))
                });
                if let Some((port, via)) = leased {
                    state.routes.push(NodeRoute {
                        to: DEFAULT_ROUTE,
                        via: Some(via),
                        port: Some(port),
                    });
                }
            }
            state
        })
        .collect();
    Network::new(plan, state)
}

/// The networks with hosts or servers on them, grouped by what routers join.
fn lans(topo: &Topology) -> Vec<Lan> {
    // Networks a router has an address on are joined by it.
    let mut group: Vec<usize> = (0..topo.segments.len()).collect();
    fn root(group: &mut [usize], mut s: usize) -> usize {
        while group[s] != s {
            group[s] = group[group[s]];
            s = group[s];
        }
        s
    }
    for node in topo.nodes.iter().filter(|n| n.kind == NodeKind::Router) {
        let joined: Vec<usize> = node
            .interfaces
            .iter()
            .filter(|i| i.static_net().is_some())
            .map(|i| i.segment)
            .collect();
        for pair in joined.windows(2) {
            let (a, b) = (root(&mut group, pair[0]), root(&mut group, pair[1]));
            group[a] = b;
        }
    }
    let mut lans = Vec::new();
    for (s, segment) in topo.segments.iter().enumerate() {
        let Some(subnet) = segment.subnet else {
            continue;
        };
        let ends: Vec<_> = segment
            .ends
            .iter()
            .copied()
            .filter(|&e| {
                topo.nodes[e.node].kind.is_end_device()
                    && topo.iface(e).addressing != Addressing::None
            })
            .collect();
        if ends.is_empty() {
            continue;
        }
        let mut hosts: Vec<usize> = ends.iter().map(|e| e.node).collect();
        hosts.dedup();
        let target = ends
            .iter()
            .find_map(|&e| topo.static_address(e))
            .map_or_else(
                || subnet.hosts().next().unwrap_or(subnet.addr()),
                |a| a.addr(),
            );
        lans.push(Lan {
            subnet,
            hosts,
            target,
            group: root(&mut group, s),
        });
    }
    lans
}

fn has_written_gateway(lab: &Lab, topo: &Topology, node: usize) -> bool {
    let written = &lab.nodes[topo.nodes[node].name.as_str()];
    written.gateway.is_some()
        || written.interfaces.values().any(|i| i.gateway().is_some())
        || !written.routes.is_empty()
}

/// One warning for a stop, at the routes (or gateway) of the node at fault.
fn report(
    found: &mut Findings,
    lab: &Lab,
    topo: &Topology,
    stop: &Stop,
    sources: &[Ipv4Net],
    delivered: &[(Ipv4Net, Ipv4Net)],
) {
    let list = |nets: &[Ipv4Net]| -> String {
        let words: Vec<String> = nets.iter().map(Ipv4Net::to_string).collect();
        words.join(" and ")
    };
    let name = |n: usize| topo.nodes[n].name.as_str();
    let (node, message, hint) = match stop {
        Stop::NoRoute { node, to } => {
            // Packets from `to` to all the sources arrive: these are replies.
            let back = sources.iter().all(|s| delivered.contains(&(*to, *s)));
            let message = if back {
                format!(
                    "{} has no route back to {to}: packets from {to} reach {}, but the replies stop at {}",
                    name(*node),
                    list(sources),
                    name(*node)
                )
            } else {
                format!(
                    "{} has no route to {to}: packets from {} to it stop there",
                    name(*node),
                    list(sources)
                )
            };
            let hint = match auto_routes(topo, *node).iter().find(|r| r.to == *to) {
                Some(r) => format!(
                    "add `{{to: {to}, via: {}}}` to the routes of {}, or give it `routing: auto`",
                    r.via,
                    name(*node)
                ),
                None => format!("add a route to {to} to {}", name(*node)),
            };
            (*node, message, hint)
        }
        Stop::NotForwarding { from, to, net } => (
            *from,
            format!(
                "{} sends packets for {net} to {}, a {} that does not forward them",
                name(*from),
                name(*to),
                topo.nodes[*to].kind.as_str()
            ),
            "send them to a router's address on the same network".to_string(),
        ),
        Stop::Loop { nodes, to } => {
            let names: Vec<&str> = nodes.iter().map(|&n| name(n)).collect();
            (
                nodes[0],
                format!(
                    "packets for {to} go round in a loop: {} → {}",
                    names.join(" → "),
                    names[0]
                ),
                format!(
                    "fix the route to {to} on one of them so it leads towards the router on {to}"
                ),
            )
        }
    };
    let node_name = name(node);
    let written = &lab.nodes[node_name];
    if !written.routes.is_empty() {
        found.warn(&path!["nodes", node_name, "routes"], message, hint);
    } else if written.gateway.is_some() {
        found.warn(&path!["nodes", node_name, "gateway"], message, hint);
    } else {
        found.warn_node(node_name, message, hint);
    }
}
