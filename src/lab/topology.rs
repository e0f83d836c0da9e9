//! The validated topology: the lab file with every name resolved, every
//! address parsed, every link end given an interface, and the layer-2
//! segments (what is plugged into what) worked out. The planner, the graph
//! and the auto-router read this instead of the raw model.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

use super::addr::Mac;
use super::model::{NodeKind, Routing};

pub struct Topology {
    pub name: String,
    pub description: Option<String>,
    pub nodes: Vec<TopoNode>,
    pub links: Vec<TopoLink>,
    pub segments: Vec<Segment>,
    /// Impaired cables: (index in `links`, what they do to packets).
    pub impairments: Vec<(usize, super::netem::Netem)>,
}

pub struct TopoNode {
    pub name: String,
    pub kind: NodeKind,
    pub interfaces: Vec<TopoIface>,
    pub dns: Vec<Ipv4Addr>,
    pub domain: Option<String>,
    pub routing: Routing,
    /// Static routes, including the default route a gateway stands for.
    pub routes: Vec<Route>,
    /// The DHCP server's pools, when the node runs one.
    pub dhcp_pools: Option<Vec<DhcpPool>>,
    /// Mail accounts of the node's mail client, and its web site (validated).
    pub agents: super::model_agents::Agents,
    /// The DNS server's zones and resolver role, when the node runs one.
    pub dns_server: Option<super::zones::DnsServer>,
    /// The mail service, when the node runs one.
    pub mail: Option<MailPlan>,
}

/// A mail server's domains and accounts (user names in lower case).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailPlan {
    pub domains: Vec<String>,
    pub users: Vec<MailUser>,
    /// DKIM keys of the domains it signs for (one per domain).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dkim: Vec<DkimKey>,
    /// Incoming mail is checked (SPF, DKIM, DMARC) and the sender's policy
    /// applied this far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender_checks: Option<super::model_mail_auth::Enforcement>,
    /// The lab file's `tls:` (off when not written).
    #[serde(default, skip_serializing_if = "super::model_tls::TlsMode::is_off")]
    pub tls: super::model_tls::TlsMode,
}

/// One domain's DKIM signing key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DkimKey {
    pub domain: String,
    pub selector: String,
    /// Ed25519, PKCS#8 DER in base64; None until `up` generates it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key: Option<String>,
    /// `up` adds the key's TXT record to the lab's zone for the domain.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub publish: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailUser {
    pub name: String,
    pub password: String,
}

/// A DHCP pool with everything resolved (addresses parsed, subnet found,
/// reservations by node turned into MACs). The plan carries it as is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DhcpPool {
    pub subnet: Ipv4Net,
    pub first: Ipv4Addr,
    pub last: Ipv4Addr,
    pub gateway: Option<Ipv4Addr>,
    pub dns: Vec<Ipv4Addr>,
    pub domain: Option<String>,
    pub lease_seconds: u64,
    pub reservations: Vec<Reservation>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reservation {
    pub mac: Mac,
    pub address: Ipv4Addr,
}

pub struct TopoIface {
    pub name: String,
    pub addressing: Addressing,
    /// As written, or derived from the lab, node and interface names.
    pub mac: Mac,
    /// Routers: the DHCP server this interface relays to.
    pub dhcp_relay: Option<Ipv4Addr>,
    /// Index into `Topology::links`.
    pub link: usize,
    /// Index into `Topology::segments`.
    pub segment: usize,
}

impl TopoIface {
    /// The interface's static address with its prefix, if it has one.
    pub fn static_net(&self) -> Option<Ipv4Net> {
        match self.addressing {
            Addressing::Static(net) => Some(net),
            _ => None,
        }
    }
}

impl TopoNode {
    /// The node's static addresses, interface by interface.
    pub fn static_addresses(&self) -> impl Iterator<Item = Ipv4Addr> + '_ {
        self.interfaces
            .iter()
            .filter_map(TopoIface::static_net)
            .map(|net| net.addr())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Addressing {
    None,
    Static(Ipv4Net),
    Dhcp,
}

/// One end of a link: a node and one of its interfaces (indices).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct End {
    pub node: usize,
    pub iface: usize,
}

pub struct TopoLink {
    pub ends: [End; 2],
    /// Index of this link in the file's `links` list.
    pub source: usize,
}

/// A layer-2 broadcast domain: switches joined together and everything
/// plugged into them, or a single cable between two non-switch nodes.
pub struct Segment {
    pub switches: Vec<usize>,
    /// The interfaces of hosts, servers and routers on this segment.
    pub ends: Vec<End>,
    /// The subnet its static addresses share, if it has any.
    pub subnet: Option<Ipv4Net>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route {
    pub to: Ipv4Net,
    pub via: Ipv4Addr,
}

impl Topology {
    pub fn iface(&self, end: End) -> &TopoIface {
        &self.nodes[end.node].interfaces[end.iface]
    }

    /// `node/iface`, as messages and the status output name an interface.
    pub fn end_name(&self, end: End) -> String {
        format!("{}/{}", self.nodes[end.node].name, self.iface(end).name)
    }

    /// The static address of `end`, if it has one.
    pub fn static_address(&self, end: End) -> Option<Ipv4Net> {
        self.iface(end).static_net()
    }

    /// The interface whose static address is `address`, if any has it.
    pub fn owner_of(&self, address: Ipv4Addr) -> Option<End> {
        self.nodes.iter().enumerate().find_map(|(node, n)| {
            n.interfaces
                .iter()
                .position(|i| i.static_net().is_some_and(|a| a.addr() == address))
                .map(|iface| End { node, iface })
        })
    }

    pub fn node_index(&self, name: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.name == name)
    }

    /// The other end of the cable plugged into `end`.
    pub fn peer(&self, end: End) -> End {
        let link = &self.links[self.iface(end).link];
        if link.ends[0] == end {
            link.ends[1]
        } else {
            link.ends[0]
        }
    }
}
