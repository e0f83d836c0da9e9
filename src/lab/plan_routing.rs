//! Routes of a running lab's routers over the links that are up: the
//! plan's cabling cut where a cable is down, searched by the same
//! `routing::shortest_routes` a fresh build uses. The lab daemon calls
//! this whenever a link goes down or comes back (re-convergence).

use std::collections::HashMap;

use super::model::NodeKind;
use super::plan::{Plan, PlanRoute, RouteOrigin};
use super::routing::{GraphSegment, RouterGraph, shortest_routes};

/// Whether each interface of each node (plan order) carries traffic now:
/// administratively up with a carrier.
pub type Carrier = Vec<Vec<bool>>;

/// Every interface up: the lab as built.
pub fn all_up(plan: &Plan) -> Carrier {
    plan.nodes
        .iter()
        .map(|n| vec![true; n.interfaces.len()])
        .collect()
}

/// Layer-2 segments over the links that are up: for every interface
/// (node, then interface) its segment, or None when it is cut off.
pub fn segments(plan: &Plan, up: &Carrier) -> Vec<Vec<Option<usize>>> {
    let offsets: Vec<usize> = plan
        .nodes
        .iter()
        .scan(0, |next, n| {
            let at = *next;
            *next += n.interfaces.len();
            Some(at)
        })
        .collect();
    let total: usize = plan.nodes.iter().map(|n| n.interfaces.len()).sum();
    let mut parent: Vec<usize> = (0..total).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let is_up = |node: usize, iface: usize| up.get(node).and_then(|n| n.get(iface)) == Some(&true);
    // An interface is on a segment only while its cable is up at both ends.
    let mut cabled = vec![false; total];
    for link in &plan.links {
        if is_up(link.a.node, link.a.iface) && is_up(link.b.node, link.b.iface) {
            let (a, b) = (
                offsets[link.a.node] + link.a.iface,
                offsets[link.b.node] + link.b.iface,
            );
            cabled[a] = true;
            cabled[b] = true;
            let (ra, rb) = (root(&mut parent, a), root(&mut parent, b));
            parent[ra] = rb;
        }
    }
    // A switch's bridge joins its ports that are cabled.
    for (n, node) in plan.nodes.iter().enumerate() {
        if node.kind == NodeKind::Switch {
            let ports: Vec<usize> = (0..node.interfaces.len())
                .map(|i| offsets[n] + i)
                .filter(|&p| cabled[p])
                .collect();
            for pair in ports.windows(2) {
                let (ra, rb) = (root(&mut parent, pair[0]), root(&mut parent, pair[1]));
                parent[ra] = rb;
            }
        }
    }
    let mut ids: HashMap<usize, usize> = HashMap::new();
    plan.nodes
        .iter()
        .enumerate()
        .map(|(n, node)| {
            (0..node.interfaces.len())
                .map(|i| {
                    let p = offsets[n] + i;
                    cabled[p].then(|| {
                        let r = root(&mut parent, p);
                        let next = ids.len();
                        *ids.entry(r).or_insert(next)
                    })
                })
                .collect()
        })
        .collect()
}

/// The routers' graph over the links that are up.
pub fn graph(plan: &Plan, up: &Carrier) -> RouterGraph {
    let segment = segments(plan, up);
    let count = segment
        .iter()
        .flatten()
        .flatten()
        .max()
        .map_or(0, |m| m + 1);
    let mut segments: Vec<GraphSegment> = (0..count).map(|_| GraphSegment::default()).collect();
    for (n, node) in plan.nodes.iter().enumerate() {
        for (i, iface) in node.interfaces.iter().enumerate() {
            if let (Some(s), Some(address)) = (segment[n][i], iface.address) {
                segments[s].subnet.get_or_insert(address.trunc());
            }
        }
    }
    // Routers on a segment in the order their links are written, as the
    // topology lists a segment's ends.
    for link in &plan.links {
        for end in [link.a, link.b] {
            let node = &plan.nodes[end.node];
            if node.kind != NodeKind::Router {
                continue;
            }
            if let (Some(s), Some(address)) =
                (segment[end.node][end.iface], plan.iface(end).address)
            {
                segments[s].routers.push((end.node, address.addr()));
            }
        }
    }
    let segments_of = plan
        .nodes
        .iter()
        .enumerate()
        .map(|(n, node)| {
            node.interfaces
                .iter()
                .enumerate()
                .filter(|(_, iface)| iface.address.is_some())
                .filter_map(|(i, _)| segment[n][i])
                .collect()
        })
        .collect();
    RouterGraph {
        segments,
        segments_of,
    }
}

