//! Semantic validation: turns the typed model into a `Topology`, reporting
//! every problem (not just the first) at its place in the file with a hint.

use std::collections::{BTreeMap, HashMap};
use std::net::Ipv4Addr;

use super::addr::{Ipv4Net, Mac, parse_ipv4};
use super::diagnostic::{Diagnostic, did_you_mean};
use super::model::{InterfaceSpec, Lab, Node, NodeKind, Routing};
use super::raw::{RawNode, Step};
use super::topology::{Addressing, End, Route, Segment, TopoIface, TopoLink, TopoNode, Topology};
use crate::path;

/// Longest lab or node name: namespaces are named `LAB.NODE`, and a node name
/// is also its hostname.
pub const MAX_NAME: usize = 32;
/// Linux interface names are at most 15 bytes (IFNAMSIZ - 1).
pub const MAX_IFNAME: usize = 15;

pub fn validate(lab: &Lab, raw: &RawNode) -> (Option<Topology>, Vec<Diagnostic>) {
    let mut v = Validator {
        lab,
        raw,
        found: Vec::new(),
    };
    let topology = v.run();
    let ok = !v.found.iter().any(Diagnostic::is_error);
    (topology.filter(|_| ok), v.found)
}

struct Validator<'a> {
    lab: &'a Lab,
    raw: &'a RawNode,
    found: Vec<Diagnostic>,
}

/// An interface as the node declares it under `interfaces`.
struct Declared {
    name: String,
    addressing: Addressing,
    mac: Option<Mac>,
    dhcp_relay: Option<Ipv4Addr>,
}

/// A link's two ends as written: node index and interface name, if given;
/// `None` where the end is wrong (already reported).
type WrittenEnds = [Option<(usize, Option<String>)>; 2];

/// Where an interface's settings are in the file, for messages.
fn iface_path(node: &str, iface: &str, field: Option<&str>) -> Vec<Step> {
    let mut p = path!["nodes", node, "interfaces", iface].to_vec();
    if let Some(f) = field {
        p.push(Step::from(f));
    }
    p
}

