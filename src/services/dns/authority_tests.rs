//! Zones built from a lab file, answered without any network.

use super::*;
use crate::lab::load::check_text;
use crate::lab::plan::plan;
use hickory_proto::rr::rdata::A;
use std::net::Ipv4Addr;

const LAB: &str = "
name: zones
nodes:
  sw: {kind: switch}
  server0:
    kind: server
    interfaces: {eth0: 192.168.1.2/24}
    services:
      dhcp:
        pools:
          - range: 192.168.1.100-192.168.1.199
            reservations: [{node: pc-fixed, address: 192.168.1.50}]
      dns:
        ttl: 600
        zones:
          cbrc.com:
            '@': {MX: 10 mail.cbrc.com., A: server0, TXT: 'v=spf1 mx -all', NS: ns.cbrc.com.}
            ns: {A: server0}
            mail: {A: server0}
            www: {CNAME: web.cbrc.com.}
            web: {A: [192.168.1.20, 192.168.1.21]}
            fixed: {A: pc-fixed}
            alias-out: {CNAME: www.mastertech.com.}
            a.b.deep: {A: 192.168.1.30}
            '*.wild': {A: 192.168.1.40}
            sub: {NS: ns.sub.cbrc.com.}
            ns.sub: {A: 192.168.1.60}
          1.168.192.in-addr.arpa: reverse
  pc-fixed: {kind: host, interfaces: {eth0: dhcp}}
links: [[server0, sw], [pc-fixed, sw]]
";

fn authority() -> Authority {
    let checked = check_text("lab.yaml", LAB.to_string());
    let (_, topology) = checked.valid.unwrap_or_else(|| {
        panic!(
            "invalid: {:?}",
            checked
                .diagnostics
                .iter()
                .map(|d| d.message.clone())
                .collect::<Vec<_>>()
        )
    });
    let plan = plan(&topology);
    let dns = plan.node("server0").unwrap().dns_server.clone().unwrap();
    Authority::new(&dns.zones).unwrap()
}

fn ask(authority: &Authority, name: &str, rtype: RecordType) -> Answer {
    let name = LowerName::from(Name::from_ascii(name).unwrap());
    authority.answer(&name, rtype).expect("in a zone served")
}

fn a_of(records: &[Record]) -> Vec<Ipv4Addr> {
    records
        .iter()
        .filter_map(|r| match r.data {
            RData::A(A(ip)) => Some(ip),
            _ => None,
        })
        .collect()
}

#[test]
fn node_references_become_addresses_including_dhcp_reservations() {
    let zones = authority();
    let mail = ask(&zones, "mail.cbrc.com.", RecordType::A);
    assert!(mail.authoritative);
    assert_eq!(a_of(&mail.answers), [Ipv4Addr::new(192, 168, 1, 2)]);
    assert_eq!(mail.answers[0].ttl, 600);
    let fixed = ask(&zones, "FIXED.cbrc.com.", RecordType::A);
    assert_eq!(a_of(&fixed.answers), [Ipv4Addr::new(192, 168, 1, 50)]);
    let web = ask(&zones, "web.cbrc.com.", RecordType::A);
    assert_eq!(a_of(&web.answers).len(), 2);
}

#[test]
fn mx_answers_carry_the_exchange_address() {
    let mx = ask(&authority(), "cbrc.com.", RecordType::MX);
    assert_eq!(mx.rcode, ResponseCode::NoError);
    assert!(
        matches!(&mx.answers[0].data, RData::MX(m) if m.exchange.to_ascii() == "mail.cbrc.com." && m.preference == 10)
    );
    assert_eq!(a_of(&mx.additionals), [Ipv4Addr::new(192, 168, 1, 2)]);
}

