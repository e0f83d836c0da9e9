//! The DNS part of the plan: a node's zones with every record resolved (node
//! references turned into addresses, names made absolute, reverse zones
//! filled in), the generated SOA values, and the resolver role. The daemon
//! hands this to `services::dns` as is.

use std::net::{Ipv4Addr, Ipv6Addr};

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

/// TTL of records when neither the record nor the service gives one.
pub const DEFAULT_TTL: u32 = 300;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsServer {
    pub zones: Vec<Zone>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolver: Option<ResolverRole>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Zone {
    /// Absolute, with the final dot (`cbrc.com.`, `.`).
    pub origin: String,
    /// The SOA serial: a hash of the records, so it changes when they do.
    pub serial: u32,
    pub ttl: u32,
    /// PTRs generated from the lab's forward zones (`reverse`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reverse: bool,
    pub records: Vec<ZoneRecord>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ZoneRecord {
    /// Absolute, with the final dot.
    pub name: String,
    pub data: RecordValue,
}

/// Record data; names are absolute with the final dot.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum RecordValue {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    Cname(String),
    Mx {
        preference: u16,
        exchange: String,
    },
    Txt(String),
    Ns(String),
    Ptr(String),
    Srv {
        priority: u16,
        weight: u16,
        port: u16,
        target: String,
    },
}

impl RecordValue {
    pub fn type_name(&self) -> &'static str {
        match self {
            RecordValue::A(_) => "A",
            RecordValue::Aaaa(_) => "AAAA",
            RecordValue::Cname(_) => "CNAME",
            RecordValue::Mx { .. } => "MX",
            RecordValue::Txt(_) => "TXT",
            RecordValue::Ns(_) => "NS",
            RecordValue::Ptr(_) => "PTR",
            RecordValue::Srv { .. } => "SRV",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResolverRole {
    /// Answers from its cache, asks these servers on a miss.
    Forward { servers: Vec<Ipv4Addr> },
    /// Iterates from these root servers; `allow` lists the lab's networks
    /// (hickory's recursor refuses private addresses unless allowed).
    Recursive {
        roots: Vec<Ipv4Addr>,
        allow: Vec<Ipv4Net>,
    },
}

impl ResolverRole {
    pub fn name(&self) -> &'static str {
        match self {
            ResolverRole::Forward { .. } => "forwarder",
            ResolverRole::Recursive { .. } => "recursive",
        }
    }
}

impl Zone {
    /// Builds a zone, sorting and de-duplicating its records and computing
    /// the serial from them.
    pub fn new(origin: String, ttl: u32, reverse: bool, mut records: Vec<ZoneRecord>) -> Zone {
        let mut seen = std::collections::HashSet::new();
        records.retain(|r| seen.insert(r.clone()));
        let serial = serial_of(&origin, ttl, &records);
        Zone {
            origin,
            serial,
            ttl,
            reverse,
            records,
        }
    }
}

/// FNV-1a over the zone's content, never 0 (a zone that changes gets a new
/// serial; the same zone the same serial on every `up`).
fn serial_of(origin: &str, ttl: u32, records: &[ZoneRecord]) -> u32 {
    let text = serde_json::to_string(&(origin, ttl, records)).unwrap_or_default();
    let mut hash: u32 = 0x811c_9dc5;
    for byte in text.bytes() {
        hash = (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193);
    }
    hash.max(1)
}

/// The network a reverse zone origin stands for (`1.168.192.in-addr.arpa.`
/// is 192.168.1.0/24), if it is an IPv4 reverse zone on an octet boundary.
pub fn reverse_network(origin: &str) -> Option<Ipv4Net> {
    let labels = origin.trim_end_matches('.').to_ascii_lowercase();
    let prefix = labels.strip_suffix("in-addr.arpa")?;
    let octets: Vec<u8> = prefix
        .split('.')
        .filter(|l| !l.is_empty())
        .map(|l| {
            (l.len() <= 3
                && l.bytes().all(|b| b.is_ascii_digit())
                && (l == "0" || !l.starts_with('0')))
            .then(|| l.parse::<u8>().ok())
            .flatten()
        })
        .collect::<Option<Vec<u8>>>()?;
    if octets.len() > 4 {
        return None;
    }
    let mut bytes = [0u8; 4];
    for (i, octet) in octets.iter().rev().enumerate() {
        bytes[i] = *octet;
    }
    Ipv4Net::new(Ipv4Addr::from(bytes), 8 * octets.len() as u8).ok()
}

/// `name` as zones write it: lower case, with the final dot.
pub fn absolute(name: &str) -> String {
    format!("{}.", name.trim_end_matches('.').to_ascii_lowercase())
}

/// A name as a student writes it: without the final dot, "." for the root.
pub fn display(name: &str) -> String {
    match name.trim_end_matches('.') {
        "" => ".".to_string(),
        short => short.to_string(),
    }
}

/// Whether absolute `name` is `origin` or below it.
pub fn in_zone(name: &str, origin: &str) -> bool {
    origin == "." || name == origin || name.ends_with(&format!(".{origin}"))
}

impl Zone {
    /// The data of this zone's records for absolute `name`.
    pub fn data_of<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a RecordValue> + 'a {
        self.records
            .iter()
            .filter(move |r| r.name.eq_ignore_ascii_case(name))
            .map(|r| &r.data)
    }

    /// The addresses of this zone's A records for absolute `name`.
    pub fn addresses_of<'a>(&'a self, name: &'a str) -> impl Iterator<Item = Ipv4Addr> + 'a {
        self.data_of(name).filter_map(|d| match d {
            RecordValue::A(a) => Some(*a),
            _ => None,
        })
    }
}

/// The IPv4 addresses `name` has in `zones` (following CNAMEs among them),
/// as the lab's DNS servers would answer it together; empty when no zone
/// has it. Used to cross-check settings before anything runs.
pub fn addresses_in_zones(zones: &[&Zone], name: &str) -> Vec<Ipv4Addr> {
    let mut name = absolute(name);
    // A chain longer than this is a loop (resolvers give up around 8–16).
    for _ in 0..8 {
        let addresses: Vec<Ipv4Addr> = zones.iter().flat_map(|z| z.addresses_of(&name)).collect();
        if !addresses.is_empty() {
            return addresses;
        }
        let alias = zones
            .iter()
            .flat_map(|z| z.data_of(&name))
            .find_map(|d| match d {
                RecordValue::Cname(target) => Some(target.to_ascii_lowercase()),
                _ => None,
            });
        match alias {
            Some(target) => name = target,
            None => break,
        }
    }
    Vec::new()
}

/// The PTR owner name of an address: `2.1.168.192.in-addr.arpa.`.
pub fn reverse_name(ip: Ipv4Addr) -> String {
    let [a, b, c, d] = ip.octets();
    format!("{d}.{c}.{b}.{a}.in-addr.arpa.")
}

/// PTR records of a reverse zone for `network`, from `(name, address)`
/// pairs of the lab's forward zones.
pub fn reverse_records(network: Ipv4Net, forward: &[(String, Ipv4Addr)]) -> Vec<ZoneRecord> {
    let mut records: Vec<ZoneRecord> = forward
        .iter()
        .filter(|(_, ip)| network.contains(ip))
        .map(|(name, ip)| ZoneRecord {
            name: reverse_name(*ip),
            data: RecordValue::Ptr(name.clone()),
        })
        .collect();
    records.sort_by(|a, b| a.name.cmp(&b.name));
    records
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reverse_origins_map_to_networks() {
        let net = reverse_network("1.168.192.in-addr.arpa.").unwrap();
        assert_eq!(
            (net.addr(), net.prefix_len()),
            (Ipv4Addr::new(192, 168, 1, 0), 24)
        );
        let net = reverse_network("10.IN-ADDR.ARPA").unwrap();
        assert_eq!(
            (net.addr(), net.prefix_len()),
            (Ipv4Addr::new(10, 0, 0, 0), 8)
        );
        assert!(reverse_network("cbrc.com.").is_none());
        assert!(reverse_network("300.in-addr.arpa.").is_none());
        assert!(reverse_network("01.in-addr.arpa.").is_none());
        assert!(reverse_network("1.2.3.4.5.in-addr.arpa.").is_none());
    }

    #[test]
    fn names_are_looked_up_across_zones_through_cnames() {
        let record = |name: &str, data| ZoneRecord {
            name: name.to_string(),
            data,
        };
        let ip = Ipv4Addr::new(192, 168, 1, 2);
        let com = Zone::new(
            "cbrc.com.".into(),
            DEFAULT_TTL,
            false,
            vec![
                record("mail.cbrc.com.", RecordValue::Cname("mx.cbrc.net.".into())),
                record(
                    "loop.cbrc.com.",
                    RecordValue::Cname("loop.cbrc.com.".into()),
                ),
            ],
        );
        let net = Zone::new(
            "cbrc.net.".into(),
            DEFAULT_TTL,
            false,
            vec![record("mx.cbrc.net.", RecordValue::A(ip))],
        );
        let zones = [&com, &net];
        assert_eq!(addresses_in_zones(&zones, "MAIL.cbrc.com"), [ip]);
        assert_eq!(addresses_in_zones(&zones, "mx.cbrc.net."), [ip]);
        assert!(addresses_in_zones(&zones, "mail.cbrc.co").is_empty());
        assert!(addresses_in_zones(&zones, "loop.cbrc.com").is_empty());
    }

    #[test]
    fn reverse_records_cover_only_their_network() {
        let forward = vec![
            ("mail.cbrc.com.".to_string(), Ipv4Addr::new(192, 168, 1, 2)),
            ("web.cbrc.com.".to_string(), Ipv4Addr::new(192, 168, 2, 20)),
        ];
        let net = reverse_network("1.168.192.in-addr.arpa.").unwrap();
        let records = reverse_records(net, &forward);
        assert_eq!(
            records,
            vec![ZoneRecord {
                name: "2.1.168.192.in-addr.arpa.".into(),
                data: RecordValue::Ptr("mail.cbrc.com.".into()),
            }]
        );
    }

    #[test]
    fn serial_follows_the_content() {
        let record = |ip| ZoneRecord {
            name: "www.cbrc.com.".into(),
            data: RecordValue::A(ip),
        };
        let one = Zone::new(
            "cbrc.com.".into(),
            300,
            false,
            vec![record(Ipv4Addr::new(10, 0, 0, 1))],
        );
        let same = Zone::new(
            "cbrc.com.".into(),
            300,
            false,
            vec![record(Ipv4Addr::new(10, 0, 0, 1))],
        );
        let other = Zone::new(
            "cbrc.com.".into(),
            300,
            false,
            vec![record(Ipv4Addr::new(10, 0, 0, 2))],
        );
        assert_eq!(one.serial, same.serial);
        assert_ne!(one.serial, other.serial);
        assert_ne!(one.serial, 0);
    }
}
