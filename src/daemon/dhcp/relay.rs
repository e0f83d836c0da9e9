//! Starts a router's DHCP relays: for each interface with `dhcp_relay`, a
//! socket on 0.0.0.0:67 bound to the interface (client broadcasts) and one
//! on the interface's address:67 (the server's answers to `giaddr`).

use std::net::{Ipv4Addr, SocketAddrV4};

use anyhow::Result;

use super::{DHCP_CLIENT_PORT, DHCP_SERVER_PORT};
use crate::daemon::context::{NodeContext, Tasks};
use crate::net::udp::udp_socket;
use crate::services::dhcp::relay::{self, Relay};

pub fn start(context: &NodeContext, tasks: &mut Tasks) -> Result<()> {
    let node = &context.node;
    for iface in &node.interfaces {
        let (Some(server), Some(local)) = (iface.dhcp_relay, iface.address) else {
            continue;
        };
        let relay = Relay {
            giaddr: local.addr(),
            server: SocketAddrV4::new(server, DHCP_SERVER_PORT),
            clients: SocketAddrV4::new(Ipv4Addr::BROADCAST, DHCP_CLIENT_PORT),
        };
        let client_side = udp_socket(
            Some(&iface.name),
            SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, DHCP_SERVER_PORT),
        )?;
        let server_side = udp_socket(None, SocketAddrV4::new(local.addr(), DHCP_SERVER_PORT))?;
        tracing::info!("{}/{}: relaying DHCP to {server}", node.name, iface.name);
        tasks.spawn(relay::serve(
            relay,
            client_side,
            server_side,
            context.log.clone(),
            context.shutdown.clone(),
        ));
    }
    Ok(())
}
