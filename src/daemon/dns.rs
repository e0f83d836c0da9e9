//! Starts a node's DNS server inside the daemon: binds UDP and TCP port 53
//! in the node's namespace (each static address and loopback, plus the
//! wildcard when an interface's address comes from DHCP, so replies always
//! leave from the address asked), and hands them to `services::dns`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::Arc;

use anyhow::Result;

use super::context::{NodeContext, Tasks};
use crate::lab::zones::ResolverRole;
use crate::net::tcp::tcp_listener;
use crate::net::udp::udp_socket;
use crate::services::dns::handler::Handler;
use crate::services::dns::server;
use crate::services::dns::upstream::Role;

pub const DNS_PORT: u16 = 53;

pub fn start(context: &NodeContext, tasks: &mut Tasks) -> Result<()> {
    let node = &context.node;
    let Some(dns) = &node.dns_server else {
        return Ok(());
    };
    let role = dns.resolver.as_ref().map(|resolver| match resolver {
        ResolverRole::Forward { servers } => Role::Forward(
            servers
                .iter()
                .map(|ip| SocketAddr::new(IpAddr::V4(*ip), DNS_PORT))
                .collect(),
        ),
        ResolverRole::Recursive { roots, allow } => Role::Recursive {
            roots: roots.iter().map(|ip| IpAddr::V4(*ip)).collect(),
            allow: allow.iter().copied().map(ipnet::IpNet::V4).collect(),
        },
    });
    let handler = Arc::new(Handler::new(&dns.zones, role.as_ref())?.with_log(context.log.clone()));
    let mut addresses: Vec<Ipv4Addr> = vec![Ipv4Addr::LOCALHOST];
    addresses.extend(
        node.interfaces
            .iter()
            .filter_map(|i| i.address.map(|a| a.addr())),
    );
    if node.interfaces.iter().any(|i| i.dhcp) {
        addresses.push(Ipv4Addr::UNSPECIFIED);
    }
    let mut udp = Vec::new();
    let mut tcp = Vec::new();
    for address in addresses {
        let at = SocketAddrV4::new(address, DNS_PORT);
        udp.push(udp_socket(None, at)?);
        tcp.push(tcp_listener(at)?);
    }
    tracing::info!(
        "{}: DNS on port {DNS_PORT}: {} zone(s){}",
        node.name,
        dns.zones.len(),
        dns.resolver
            .as_ref()
            .map(|r| format!(", {} resolver", r.name()))
            .unwrap_or_default()
    );
    tasks.spawn(server::serve(
        handler,
        udp,
        tcp,
        server::TcpConfig::default(),
        context.shutdown.clone(),
    ));
    Ok(())
}