#[test]
fn nxdomain_nodata_and_empty_non_terminals() {
    let zones = authority();
    let missing = ask(&zones, "nope.cbrc.com.", RecordType::A);
    assert_eq!(missing.rcode, ResponseCode::NXDomain);
    assert!(missing.answers.is_empty());
    assert_eq!(missing.authorities[0].record_type(), RecordType::SOA);
    let nodata = ask(&zones, "mail.cbrc.com.", RecordType::AAAA);
    assert_eq!(nodata.rcode, ResponseCode::NoError);
    assert!(nodata.answers.is_empty());
    assert_eq!(nodata.authorities[0].record_type(), RecordType::SOA);
    let empty_non_terminal = ask(&zones, "b.deep.cbrc.com.", RecordType::A);
    assert_eq!(empty_non_terminal.rcode, ResponseCode::NoError);
    let soa = ask(&zones, "cbrc.com.", RecordType::SOA);
    assert_eq!(soa.answers.len(), 1);
    assert!(matches!(&soa.answers[0].data, RData::SOA(s) if s.mname.to_ascii() == "ns.cbrc.com."));
}

#[test]
fn cnames_are_followed_inside_the_zone_only() {
    let zones = authority();
    let www = ask(&zones, "www.cbrc.com.", RecordType::A);
    assert_eq!(www.answers[0].record_type(), RecordType::CNAME);
    assert_eq!(a_of(&www.answers).len(), 2);
    let out = ask(&zones, "alias-out.cbrc.com.", RecordType::A);
    assert_eq!(out.answers.len(), 1);
    assert_eq!(out.rcode, ResponseCode::NoError);
    let cname = ask(&zones, "www.cbrc.com.", RecordType::CNAME);
    assert_eq!(cname.answers.len(), 1);
}

#[test]
fn delegations_are_referrals_with_glue_and_no_aa() {
    let referral = ask(&authority(), "host.sub.cbrc.com.", RecordType::A);
    assert!(!referral.authoritative);
    assert_eq!(referral.rcode, ResponseCode::NoError);
    assert!(referral.answers.is_empty());
    assert_eq!(referral.authorities[0].record_type(), RecordType::NS);
    assert_eq!(
        a_of(&referral.additionals),
        [Ipv4Addr::new(192, 168, 1, 60)]
    );
}

#[test]
fn wildcards_answer_under_their_owner_name() {
    let wild = ask(&authority(), "anything.wild.cbrc.com.", RecordType::A);
    assert_eq!(a_of(&wild.answers), [Ipv4Addr::new(192, 168, 1, 40)]);
    assert_eq!(wild.answers[0].name.to_ascii(), "anything.wild.cbrc.com.");
}

#[test]
fn reverse_zone_is_generated_from_the_forward_records() {
    let zones = authority();
    let ptr = ask(&zones, "2.1.168.192.in-addr.arpa.", RecordType::PTR);
    let targets: Vec<String> = ptr
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::PTR(p) => Some(p.0.to_ascii()),
            _ => None,
        })
        .collect();
    assert!(
        targets.contains(&"mail.cbrc.com.".to_string()),
        "{targets:?}"
    );
    assert!(targets.contains(&"cbrc.com.".to_string()), "{targets:?}");
    let unknown = ask(&zones, "99.1.168.192.in-addr.arpa.", RecordType::PTR);
    assert_eq!(unknown.rcode, ResponseCode::NXDomain);
}

#[test]
fn names_outside_every_zone_are_not_answered() {
    let name = LowerName::from(Name::from_ascii("www.mastertech.com.").unwrap());
    assert!(authority().answer(&name, RecordType::A).is_none());
}