impl Validator<'_> {
    fn error(&mut self, at: &[Step], message: impl Into<String>, hint: impl Into<String>) {
        let pos = self.raw.pos(at);
        self.found
            .push(Diagnostic::error(message, Some(pos)).hint(hint));
    }

    fn warn(&mut self, at: &[Step], message: impl Into<String>, hint: impl Into<String>) {
        let pos = self.raw.pos(at);
        self.found
            .push(Diagnostic::warning(message, Some(pos)).hint(hint));
    }

    fn warn_node(&mut self, node: &str, message: String, hint: impl Into<String>) {
        let pos = self.raw.key_pos(&path!["nodes"], node);
        self.found
            .push(Diagnostic::warning(message, pos).hint(hint));
    }

    fn error_at_key(&mut self, parent: &[Step], key: &str, message: String, hint: String) {
        let pos = self
            .raw
            .key_pos(parent, key)
            .unwrap_or_else(|| self.raw.pos(parent));
        self.found
            .push(Diagnostic::error(message, Some(pos)).hint(hint));
    }

    fn run(&mut self) -> Option<Topology> {
        self.check_name(&self.lab.name.clone(), &path!["name"], "lab name");
        let mut nodes: Vec<TopoNode> = Vec::new();
        let mut declared: Vec<Vec<Declared>> = Vec::new();
        let mut lowercase_names: HashMap<String, String> = HashMap::new();
        for (name, node) in &self.lab.nodes {
            let key_path = path!["nodes"];
            if let Some(why) = name_problem(name) {
                self.error_at_key(
                    &key_path,
                    name,
                    format!("`{name}` cannot be a node name: {why}"),
                    name_rule("node names"),
                );
            }
            if let Some(other) = lowercase_names.insert(name.to_lowercase(), name.clone()) {
                self.error_at_key(
                    &key_path,
                    name,
                    format!("node `{name}` and node `{other}` differ only in capitals"),
                    "node names are hostnames, where case does not count: rename one".to_string(),
                );
            }
            declared.push(self.interfaces_of(name, node));
            nodes.push(TopoNode {
                name: name.clone(),
                kind: node.kind,
                interfaces: Vec::new(),
                dns: self.dns_of(name, node),
                domain: node.domain.clone(),
                routing: node.routing.unwrap_or(Routing::Static),
                routes: Vec::new(),
                dhcp_pools: None,
                dns_server: None,
                mail: None,
            });
        }
        let links = self.resolve_links(&mut nodes, &declared);
        let segments = self.build_segments(&mut nodes, &links);
        let mut topology = Topology {
            name: self.lab.name.clone(),
            description: self.lab.description.clone(),
            nodes,
            links,
            segments,
        };
        self.check_addresses(&mut topology);
        self.check_macs(&topology);
        for index in 0..topology.nodes.len() {
            let routes = self.routes_of(&topology, index);
            topology.nodes[index].routes = routes;
        }
        self.check_dhcp(&mut topology);
        self.check_dns(&mut topology);
        self.check_mail(&mut topology);
        self.check_reachability_hints(&topology);
        if !self.lab.checks.is_empty() {
            self.error(
                &path!["checks", 0usize],
                "checks are not available in this version of labctl",
                "remove the `checks` entries for now",
            );
        }
        Some(topology)
    }

    fn check_name(&mut self, name: &str, at: &[Step], what: &str) {
        if let Some(why) = name_problem(name) {
            self.error(
                at,
                format!("`{name}` cannot be a {what}: {why}"),
                name_rule(&format!("{what}s")),
            );
        }
    }

    /// The interfaces a node declares, with their parsed settings.
    fn interfaces_of(&mut self, node_name: &str, node: &Node) -> Vec<Declared> {
        let mut out = Vec::new();
        for (ifname, spec) in &node.interfaces {
            let parent = path!["nodes", node_name, "interfaces"];
            if let Err(why) = ifname_problem(ifname, node.kind) {
                self.error_at_key(
                    &parent,
                    ifname,
                    format!("`{ifname}` cannot be an interface name: {why}"),
                    "use at most 15 letters, digits, `-`, `_` or `.`, e.g. eth0".to_string(),
                );
            }
            let field = match spec {
                InterfaceSpec::Address(_) => None,
                InterfaceSpec::Detailed(_) => Some("address"),
            };
            let at = iface_path(node_name, ifname, field);
            let addressing = match spec.address() {
                None => Addressing::None,
                Some("dhcp") => {
                    if node.kind == NodeKind::Router || node.kind == NodeKind::Switch {
                        self.error(
                            &at,
                            format!(
                                "{node_name}/{ifname}: a {} cannot get its address by DHCP",
                                node.kind.as_str()
                            ),
                            "give it a static ADDRESS/PREFIX",
                        );
                    }
                    Addressing::Dhcp
                }
                Some(text) => match text.parse::<Ipv4Net>() {
                    Ok(net) if net.is_reserved_host() => {
                        let which = if net.is_network_address() {
                            "network"
                        } else {
                            "broadcast"
                        };
                        self.error(
                            &at,
                            format!(
                                "{net} is the {which} address of {}, not a host address",
                                net.network()
                            ),
                            "pick an address between the first and the last of the subnet",
                        );
                        Addressing::Static(net)
                    }
                    Ok(net) => match unusable(net.addr) {
                        Some(why) => {
                            self.error(
                                &at,
                                format!("{} is {why}, not an interface address", net.addr),
                                "use a private address, e.g. 192.168.1.10/24 or 10.0.0.1/30",
                            );
                            Addressing::Static(net)
                        }
                        None => Addressing::Static(net),
                    },
                    Err(_) if text.eq_ignore_ascii_case("dhcp") => {
                        self.error(
                            &at,
                            format!("`{text}` is not an address"),
                            "write `dhcp` in lower case",
                        );
                        Addressing::Dhcp
                    }
                    Err(_) if !text.starts_with(|c: char| c.is_ascii_digit()) => {
                        self.error(
                            &at,
                            format!("`{text}` is not an address"),
                            "write ADDRESS/PREFIX (e.g. 192.168.1.2/24), or `dhcp`",
                        );
                        Addressing::None
                    }
                    Err(e) => {
                        self.error(&at, e.message, e.hint);
                        Addressing::None
                    }
                },
            };
            if node.kind == NodeKind::Switch && addressing != Addressing::None {
                self.error(
                    &at,
                    format!("{node_name}/{ifname}: a switch port has no address"),
                    "a switch only forwards frames: put the address on the host or router plugged into it",
                );
            }
            let mac = spec.mac().and_then(|text| {
                let parsed = Mac::parse(text);
                if parsed.is_none() {
                    self.error(
                        &iface_path(node_name, ifname, Some("mac")),
                        format!("`{text}` is not a usable MAC address"),
                        "write six hex bytes with colons, e.g. 02:00:00:00:00:01 (the first byte even: a unicast address)",
                    );
                }
                parsed
            });
            let dhcp_relay = spec.dhcp_relay().and_then(|text| {
                let at = iface_path(node_name, ifname, Some("dhcp_relay"));
                if node.kind != NodeKind::Router {
                    self.error(
                        &at,
                        format!(
                            "{node_name} is a {}: only routers relay DHCP",
                            node.kind.as_str()
                        ),
                        "put `dhcp_relay` on the router interface of the clients' network",
                    );
                    return None;
                }
                parse_ipv4(text)
                    .map_err(|message| {
                        self.error(&at, message, "`dhcp_relay` is the DHCP server's address")
                    })
                    .ok()
            });
            out.push(Declared {
                name: ifname.clone(),
                addressing,
                mac,
                dhcp_relay,
            });
        }
        out
    }

    fn dns_of(&mut self, node_name: &str, node: &Node) -> Vec<Ipv4Addr> {
        if node.kind == NodeKind::Switch && (!node.dns.is_empty() || node.domain.is_some()) {
            let field = if node.dns.is_empty() { "domain" } else { "dns" };
            self.error(
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
            self.error(
                &path!["nodes", node_name, "dns"],
                format!(
                    "{node_name} gets its DNS servers by DHCP, so it cannot also have `dns` here"
                ),
                "remove `dns` (the DHCP server's pool gives it), or make the interface static",
            );
        }
        let mut out = Vec::new();
        for (i, text) in node.dns.iter().enumerate() {
            match parse_ipv4(text) {
                Ok(ip) => out.push(ip),
                Err(message) => self.error(
                    &path!["nodes", node_name, "dns", i],
                    message,
                    "a DNS server is an address, e.g. 192.168.1.5",
                ),
            }
        }
        if let Some(domain) = &node.domain
            && !valid_domain(domain)
        {
            self.error(
                &path!["nodes", node_name, "domain"],
                format!("`{domain}` is not a domain name"),
                "write labels of letters, digits and `-` joined by dots, e.g. cbrc.com",
            );
        }
        out
    }

    /// Resolves every link end to a node and an interface, naming the
    /// interfaces that links leave unnamed.
    fn resolve_links(
        &mut self,
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
        for (li, link) in self.lab.links.iter().enumerate() {
            let mut ends = [None, None];
            for (ei, text) in link.0.iter().enumerate() {
                let at = path!["links", li, ei];
                let (node_name, ifname) = match text.split_once(':') {
                    Some((n, "")) => {
                        self.error(
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
                    self.error(
                        &at,
                        format!("link to `{node_name}`, but there is no such node"),
                        hint,
                    );
                    continue;
                };
                if let Some(ifname) = &ifname {
                    let kind = nodes[node].kind;
                    if let Err(why) = ifname_problem(ifname, kind) {
                        self.error(
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
                            !self
                                .lab
                                .links
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
                        self.error(
                            &at,
                            format!("{node_name} has no interface `{ifname}`"),
                            hint,
                        );
                        continue;
                    }
                    if let Some(&other) = used[node].get(ifname) {
                        let line = self.raw.pos(&path!["links", other]).line;
                        self.error(
                            &at,
                            format!("{node_name}:{ifname} is already plugged in by the link on line {line}"),
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
                self.error(
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
        let switch = nodes
            .iter()
            .find(|n| n.kind == NodeKind::Switch)
            .map_or("OTHER-NODE".to_string(), |n| n.name.clone());
        for (node, list) in declared.iter().enumerate() {
            for Declared { name: ifname, .. } in list {
                if !used[node].contains_key(ifname) {
                    let name = &nodes[node].name;
                    self.error_at_key(
                        &path!["nodes", name.as_str(), "interfaces"],
                        ifname,
                        format!("{name}/{ifname} is not connected to anything"),
                        format!("add a link such as `[{name}:{ifname}, {switch}]`, or remove the interface"),
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
                    .unwrap_or_else(|| derived_mac(&self.lab.name, &nodes[node].name, ifname));
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

    /// Groups interfaces into layer-2 segments and reports switch loops.
    fn build_segments(&mut self, nodes: &mut [TopoNode], links: &[TopoLink]) -> Vec<Segment> {
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
                    self.error(
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

    /// Where the address of an interface is written.
    fn address_path(&self, topo: &Topology, end: End) -> Vec<Step> {
        let node = &topo.nodes[end.node].name;
        let iface = &topo.iface(end).name;
        let field = match self.lab.nodes[node.as_str()].interfaces.get(iface.as_str()) {
            Some(InterfaceSpec::Detailed(_)) => Some("address"),
            _ => None,
        };
        iface_path(node, iface, field)
    }

    /// Every segment's addresses share one subnet; no address is used twice;
    /// separate segments do not overlap.
    /// Two interfaces with one MAC confuse switches and DHCP servers alike.
    fn check_macs(&mut self, topo: &Topology) {
        let mut owners: HashMap<Mac, End> = HashMap::new();
        for (n, node) in topo.nodes.iter().enumerate() {
            for (i, iface) in node.interfaces.iter().enumerate() {
                let end = End { node: n, iface: i };
                if let Some(&first) = owners.get(&iface.mac) {
                    self.error(
                        &iface_path(&node.name, &iface.name, Some("mac")),
                        format!("MAC {} is used twice: by {} and {}", iface.mac, topo.end_name(first), topo.end_name(end)),
                        "every interface needs its own MAC: change one, or leave `mac` out to get a stable unique one",
                    );
                } else {
                    owners.insert(iface.mac, end);
                }
            }
        }
    }

    fn check_addresses(&mut self, topo: &mut Topology) {
        let mut owners: HashMap<Ipv4Addr, End> = HashMap::new();
        for s in 0..topo.segments.len() {
            let ends = topo.segments[s].ends.clone();
            let with_address: Vec<(End, Ipv4Net)> = ends
                .iter()
                .filter_map(|&e| topo.static_address(e).map(|a| (e, a)))
                .collect();
            let reference = with_address
                .iter()
                .find(|(e, _)| topo.nodes[e.node].kind == NodeKind::Router)
                .or(with_address.first())
                .copied();
            let Some((ref_end, ref_net)) = reference else {
                continue;
            };
            topo.segments[s].subnet = Some(ref_net.network());
            for &(end, net) in &with_address {
                if net.network() != ref_net.network() {
                    let at = self.address_path(topo, end);
                    let peer = topo.peer(end);
                    self.error(
                        &at,
                        format!(
                            "{net} on {} is outside {}, the subnet of the network it is plugged into ({} has {ref_net})",
                            topo.end_name(end),
                            ref_net.network(),
                            topo.end_name(ref_end),
                        ),
                        format!(
                            "use an address in {} (this interface is cabled to {}), or cable it elsewhere",
                            ref_net.network(),
                            topo.end_name(peer)
                        ),
                    );
                }
            }
        }
        for n in 0..topo.nodes.len() {
            for i in 0..topo.nodes[n].interfaces.len() {
                let end = End { node: n, iface: i };
                if let Some(net) = topo.static_address(end) {
                    if let Some(&first) = owners.get(&net.addr) {
                        let at = self.address_path(topo, end);
                        self.error(
                            &at,
                            format!(
                                "{} is used twice: by {} and {}",
                                net.addr,
                                topo.end_name(first),
                                topo.end_name(end)
                            ),
                            "every interface in a lab needs its own address",
                        );
                    } else {
                        owners.insert(net.addr, end);
                    }
                }
            }
        }
        let mut subnets: Vec<(Ipv4Net, usize)> = topo
            .segments
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.subnet.map(|n| (n, i)))
            .collect();
        subnets.sort();
        for pair in subnets.windows(2) {
            let ((a, sa), (b, sb)) = (pair[0], pair[1]);
            if a.overlaps(b) {
                let end = topo.segments[sb]
                    .ends
                    .iter()
                    .copied()
                    .find(|&e| topo.static_address(e).is_some())
                    .expect("a segment with a subnet has an address");
                let at = self.address_path(topo, end);
                self.error(
                    &at,
                    format!(
                        "{b} (network of {}) overlaps {a} (network of {}), but they are separate networks",
                        segment_name(topo, sb),
                        segment_name(topo, sa)
                    ),
                    "give each switch or router-to-router cable its own subnet",
                );
            }
        }
    }

    /// Static routes of a node, with its gateway as a default route.
    fn routes_of(&mut self, topo: &Topology, index: usize) -> Vec<Route> {
        let node_name = topo.nodes[index].name.clone();
        let node = &self.lab.nodes[node_name.as_str()];
        let kind = node.kind;
        let connected: Vec<Ipv4Net> = (0..topo.nodes[index].interfaces.len())
            .filter_map(|i| {
                topo.static_address(End {
                    node: index,
                    iface: i,
                })
            })
            .collect();
        let has_dhcp = topo.nodes[index]
            .interfaces
            .iter()
            .any(|i| i.addressing == Addressing::Dhcp);
        let mut routes: Vec<Route> = Vec::new();
        // (where it is written, what it says) for every default route.
        let mut defaults: Vec<(Vec<Step>, String)> = Vec::new();

        if node.routing == Some(Routing::Auto) && kind != NodeKind::Router {
            self.error(
                &path!["nodes", node_name.as_str(), "routing"],
                format!(
                    "`routing: auto` is for routers, and {node_name} is a {}",
                    kind.as_str()
                ),
                "hosts and servers use `gateway` instead",
            );
        }
        // (where, text, the interface it is written on)
        let mut gateways: Vec<(Vec<Step>, &str, Option<&str>)> = Vec::new();
        if let Some(gw) = &node.gateway {
            gateways.push((
                path!["nodes", node_name.as_str(), "gateway"].to_vec(),
                gw,
                None,
            ));
        }
        for (ifname, spec) in &node.interfaces {
            if let Some(gw) = spec.gateway() {
                gateways.push((
                    iface_path(&node_name, ifname, Some("gateway")),
                    gw,
                    Some(ifname.as_str()),
                ));
            }
        }
        for (at, text, on) in gateways {
            if has_dhcp && kind.is_end_device() {
                self.error(
                    &at,
                    format!("{node_name} gets its default gateway by DHCP, so it cannot also have one here"),
                    "remove this gateway (the DHCP server's pool gives it), or make the interface static",
                );
                continue;
            }
            if !kind.is_end_device() {
                self.error(
                    &at,
                    format!("a {} has no default gateway", kind.as_str()),
                    if kind == NodeKind::Router {
                        "a router's default route is a route: `routes: [{to: default, via: ADDRESS}]`"
                    } else {
                        "a switch needs no gateway: remove it"
                    },
                );
                continue;
            }
            if let Some((address, _)) = text.split_once('/') {
                self.error(
                    &at,
                    format!("a gateway is an address without a prefix: `{text}`"),
                    format!("write `{address}`"),
                );
                continue;
            }
            let gw = match parse_ipv4(text) {
                Ok(gw) => gw,
                Err(message) => {
                    self.error(
                        &at,
                        message,
                        "the gateway is the router's address on this subnet, e.g. 192.168.1.1",
                    );
                    continue;
                }
            };
            if !self.next_hop_ok(topo, &at, &node_name, gw, &connected, has_dhcp) {
                continue;
            }
            let own_net = on.and_then(|ifname| {
                let i = topo.nodes[index]
                    .interfaces
                    .iter()
                    .position(|i| i.name == ifname)?;
                topo.static_address(End {
                    node: index,
                    iface: i,
                })
            });
            if let (Some(ifname), Some(net)) = (on, own_net)
                && !net.contains(gw)
            {
                self.error(
                    &at,
                    format!("gateway {gw} is not on {ifname}'s subnet {}", net.network()),
                    format!(
                        "a gateway written on {ifname} must be a router address in {}",
                        net.network()
                    ),
                );
                continue;
            }
            defaults.push((at, format!("gateway {gw}")));
            routes.push(Route {
                to: Ipv4Net::DEFAULT,
                via: gw,
            });
        }
        for (ri, route) in node.routes.iter().enumerate() {
            let at = path!["nodes", node_name.as_str(), "routes", ri].to_vec();
            if kind == NodeKind::Switch {
                self.error(
                    &at,
                    "a switch has no routes",
                    "put routes on routers and hosts",
                );
                continue;
            }
            let to = if route.to == "default" {
                Ipv4Net::DEFAULT
            } else {
                match route.to.parse::<Ipv4Net>() {
                    Ok(net) if !net.is_network_address() => {
                        let mut to_at = at.clone();
                        to_at.push(Step::from("to"));
                        self.error(
                            &to_at,
                            format!("{net} is an address, not a network"),
                            format!("the destination is the network: write {}", net.network()),
                        );
                        continue;
                    }
                    Ok(net) => net,
                    Err(e) => {
                        let mut to_at = at.clone();
                        to_at.push(Step::from("to"));
                        self.error(
                            &to_at,
                            e.message,
                            "write a network like 192.168.2.0/24, or `default`",
                        );
                        continue;
                    }
                }
            };
            if let Some(net) = connected.iter().find(|n| n.network() == to) {
                self.error(
                    &at,
                    format!(
                        "{node_name} is directly on {to} ({}): it needs no route there",
                        net.addr
                    ),
                    "remove this route",
                );
                continue;
            }
            if to != Ipv4Net::DEFAULT && routes.iter().any(|r| r.to == to) {
                self.error(
                    &at,
                    format!("{node_name} has two routes to {to}"),
                    "keep one route per destination",
                );
                continue;
            }
            let mut via_at = at.clone();
            via_at.push(Step::from("via"));
            let via = match parse_ipv4(&route.via) {
                Ok(via) => via,
                Err(message) => {
                    self.error(
                        &via_at,
                        message,
                        "`via` is the next router's address, e.g. 10.0.0.2",
                    );
                    continue;
                }
            };
            if !self.next_hop_ok(topo, &via_at, &node_name, via, &connected, has_dhcp) {
                continue;
            }
            if to == Ipv4Net::DEFAULT {
                defaults.push((at, format!("route to default via {via}")));
            }
            routes.push(Route { to, via });
        }
        defaults.sort_by_key(|(at, _)| self.raw.pos(at));
        if defaults.len() > 1 {
            let (at, what) = defaults[1].clone();
            let first = defaults[0].1.clone();
            let line = self.raw.pos(&defaults[0].0).line;
            let message = if first == what {
                format!(
                    "{node_name}'s default gateway is written twice: {what} (line {line} and here)"
                )
            } else {
                format!("{node_name} has two default gateways: {first} (line {line}) and {what}")
            };
            self.error(
                &at,
                message,
                "a node sends off-subnet traffic to one gateway: keep one of them",
            );
        }
        routes
    }

    /// A next hop must be on one of the node's subnets and not the node itself.
    fn next_hop_ok(
        &mut self,
        topo: &Topology,
        at: &[Step],
        node_name: &str,
        hop: Ipv4Addr,
        connected: &[Ipv4Net],
        has_dhcp: bool,
    ) -> bool {
        if connected.iter().any(|n| n.addr == hop) {
            self.error(
                at,
                format!("{hop} is {node_name}'s own address"),
                "the next hop is another node, usually the router",
            );
            return false;
        }
        if let Some(net) = connected.iter().find(|n| n.contains(hop))
            && (Ipv4Net {
                addr: hop,
                prefix: net.prefix,
            })
            .is_reserved_host()
        {
            self.error(
                at,
                format!(
                    "{hop} is the network or broadcast address of {}, not a router",
                    net.network()
                ),
                "the next hop is a router's own address on this subnet",
            );
            return false;
        }
        if connected.iter().any(|n| n.contains(hop)) {
            let known = topo.segments.iter().any(|s| {
                s.ends
                    .iter()
                    .any(|&e| topo.static_address(e).is_some_and(|a| a.addr == hop))
            });
            if !known {
                self.warn(
                    at,
                    format!("no node in this lab has the address {hop}"),
                    "the next hop should be the address of a router on the same subnet",
                );
            }
            return true;
        }
        let subnets: Vec<String> = connected.iter().map(|n| n.network().to_string()).collect();
        let hint = if subnets.is_empty() && has_dhcp {
            format!(
                "{node_name} gets its address by DHCP, which also gives the gateway: remove this"
            )
        } else if subnets.is_empty() {
            format!("{node_name} has no static address, so no next hop is reachable")
        } else {
            format!(
                "{node_name} is on {}: use a router address there",
                subnets.join(", ")
            )
        };
        self.error(
            at,
            format!("{hop} is not on any subnet of {node_name}"),
            hint,
        );
        false
    }

    /// Warnings for what builds but will probably surprise the student.
    fn check_reachability_hints(&mut self, topo: &Topology) {
        let subnet_count = topo.segments.iter().filter(|s| s.subnet.is_some()).count();
        for (index, node) in topo.nodes.iter().enumerate() {
            let written = &self.lab.nodes[node.name.as_str()];
            if node.interfaces.is_empty()
                && node.kind != NodeKind::Switch
                && written.interfaces.is_empty()
            {
                self.warn_node(
                    &node.name,
                    format!("{} is not connected to anything", node.name),
                    format!(
                        "add a link such as `[{}, {}]`",
                        node.name,
                        self.some_switch(topo)
                    ),
                );
            }
            if node.kind == NodeKind::Switch {
                continue;
            }
            self.warn_about_repeated_segments(topo, index);
            for iface in &node.interfaces {
                let written_address = written
                    .interfaces
                    .get(&iface.name)
                    .and_then(|i| i.address());
                if iface.addressing == Addressing::None && written_address.is_none() {
                    self.warn(
                        &iface_path(&node.name, &iface.name, None),
                        format!("{}/{} has no address", node.name, iface.name),
                        format!(
                            "add `interfaces: {{{}: ADDRESS/PREFIX}}`{}",
                            iface.name,
                            if node.kind.is_end_device() {
                                " or `dhcp`"
                            } else {
                                ""
                            }
                        ),
                    );
                }
            }
            if !node.kind.is_end_device() {
                continue;
            }
            let has_static = node
                .interfaces
                .iter()
                .any(|i| matches!(i.addressing, Addressing::Static(_)));
            let has_default = written.gateway.is_some()
                || written.interfaces.values().any(|i| i.gateway().is_some())
                || node.routes.iter().any(|r| r.to == Ipv4Net::DEFAULT);
            if has_static && !has_default && subnet_count > 1 {
                self.warn_node(
                    &node.name,
                    format!(
                        "{} has no default gateway: it reaches only its own subnet",
                        node.name
                    ),
                    "add `gateway: ROUTER-ADDRESS` to reach the other networks",
                );
            }
        }
    }

    /// A node with two cables into one network is almost always a mistake.
    fn warn_about_repeated_segments(&mut self, topo: &Topology, index: usize) {
        let node = &topo.nodes[index];
        for (i, iface) in node.interfaces.iter().enumerate() {
            if let Some(first) = node.interfaces[..i]
                .iter()
                .find(|o| o.segment == iface.segment)
            {
                self.warn(
                    &iface_path(&node.name, &iface.name, None),
                    format!(
                        "{} has two cables into the same network ({} and {}, both on {})",
                        node.name,
                        first.name,
                        iface.name,
                        segment_name(topo, iface.segment)
                    ),
                    "cable each interface to a different switch or router",
                );
            }
        }
    }

    /// A switch of this lab to name in hints, or a placeholder.
    fn some_switch(&self, topo: &Topology) -> String {
        topo.nodes
            .iter()
            .find(|n| n.kind == NodeKind::Switch)
            .map_or("OTHER-NODE".to_string(), |n| n.name.clone())
    }
}

/// Why `name` cannot name a lab or a node (it becomes part of namespace
/// names and a hostname), if it cannot.
pub fn name_problem(name: &str) -> Option<String> {
    let bytes = name.as_bytes();
    if name.is_empty() {
        Some("it is empty".into())
    } else if name.len() > MAX_NAME {
        Some(format!("it is {} characters long", name.len()))
    } else if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
    {
        Some(format!("`{c}` is not allowed"))
    } else if !bytes[0].is_ascii_alphanumeric() || !bytes[bytes.len() - 1].is_ascii_alphanumeric() {
        Some("it starts or ends with `-`".into())
    } else {
        None
    }
}

fn name_rule(what: &str) -> String {
    format!(
        "{what} use letters, digits and `-` (not first or last), at most {MAX_NAME} characters, e.g. pc-ada"
    )
}

/// What kind of special address `ip` is, if it cannot be an interface's.
fn unusable(ip: Ipv4Addr) -> Option<&'static str> {
    if ip.is_loopback() {
        Some("a loopback address")
    } else if ip.is_multicast() {
        Some("a multicast address")
    } else if ip.is_broadcast() {
        Some("the broadcast address")
    } else if ip.octets()[0] == 0 {
        Some("in 0.0.0.0/8 (\"this network\")")
    } else if ip.octets()[0] >= 240 {
        Some("a reserved (class E) address")
    } else {
        None
    }
}

/// Labels of letters, digits and `-`, at most 63 each, joined by dots.
pub fn valid_domain(domain: &str) -> bool {
    !domain.is_empty()
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
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

/// Why `name` cannot be an interface of a node of `kind`, if it cannot.
fn ifname_problem(name: &str, kind: NodeKind) -> Result<(), String> {
    if name.is_empty() {
        return Err("it is empty".into());
    }
    if name.len() > MAX_IFNAME {
        return Err(format!(
            "it is {} bytes long and Linux allows {MAX_IFNAME}",
            name.len()
        ));
    }
    if name == "." || name == ".." {
        return Err("it is reserved".into());
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "-_.".contains(*c)))
    {
        return Err(format!("`{c}` is not allowed"));
    }
    if name == "lo" {
        return Err("`lo` is the loopback interface every node already has".into());
    }
    if kind == NodeKind::Switch && name == crate::lab::plan::BRIDGE_NAME {
        return Err(format!("`{name}` is the switch's own bridge"));
    }
    Ok(())
}

/// Sort key that puts eth2 before eth10.
fn natural_key(name: &str) -> (String, u64) {
    let digits = name.len() - name.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    let (stem, number) = name.split_at(name.len() - digits);
    (stem.to_string(), number.parse().unwrap_or(0))
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

#[path = "validate_dhcp.rs"]
mod dhcp;
#[path = "validate_mail.rs"]
mod mail;

#[path = "validate_dns.rs"]
mod dns;

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
