//! `dhcp` checks: the node holds a lease, in the expected network, from the
//! expected server, and the leased address is really on its interface.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use crate::checks::context::LabContext;
use crate::checks::outcome::{Diagnosis, Outcome, Step};
use crate::checks::probes::lease_path::miswired;
use crate::checks::resolver::Resolver;
use crate::checks::target::Target;
use crate::daemon::state::ClientStatus;
use crate::lab::addr::parse_net;
use crate::lab::model_checks::DhcpCheck;
use crate::lab::plan::PlanNode;
use crate::net::inspect::inspect;

#[derive(Clone, Debug)]
pub struct Dhcp {
    pub node: String,
    pub interface: String,
    /// The network the lease must be in.
    pub subnet: Option<Ipv4Net>,
    /// The server that must have given it.
    pub server: Option<Target>,
}

pub fn resolve(r: &mut Resolver, c: &DhcpCheck) -> Option<Dhcp> {
    let node = r.node("node", &c.node)?;
    let interface = dhcp_interface(r, node, c.interface.as_deref())?;
    let subnet = match &c.subnet {
        None => None,
        Some(text) => match parse_net(text) {
            Ok(net) => Some(net.trunc()),
            Err(e) => {
                r.error("subnet", e.message, e.hint);
                return None;
            }
        },
    };
    let server = match &c.server {
        None => None,
        Some(text) => match r.target("server", text)? {
            Target::Name(_) => {
                r.error(
                    "server",
                    format!("`{text}` is not a node of this lab nor an address"),
                    "name the DHCP server node (e.g. server0) or its address",
                );
                return None;
            }
            target => Some(target),
        },
    };
    Some(Dhcp {
        node: node.name.clone(),
        interface,
        subnet,
        server,
    })
}

/// The interface named, which must be a `dhcp` one, or the node's first.
fn dhcp_interface(r: &mut Resolver, node: &PlanNode, wanted: Option<&str>) -> Option<String> {
    let dhcp: Vec<&str> = node
        .interfaces
        .iter()
        .filter(|i| i.dhcp)
        .map(|i| i.name.as_str())
        .collect();
    let name = &node.name;
    match wanted {
        Some(iface) if dhcp.contains(&iface) => Some(iface.to_string()),
        Some(iface) => {
            r.missing(
                "interface",
                format!("{name}/{iface} is not a `dhcp` interface"),
                if dhcp.is_empty() {
                    format!("{name} has none: set `eth0: dhcp` on it")
                } else {
                    format!("its DHCP interfaces: {}", dhcp.join(", "))
                },
            );
            None
        }
        None => match dhcp.first() {
            Some(first) => Some(first.to_string()),
            None => {
                r.missing(
                    "node",
                    format!("{name} has no `dhcp` interface, so it gets no lease"),
                    "set `eth0: dhcp` on the node, or check another node",
                );
                None
            }
        },
    }
}

impl Dhcp {
    pub fn describe(&self) -> String {
        let mut s = format!("{}/{} gets a DHCP lease", self.node, self.interface);
        if let Some(subnet) = &self.subnet {
            s.push_str(&format!(" in {subnet}"));
        }
        if let Some(server) = &self.server {
            s.push_str(&format!(" from {server}"));
        }
        s
    }

    pub fn run(&self, ctx: &LabContext) -> Step<Outcome> {
        probe(
            ctx,
            &self.node,
            &self.interface,
            self.subnet,
            self.server.as_ref(),
        )
    }
}

fn probe(
    ctx: &LabContext,
    node: &str,
    interface: &str,
    subnet: Option<Ipv4Net>,
    server: Option<&Target>,
) -> Step<Outcome> {
    let key = format!("{node}/{interface}");
    let report = ctx.leases.get(&key).ok_or_else(|| {
        Diagnosis::new(
            "lease",
            format!("{key} has no DHCP client running"),
            "is the lab's daemon running? (`labctl status`)",
        )
    })?;
    if report.state != ClientStatus::Bound {
        return Err(ctx.no_lease(node, interface));
    }
    let address: Ipv4Addr = report.leased_address().ok_or_else(|| {
        Diagnosis::new(
            "lease",
            format!("{key} reports a lease without an address"),
            "",
        )
    })?;
    let given_by: Option<Ipv4Addr> = report.server.as_deref().and_then(|s| s.parse().ok());
    if let Some(subnet) = subnet
        && !subnet.contains(&address)
    {
        if let Some(net) = ctx.network()
            && let Some(n) = net.index_of(node)
            && let Some(i) = net.iface_index(n, interface)
            && let Some((on, belongs)) = miswired(&net, (n, i), subnet)
        {
            return Err(Diagnosis::new(
                "wiring",
                format!(
                    "{key} got {address}, not an address in {subnet}: it is cabled to {on}, but {subnet} is on {belongs}"
                ),
                format!("plug {node} into {belongs} (its `links:` entry)"),
            )
            .with_cause(format!("wiring {key}")));
        }
        return Err(Diagnosis::new(
            "lease",
            format!("{key} got {address}, which is not in {subnet}"),
            format!(
                "the lease came from {}: is its pool for this network right, and is the relay's address on this network?",
                given_by
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "an unknown server".into())
            ),
        ));
    }
    if let Some(wanted) = server {
        let expected: Vec<Ipv4Addr> = match wanted {
            Target::Ip(ip) => vec![*ip],
            Target::Node(name) => ctx.node(name).static_addresses().collect(),
            Target::Name(_) => Vec::new(),
        };
        if !given_by.is_some_and(|s| expected.contains(&s)) {
            return Err(Diagnosis::new(
                "lease",
                format!(
                    "{key} got its lease from {}, not from {wanted}",
                    given_by
                        .map(|s| s.to_string())
                        .unwrap_or_else(|| "an unknown server".into())
                ),
                "is another DHCP server answering on this network?",
            ));
        }
    }
    // The daemon's word is not enough: the address must be on the interface.
    let iface = interface.to_string();
    let on_interface = ctx.in_node(node, move || async move {
        let (connection, handle, _) = rtnetlink::new_connection()?;
        tokio::spawn(connection);
        let view = inspect(&handle).await?;
        Ok::<bool, anyhow::Error>(
            view.links
                .iter()
                .any(|l| l.name == iface && l.addresses.iter().any(|a| a.addr() == address)),
        )
    })?;
    match on_interface {
        Ok(true) => Ok(Outcome::pass(format!(
            "{key} holds {address} from {}",
            given_by.map(|s| s.to_string()).unwrap_or_default()
        ))),
        Ok(false) => Err(Diagnosis::new(
            "lease",
            format!("{key} was leased {address}, but the address is not on the interface"),
            format!(
                "was it removed by hand? `labctl exec {} {node} -- ip addr`",
                ctx.lab
            ),
        )),
        Err(e) => Err(Diagnosis::new(
            "lab",
            format!("cannot read {key}'s addresses: {e:#}"),
            "",
        )),
    }
}
