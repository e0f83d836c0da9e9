//! The topology pass: names checked, interfaces declared and cabled, layer-2
//! segments and their subnets found, MACs and addresses unique, and each
//! node's static routes resolved. Its `Topology` has no services yet: the
//! later passes resolve those from it.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use super::findings::Findings;
use super::names::{name_problem, name_rule, valid_domain};
use crate::lab::addr::parse_ipv4;
use crate::lab::diagnostic::Diagnostic;
use crate::lab::model::{Lab, Node, NodeKind, Routing};
use crate::lab::raw::RawNode;
use crate::lab::topology::{TopoNode, Topology};
use crate::path;

mod addresses;
mod interfaces;
mod links;
mod routes;
mod segments;
#[cfg(test)]
mod tests;

pub(super) use segments::segment_name;

/// Resolves the lab's network (everything but its services), reporting
/// every problem on the way.
pub(super) fn resolve_topology(lab: &Lab, raw: &RawNode) -> (Topology, Vec<Diagnostic>) {
    let mut found = Findings::new(raw);
    if let Some(why) = name_problem(&lab.name) {
        found.error(
            &path!["name"],
            format!("`{}` cannot be a lab name: {why}", lab.name),
            name_rule("lab names"),
        );
    }
    let mut nodes: Vec<TopoNode> = Vec::new();
    let mut declared: Vec<Vec<interfaces::Declared>> = Vec::new();
    let mut lowercase_names: HashMap<String, String> = HashMap::new();
    for (name, node) in &lab.nodes {
        let key_path = path!["nodes"];
        if let Some(why) = name_problem(name) {
            found.error_at_key(
                &key_path,
                name,
                format!("`{name}` cannot be a node name: {why}"),
                name_rule("node names"),
            );
        }
        if let Some(other) = lowercase_names.insert(name.to_lowercase(), name.clone()) {
            found.error_at_key(
                &key_path,
                name,
                format!("node `{name}` and node `{other}` differ only in capitals"),
                "node names are hostnames, where case does not count: rename one".to_string(),
            );
        }
        declared.push(interfaces::declared_interfaces(&mut found, name, node));
        nodes.push(TopoNode {
            name: name.clone(),
            kind: node.kind,
            interfaces: Vec::new(),
            dns: dns_servers(&mut found, name, node),
            domain: node.domain.clone(),
            routing: node.routing.unwrap_or(Routing::Static),
            routes: Vec::new(),
            dhcp_pools: None,
            agents: Default::default(),
            dns_server: None,
            mail: None,
        });
    }
    let links = links::resolve_links(&mut found, lab, &mut nodes, &declared);
    let segments = segments::find_segments(&mut found, &mut nodes, &links);
    let mut topology = Topology {
        name: lab.name.clone(),
        description: lab.description.clone(),
        nodes,
        links,
        segments,
        impairments: Vec::new(),
    };
    addresses::assign_subnets(&mut found, lab, &mut topology);
    addresses::check_unique_macs(&mut found, &topology);
    for index in 0..topology.nodes.len() {
        topology.nodes[index].routes = routes::resolve_routes(&mut found, lab, &topology, index);
    }
    (topology, found.into_list())
}

/// The DNS servers a node is given (`dns:`), and its `domain` checked.
fn dns_servers(found: &mut Findings, node_name: &str, node: &Node) -> Vec<Ipv4Addr> {
    if node.kind == NodeKind::Switch && (!node.dns.is_empty() || node.domain.is_some()) {
        let field = if node.dns.is_empty() { "domain" } else { "dns" };
        found.error(
            &path!["nodes", node_name, field],
            format!("switch `{node_name}` cannot have DNS settings"),
            "remove `dns` and `domain` from the switch",
        );
    }
    if !node.dns.is_empty()
        && node
            .interfaces
            .values()
            .any(|i| i.address() == Some("dhcp"))
    {
        found.error(
            &path!["nodes", node_name, "dns"],
            format!("{node_name} gets its DNS servers by DHCP, so it cannot also have `dns` here"),
            "remove `dns` (the DHCP server's pool gives it), or make the interface static",
        );
    }
    let mut out = Vec::new();
    for (i, text) in node.dns.iter().enumerate() {
        match parse_ipv4(text) {
            Ok(ip) => out.push(ip),
            Err(message) => found.error(
                &path!["nodes", node_name, "dns", i],
                message,
                "a DNS server is an address, e.g. 192.168.1.5",
            ),
        }
    }
    if let Some(domain) = &node.domain
        && !valid_domain(domain)
    {
        found.error(
            &path!["nodes", node_name, "domain"],
            format!("`{domain}` is not a domain name"),
            "write labels of letters, digits and `-` joined by dots, e.g. cbrc.com",
        );
    }
    out
}
