//! Validation of DNS services: zone origins and record names, record values
//! (node references resolved to addresses, including DHCP reservations),
//! CNAME and MX rules, reverse zones, and resolver roles that only ever ask
//! lab servers. Builds each node's `DnsServer` for the plan.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{Validator, valid_domain};
use crate::lab::addr::{Ipv4Net, parse_ipv4};
use crate::lab::diagnostic::did_you_mean;
use crate::lab::model::NodeKind;
use crate::lab::model_dns::{DnsRecords, DnsResolver, DnsService, DnsValues, DnsZone};
use crate::lab::raw::Step;
use crate::lab::topology::{Addressing, Topology};
use crate::lab::zones::{
    DEFAULT_TTL, DnsServer, RecordValue, ResolverRole, Zone, ZoneRecord, reverse_network,
    reverse_records,
};
use crate::path;

/// The longest TTL RFC 2181 §8 allows.
const MAX_TTL: i64 = 2_147_483_647;
/// A TXT value longer than this is surely a mistake (and would not fit a
/// UDP answer).
const MAX_TXT: usize = 4000;

/// A node's zones before reverse zones are filled in.
struct Pending {
    node: usize,
    forward: Vec<Zone>,
    reverse: Vec<(String, Ipv4Net, u32)>,
    resolver: Option<ResolverRole>,
}

