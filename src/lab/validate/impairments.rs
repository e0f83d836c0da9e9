//! The impairments pass: each `impairments:` entry names a cable of the
//! lab (`[r1, r2]`, or with interfaces) and settings netem can take.

use super::findings::Findings;
use crate::lab::diagnostic::Diagnostic;
use crate::lab::model::Lab;
use crate::lab::netem::{Netem, Written};
use crate::lab::raw::RawNode;
use crate::lab::topology::Topology;
use crate::path;

/// Impaired cables: (index in `topo.links`, settings).
pub(super) fn resolve_impairments(
    lab: &Lab,
    raw: &RawNode,
    topo: &Topology,
) -> (Vec<(usize, Netem)>, Vec<Diagnostic>) {
    let mut found = Findings::new(raw);
    let mut out: Vec<(usize, Netem)> = Vec::new();
    for (i, written) in lab.impairments.iter().enumerate() {
        let settings = Written {
            delay: written.delay.as_deref(),
            jitter: written.jitter.as_deref(),
            loss: written.loss.as_deref(),
            rate: written.rate.as_deref(),
            duplicate: written.duplicate.as_deref(),
            corrupt: written.corrupt.as_deref(),
        };
        let netem = match settings.parse() {
            Ok(netem) => Some(netem),
            Err(errors) => {
                for (field, message) in errors {
                    found.error(
                        &path!["impairments", i, field],
                        message,
                        "see docs/lab-format.md, Impairments",
                    );
                }
                None
            }
        };
        let matching: Vec<usize> = topo
            .links
            .iter()
            .enumerate()
            .filter(|(_, l)| {
                let [a, b] = l.ends.map(|e| {
                    let node = &topo.nodes[e.node];
                    (node.name.as_str(), node.interfaces[e.iface].name.as_str())
                });
                let fits = |spec: &str, (node, iface): (&str, &str)| match spec.split_once(':') {
                    Some((n, f)) => n == node && f == iface,
                    None => spec == node,
                };
                let [x, y] = [&written.link[0], &written.link[1]];
                (fits(x, a) && fits(y, b)) || (fits(x, b) && fits(y, a))
            })
            .map(|(index, _)| index)
            .collect();
        let at = path!["impairments", i, "link"];
        let cable = format!("[{}, {}]", written.link[0], written.link[1]);
        match matching.as_slice() {
            [one] => {
                if out.iter().any(|(l, _)| l == one) {
                    found.error(
                        &at,
                        format!("the cable {cable} is impaired twice"),
                        "put all its settings in one entry",
                    );
                } else if let Some(netem) = netem {
                    out.push((*one, netem));
                }
            }
            [] => found.error(
                &at,
                format!("no cable {cable} in `links`"),
                "name the two ends of a cable as `links` writes them, e.g. [r1, r2] or [r1:eth0, r2:eth0]",
            ),
            _ => found.error(
                &at,
                format!("more than one cable joins {cable}"),
                "name the interfaces: [r1:eth0, r2:eth0]",
            ),
        }
    }
    (out, found.into_list())
}
