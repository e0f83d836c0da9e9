//! The lab file's typed model: what a student or instructor writes.
//!
//! Values that need checking with a good message (addresses, names, routes) stay
//! text here and are parsed by `validate/`, which knows where each one came
//! from. The JSON Schema for editors is generated from these types, and the
//! shape check reads that schema, so the three cannot drift apart.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A lab: named nodes, the cables between them, and the checks that grade it.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Lab {
    /// The lab's name: letters, digits and `-`, at most 32 characters. Two labs
    /// with different names can run side by side.
    pub name: String,
    /// Free text shown by `labctl status`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The devices, by name (a name is also the node's hostname).
    pub nodes: IndexMap<String, Node>,
    /// Cables: `[pc0, sw0]`, or with interface names `[r1:eth1, r2:eth0]`.
    #[serde(default)]
    pub links: Vec<Link>,
    /// Cables that delay, lose, slow down, duplicate or corrupt packets
    /// (`labctl link LAB A B --delay …` changes them while the lab runs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub impairments: Vec<Impairment>,
    /// Behaviour the lab must show, checked by `labctl check` and `labctl test`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<super::model_checks::Check>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum NodeKind {
    /// An end device (a PC).
    Host,
    /// An end device that runs services.
    Server,
    /// Forwards packets between its interfaces.
    Router,
    /// A layer-2 switch (a Linux bridge); it has no addresses.
    Switch,
}

impl NodeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeKind::Host => "host",
            NodeKind::Server => "server",
            NodeKind::Router => "router",
            NodeKind::Switch => "switch",
        }
    }

    /// Hosts and servers are end devices: they have gateways, not routing.
    pub fn is_end_device(self) -> bool {
        matches!(self, NodeKind::Host | NodeKind::Server)
    }
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Node {
    pub kind: NodeKind,
    /// Interface settings by name: `eth0: 192.168.1.2/24`, `eth0: dhcp`, or a
    /// mapping with `address` and `gateway`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub interfaces: IndexMap<String, InterfaceSpec>,
    /// Default gateway of a host or server (an address on one of its subnets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    /// DNS servers, written to the node's own resolv.conf.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns: Vec<String>,
    /// Search domain for short names in the node's resolv.conf.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// `auto`: labctl computes shortest-path routes to every subnet of the lab.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing: Option<Routing>,
    /// Static routes: `{to: 192.168.2.0/24, via: 10.0.0.2}` (`to: default` for
    /// a default route).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<StaticRoute>,
    /// Services the node runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub services: Option<Services>,
    /// Mail client settings of a PC (one account, or a list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mail: Option<super::model_agents::MailSettings>,
}

/// Interface settings: the short form is just the address.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum InterfaceSpec {
    /// `192.168.1.2/24` or `dhcp`.
    Address(String),
    Detailed(InterfaceConfig),
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InterfaceConfig {
    /// `ADDRESS/PREFIX` (e.g. `192.168.1.2/24`) or `dhcp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Default gateway reached through this interface (hosts and servers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    /// MAC address (`02:00:00:00:00:01`); labctl derives a stable one from
    /// the lab, node and interface names when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    /// Routers: forward DHCP broadcasts from this interface's network to
    /// this server address (Cisco's `ip helper-address`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dhcp_relay: Option<String>,
}

impl InterfaceSpec {
    pub fn address(&self) -> Option<&str> {
        match self {
            InterfaceSpec::Address(a) => Some(a),
            InterfaceSpec::Detailed(c) => c.address.as_deref(),
        }
    }

    pub fn gateway(&self) -> Option<&str> {
        match self {
            InterfaceSpec::Address(_) => None,
            InterfaceSpec::Detailed(c) => c.gateway.as_deref(),
        }
    }

    pub fn mac(&self) -> Option<&str> {
        match self {
            InterfaceSpec::Address(_) => None,
            InterfaceSpec::Detailed(c) => c.mac.as_deref(),
        }
    }

