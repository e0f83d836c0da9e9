//! Mermaid and Graphviz DOT source of a plan: routers, switches, servers
//! and PCs in shapes of their own, each cable with the interface names and
//! addresses at its ends, and the services a node runs under its name.
//! Given a running lab's addresses (DHCP leases included), it draws the lab
//! as it is now.

use std::collections::BTreeSet;
use std::fmt::Write;

use ipnet::Ipv4Net;

use super::{GraphFormat, LiveAddresses};
use crate::daemon::services;
use crate::lab::model::NodeKind;
use crate::lab::plan::{Plan, PlanEnd, PlanIface, PlanLink, PlanNode};

/// Mermaid or DOT source; `live` replaces the planned addresses.
/// The cables in `down` (plan link indices) are drawn dashed, labelled "down".
pub fn render(
    plan: &Plan,
    live: Option<&LiveAddresses>,
    down: &BTreeSet<usize>,
    format: GraphFormat,
) -> String {
    match format {
        GraphFormat::Mermaid => mermaid(plan, live, down),
        GraphFormat::Dot | GraphFormat::Svg | GraphFormat::Png => dot(plan, live, down),
    }
}

/// The node's name, its kind (unless the name says it), the interfaces
/// of a PC or server (they have few, and their cable ends stay clear) and
/// its services, one per line.
fn node_lines(node: &PlanNode, live: Option<&LiveAddresses>) -> Vec<String> {
    let kind = match node.kind {
        NodeKind::Host => "PC",
        other => other.as_str(),
    };
    let mut lines = vec![node.name.clone()];
    if !node.name.eq_ignore_ascii_case(kind) {
        lines.push(kind.to_string());
    }
    if labels_own_interfaces(node) {
        lines.extend(
            node.interfaces
                .iter()
                .map(|i| iface_lines(node, i, live).join(" ")),
        );
    }
    let services = services::summary(node);
    if !services.is_empty() {
        lines.push(services);
    }
    lines
}

/// PCs and servers carry their addresses in their own label.
fn labels_own_interfaces(node: &PlanNode) -> bool {
    matches!(node.kind, NodeKind::Host | NodeKind::Server)
}

/// The interface's name and addresses, one per line: `eth0`,
/// `192.168.10.100/24 (DHCP)`, `relay → 192.168.10.2`.
fn iface_lines(node: &PlanNode, iface: &PlanIface, live: Option<&LiveAddresses>) -> Vec<String> {
    let mut lines = vec![iface.name.clone()];
    let now = live.and_then(|l| l.get(&format!("{}/{}", node.name, iface.name)));
    let addresses: Vec<Ipv4Net> = match now {
        Some(addresses) => addresses.clone(),
        None => iface.address.into_iter().collect(),
    };
    for address in &addresses {
        if iface.dhcp {
            lines.push(format!("{address} (DHCP)"));
        } else {
            lines.push(address.to_string());
        }
    }
    if iface.dhcp && addresses.is_empty() {
        lines.push("DHCP".into());
    }
    if let Some(server) = iface.dhcp_relay {
        lines.push(format!("relay → {server}"));
    }
    lines
}

fn mermaid(plan: &Plan, live: Option<&LiveAddresses>, down: &BTreeSet<usize>) -> String {
    let mut out = String::from("graph LR\n");
    for (i, node) in plan.nodes.iter().enumerate() {
        let label = mermaid_text(&node_lines(node, live).join("<br/>"));
        let (open, close) = match node.kind {
            NodeKind::Router => ("{{", "}}"),
            NodeKind::Switch => ("[[", "]]"),
            NodeKind::Server => ("[(", ")]"),
            NodeKind::Host => ("(", ")"),
        };
        let _ = writeln!(out, "  n{i}{open}\"{label}\"{close}");
    }
    for (index, link) in plan.links.iter().enumerate() {
        let end = |e: PlanEnd| {
            let node = &plan.nodes[e.node];
            let iface = &node.interfaces[e.iface];
            if labels_own_interfaces(node) {
                iface.name.clone()
            } else {
                iface_lines(node, iface, live).join(" ")
            }
        };
        let (upper, lower) = ordered(plan, link);
        // A cable that is down: a dotted line, "down" in its label.
        let (line, state) = if down.contains(&index) {
            ("-.-", " (down)")
        } else {
            ("---", "")
        };
        let _ = writeln!(
            out,
            "  n{} {line}|\"{} — {}{state}\"| n{}",
            upper.node,
            mermaid_text(&end(upper)),
            mermaid_text(&end(lower)),
            lower.node
        );
    }
    out
}

