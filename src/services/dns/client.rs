//! A DNS stub client for labctl's own probes and for the mail relay: one
//! question to one server over UDP (again over TCP when the reply is
//! truncated), a stub resolver over a node's server list, and the MX lookup
//! of RFC 5321 §5.1. It never reads the host's `/etc/resolv.conf`: callers
//! pass the lab servers to ask.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use hickory_proto::op::{Edns, Message, MessageType, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::{Instant, timeout_at};

/// How long `lookup` waits for each server.
pub const LOOKUP_TIMEOUT: Duration = Duration::from_secs(3);
/// A lost UDP datagram is sent again after this long (within the timeout).
const RETRANSMIT_AFTER: Duration = Duration::from_millis(800);
/// The UDP payload size we advertise (EDNS, the DNS flag day 2020 value).
const UDP_PAYLOAD: u16 = 1232;

/// A server's reply to one question.
#[derive(Debug, Clone)]
pub struct Response {
    pub server: SocketAddr,
    pub rcode: ResponseCode,
    pub authoritative: bool,
    pub recursion_available: bool,
    pub answers: Vec<Record>,
    pub authority: Vec<Record>,
}

/// What went wrong, in words a student can act on.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("{name:?} is not a valid domain name: {reason}")]
    BadName { name: String, reason: String },
    #[error("no DNS server to ask (the node has no resolver: give it `dns:` or DHCP)")]
    NoServers,
    #[error("no answer from DNS server {server} within {timeout:?}")]
    Timeout {
        server: SocketAddr,
        timeout: Duration,
    },
    #[error("cannot reach DNS server {server}: {source}")]
    Io {
        server: SocketAddr,
        source: std::io::Error,
    },
    #[error("bad reply from DNS server {server}: {reason}")]
    BadReply { server: SocketAddr, reason: String },
    #[error("{name} does not exist (NXDOMAIN from {server})")]
    NxDomain { name: String, server: SocketAddr },
    #[error("{name} exists but has no {rtype} record (answer from {server})")]
    NoData {
        name: String,
        rtype: RecordType,
        server: SocketAddr,
    },
    #[error("DNS server {server} answered {rcode} for {name}")]
    Failed {
        name: String,
        rcode: ResponseCode,
        server: SocketAddr,
    },
    #[error("{domain} accepts no mail (null MX, RFC 7505)")]
    NullMx { domain: String },
}

impl Response {
    /// The data of the answer records of type `rtype` (CNAMEs on the way are
    /// skipped: the server already followed them).
    pub fn data_of(&self, rtype: RecordType) -> impl Iterator<Item = &RData> {
        self.answers
            .iter()
            .filter(move |record| record.record_type() == rtype)
            .map(|record| &record.data)
    }

    /// The IPv4 addresses among the answers.
    pub fn ipv4(&self) -> Vec<Ipv4Addr> {
        self.data_of(RecordType::A)
            .filter_map(|data| match data {
                RData::A(a) => Some(a.0),
                _ => None,
            })
            .collect()
    }

    /// Ok when the reply answers the question with at least one record of
    /// `rtype`; otherwise the NXDOMAIN, no-data or failure it is.
    pub fn require(&self, name: &str, rtype: RecordType) -> Result<(), QueryError> {
        match self.rcode {
            ResponseCode::NoError if self.data_of(rtype).next().is_some() => Ok(()),
            ResponseCode::NoError => Err(QueryError::NoData {
                name: name.to_string(),
                rtype,
                server: self.server,
            }),
            ResponseCode::NXDomain => Err(QueryError::NxDomain {
                name: name.to_string(),
                server: self.server,
            }),
            rcode => Err(QueryError::Failed {
                name: name.to_string(),
                rcode,
                server: self.server,
            }),
        }
    }
}

/// Parses a name as given by a user or a lab file; a missing final dot is
/// added (labctl's probes never apply search domains).
pub fn parse_name(name: &str) -> Result<Name, QueryError> {
    let bad = |reason: String| QueryError::BadName {
        name: name.to_string(),
        reason,
    };
    if name.is_empty() {
        return Err(bad("the name is empty".into()));
    }
    let mut parsed = Name::from_ascii(name).map_err(|e| bad(e.to_string()))?;
    parsed.set_fqdn(true);
    Ok(parsed)
}

