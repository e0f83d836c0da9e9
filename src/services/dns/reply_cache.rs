//! Encoded authoritative replies, reused. Zones do not change while a lab
//! runs, so the reply to a question depends only on the question (name in
//! any case, type, class), the header bits that shape a reply (opcode, RD,
//! CD) and the client's EDNS (present, version, DO, UDP size) — that is the
//! key. A hit copies the stored reply and puts the query's id and its
//! spelling of the name in, skipping decoding and encoding altogether.
//! Anything unusual (more than one question, other records, compression in
//! the question, EDNS options we would have to echo) just misses and takes
//! the normal path.

use std::collections::HashMap;
use std::sync::Mutex;

/// At most this many replies; when full it starts again (hostile random
/// names cannot grow it without bound).
const MAX_ENTRIES: usize = 20_000;
const HEADER: usize = 12;

#[derive(Default)]
pub struct ReplyCache {
    entries: Mutex<HashMap<Vec<u8>, Vec<u8>>>,
}

/// Where a query's name is, and the cache key of the query.
struct Shape {
    name_end: usize,
    key: Vec<u8>,
}

impl ReplyCache {
    /// The stored reply to `query`, with its id and name spelling.
    pub fn get(&self, query: &[u8], udp: bool) -> Option<Vec<u8>> {
        let shape = shape(query, udp)?;
        let entries = self.entries.lock().ok()?;
        let stored = entries.get(&shape.key)?;
        let mut reply = stored.clone();
        reply[..2].copy_from_slice(&query[..2]);
        reply[HEADER..shape.name_end].copy_from_slice(&query[HEADER..shape.name_end]);
        Some(reply)
    }

    /// Keeps `reply` (the authoritative reply to `query`) for next time.
    pub fn put(&self, query: &[u8], udp: bool, reply: &[u8]) {
        let Some(shape) = shape(query, udp) else {
            return;
        };
        // The reply must start with the same question, uncompressed.
        let same_question = reply.len() >= shape.name_end + 4
            && reply[HEADER..shape.name_end + 4]
                .eq_ignore_ascii_case(&query[HEADER..shape.name_end + 4]);
        if !same_question {
            return;
        }
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(shape.key, reply.to_vec());
    }
}

/// How long a reply may be: 65,535 over TCP; over UDP the client's EDNS
/// size (between 512 and 4096), or 512 without EDNS (RFC 1035, RFC 6891).
pub fn reply_limit(udp: bool, edns_size: Option<u16>) -> usize {
    match (udp, edns_size) {
        (false, _) => usize::from(u16::MAX),
        (true, None) => 512,
        (true, Some(size)) => usize::from(size).clamp(512, 4096),
    }
}

/// Reads a plain query: one question, no answer or authority records, and
/// at most an OPT record without options.
fn shape(query: &[u8], udp: bool) -> Option<Shape> {
    if query.len() < HEADER + 5 {
        return None;
    }
    let counts = |at: usize| u16::from_be_bytes([query[at], query[at + 1]]);
    let (questions, answers, authorities, additionals) =
        (counts(4), counts(6), counts(8), counts(10));
    if questions != 1 || answers != 0 || authorities != 0 || additionals > 1 {
        return None;
    }
    // QR must be clear: never answer a response.
    if query[2] & 0x80 != 0 {
        return None;
    }
    let mut at = HEADER;
    loop {
        let len = usize::from(*query.get(at)?);
        if len == 0 {
            at += 1;
            break;
        }
        if len > 63 || at + 1 + len > HEADER + 255 {
            return None; // compression or an oversized name: the slow path judges
        }
        at += 1 + len;
    }
    let name_end = at;
    let question_end = name_end + 4;
    if query.len() < question_end {
        return None;
    }
    let mut key = Vec::with_capacity(question_end - HEADER + 12);
    key.extend(
        query[HEADER..question_end]
            .iter()
            .map(u8::to_ascii_lowercase),
    );
    key.push(query[2] & 0x79); // opcode and RD
    key.push(query[3] & 0x30); // AD and CD
    key.push(u8::from(udp));
    if additionals == 1 {
        // OPT: root name, type 41, class = UDP size, ttl = ext-rcode, version, flags; no options.
        let opt = query.get(question_end..question_end + 11)?;
        if opt[0] != 0 || opt[1..3] != [0, 41] || opt[9..11] != [0, 0] {
            return None;
        }
        key.push(1);
        // The UDP size only matters as the limit a reply is cut to.
        let size = u16::from_be_bytes([opt[3], opt[4]]);
        key.extend_from_slice(&(reply_limit(udp, Some(size)) as u32).to_be_bytes());
        key.extend_from_slice(&opt[5..9]);
        if query.len() != question_end + 11 {
            return None;
        }
    } else if query.len() != question_end {
        return None;
    }
    Some(Shape { name_end, key })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(id: u16, name: &[u8], opt: bool) -> Vec<u8> {
        let mut q = id.to_be_bytes().to_vec();
        q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, u8::from(opt)]);
        q.extend_from_slice(name);
        q.extend_from_slice(&[0, 1, 0, 1]);
        if opt {
            q.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]);
        }
        q
    }

    const MAIL: &[u8] = b"\x04mail\x04cbrc\x03com\x00";
    const MAIL_UPPER: &[u8] = b"\x04MAIL\x04Cbrc\x03com\x00";

    #[test]
    fn a_hit_takes_the_id_and_spelling_of_the_query() {
        let cache = ReplyCache::default();
        let first = query(1, MAIL, false);
        let mut reply = first.clone();
        reply[2] |= 0x84;
        reply.extend_from_slice(b"answer");
        cache.put(&first, true, &reply);
        let hit = cache.get(&query(0xbeef, MAIL_UPPER, false), true).unwrap();
        assert_eq!(&hit[..2], &[0xbe, 0xef]);
        assert_eq!(&hit[12..12 + MAIL.len()], MAIL_UPPER);
        assert!(hit.ends_with(b"answer"));
    }

    #[test]
    fn edns_size_and_transport_are_part_of_the_key() {
        let cache = ReplyCache::default();
        let plain = query(1, MAIL, false);
        cache.put(&plain, true, &plain);
        assert!(cache.get(&query(2, MAIL, true), true).is_none());
        assert!(cache.get(&plain, false).is_none());
        assert!(cache.get(&plain, true).is_some());
    }

    #[test]
    fn unusual_queries_are_never_cached() {
        let cache = ReplyCache::default();
        let mut response = query(1, MAIL, false);
        response[2] |= 0x80;
        cache.put(&response, true, &response);
        assert!(cache.get(&response, true).is_none());
        let compressed = query(1, b"\xc0\x0c", false);
        assert!(shape(&compressed, true).is_none());
        let mut trailing = query(1, MAIL, false);
        trailing.push(0);
        assert!(shape(&trailing, true).is_none());
        assert!(shape(&[0u8; 5], true).is_none());
        assert!(shape(&query(1, b"\x3fab", false), true).is_none());
    }

    #[test]
    fn a_reply_for_another_question_is_not_stored() {
        let cache = ReplyCache::default();
        let q = query(1, MAIL, false);
        let other = query(1, b"\x04mail\x04cbrc\x03org\x00", false);
        cache.put(&q, true, &other);
        assert!(cache.get(&q, true).is_none());
    }
}
