//! The DNS service as a lab file writes it (`services: {dns: …}`): zones by
//! origin, records by name and type, and an optional resolver role. Values
//! stay text here; `validate/dns.rs` parses them with positions.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DnsService {
    /// Default TTL in seconds of the node's records (300 when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<i64>,
    /// Zones by origin (`cbrc.com`, `.` for the root zone). A zone is a
    /// mapping of record names (`@`, `mail`, or `name.with.dot.`) to records,
    /// or `reverse` for a reverse zone (`1.168.192.in-addr.arpa`) whose PTRs
    /// come from the lab's forward zones.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub zones: IndexMap<String, DnsZone>,
    /// Answer names outside the node's zones: `forward` to lab servers, or
    /// iterate from the lab's `roots`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolver: Option<DnsResolver>,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum DnsZone {
    /// `reverse`: PTR records generated from the lab's A records.
    Generated(String),
    /// Records by name.
    Records(IndexMap<String, DnsRecords>),
}

/// The records of one name, by type. A value is text or a list of texts.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DnsRecords {
    /// IPv4 addresses, or node names (that node's address: static, or its
    /// DHCP reservation).
    #[serde(rename = "A", default, skip_serializing_if = "Option::is_none")]
    pub a: Option<DnsValues>,
    /// IPv6 addresses.
    #[serde(rename = "AAAA", default, skip_serializing_if = "Option::is_none")]
    pub aaaa: Option<DnsValues>,
    /// The canonical name this name is an alias of; nothing else may sit beside it.
    #[serde(rename = "CNAME", default, skip_serializing_if = "Option::is_none")]
    pub cname: Option<DnsValues>,
    /// Mail exchangers: `PREFERENCE HOST`, e.g. `10 mail.cbrc.com.`.
    #[serde(rename = "MX", default, skip_serializing_if = "Option::is_none")]
    pub mx: Option<DnsValues>,
    /// Text records (SPF lives here: `v=spf1 mx -all`).
    #[serde(rename = "TXT", default, skip_serializing_if = "Option::is_none")]
    pub txt: Option<DnsValues>,
    /// Name servers of this name: at `@` the zone's own, below it a delegation
    /// to a child zone (give the servers' A records too: glue).
    #[serde(rename = "NS", default, skip_serializing_if = "Option::is_none")]
    pub ns: Option<DnsValues>,
    /// Pointer to a name (reverse zones).
    #[serde(rename = "PTR", default, skip_serializing_if = "Option::is_none")]
    pub ptr: Option<DnsValues>,
    /// Services: `PRIORITY WEIGHT PORT TARGET`, e.g. `0 5 25 mail.cbrc.com.`.
    #[serde(rename = "SRV", default, skip_serializing_if = "Option::is_none")]
    pub srv: Option<DnsValues>,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum DnsValues {
    One(String),
    Many(Vec<String>),
}

impl DnsValues {
    pub fn as_slice(&self) -> &[String] {
        match self {
            DnsValues::One(one) => std::slice::from_ref(one),
            DnsValues::Many(many) => many,
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DnsResolver {
    /// Forwarder: ask these lab DNS servers (addresses) and cache their answers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub forward: Vec<String>,
    /// Recursive: iterate from these lab root servers (addresses), caching by TTL.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roots: Vec<String>,
}
