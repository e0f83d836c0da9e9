//! Planned zone data as hickory-proto records: record data converted, and
//! the SOA labctl generates (primary server, contact, serial from the plan,
//! negative-caching TTL).

use hickory_server::proto::ProtoError;
use hickory_server::proto::rr::rdata::{A, AAAA, CNAME, MX, NS, PTR, SOA, SRV, TXT};
use hickory_server::proto::rr::{Name, RData};

use crate::lab::zones::{RecordValue, Zone};

/// SOA timers (seconds): refresh, retry, expire. Nothing transfers zones
/// in a lab, but tools print them, so they are the usual values.
const REFRESH: i32 = 3600;
const RETRY: i32 = 600;
const EXPIRE: i32 = 604_800;
/// A TXT character-string holds at most 255 bytes (RFC 1035 §3.3).
const TXT_CHUNK: usize = 255;

/// A name in the plan that is not a DNS name (validation should have
/// caught it).
#[derive(Debug, thiserror::Error)]
#[error("bad name in plan: {name}")]
pub struct BadName {
    name: String,
    source: ProtoError,
}

/// The SOA: the first name server at the apex is the primary (else
/// `ns.ORIGIN`), the contact `hostmaster.ORIGIN`, the minimum the zone TTL.
pub(super) fn soa(zone: &Zone) -> Result<SOA, BadName> {
    let primary = zone
        .records
        .iter()
        .find_map(|r| match &r.data {
            RecordValue::Ns(server) if r.name == zone.origin => Some(server.clone()),
            _ => None,
        })
        .unwrap_or_else(|| in_origin("ns", &zone.origin));
    Ok(SOA::new(
        name(&primary)?,
        name(&in_origin("hostmaster", &zone.origin))?,
        zone.serial,
        REFRESH,
        RETRY,
        EXPIRE,
        zone.ttl,
    ))
}

fn in_origin(label: &str, origin: &str) -> String {
    if origin == "." {
        format!("{label}.")
    } else {
        format!("{label}.{origin}")
    }
}

pub(super) fn rdata(value: &RecordValue) -> Result<RData, BadName> {
    Ok(match value {
        RecordValue::A(ip) => RData::A(A(*ip)),
        RecordValue::Aaaa(ip) => RData::AAAA(AAAA(*ip)),
        RecordValue::Cname(target) => RData::CNAME(CNAME(name(target)?)),
        RecordValue::Ns(target) => RData::NS(NS(name(target)?)),
        RecordValue::Ptr(target) => RData::PTR(PTR(name(target)?)),
        RecordValue::Mx {
            preference,
            exchange,
        } => RData::MX(MX::new(*preference, name(exchange)?)),
        RecordValue::Srv {
            priority,
            weight,
            port,
            target,
        } => RData::SRV(SRV::new(*priority, *weight, *port, name(target)?)),
        RecordValue::Txt(text) => RData::TXT(TXT::new(txt_chunks(text))),
    })
}

pub(super) fn name(text: &str) -> Result<Name, BadName> {
    Name::from_ascii(text).map_err(|source| BadName {
        name: text.to_string(),
        source,
    })
}

/// Splits a TXT value into character-strings of at most 255 bytes, on
/// character boundaries.
fn txt_chunks(text: &str) -> Vec<String> {
    let mut chunks = vec![String::new()];
    for c in text.chars() {
        let last = chunks.last_mut().expect("never empty");
        if last.len() + c.len_utf8() > TXT_CHUNK {
            chunks.push(String::new());
        }
        chunks.last_mut().expect("never empty").push(c);
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_txt_is_split_into_character_strings() {
        let text = "é".repeat(200); // 400 bytes
        let chunks = txt_chunks(&text);
        assert!(chunks.iter().all(|c| c.len() <= TXT_CHUNK));
        assert_eq!(chunks.concat(), text);
        assert_eq!(txt_chunks(""), vec![String::new()]);
    }
}
