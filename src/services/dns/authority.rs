//! Authoritative answers from the node's zones (RFC 1034 §4.3.2, RFC 2308):
//! the AA flag on data from a zone, referrals without AA (child NS in the
//! authority section, glue in the additional section), CNAME chains inside
//! the zones served, wildcards, and NXDOMAIN told apart from NODATA (an empty
//! non-terminal exists). DS answers come from the parent side of a cut
//! (RFC 4035 §3.1.4.1): authoritative, the DS records or NODATA with the
//! parent's SOA, never a referral. Pure: a question in, a message out.

use std::collections::{HashMap, HashSet};

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{LowerName, Name, RData, Record, RecordType};

use super::zone::{BadName, name, rdata, soa};
use crate::lab::zones::Zone;

/// Longest CNAME chain followed inside our zones (loops stop here too).
const MAX_CHAIN: usize = 8;

/// The sections of an authoritative answer.
#[derive(Debug, Default)]
pub struct Answer {
    pub rcode: ResponseCode,
    pub authoritative: bool,
    pub answers: Vec<Record>,
    pub authorities: Vec<Record>,
    pub additionals: Vec<Record>,
}

struct IndexedZone {
    origin: LowerName,
    soa: Record,
    /// Negative-caching TTL (RFC 2308 §5): the SOA's TTL and minimum.
    negative_ttl: u32,
    records: HashMap<LowerName, Vec<Record>>,
    /// NS records of names below the origin: delegations to child zones.
    cuts: HashMap<LowerName, Vec<Record>>,
    /// Every owner name and each of its ancestors inside the zone, so an
    /// empty non-terminal answers NODATA rather than NXDOMAIN.
    existing: HashSet<LowerName>,
}

pub struct Authority {
    zones: Vec<IndexedZone>,
}

impl Authority {
    pub fn new(zones: &[Zone]) -> Result<Authority, BadName> {
        let mut indexed = Vec::new();
        for zone in zones {
            let origin = LowerName::from(name(&zone.origin)?);
            let soa_record =
                Record::from_rdata(Name::from(&origin), zone.ttl, RData::SOA(soa(zone)?));
            let mut records: HashMap<LowerName, Vec<Record>> = HashMap::new();
            records.insert(origin.clone(), vec![soa_record.clone()]);
            let mut cuts: HashMap<LowerName, Vec<Record>> = HashMap::new();
            let mut existing = HashSet::from([origin.clone()]);
            for record in &zone.records {
                let owner = LowerName::from(name(&record.name)?);
                let mut ancestor = owner.clone();
                while ancestor != origin && !ancestor.is_root() && existing.insert(ancestor.clone())
                {
                    ancestor = ancestor.base_name();
                }
                let built = Record::from_rdata(Name::from(&owner), zone.ttl, rdata(&record.data)?);
                if owner != origin && built.record_type() == RecordType::NS {
                    cuts.entry(owner.clone()).or_default().push(built.clone());
                }
                records.entry(owner).or_default().push(built);
            }
            indexed.push(IndexedZone {
                origin,
                negative_ttl: zone.ttl,
                soa: soa_record,
                records,
                cuts,
                existing,
            });
        }
        // The deepest zone first, so a child zone served here wins over its parent.
        indexed.sort_by_key(|z| std::cmp::Reverse(z.origin.num_labels()));
        Ok(Authority { zones: indexed })
    }

    /// The deepest zone here holding `qname`; for DS at a child's apex the
    /// parent zone when it is served here too, since DS belongs to the parent.
    fn zone_of(&self, qname: &LowerName, qtype: RecordType) -> Option<&IndexedZone> {
        let mut holding = self.zones.iter().filter(|z| z.origin.zone_of(qname));
        let deepest = holding.next()?;
        if qtype == RecordType::DS && deepest.origin == *qname {
            return holding.next().or(Some(deepest));
        }
        Some(deepest)
    }

