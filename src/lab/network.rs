//! A lab's network as a packet sees it: the plan's cabling (which
//! interfaces share a segment, through switches) joined with each node's
//! addresses, routes and forwarding switch. Who fills those in decides what
//! it describes: the plan alone (what `up` will install, for validation and
//! for a node that cannot be read) or the kernels now (`checks`). Pure:
//! `path_walk` walks it, and the diagnoses ask it who has what where.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::model::NodeKind;
use super::plan::{Plan, PlanNode};
use super::plan_routing;

/// An interface: (node index, interface index), both in plan order.
pub type Port = (usize, usize);

/// A route as the walk follows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeRoute {
    pub to: Ipv4Net,
    /// None: `to` is on the network of `port` itself.
    pub via: Option<Ipv4Addr>,
    /// The interface it leaves by (index in plan order), when known.
    pub port: Option<usize>,
}

/// One node's addresses, routes and forwarding switch.
#[derive(Clone, Debug, Default)]
pub struct NodeState {
    /// The addresses of each interface, in plan order.
    pub addresses: Vec<Vec<Ipv4Net>>,
    pub routes: Vec<NodeRoute>,
    /// Whether it forwards packets (net.ipv4.ip_forward).
    pub forwarding: bool,
}

impl NodeState {
    /// What the plan gives `node`: its static addresses, their connected
    /// routes, its planned routes, forwarding on routers.
    pub fn planned(node: &PlanNode) -> NodeState {
        let addresses: Vec<Vec<Ipv4Net>> = node
            .interfaces
            .iter()
            .map(|i| i.address.into_iter().collect())
            .collect();
        let connected = node.interfaces.iter().enumerate().filter_map(|(i, iface)| {
            iface.address.map(|a| NodeRoute {
                to: a.trunc(),
                via: None,
                port: Some(i),
            })
        });
        let planned = node.routes.iter().map(|r| NodeRoute {
            to: r.to,
            via: Some(r.via),
            port: port_towards(&addresses, r.via),
        });
        let routes = connected.chain(planned).collect();
        NodeState {
            addresses,
            routes,
            forwarding: node.forwarding,
        }
    }
}

/// The interface whose network holds `next`, among `addresses` (one list
/// per interface): the one a route via `next` leaves by.
pub fn port_towards(addresses: &[Vec<Ipv4Net>], next: Ipv4Addr) -> Option<usize> {
    addresses
        .iter()
        .position(|list| list.iter().any(|a| a.trunc().contains(&next)))
}

/// The plan's cabling joined with every node's state, indexed once so a
/// walk costs what its hops do, not what the lab's size does (validation
/// walks from every host to every other LAN: about a million walks in a lab
/// of 10,000 hosts).
pub struct Network<'a> {
    pub plan: &'a Plan,
    state: Vec<NodeState>,
    /// The segment of every interface, by node then interface.
    segment: Vec<Vec<usize>>,
    /// The interfaces of hosts, servers and routers on each segment.
    members: Vec<Vec<Port>>,
    /// The networks on each segment (sorted, once each).
    subnets: Vec<Vec<Ipv4Net>>,
    /// The interfaces that have each address.
    owners: HashMap<Ipv4Addr, Vec<Port>>,
}

impl<'a> Network<'a> {
    /// `state` is by node, in plan order.
    pub fn new(plan: &'a Plan, state: Vec<NodeState>) -> Network<'a> {
        let segment = segments(plan);
        let count = segment.iter().flatten().max().map_or(0, |m| m + 1);
        let mut net = Network {
            plan,
            state,
            segment,
            members: vec![Vec::new(); count],
            subnets: Vec::new(),
            owners: HashMap::new(),
        };
        let ports: Vec<Port> = net.ports().collect();
        for port in ports {
            for a in net.addresses(port).to_vec() {
                net.owners.entry(a.addr()).or_default().push(port);
            }
            if net.node(port.0).kind != NodeKind::Switch {
                let seg = net.segment(port);
                net.members[seg].push(port);
            }
        }
        net.subnets = (0..count)
            .map(|seg| net.subnets_of_members(seg, None))
            .collect();
        net
    }

    /// The network the plan will build.
    pub fn planned(plan: &'a Plan) -> Network<'a> {
        Network::new(plan, plan.nodes.iter().map(NodeState::planned).collect())
    }

    pub fn node(&self, n: usize) -> &PlanNode {
        &self.plan.nodes[n]
    }

    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.plan.nodes.iter().position(|n| n.name == name)
    }

    pub fn iface_index(&self, n: usize, name: &str) -> Option<usize> {
        self.node(n).interfaces.iter().position(|i| i.name == name)
    }

    pub fn segment(&self, (n, i): Port) -> usize {
        self.segment[n][i]
    }

    /// `node/iface`.
    pub fn port_name(&self, (n, i): Port) -> String {
        format!("{}/{}", self.node(n).name, self.node(n).interfaces[i].name)
    }

    /// The interfaces of hosts, servers and routers on segment `seg`.
    pub fn members(&self, seg: usize) -> &[Port] {
        self.members.get(seg).map_or(&[], Vec::as_slice)
    }

    fn ports(&self) -> impl Iterator<Item = Port> + '_ {
        self.plan
            .nodes
            .iter()
            .enumerate()
            .flat_map(|(n, node)| (0..node.interfaces.len()).map(move |i| (n, i)))
    }

