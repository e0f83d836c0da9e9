//! One DHCP pool as written, resolved: its range, subnet (written, or the
//! lab network holding the range), gateway, DNS servers, domain, lease
//! time, and reservations (by MAC, or by node: that client's DHCP
//! interface's MAC), none of them clashing with a fixed address.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::DhcpPass;
use crate::lab::addr::{Mac, SubnetExt, parse_ipv4, parse_net};
use crate::lab::model::DhcpPool as WrittenPool;
use crate::lab::raw::Step;
use crate::lab::topology::{Addressing, DhcpPool, Reservation, Topology};
use crate::lab::validate::names::valid_domain;

/// Lease time when a pool gives none: one hour.
const DEFAULT_LEASE_SECONDS: u64 = 3600;

impl DhcpPass<'_> {
    /// Parses and checks one pool; None when it is unusable (reported).
    pub(super) fn pool(
        &mut self,
        topo: &Topology,
        at: &[Step],
        written: &WrittenPool,
    ) -> Option<DhcpPool> {
        let field = |name: &str| {
            let mut p = at.to_vec();
            p.push(Step::from(name));
            p
        };
        let (first, last) = self.range(&field("range"), &written.range)?;
        let subnet = match &written.subnet {
            Some(text) => match parse_net(text) {
                Ok(net) if net.is_network_address() => net,
                Ok(net) => {
                    self.found.error(
                        &field("subnet"),
                        format!("{net} is an address, not a network"),
                        format!("write {}", net.trunc()),
                    );
                    return None;
                }
                Err(e) => {
                    self.found.error(&field("subnet"), e.message, e.hint);
                    return None;
                }
            },
            None => match topo
                .segments
                .iter()
                .filter_map(|s| s.subnet)
                .find(|n| n.contains(&first))
            {
                Some(net) => net,
                None => {
                    self.found.error(
                        &field("range"),
                        format!("no network of this lab contains {first}"),
                        "add `subnet: NETWORK/PREFIX`, or give the router on that network an address",
                    );
                    return None;
                }
            },
        };
        for address in [first, last] {
            if !subnet.contains(&address) || subnet.reserves(address) {
                self.found.error(
                    &field("range"),
                    format!("pool {first}-{last} is outside its subnet {subnet} ({address} is not a host address there)"),
                    format!("use addresses between the first and last host of {subnet}"),
                );
                return None;
            }
        }
        for (node, iface, net) in static_addresses(topo) {
            let a = u32::from(net.addr());
            if a >= u32::from(first) && a <= u32::from(last) {
                self.found.error(
                    &field("range"),
                    format!(
                        "pool {first}-{last} includes {}, the address of {node}/{iface}",
                        net.addr()
                    ),
                    "start the range after the fixed addresses (routers, servers)",
                );
            }
        }
        let gateway = written.gateway.as_ref().and_then(|text| {
            let gw = parse_ipv4(text).map_err(|m| self.found.error(&field("gateway"), m, "the gateway is the router's address on the pool's network")).ok()?;
            if !subnet.contains(&gw) {
                self.found.error(
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
                Err(m) => self
                    .found
                    .error(&p, m, "a DNS server is an address, e.g. 192.168.1.5"),
            }
        }
        if let Some(domain) = &written.domain
            && !valid_domain(domain)
        {
            self.found.error(
                &field("domain"),
                format!("`{domain}` is not a domain name"),
                "e.g. cbrc.com",
            );
        }
        let lease_seconds = match &written.lease {
            None => DEFAULT_LEASE_SECONDS,
            Some(text) => match crate::lab::duration::parse(text) {
                Some(lease) if lease.as_secs() >= 10 && lease.subsec_nanos() == 0 => {
                    lease.as_secs()
                }
                _ => {
                    self.found.error(
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
            self.found
                .error(at, format!("`{text}` is not a range"), hint);
            return None;
        };
        let (first, last) = match (parse_ipv4(a.trim()), parse_ipv4(b.trim())) {
            (Ok(first), Ok(last)) => (first, last),
            (Err(m), _) | (_, Err(m)) => {
                self.found.error(at, m, hint);
                return None;
            }
        };
        if u32::from(first) > u32::from(last) {
            self.found.error(
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
                Ok(a) if subnet.contains(&a) && subnet.reserves(a) => {
                    self.found.error(
                        &rat,
                        format!("{a} is the network or broadcast address of {subnet}"),
                        "reserve a host address",
                    );
                    continue;
                }
                Ok(a) if subnet.contains(&a) => a,
                Ok(a) => {
                    self.found.error(
                        &rat,
                        format!("reserved address {a} is outside the pool's subnet {subnet}"),
                        format!("use an address in {subnet}"),
                    );
                    continue;
                }
                Err(m) => {
                    self.found.error(&rat, m, "e.g. address: 192.168.1.50");
                    continue;
                }
            };
            let mac = match (&r.mac, &r.node) {
                (Some(text), None) => match Mac::parse(text) {
                    Some(mac) => mac,
                    None => {
                        self.found.error(
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
                        self.found.error(&rat, message, hint);
                        continue;
                    }
                },
                _ => {
                    self.found.error(
                        &rat,
                        "a reservation names either `node` or `mac`",
                        "e.g. {node: pc0, address: 192.168.1.50}",
                    );
                    continue;
                }
            };
            if out.iter().any(|r| r.mac == mac || r.address == address) {
                self.found.error(
                    &rat,
                    format!("{address} or its client is reserved twice"),
                    "one reservation per client and per address",
                );
                continue;
            }
            if let Some((node, iface, _)) = static_addresses(topo)
                .into_iter()
                .find(|(_, _, n)| n.addr() == address)
            {
                self.found.error(
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
