//! The DHCP pass: servers' pools and reservations resolved (reservations by
//! node turned into that interface's MAC), routers' relays checked, and
//! whether every `dhcp` interface can reach a server. Its output, the pools
//! by node, is what the DNS pass reads reserved addresses from.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::findings::Findings;
use super::iface_path;
use crate::lab::addr::Mac;
use crate::lab::diagnostic::Diagnostic;
use crate::lab::model::{Lab, NodeKind};
use crate::lab::raw::{RawNode, Step};
use crate::lab::topology::{Addressing, DhcpPool, End, Topology};
use crate::path;
use crate::plural;

mod pool;
#[cfg(test)]
mod tests;

/// What the DHCP pass resolved: each node's pools, by node index (`None`
/// for a node that runs no DHCP server, or whose service is unusable).
pub(super) struct DhcpServers {
    pub pools: Vec<Option<Vec<DhcpPool>>>,
}

impl DhcpServers {
    /// The addresses reserved for the interface with `mac`, by server and
    /// pool in file order.
    pub(super) fn reserved_addresses(&self, mac: Mac) -> impl Iterator<Item = Ipv4Addr> + '_ {
        self.pools
            .iter()
            .flatten()
            .flatten()
            .flat_map(|p| &p.reservations)
            .filter(move |r| r.mac == mac)
            .map(|r| r.address)
    }

    /// The pool that answers DHCP clients on segment `s`: a server's own
    /// pool for the segment's network, or one reached through a relay there.
    pub(super) fn serving(&self, topo: &Topology, s: usize) -> Option<&DhcpPool> {
        let segment = &topo.segments[s];
        let subnet = segment.subnet?;
        segment.ends.iter().find_map(|&e| {
            if let Some(pool) = self.pool_of(e.node, subnet) {
                return Some(pool);
            }
            let relay = topo.iface(e).dhcp_relay?;
            let server = topo.owner_of(relay)?.node;
            self.pool_of(server, subnet)
        })
    }

    /// Node `node`'s pool for `subnet`, if it serves one.
    fn pool_of(&self, node: usize, subnet: Ipv4Net) -> Option<&DhcpPool> {
        self.pools[node]
            .as_ref()?
            .iter()
            .find(|p| p.subnet == subnet)
    }
}

/// Resolves every node's DHCP service from the topology.
pub(super) fn resolve_dhcp(
    lab: &Lab,
    raw: &RawNode,
    topo: &Topology,
) -> (DhcpServers, Vec<Diagnostic>) {
    let mut pass = DhcpPass {
        lab,
        found: Findings::new(raw),
    };
    let servers = pass.resolve(topo);
    (servers, pass.found.into_list())
}

struct DhcpPass<'a> {
    lab: &'a Lab,
    found: Findings<'a>,
}

