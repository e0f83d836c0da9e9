//! A packet's path there and back through the routing tables the nodes
//! have now (`lab::path_walk` over the live `Network`), and where it breaks
//! in a check's words: the first node that has no route (and the network
//! it lacks), a node in the way that does not forward, a next hop nobody on
//! the segment has, or a loop.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use crate::checks::outcome::Diagnosis;
use crate::lab::model::NodeKind;
use crate::lab::network::Network;
use crate::lab::path_walk::{Goal, Stop, walk};

/// Where a path breaks: the walk's stop, on the way to `to` (`back`: on
/// the way back).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Break {
    pub stop: Stop,
    pub to: Ipv4Addr,
    pub back: bool,
}

/// Hops from `from` towards `to`: the nodes passed, ending with the one
/// that has `to`.
pub fn one_way(net: &Network, from: usize, to: Ipv4Addr, back: bool) -> Result<Vec<usize>, Break> {
    walk(net, from, to, Goal::Address).map_err(|stop| Break { stop, to, back })
}

/// There (`from` to `to`) and back (from the node that has `to` to the
/// address `from` sends from).
pub fn round_trip(net: &Network, from: usize, to: Ipv4Addr) -> Result<(), Break> {
    let there = one_way(net, from, to, false)?;
    let arrived = *there.last().expect("a path has its start");
    let Some(source) = source_address(net, from, to) else {
        return Ok(());
    };
    one_way(net, arrived, source, true).map(|_| ())
}

/// The address `from` sends to `to` from: the one on the interface its
/// route leaves by.
pub fn source_address(net: &Network, from: usize, to: Ipv4Addr) -> Option<Ipv4Addr> {
    let port = net.route(from, to)?.port?;
    net.addresses((from, port)).first().map(|a| a.addr())
}

impl Break {
    /// What broke, as a clause ("r2 has no route to 192.168.10.0/24").
    pub fn phrase(&self, net: &Network) -> String {
        let name = |n: usize| net.node(n).name.clone();
        match &self.stop {
            Stop::NoRoute { node, prefix } => format!(
                "{} has no route{} to {prefix}",
                name(*node),
                if self.back { " back" } else { "" }
            ),
            Stop::NotForwarding { node, .. } => format!(
                "{} does not forward packets (net.ipv4.ip_forward is 0)",
                name(*node)
            ),
            Stop::NoNextHop {
                node,
                next,
                gateway,
                segment,
            } => {
                let what = if *gateway {
                    format!("{}'s gateway {next}", name(*node))
                } else {
                    next.to_string()
                };
                let mut s = format!(
                    "{what} is not on {}'s network: no node on {} has it",
                    name(*node),
                    net.describe_segment(*segment)
                );
                if let Some(owner) = net.owner(*next) {
                    s.push_str(&format!(
                        " ({} has it, on {})",
                        net.port_name(owner),
                        net.describe_segment(net.segment(owner))
                    ));
                }
                s
            }
            Stop::Loop { nodes } => {
                let names: Vec<String> = nodes.iter().map(|&n| name(n)).collect();
                format!(
                    "the packets go round in a loop: {} → {}",
                    names.join(" → "),
                    names[0]
                )
            }
        }
    }

    /// The node to fix.
    pub fn node(&self) -> usize {
        self.stop.node()
    }

    /// The key that ties together every check this break stops.
    pub fn cause(&self, net: &Network) -> String {
        let node = &net.node(self.node()).name;
        match &self.stop {
            Stop::NoRoute { prefix, .. } => format!("route {node} {prefix}"),
            Stop::NotForwarding { .. } => format!("forwarding {node}"),
            Stop::NoNextHop { next, .. } => format!("next-hop {node} {next}"),
            Stop::Loop { .. } => format!("loop {node}"),
        }
    }

    /// The diagnosis for `from` getting no answer from `target` (`what` was
    /// tried), this break being the reason.
    pub fn diagnosis(&self, net: &Network, from: &str, target: &str, what: &str) -> Diagnosis {
        let node = &net.node(self.node());
        let phrase = self.phrase(net);
        let (step, message) = match &self.stop {
            Stop::NoRoute { .. } => (
                "route",
                match (self.back, node.kind == NodeKind::Router) {
                    (false, _) if node.name == from => format!("{from} has no route to {target}"),
                    (false, _) => format!("{phrase}, so {from}'s packets to {target} stop there"),
                    (true, true) => {
                        format!("{phrase}, so {target}'s answers to {from} stop there ({what})")
                    }
                    (true, false) => format!(
                        "{from}'s packets reach {target}, but {phrase}, so its answers never leave"
                    ),
                },
            ),
            Stop::NotForwarding { .. } => (
                "route",
                format!("{phrase}, so {from}'s packets to {target} stop there"),
            ),
            Stop::NoNextHop { gateway: true, .. } => ("gateway", phrase),
            Stop::NoNextHop { .. } => (
                "arp",
                format!(
                    "{target} should be on {}'s own network, but {phrase}",
                    node.name
                ),
            ),
            Stop::Loop { .. } => ("route", format!("{from}'s packets to {target}: {phrase}")),
        };
        Diagnosis::new(step, message, self.hint(net)).with_cause(self.cause(net))
    }