/// One question to one server over UDP (retries over TCP when truncated).
/// Any well-formed reply is a `Response`, whatever its rcode.
pub async fn query(
    server: SocketAddr,
    name: &str,
    rtype: RecordType,
    timeout: Duration,
) -> Result<Response, QueryError> {
    let qname = parse_name(name)?;
    let request = request_for(&qname, rtype);
    let deadline = Instant::now() + timeout;
    let reply = over_udp(server, &request, deadline, timeout).await?;
    let reply = if reply.metadata.truncation {
        over_tcp(server, &request, deadline, timeout).await?
    } else {
        reply
    };
    Ok(Response {
        server,
        rcode: reply.metadata.response_code,
        authoritative: reply.metadata.authoritative,
        recursion_available: reply.metadata.recursion_available,
        answers: reply.answers,
        authority: reply.authorities,
    })
}

/// A stub resolver: asks `servers` in order (port 53) until one answers,
/// follows nothing. NOERROR and NXDOMAIN are answers; a timeout, SERVFAIL or
/// REFUSED moves on to the next server, and the last failure is returned.
pub async fn lookup(
    servers: &[IpAddr],
    name: &str,
    rtype: RecordType,
) -> Result<Response, QueryError> {
    let servers: Vec<SocketAddr> = servers.iter().map(|ip| SocketAddr::new(*ip, 53)).collect();
    lookup_at(&servers, name, rtype).await
}

