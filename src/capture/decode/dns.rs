//! DNS messages (read with hickory-proto, as the lab's own server does) in
//! a course's words: the question, the flags a lecture names (AA, RD, RA),
//! the response code, the answers, and for a referral the servers it
//! points to with their glue.

use hickory_proto::op::{Message, MessageType};
use hickory_proto::rr::{Record, RecordType};

use crate::services::dns::query_log::rcode_name;

/// Records shown per section; the rest are counted.
const SHOWN: usize = 4;

pub struct DnsMessage {
    pub text: String,
    pub fields: Vec<(String, String)>,
    pub reply: bool,
}

fn record_text(record: &Record) -> String {
    format!("{} {} {}", record.name, record.record_type(), record.data)
}

fn list(records: &[&Record]) -> String {
    let mut shown: Vec<String> = records.iter().take(SHOWN).map(|r| record_text(r)).collect();
    if records.len() > SHOWN {
        shown.push(format!("+{} more", records.len() - SHOWN));
    }
    shown.join(", ")
}

pub fn decode(payload: &[u8]) -> Option<DnsMessage> {
    // hickory's decoder is fuzzed upstream; a panic would cost this message only.
    let message = std::panic::catch_unwind(|| Message::from_vec(payload).ok()).ok()??;
    let meta = &message.metadata;
    let question = match message.queries.first() {
        Some(q) => format!("{} {}", q.name(), q.query_type()),
        None => "(no question)".to_string(),
    };
    let mut flags = Vec::new();
    for (set, name) in [
        (meta.authoritative, "aa"),
        (meta.recursion_desired, "rd"),
        (meta.recursion_available, "ra"),
        (meta.truncation, "tc"),
    ] {
        if set {
            flags.push(name);
        }
    }
    let flags = flags.join(" ");
    let shown_flags = if flags.is_empty() {
        String::new()
    } else {
        format!(" [{flags}]")
    };
    let mut fields = vec![
        ("id".to_string(), format!("0x{:04x}", meta.id)),
        ("question".to_string(), question.clone()),
        ("flags".to_string(), flags.clone()),
    ];
    if meta.message_type == MessageType::Query {
        return Some(DnsMessage {
            text: format!("DNS query 0x{:04x} {question}{shown_flags}", meta.id),
            fields,
            reply: false,
        });
    }
    let rcode = rcode_name(meta.response_code);
    fields.push(("rcode".into(), rcode.clone()));
    let answers: Vec<&Record> = message.answers.iter().collect();
    let referral: Vec<&Record> = message
        .authorities
        .iter()
        .filter(|r| r.record_type() == RecordType::NS)
        .collect();
    let glue: Vec<&Record> = message
        .additionals
        .iter()
        .filter(|r| matches!(r.record_type(), RecordType::A | RecordType::AAAA))
        .collect();
    let mut text = format!(
        "DNS answer 0x{:04x} {question}{shown_flags} {rcode}",
        meta.id
    );
    if !answers.is_empty() {
        fields.push(("answers".into(), list(&answers)));
        text.push_str(&format!(": {}", list(&answers)));
    } else if !referral.is_empty() {
        fields.push(("referral".into(), list(&referral)));
        text.push_str(&format!(", referral to {}", list(&referral)));
        if !glue.is_empty() {
            fields.push(("glue".into(), list(&glue)));
            text.push_str(&format!(" (glue {})", list(&glue)));
        }
    } else {
        text.push_str(", no answer");
    }
    Some(DnsMessage {
        text,
        fields,
        reply: true,
    })
}
