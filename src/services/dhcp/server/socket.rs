//! The server's receive loop: one task per bound socket, each datagram
//! handled under the server's lock and the reply sent on the socket it came
//! in on.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use anyhow::Context;
use tokio::net::UdpSocket;
use tokio::task::JoinSet;

use super::{Arrival, Server};
use crate::services::shutdown::Shutdown;

/// Runs `server` on sockets bound by the caller (0.0.0.0:67 with
/// SO_BROADCAST, one per interface, each with its Arrival) until `stop`
/// fires. Replies go out on the socket the request came in on.
pub async fn serve(
    server: Arc<Mutex<Server>>,
    sockets: Vec<(UdpSocket, Arrival)>,
    stop: Shutdown,
) -> anyhow::Result<()> {
    let mut tasks = JoinSet::new();
    for (socket, arrival) in sockets {
        tasks.spawn(serve_socket(server.clone(), socket, arrival, stop.clone()));
    }
    while let Some(done) = tasks.join_next().await {
        done.context("a DHCP server task failed")??;
    }
    Ok(())
}

async fn serve_socket(
    server: Arc<Mutex<Server>>,
    socket: UdpSocket,
    arrival: Arrival,
    mut stop: Shutdown,
) -> anyhow::Result<()> {
    let mut buffer = vec![0u8; 2048];
    loop {
        let received = tokio::select! {
            () = stop.fired() => break,
            received = socket.recv_from(&mut buffer) => received,
        };
        let (len, _) = received.with_context(|| format!("DHCP server on {}", arrival.local))?;
        let reply = server
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .handle(&buffer[..len], &arrival, SystemTime::now());
        if let Some(reply) = reply
            && let Err(e) = socket.send_to(&reply.bytes, reply.to).await
        {
            tracing::warn!("dhcp: cannot send to {}: {e}", reply.to);
        }
    }
    Ok(())
}