/// Mermaid has no escape for `"` inside a quoted label but its entity.
fn mermaid_text(text: &str) -> String {
    text.replace('"', "#quot;")
}

fn dot(plan: &Plan, live: Option<&LiveAddresses>, down: &BTreeSet<usize>) -> String {
    let title = match &plan.description {
        Some(description) => format!("{}\n{description}", plan.lab),
        None => plan.lab.clone(),
    };
    let mut out = format!("graph \"{}\" {{\n", dot_text(&plan.lab));
    let _ = writeln!(
        out,
        "  graph [label=\"{}\", labelloc=t, fontname=\"Helvetica\", fontsize=14, \
         nodesep=0.4, ranksep=1.2, pad=0.3];",
        dot_text(&title)
    );
    out.push_str("  node [fontname=\"Helvetica\", fontsize=11, style=filled];\n");
    out.push_str(
        "  edge [fontname=\"Helvetica\", fontsize=9, fontcolor=\"#1f4e79\", color=\"#555555\", \
         labeldistance=2.5, labelangle=30];\n",
    );
    for node in &plan.nodes {
        let style = match node.kind {
            NodeKind::Router => "shape=ellipse, fillcolor=\"#cfe2ff\", penwidth=1.5",
            NodeKind::Switch => "shape=box, fillcolor=\"#e2e3e5\", height=0.4",
            NodeKind::Server => "shape=box3d, fillcolor=\"#fff3cd\"",
            NodeKind::Host => "shape=box, style=\"rounded,filled\", fillcolor=\"#d1e7dd\"",
        };
        let _ = writeln!(
            out,
            "  \"{}\" [{style}, label=\"{}\"];",
            dot_text(&node.name),
            dot_lines(&node_lines(node, live))
        );
    }
    for (index, link) in plan.links.iter().enumerate() {
        let end = |e: PlanEnd| {
            let node = &plan.nodes[e.node];
            let label = if labels_own_interfaces(node) {
                String::new()
            } else {
                dot_lines(&iface_lines(node, &node.interfaces[e.iface], live))
            };
            (dot_text(&node.name), label)
        };
        let (upper, lower) = ordered(plan, link);
        let (a, a_label) = end(upper);
        let (b, b_label) = end(lower);
        let cut = if down.contains(&index) {
            ", style=dashed, color=\"#b02a37\", label=\"down\""
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "  \"{a}\" -- \"{b}\" [taillabel=\"{a_label}\", headlabel=\"{b_label}\"{cut}];"
        );
    }
    out.push_str("}\n");
    out
}

/// A cable's ends, the upper first: routers, then switches, then servers
/// and PCs (DOT ranks tails above heads, so the picture reads top-down).
fn ordered(plan: &Plan, link: &PlanLink) -> (PlanEnd, PlanEnd) {
    if tier(plan, link.b) < tier(plan, link.a) {
        (link.b, link.a)
    } else {
        (link.a, link.b)
    }
}

fn tier(plan: &Plan, end: PlanEnd) -> u8 {
    match plan.nodes[end.node].kind {
        NodeKind::Router => 0,
        NodeKind::Switch => 1,
        NodeKind::Server | NodeKind::Host => 2,
    }
}

/// Lines joined for a DOT label.
fn dot_lines(lines: &[String]) -> String {
    lines
        .iter()
        .map(|l| dot_text(l))
        .collect::<Vec<_>>()
        .join("\\n")
}

/// A DOT string's contents: quotes and backslashes escaped, line breaks as `\n`.
fn dot_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::load::check_text;
    use crate::lab::plan::plan;

    const LAB: &str = "
name: small
description: 'A \"small\" lab'
nodes:
  r1:
    kind: router
    interfaces:
      eth0: 192.168.1.1/24
      eth1: {address: 192.168.10.1/24, dhcp_relay: 192.168.1.2}
  sw0: {kind: switch}
  srv:
    kind: server
    interfaces: {eth0: 192.168.1.2/24}
    gateway: 192.168.1.1
    services:
      dhcp:
        pools: [{range: 192.168.10.100-192.168.10.110, gateway: 192.168.10.1, dns: [192.168.1.2]}]
      dns:
        zones:
          small.test: {www: {A: srv}}
      mail: {domains: [small.test], users: {ada: secret}}
  pc1: {kind: host, interfaces: {eth0: dhcp}}
