//! `routing: auto`: shortest-path (fewest routers) routes from a router to
//! every subnet of the lab it is not directly connected to.

use std::collections::VecDeque;
use std::net::Ipv4Addr;

use super::model::NodeKind;
use super::topology::{Route, Topology};

/// The routes router `start` needs to reach every subnet of the lab. Ties
/// between equally short paths go to the router met first in file order.
pub fn auto_routes(topo: &Topology, start: usize) -> Vec<Route> {
    // For every segment: the routers on it and their address there.
    let routers_on: Vec<Vec<(usize, Ipv4Addr)>> = topo
        .segments
        .iter()
        .map(|s| {
            s.ends
                .iter()
                .filter(|e| topo.nodes[e.node].kind == NodeKind::Router)
                .filter_map(|&e| topo.static_address(e).map(|a| (e.node, a.addr)))
                .collect()
        })
        .collect();
    let segments_of = |node: usize| -> Vec<usize> {
        topo.nodes[node]
            .interfaces
            .iter()
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