impl Validator<'_> {
    pub(super) fn check_dns(&mut self, topo: &mut Topology) {
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
                self.error(
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
            topo.nodes[p.node].dns_server = Some(DnsServer {
                zones,
                resolver: p.resolver,
            });
        }
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
                self.error(
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
                    None => self.error(
                        &zone_at,
                        format!("`{written_origin}` is not an IPv4 reverse zone"),
                        "a reverse zone is named by the network's octets backwards, e.g. 1.168.192.in-addr.arpa for 192.168.1.0/24",
                    ),
                },
                DnsZone::Generated(word) => self.error(
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
            self.warn(
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
        self.error_at_key(
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
                    self.error_at_key(zone_at, written, message, hint);
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
                self.error(at, message, hint);
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
            self.error(
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
            self.error(at, format!("there is no node `{text}` in this lab"), hint);
            return Vec::new();
        };
        match node_addresses(topo, index) {
            Ok(addresses) => addresses.into_iter().map(RecordValue::A).collect(),
            Err((message, hint)) => {
                self.error(at, message, hint);
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
                self.error(
                    &at,
                    format!("the zone's own name {origin} cannot be a CNAME"),
                    "the apex holds the zone's SOA and NS: use A records there instead",
                );
            } else if cnames > 1 {
                self.error(
                    &at,
                    format!("{owner} has {cnames} CNAMEs"),
                    "an alias points at exactly one name",
                );
            } else if let Some(other) = types.iter().find(|t| **t != "CNAME") {
                self.error(
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
                self.warn(
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
                self.error(
                    at,
                    "a resolver either forwards or iterates from roots, not both",
                    "keep `forward` (ask other lab servers) or `roots` (recursive), not both",
                );
                return None;
            }
            (true, true) => {
                self.error(
                    at,
                    "the resolver has neither `forward` nor `roots`",
                    "add `forward: [ADDRESS]` (a lab DNS server) or `roots: [ADDRESS]` (a lab root server)",
                );
                return None;
            }
        };
        let own: Vec<Ipv4Addr> = topo.nodes[node]
            .interfaces
            .iter()
            .filter_map(|i| match i.addressing {
                Addressing::Static(net) => Some(net.addr),
                _ => None,
            })
            .collect();
        let mut servers = Vec::new();
        for (i, text) in written.iter().enumerate() {
            let item_at = child(at, [Step::from(field), Step::from(i)]);
            let ip = match parse_ipv4(text.trim()) {
                Ok(ip) => ip,
                Err(message) => {
                    self.error(
                        &item_at,
                        message,
                        "a lab DNS server's address, e.g. 10.0.0.2",
                    );
                    continue;
                }
            };
            if own.contains(&ip) {
                self.error(
                    &item_at,
                    format!("{ip} is this node's own address"),
                    "a resolver asking itself loops: point it at another lab server",
                );
                continue;
            }
            if !lab_addresses(topo).contains(&ip) {
                self.error(
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

/// The record types a name sets, in a fixed order.
fn typed_values(set: &DnsRecords) -> Vec<(&'static str, &DnsValues)> {
    [
        ("A", &set.a),
        ("AAAA", &set.aaaa),
        ("CNAME", &set.cname),
        ("MX", &set.mx),
        ("TXT", &set.txt),
        ("NS", &set.ns),
        ("PTR", &set.ptr),
        ("SRV", &set.srv),
    ]
    .into_iter()
    .filter_map(|(t, v)| v.as_ref().map(|v| (t, v)))
    .collect()
}

type Problem = (String, String);

/// A record's owner: `@`, relative to the origin, or absolute with a final
/// dot (then it must be inside the zone). `*` may lead (a wildcard).
fn owner_name(origin: &str, written: &str) -> Result<String, Problem> {
    let name = if written == "@" {
        origin.to_string()
    } else if let Some(absolute) = written.strip_suffix('.') {
        format!("{}.", absolute.to_ascii_lowercase())
    } else {
        join(&written.to_ascii_lowercase(), origin)
    };
    if name != "." {
        let labels: Vec<&str> = name.trim_end_matches('.').split('.').collect();
        for (i, label) in labels.iter().enumerate() {
            if !(valid_label(label) || (i == 0 && *label == "*")) {
                return Err((
                    format!("`{written}` is not a valid record name"),
                    "names are labels of letters, digits, `-` and `_` (at most 63 each) joined by dots; `@` is the zone itself".into(),
                ));
            }
        }
        if name.len() > 254 {
            return Err((
                format!("`{written}` is longer than 253 characters"),
                "use a shorter name".into(),
            ));
        }
    }
    if !in_zone(&name, origin) {
        return Err((
            format!("{name} is outside zone {origin}"),
            format!(
                "a zone holds only names ending in {origin}: write the name relative to it (`mail` for mail.{origin}) or put it in its own zone"
            ),
        ));
    }
    Ok(name)
}

/// A name a record points at: absolute with a final dot, `@`, a single
/// label (relative to the origin), or a dotted name (taken as absolute, so
/// `web.cbrc.com` never becomes web.cbrc.com.cbrc.com).
fn target(origin: &str, text: &str, rtype: &str) -> Result<String, Problem> {
    if text.parse::<IpAddr>().is_ok() {
        return Err((
            format!("{rtype} points to an address ({text}), but it must name a host"),
            format!(
                "write the host's name (e.g. mail.{}) and give that name an A record",
                origin.trim_start_matches('.')
            ),
        ));
    }
    let name = if text == "@" {
        origin.to_string()
    } else if let Some(absolute) = text.strip_suffix('.') {
        format!("{}.", absolute.to_ascii_lowercase())
    } else if text.contains('.') {
        format!("{}.", text.to_ascii_lowercase())
    } else {
        join(&text.to_ascii_lowercase(), origin)
    };
    let bare = name.trim_end_matches('.');
    let ok = name == "." || (bare.split('.').all(valid_label) && bare.len() <= 253);
    if !ok {
        return Err((
            format!("`{text}` is not a valid host name for {rtype}"),
            "a host name is labels of letters, digits and `-` joined by dots, e.g. mail.cbrc.com."
                .into(),
        ));
    }
    Ok(name)
}

fn mx_value(origin: &str, text: &str) -> Result<RecordValue, Problem> {
    let hint =
        || "write `PREFERENCE HOST`, e.g. `10 mail.cbrc.com.` (lower is preferred)".to_string();
    let parts: Vec<&str> = text.split_whitespace().collect();
    let [preference, exchange] = parts[..] else {
        if parts.len() == 1 {
            let is_address = text.parse::<IpAddr>().is_ok();
            let message = if is_address {
                format!("MX points to an address ({text}), but it must name a host")
            } else {
                format!("MX `{text}` has no preference")
            };
            return Err((message, hint()));
        }
        return Err((format!("`{text}` is not an MX value"), hint()));
    };
    let preference = preference.parse::<u16>().map_err(|_| {
        (
            format!("MX preference `{preference}` is not a number from 0 to 65535"),
            hint(),
        )
    })?;
    let exchange = target(origin, exchange, "MX")?;
    Ok(RecordValue::Mx {
        preference,
        exchange,
    })
}

fn srv_value(origin: &str, text: &str) -> Result<RecordValue, Problem> {
    let hint = || "write `PRIORITY WEIGHT PORT TARGET`, e.g. `0 5 25 mail.cbrc.com.`".to_string();
    let parts: Vec<&str> = text.split_whitespace().collect();
    let [priority, weight, port, host] = parts[..] else {
        return Err((format!("`{text}` is not an SRV value"), hint()));
    };
    let number = |t: &str| {
        t.parse::<u16>().map_err(|_| {
            (
                format!("`{t}` in SRV `{text}` is not a number from 0 to 65535"),
                hint(),
            )
        })
    };
    Ok(RecordValue::Srv {
        priority: number(priority)?,
        weight: number(weight)?,
        port: number(port)?,
        target: target(origin, host, "SRV")?,
    })
}

fn txt_value(text: &str) -> Result<RecordValue, Problem> {
    if text.len() > MAX_TXT {
        return Err((
            format!("this TXT value is {} bytes long", text.len()),
            format!("keep TXT values under {MAX_TXT} bytes"),
        ));
    }
    Ok(RecordValue::Txt(text.to_string()))
}

fn valid_label(label: &str) -> bool {
    !label.is_empty()
        && label.len() <= 63
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn join(relative: &str, origin: &str) -> String {
    if origin == "." {
        format!("{relative}.")
    } else {
        format!("{relative}.{origin}")
    }
}

/// `name` relative to `origin`, as a lab file would write it.
fn relative(name: &str, origin: &str) -> String {
    if origin == "." {
        return name.trim_end_matches('.').to_string();
    }
    name.strip_suffix(&format!(".{origin}"))
        .unwrap_or(name)
        .to_string()
}

pub(crate) fn in_zone(name: &str, origin: &str) -> bool {
    origin == "." || name == origin || name.ends_with(&format!(".{origin}"))
}

/// A node's IPv4 addresses: its static ones, else its DHCP reservations.
fn node_addresses(topo: &Topology, index: usize) -> Result<Vec<Ipv4Addr>, Problem> {
    let node = &topo.nodes[index];
    if node.kind == NodeKind::Switch {
        return Err((
            format!("{} is a switch, which has no address", node.name),
            "name a host, server or router".into(),
        ));
    }
    let statics: Vec<Ipv4Addr> = node
        .interfaces
        .iter()
        .filter_map(|i| match i.addressing {
            Addressing::Static(net) => Some(net.addr),
            _ => None,
        })
        .collect();
    if !statics.is_empty() {
        return Ok(statics);
    }
    let reserved: Vec<Ipv4Addr> = node
        .interfaces
        .iter()
        .filter(|i| i.addressing == Addressing::Dhcp)
        .flat_map(|i| {
            topo.nodes
                .iter()
                .filter_map(|n| n.dhcp_pools.as_ref())
                .flatten()
                .flat_map(|p| &p.reservations)
                .filter(move |r| r.mac == i.mac)
                .map(|r| r.address)
        })
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
        .flat_map(|n| &n.interfaces)
        .filter_map(|i| match i.addressing {
            Addressing::Static(net) => Some(net.addr),
            _ => None,
        })
        .collect()
}

/// Every network of the lab (where its DNS servers can be).
fn lab_networks(topo: &Topology) -> Vec<Ipv4Net> {
    let mut networks: Vec<Ipv4Net> = topo
        .nodes
        .iter()
        .flat_map(|n| &n.interfaces)
        .filter_map(|i| match i.addressing {
            Addressing::Static(net) => Some(net.network()),
            _ => None,
        })
        .collect();
    networks.sort_by_key(|n| (u32::from(n.addr), n.prefix));
    networks.dedup();
    networks
}

#[cfg(test)]
#[path = "validate_dns_tests.rs"]
mod tests;
