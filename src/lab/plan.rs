//! The plan: pure data saying exactly what to build — namespaces, veth pairs,
//! bridges, addresses, routes, sysctls and per-node files. It is the seam
//! between the lab file (everything before is pure) and the kernel
//! (everything after consumes a plan). It is saved in the lab's state dir, so
//! `down`, `status`, `exec` and the daemon work from it.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

use super::addr::{DEFAULT_ROUTE, Mac};
use super::model::{NodeKind, Routing};
use super::routing::auto_routes;
use super::topology::{Addressing, DhcpPool, End, MailPlan, Topology};

/// The bridge inside every switch's namespace.
pub const BRIDGE_NAME: &str = "br0";
/// Interface indices are chosen by the plan, so no lookup is ever needed:
/// `lo` is 1 in every namespace, a switch's bridge 20, interfaces from 21.
/// 2–19 stay free for the fallback devices the kernel itself adds to every
/// new namespace when tunnel modules are loaded (a requested index that is
/// taken makes RTM_NEWLINK fail with EBUSY).
pub const BRIDGE_INDEX: u32 = 20;
pub const FIRST_IFINDEX: u32 = 21;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Plan {
    pub lab: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub nodes: Vec<PlanNode>,
    pub links: Vec<PlanLink>,
    /// Impaired cables (netem and tbf on both ends, set by `net::netem`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub impairments: Vec<PlanImpairment>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PlanImpairment {
    /// Index in `links`.
    pub link: usize,
    pub netem: super::netem::Netem,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PlanNode {
    pub name: String,
    pub kind: NodeKind,
    /// The network namespace: `LAB.NODE` (so `ip netns exec LAB.NODE …` works).
    pub namespace: String,
    pub interfaces: Vec<PlanIface>,
    pub routes: Vec<PlanRoute>,
    /// Routers forward packets between interfaces (net.ipv4.ip_forward=1).
    pub forwarding: bool,
    /// `routing: auto`: the lab daemon recomputes the `Auto` routes when a
    /// link goes down or comes back (`plan_routing.rs`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub auto_routing: bool,
    /// Written to /etc/netns/NAMESPACE/resolv.conf.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns: Vec<Ipv4Addr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// The node runs a DHCP server with these pools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dhcp_server: Option<Vec<DhcpPool>>,
    /// The node's mail client accounts and web site.
    #[serde(default, skip_serializing_if = "super::model_agents::Agents::is_empty")]
    pub agents: super::model_agents::Agents,
    /// The node runs a DNS server with these zones and resolver role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_server: Option<super::zones::DnsServer>,
    /// The node runs a mail server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mail: Option<MailPlan>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PlanIface {
    pub name: String,
    pub index: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Ipv4Net>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dhcp: bool,
    pub mac: Mac,
    /// Routers: relay DHCP from this interface's network to this server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dhcp_relay: Option<Ipv4Addr>,
    /// `node/iface` at the other end of the cable.
    pub peer: String,
    /// A switch port, enslaved to the switch's bridge.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub bridge_port: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RouteOrigin {
    /// From a `gateway` setting.
    Gateway,
    /// From the node's `routes` list.
    Static,
    /// Computed by `routing: auto`.
    Auto,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanRoute {
    pub to: Ipv4Net,
    pub via: Ipv4Addr,
    pub origin: RouteOrigin,
}

/// A veth pair. When one end is a switch port it is `a`, so the port can be
/// enslaved to the bridge in the same request that creates it.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct PlanLink {
    pub a: PlanEnd,
    pub b: PlanEnd,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanEnd {
    pub node: usize,
    pub iface: usize,
}

pub fn namespace_name(lab: &str, node: &str) -> String {
    format!("{lab}.{node}")
}

impl Plan {
    pub fn node(&self, name: &str) -> Option<&PlanNode> {
        self.nodes.iter().find(|n| n.name == name)
    }

    pub fn iface(&self, end: PlanEnd) -> &PlanIface {
        &self.nodes[end.node].interfaces[end.iface]
    }

    /// The node whose static address is `ip`, if any has it.
    pub fn owner_of(&self, ip: Ipv4Addr) -> Option<&PlanNode> {
        self.nodes
            .iter()
            .find(|n| n.static_addresses().any(|a| a == ip))
    }
}

impl PlanNode {
    /// The node's static addresses, interface by interface.
    pub fn static_addresses(&self) -> impl Iterator<Item = Ipv4Addr> + '_ {
        self.interfaces
            .iter()
            .filter_map(|i| i.address)
            .map(|net| net.addr())
    }
}

/// The routes node `index` is given: its `routes` and gateway, then for
/// `routing: auto` the computed ones to every network not already listed.
pub fn node_routes(topo: &Topology, index: usize) -> Vec<PlanRoute> {
    let node = &topo.nodes[index];
    let mut routes: Vec<PlanRoute> = node
        .routes
        .iter()
        .map(|r| PlanRoute {
            to: r.to,
            via: r.via,
            origin: if r.to == DEFAULT_ROUTE && node.kind.is_end_device() {
                RouteOrigin::Gateway
            } else {
                RouteOrigin::Static
            },
        })
        .collect();
    if node.routing == Routing::Auto {
        for route in auto_routes(topo, index) {
            if !routes.iter().any(|r| r.to == route.to) {
                routes.push(PlanRoute {
                    to: route.to,
                    via: route.via,
                    origin: RouteOrigin::Auto,
                });
            }
        }
    }
    routes
}

pub fn plan(topo: &Topology) -> Plan {
    let nodes = topo
        .nodes
        .iter()
        .enumerate()
        .map(|(index, node)| {
            let interfaces = node
                .interfaces
                .iter()
                .enumerate()
                .map(|(i, iface)| {
                    let end = End {
                        node: index,
                        iface: i,
                    };
                    PlanIface {
                        name: iface.name.clone(),
                        index: FIRST_IFINDEX + i as u32,
                        address: topo.static_address(end),
                        dhcp: iface.addressing == Addressing::Dhcp,
                        mac: iface.mac,
                        dhcp_relay: iface.dhcp_relay,
                        peer: topo.end_name(topo.peer(end)),
                        bridge_port: node.kind == NodeKind::Switch,
                    }
                })
                .collect();
            let routes = node_routes(topo, index);
            PlanNode {
                name: node.name.clone(),
                kind: node.kind,
                namespace: namespace_name(&topo.name, &node.name),
                interfaces,
                routes,
                forwarding: node.kind == NodeKind::Router,
                auto_routing: node.routing == Routing::Auto,
                dns: node.dns.clone(),
                domain: node.domain.clone(),
                dhcp_server: node.dhcp_pools.clone(),
                agents: node.agents.clone(),
                dns_server: node.dns_server.clone(),
                mail: node.mail.clone(),
            }
        })
        .collect();
    let links = topo
        .links
        .iter()
        .map(|link| {
            let [first, second] = link.ends.map(|e| PlanEnd {
                node: e.node,
                iface: e.iface,
            });
            let second_is_switch = topo.nodes[second.node].kind == NodeKind::Switch;
            if second_is_switch && topo.nodes[first.node].kind != NodeKind::Switch {
                PlanLink {
                    a: second,
                    b: first,
                }
            } else {
                PlanLink {
                    a: first,
                    b: second,
                }
            }
        })
        .collect();
    Plan {
        lab: topo.name.clone(),
        description: topo.description.clone(),
        nodes,
        links,
        impairments: topo
            .impairments
            .iter()
            .map(|(link, netem)| PlanImpairment {
                link: *link,
                netem: netem.clone(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::load::check_text;

    #[test]
    fn plans_namespaces_indices_and_bridge_ports() {
        let checked = check_text(
            "lab.yaml",
            "
name: small
nodes:
  pc0: {kind: host, interfaces: {eth0: {address: 10.0.0.2/24, mac: '02:00:00:00:00:02'}}}
  sw0: {kind: switch}
  pc1: {kind: host, interfaces: {eth0: dhcp}}
links:
  - [pc0, sw0]
  - [sw0, pc1]
"
            .to_string(),
        );
        let plan = plan(&checked.valid.expect("valid").1);
        let sw0 = plan.node("sw0").unwrap();
        assert_eq!(sw0.namespace, "small.sw0");
        assert_eq!(
            sw0.interfaces
                .iter()
                .map(|i| (i.name.as_str(), i.index))
                .collect::<Vec<_>>(),
            [("eth0", FIRST_IFINDEX), ("eth1", FIRST_IFINDEX + 1)]
        );
        assert!(sw0.interfaces.iter().all(|i| i.bridge_port));
        assert!(
            plan.nodes
                .iter()
                .flat_map(|n| &n.interfaces)
                .all(|i| i.index > BRIDGE_INDEX),
            "interfaces come after the bridge"
        );
        // The switch end is always `a`, so it joins the bridge as it is made.
        for link in &plan.links {
            assert_eq!(plan.nodes[link.a.node].name, "sw0");
        }
        let pc0 = plan.node("pc0").unwrap();
        assert_eq!(pc0.interfaces[0].mac.to_string(), "02:00:00:00:00:02");
        assert_eq!(pc0.interfaces[0].peer, "sw0/eth0");
        assert!(plan.node("pc1").unwrap().interfaces[0].dhcp);
        assert!(!pc0.forwarding);
    }

    #[test]
    fn planned_indices_leave_room_for_every_fallback_tunnel_device() {
        // What `ipip`, `ip_gre`, `sit`, `ip6_tunnel`, `ip6_gre`, `ip_vti` and
        // `ip6_vti` add to every new namespace, at 2, 3, … in load order.
        const FALLBACK_TUNNEL_DEVICES: [&str; 9] = [
            "tunl0", "gre0", "gretap0", "erspan0", "sit0", "ip6tnl0", "ip6gre0", "ip_vti0",
            "ip6_vti0",
        ];
        let last_fallback = 1 + FALLBACK_TUNNEL_DEVICES.len() as u32;
        assert!(
            last_fallback < BRIDGE_INDEX && BRIDGE_INDEX < FIRST_IFINDEX,
            "lo (1) and the fallback devices (2..={last_fallback}) must stay below the bridge ({BRIDGE_INDEX})"
        );
    }
}
