//! UDP sockets for services inside a node: bound to an address, optionally
//! to one interface (SO_BINDTODEVICE), able to broadcast, and sharing their
//! port with the node's other sockets (a DHCP relay and client both use 67
//! or 68 on different interfaces).

use std::net::{SocketAddr, SocketAddrV4};

use anyhow::{Context, Result};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;

/// A UDP socket bound to `addr` (on `device` when given), able to
/// broadcast, sharing its port with other sockets of this daemon.
pub fn udp_socket(device: Option<&str>, addr: SocketAddrV4) -> Result<UdpSocket> {
    let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    socket.set_reuse_address(true)?;
    socket.set_broadcast(true)?;
    if let Some(device) = device {
        socket
            .bind_device(Some(device.as_bytes()))
            .with_context(|| format!("cannot bind a socket to {device}"))?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&SocketAddr::V4(addr).into()).with_context(|| {
        format!(
            "cannot bind {addr}{}",
            device.map(|d| format!(" on {d}")).unwrap_or_default()
        )
    })?;
    Ok(UdpSocket::from_std(socket.into())?)
}
