//! Validation of DHCP: servers' pools and reservations, routers' relays, and
//! whether every `dhcp` interface can reach a server.

use std::net::Ipv4Addr;

use super::{Validator, iface_path, valid_domain};
use crate::lab::addr::{Ipv4Net, Mac, parse_ipv4};
use crate::lab::model::{DhcpPool as WrittenPool, NodeKind};
use crate::lab::raw::Step;
use crate::lab::topology::{Addressing, DhcpPool, End, Reservation, Topology};
use crate::path;
use crate::plural;

/// Lease time when a pool gives none: one hour.
const DEFAULT_LEASE_SECONDS: u64 = 3600;

impl Validator<'_> {
    pub(super) fn check_dhcp(&mut self, topo: &mut Topology) {
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
                self.error(
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
                self.error(
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
            topo.nodes[index].dhcp_pools = Some(pools);
        }
        for (i, (at, server, pool)) in all_pools.iter().enumerate() {
            if let Some((_, other_server, other)) = all_pools[..i].iter().find(|(_, _, o)| {
                u32::from(pool.first) <= u32::from(o.last)
                    && u32::from(o.first) <= u32::from(pool.last)
            }) {
                self.error(
                    at,
                    format!(
                        "pool {}-{} of {server} overlaps pool {}-{} of {other_server}",
                        pool.first, pool.last, other.first, other.last
                    ),
                    "two pools must not hand out the same addresses",
                );
            }
        }
        self.check_clients_have_a_server(topo);
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
                    n.interfaces
                        .iter()
                        .any(|i| matches!(i.addressing, Addressing::Static(a) if a.addr == server))
                });
                match owner {
                    None => self.error(
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
                            self.warn(
                                &at,
                                format!("{server} is {}, which runs no DHCP service", owner.name),
                                "point `dhcp_relay` at the node with `services: {dhcp: …}`",
                            );
                        }
                    }
                    Some(_) => self.error(
                        &at,
                        format!("{}/{} relays DHCP to its own router", node.name, iface.name),
                        "point `dhcp_relay` at the DHCP server's address",
                    ),
                }
                if !matches!(iface.addressing, Addressing::Static(_)) {
                    self.error(
                        &at,
                        format!("{}/{} relays DHCP but has no address", node.name, iface.name),
                        "a relay stamps its own address into requests: give the interface a static address",
                    );
                }
            }
        }
    }

    /// Parses and checks one pool; None when it is unusable (reported).
    fn pool(&mut self, topo: &Topology, at: &[Step], written: &WrittenPool) -> Option<DhcpPool> {
        let field = |name: &str| {
            let mut p = at.to_vec();
            p.push(Step::from(name));
            p
        };
        let (first, last) = self.range(&field("range"), &written.range)?;
        let subnet = match &written.subnet {
            Some(text) => match text.parse::<Ipv4Net>() {
                Ok(net) if net.is_network_address() => net,
                Ok(net) => {
                    self.error(
                        &field("subnet"),
                        format!("{net} is an address, not a network"),
                        format!("write {}", net.network()),
                    );
                    return None;
                }
                Err(e) => {
                    self.error(&field("subnet"), e.message, e.hint);
                    return None;
                }
            },
            None => match topo
                .segments
                .iter()
                .filter_map(|s| s.subnet)
                .find(|n| n.contains(first))
            {
                Some(net) => net,
                None => {
                    self.error(
                        &field("range"),
                        format!("no network of this lab contains {first}"),
                        "add `subnet: NETWORK/PREFIX`, or give the router on that network an address",
                    );
                    return None;
                }
            },
        };
        for address in [first, last] {
            let host = Ipv4Net {
                addr: address,
                prefix: subnet.prefix,
            };
            if !subnet.contains(address) || host.is_reserved_host() {
                self.error(
                    &field("range"),
                    format!("pool {first}-{last} is outside its subnet {subnet} ({address} is not a host address there)"),
                    format!("use addresses between the first and last host of {subnet}"),
                );
                return None;
            }
        }
        for (node, iface, net) in static_addresses(topo) {
            let a = u32::from(net.addr);
            if a >= u32::from(first) && a <= u32::from(last) {
                self.error(
                    &field("range"),
                    format!(
                        "pool {first}-{last} includes {}, the address of {node}/{iface}",
                        net.addr
                    ),
                    "start the range after the fixed addresses (routers, servers)",
                );
            }
        }
        let gateway = written.gateway.as_ref().and_then(|text| {
            let gw = parse_ipv4(text).map_err(|m| self.error(&field("gateway"), m, "the gateway is the router's address on the pool's network")).ok()?;
            if !subnet.contains(gw) {
                self.error(
                    &field("gateway"),
                    format!("gateway {gw} is outside the pool's subnet {subnet}"),
                    "clients can only reach a gateway on their own network: use the router's address there",
                );
            }
            Some(gw)
        });
        let mut dns = Vec::new();
        for (i, text) in written.dns.iter().enumerate() {
            let mut p = field("dns");
            p.push(Step::from(i));
            match parse_ipv4(text) {
                Ok(ip) => dns.push(ip),
                Err(m) => self.error(&p, m, "a DNS server is an address, e.g. 192.168.1.5"),
            }
        }
        if let Some(domain) = &written.domain
            && !valid_domain(domain)
        {
            self.error(
                &field("domain"),
                format!("`{domain}` is not a domain name"),
                "e.g. cbrc.com",
            );
        }
        let lease_seconds = match &written.lease {
            None => DEFAULT_LEASE_SECONDS,
            Some(text) => match parse_duration(text) {
                Some(seconds) if seconds >= 10 => seconds,
                _ => {
                    self.error(
                        &field("lease"),
                        format!("`{text}` is not a lease time"),
                        "write seconds or e.g. 30m, 12h, 1d (at least 10s)",
                    );
                    DEFAULT_LEASE_SECONDS
                }
            },
        };
        let reservations = self.reservations(topo, &field("reservations"), written, subnet);
        Some(DhcpPool {
            subnet,
            first,
            last,
            gateway,
            dns,
            domain: written.domain.clone(),
            lease_seconds,
            reservations,
        })
    }

    fn range(&mut self, at: &[Step], text: &str) -> Option<(Ipv4Addr, Ipv4Addr)> {
        let hint = "write FIRST-LAST, e.g. 192.168.1.100-192.168.1.199";
        let Some((a, b)) = text.split_once('-') else {
            self.error(at, format!("`{text}` is not a range"), hint);
            return None;
        };
        let (first, last) = match (parse_ipv4(a.trim()), parse_ipv4(b.trim())) {
            (Ok(first), Ok(last)) => (first, last),
            (Err(m), _) | (_, Err(m)) => {
                self.error(at, m, hint);
                return None;
            }
        };
        if u32::from(first) > u32::from(last) {
            self.error(
                at,
                format!("the range {first}-{last} runs backwards"),
                format!("write {last}-{first}"),
            );
            return None;
        }
        Some((first, last))
    }

    fn reservations(
        &mut self,
        topo: &Topology,
        at: &[Step],
        written: &WrittenPool,
        subnet: Ipv4Net,
    ) -> Vec<Reservation> {
        let mut out: Vec<Reservation> = Vec::new();
        for (i, r) in written.reservations.iter().enumerate() {
            let mut rat = at.to_vec();
            rat.push(Step::from(i));
            let address = match parse_ipv4(&r.address) {
                Ok(a)
                    if subnet.contains(a)
                        && (Ipv4Net {
                            addr: a,
                            prefix: subnet.prefix,
                        })
                        .is_reserved_host() =>
                {
                    self.error(
                        &rat,
                        format!("{a} is the network or broadcast address of {subnet}"),
                        "reserve a host address",
                    );
                    continue;
                }
                Ok(a) if subnet.contains(a) => a,
                Ok(a) => {
                    self.error(
                        &rat,
                        format!("reserved address {a} is outside the pool's subnet {subnet}"),
                        format!("use an address in {subnet}"),
                    );
                    continue;
                }
                Err(m) => {
                    self.error(&rat, m, "e.g. address: 192.168.1.50");
                    continue;
                }
            };
            let mac = match (&r.mac, &r.node) {
                (Some(text), None) => match Mac::parse(text) {
                    Some(mac) => mac,
                    None => {
                        self.error(
                            &rat,
                            format!("`{text}` is not a usable MAC address"),
                            "write six hex bytes with colons, e.g. 02:00:00:00:00:10",
                        );
                        continue;
                    }
                },
                (None, Some(target)) => match self.reserved_node(topo, target) {
                    Ok(mac) => mac,
                    Err((message, hint)) => {
                        self.error(&rat, message, hint);
                        continue;
                    }
                },
                _ => {
                    self.error(
                        &rat,
                        "a reservation names either `node` or `mac`",
                        "e.g. {node: pc0, address: 192.168.1.50}",
                    );
                    continue;
                }
            };
            if out.iter().any(|r| r.mac == mac || r.address == address) {
                self.error(
                    &rat,
                    format!("{address} or its client is reserved twice"),
                    "one reservation per client and per address",
                );
                continue;
            }
            if let Some((node, iface, _)) = static_addresses(topo)
                .into_iter()
                .find(|(_, _, n)| n.addr == address)
            {
                self.error(
                    &rat,
                    format!("{address} is already the static address of {node}/{iface}"),
                    "reserve a free address",
                );
                continue;
            }
            out.push(Reservation { mac, address });
        }
        out
    }

    /// The MAC of `node` or `node:iface`, which must be a DHCP interface.
    fn reserved_node(&self, topo: &Topology, target: &str) -> Result<Mac, (String, String)> {
        let (name, ifname) = match target.split_once(':') {
            Some((n, i)) => (n, Some(i)),
            None => (target, None),
        };
        let Some(index) = topo.node_index(name) else {
            return Err((
                format!("there is no node `{name}`"),
                "name the client node, e.g. node: pc0".into(),
            ));
        };
        let node = &topo.nodes[index];
        let dhcp: Vec<_> = node
            .interfaces
            .iter()
            .filter(|i| i.addressing == Addressing::Dhcp)
            .collect();
        let chosen = match ifname {
            Some(ifname) => dhcp.iter().find(|i| i.name == ifname),
            None if dhcp.len() == 1 => dhcp.first(),
            None if dhcp.is_empty() => None,
            None => {
                return Err((
                    format!("{name} has several DHCP interfaces"),
                    format!("say which: node: {name}:{}", dhcp[0].name),
                ));
            }
        };
        chosen.map(|i| i.mac).ok_or_else(|| {
            (
                format!("{target} has no interface addressed by `dhcp`"),
                format!("give {name} an interface `eth0: dhcp`"),
            )
        })
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
        if own.iter().any(|n| n.network() == pool.subnet) {
            return;
        }
        let relayed = topo.nodes.iter().any(|n| {
            n.interfaces.iter().any(|i| {
                matches!(i.addressing, Addressing::Static(a) if pool.subnet.contains(a.addr))
                    && i.dhcp_relay
                        .is_some_and(|to| own.iter().any(|o| o.addr == to))
            })
        });
        if !relayed {
            let address = own[0].addr;
            self.warn(
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
    fn check_clients_have_a_server(&mut self, topo: &Topology) {
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
            let pool = segment
                .subnet
                .and_then(|subnet| serving_pool(topo, s, subnet));
            let at = iface_path(&topo.nodes[first.node].name, &topo.iface(first).name, None);
            let Some(pool) = pool else {
                let hint = match segment.subnet {
                    Some(subnet) => format!(
                        "add a DHCP pool for {subnet} on a server here, or `dhcp_relay` on its router interface to a server with one"
                    ),
                    None => "give the router on this network a static address, and a DHCP server or relay".to_string(),
                };
                self.warn(
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
                self.warn(
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

/// The pool that answers DHCP clients on segment `s` (network `subnet`):
/// a server's own pool on the segment, or one reached through a relay there.
fn serving_pool(topo: &Topology, s: usize, subnet: Ipv4Net) -> Option<&DhcpPool> {
    let pool_of = |node: usize| -> Option<&DhcpPool> {
        topo.nodes[node]
            .dhcp_pools
            .as_ref()?
            .iter()
            .find(|p| p.subnet == subnet)
    };
    let segment = &topo.segments[s];
    segment.ends.iter().find_map(|&e| {
        if let Some(pool) = pool_of(e.node) {
            return Some(pool);
        }
        let relay = topo.iface(e).dhcp_relay?;
        let (server, _) = topo.nodes.iter().enumerate().find(|(_, n)| {
            n.interfaces
                .iter()
                .any(|i| matches!(i.addressing, Addressing::Static(a) if a.addr == relay))
        })?;
        pool_of(server)
    })
}

/// Every static address of the lab with its node and interface names.
fn static_addresses(topo: &Topology) -> Vec<(String, String, Ipv4Net)> {
    let mut out = Vec::new();
    for node in &topo.nodes {
        for iface in &node.interfaces {
            if let Addressing::Static(net) = iface.addressing {
                out.push((node.name.clone(), iface.name.clone(), net));
            }
        }
    }
    out
}

/// `90`, `90s`, `30m`, `12h`, `1d` → seconds.
fn parse_duration(text: &str) -> Option<u64> {
    let text = text.trim();
    let (number, unit) = match text.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => text.split_at(i),
        None => (text, "s"),
    };
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return None,
    };
    number.parse::<u64>().ok()?.checked_mul(scale)
}