    /// The addresses of an interface.
    pub fn addresses(&self, (n, i): Port) -> &[Ipv4Net] {
        self.state
            .get(n)
            .and_then(|s| s.addresses.get(i))
            .map_or(&[], Vec::as_slice)
    }

    /// The addresses of node `n`, interface by interface.
    pub fn node_addresses(&self, n: usize) -> impl Iterator<Item = Ipv4Addr> + '_ {
        (0..self.node(n).interfaces.len())
            .flat_map(move |i| self.addresses((n, i)))
            .map(|a| a.addr())
    }

    fn has(&self, port: Port, ip: Ipv4Addr) -> bool {
        self.addresses(port).iter().any(|a| a.addr() == ip)
    }

    /// Which interface has `ip`, anywhere in the lab.
    pub fn owner(&self, ip: Ipv4Addr) -> Option<Port> {
        self.owners.get(&ip)?.first().copied()
    }

    /// Which interface on segment `seg` has `ip` (the first in plan order).
    pub fn owner_on(&self, seg: usize, ip: Ipv4Addr) -> Option<Port> {
        self.owners
            .get(&ip)?
            .iter()
            .copied()
            .find(|&p| self.segment(p) == seg && self.node(p.0).kind != NodeKind::Switch)
    }

    pub fn owns(&self, n: usize, ip: Ipv4Addr) -> bool {
        (0..self.node(n).interfaces.len()).any(|i| self.has((n, i), ip))
    }

    /// Whether `n` has an interface (with an address, or a DHCP client) on
    /// a segment that carries a network holding `ip`.
    pub fn on_network_of(&self, n: usize, ip: Ipv4Addr) -> bool {
        (0..self.node(n).interfaces.len())
            .filter(|&i| !self.addresses((n, i)).is_empty() || self.node(n).interfaces[i].dhcp)
            .any(|i| {
                self.subnets
                    .get(self.segment((n, i)))
                    .is_some_and(|nets| nets.iter().any(|net| net.contains(&ip)))
            })
    }

    /// The networks on segment `seg`, without those of node `except`.
    pub fn subnets_on(&self, seg: usize, except: Option<usize>) -> Vec<Ipv4Net> {
        match except {
            None => self.subnets.get(seg).cloned().unwrap_or_default(),
            Some(_) => self.subnets_of_members(seg, except),
        }
    }

    fn subnets_of_members(&self, seg: usize, except: Option<usize>) -> Vec<Ipv4Net> {
        let mut nets: Vec<Ipv4Net> = self
            .members(seg)
            .iter()
            .filter(|p| Some(p.0) != except)
            .flat_map(|&p| self.addresses(p))
            .map(|a| a.trunc())
            .collect();
        nets.sort();
        nets.dedup();
        nets
    }

    /// The segment that carries network `net` (a member has an address in it),
    /// not counting node `except`.
    pub fn segment_with(&self, net: Ipv4Net, except: Option<usize>) -> Option<usize> {
        self.ports()
            .filter(|p| Some(p.0) != except && self.node(p.0).kind != NodeKind::Switch)
            .find(|&p| self.addresses(p).iter().any(|a| net.contains(&a.addr())))
            .map(|p| self.segment(p))
    }

    /// A segment as a student knows it: its switch ("sw-mgmt"), or the cable
    /// ("the cable r1/eth0–r2/eth0"), with its networks.
    pub fn describe_segment(&self, seg: usize) -> String {
        self.describe_segment_without(seg, None)
    }

    /// The same, leaving node `except`'s networks out.
    pub fn describe_segment_without(&self, seg: usize, except: Option<usize>) -> String {
        let switches: Vec<&str> = self
            .plan
            .nodes
            .iter()
            .enumerate()
            .filter(|(n, node)| {
                node.kind == NodeKind::Switch
                    && (0..node.interfaces.len()).any(|i| self.segment[*n][i] == seg)
            })
            .map(|(_, node)| node.name.as_str())
            .collect();
        let name = if switches.is_empty() {
            let ends: Vec<String> = self
                .members(seg)
                .iter()
                .map(|&p| self.port_name(p))
                .collect();
            format!("the cable {}", ends.join("–"))
        } else {
            switches.join(" + ")
        };
        let nets = self.subnets_on(seg, except);
        if nets.is_empty() {
            name
        } else {
            let nets: Vec<String> = nets.iter().map(ToString::to_string).collect();
            format!("{name} ({})", nets.join(", "))
        }
    }

    /// The route `n` takes to `ip`: the longest prefix that holds it.
    pub fn route(&self, n: usize, ip: Ipv4Addr) -> Option<&NodeRoute> {
        self.state
            .get(n)?
            .routes
            .iter()
            .filter(|r| r.to.contains(&ip))
            .max_by_key(|r| r.to.prefix_len())
    }

    /// Whether `n` forwards packets.
    pub fn forwards(&self, n: usize) -> bool {
        self.state.get(n).is_some_and(|s| s.forwarding)
    }

    /// The network `ip` belongs to: its owner's, else a lab network that
    /// contains it, else the address alone.
    pub fn subnet_of(&self, ip: Ipv4Addr) -> Ipv4Net {
        let all = self.ports().flat_map(|p| self.addresses(p).iter().copied());
        let mut containing: Vec<Ipv4Net> = all.filter(|a| a.contains(&ip)).collect();
        if let Some(own) = containing.iter().find(|a| a.addr() == ip) {
            return own.trunc();
        }
        containing.sort_by_key(|a| std::cmp::Reverse(a.prefix_len()));
        containing
            .first()
            .map(|a| a.trunc())
            .unwrap_or_else(|| Ipv4Net::from(ip))
    }

    /// An address of `n` on segment `seg`: the one a neighbour there
    /// reaches it by.
    pub fn address_on(&self, n: usize, seg: usize) -> Option<Ipv4Addr> {
        (0..self.node(n).interfaces.len())
            .filter(|&i| self.segment((n, i)) == seg)
            .flat_map(|i| self.addresses((n, i)))
            .map(|a| a.addr())
            .next()
    }
}

