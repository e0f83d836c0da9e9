//! Links: every end resolved to a node and an interface, unnamed ends given
//! the next free interface, and each node's interfaces built (in natural
//! order, with their MACs) from what it declared and what links plug in.

use std::collections::{BTreeMap, HashMap};

use super::interfaces::Declared;
use crate::lab::addr::Mac;
use crate::lab::diagnostic::did_you_mean;
use crate::lab::model::{Lab, NodeKind};
use crate::lab::topology::{Addressing, End, TopoIface, TopoLink, TopoNode};
use crate::lab::validate::findings::Findings;
use crate::lab::validate::names::ifname_problem;
use crate::lab::validate::some_switch;
use crate::path;

/// A link's two ends as written: node index and interface name, if given;
/// `None` where the end is wrong (already reported).
type WrittenEnds = [Option<(usize, Option<String>)>; 2];

/// Resolves every link end to a node and an interface, naming the
/// interfaces that links leave unnamed; fills in each node's interfaces.
pub(super) fn resolve_links(
    found: &mut Findings,
    lab: &Lab,
    nodes: &mut [TopoNode],
    declared: &[Vec<Declared>],
) -> Vec<TopoLink> {
    let index_of: HashMap<&str, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.name.as_str(), i))
        .collect();
    // (link index, end index) → (node, explicit interface name)
    let mut parsed: Vec<WrittenEnds> = Vec::new();
    // node → interface name → link index that uses it
    let mut used: Vec<BTreeMap<String, usize>> = vec![BTreeMap::new(); nodes.len()];
    for (li, link) in lab.links.iter().enumerate() {
        let mut ends = [None, None];
        for (ei, text) in link.0.iter().enumerate() {
            let at = path!["links", li, ei];
            let (node_name, ifname) = match text.split_once(':') {
                Some((n, "")) => {
                    found.error(
                        &at,
                        format!("`{text}` names no interface after the colon"),
                        format!("write `{n}` or `{n}:eth0`"),
                    );
                    continue;
                }
                Some((n, i)) => (n, Some(i.to_string())),
                None => (text.as_str(), None),
            };
            let Some(&node) = index_of.get(node_name) else {
                let hint = match did_you_mean(node_name, index_of.keys().copied()) {
                    Some(close) => format!("did you mean `{close}`?"),
                    None => format!("add a node `{node_name}` under `nodes`, or fix the name"),
                };
                found.error(
                    &at,
                    format!("link to `{node_name}`, but there is no such node"),
                    hint,
                );
                continue;
            };
            if let Some(ifname) = &ifname {
                let kind = nodes[node].kind;
                if let Err(why) = ifname_problem(ifname, kind) {
                    found.error(
                        &at,
                        format!("`{ifname}` cannot be an interface name: {why}"),
                        "use at most 15 letters, digits, `-`, `_` or `.`, e.g. eth0",
                    );
                    continue;
                }
                let names: Vec<&str> = declared[node].iter().map(|d| d.name.as_str()).collect();
                if kind != NodeKind::Switch
                    && !names.is_empty()
                    && !names.contains(&ifname.as_str())
                {
                    // Suggest only interfaces no link names.
                    let free = names.iter().copied().filter(|n| {
                        !lab.links
                            .iter()
                            .flat_map(|l| l.0.iter())
                            .any(|end| end == &format!("{node_name}:{n}"))
                    });
                    let hint = match did_you_mean(ifname, free) {
                        Some(close) => format!("did you mean `{node_name}:{close}`?"),
                        None => format!(
                            "{node_name} declares {}; add `{ifname}` under its `interfaces`",
                            names.join(", ")
                        ),
                    };
                    found.error(
                        &at,
                        format!("{node_name} has no interface `{ifname}`"),
                        hint,
                    );
                    continue;
                }
                if let Some(&other) = used[node].get(ifname) {
                    let line = found.pos(&path!["links", other]).line;
                    found.error(
                        &at,
                        format!(
                            "{node_name}:{ifname} is already plugged in by the link on line {line}"
                        ),
                        "one interface takes one cable: use another interface",
                    );
                    continue;
                }
                used[node].insert(ifname.clone(), li);
            }
            ends[ei] = Some((node, ifname));
        }
        if let [Some((a, _)), Some((b, _))] = &ends
            && a == b
        {
            found.error(
                &path!["links", li],
                format!("this link plugs `{}` into itself", nodes[*a].name),
                "a link joins two different nodes",
            );
            ends = [None, None];
        }
        parsed.push(ends);
    }
    // Name the unnamed ends: the next declared interface that no link
    // uses yet, else the first free ethN.
    for (li, ends) in parsed.iter_mut().enumerate() {
        for end in ends.iter_mut().flatten() {
            if end.1.is_some() {
                continue;
            }
            let node = end.0;
            let name = declared[node]
                .iter()
                .map(|d| d.name.clone())
                .find(|n| !used[node].contains_key(n))
                .unwrap_or_else(|| {
                    (0..)
                        .map(|i| format!("eth{i}"))
                        .find(|n| {
                            !used[node].contains_key(n)
                                && !declared[node].iter().any(|d| &d.name == n)
                        })
                        .expect("an unused ethN always exists")
                });
            used[node].insert(name.clone(), li);
            end.1 = Some(name);
        }
    }
    // Declared interfaces no link uses cannot be built.
    let switch = some_switch(nodes);
    for (node, list) in declared.iter().enumerate() {
        for Declared { name: ifname, .. } in list {
            if !used[node].contains_key(ifname) {
                let name = &nodes[node].name;
                found.error_at_key(
                    &path!["nodes", name.as_str(), "interfaces"],
                    ifname,
                    format!("{name}/{ifname} is not connected to anything"),
                    format!(
                        "add a link such as `[{name}:{ifname}, {switch}]`, or remove the interface"
                    ),
                );
            }
        }
    }
    // Interfaces in natural order (eth2 before eth10), then the links.
    for (node, names) in used.iter().enumerate() {
        let mut list: Vec<(&String, &usize)> = names.iter().collect();
        list.sort_by_key(|(name, _)| natural_key(name));
        for (ifname, &link) in list {
            let settings = declared[node].iter().find(|d| &d.name == ifname);
            let mac = settings
                .and_then(|d| d.mac)
                .unwrap_or_else(|| derived_mac(&lab.name, &nodes[node].name, ifname));
            nodes[node].interfaces.push(TopoIface {
                name: ifname.clone(),
                addressing: settings.map_or(Addressing::None, |d| d.addressing),
                mac,
                dhcp_relay: settings.and_then(|d| d.dhcp_relay),
                link,
                segment: usize::MAX,
            });
        }
    }
    let mut links = Vec::new();
    for (li, ends) in parsed.into_iter().enumerate() {
        if let [Some((a, Some(ai))), Some((b, Some(bi)))] = ends {
            let pos = |node: usize, name: &str| {
                nodes[node]
                    .interfaces
                    .iter()
                    .position(|i| i.name == name)
                    .expect("interface was added")
            };
            let link = TopoLink {
                ends: [
                    End {
                        node: a,
                        iface: pos(a, &ai),
                    },
                    End {
                        node: b,
                        iface: pos(b, &bi),
                    },
                ],
                source: li,
            };
            for end in link.ends {
                nodes[end.node].interfaces[end.iface].link = links.len();
            }
            links.push(link);
        }
    }
    links
}

/// A stable, locally administered MAC for an interface without one, so a
/// lab's MACs (and DHCP reservations by node) are the same on every `up`.
fn derived_mac(lab: &str, node: &str, iface: &str) -> Mac {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in format!("{lab}/{node}/{iface}").bytes() {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    let b = hash.to_be_bytes();
    Mac([0x02, b[1], b[2], b[3], b[4], b[5]])
}

/// Sort key that puts eth2 before eth10.
fn natural_key(name: &str) -> (String, u64) {
    let digits = name.len() - name.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    let (stem, number) = name.split_at(name.len() - digits);
    (stem.to_string(), number.parse().unwrap_or(0))
}
