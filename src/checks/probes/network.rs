//! The lab's network as it is now, for diagnoses: the plan's cabling (which
//! interfaces share a segment, through switches) and each node's live
//! addresses, routes and forwarding switch as its kernel has them. Reading
//! needs root (`read_live`); everything after is pure, so the trace, the
//! DHCP path and the wiring questions are unit-tested on a plan alone.

use std::net::Ipv4Addr;

use anyhow::{Context, Result};
use ipnet::Ipv4Net;

use crate::lab::model::NodeKind;
use crate::lab::plan::{Plan, PlanNode};
use crate::net::inspect::{NamespaceView, RouteView, inspect};
use crate::net::netns;

/// One node as its kernel has it now.
#[derive(Clone, Debug, Default)]
pub struct Live {
    pub view: NamespaceView,
    /// net.ipv4.ip_forward.
    pub forwarding: bool,
}

/// Every node's live state, in plan order (None: its namespace is gone).
/// The nodes are read at the same time, one thread each.
pub fn read_live(plan: &Plan) -> Result<Vec<Option<Live>>> {
    std::thread::scope(|scope| {
        let readers: Vec<_> = plan
            .nodes
            .iter()
            .map(|node| scope.spawn(move || read_node(&node.namespace)))
            .collect();
        readers
            .into_iter()
            .zip(&plan.nodes)
            .map(|(reader, node)| {
                reader
                    .join()
                    .map_err(|_| anyhow::anyhow!("reading node {} panicked", node.name))?
                    .with_context(|| format!("reading node {}", node.name))
            })
            .collect()
    })
}

fn read_node(namespace: &str) -> Result<Option<Live>> {
    if !netns::exists(namespace) {
        return Ok(None);
    }
    netns::run_in(namespace, || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let view = runtime.block_on(async {
            let (connection, handle, _) = rtnetlink::new_connection()?;
            tokio::spawn(connection);
            inspect(&handle).await
        })?;
        // /proc/sys/net follows the reading thread's namespace.
        let forwarding = std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward")
            .map(|s| s.trim() == "1")
            .unwrap_or(false);
        Ok(Some(Live { view, forwarding }))
    })
}

/// An interface: (node index, interface index), both in plan order.
pub type Port = (usize, usize);

/// The plan's cabling joined with the nodes' live state.
pub struct Network<'a> {
    pub plan: &'a Plan,
    live: &'a [Option<Live>],
    /// The segment of every interface, by node then interface.
    segment: Vec<Vec<usize>>,
}

impl<'a> Network<'a> {
    pub fn new(plan: &'a Plan, live: &'a [Option<Live>]) -> Network<'a> {
        // Union-find over every interface: a cable joins its two ends, a
        // switch's bridge joins all of its ports.
        let offsets: Vec<usize> = plan
            .nodes
            .iter()
            .scan(0, |next, n| {
                let at = *next;
                *next += n.interfaces.len();
                Some(at)
            })
            .collect();
        let total: usize = plan.nodes.iter().map(|n| n.interfaces.len()).sum();
        let mut parent: Vec<usize> = (0..total).collect();
        fn root(parent: &mut [usize], mut i: usize) -> usize {
            while parent[i] != i {
                parent[i] = parent[parent[i]];
                i = parent[i];
            }
            i
        }
        let mut join = |a: usize, b: usize| {
            let (ra, rb) = (root(&mut parent, a), root(&mut parent, b));
            parent[ra] = rb;
        };
        for link in &plan.links {
            join(
                offsets[link.a.node] + link.a.iface,
                offsets[link.b.node] + link.b.iface,
            );
        }
        for (n, node) in plan.nodes.iter().enumerate() {
            if node.kind == NodeKind::Switch {
                for i in 1..node.interfaces.len() {
                    join(offsets[n], offsets[n] + i);
                }
            }
        }
        let segment = plan
            .nodes
            .iter()
            .enumerate()
            .map(|(n, node)| {
                (0..node.interfaces.len())
                    .map(|i| root(&mut parent, offsets[n] + i))
                    .collect()
            })
            .collect();
        Network {
            plan,
            live,
            segment,
        }
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
    pub fn members(&self, seg: usize) -> Vec<Port> {
        self.ports()
            .filter(|&p| self.segment(p) == seg && self.node(p.0).kind != NodeKind::Switch)
            .collect()
    }

