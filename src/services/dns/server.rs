//! The DNS server on bound sockets: decodes each question (guarded against
//! hostile input), answers from the node's zones right away, hands names
//! outside them to the resolver role (or REFUSES them when there is none),
//! and encodes the reply within the client's UDP size (TC set when it does
//! not fit, so the client asks again over TCP).

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use hickory_proto::op::{Edns, Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::{DNSClass, LowerName, Name, RecordType};
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{Semaphore, mpsc};

use super::authority::{Authority, fill};
use super::query_log::QueryLog;
use super::reply_cache::{ReplyCache, reply_limit};
use super::udp_batch::{self, ToResolve};
use super::upstream::{Role, Upstream};
use crate::lab::zones::Zone;
use crate::services::listener::{self, Busy, Gate, Limits};
use crate::services::node_log::NodeLog;
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
/// UDP size when the client says nothing (RFC 1035), and our EDNS size.
const CLASSIC_UDP: usize = 512;
const EDNS_UDP: u16 = 1232;

pub struct Handler {
    authority: Authority,
    upstream: Option<Upstream>,
    replies: ReplyCache,
    /// Questions and answers for the node's log (bounded, never blocks).
    pub log: QueryLog,
}

/// What to do with one received message.
pub enum Prepared {
    /// Nothing: not a question (a response, or too short to answer).
    Ignore,
    /// The reply, encoded.
    Reply(Vec<u8>),
    /// The reply waits for the resolver.
    Resolve(Box<Pending>),
}

pub struct Pending {
    reply: Message,
    name: Name,
    rtype: RecordType,
    limit: usize,
}

impl Handler {
    pub fn new(zones: &[Zone], role: Option<&Role>) -> Result<Handler> {
        Ok(Handler {
            authority: Authority::new(zones)?,
            upstream: role.map(Upstream::new).transpose()?,
            replies: ReplyCache::default(),
            log: QueryLog::off(),
        })
    }

    /// Logs questions and answers (within `QueryLog`'s budget) to `log`.
    pub fn with_log(mut self, log: NodeLog) -> Handler {
        self.log = QueryLog::new(log);
        self
    }

    /// Answers what can be answered at once. `udp` limits the reply to the
    /// client's advertised size.
    pub fn prepare(&self, bytes: &[u8], udp: bool) -> Prepared {
        if let Some(reply) = self.replies.get(bytes, udp) {
            return Prepared::Reply(reply);
        }
        let Some(request) = decode(bytes) else {
            return formerr(bytes);
        };
        if request.metadata.message_type != MessageType::Query {
            return Prepared::Ignore;
        }
        let limit = reply_limit(udp, request.edns.as_ref().map(Edns::max_payload));
        let mut reply = Message::response(request.metadata.id, request.metadata.op_code);
        reply.metadata.recursion_desired = request.metadata.recursion_desired;
        reply.metadata.checking_disabled = request.metadata.checking_disabled;
        reply.metadata.recursion_available = self.upstream.is_some();
        reply.add_queries(request.queries.iter().cloned());
        if let Some(edns) = &request.edns {
            let mut ours = Edns::new();
            ours.set_max_payload(EDNS_UDP);
            reply.set_edns(ours);
            if edns.version() > 0 {
                return finish(reply, ResponseCode::BADVERS, limit);
            }
        }
        if request.metadata.op_code != OpCode::Query {
            return finish(reply, ResponseCode::NotImp, limit);
        }
        let [question] = &request.queries[..] else {
            return finish(reply, ResponseCode::FormErr, limit);
        };
        let qtype = question.query_type();
        if question.query_class() != DNSClass::IN
            || matches!(qtype, RecordType::AXFR | RecordType::IXFR)
        {
            return finish(reply, ResponseCode::Refused, limit);
        }
        let qname = LowerName::from(question.name());
        if let Some(answer) = self.authority.answer(&qname, qtype) {
            fill(&mut reply, answer);
            let encoded = encode(reply, limit);
            self.replies.put(bytes, udp, &encoded);
            return Prepared::Reply(encoded);
        }
        if self.upstream.is_none() {
            return finish(reply, ResponseCode::Refused, limit);
        }
        Prepared::Resolve(Box::new(Pending {
            reply,
            name: question.name().clone(),
            rtype: qtype,
            limit,
        }))
    }

    /// Completes a reply that needed the resolver.
    pub async fn resolve(&self, pending: Box<Pending>) -> Vec<u8> {
        let Pending {
            mut reply,
            name,
            rtype,
            limit,
        } = *pending;
        let upstream = self
            .upstream
            .as_ref()
            .expect("only prepared with a resolver");
        fill(&mut reply, upstream.resolve(name, rtype).await);
        encode(reply, limit)
    }

    /// The whole exchange for one message (TCP, tests).
    pub async fn respond(&self, bytes: &[u8], udp: bool) -> Option<Vec<u8>> {
        match self.prepare(bytes, udp) {
            Prepared::Ignore => None,
            Prepared::Reply(reply) => Some(reply),
            Prepared::Resolve(pending) => Some(self.resolve(pending).await),
        }
    }
}

/// hickory-proto's decoder is fuzzed upstream; a panic would still only
/// cost this one message.
pub(super) fn decode(bytes: &[u8]) -> Option<Message> {
    std::panic::catch_unwind(|| Message::from_vec(bytes).ok()).ok()?
}

/// A FORMERR for a query we cannot decode, when its header is readable.
fn formerr(bytes: &[u8]) -> Prepared {
    let is_query = bytes.len() >= 12 && bytes[2] & 0x80 == 0;
    if !is_query {
        return Prepared::Ignore;
    }
    let id = u16::from_be_bytes([bytes[0], bytes[1]]);
    let mut reply = Message::response(id, OpCode::Query);
    reply.metadata.response_code = ResponseCode::FormErr;
    Prepared::Reply(encode(reply, CLASSIC_UDP))
}

fn finish(mut reply: Message, rcode: ResponseCode, limit: usize) -> Prepared {
    reply.metadata.response_code = rcode;
    Prepared::Reply(encode(reply, limit))
}

/// Encodes a reply; when it does not fit `limit`, the sections are dropped
/// and TC is set (RFC 2181 §9).
fn encode(mut reply: Message, limit: usize) -> Vec<u8> {
    if let Ok(bytes) = reply.to_vec()
        && bytes.len() <= limit
    {
        return bytes;
    }
    reply.answers.clear();
    reply.authorities.clear();
    reply.additionals.clear();
    reply.metadata.truncation = true;
    reply.to_vec().unwrap_or_default()
}

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
    for socket in udp {
        let socket = Arc::new(socket.into_std()?);
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
        eprintln!("dns: TCP listener failed: {e}");
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