    pub fn dhcp_relay(&self) -> Option<&str> {
        match self {
            InterfaceSpec::Address(_) => None,
            InterfaceSpec::Detailed(c) => c.dhcp_relay.as_deref(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Routing {
    /// Only connected networks and the routes listed in `routes`.
    Static,
    /// Shortest-path routes to every subnet of the lab, plus `routes`.
    Auto,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StaticRoute {
    /// Destination network `ADDRESS/PREFIX`, or `default`.
    pub to: String,
    /// Next hop: an address on one of this node's subnets.
    pub via: String,
}

/// A cable between two nodes. Each end is `NODE` or `NODE:INTERFACE`; without
/// an interface the next free one (`eth0`, `eth1`, …) is used.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct Link(pub [String; 2]);

/// What a cable does to the packets crossing it, in each direction (netem,
/// and a token bucket for `rate`).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Impairment {
    /// The cable, by its two ends as in `links`: `[r1, r2]` or `[r1:eth0, r2:eth0]`.
    pub link: [String; 2],
    /// One-way delay: `200ms`, `1.5s`, `500us`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<String>,
    /// Random variation of the delay (±), at most the delay: `20ms`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter: Option<String>,
    /// Packets lost: `5%`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<String>,
    /// Bandwidth: `512kbit`, `10mbit`, `1gbit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<String>,
    /// Packets sent twice: `1%`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate: Option<String>,
    /// Packets with a bit flipped: `0.1%`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corrupt: Option<String>,
}

/// The services a node runs. Each service kind is a key of this mapping.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Services {
    /// A DHCP server: address pools for the networks it serves, directly or
    /// through routers' `dhcp_relay`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dhcp: Option<DhcpService>,
    /// A static web server on port 80: inline `pages` or a `root` directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web: Option<super::model_agents::WebService>,
    /// Webmail on port 80: `{server: mail.hamburger.edu}`; log in, read,
    /// send and file mail in a browser, over IMAP and SMTP to that server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webmail: Option<super::model_agents::WebmailService>,
    /// A DNS server: authoritative zones, and optionally a resolver for
    /// names outside them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns: Option<super::model_dns::DnsService>,
    /// A mail server: SMTP on 25 and 587, POP3 on 110, IMAP on 143, for
    /// its domains and users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mail: Option<MailService>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MailService {
    /// The domains this server delivers locally (`[mt.com]`); mail for
    /// other domains is relayed, for authenticated users only.
    pub domains: Vec<String>,
    /// Accounts: user name (the address's local part) to password.
    #[serde(default)]
    pub users: IndexMap<String, String>,
    /// Sign the mail its users send with DKIM: `{selector: s1, publish: true}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dkim: Option<super::model_mail_auth::DkimSetting>,
    /// Check the sender of mail arriving without login (SPF, DKIM, DMARC)
    /// and apply the sender's DMARC policy: `reject`, `quarantine` or
    /// `record`. Without it, no checks are made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender_checks: Option<super::model_mail_auth::Enforcement>,
    /// TLS on this server: `off` (the default: plain text only),
    /// `optional` (STARTTLS on 25/587, STLS on 110, STARTTLS on 143, and
    /// 465, 995, 993) or `required` (as optional, and no login before TLS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<super::model_tls::TlsMode>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DhcpService {
    /// One pool per network served.
    pub pools: Vec<DhcpPool>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DhcpPool {
    /// The addresses handed out: `FIRST-LAST`, e.g. `192.168.1.100-192.168.1.199`.
    pub range: String,
    /// The pool's network (`192.168.1.0/24`); by default the lab network
    /// that contains the range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet: Option<String>,
    /// Default gateway given to clients (option 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    /// DNS servers given to clients (option 6).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns: Vec<String>,
    /// Domain name given to clients (option 15).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// Lease time: seconds, or a number with `s`, `m`, `h` or `d` (default `1h`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease: Option<String>,
    /// Fixed addresses: `{node: pc0, address: …}` or `{mac: …, address: …}`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reservations: Vec<DhcpReservation>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DhcpReservation {
    /// The address this client always gets.
    pub address: String,
    /// The client's MAC address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    /// The client node (`pc0`, or `pc0:eth1` for another interface).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
}