impl DhcpPass<'_> {
    fn resolve(&mut self, topo: &Topology) -> DhcpServers {
        let mut servers = DhcpServers {
            pools: vec![None; topo.nodes.len()],
        };
        self.check_relays(topo);
        let mut all_pools: Vec<(Vec<Step>, String, DhcpPool)> = Vec::new();
        for index in 0..topo.nodes.len() {
            let name = topo.nodes[index].name.clone();
            let Some(service) = self.lab.nodes[name.as_str()]
                .services
                .as_ref()
                .and_then(|s| s.dhcp.as_ref())
            else {
                continue;
            };
            let at = path!["nodes", name.as_str(), "services", "dhcp"];
            if topo.nodes[index].kind == NodeKind::Switch {
                self.found.error(
                    &at,
                    "a switch cannot run a DHCP server",
                    "put the DHCP service on a server",
                );
                continue;
            }
            let own: Vec<Ipv4Net> = (0..topo.nodes[index].interfaces.len())
                .filter_map(|i| {
                    topo.static_address(End {
                        node: index,
                        iface: i,
                    })
                })
                .collect();
            if own.is_empty() {
                self.found.error(
                    &at,
                    format!("{name} runs a DHCP server but has no static address"),
                    "a DHCP server needs a fixed address on the network it serves",
                );
                continue;
            }
            let mut pools = Vec::new();
            for (i, written) in service.pools.iter().enumerate() {
                let mut pool_at = at.to_vec();
                pool_at.extend([Step::from("pools"), Step::from(i)]);
                if let Some(pool) = self.pool(topo, &pool_at, written) {
                    self.check_pool_is_reachable(topo, &pool_at, &name, &own, &pool);
                    all_pools.push((pool_at, name.clone(), pool.clone()));
                    pools.push(pool);
                }
            }
            servers.pools[index] = Some(pools);
        }
        for (i, (at, server, pool)) in all_pools.iter().enumerate() {
            if let Some((_, other_server, other)) = all_pools[..i].iter().find(|(_, _, o)| {
                u32::from(pool.first) <= u32::from(o.last)
                    && u32::from(o.first) <= u32::from(pool.last)
            }) {
                self.found.error(
                    at,
                    format!(
                        "pool {}-{} of {server} overlaps pool {}-{} of {other_server}",
                        pool.first, pool.last, other.first, other.last
                    ),
                    "two pools must not hand out the same addresses",
                );
            }
        }
        self.check_clients_have_a_server(topo, &servers);
        servers
    }

    /// Every relay points at an address some node has.
    fn check_relays(&mut self, topo: &Topology) {
        for node in &topo.nodes {
            for iface in &node.interfaces {
                let Some(server) = iface.dhcp_relay else {
                    continue;
                };
                let at = iface_path(&node.name, &iface.name, Some("dhcp_relay"));
                let owner = topo.nodes.iter().find(|n| {
                    n.interfaces.iter().any(
                        |i| matches!(i.addressing, Addressing::Static(a) if a.addr() == server),
                    )
                });
                match owner {
                    None => self.found.error(
                        &at,
                        format!(
                            "{}/{} relays DHCP to {server}, but no node has that address",
                            node.name, iface.name
                        ),
                        "point `dhcp_relay` at the DHCP server's address",
                    ),
                    Some(owner) if owner.name != node.name => {
                        let serves = self.lab.nodes[owner.name.as_str()]
                            .services
                            .as_ref()
                            .is_some_and(|s| s.dhcp.is_some());
                        if !serves {
                            self.found.warn(
                                &at,
                                format!("{server} is {}, which runs no DHCP service", owner.name),
                                "point `dhcp_relay` at the node with `services: {dhcp: …}`",
                            );
                        }
                    }
                    Some(_) => self.found.error(
                        &at,
                        format!("{}/{} relays DHCP to its own router", node.name, iface.name),
                        "point `dhcp_relay` at the DHCP server's address",
                    ),
                }
                if !matches!(iface.addressing, Addressing::Static(_)) {
                    self.found.error(
                        &at,
                        format!("{}/{} relays DHCP but has no address", node.name, iface.name),
                        "a relay stamps its own address into requests: give the interface a static address",
                    );
                }
            }
        }
    }

    /// A pool's network must be the server's own or have a relay to it.
    fn check_pool_is_reachable(
        &mut self,
        topo: &Topology,
        at: &[Step],
        server: &str,
        own: &[Ipv4Net],
        pool: &DhcpPool,
    ) {
        if own.iter().any(|n| n.trunc() == pool.subnet) {
            return;
        }
        let relayed = topo.nodes.iter().any(|n| {
            n.interfaces.iter().any(|i| {
                matches!(i.addressing, Addressing::Static(a) if pool.subnet.contains(&a.addr()))
                    && i.dhcp_relay
                        .is_some_and(|to| own.iter().any(|o| o.addr() == to))
            })
        });
        if !relayed {
            let address = own[0].addr();
            self.found.warn(
                at,
                format!(
                    "no relay brings DHCP requests from {} to {server}",
                    pool.subnet
                ),
                format!(
                    "add `dhcp_relay: {address}` to the router interface on {}",
                    pool.subnet
                ),
            );
        }
    }

    /// Every `dhcp` interface needs, on its network, a DHCP server with a pool
    /// for that network or a relay to one; and the pool needs room for all.
    fn check_clients_have_a_server(&mut self, topo: &Topology, servers: &DhcpServers) {
        for (s, segment) in topo.segments.iter().enumerate() {
            let clients: Vec<End> = segment
                .ends
                .iter()
                .copied()
                .filter(|&e| topo.iface(e).addressing == Addressing::Dhcp)
                .collect();
            let Some(&first) = clients.first() else {
                continue;
            };
            let pool = servers.serving(topo, s);
            let at = iface_path(&topo.nodes[first.node].name, &topo.iface(first).name, None);
            let Some(pool) = pool else {
                let hint = match segment.subnet {
                    Some(subnet) => format!(
                        "add a DHCP pool for {subnet} on a server here, or `dhcp_relay` on its router interface to a server with one"
                    ),
                    None => "give the router on this network a static address, and a DHCP server or relay".to_string(),
                };
                self.found.warn(
                    &at,
                    format!(
                        "{} asks for DHCP, but no DHCP server or relay serves its network",
                        topo.end_name(first)
                    ),
                    hint,
                );
                continue;
            };
            let room = u32::from(pool.last) - u32::from(pool.first) + 1;
            let fixed = pool.reservations.len() as u32;
            if clients.len() as u32 > room + fixed {
                self.found.warn(
                    &at,
                    format!(
                        "{} on {} but the pool {}-{} holds {}",
                        plural::count(clients.len(), "DHCP client"),
                        pool.subnet,
                        pool.first,
                        pool.last,
                        plural::count(room + fixed, "address")
                    ),
                    "widen the range: the last clients would get no address",
                );
            }
        }
    }
}