    /// What to change to mend it.
    pub fn hint(&self, net: &Network) -> String {
        let node = &net.node(self.node());
        let to = self.to;
        match &self.stop {
            Stop::NoRoute { prefix, .. } if node.kind == NodeKind::Router => {
                route_hint(net, self.node(), *prefix)
            }
            Stop::NoRoute { .. } => format!(
                "give {} a default gateway (the router's address on its network), or a route to {to}'s network",
                node.name
            ),
            Stop::NotForwarding { .. } => format!(
                "only a `kind: router` forwards: make {} a router, or send the traffic through one",
                node.name
            ),
            Stop::NoNextHop { gateway: true, .. } => format!(
                "the gateway must be the router's address on {}'s network: check its `gateway` (or the DHCP pool's `gateway`)",
                node.name
            ),
            Stop::NoNextHop { next, .. } => {
                format!("is {next} up, on the same switch, with an address in this subnet?")
            }
            Stop::Loop { .. } => {
                "each router sends them to the other: one of them needs the right next hop".into()
            }
        }
    }
}

/// What to add on router `r`: a route to `prefix` via the neighbour that
/// has that network itself, when one does.
fn route_hint(net: &Network, r: usize, prefix: Ipv4Net) -> String {
    let name = &net.node(r).name;
    let neighbour = (0..net.node(r).interfaces.len()).find_map(|i| {
        let seg = net.segment((r, i));
        net.members(seg).iter().find_map(|&(n, _)| {
            let direct = n != r
                && net.forwards(n)
                && (0..net.node(n).interfaces.len())
                    .any(|j| net.addresses((n, j)).iter().any(|a| a.trunc() == prefix));
            direct
                .then(|| net.address_on(n, seg))
                .flatten()
                .map(|via| (net.node(n).name.clone(), via))
        })
    });
    match neighbour {
        Some((router, via)) => format!(
            "add a route on {name}: `routes: [{{to: {prefix}, via: {via}}}]` ({router} has that network), or use `routing: auto`"
        ),
        None => format!("add a route to {prefix} on {name}, or use `routing: auto`"),
    }
}

#[cfg(test)]
mod tests {
    use super::super::network::{Live, live_network};
    use super::*;
    use crate::lab::network::tests::{ONE_ROUTER, plan_of};
    use crate::lab::plan::Plan;
    use crate::net::inspect::{LinkView, NamespaceView, RouteView};

    /// What the kernels would have for `plan`, built as `net/build.rs` does:
    /// connected routes, planned routes, forwarding on routers.
    fn live_of(plan: &Plan) -> Vec<Option<Live>> {
        plan.nodes
            .iter()
            .map(|node| {
                let links = node
                    .interfaces
                    .iter()
                    .map(|i| LinkView {
                        index: i.index,
                        name: i.name.clone(),
                        up: true,
                        carrier: true,
                        oper: "up".into(),
                        mac: None,
                        controller: None,
                        addresses: i.address.into_iter().collect(),
                    })
                    .collect();
                let connected = node.interfaces.iter().filter_map(|i| {
                    i.address.map(|a| RouteView {
                        to: a.trunc(),
                        via: None,
                        dev: Some(i.name.clone()),
                    })
                });
                let planned = node.routes.iter().map(|r| RouteView {
                    to: r.to,
                    via: Some(r.via),
                    dev: None,
                });
                Some(Live {
                    view: NamespaceView {
                        links,
                        routes: connected.chain(planned).collect(),
                    },
                    forwarding: node.forwarding,
                })
            })
            .collect()
    }

    fn drop_route(live: &mut [Option<Live>], plan: &Plan, node: &str, to: &str) {
        let n = plan.nodes.iter().position(|p| p.name == node).unwrap();
        let to: Ipv4Net = to.parse().unwrap();
        live[n].as_mut().unwrap().view.routes.retain(|r| r.to != to);
    }

