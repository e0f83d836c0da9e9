//! Layer-2 segments: switches joined by cables form one broadcast domain
//! with everything plugged into them; any other cable is a segment of its
//! own. Switch loops are refused (the lab's switches run no spanning tree).

use std::collections::HashMap;

use crate::lab::model::NodeKind;
use crate::lab::topology::{Segment, TopoLink, TopoNode, Topology};
use crate::lab::validate::findings::Findings;
use crate::path;

/// Groups interfaces into layer-2 segments (recording each interface's
/// segment) and reports switch loops.
pub(super) fn find_segments(
    found: &mut Findings,
    nodes: &mut [TopoNode],
    links: &[TopoLink],
) -> Vec<Segment> {
    let mut parent: Vec<usize> = (0..nodes.len()).collect();
    fn find(parent: &mut [usize], mut x: usize) -> usize {
        while parent[x] != x {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        x
    }
    let switch: Vec<bool> = nodes.iter().map(|n| n.kind == NodeKind::Switch).collect();
    let is_switch = |n: usize| switch[n];
    for link in links {
        let [a, b] = link.ends;
        if is_switch(a.node) && is_switch(b.node) {
            let (ra, rb) = (find(&mut parent, a.node), find(&mut parent, b.node));
            if ra == rb {
                let at = path!["links", link.source];
                found.error(
                        &at,
                        format!(
                            "switch loop: {} and {} are already connected, so this link closes a loop",
                            nodes[a.node].name, nodes[b.node].name
                        ),
                        "switches here do not run spanning tree: remove this link or another link of the loop",
                    );
            } else {
                parent[ra] = rb;
            }
        }
    }
    let mut segments: Vec<Segment> = Vec::new();
    let mut segment_of_root: HashMap<usize, usize> = HashMap::new();
    for (n, node) in nodes.iter().enumerate() {
        if node.kind == NodeKind::Switch {
            let root = find(&mut parent, n);
            let id = *segment_of_root.entry(root).or_insert_with(|| {
                segments.push(Segment {
                    switches: Vec::new(),
                    ends: Vec::new(),
                    subnet: None,
                });
                segments.len() - 1
            });
            segments[id].switches.push(n);
        }
    }
    for link in links {
        let [a, b] = link.ends;
        let segment = match (is_switch(a.node), is_switch(b.node)) {
            (true, _) => segment_of_root[&find(&mut parent, a.node)],
            (_, true) => segment_of_root[&find(&mut parent, b.node)],
            _ => {
                segments.push(Segment {
                    switches: Vec::new(),
                    ends: Vec::new(),
                    subnet: None,
                });
                segments.len() - 1
            }
        };
        for end in [a, b] {
            nodes[end.node].interfaces[end.iface].segment = segment;
            if !is_switch(end.node) {
                segments[segment].ends.push(end);
            }
        }
    }
    segments
}

/// A segment as a student would name it: its switch, or the cable's ends.
pub fn segment_name(topo: &Topology, segment: usize) -> String {
    let s = &topo.segments[segment];
    match s.switches.first() {
        Some(&sw) => topo.nodes[sw].name.clone(),
        None => {
            let names: Vec<String> = s.ends.iter().map(|&e| topo.end_name(e)).collect();
            format!("the cable {}", names.join(" – "))
        }
    }
}