/// `sub.cbrc.com` is delegated: a DS question at the cut is the parent's to
/// answer (RFC 4035 §3.1.4.1), authoritatively, NODATA with the parent's SOA
/// when the parent holds no DS; names below the cut are still referrals.
#[test]
fn ds_at_a_delegation_is_answered_by_the_parent() {
    let zones = authority();
    let ds = ask(&zones, "sub.cbrc.com.", RecordType::DS);
    assert!(
        ds.authoritative,
        "a referral instead of the parent's answer"
    );
    assert_eq!(ds.rcode, ResponseCode::NoError);
    assert!(ds.answers.is_empty());
    assert_eq!(ds.authorities.len(), 1, "{:?}", ds.authorities);
    assert!(
        matches!(&ds.authorities[0].data, RData::SOA(_))
            && ds.authorities[0].name.to_ascii() == "cbrc.com.",
        "{:?}",
        ds.authorities
    );
    assert!(ds.additionals.is_empty());
    let below = ask(&zones, "host.sub.cbrc.com.", RecordType::DS);
    assert!(!below.authoritative);
    assert_eq!(below.authorities[0].record_type(), RecordType::NS);
    let ns = ask(&zones, "sub.cbrc.com.", RecordType::NS);
    assert!(
        !ns.authoritative,
        "NS at the cut is the child's: a referral"
    );
    assert!(ns.answers.is_empty());
}

/// A DS record the parent zone holds at the cut is answered with AA.
#[test]
fn ds_held_at_the_cut_is_answered_authoritatively() {
    let mut zones = authority();
    let cut = LowerName::from(Name::from_ascii("sub.cbrc.com.").unwrap());
    let ds = Record::from_rdata(
        Name::from(&cut),
        600,
        RData::Unknown {
            code: RecordType::DS,
            rdata: hickory_proto::rr::rdata::NULL::with(vec![0x30, 0x39, 8, 2, 0xab, 0xcd]),
        },
    );
    let parent = zones
        .zones
        .iter_mut()
        .find(|z| z.origin.to_string() == "cbrc.com.")
        .unwrap();
    parent.records.get_mut(&cut).unwrap().push(ds.clone());
    let answer = ask(&zones, "sub.cbrc.com.", RecordType::DS);
    assert!(answer.authoritative);
    assert_eq!(answer.rcode, ResponseCode::NoError);
    assert_eq!(answer.answers, [ds]);
    assert!(answer.authorities.is_empty());
}

/// With parent and child both served here, DS at the child's apex comes
/// from the parent; every other type from the child.
#[test]
fn ds_at_a_child_apex_served_here_comes_from_the_parent() {
    use crate::lab::zones::{RecordValue, Zone, ZoneRecord};
    let record = |name: &str, data| ZoneRecord {
        name: name.to_string(),
        data,
    };
    let parent = Zone::new(
        "cbrc.com.".into(),
        300,
        false,
        vec![
            record("sub.cbrc.com.", RecordValue::Ns("ns.sub.cbrc.com.".into())),
            record(
                "ns.sub.cbrc.com.",
                RecordValue::A(Ipv4Addr::new(10, 0, 0, 53)),
            ),
        ],
    );
    let child = Zone::new(
        "sub.cbrc.com.".into(),
        300,
        false,
        vec![record(
            "sub.cbrc.com.",
            RecordValue::Ns("ns.sub.cbrc.com.".into()),
        )],
    );
    let zones = Authority::new(&[parent, child]).unwrap();
    let ds = ask(&zones, "sub.cbrc.com.", RecordType::DS);
    assert!(ds.authoritative);
    assert!(ds.answers.is_empty());
    assert_eq!(ds.authorities[0].name.to_ascii(), "cbrc.com.");
    let soa = ask(&zones, "sub.cbrc.com.", RecordType::SOA);
    assert_eq!(soa.answers[0].name.to_ascii(), "sub.cbrc.com.");
    // Without the parent, the child's apex answers NODATA from the child.
    let alone = Zone::new("sub.cbrc.com.".into(), 300, false, Vec::new());
    let zones = Authority::new(&[alone]).unwrap();
    let ds = ask(&zones, "sub.cbrc.com.", RecordType::DS);
    assert!(ds.authoritative && ds.answers.is_empty());
    assert_eq!(ds.authorities[0].name.to_ascii(), "sub.cbrc.com.");
}
