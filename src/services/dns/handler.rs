//! What the DNS server answers, socket aside: decodes each message
//! (guarded against hostile input), answers from the node's zones right
//! away (through the reply cache), hands names outside them to the resolver
//! role (or REFUSES them when there is none), and encodes the reply within
//! the client's UDP size (TC set when it does not fit, so the client asks
//! again over TCP). Used by the UDP batching thread and the TCP clients.

use hickory_proto::op::{Edns, Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::{DNSClass, LowerName, Name, RecordType};

use super::authority::{Authority, fill};
use super::decode;
use super::query_log::QueryLog;
use super::reply_cache::{ReplyCache, reply_limit};
use super::upstream::{Role, Upstream, UpstreamError};
use super::zone::BadName;
use crate::lab::zones::Zone;
use crate::services::node_log::NodeLog;

/// UDP size when the client says nothing (RFC 1035), and our EDNS size.
const CLASSIC_UDP: usize = 512;
const EDNS_UDP: u16 = 1232;

/// Why a DNS server could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(transparent)]
    Zone(#[from] BadName),
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
}

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
    pub fn new(zones: &[Zone], role: Option<&Role>) -> Result<Handler, SetupError> {
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