links:
  - [r1:eth0, srv]
  - [r1:eth1, sw0]
  - [sw0, pc1]
";

    fn small() -> Plan {
        let checked = check_text("lab.yaml", LAB.to_string());
        let report = format!("{:?}", checked.diagnostics);
        plan(&checked.valid.expect(&report).1)
    }

    #[test]
    fn dot_has_a_shape_per_kind_services_and_addresses_at_the_cable_ends() {
        let dot = render(&small(), None, &BTreeSet::new(), GraphFormat::Dot);
        assert!(dot.starts_with("graph \"small\" {\n"), "{dot}");
        assert!(
            dot.contains("label=\"small\\nA \\\"small\\\" lab\""),
            "{dot}"
        );
        for expected in [
            "\"r1\" [shape=ellipse",
            "\"sw0\" [shape=box, fillcolor=\"#e2e3e5\"",
            "\"srv\" [shape=box3d, fillcolor=\"#fff3cd\", label=\"srv\\nserver\\neth0 192.168.1.2/24\\nDHCP, DNS, mail\"]",
            "\"pc1\" [shape=box, style=\"rounded,filled\", fillcolor=\"#d1e7dd\", label=\"pc1\\nPC\\neth0 DHCP\"]",
            "label=\"r1\\nrouter\\nDHCP relay\"",
            // Routers' addresses at their cable ends; PCs' and servers' in their labels.
            "\"r1\" -- \"srv\" [taillabel=\"eth0\\n192.168.1.1/24\", headlabel=\"\"]",
            "\"r1\" -- \"sw0\" [taillabel=\"eth1\\n192.168.10.1/24\\nrelay → 192.168.1.2\", headlabel=\"eth0\"]",
            "\"sw0\" -- \"pc1\" [taillabel=\"eth1\", headlabel=\"\"]",
        ] {
            assert!(dot.contains(expected), "{expected}\nnot in\n{dot}");
        }
    }

    #[test]
    fn live_addresses_replace_the_planned_ones() {
        let mut live = LiveAddresses::new();
        live.insert(
            "pc1/eth0".into(),
            vec!["192.168.10.100/24".parse().unwrap()],
        );
        let dot = render(&small(), Some(&live), &BTreeSet::new(), GraphFormat::Dot);
        assert!(
            dot.contains("label=\"pc1\\nPC\\neth0 192.168.10.100/24 (DHCP)\"]"),
            "{dot}"
        );
        let mermaid = render(
            &small(),
            Some(&live),
            &BTreeSet::new(),
            GraphFormat::Mermaid,
        );
        assert!(
            mermaid.contains("(\"pc1<br/>PC<br/>eth0 192.168.10.100/24 (DHCP)\")"),
            "{mermaid}"
        );
    }

    #[test]
    fn mermaid_has_a_shape_per_kind() {
        let mermaid = render(&small(), None, &BTreeSet::new(), GraphFormat::Mermaid);
        assert!(mermaid.starts_with("graph LR\n"), "{mermaid}");
        for expected in [
            "n0{{\"r1<br/>router<br/>DHCP relay\"}}",
            "n1[[\"sw0<br/>switch\"]]",
            "n3(\"pc1<br/>PC<br/>eth0 DHCP\")",
            "n2[(\"srv<br/>server<br/>eth0 192.168.1.2/24<br/>DHCP, DNS, mail\")]",
            "n0 ---|\"eth0 192.168.1.1/24 — eth0\"| n2",
            "n0 ---|\"eth1 192.168.10.1/24 relay → 192.168.1.2 — eth0\"| n1",
            "n1 ---|\"eth1 — eth0\"| n3",
        ] {
            assert!(mermaid.contains(expected), "{expected}\nnot in\n{mermaid}");
        }
    }

    #[test]
    fn a_cable_that_is_down_is_drawn_dashed() {
        let down = BTreeSet::from([0]);
        let dot = render(&small(), None, &down, GraphFormat::Dot);
        let cut: Vec<&str> = dot.lines().filter(|l| l.contains("style=dashed")).collect();
        assert_eq!(cut.len(), 1, "{dot}");
        assert!(cut[0].contains("\"r1\" -- \"srv\""), "{dot}");
        let mermaid = render(&small(), None, &down, GraphFormat::Mermaid);
        assert_eq!(mermaid.matches("-.-|").count(), 1, "{mermaid}");
        assert!(mermaid.contains("(down)"), "{mermaid}");
    }
}
