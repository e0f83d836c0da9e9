//! Addresses that name who provides something: a DHCP pool's gateway must
//! be a router on the pool's network, and a DNS server (a pool's or a
//! node's own) must be a node that runs DNS. Warnings only: a lab can be
//! built with either wrong (a starter may even leave it wrong on purpose),
//! but a client then has no way off its network, or no answers.

use std::net::Ipv4Addr;

use super::findings::Findings;
use crate::lab::addr::parse_ipv4;
use crate::lab::diagnostic::Diagnostic;
use crate::lab::model::{Lab, NodeKind};
use crate::lab::raw::{RawNode, Step};
use crate::lab::topology::Topology;
use crate::path;

#[cfg(test)]
mod tests;

/// Warnings for gateways that are not routers and DNS servers that run no
/// DNS. Addresses that do not parse or lie outside the pool's network are
/// the DHCP and topology passes' errors, and are skipped here.
pub(super) fn provider_warnings(lab: &Lab, raw: &RawNode, topo: &Topology) -> Vec<Diagnostic> {
    let mut found = Findings::new(raw);
    let dns_servers = dns_server_list(lab, topo);
    for node in &topo.nodes {
        let written = &lab.nodes[node.name.as_str()];
        for (i, text) in written.dns.iter().enumerate() {
            if let Ok(address) = parse_ipv4(text) {
                let at = path!["nodes", node.name.as_str(), "dns", i];
                check_dns_server(&mut found, lab, topo, &at, address, &dns_servers);
            }
        }
        let Some(dhcp) = written.services.as_ref().and_then(|s| s.dhcp.as_ref()) else {
            continue;
        };
        for (p, pool) in dhcp.pools.iter().enumerate() {
            let pool_at = path!["nodes", node.name.as_str(), "services", "dhcp", "pools", p];
            let field = |steps: &[Step]| -> Vec<Step> {
                pool_at
                    .iter()
                    .cloned()
                    .chain(steps.iter().cloned())
                    .collect()
            };
            if let Some(gateway) = pool.gateway.as_deref().and_then(|t| parse_ipv4(t).ok()) {
                check_gateway(&mut found, topo, &field(&path!["gateway"]), gateway);
            }
            for (i, text) in pool.dns.iter().enumerate() {
                if let Ok(address) = parse_ipv4(text) {
                    let at = field(&path!["dns", i]);
                    check_dns_server(&mut found, lab, topo, &at, address, &dns_servers);
                }
            }
        }
    }
    found.into_list()
}

/// A pool's gateway is what its clients send every off-network packet to:
/// it must be a router's address on the pool's network.
fn check_gateway(found: &mut Findings, topo: &Topology, at: &[Step], gateway: Ipv4Addr) {
    let Some(subnet) = topo
        .segments
        .iter()
        .filter_map(|s| s.subnet)
        .find(|n| n.contains(&gateway))
    else {
        return;
    };
    let routers: Vec<String> = topo
        .nodes
        .iter()
        .filter(|n| n.kind == NodeKind::Router)
        .flat_map(|n| {
            n.static_addresses()
                .filter(|a| subnet.contains(a))
                .map(move |a| format!("{a} ({})", n.name))
        })
        .collect();
    let hint = if routers.is_empty() {
        format!("no router has an address on {subnet}: give one an address there and use it")
    } else {
        format!(
            "use the router's address on {subnet}: {}",
            routers.join(" or ")
        )
    };
    match topo.owner_of(gateway) {
        None => found.warn(
            at,
            format!("gateway {gateway}: no node of this lab has that address"),
            hint,
        ),
        Some(end) if topo.nodes[end.node].kind != NodeKind::Router => {
            let owner = &topo.nodes[end.node];
            found.warn(
                at,
                format!(
                    "gateway {gateway} is {}, a {} that does not forward packets",
                    owner.name,
                    owner.kind.as_str()
                ),
                hint,
            );
        }
        Some(_) => {}
    }
}

/// The lab's DNS servers as `ADDRESS (NODE)`, for hints.
fn dns_server_list(lab: &Lab, topo: &Topology) -> Vec<String> {
    topo.nodes
        .iter()
        .filter(|n| runs_dns(lab, &n.name))
        .flat_map(|n| {
            n.static_addresses()
                .map(move |a| format!("{a} ({})", n.name))
        })
        .collect()
}

fn runs_dns(lab: &Lab, node: &str) -> bool {
    lab.nodes[node]
        .services
        .as_ref()
        .is_some_and(|s| s.dns.is_some())
}

/// A DNS server address must be a node that runs DNS.
fn check_dns_server(
    found: &mut Findings,
    lab: &Lab,
    topo: &Topology,
    at: &[Step],
    address: Ipv4Addr,
    servers: &[String],
) {
    let hint = if servers.is_empty() {
        "no node of this lab runs DNS yet: add `services: {dns: …}` to a server and use its address"
            .to_string()
    } else {
        format!("the lab's DNS servers: {}", servers.join(", "))
    };
    match topo.owner_of(address) {
        None => found.warn(
            at,
            format!("DNS server {address}: no node of this lab has that address"),
            hint,
        ),
        Some(end) if !runs_dns(lab, &topo.nodes[end.node].name) => found.warn(
            at,
            format!(
                "DNS server {address} is {}, which runs no DNS service",
                topo.nodes[end.node].name
            ),
            hint,
        ),
        Some(_) => {}
    }
}