/// Whether a router computes its routes (`routing: auto`); a plan saved
/// before the flag existed shows it by its computed routes.
pub fn routes_automatically(plan: &Plan, node: usize) -> bool {
    let node = &plan.nodes[node];
    node.auto_routing || node.routes.iter().any(|r| r.origin == RouteOrigin::Auto)
}

/// The routes router `node` should have now: its static routes as written
/// (those whose gateway is on a network it is still connected to), then
/// for `routing: auto` the shortest paths over `graph` to every other
/// network — the same order as the plan's.
pub fn converged_routes(
    plan: &Plan,
    graph: &RouterGraph,
    up: &Carrier,
    node: usize,
) -> Vec<PlanRoute> {
    let planned = &plan.nodes[node];
    let connected: Vec<_> = planned
        .interfaces
        .iter()
        .enumerate()
        .filter(|(i, _)| up.get(node).and_then(|n| n.get(*i)) == Some(&true))
        .filter_map(|(_, iface)| iface.address)
        .collect();
    let mut routes: Vec<PlanRoute> = planned
        .routes
        .iter()
        .filter(|r| r.origin != RouteOrigin::Auto)
        .filter(|r| connected.iter().any(|net| net.contains(&r.via)))
        .cloned()
        .collect();
    if routes_automatically(plan, node) {
        for route in shortest_routes(graph, node) {
            let written = planned
                .routes
                .iter()
                .any(|r| r.origin != RouteOrigin::Auto && r.to == route.to);
            if !written {
                routes.push(PlanRoute {
                    to: route.to,
                    via: route.via,
                    origin: RouteOrigin::Auto,
                });
            }
        }
    }
    routes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::load::check_text;
    use crate::lab::plan::plan;

    fn plan_of(path: &str) -> Plan {
        let text = std::fs::read_to_string(path).unwrap();
        let checked = check_text(path, text);
        let (_, topo) = checked
            .valid
            .unwrap_or_else(|| panic!("{path}: {:#?}", checked.diagnostics));
        plan(&topo)
    }

    fn shown(routes: &[PlanRoute]) -> Vec<String> {
        routes
            .iter()
            .map(|r| format!("{} via {}", r.to, r.via))
            .collect()
    }

    /// With every link up, the running lab's computation gives exactly the
    /// routes of a fresh build, for every lab shipped.
    #[test]
    fn all_links_up_gives_the_planned_routes_in_every_lab() {
        let mut labs = 0;
        for entry in std::fs::read_dir("labs").unwrap().flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "yaml") {
                continue;
            }
            let plan = plan_of(path.to_str().unwrap());
            let up = all_up(&plan);
            let graph = graph(&plan, &up);
            for (n, node) in plan.nodes.iter().enumerate() {
                if node.kind == NodeKind::Router {
                    assert_eq!(
                        shown(&converged_routes(&plan, &graph, &up, n)),
                        shown(&node.routes),
                        "{}: {}",
                        path.display(),
                        node.name
                    );
                }
            }
            labs += 1;
        }
        assert!(labs >= 6, "only {labs} labs found");
    }

    fn down(plan: &Plan, up: &mut Carrier, a: &str, b: &str) {
        for link in &plan.links {
            let names = [&plan.nodes[link.a.node].name, &plan.nodes[link.b.node].name];
            if (names[0] == a && names[1] == b) || (names[0] == b && names[1] == a) {
                up[link.a.node][link.a.iface] = false;
                up[link.b.node][link.b.iface] = false;
            }
        }
    }

    #[test]
    fn a_cut_in_the_triangle_moves_the_routes_to_the_third_router() {
        let plan = plan_of("labs/triangle.yaml");
        let r1 = plan.nodes.iter().position(|n| n.name == "r1").unwrap();
        let mut up = all_up(&plan);
        down(&plan, &mut up, "r1", "r2");
        let graph = graph(&plan, &up);
        let routes = shown(&converged_routes(&plan, &graph, &up, r1));
        // r2's LAN and the r2–r3 cable now through r3; the cut cable's
        // network is gone.
        assert_eq!(
            routes,
            [
                "10.0.23.0/30 via 10.0.13.2",
                "192.168.2.0/24 via 10.0.13.2",
                "192.168.3.0/24 via 10.0.13.2"
            ]
        );
    }

    #[test]
    fn a_static_route_through_a_cut_cable_is_left_out_until_it_is_back() {
        let plan = plan_of("labs/mastertech.yaml");
        for (n, node) in plan.nodes.iter().enumerate() {
            if node.kind != NodeKind::Router {
                continue;
            }
            let mut up = all_up(&plan);
            up[n].iter_mut().for_each(|u| *u = false);
            let graph = graph(&plan, &up);
            assert!(
                converged_routes(&plan, &graph, &up, n).is_empty(),
                "{}",
                node.name
            );
        }
    }
}
