//! `routing: auto`: shortest-path (fewest routers) routes from a router to
//! every subnet of the lab it is not directly connected to.

use std::collections::VecDeque;
use std::net::Ipv4Addr;

use super::model::NodeKind;
use super::topology::{Addressing, Route, Topology};

/// The routes router `start` needs to reach every subnet of the lab. Ties
/// between equally short paths go to the path found first: the search goes
/// through a router's interfaces in name order, and through the routers on
/// a network in the order their links are written.
pub fn auto_routes(topo: &Topology, start: usize) -> Vec<Route> {
    // For every segment: the routers on it and their address there.
    let routers_on: Vec<Vec<(usize, Ipv4Addr)>> = topo
        .segments
        .iter()
        .map(|s| {
            s.ends
                .iter()
                .filter(|e| topo.nodes[e.node].kind == NodeKind::Router)
                .filter_map(|&e| topo.static_address(e).map(|a| (e.node, a.addr())))
                .collect()
        })
        .collect();
    // A router reaches a network only through an interface with an address.
    let segments_of = |node: usize| -> Vec<usize> {
        topo.nodes[node]
            .interfaces
            .iter()
            .filter(|i| matches!(i.addressing, Addressing::Static(_)))
            .map(|i| i.segment)
            .collect()
    };

    // Breadth-first over routers; remember the first hop towards each.
    let mut first_hop: Vec<Option<Ipv4Addr>> = vec![None; topo.nodes.len()];
    let mut visited = vec![false; topo.nodes.len()];
    let mut order = Vec::new();
    let mut queue = VecDeque::from([start]);
    visited[start] = true;
    while let Some(router) = queue.pop_front() {
        order.push(router);
        for segment in segments_of(router) {
            for &(next, address) in &routers_on[segment] {
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

    let connected = segments_of(start);
    let mut routes = Vec::new();
    for (segment, s) in topo.segments.iter().enumerate() {
        let Some(subnet) = s.subnet else { continue };
        if connected.contains(&segment) {
            continue;
        }
        let nearest = order
            .iter()
            .skip(1)
            .find(|r| routers_on[segment].iter().any(|(n, _)| n == *r));
        if let Some(via) = nearest.and_then(|&r| first_hop[r]) {
            routes.push(Route { to: subnet, via });
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
