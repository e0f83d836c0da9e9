//! Semantic validation: turns the typed model into a `Topology`, reporting
//! every problem (not just the first) at its place in the file with a hint.
//!
//! It runs as passes, each taking what it needs (the model, the raw tree for
//! positions, the outputs of earlier passes) and returning what it resolved
//! with the diagnostics it found:
//!
//! ```text
//! topology ─▶ Topology (network: nodes, interfaces, links, segments, routes)
//!   ├─▶ dhcp ───▶ pools by node ─┐
//!   ├─▶ agents ─▶ mail accounts and web sites by node
//!   ├─▶ dns ◀────────────────────┘ (reserved addresses) ─▶ DNS servers by node
//!   ├─▶ mail ───▶ mail plans by node
//!   ├─▶ providers ▶ warnings: pool gateways are routers, DNS servers run DNS
//!   ├─▶ mail_clients ▶ warnings: PCs' mail settings against servers and zones
//!   ├─▶ hints ──▶ warnings only
//!   ├─▶ impairments ▶ impaired cables (link index, netem settings)
//!   └─▶ reachability ▶ warnings: LANs that cannot reach each other (error-free labs)
//! ```
//!
//! Diagnostics are kept in that order; the services resolved are then
//! attached to the topology's nodes.

use super::diagnostic::Diagnostic;
use super::model::{Lab, NodeKind};
use super::raw::{RawNode, Step};
use super::topology::{TopoNode, Topology};
use crate::path;

mod agents;
mod dhcp;
mod dns;
mod findings;
mod hints;
mod impairments;
mod mail;
mod mail_clients;
mod names;
mod providers;
mod reachability;
mod topology;

#[cfg(test)]
mod tests;

pub use names::{
    MAX_IFNAME, MAX_NAME, name_problem, valid_address, valid_domain, valid_query_name,
};

/// The lab's topology with its services (`None` if anything is an error),
/// and every diagnostic the passes found.
pub fn validate(lab: &Lab, raw: &RawNode) -> (Option<Topology>, Vec<Diagnostic>) {
    let (mut topology, mut found) = topology::resolve_topology(lab, raw);
    let (dhcp, dhcp_found) = dhcp::resolve_dhcp(lab, raw, &topology);
    found.extend(dhcp_found);
    let (agents, agents_found) = agents::resolve_agents(lab, raw, &topology);
    found.extend(agents_found);
    let (dns, dns_found) = dns::resolve_dns(lab, raw, &topology, &dhcp);
    found.extend(dns_found);
    let (mail, mail_found) = mail::resolve_mail(lab, raw, &topology);
    found.extend(mail_found);
    found.extend(providers::provider_warnings(lab, raw, &topology));
    let resolved = mail_clients::Resolved {
        agents: &agents,
        mail: &mail,
        dns: &dns,
    };
    found.extend(mail_clients::mail_client_warnings(
        lab, raw, &topology, &resolved,
    ));
    found.extend(hints::reachability_warnings(lab, raw, &topology));
    let (impaired, impaired_found) = impairments::resolve_impairments(lab, raw, &topology);
    found.extend(impaired_found);
    topology.impairments = impaired;
    // Walking packets through a lab with errors would guess at its routes.
    if !found.iter().any(Diagnostic::is_error) {
        found.extend(reachability::routing_warnings(lab, raw, &topology, &dhcp));
    }

    // Every pass's output is by node index, like `topology.nodes`.
    let services = dhcp.pools.into_iter().zip(agents).zip(dns).zip(mail);
    for (node, (((dhcp_pools, agents), dns_server), mail)) in
        topology.nodes.iter_mut().zip(services)
    {
        node.dhcp_pools = dhcp_pools;
        node.agents = agents;
        node.dns_server = dns_server;
        node.mail = mail;
    }
    let ok = !found.iter().any(Diagnostic::is_error);
    (Some(topology).filter(|_| ok), found)
}

/// Where an interface's settings are in the file, for messages.
fn iface_path(node: &str, iface: &str, field: Option<&str>) -> Vec<Step> {
    let mut p = path!["nodes", node, "interfaces", iface].to_vec();
    if let Some(f) = field {
        p.push(Step::from(f));
    }
    p
}

/// A switch of this lab to name in hints, or a placeholder.
fn some_switch(nodes: &[TopoNode]) -> String {
    nodes
        .iter()
        .find(|n| n.kind == NodeKind::Switch)
        .map_or("OTHER-NODE".to_string(), |n| n.name.clone())
}
