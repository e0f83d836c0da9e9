//! Shortest-path (fewest routers) routes from a router to every subnet it
//! is not directly connected to: `routing: auto`. The search itself
//! (`shortest_routes`) runs over a `RouterGraph`, which is built from the
//! validated topology for the plan (`auto_routes`) and from a running lab's
//! plan with only the links that are up for re-convergence
//! (`plan_routing.rs`), so a fresh build and a re-converged lab are routed
//! by the same code.

use std::collections::VecDeque;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::model::NodeKind;
use super::topology::{Addressing, Route, Topology};

/// Which routers sit on which networks: everything the search looks at.
#[derive(Debug, Default)]
pub struct RouterGraph {
    /// For every segment: its subnet (if any address names one) and the
    /// routers on it with their address there, in the order of the links.
    pub segments: Vec<GraphSegment>,
    /// For every node: the segments it reaches through an interface with
    /// an address, in interface order (empty for non-routers).
    pub segments_of: Vec<Vec<usize>>,
}

#[derive(Debug, Default)]
pub struct GraphSegment {
    pub subnet: Option<Ipv4Net>,
    pub routers: Vec<(usize, Ipv4Addr)>,
}

impl RouterGraph {
    /// The graph of a validated topology, every link counted.
    pub fn of_topology(topo: &Topology) -> RouterGraph {
        let segments = topo
            .segments
            .iter()
            .map(|s| GraphSegment {
                subnet: s.subnet,
                routers: s
                    .ends
                    .iter()
                    .filter(|e| topo.nodes[e.node].kind == NodeKind::Router)
                    .filter_map(|&e| topo.static_address(e).map(|a| (e.node, a.addr())))
                    .collect(),
            })
            .collect();
        // A router reaches a network only through an interface with an address.
        let segments_of = topo
            .nodes
            .iter()
            .map(|node| {
                node.interfaces
                    .iter()
                    .filter(|i| matches!(i.addressing, Addressing::Static(_)))
                    .map(|i| i.segment)
                    .collect()
            })
            .collect();
        RouterGraph {
            segments,
            segments_of,
        }
    }
}

/// The routes router `start` needs to reach every subnet of the lab. Ties
/// between equally short paths go to the path found first: the search goes
/// through a router's interfaces in name order, and through the routers on
/// a network in the order their links are written.
pub fn auto_routes(topo: &Topology, start: usize) -> Vec<Route> {
    shortest_routes(&RouterGraph::of_topology(topo), start)
}

/// Breadth-first over routers from `start`; a route to every subnet on a
/// segment that `start` is not on, through the first hop towards the
/// nearest router that is.
pub fn shortest_routes(graph: &RouterGraph, start: usize) -> Vec<Route> {
    let nodes = graph.segments_of.len();
    // Remember the first hop towards each router.
    let mut first_hop: Vec<Option<Ipv4Addr>> = vec![None; nodes];
    let mut visited = vec![false; nodes];
    let mut order = Vec::new();
    let mut queue = VecDeque::from([start]);
    visited[start] = true;
    while let Some(router) = queue.pop_front() {
        order.push(router);
        for &segment in &graph.segments_of[router] {
            for &(next, address) in &graph.segments[segment].routers {
                if !visited[next] {
                    visited[next] = true;
                    first_hop[next] = if router == start {
                        Some(address)
                    } else {
                        first_hop[router]
                    };
                    queue.push_back(next);
                }
            }
        }
    }

    let connected = &graph.segments_of[start];
    let mut routes: Vec<Route> = Vec::new();
    for (segment, s) in graph.segments.iter().enumerate() {
        let Some(subnet) = s.subnet else { continue };
        if connected.contains(&segment)
            || connected
                .iter()
                .any(|&c| graph.segments[c].subnet == Some(subnet))
        {
            continue;
        }
        let nearest = order
            .iter()
            .skip(1)
            .find(|r| s.routers.iter().any(|(n, _)| n == *r));
        if let Some(via) = nearest.and_then(|&r| first_hop[r]) {
            // A subnet cut in two (a cable down between two switches) is
            // one route, towards the nearer half.
            if !routes.iter().any(|r| r.to == subnet) {
                routes.push(Route { to: subnet, via });
            }
        }
    }
    routes.sort_by_key(|r| r.to);
    routes
}

#[cfg(test)]
mod tests {
    use crate::lab::load::check_text;
    use crate::lab::plan::{Plan, RouteOrigin, plan};

    fn plan_of(yaml: &str) -> Plan {
        let checked = check_text("lab.yaml", yaml.to_string());
        let (_, topo) = checked
            .valid
            .unwrap_or_else(|| panic!("{:#?}", checked.diagnostics));
        plan(&topo)
    }

    /// A router's routes as "to via" strings, sorted.
    fn routes(plan: &Plan, node: &str) -> Vec<String> {
        let mut out: Vec<String> = plan
            .node(node)
            .unwrap()
            .routes
            .iter()
            .map(|r| format!("{} via {}", r.to, r.via))
            .collect();
        out.sort();
        out
    }

