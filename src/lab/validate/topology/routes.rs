//! A node's static routes: its gateway (on the node or on an interface) as
//! the default route, and its `routes`, each with a next hop it can reach.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use crate::lab::addr::{DEFAULT_ROUTE, SubnetExt, parse_ipv4, parse_net};
use crate::lab::model::{Lab, NodeKind, Routing};
use crate::lab::raw::Step;
use crate::lab::topology::{Addressing, End, Route, Topology};
use crate::lab::validate::findings::Findings;
use crate::lab::validate::iface_path;
use crate::path;

/// The static routes of node `index`, with its gateway as a default route.
pub(super) fn resolve_routes(
    found: &mut Findings,
    lab: &Lab,
    topo: &Topology,
    index: usize,
) -> Vec<Route> {
    let node_name = topo.nodes[index].name.clone();
    let node = &lab.nodes[node_name.as_str()];
    let kind = node.kind;
    let connected: Vec<Ipv4Net> = (0..topo.nodes[index].interfaces.len())
        .filter_map(|i| {
            topo.static_address(End {
                node: index,
                iface: i,
            })
        })
        .collect();
    let has_dhcp = topo.nodes[index]
        .interfaces
        .iter()
        .any(|i| i.addressing == Addressing::Dhcp);
    let mut routes: Vec<Route> = Vec::new();
    // (where it is written, what it says) for every default route.
    let mut defaults: Vec<(Vec<Step>, String)> = Vec::new();

    if node.routing == Some(Routing::Auto) && kind != NodeKind::Router {
        found.error(
            &path!["nodes", node_name.as_str(), "routing"],
            format!(
                "`routing: auto` is for routers, and {node_name} is a {}",
                kind.as_str()
            ),
            "hosts and servers use `gateway` instead",
        );
    }
    // (where, text, the interface it is written on)
    let mut gateways: Vec<(Vec<Step>, &str, Option<&str>)> = Vec::new();
    if let Some(gw) = &node.gateway {
        gateways.push((
            path!["nodes", node_name.as_str(), "gateway"].to_vec(),
            gw,
            None,
        ));
    }
    for (ifname, spec) in &node.interfaces {
        if let Some(gw) = spec.gateway() {
            gateways.push((
                iface_path(&node_name, ifname, Some("gateway")),
                gw,
                Some(ifname.as_str()),
            ));
        }
    }
    for (at, text, on) in gateways {
        if has_dhcp && kind.is_end_device() {
            found.error(
                    &at,
                    format!("{node_name} gets its default gateway by DHCP, so it cannot also have one here"),
                    "remove this gateway (the DHCP server's pool gives it), or make the interface static",
                );
            continue;
        }
        if !kind.is_end_device() {
            found.error(
                &at,
                format!("a {} has no default gateway", kind.as_str()),
                if kind == NodeKind::Router {
                    "a router's default route is a route: `routes: [{to: default, via: ADDRESS}]`"
                } else {
                    "a switch needs no gateway: remove it"
                },
            );
            continue;
        }
        if let Some((address, _)) = text.split_once('/') {
            found.error(
                &at,
                format!("a gateway is an address without a prefix: `{text}`"),
                format!("write `{address}`"),
            );
            continue;
        }
        let gw = match parse_ipv4(text) {
            Ok(gw) => gw,
            Err(message) => {
                found.error(
                    &at,
                    message,
                    "the gateway is the router's address on this subnet, e.g. 192.168.1.1",
                );
                continue;
            }
        };
        if !next_hop_ok(found, topo, &at, &node_name, gw, &connected, has_dhcp) {
            continue;
        }
        let own_net = on.and_then(|ifname| {
            let i = topo.nodes[index]
                .interfaces
                .iter()
                .position(|i| i.name == ifname)?;
            topo.static_address(End {
                node: index,
                iface: i,
            })
        });
        if let (Some(ifname), Some(net)) = (on, own_net)
            && !net.contains(&gw)
        {
            found.error(
                &at,
                format!("gateway {gw} is not on {ifname}'s subnet {}", net.trunc()),
                format!(
                    "a gateway written on {ifname} must be a router address in {}",
                    net.trunc()
                ),
            );
            continue;
        }
        defaults.push((at, format!("gateway {gw}")));
        routes.push(Route {
            to: DEFAULT_ROUTE,
            via: gw,
        });
    }
    for (ri, route) in node.routes.iter().enumerate() {
        let at = path!["nodes", node_name.as_str(), "routes", ri].to_vec();
        if kind == NodeKind::Switch {
            found.error(
                &at,
                "a switch has no routes",
                "put routes on routers and hosts",
            );
            continue;
        }
        let to = if route.to == "default" {
            DEFAULT_ROUTE
        } else {
            match parse_net(&route.to) {
                Ok(net) if !net.is_network_address() => {
                    let mut to_at = at.clone();
                    to_at.push(Step::from("to"));
                    found.error(
                        &to_at,
                        format!("{net} is an address, not a network"),
                        format!("the destination is the network: write {}", net.trunc()),
                    );
                    continue;
                }
                Ok(net) => net,
                Err(e) => {
                    let mut to_at = at.clone();
                    to_at.push(Step::from("to"));
                    found.error(
                        &to_at,
                        e.message,
                        "write a network like 192.168.2.0/24, or `default`",
                    );
                    continue;
                }
            }
        };
        if let Some(net) = connected.iter().find(|n| n.trunc() == to) {
            found.error(
                &at,
                format!(
                    "{node_name} is directly on {to} ({}): it needs no route there",
                    net.addr()
                ),
                "remove this route",
            );
            continue;
        }
        if to != DEFAULT_ROUTE && routes.iter().any(|r| r.to == to) {
            found.error(
                &at,
                format!("{node_name} has two routes to {to}"),
                "keep one route per destination",
            );
            continue;
        }
        let mut via_at = at.clone();
        via_at.push(Step::from("via"));
        let via = match parse_ipv4(&route.via) {
            Ok(via) => via,
            Err(message) => {
                found.error(
                    &via_at,
                    message,
                    "`via` is the next router's address, e.g. 10.0.0.2",
                );
                continue;
            }
        };
        if !next_hop_ok(found, topo, &via_at, &node_name, via, &connected, has_dhcp) {
            continue;
        }
        if to == DEFAULT_ROUTE {
            defaults.push((at, format!("route to default via {via}")));
        }
        routes.push(Route { to, via });
    }
    defaults.sort_by_key(|(at, _)| found.pos(at));
    if defaults.len() > 1 {
        let (at, what) = defaults[1].clone();
        let first = defaults[0].1.clone();
        let line = found.pos(&defaults[0].0).line;
        let message = if first == what {
            format!("{node_name}'s default gateway is written twice: {what} (line {line} and here)")
        } else {
            format!("{node_name} has two default gateways: {first} (line {line}) and {what}")
        };
        found.error(
            &at,
            message,
            "a node sends off-subnet traffic to one gateway: keep one of them",
        );
    }
    routes
}