/// `lookup` with explicit ports (tests, servers on other ports).
pub async fn lookup_at(
    servers: &[SocketAddr],
    name: &str,
    rtype: RecordType,
) -> Result<Response, QueryError> {
    let mut last = QueryError::NoServers;
    for server in servers {
        match query(*server, name, rtype, LOOKUP_TIMEOUT).await {
            Ok(reply) if matches!(reply.rcode, ResponseCode::NoError | ResponseCode::NXDomain) => {
                return Ok(reply);
            }
            Ok(reply) => {
                last = QueryError::Failed {
                    name: name.to_string(),
                    rcode: reply.rcode,
                    server: *server,
                }
            }
            Err(e @ QueryError::BadName { .. }) => return Err(e),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// MX targets by preference, falling back to the domain's A records (RFC 5321 §5.1).
pub async fn mail_exchangers(
    servers: &[IpAddr],
    domain: &str,
) -> Result<Vec<(String, Vec<Ipv4Addr>)>, QueryError> {
    let servers: Vec<SocketAddr> = servers.iter().map(|ip| SocketAddr::new(*ip, 53)).collect();
    mail_exchangers_at(&servers, domain).await
}

/// `mail_exchangers` with explicit ports. Exchangers whose address lookup
/// fails are left out; when none is left, that failure is the error.
pub async fn mail_exchangers_at(
    servers: &[SocketAddr],
    domain: &str,
) -> Result<Vec<(String, Vec<Ipv4Addr>)>, QueryError> {
    let reply = lookup_at(servers, domain, RecordType::MX).await?;
    let mut exchangers: Vec<(u16, Name)> = reply
        .data_of(RecordType::MX)
        .filter_map(|data| match data {
            RData::MX(mx) => Some((mx.preference, mx.exchange.clone())),
            _ => None,
        })
        .collect();
    if exchangers.is_empty() {
        reply.require(domain, RecordType::MX).or_else(|e| match e {
            QueryError::NoData { .. } => Ok(()),
            other => Err(other),
        })?;
        let a = lookup_at(servers, domain, RecordType::A).await?;
        a.require(domain, RecordType::A)?;
        return Ok(vec![(trimmed(&parse_name(domain)?), a.ipv4())]);
    }
    if exchangers.iter().any(|(_, name)| name.is_root()) {
        return Err(QueryError::NullMx {
            domain: domain.to_string(),
        });
    }
    exchangers.sort_by_key(|(preference, _)| *preference);
    let mut found = Vec::new();
    let mut last = None;
    for (_, exchange) in exchangers {
        let host = trimmed(&exchange);
        match lookup_at(servers, &exchange.to_ascii(), RecordType::A).await {
            Ok(a) => match a.require(&host, RecordType::A) {
                Ok(()) => found.push((host, a.ipv4())),
                Err(e) => last = Some(e),
            },
            Err(e) => last = Some(e),
        }
    }
    match (found.is_empty(), last) {
        (true, Some(e)) => Err(e),
        _ => Ok(found),
    }
}

/// A name as people write it: no final dot.
fn trimmed(name: &Name) -> String {
    name.to_ascii().trim_end_matches('.').to_string()
}

fn request_for(qname: &Name, rtype: RecordType) -> Message {
    let mut message = Message::query(); // a random id
    message.metadata.recursion_desired = true;
    message.add_query(Query::query(qname.clone(), rtype));
    let mut edns = Edns::new();
    edns.set_max_payload(UDP_PAYLOAD);
    message.set_edns(edns);
    message
}

async fn over_udp(
    server: SocketAddr,
    request: &Message,
    deadline: Instant,
    timeout: Duration,
) -> Result<Message, QueryError> {
    let io = |source| QueryError::Io { server, source };
    let local: SocketAddr = match server {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let socket = UdpSocket::bind(local).await.map_err(io)?;
    socket.connect(server).await.map_err(io)?;
    let bytes = encode(server, request)?;
    let mut buffer = vec![0u8; 65_535];
    loop {
        socket.send(&bytes).await.map_err(io)?;
        let resend_at = (Instant::now() + RETRANSMIT_AFTER).min(deadline);
        loop {
            let received = match timeout_at(resend_at, socket.recv(&mut buffer)).await {
                Err(_) if resend_at >= deadline => {
                    return Err(QueryError::Timeout { server, timeout });
                }
                Err(_) => break,
                Ok(received) => received,
            };
            // ICMP port unreachable shows up as ECONNREFUSED on a connected socket.
            let len = received.map_err(io)?;
            if let Some(reply) = matching_reply(request, &buffer[..len]) {
                return Ok(reply);
            }
        }
    }
}

async fn over_tcp(
    server: SocketAddr,
    request: &Message,
    deadline: Instant,
    timeout: Duration,
) -> Result<Message, QueryError> {
    let io = |source| QueryError::Io { server, source };
    let exchange = async {
        let mut stream = TcpStream::connect(server).await.map_err(io)?;
        let bytes = encode(server, request)?;
        let mut framed = (bytes.len() as u16).to_be_bytes().to_vec();
        framed.extend_from_slice(&bytes);
        stream.write_all(&framed).await.map_err(io)?;
        let len = stream.read_u16().await.map_err(io)? as usize;
        let mut reply = vec![0u8; len];
        stream.read_exact(&mut reply).await.map_err(io)?;
        matching_reply(request, &reply).ok_or_else(|| QueryError::BadReply {
            server,
            reason: "the TCP reply does not answer the question".into(),
        })
    };
    timeout_at(deadline, exchange)
        .await
        .unwrap_or(Err(QueryError::Timeout { server, timeout }))
}

fn encode(server: SocketAddr, request: &Message) -> Result<Vec<u8>, QueryError> {
    request.to_vec().map_err(|e| QueryError::BadReply {
        server,
        reason: format!("cannot encode the question: {e}"),
    })
}

/// The reply to `request`, or None for anything else (a late reply to an
/// earlier question, a spoofed or garbled datagram): same id, a response,
/// the same question.
fn matching_reply(request: &Message, datagram: &[u8]) -> Option<Message> {
    let reply = Message::from_vec(datagram).ok()?;
    let same_question = match (reply.queries.first(), request.queries.first()) {
        (Some(got), Some(asked)) => {
            got.query_type() == asked.query_type() && got.name() == asked.name()
        }
        // Some servers drop the question from FORMERR/NOTIMP replies.
        (None, _) => reply.metadata.response_code != ResponseCode::NoError,
        _ => false,
    };
    (reply.metadata.id == request.metadata.id
        && reply.metadata.message_type == MessageType::Response
        && same_question)
        .then_some(reply)
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
