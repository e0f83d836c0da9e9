//! The DNS pass: zone origins and record names, record values (node
//! references resolved to addresses, including the DHCP pass's
//! reservations), CNAME and MX rules, reverse zones, and resolver roles that
//! only ever ask lab servers. Resolves each node's `DnsServer` for the plan.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use ipnet::Ipv4Net;

use super::dhcp::DhcpServers;
use super::findings::Findings;
use super::names::valid_domain;
use crate::lab::addr::parse_ipv4;
use crate::lab::diagnostic::{Diagnostic, did_you_mean};
use crate::lab::model::{Lab, NodeKind};
use crate::lab::model_dns::{DnsRecords, DnsResolver, DnsService, DnsValues, DnsZone};
use crate::lab::raw::{RawNode, Step};
use crate::lab::topology::{Addressing, TopoIface, TopoNode, Topology};
use crate::lab::zones::{
    DEFAULT_TTL, DnsServer, RecordValue, ResolverRole, Zone, ZoneRecord, reverse_network,
    reverse_records,
};
use crate::path;
use records::{
    Problem, in_zone, mx_value, owner_name, relative, srv_value, target, txt_value, typed_values,
};

mod records;
#[cfg(test)]
mod tests;

/// The longest TTL RFC 2181 §8 allows.
const MAX_TTL: i64 = 2_147_483_647;

/// A node's zones before reverse zones are filled in.
struct Pending {
    node: usize,
    forward: Vec<Zone>,
    reverse: Vec<(String, Ipv4Net, u32)>,
    resolver: Option<ResolverRole>,
}

/// Resolves every node's DNS service, by node index (`None` for a node that
/// runs none). A node named in an A record may have its address from
/// `dhcp`'s reservations.
pub(super) fn resolve_dns(
    lab: &Lab,
    raw: &RawNode,
    topo: &Topology,
    dhcp: &DhcpServers,
) -> (Vec<Option<DnsServer>>, Vec<Diagnostic>) {
    let mut pass = DnsPass {
        lab,
        dhcp,
        found: Findings::new(raw),
    };
    let servers = pass.resolve(topo);
    (servers, pass.found.into_list())
}

struct DnsPass<'a> {
    lab: &'a Lab,
    dhcp: &'a DhcpServers,
    found: Findings<'a>,
}

