//! `graph`: what to draw (a lab file's plan as written, or a running lab's
//! plan with the addresses its interfaces have now) and in which format —
//! Mermaid or DOT source, or an SVG or PNG picture drawn by Graphviz `dot`.

mod picture;
mod source;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context, Result, bail};
use ipnet::Ipv4Net;

use super::admin::require_admin;
use crate::lab::plan::Plan;
use crate::net::inspect::inspect_plan;
use crate::state::LabDir;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum GraphFormat {
    /// Mermaid source (GitHub and many editors draw it).
    Mermaid,
    /// Graphviz DOT source.
    Dot,
    /// A picture, drawn by Graphviz `dot`.
    Svg,
    /// A picture, drawn by Graphviz `dot`.
    Png,
}

impl GraphFormat {
    /// The format a file name asks for.
    pub fn of_file(path: &Path) -> Result<GraphFormat> {
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        Ok(match extension.as_deref() {
            Some("svg") => GraphFormat::Svg,
            Some("png") => GraphFormat::Png,
            Some("dot" | "gv") => GraphFormat::Dot,
            Some("mmd" | "mermaid") => GraphFormat::Mermaid,
            _ => bail!(
                "cannot tell the format from the name {}: end it in .svg, .png, .dot or .mmd, \
                 or give --format",
                path.display()
            ),
        })
    }
}

/// The addresses interfaces have now, by `node/iface` (from the kernel).
pub type LiveAddresses = BTreeMap<String, Vec<Ipv4Net>>;

/// A lab to draw: its plan, and for a running lab the addresses its
/// interfaces have now (they replace the planned ones).
pub struct Diagram {
    pub plan: Plan,
    pub live: Option<LiveAddresses>,
    /// The cables (plan link indices) that are down now: drawn dashed.
    pub down: BTreeSet<usize>,
}

impl Diagram {
    /// A lab file as written.
    pub fn planned(plan: Plan) -> Diagram {
        Diagram {
            plan,
            live: None,
            down: BTreeSet::new(),
        }
    }

    /// A running lab with the addresses the kernel has now (needs root).
    pub fn running(lab: &str) -> Result<Diagram> {
        require_admin("graph LAB")?;
        let dir = LabDir::of(lab)?;
        let record = dir.read_record().with_context(|| {
            format!(
                "lab {lab} is not running (`labctl status` lists the running labs; \
                 give a lab file to draw it as written)"
            )
        })?;
        let views = inspect_plan(&record.plan)?;
        let carrier = |end: crate::lab::plan::PlanEnd| {
            let name = &record.plan.iface(end).name;
            views[end.node]
                .as_ref()
                .and_then(|v| v.links.iter().find(|l| &l.name == name))
                .is_some_and(|l| l.carrier)
        };
        let down = record
            .plan
            .links
            .iter()
            .enumerate()
            .filter(|(_, l)| !carrier(l.a) || !carrier(l.b))
            .map(|(i, _)| i)
            .collect();
        let mut live = LiveAddresses::new();
        for (node, view) in record.plan.nodes.iter().zip(views) {
            for link in view.iter().flat_map(|v| &v.links) {
                if node.interfaces.iter().any(|i| i.name == link.name) {
                    live.insert(
                        format!("{}/{}", node.name, link.name),
                        link.addresses.clone(),
                    );
                }
            }
        }
        Ok(Diagram {
            plan: record.plan,
            live: Some(live),
            down,
        })
    }

    /// Mermaid or DOT source (DOT for the picture formats).
    pub fn source(&self, format: GraphFormat) -> String {
        source::render(&self.plan, self.live.as_ref(), &self.down, format)
    }

    /// The bytes of the drawing: the source, or the picture `dot` drew.
    pub fn draw(&self, format: GraphFormat) -> Result<Vec<u8>> {
        let source = self.source(format);
        match format {
            GraphFormat::Svg => picture::draw(&source, "svg"),
            GraphFormat::Png => picture::draw(&source, "png"),
            GraphFormat::Mermaid | GraphFormat::Dot => Ok(source.into_bytes()),
        }
    }
}
