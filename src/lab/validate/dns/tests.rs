//! Every DNS validation error, with the position it is reported at and a hint.

use crate::lab::diagnostic::{Diagnostic, Severity};
use crate::lab::load::check_text;

/// A small lab whose server0 runs DNS with `dns` (indented under `dns:`).
fn lab(dns: &str) -> String {
    format!(
        "name: dnslab
nodes:
  sw0: {{kind: switch}}
  server0:
    kind: server
    interfaces: {{eth0: 192.168.1.2/24}}
    services:
      dns:
{dns}
  pc0:
    kind: host
    interfaces: {{eth0: dhcp}}
links:
  - [server0, sw0]
  - [pc0, sw0]
"
    )
}

fn diagnostics(dns: &str) -> (Vec<Diagnostic>, bool) {
    let checked = check_text("lab.yaml", lab(dns));
    (checked.diagnostics, checked.valid.is_some())
}

/// The one error containing `needle`: its line, column and hint.
fn error(dns: &str, needle: &str) -> (usize, usize, String) {
    let (found, valid) = diagnostics(dns);
    assert!(!valid, "a lab with errors must not be valid");
    let d = found
        .iter()
        .find(|d| d.severity == Severity::Error && d.message.contains(needle))
        .unwrap_or_else(|| panic!("no error containing {needle:?} in {found:#?}"));
    let pos = d.pos.expect("errors have a position");
    (pos.line, pos.col, d.hint.clone().unwrap_or_default())
}

#[test]
fn a_correct_zone_is_valid() {
    let (found, valid) = diagnostics(
        "        zones:
          cbrc.com:
            '@': {MX: 10 mail.cbrc.com., A: server0, TXT: 'v=spf1 mx -all'}
            mail: {A: server0}
            www: {CNAME: web.cbrc.com.}
            web: {A: [192.168.1.20, 192.168.1.21]}
          1.168.192.in-addr.arpa: reverse",
    );
    assert!(valid, "{found:#?}");
    // Only the base lab's own warning (pc0 has no DHCP server here).
    assert!(
        found.iter().all(|d| d.message.contains("DHCP")),
        "{found:#?}"
    );
}

#[test]
fn bad_zone_and_record_names() {
    let (line, col, hint) = error(
        "        zones:\n          cbrc..com: {}",
        "not a valid zone name",
    );
    assert_eq!((line, col), (10, 11));
    assert!(hint.contains("cbrc.com"), "{hint}");
    let (line, col, _) = error(
        "        zones:\n          cbrc.com:\n            'ma il': {A: 192.168.1.2}",
        "not a valid record name",
    );
    assert_eq!((line, col), (11, 13));
}

#[test]
fn records_outside_the_zone() {
    let (line, _, hint) = error(
        "        zones:\n          cbrc.com:\n            mail.other.org.: {A: 192.168.1.2}",
        "outside zone cbrc.com.",
    );
    assert_eq!(line, 11);
    assert!(hint.contains("relative"), "{hint}");
}

#[test]
fn cname_beside_other_data() {
    let (line, col, hint) = error(
        "        zones:\n          cbrc.com:\n            www: {A: 192.168.1.2, CNAME: web.cbrc.com.}",
        "CNAME beside other data",
    );
    assert_eq!((line, col), (11, 42));
    assert!(hint.contains("only record"), "{hint}");
    error(
        "        zones:\n          cbrc.com:\n            '@': {CNAME: web.cbrc.com.}",
        "cannot be a CNAME",
    );
}

#[test]
fn mx_must_name_a_host() {
    let (line, col, hint) = error(
        "        zones:\n          cbrc.com:\n            '@': {MX: 10 192.168.1.2}",
        "MX points to an address",
    );
    assert_eq!((line, col), (11, 23));
    assert!(hint.contains("A record"), "{hint}");
    error(
        "        zones:\n          cbrc.com:\n            '@': {MX: 192.168.1.2}",
        "MX points to an address",
    );
    error(
        "        zones:\n          cbrc.com:\n            '@': {MX: ten mail.cbrc.com.}",
        "MX preference",
    );
}

#[test]
fn node_references_must_exist_and_have_an_address() {
    let (line, col, hint) = error(
        "        zones:\n          cbrc.com:\n            mail: {A: server9}",
        "there is no node `server9`",
    );
    assert_eq!((line, col), (11, 23));
    assert!(hint.contains("server0"), "{hint}");
    let (_, _, hint) = error(
        "        zones:\n          cbrc.com:\n            pc: {A: pc0}",
        "without a reservation",
    );
    assert!(hint.contains("reservations"), "{hint}");
    error(
        "        zones:\n          cbrc.com:\n            pc: {A: 192.168.1.300}",
        "192.168.1.300",
    );
}

#[test]
fn reverse_zones_are_in_addr_arpa() {
    let (line, _, hint) = error(
        "        zones:\n          cbrc.com: reverse",
        "not an IPv4 reverse zone",
    );
    assert_eq!(line, 10);
    assert!(hint.contains("in-addr.arpa"), "{hint}");
    error(
        "        zones:\n          cbrc.com: forward",
        "cannot be `forward`",
    );
}

#[test]
fn resolvers_only_ask_lab_servers() {
    let (line, col, hint) = error(
        "        resolver: {forward: [8.8.8.8]}",
        "not the address of any node in this lab",
    );
    assert_eq!((line, col), (9, 30));
    assert!(hint.contains("sealed"), "{hint}");
    error("        resolver: {forward: [192.168.1.2]}", "own address");
    error("        resolver: {}", "neither `forward` nor `roots`");
    error(
        "        resolver: {forward: [192.168.1.2], roots: [192.168.1.2]}",
        "not both",
    );
}

#[test]
fn unknown_record_types_and_bad_ttls() {
    let (_, _, hint) = error(
        "        zones:\n          cbrc.com:\n            mail: {AA: 192.168.1.2}",
        "unknown key `AA`",
    );
    assert!(hint.contains("did you mean"), "{hint}");
    error("        ttl: -5\n        zones: {}", "out of range");
}

#[test]
fn a_dhcp_client_is_named_by_the_address_the_dhcp_pass_reserved() {
    use crate::lab::zones::RecordValue;
    let yaml = lab("        zones:
          cbrc.com:
            pc: {A: pc0}
          1.168.192.in-addr.arpa: reverse")
    .replace(
        "    services:\n",
        "    services:
      dhcp:
        pools:
          - range: 192.168.1.100-192.168.1.150
            reservations: [{node: pc0, address: 192.168.1.50}]
",
    );
    let checked = check_text("lab.yaml", yaml);
    assert!(checked.diagnostics.is_empty(), "{:#?}", checked.diagnostics);
    let (_, topo) = checked.valid.expect("valid");
    let server = topo.nodes[topo.node_index("server0").unwrap()]
        .dns_server
        .as_ref()
        .expect("server0 runs DNS");
    let records: Vec<(&str, &RecordValue)> = server
        .zones
        .iter()
        .flat_map(|z| &z.records)
        .map(|r| (r.name.as_str(), &r.data))
        .collect();
    let reserved = "192.168.1.50".parse().unwrap();
    assert!(
        records.contains(&("pc.cbrc.com.", &RecordValue::A(reserved))),
        "{records:#?}"
    );
    assert!(
        records.contains(&(
            "50.1.168.192.in-addr.arpa.",
            &RecordValue::Ptr("pc.cbrc.com.".into())
        )),
        "{records:#?}"
    );
}