impl DnsPass<'_> {
    fn resolve(&mut self, topo: &Topology) -> Vec<Option<DnsServer>> {
        let mut servers = vec![None; topo.nodes.len()];
        let mut pending = Vec::new();
        for index in 0..topo.nodes.len() {
            let name = topo.nodes[index].name.clone();
            let Some(service) = self.lab.nodes[name.as_str()]
                .services
                .as_ref()
                .and_then(|s| s.dns.as_ref())
            else {
                continue;
            };
            let at = path!["nodes", name.as_str(), "services", "dns"].to_vec();
            if topo.nodes[index].kind == NodeKind::Switch {
                self.found.error(
                    &at,
                    "a switch cannot run a DNS server",
                    "put the DNS service on a server",
                );
                continue;
            }
            pending.push(self.dns_service(topo, index, &at, service));
        }
        let forward: Vec<(String, Ipv4Addr)> = pending
            .iter()
            .flat_map(|p| &p.forward)
            .flat_map(|z| &z.records)
            .filter_map(|r| match r.data {
                RecordValue::A(ip) => Some((r.name.clone(), ip)),
                _ => None,
            })
            .collect();
        for p in pending {
            let mut zones = p.forward;
            for (origin, network, ttl) in p.reverse {
                let records = reverse_records(network, &forward);
                zones.push(Zone::new(origin, ttl, true, records));
            }
            servers[p.node] = Some(DnsServer {
                zones,
                resolver: p.resolver,
            });
        }
        servers
    }

    fn dns_service(
        &mut self,
        topo: &Topology,
        node: usize,
        at: &[Step],
        service: &DnsService,
    ) -> Pending {
        let ttl = match service.ttl {
            None => DEFAULT_TTL,
            Some(ttl) if (0..=MAX_TTL).contains(&ttl) => ttl as u32,
            Some(ttl) => {
                self.found.error(
                    &child(at, ["ttl"]),
                    format!("a TTL of {ttl} seconds is out of range"),
                    "use 0 to 2147483647 seconds, e.g. ttl: 300",
                );
                DEFAULT_TTL
            }
        };
        let mut pending = Pending {
            node,
            forward: Vec::new(),
            reverse: Vec::new(),
            resolver: None,
        };
        let zones_at = child(at, ["zones"]);
        for (written_origin, zone) in &service.zones {
            let Some(origin) = self.zone_origin(&zones_at, written_origin) else {
                continue;
            };
            let zone_at = child(&zones_at, [written_origin.as_str()]);
            match zone {
                DnsZone::Generated(word) if word == "reverse" => match reverse_network(&origin) {
                    Some(network) => pending.reverse.push((origin, network, ttl)),
                    None => self.found.error(
                        &zone_at,
                        format!("`{written_origin}` is not an IPv4 reverse zone"),
                        "a reverse zone is named by the network's octets backwards, e.g. 1.168.192.in-addr.arpa for 192.168.1.0/24",
                    ),
                },
                DnsZone::Generated(word) => self.found.error(
                    &zone_at,
                    format!("zone `{written_origin}` cannot be `{word}`"),
                    "a zone is a mapping of names to records, or `reverse`",
                ),
                DnsZone::Records(names) => {
                    let records = self.zone_records(topo, &zone_at, &origin, names);
                    pending.forward.push(Zone::new(origin, ttl, false, records));
                }
            }
        }
        if let Some(resolver) = &service.resolver {
            pending.resolver = self.resolver_role(topo, node, &child(at, ["resolver"]), resolver);
        }
        if service.zones.is_empty() && service.resolver.is_none() {
            self.found.warn(
                at,
                format!(
                    "{} runs a DNS server with no zones and no resolver",
                    topo.nodes[node].name
                ),
                "add `zones:` (names it answers for) or `resolver:` (names it looks up)",
            );
        }
        pending
    }

    /// The absolute origin of a zone, or None (reported at the key).
    fn zone_origin(&mut self, zones_at: &[Step], written: &str) -> Option<String> {
        if written == "." {
            return Some(".".into());
        }
        let trimmed = written.strip_suffix('.').unwrap_or(written);
        if valid_domain(trimmed) && trimmed.len() <= 253 {
            return Some(format!("{}.", trimmed.to_ascii_lowercase()));
        }
        self.found.error_at_key(
            zones_at,
            written,
            format!("`{written}` is not a valid zone name"),
            "a zone is a domain: labels of letters, digits and `-` joined by dots, e.g. cbrc.com (`.` for the root)".into(),
        );
        None
    }

    fn zone_records(
        &mut self,
        topo: &Topology,
        zone_at: &[Step],
        origin: &str,
        names: &indexmap::IndexMap<String, DnsRecords>,
    ) -> Vec<ZoneRecord> {
        let mut records = Vec::new();
        // Absolute owner name -> (the name as written, types present).
        let mut owners: BTreeMap<String, (String, Vec<&'static str>)> = BTreeMap::new();
        for (written, set) in names {
            let owner = match owner_name(origin, written) {
                Ok(owner) => owner,
                Err((message, hint)) => {
                    self.found.error_at_key(zone_at, written, message, hint);
                    continue;
                }
            };
            let set_at = child(zone_at, [written.as_str()]);
            let before = records.len();
            for (rtype, values) in typed_values(set) {
                let value_at = child(&set_at, [rtype]);
                for (i, text) in values.as_slice().iter().enumerate() {
                    let mut item_at = value_at.clone();
                    if matches!(values, DnsValues::Many(_)) {
                        item_at.push(Step::from(i));
                    }
                    for data in self.record_value(topo, &item_at, origin, rtype, text) {
                        records.push(ZoneRecord {
                            name: owner.clone(),
                            data,
                        });
                    }
                }
            }
            let entry = owners
                .entry(owner.clone())
                .or_insert_with(|| (written.clone(), Vec::new()));
            entry
                .1
                .extend(records[before..].iter().map(|r| r.data.type_name()));
        }
        self.check_cnames(zone_at, origin, &owners);
        self.check_glue(zone_at, origin, &records, &owners);
        records
    }

    /// One written value as record data (several for a node with several
    /// addresses); nothing when it is wrong (reported).
    fn record_value(
        &mut self,
        topo: &Topology,
        at: &[Step],
        origin: &str,
        rtype: &'static str,
        text: &str,
    ) -> Vec<RecordValue> {
        let text = text.trim();
        let result = match rtype {
            "A" => return self.ipv4_values(topo, at, text),
            "AAAA" => text
                .parse::<Ipv6Addr>()
                .map(RecordValue::Aaaa)
                .map_err(|_| {
                    (
                        format!("`{text}` is not an IPv6 address"),
                        "an AAAA record holds an IPv6 address, e.g. 2001:db8::2 (IPv4 goes in A)"
                            .to_string(),
                    )
                }),
            "CNAME" => target(origin, text, "CNAME").map(RecordValue::Cname),
            "NS" => target(origin, text, "NS").map(RecordValue::Ns),
            "PTR" => target(origin, text, "PTR").map(RecordValue::Ptr),
            "MX" => mx_value(origin, text),
            "SRV" => srv_value(origin, text),
            _ => txt_value(text),
        };
        match result {
            Ok(value) => vec![value],
            Err((message, hint)) => {
                self.found.error(at, message, hint);
                Vec::new()
            }
        }
    }

    /// An A value: an address, or a node's address(es).
    fn ipv4_values(&mut self, topo: &Topology, at: &[Step], text: &str) -> Vec<RecordValue> {
        if let Ok(ip) = text.parse::<Ipv4Addr>() {
            return vec![RecordValue::A(ip)];
        }
        if text.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            let message = parse_ipv4(text).err().unwrap_or_default();
            self.found.error(
                at,
                message,
                "an A record holds an IPv4 address or a node name",
            );
            return Vec::new();
        }
        let Some(index) = topo
            .nodes
            .iter()
            .position(|n| n.name.eq_ignore_ascii_case(text))
        else {
            let names = topo.nodes.iter().map(|n| n.name.as_str());
            let hint = match did_you_mean(text, names) {
                Some(close) => format!("did you mean `{close}`?"),
                None => "an A record holds an IPv4 address or the name of a node of this lab"
                    .to_string(),
            };
            self.found
                .error(at, format!("there is no node `{text}` in this lab"), hint);
            return Vec::new();
        };
        match node_addresses(topo, self.dhcp, index) {
            Ok(addresses) => addresses.into_iter().map(RecordValue::A).collect(),
            Err((message, hint)) => {
                self.found.error(at, message, hint);
                Vec::new()
            }
        }
    }

    /// A CNAME is alone at its name, and never at the zone's apex.
    fn check_cnames(
        &mut self,
        zone_at: &[Step],
        origin: &str,
        owners: &BTreeMap<String, (String, Vec<&'static str>)>,
    ) {
        for (owner, (written, types)) in owners {
            let cnames = types.iter().filter(|t| **t == "CNAME").count();
            if cnames == 0 {
                continue;
            }
            let at = child(zone_at, [written.as_str(), "CNAME"]);
            if owner == origin {
                self.found.error(
                    &at,
                    format!("the zone's own name {origin} cannot be a CNAME"),
                    "the apex holds the zone's SOA and NS: use A records there instead",
                );
            } else if cnames > 1 {
                self.found.error(
                    &at,
                    format!("{owner} has {cnames} CNAMEs"),
                    "an alias points at exactly one name",
                );
            } else if let Some(other) = types.iter().find(|t| **t != "CNAME") {
                self.found.error(
                    &at,
                    format!("{owner} has a CNAME beside other data ({other})"),
                    "a CNAME must be the only record of its name (RFC 1034 §3.6.2): remove the other records or the CNAME",
                );
            }
        }
    }

    /// Name servers inside the zone (or inside a child zone they serve) need
    /// their addresses in this zone too (glue), or nobody can reach them.
    fn check_glue(
        &mut self,
        zone_at: &[Step],
        origin: &str,
        records: &[ZoneRecord],
        owners: &BTreeMap<String, (String, Vec<&'static str>)>,
    ) {
        for record in records {
            let RecordValue::Ns(server) = &record.data else {
                continue;
            };
            let has_address = records.iter().any(|r| {
                &r.name == server && matches!(r.data, RecordValue::A(_) | RecordValue::Aaaa(_))
            });
            if in_zone(server, origin) && !has_address {
                let written = &owners[&record.name].0;
                self.found.warn(
                    &child(zone_at, [written.as_str(), "NS"]),
                    format!("name server {server} has no address in zone {origin}"),
                    format!(
                        "add its A record (glue), e.g. `{}: {{A: 10.0.0.2}}`",
                        relative(server, origin)
                    ),
                );
            }
        }
    }

    fn resolver_role(
        &mut self,
        topo: &Topology,
        node: usize,
        at: &[Step],
        resolver: &DnsResolver,
    ) -> Option<ResolverRole> {
        let (field, written) = match (resolver.forward.is_empty(), resolver.roots.is_empty()) {
            (false, true) => ("forward", &resolver.forward),
            (true, false) => ("roots", &resolver.roots),
            (false, false) => {
                self.found.error(
                    at,
                    "a resolver either forwards or iterates from roots, not both",
                    "keep `forward` (ask other lab servers) or `roots` (recursive), not both",
                );
                return None;
            }
            (true, true) => {
                self.found.error(
                    at,
                    "the resolver has neither `forward` nor `roots`",
                    "add `forward: [ADDRESS]` (a lab DNS server) or `roots: [ADDRESS]` (a lab root server)",
                );
                return None;
            }
        };
        let own: Vec<Ipv4Addr> = topo.nodes[node].static_addresses().collect();
        let mut servers = Vec::new();
        for (i, text) in written.iter().enumerate() {
            let item_at = child(at, [Step::from(field), Step::from(i)]);
            let ip = match parse_ipv4(text.trim()) {
                Ok(ip) => ip,
                Err(message) => {
                    self.found.error(
                        &item_at,
                        message,
                        "a lab DNS server's address, e.g. 10.0.0.2",
                    );
                    continue;
                }
            };
            if own.contains(&ip) {
                self.found.error(
                    &item_at,
                    format!("{ip} is this node's own address"),
                    "a resolver asking itself loops: point it at another lab server",
                );
                continue;
            }
            if !lab_addresses(topo).contains(&ip) {
                self.found.error(
                    &item_at,
                    format!("{ip} is not the address of any node in this lab"),
                    "labs are sealed: a resolver only asks this lab's servers (give a node that address and a DNS service)",
                );
                continue;
            }
            servers.push(ip);
        }
        if servers.is_empty() {
            return None;
        }
        Some(match field {
            "forward" => ResolverRole::Forward { servers },
            _ => ResolverRole::Recursive {
                roots: servers,
                allow: lab_networks(topo),
            },
        })
    }
}

fn child<const N: usize, S: Into<Step>>(at: &[Step], steps: [S; N]) -> Vec<Step> {
    let mut path = at.to_vec();
    path.extend(steps.map(Into::into));
    path
}

/// A node's IPv4 addresses: its static ones, else its DHCP reservations.
fn node_addresses(
    topo: &Topology,
    dhcp: &DhcpServers,
    index: usize,
) -> Result<Vec<Ipv4Addr>, Problem> {
    let node = &topo.nodes[index];
    if node.kind == NodeKind::Switch {
        return Err((
            format!("{} is a switch, which has no address", node.name),
            "name a host, server or router".into(),
        ));
    }
    let statics: Vec<Ipv4Addr> = node.static_addresses().collect();
    if !statics.is_empty() {
        return Ok(statics);
    }
    let reserved: Vec<Ipv4Addr> = node
        .interfaces
        .iter()
        .filter(|i| i.addressing == Addressing::Dhcp)
        .flat_map(|i| dhcp.reserved_addresses(i.mac))
        .collect();
    if !reserved.is_empty() {
        return Ok(reserved);
    }
    let dhcp = node
        .interfaces
        .iter()
        .any(|i| i.addressing == Addressing::Dhcp);
    Err(if dhcp {
        (
            format!(
                "{} gets its address by DHCP without a reservation, so its address is not known",
                node.name
            ),
            format!(
                "reserve one in the DHCP pool: `reservations: [{{node: {}, address: …}}]`, or give it a static address",
                node.name
            ),
        )
    } else {
        (
            format!("{} has no address", node.name),
            "give the node an address, or write the address here".into(),
        )
    })
}

/// Every static address in the lab.
fn lab_addresses(topo: &Topology) -> Vec<Ipv4Addr> {
    topo.nodes
        .iter()
        .flat_map(TopoNode::static_addresses)
        .collect()
}

/// Every network of the lab (where its DNS servers can be).
fn lab_networks(topo: &Topology) -> Vec<Ipv4Net> {
    let mut networks: Vec<Ipv4Net> = topo
        .nodes
        .iter()
        .flat_map(|n| &n.interfaces)
        .filter_map(TopoIface::static_net)
        .map(|net| net.trunc())
        .collect();
    networks.sort_by_key(|n| (u32::from(n.addr()), n.prefix_len()));
    networks.dedup();
    networks
}
