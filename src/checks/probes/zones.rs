//! The lab's DNS data as the plan serves it, for diagnoses: which servers
//! hold the zone of a name, which record gives it, and the glue records on
//! the way down from the root that point at a node which does not serve the
//! zone delegated to it. Pure: it reads the plan and a `Network`.

use std::net::Ipv4Addr;

use crate::lab::network::Network;
use crate::lab::zones::{RecordValue, absolute, display, in_zone};

/// The nodes that hold zone `origin` (absolute), by plan index.
pub fn servers_of(net: &Network, origin: &str) -> Vec<usize> {
    let origin = absolute(origin);
    (0..net.plan.nodes.len())
        .filter(|&n| {
            net.node(n)
                .dns_server
                .as_ref()
                .is_some_and(|d| d.zones.iter().any(|z| z.origin == origin))
        })
        .collect()
}

/// The zones node `n` holds (origins without the final dot; "." for the root).
pub fn zones_of(net: &Network, n: usize) -> Vec<String> {
    net.node(n)
        .dns_server
        .iter()
        .flat_map(|d| &d.zones)
        .filter(|z| !z.reverse)
        .map(|z| display(&z.origin))
        .collect()
}

/// The most specific zone in the lab that `name` falls in, and who holds it.
pub fn zone_for(net: &Network, name: &str) -> Option<(String, Vec<usize>)> {
    let name = absolute(name);
    let origin = net
        .plan
        .nodes
        .iter()
        .filter_map(|n| n.dns_server.as_ref())
        .flat_map(|d| &d.zones)
        .filter(|z| !z.reverse && in_zone(&name, &z.origin))
        .map(|z| z.origin.clone())
        .max_by_key(|o| if o == "." { 0 } else { o.len() })?;
    let servers = servers_of(net, &origin);
    Some((display(&origin), servers))
}

/// The A records for `name` in the lab's zones: (server node, zone, address).
pub fn a_records(net: &Network, name: &str) -> Vec<(usize, String, Ipv4Addr)> {
    let name = absolute(name);
    let mut found = Vec::new();
    for (n, node) in net.plan.nodes.iter().enumerate() {
        for zone in node.dns_server.iter().flat_map(|d| &d.zones) {
            for ip in zone.addresses_of(&name) {
                found.push((n, display(&zone.origin), ip));
            }
        }
    }
    found
}

/// The first glue record on the way to `name` that points at an address
/// whose node does not serve the zone it delegates, in words.
pub fn bad_glue(net: &Network, name: &str) -> Option<String> {
    let name = absolute(name);
    for (s, node) in net.plan.nodes.iter().enumerate() {
        for zone in node.dns_server.iter().flat_map(|d| &d.zones) {
            for delegation in &zone.records {
                let RecordValue::Ns(target) = &delegation.data else {
                    continue;
                };
                let child = &delegation.name;
                if *child == zone.origin || !in_zone(&name, child) {
                    continue;
                }
                let target = absolute(target);
                for ip in zone.addresses_of(&target) {
                    let serving = servers_of(net, child);
                    let owner = net.owner(ip).map(|(o, _)| o);
                    if owner.is_some_and(|o| serving.contains(&o)) {
                        continue;
                    }
                    let points_at = match owner {
                        Some(o) if net.node(o).dns_server.is_none() => {
                            format!("{}, which runs no DNS server", net.node(o).name)
                        }
                        Some(o) => format!(
                            "{}, which does not serve {}",
                            net.node(o).name,
                            display(child)
                        ),
                        None => "an address no node has".to_string(),
                    };
                    let right: Vec<String> = serving
                        .iter()
                        .map(|&o| {
                            let ips: Vec<String> =
                                net.node_addresses(o).map(|a| a.to_string()).collect();
                            format!("{} ({})", net.node(o).name, ips.join(", "))
                        })
                        .collect();
                    let mut s = format!(
                        "the glue record {} A {ip} in zone {} on {} points to {points_at}",
                        display(&target),
                        display(&zone.origin),
                        net.node(s).name
                    );
                    if !right.is_empty() {
                        s.push_str(&format!(
                            "; {} is served by {}",
                            display(child),
                            right.join(", ")
                        ));
                    }
                    return Some(s);
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::network::tests::plan_of;

    fn hierarchy(glue: &str) -> String {
        std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/labs/dns-hierarchy.yaml"
        ))
        .unwrap()
        .replace(
            "ns.example: {A: ns-example}",
            &format!("ns.example: {{A: {glue}}}"),
        )
    }

    #[test]
    fn a_glue_record_pointing_at_the_wrong_node_is_named() {
        let plan = plan_of(&hierarchy("ns-example"));
        let net = Network::planned(&plan);
        assert_eq!(bad_glue(&net, "www.example.com"), None);
        let plan = plan_of(&hierarchy("10.0.0.2"));
        let net = Network::planned(&plan);
        assert_eq!(
            bad_glue(&net, "www.example.com").as_deref(),
            Some(
                "the glue record ns.example.com A 10.0.0.2 in zone com on tld-com points to root, which does not serve example.com; example.com is served by ns-example (10.0.0.4)"
            )
        );
        // Names outside the delegation are not its business.
        assert_eq!(bad_glue(&net, "a.gtld-servers.net"), None);
        let (zone, servers) = zone_for(&net, "www.example.com").unwrap();
        assert_eq!(zone, "example.com");
        assert_eq!(servers, [net.index_of("ns-example").unwrap()]);
        assert_eq!(
            a_records(&net, "www.example.com"),
            [(
                net.index_of("ns-example").unwrap(),
                "example.com".into(),
                "10.0.0.4".parse().unwrap()
            )]
        );
    }
}