/// A next hop must be on one of the node's subnets and not the node itself.
fn next_hop_ok(
    found: &mut Findings,
    topo: &Topology,
    at: &[Step],
    node_name: &str,
    hop: Ipv4Addr,
    connected: &[Ipv4Net],
    has_dhcp: bool,
) -> bool {
    if connected.iter().any(|n| n.addr() == hop) {
        found.error(
            at,
            format!("{hop} is {node_name}'s own address"),
            "the next hop is another node, usually the router",
        );
        return false;
    }
    if let Some(net) = connected.iter().find(|n| n.contains(&hop))
        && net.reserves(hop)
    {
        found.error(
            at,
            format!(
                "{hop} is the network or broadcast address of {}, not a router",
                net.trunc()
            ),
            "the next hop is a router's own address on this subnet",
        );
        return false;
    }
    if connected.iter().any(|n| n.contains(&hop)) {
        let known = topo.segments.iter().any(|s| {
            s.ends
                .iter()
                .any(|&e| topo.static_address(e).is_some_and(|a| a.addr() == hop))
        });
        if !known {
            found.warn(
                at,
                format!("no node in this lab has the address {hop}"),
                "the next hop should be the address of a router on the same subnet",
            );
        }
        return true;
    }
    let subnets: Vec<String> = connected.iter().map(|n| n.trunc().to_string()).collect();
    let hint = if subnets.is_empty() && has_dhcp {
        format!("{node_name} gets its address by DHCP, which also gives the gateway: remove this")
    } else if subnets.is_empty() {
        format!("{node_name} has no static address, so no next hop is reachable")
    } else {
        format!(
            "{node_name} is on {}: use a router address there",
            subnets.join(", ")
        )
    };
    found.error(
        at,
        format!("{hop} is not on any subnet of {node_name}"),
        hint,
    );
    false
}
