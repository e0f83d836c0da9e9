//! `labctl graph`: the topology as Mermaid or Graphviz DOT source.

use std::fmt::Write;

use super::model::NodeKind;
use super::topology::{Addressing, TopoNode, Topology};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum GraphFormat {
    Mermaid,
    Dot,
}

pub fn render(topo: &Topology, format: GraphFormat) -> String {
    match format {
        GraphFormat::Mermaid => mermaid(topo),
        GraphFormat::Dot => dot(topo),
    }
}

/// The node's name, kind and addresses, one per line.
fn label_lines(node: &TopoNode) -> Vec<String> {
    let mut lines = vec![format!("{} ({})", node.name, node.kind.as_str())];
    for iface in &node.interfaces {
        match iface.addressing {
            Addressing::Static(net) => lines.push(format!("{} {net}", iface.name)),
            Addressing::Dhcp => lines.push(format!("{} dhcp", iface.name)),
            Addressing::None => {}
        }
    }
    lines
}

fn mermaid(topo: &Topology) -> String {
    let mut out = String::from("graph LR\n");
    for (i, node) in topo.nodes.iter().enumerate() {
        let label = label_lines(node).join("<br/>").replace('"', "'");
        let (open, close) = match node.kind {
            NodeKind::Router => ("{{", "}}"),
            NodeKind::Switch => ("[[", "]]"),
            NodeKind::Server => ("[(", ")]"),
            NodeKind::Host => ("[", "]"),
        };
        let _ = writeln!(out, "  n{i}{open}\"{label}\"{close}");
    }
    for link in &topo.links {
        let [a, b] = link.ends;
        let _ = writeln!(
            out,
            "  n{} ---|\"{} – {}\"| n{}",
            a.node,
            topo.iface(a).name,
            topo.iface(b).name,
            b.node
        );
    }
    out
}

fn dot(topo: &Topology) -> String {
    let mut out = format!(
        "graph \"{}\" {{\n  node [fontname=\"Helvetica\"];\n",
        topo.name
    );
    for node in &topo.nodes {
        let shape = match node.kind {
            NodeKind::Router => "ellipse",
            NodeKind::Switch => "box3d",
            NodeKind::Server => "cylinder",
            NodeKind::Host => "box",
        };
        let label = label_lines(node).join("\\n").replace('"', "'");
        let _ = writeln!(
            out,
            "  \"{}\" [shape={shape}, label=\"{label}\"];",
            node.name
        );
    }
    for link in &topo.links {
        let [a, b] = link.ends;
        let _ = writeln!(
            out,
            "  \"{}\" -- \"{}\" [taillabel=\"{}\", headlabel=\"{}\"];",
            topo.nodes[a.node].name,
            topo.nodes[b.node].name,
            topo.iface(a).name,
            topo.iface(b).name
        );
    }
    out.push_str("}\n");
    out
}
