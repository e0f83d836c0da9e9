//! The DNS server on bound sockets: each UDP socket on its own batching
//! thread (`udp_batch`), questions for the resolver on the runtime, TCP
//! through the shared accept loop (RFC 7766 framing). What is answered is
//! the `Handler`'s business (`handler.rs`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{Semaphore, mpsc};

use super::handler::Handler;
use super::udp_batch::{self, ToResolve};
use crate::services::listener::{self, Busy, Gate, Limits};
use crate::services::shutdown::Shutdown;

/// DNS over TCP: connection caps and how long a silent client is kept.
#[derive(Clone, Copy, Debug)]
pub struct TcpConfig {
    /// Connections at once over all TCP listeners, in all and from one
    /// client address (a quarter: a stub or resolver needs one or two).
    pub connections: Limits,
    /// A client that sends nothing for this long is closed (RFC 7766
    /// §6.2.3 asks for seconds, not minutes; there is no login to wait for).
    pub idle_timeout: Duration,
}

impl Default for TcpConfig {
    fn default() -> Self {
        TcpConfig {
            connections: Limits {
                max_connections: 128,
                max_per_client: 32,
            },
            idle_timeout: Duration::from_secs(10),
        }
    }
}

/// DNS has no greeting to say "busy" in: a client past a cap is closed
/// at once and retries (RFC 7766 §6.2.3 lets a server close under load).
const TCP_BUSY: Busy = Busy {
    service: "dns",
    server_full: "",
    client_full: "",
};
/// At most this many questions waiting for the resolver at once.
const MAX_PENDING_RESOLUTIONS: usize = 512;

/// Serves on the bound sockets until `stop` fires: each UDP socket on its
/// own batching thread (`udp_batch`), TCP on the runtime (drained, see
/// `listener::serve`).
pub async fn serve(
    handler: Arc<Handler>,
    udp: Vec<UdpSocket>,
    tcp: Vec<TcpListener>,
    tcp_config: TcpConfig,
    mut stop: Shutdown,
) -> Result<()> {
    let mut tasks = tokio::task::JoinSet::new();
    let stopping = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    let mut batch_sockets = Vec::new();
    for socket in udp {
        let socket = Arc::new(socket.into_std()?);
        batch_sockets.push(socket.clone());
        let (to_resolve, questions) = mpsc::channel(MAX_PENDING_RESOLUTIONS);
        let (batch_handler, batch_stopping) = (handler.clone(), stopping.clone());
        let batch_socket = socket.clone();
        threads.push(std::thread::spawn(move || {
            udp_batch::run(batch_socket, batch_handler, to_resolve, batch_stopping)
        }));
        tasks.spawn(resolve_for_udp(handler.clone(), socket, questions));
    }
    let gate = Gate::new(tcp_config.connections);
    let mut tcp_tasks = tokio::task::JoinSet::new();
    for listener in tcp {
        tcp_tasks.spawn(serve_tcp(
            handler.clone(),
            listener,
            gate.clone(),
            tcp_config.idle_timeout,
            stop.clone(),
        ));
    }
    stop.fired().await;
    stopping.store(true, Ordering::Relaxed);
    for socket in &batch_sockets {
        udp_batch::wake(socket);
    }
    // The TCP loops end by themselves once their open connections drained.
    while tcp_tasks.join_next().await.is_some() {}
    tasks.shutdown().await;
    let joined = tokio::task::spawn_blocking(move || {
        threads
            .into_iter()
            .map(|t| {
                t.join()
                    .unwrap_or_else(|_| Err(std::io::Error::other("panicked")))
            })
            .collect::<std::io::Result<Vec<()>>>()
    })
    .await?;
    joined.map(|_| ()).context("a DNS UDP thread failed")
}

/// Questions the batching thread passed on: resolved concurrently (at most
/// `MAX_PENDING_RESOLUTIONS`), each reply sent on the socket it came in on.
async fn resolve_for_udp(
    handler: Arc<Handler>,
    socket: Arc<std::net::UdpSocket>,
    mut questions: mpsc::Receiver<ToResolve>,
) {
    let resolving = Arc::new(Semaphore::new(MAX_PENDING_RESOLUTIONS));
    while let Some((pending, peer)) = questions.recv().await {
        let Ok(permit) = resolving.clone().acquire_owned().await else {
            return;
        };
        let (handler, socket) = (handler.clone(), socket.clone());
        tokio::spawn(async move {
            let reply = handler.resolve(pending).await;
            handler.log.exchange("udp", peer, &reply);
            // Never wait in the runtime: a full buffer drops the datagram.
            let _ = socket2::SockRef::from(&*socket).send_to_with_flags(
                &reply,
                &peer.into(),
                libc::MSG_DONTWAIT,
            );
            drop(permit);
        });
    }
}

async fn serve_tcp(
    handler: Arc<Handler>,
    listener: TcpListener,
    gate: Gate,
    idle_timeout: Duration,
    stop: Shutdown,
) {
    let served = listener::serve(listener, gate, TCP_BUSY, stop, |stream, peer| {
        let handler = handler.clone();
        async move {
            let _ = tcp_client(&handler, stream, peer, idle_timeout).await;
        }
    });
    if let Err(e) = served.await {
        tracing::error!("dns: TCP listener failed: {e}");
    }
}

/// Messages over one TCP connection, each with its 2-byte length (RFC 7766).
async fn tcp_client(
    handler: &Handler,
    mut stream: TcpStream,
    peer: std::net::SocketAddr,
    idle_timeout: Duration,
) -> std::io::Result<()> {
    loop {
        let len = match tokio::time::timeout(idle_timeout, stream.read_u16()).await {
            Ok(Ok(len)) => usize::from(len),
            _ => return Ok(()),
        };
        let mut message = vec![0u8; len];
        tokio::time::timeout(idle_timeout, stream.read_exact(&mut message))
            .await
            .map_err(|_| std::io::ErrorKind::TimedOut)??;
        let Some(reply) = handler.respond(&message, false).await else {
            return Ok(());
        };
        handler.log.exchange("tcp", peer, &reply);
        let mut framed = Vec::with_capacity(reply.len() + 2);
        framed.extend_from_slice(&(reply.len() as u16).to_be_bytes());
        framed.extend_from_slice(&reply);
        stream.write_all(&framed).await?;
    }
}

#[cfg(test)]
#[path = "server_tests.rs"]
mod tests;