/// The segment of every interface, by node then interface: the plan's
/// layer-2 segments with every cable up (`plan_routing::segments`, the one
/// union-find of cables and switch bridges); an interface no cable reaches
/// is a segment of its own.
fn segments(plan: &Plan) -> Vec<Vec<usize>> {
    let joined = plan_routing::segments(plan, &plan_routing::all_up(plan));
    let mut next = joined.iter().flatten().flatten().max().map_or(0, |m| m + 1);
    joined
        .into_iter()
        .map(|ifaces| {
            ifaces
                .into_iter()
                .map(|segment| {
                    segment.unwrap_or_else(|| {
                        next += 1;
                        next - 1
                    })
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::lab::load::check_text;
    use crate::lab::plan::plan;

    pub fn plan_of(yaml: &str) -> Plan {
        let checked = check_text("lab.yaml", yaml.to_string());
        let (_, topo) = checked
            .valid
            .unwrap_or_else(|| panic!("{:#?}", checked.diagnostics));
        plan(&topo)
    }

    /// Two LANs behind one router, a PC on each.
    pub const ONE_ROUTER: &str = "
name: t
nodes:
  r1: {kind: router, interfaces: {eth0: 10.0.1.1/24, eth1: 10.0.2.1/24}}
  sw1: {kind: switch}
  sw2: {kind: switch}
  pc1: {kind: host, interfaces: {eth0: 10.0.1.10/24}, gateway: 10.0.1.1}
  pc2: {kind: host, interfaces: {eth0: 10.0.2.10/24}, gateway: 10.0.2.1}
links:
  - [r1:eth0, sw1]
  - [r1:eth1, sw2]
  - [pc1, sw1]
  - [pc2, sw2]
";

    #[test]
    fn segments_join_through_switches_and_are_named_by_them() {
        let plan = plan_of(ONE_ROUTER);
        let net = Network::planned(&plan);
        let pc1 = net.index_of("pc1").unwrap();
        let r1 = net.index_of("r1").unwrap();
        let seg = net.segment((pc1, 0));
        assert_eq!(seg, net.segment((r1, 0)));
        assert_ne!(seg, net.segment((r1, 1)));
        assert_eq!(net.describe_segment(seg), "sw1 (10.0.1.0/24)");
        assert_eq!(
            net.owner_on(seg, "10.0.1.1".parse().unwrap()),
            Some((r1, 0))
        );
        assert_eq!(net.owner_on(seg, "10.0.2.1".parse().unwrap()), None);
        assert_eq!(
            net.subnet_of("10.0.2.10".parse().unwrap()).to_string(),
            "10.0.2.0/24"
        );
    }
}
