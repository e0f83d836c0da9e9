//! DNS questions and answers in the node's log (`labctl logs LAB NODE`):
//! who asked, the name and type, the response code and the answers, as
//! `dns CLIENT C: www.mt.com. A (udp, id 4660)` and
//! `dns CLIENT S: NOERROR, 1 answer: www.mt.com. 3600 IN A 192.168.10.3`.
//!
//! The server answers tens of thousands of questions a second, so logging
//! must cost it nothing measurable: at most `PER_SECOND` exchanges a second
//! are logged (decoding the reply happens only for those), the others are
//! counted with two atomic operations and the count is logged once the
//! next second starts; lines go through the node log's bounded channel,
//! which never blocks. A lab's own questions are far below the budget.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use hickory_proto::op::{Message, ResponseCode};

use crate::services::node_log::{FROM_CLIENT, FROM_SERVER, NOTE, NodeLog};

/// Exchanges logged per second at most.
pub const PER_SECOND: u64 = 200;
/// Answer records shown per reply; the rest are counted.
const RECORDS_SHOWN: usize = 4;

pub struct QueryLog {
    log: Option<NodeLog>,
    /// The second `used` counts for (Unix seconds).
    second: AtomicU64,
    used: AtomicU64,
    skipped: AtomicU64,
}

impl QueryLog {
    pub fn new(log: NodeLog) -> QueryLog {
        QueryLog {
            log: Some(log),
            ..QueryLog::off()
        }
    }

    /// Logs nothing.
    pub fn off() -> QueryLog {
        QueryLog {
            log: None,
            second: AtomicU64::new(0),
            used: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
        }
    }

    /// One question from `peer` and the reply it got (the reply carries the
    /// question), if this second's budget allows.
    pub fn exchange(&self, transport: &str, peer: SocketAddr, reply: &[u8]) {
        if self.admit() {
            self.record(transport, peer, reply);
        }
    }

    /// Whether the next exchange may be logged (the cheap part, first).
    pub fn admit(&self) -> bool {
        self.log.as_ref().is_some_and(|log| self.take_budget(log))
    }

    /// Logs an exchange that `admit` let through.
    pub fn record(&self, transport: &str, peer: SocketAddr, reply: &[u8]) {
        let Some(log) = &self.log else {
            return;
        };
        let tag = format!("dns {peer}");
        let Some(message) = super::decode(reply) else {
            log.line(
                &tag,
                NOTE,
                &format!("<undecodable reply of {} bytes>", reply.len()),
            );
            return;
        };
        let question = match message.queries.first() {
            Some(q) => format!("{} {}", q.name(), q.query_type()),
            None => "<no readable question>".to_string(),
        };
        log.line(
            &tag,
            FROM_CLIENT,
            &format!("{question} ({transport}, id {})", message.metadata.id),
        );
        log.line(&tag, FROM_SERVER, &describe_reply(&message));
    }

    /// True when this exchange may be logged; counts it either way.
    fn take_budget(&self, log: &NodeLog) -> bool {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let second = self.second.load(Ordering::Relaxed);
        if now != second
            && self
                .second
                .compare_exchange(second, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.used.store(0, Ordering::Relaxed);
            let skipped = self.skipped.swap(0, Ordering::Relaxed);
            if skipped > 0 {
                log.line(
                    "dns",
                    NOTE,
                    &format!(
                        "{skipped} more exchanges not logged (at most {PER_SECOND} a second are)"
                    ),
                );
            }
        }
        if self.used.fetch_add(1, Ordering::Relaxed) < PER_SECOND {
            true
        } else {
            self.skipped.fetch_add(1, Ordering::Relaxed);
            false
        }
    }
}

/// The mnemonic dig prints (hickory's Display says "No Error").
pub fn rcode_name(rcode: ResponseCode) -> String {
    match rcode {
        ResponseCode::NoError => "NOERROR".into(),
        ResponseCode::FormErr => "FORMERR".into(),
        ResponseCode::ServFail => "SERVFAIL".into(),
        ResponseCode::NXDomain => "NXDOMAIN".into(),
        ResponseCode::NotImp => "NOTIMP".into(),
        ResponseCode::Refused => "REFUSED".into(),
        ResponseCode::BADVERS => "BADVERS".into(),
        other => format!("RCODE {}", u16::from(other)),
    }
}