    fn ports(&self) -> impl Iterator<Item = Port> + '_ {
        self.plan
            .nodes
            .iter()
            .enumerate()
            .flat_map(|(n, node)| (0..node.interfaces.len()).map(move |i| (n, i)))
    }

    /// The addresses of an interface: the kernel's, or the plan's when the
    /// node could not be read.
    pub fn addresses(&self, (n, i): Port) -> Vec<Ipv4Net> {
        let iface = &self.node(n).interfaces[i];
        match &self.live.get(n).and_then(Option::as_ref) {
            Some(live) => live
                .view
                .links
                .iter()
                .find(|l| l.name == iface.name)
                .map(|l| l.addresses.clone())
                .unwrap_or_default(),
            None => iface.address.into_iter().collect(),
        }
    }

    /// Which interface has `ip`, anywhere in the lab.
    pub fn owner(&self, ip: Ipv4Addr) -> Option<Port> {
        self.ports()
            .find(|&p| self.addresses(p).iter().any(|a| a.addr() == ip))
    }

    /// Which interface on segment `seg` has `ip`.
    pub fn owner_on(&self, seg: usize, ip: Ipv4Addr) -> Option<Port> {
        self.members(seg)
            .into_iter()
            .find(|&p| self.addresses(p).iter().any(|a| a.addr() == ip))
    }

    pub fn owns(&self, n: usize, ip: Ipv4Addr) -> bool {
        (0..self.node(n).interfaces.len())
            .any(|i| self.addresses((n, i)).iter().any(|a| a.addr() == ip))
    }

    /// The networks on segment `seg`, without those of node `except`.
    pub fn subnets_on(&self, seg: usize, except: Option<usize>) -> Vec<Ipv4Net> {
        let mut nets: Vec<Ipv4Net> = self
            .members(seg)
            .into_iter()
            .filter(|p| Some(p.0) != except)
            .flat_map(|p| self.addresses(p))
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
                .into_iter()
                .map(|p| self.port_name(p))
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

    /// The node's routes now (the plan's when it could not be read).
    pub fn routes(&self, n: usize) -> Vec<RouteView> {
        match self.live.get(n).and_then(Option::as_ref) {
            Some(live) => live.view.routes.clone(),
            None => {
                let node = self.node(n);
                let connected = node.interfaces.iter().filter_map(|i| {
                    i.address.map(|a| RouteView {
                        to: a.trunc(),
                        via: None,
                        dev: Some(i.name.clone()),
                    })
                });
                let planned = node.routes.iter().map(|r| RouteView {
                    to: r.to,
                    via: Some(r.via),
                    dev: None,
                });
                connected.chain(planned).collect()
            }
        }
    }

    /// The route `n` takes to `ip` (longest prefix), with the interface it
    /// leaves through.
    pub fn route(&self, n: usize, ip: Ipv4Addr) -> Option<(RouteView, Option<usize>)> {
        let routes = self.routes(n);
        let best = routes
            .iter()
            .filter(|r| r.to.contains(&ip))
            .max_by_key(|r| r.to.prefix_len())?
            .clone();
        let iface = match &best.dev {
            Some(dev) => self.iface_index(n, dev),
            None => {
                let next = best.via.unwrap_or(ip);
                (0..self.node(n).interfaces.len()).find(|&i| {
                    self.addresses((n, i))
                        .iter()
                        .any(|a| a.trunc().contains(&next))
                })
            }
        };
        Some((best, iface))
    }

    /// Whether `n` forwards packets now.
    pub fn forwards(&self, n: usize) -> bool {
        match self.live.get(n).and_then(Option::as_ref) {
            Some(live) => live.forwarding,
            None => self.node(n).forwarding,
        }
    }

    /// The network `ip` belongs to: its owner's, else a lab network that
    /// contains it, else the address alone.
    pub fn subnet_of(&self, ip: Ipv4Addr) -> Ipv4Net {
        let all = self.ports().flat_map(|p| self.addresses(p));
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

    /// An address of `n` on network `net`'s segment side: the one a
    /// neighbour on segment `seg` reaches it by.
    pub fn address_on(&self, n: usize, seg: usize) -> Option<Ipv4Addr> {
        (0..self.node(n).interfaces.len())
            .filter(|&i| self.segment((n, i)) == seg)
            .flat_map(|i| self.addresses((n, i)))
            .map(|a| a.addr())
            .next()
    }
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
        let net = Network::new(&plan, &[]);
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