    /// The answer to one question, or None when no zone here holds it.
    pub fn answer(&self, qname: &LowerName, qtype: RecordType) -> Option<Answer> {
        let first = self.zone_of(qname, qtype)?;
        let mut answer = Answer {
            authoritative: true,
            ..Answer::default()
        };
        let mut current = qname.clone();
        let mut zone = first;
        for _ in 0..MAX_CHAIN {
            if let Some(cut) = zone.delegation(&current, qtype) {
                if answer.answers.is_empty() {
                    answer.authoritative = false;
                }
                answer.authorities.extend(cut.iter().cloned());
                answer.additionals.extend(self.addresses_for(cut));
                return Some(answer);
            }
            let found = zone.lookup(&current);
            let Some(records) = found else {
                if answer.answers.is_empty() {
                    answer.rcode = if zone.existing.contains(&current) {
                        ResponseCode::NoError
                    } else {
                        ResponseCode::NXDomain
                    };
                }
                answer.authorities.push(zone.negative_soa());
                return Some(answer);
            };
            let synthesised = |r: &Record| {
                let mut r = r.clone();
                r.name = Name::from(&current);
                r
            };
            let matching: Vec<Record> = records
                .iter()
                .filter(|r| qtype == RecordType::ANY || r.record_type() == qtype)
                .map(synthesised)
                .collect();
            if !matching.is_empty() {
                answer.additionals.extend(self.addresses_for(&matching));
                answer.answers.extend(matching);
                return Some(answer);
            }
            let cname = records.iter().find_map(|r| match &r.data {
                RData::CNAME(target) => Some((synthesised(r), LowerName::from(&target.0))),
                _ => None,
            });
            let Some((cname, target)) = cname else {
                answer.authorities.push(zone.negative_soa());
                return Some(answer);
            };
            answer.answers.push(cname);
            match self.zone_of(&target, qtype) {
                Some(next) => {
                    zone = next;
                    current = target;
                }
                // Outside our zones: the resolver follows it.
                None => return Some(answer),
            }
        }
        Some(answer)
    }

    /// A and AAAA records held here for the hosts that NS, MX and SRV
    /// records name (the additional section).
    fn addresses_for(&self, records: &[Record]) -> Vec<Record> {
        let mut out = Vec::new();
        for record in records {
            let host = match &record.data {
                RData::NS(ns) => &ns.0,
                RData::MX(mx) => &mx.exchange,
                RData::SRV(srv) => &srv.target,
                _ => continue,
            };
            let host = LowerName::from(host);
            for zone in self.zones.iter().filter(|z| z.origin.zone_of(&host)) {
                if let Some(found) = zone.records.get(&host) {
                    out.extend(
                        found
                            .iter()
                            .filter(|r| matches!(r.record_type(), RecordType::A | RecordType::AAAA))
                            .cloned(),
                    );
                }
            }
        }
        out
    }
}

impl IndexedZone {
    /// The NS records of the zone cut between the origin (excluded) and
    /// `qname` (included) that is closest to the origin. A DS question at
    /// the cut itself is the parent's to answer, so it is no referral.
    fn delegation(&self, qname: &LowerName, qtype: RecordType) -> Option<&[Record]> {
        if self.cuts.is_empty() {
            return None;
        }
        let depth = self.origin.num_labels();
        let mut ancestors = Vec::new();
        let mut name = qname.clone();
        while name.num_labels() > depth {
            ancestors.push(name.clone());
            name = name.base_name();
        }
        let (cut, records) = ancestors
            .iter()
            .rev()
            .find_map(|name| self.cuts.get(name).map(|records| (name, records)))?;
        if qtype == RecordType::DS && cut == qname {
            return None;
        }
        Some(records)
    }

    /// The records of `qname`, or those of the wildcard that covers it;
    /// None when the name does not exist or is an empty non-terminal.
    fn lookup(&self, qname: &LowerName) -> Option<&[Record]> {
        if let Some(records) = self.records.get(qname) {
            return Some(records);
        }
        if self.existing.contains(qname) {
            return None;
        }
        // The closest encloser: the longest existing ancestor.
        let mut encloser = qname.base_name();
        while !self.existing.contains(&encloser) && encloser.num_labels() > self.origin.num_labels()
        {
            encloser = encloser.base_name();
        }
        let wildcard = LowerName::from(Name::from(&encloser).prepend_label("*").ok()?);
        self.records.get(&wildcard).map(Vec::as_slice)
    }

    fn negative_soa(&self) -> Record {
        let mut soa = self.soa.clone();
        soa.ttl = self.negative_ttl;
        soa
    }
}

/// Puts an answer into a reply to `request`.
pub fn fill(reply: &mut Message, answer: Answer) {
    reply.metadata.response_code = answer.rcode;
    reply.metadata.authoritative = answer.authoritative;
    reply.answers = answer.answers;
    reply.authorities = answer.authorities;
    reply.additionals = answer.additionals;
}

#[cfg(test)]
#[path = "authority_tests.rs"]
mod tests;
