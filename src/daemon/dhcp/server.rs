//! Starts a node's DHCP server: its pools from the plan, its lease journal
//! in the state dir, one socket on 0.0.0.0:67 per addressed interface
//! (SO_BINDTODEVICE tells which network a request came from). The server
//! is registered in the daemon's shared state so `status` can list leases.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use anyhow::Result;

use super::{DHCP_CLIENT_PORT, DHCP_SERVER_PORT};
use crate::daemon::context::{NodeContext, Tasks};
use crate::net::udp::udp_socket;
use crate::services::dhcp::server::{self, Arrival, Pool, Server, ServerConfig};

pub fn start(context: &NodeContext, tasks: &mut Tasks) -> Result<()> {
    let node = &context.node;
    let Some(pools) = &node.dhcp_server else {
        return Ok(());
    };
    let config = ServerConfig {
        pools: pools
            .iter()
            .map(|p| Pool {
                subnet: p.subnet,
                range: (p.first, p.last),
                gateway: p.gateway,
                dns: p.dns.clone(),
                domain: p.domain.clone(),
                lease_time: Duration::from_secs(p.lease_seconds),
                reservations: p
                    .reservations
                    .iter()
                    .map(|r| (r.mac.0, r.address))
                    .collect(),
            })
            .collect(),
        lease_file: Some(
            context
                .state_dir
                .join(format!("dhcp-leases-{}.jsonl", node.name)),
        ),
        client_port: DHCP_CLIENT_PORT,
        server_port: DHCP_SERVER_PORT,
    };
    let mut server = Server::new(config, SystemTime::now())?;
    server.set_log(context.log.clone());
    let server = Arc::new(Mutex::new(server));
    let mut sockets = Vec::new();
    for iface in &node.interfaces {
        let Some(local) = iface.address else {
            continue;
        };
        let socket = udp_socket(
            Some(&iface.name),
            SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, DHCP_SERVER_PORT),
        )?;
        sockets.push((socket, Arrival { local }));
    }
    context
        .shared
        .dhcp_servers
        .lock()
        .expect("lock")
        .insert(node.name.clone(), server.clone());
    tasks.spawn(server::serve(server, sockets, context.shutdown.clone()));
    Ok(())
}
