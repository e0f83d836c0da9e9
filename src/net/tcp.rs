//! Listening TCP sockets for services inside a node: address reuse on, so
//! a restarted daemon can bind again at once while old connections linger
//! in TIME_WAIT, and a deep backlog for bursts of clients.

use std::net::{SocketAddr, SocketAddrV4};

use anyhow::{Context, Result};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::TcpListener;

/// Connections the kernel queues before the accept loop takes them.
const BACKLOG: i32 = 1024;

/// A listening TCP socket on `addr`.
pub fn tcp_listener(addr: SocketAddrV4) -> Result<TcpListener> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket
        .bind(&SocketAddr::V4(addr).into())
        .with_context(|| format!("cannot listen on TCP {addr}"))?;
    socket.listen(BACKLOG)?;
    Ok(TcpListener::from_std(socket.into())?)
}