    const TWO_ROUTERS: &str = "
name: t
nodes:
  r1:
    kind: router
    interfaces: {eth0: 10.0.0.1/30, eth1: 192.168.10.1/24}
    routes: [{to: 192.168.20.0/24, via: 10.0.0.2}]
  r2:
    kind: router
    interfaces: {eth0: 10.0.0.2/30, eth1: 192.168.20.1/24}
    routes: [{to: 192.168.10.0/24, via: 10.0.0.1}]
  sw1: {kind: switch}
  sw2: {kind: switch}
  pc1: {kind: host, interfaces: {eth0: 192.168.10.10/24}, gateway: 192.168.10.1}
  pc2: {kind: host, interfaces: {eth0: 192.168.20.10/24}, gateway: 192.168.20.1}
links:
  - [r1:eth0, r2:eth0]
  - [r1:eth1, sw1]
  - [r2:eth1, sw2]
  - [pc1, sw1]
  - [pc2, sw2]
";

    fn trace(plan: &Plan, live: &[Option<Live>], from: &str, to: &str) -> Result<(), String> {
        let net = live_network(plan, live);
        let from = net.index_of(from).unwrap();
        round_trip(&net, from, to.parse().unwrap()).map_err(|b| b.phrase(&net))
    }

    #[test]
    fn a_complete_path_both_ways() {
        let plan = plan_of(TWO_ROUTERS);
        let live = live_of(&plan);
        assert_eq!(trace(&plan, &live, "pc1", "192.168.20.10"), Ok(()));
        let net = live_network(&plan, &live);
        let path = one_way(&net, 4, "192.168.20.10".parse().unwrap(), false).unwrap();
        let names: Vec<&str> = path.iter().map(|&n| net.node(n).name.as_str()).collect();
        assert_eq!(names, ["pc1", "r1", "r2", "pc2"]);
    }

    #[test]
    fn names_the_router_without_the_route_and_the_prefix_both_ways() {
        let plan = plan_of(TWO_ROUTERS);
        let mut live = live_of(&plan);
        drop_route(&mut live, &plan, "r1", "192.168.20.0/24");
        assert_eq!(
            trace(&plan, &live, "pc1", "192.168.20.10"),
            Err("r1 has no route to 192.168.20.0/24".into())
        );
        let mut live = live_of(&plan);
        drop_route(&mut live, &plan, "r2", "192.168.10.0/24");
        assert_eq!(
            trace(&plan, &live, "pc1", "192.168.20.10"),
            Err("r2 has no route back to 192.168.10.0/24".into())
        );
        let net = live_network(&plan, &live);
        let broken = round_trip(&net, 4, "192.168.20.10".parse().unwrap()).unwrap_err();
        let d = broken.diagnosis(&net, "pc1", "pc2 (192.168.20.10)", "ping");
        assert_eq!(d.step, "route");
        assert!(d.message.contains("answers to pc1 stop there"), "{d}");
        assert!(
            d.hint
                .contains("`routes: [{to: 192.168.10.0/24, via: 10.0.0.1}]` (r1 has that network)"),
            "{d}"
        );
        assert_eq!(d.cause.as_deref(), Some("route r2 192.168.10.0/24"));
    }

    #[test]
    fn a_host_without_gateway_and_a_router_that_does_not_forward() {
        let plan = plan_of(TWO_ROUTERS);
        let mut live = live_of(&plan);
        drop_route(&mut live, &plan, "pc2", "0.0.0.0/0");
        assert_eq!(
            trace(&plan, &live, "pc1", "192.168.20.10"),
            Err("pc2 has no route back to 192.168.10.0/24".into())
        );
        let mut live = live_of(&plan);
        live[1].as_mut().unwrap().forwarding = false;
        assert_eq!(
            trace(&plan, &live, "pc1", "192.168.20.10"),
            Err("r2 does not forward packets (net.ipv4.ip_forward is 0)".into())
        );
    }

    #[test]
    fn a_loop_and_a_gateway_on_another_segment() {
        let plan = plan_of(TWO_ROUTERS);
        let mut live = live_of(&plan);
        // r2 sends 192.168.20.0/24 back to r1 instead of onto its LAN.
        live[1].as_mut().unwrap().view.routes.push(RouteView {
            to: "192.168.20.10/32".parse().unwrap(),
            via: Some("10.0.0.1".parse().unwrap()),
            dev: Some("eth0".into()),
        });
        assert_eq!(
            trace(&plan, &live, "pc1", "192.168.20.10"),
            Err("the packets go round in a loop: r1 → r2 → r1".into())
        );
        let plan = plan_of(&ONE_ROUTER.replace("gateway: 10.0.1.1", "gateway: 10.0.1.2"));
        let live = live_of(&plan);
        assert_eq!(
            trace(&plan, &live, "pc1", "10.0.2.10"),
            Err("pc1's gateway 10.0.1.2 is not on pc1's network: no node on sw1 (10.0.1.0/24) has it".into())
        );
    }
}