/// `NOERROR, 2 answers: …` or `NXDOMAIN, 0 answers (authority: …)`.
fn describe_reply(reply: &Message) -> String {
    let answers = &reply.answers;
    let mut text = format!(
        "{}, {} answer{}",
        rcode_name(reply.metadata.response_code),
        answers.len(),
        if answers.len() == 1 { "" } else { "s" }
    );
    if reply.metadata.truncation {
        text.push_str(", truncated (TC: ask again over TCP)");
    }
    if !answers.is_empty() {
        let shown: Vec<String> = answers
            .iter()
            .take(RECORDS_SHOWN)
            .map(ToString::to_string)
            .collect();
        text.push_str(": ");
        text.push_str(&shown.join("; "));
        if answers.len() > RECORDS_SHOWN {
            text.push_str(&format!("; and {} more", answers.len() - RECORDS_SHOWN));
        }
    } else if let Some(soa_or_ns) = reply.authorities.first() {
        text.push_str(&format!(" (authority: {soa_or_ns})"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::{MessageType, OpCode, Query};
    use hickory_proto::rr::rdata::A;
    use hickory_proto::rr::{Name, RData, Record, RecordType};

    fn reply(name: &str, answers: usize) -> Vec<u8> {
        let name = Name::from_ascii(name).unwrap();
        let mut message = Message::response(4660, OpCode::Query);
        message.metadata.message_type = MessageType::Response;
        message.add_query(Query::query(name.clone(), RecordType::A));
        if answers == 0 {
            message.metadata.response_code = ResponseCode::NXDomain;
        }
        for i in 0..answers {
            message.add_answer(Record::from_rdata(
                name.clone(),
                300,
                RData::A(A::new(192, 168, 10, i as u8)),
            ));
        }
        message.to_vec().unwrap()
    }

    #[test]
    fn logs_client_question_rcode_and_answers_within_a_budget() {
        let path = std::env::temp_dir().join(format!("labctl-dns-log-{}", std::process::id()));
        let log = NodeLog::open(&path).unwrap();
        let queries = QueryLog::new(log.clone());
        let peer: SocketAddr = "192.168.10.100:41234".parse().unwrap();
        queries.exchange("udp", peer, &reply("www.mt.com.", 1));
        queries.exchange("tcp", peer, &reply("nope.mt.com.", 0));
        queries.exchange("udp", peer, &reply("many.mt.com.", 6));
        // A flood: the rest of this second's budget is used, the others are counted.
        let second = queries.second.load(Ordering::Relaxed);
        for _ in 0..1000 {
            queries.exchange("udp", peer, &reply("flood.mt.com.", 1));
        }
        let flooded = queries.skipped.load(Ordering::Relaxed);
        // The next second starts: the count is logged.
        queries.second.store(second - 1, Ordering::Relaxed);
        queries.exchange("udp", peer, &reply("after.mt.com.", 1));
        log.sync();
        let text = std::fs::read_to_string(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        let tag = "dns 192.168.10.100:41234";
        for expected in [
            format!("{tag} C: www.mt.com. A (udp, id 4660)"),
            format!("{tag} S: NOERROR, 1 answer: www.mt.com. 300 IN A 192.168.10.0"),
            format!("{tag} C: nope.mt.com. A (tcp, id 4660)"),
            format!("{tag} S: NXDOMAIN, 0 answers"),
            "; and 2 more".to_string(),
            format!("{tag} C: after.mt.com. A"),
        ] {
            assert!(text.contains(&expected), "{expected}\nnot in\n{text}");
        }
        // Whatever the second boundaries, never more than the budget a second.
        let logged = text.matches("C: flood.mt.com.").count() as u64;
        assert!(logged <= 2 * PER_SECOND, "{logged}");
        let counted: u64 = text
            .lines()
            .filter_map(|l| l.split_once("dns -- "))
            .filter_map(|(_, note)| note.split(' ').next()?.parse::<u64>().ok())
            .sum();
        assert!(flooded > 0 && counted >= flooded, "{counted} {flooded}");
        assert_eq!(logged + counted, 1000, "{logged} + {counted}");
    }
}