    #[test]
    fn three_routers_in_a_line() {
        let plan = plan_of(
            "
name: line
nodes:
  r1: {kind: router, routing: auto, interfaces: {eth0: 10.0.12.1/30, eth1: 192.168.1.1/24}}
  r2: {kind: router, routing: auto, interfaces: {eth0: 10.0.12.2/30, eth1: 10.0.23.1/30}}
  r3: {kind: router, routing: auto, interfaces: {eth0: 10.0.23.2/30, eth1: 192.168.3.1/24}}
  sw1: {kind: switch}
  sw3: {kind: switch}
links:
  - [r1:eth0, r2:eth0]
  - [r2:eth1, r3:eth0]
  - [r1:eth1, sw1]
  - [r3:eth1, sw3]
",
        );
        assert_eq!(
            routes(&plan, "r1"),
            ["10.0.23.0/30 via 10.0.12.2", "192.168.3.0/24 via 10.0.12.2"]
        );
        assert_eq!(
            routes(&plan, "r2"),
            [
                "192.168.1.0/24 via 10.0.12.1",
                "192.168.3.0/24 via 10.0.23.2"
            ]
        );
        assert_eq!(
            routes(&plan, "r3"),
            ["10.0.12.0/30 via 10.0.23.1", "192.168.1.0/24 via 10.0.23.1"]
        );
        assert!(
            plan.nodes
                .iter()
                .flat_map(|n| &n.routes)
                .all(|r| r.origin == RouteOrigin::Auto)
        );
    }

    #[test]
    fn a_triangle_takes_the_direct_path() {
        let plan = plan_of(
            "
name: triangle
nodes:
  r1: {kind: router, routing: auto, interfaces: {eth0: 10.0.12.1/30, eth1: 10.0.13.1/30, eth2: 192.168.1.1/24}}
  r2: {kind: router, routing: auto, interfaces: {eth0: 10.0.12.2/30, eth1: 10.0.23.1/30, eth2: 192.168.2.1/24}}
  r3: {kind: router, routing: auto, interfaces: {eth0: 10.0.13.2/30, eth1: 10.0.23.2/30, eth2: 192.168.3.1/24}}
  sw1: {kind: switch}
  sw2: {kind: switch}
  sw3: {kind: switch}
links:
  - [r1:eth0, r2:eth0]
  - [r1:eth1, r3:eth0]
  - [r2:eth1, r3:eth1]
  - [r1:eth2, sw1]
  - [r2:eth2, sw2]
  - [r3:eth2, sw3]
",
        );
        // Each LAN is one hop away; the far cable is reached through the
        // first router met on it (r2 before r3, in file order).
        assert_eq!(
            routes(&plan, "r1"),
            [
                "10.0.23.0/30 via 10.0.12.2",
                "192.168.2.0/24 via 10.0.12.2",
                "192.168.3.0/24 via 10.0.13.2"
            ]
        );
        assert_eq!(
            routes(&plan, "r3"),
            [
                "10.0.12.0/30 via 10.0.13.1",
                "192.168.1.0/24 via 10.0.13.1",
                "192.168.2.0/24 via 10.0.23.1"
            ]
        );
    }

    #[test]
    fn a_stub_network_behind_a_static_router() {
        // r2 is a stub: static default route to r1; r1 learns r2's LAN.
        let plan = plan_of(
            "
name: stub
nodes:
  r1: {kind: router, routing: auto, interfaces: {eth0: 10.0.0.1/30, eth1: 192.168.1.1/24}}
  r2:
    kind: router
    interfaces: {eth0: 10.0.0.2/30, eth1: 192.168.2.1/24}
    routes: [{to: default, via: 10.0.0.1}]
  sw1: {kind: switch}
  sw2: {kind: switch}
  pc2: {kind: host, interfaces: {eth0: 192.168.2.10/24}, gateway: 192.168.2.1}
links:
  - [r1:eth0, r2:eth0]
  - [r1:eth1, sw1]
  - [r2:eth1, sw2]
  - [pc2, sw2]
",
        );
        assert_eq!(routes(&plan, "r1"), ["192.168.2.0/24 via 10.0.0.2"]);
        assert_eq!(routes(&plan, "r2"), ["0.0.0.0/0 via 10.0.0.1"]);
        assert_eq!(
            plan.node("r2").unwrap().routes[0].origin,
            RouteOrigin::Static
        );
        assert_eq!(routes(&plan, "pc2"), ["0.0.0.0/0 via 192.168.2.1"]);
        assert_eq!(
            plan.node("pc2").unwrap().routes[0].origin,
            RouteOrigin::Gateway
        );
    }

    #[test]
    fn a_static_route_wins_over_auto_for_the_same_network() {
        let plan = plan_of(
            "
name: override
nodes:
  r1:
    kind: router
    routing: auto
    interfaces: {eth0: 10.0.0.1/29, eth1: 192.168.1.1/24}
    routes: [{to: 192.168.2.0/24, via: 10.0.0.3}]
  r2: {kind: router, interfaces: {eth0: 10.0.0.2/29, eth1: 192.168.2.1/24}}
  r3: {kind: router, interfaces: {eth0: 10.0.0.3/29}}
  core: {kind: switch}
  sw1: {kind: switch}
  sw2: {kind: switch}
links:
  - [r1:eth0, core]
  - [r2:eth0, core]
  - [r3:eth0, core]
  - [r1:eth1, sw1]
  - [r2:eth1, sw2]
",
        );
        assert_eq!(routes(&plan, "r1"), ["192.168.2.0/24 via 10.0.0.3"]);
    }
}
