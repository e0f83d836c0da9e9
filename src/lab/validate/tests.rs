//! Validation as a whole: the helpers and labs the passes' tests share, and
//! what no single pass owns (the file's shape, the order of a whole run,
//! the last pass's warnings).

use crate::lab::diagnostic::{Diagnostic, Severity};
use crate::lab::load::{Checked, check_text};

pub(super) fn check(yaml: &str) -> Checked {
    check_text("lab.yaml", yaml.to_string())
}

pub(super) fn errors(yaml: &str) -> Vec<Diagnostic> {
    let checked = check(yaml);
    let errors: Vec<Diagnostic> = checked
        .diagnostics
        .into_iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    assert!(!errors.is_empty(), "expected errors for:\n{yaml}");
    assert!(
        checked.valid.is_none(),
        "a lab with errors must not be valid"
    );
    errors
}

/// The one error whose message contains `needle`, with its line and column.
pub(super) fn find<'a>(found: &'a [Diagnostic], needle: &str) -> (&'a Diagnostic, usize, usize) {
    let d = found
        .iter()
        .find(|d| d.message.contains(needle))
        .unwrap_or_else(|| panic!("no error containing {needle:?} in {found:#?}"));
    let pos = d.pos.expect("errors have a position");
    (d, pos.line, pos.col)
}

pub(super) const LAN: &str = "
name: lan
nodes:
  sw0: {kind: switch}
  r1:
    kind: router
    interfaces: {eth0: 192.168.1.1/24}
  pc0:
    kind: host
    interfaces: {eth0: 192.168.1.10/24}
    gateway: 192.168.1.1
links:
  - [r1, sw0]
  - [pc0, sw0]
";

pub(super) const DHCP: &str = "
name: dhcp
nodes:
  r1:
    kind: router
    routing: auto
    interfaces:
      eth0: 192.168.1.1/24
      eth1: {address: 192.168.10.1/24, dhcp_relay: 192.168.1.2}
  server0:
    kind: server
    interfaces: {eth0: 192.168.1.2/24}
    gateway: 192.168.1.1
    services:
      dhcp:
        pools:
          - range: 192.168.1.100-192.168.1.150
            gateway: 192.168.1.1
            reservations:
              - {node: pc0, address: 192.168.1.50}
          - range: 192.168.10.100-192.168.10.150
            gateway: 192.168.10.1
            lease: 30m
  sw0: {kind: switch}
  sw1: {kind: switch}
  pc0: {kind: host, interfaces: {eth0: dhcp}}
  pc1: {kind: host, interfaces: {eth0: dhcp}}
links:
  - [r1:eth0, sw0]
  - [r1:eth1, sw1]
  - [server0, sw0]
  - [pc0, sw0]
  - [pc1, sw1]
";

#[test]
fn a_correct_lab_is_valid_without_warnings() {
    let checked = check(LAN);
    assert!(checked.diagnostics.is_empty(), "{:#?}", checked.diagnostics);
    let (_, topo) = checked.valid.expect("valid");
    assert_eq!(topo.nodes.len(), 3);
    assert_eq!(topo.segments.len(), 1);
    assert_eq!(
        topo.segments[0].subnet.unwrap().to_string(),
        "192.168.1.0/24"
    );
}

#[test]
fn unknown_keys_suggest_the_intended_one() {
    let found = errors(&LAN.replace("    gateway:", "    gatway:"));
    let (d, line, col) = find(&found, "unknown key `gatway`");
    assert_eq!((line, col), (11, 5));
    assert_eq!(d.hint.as_deref(), Some("did you mean `gateway`?"));
}

#[test]
fn a_typo_in_a_key_does_not_hide_other_errors() {
    let yaml = LAN
        .replace("    gateway:", "    gatway:")
        .replace("192.168.1.10/24", "192.168.1.300/24");
    let found = errors(&yaml);
    find(&found, "unknown key `gatway`");
    find(&found, "`300` is not a number from 0 to 255");
}

#[test]
fn bad_kind_lists_the_kinds() {
    let found = errors(&LAN.replace("{kind: switch}", "{kind: swich}"));
    let (d, line, col) = find(&found, "cannot be `swich`");
    assert_eq!((line, col), (4, 15));
    assert_eq!(d.hint.as_deref(), Some("did you mean `switch`?"));
}

#[test]
fn duplicate_node_names_are_reported_at_the_second() {
    let yaml = LAN.replace("  r1:\n", "  pc0: {kind: host}\n  r1:\n");
    let found = errors(&yaml);
    let (_, line, col) = find(&found, "`pc0` appears twice");
    assert_eq!((line, col), (9, 3));
}

#[test]
fn every_error_is_reported_in_one_run() {
    let yaml = "
name: many
nodes:
  sw0: {kind: switch}
  pc0:
    kind: host
    interfaces: {eth0: 10.0.0.300/24}
  pc1:
    kind: host
    interfaces: {eth0: 10.0.1.5/24}
    gateway: 10.9.9.9
links:
  - [pc0, sw0]
  - [pc1, sw0]
  - [pc2, sw0]
";
    let found = errors(yaml);
    find(&found, "is not an IPv4 address");
    find(&found, "10.9.9.9 is not on any subnet of pc1");
    find(&found, "link to `pc2`");
    assert!(found.len() >= 3);
}

#[test]
fn syntax_errors_have_a_location() {
    let found = errors("name: x\nnodes:\n  pc0: {kind: host\n");
    assert!(found[0].pos.is_some(), "{found:?}");
}

#[test]
fn warnings_do_not_make_a_lab_invalid() {
    let yaml = LAN.replace("    gateway: 192.168.1.1\n", "").replace(
        "links:",
        "  sw1: {kind: switch}\n  r1b:\n    kind: router\n    interfaces: {eth0: 10.0.0.1/24}\nlinks:\n  - [r1b, sw1]",
    );
    let checked = check(&yaml);
    assert!(checked.valid.is_some(), "{:#?}", checked.diagnostics);
    assert!(checked.diagnostics.iter().any(
        |d| d.severity == Severity::Warning && d.message.contains("pc0 has no default gateway")
    ));
}

#[test]
fn two_cables_into_one_network_are_warned_about() {
    let yaml = LAN
        .replace(
            "{eth0: 192.168.1.1/24}",
            "{eth0: 192.168.1.1/24, eth1: 192.168.1.2/24}",
        )
        .replace("  - [r1, sw0]\n", "  - [r1, sw0]\n  - [r1, sw0]\n");
    let checked = check(&yaml);
    assert!(checked.valid.is_some(), "{:#?}", checked.diagnostics);
    assert!(checked.diagnostics.iter().any(|d| {
        d.message
            .contains("r1 has two cables into the same network")
    }));
}

#[test]
fn a_missing_kind_is_reported_at_the_node() {
    let found = errors(&LAN.replace("  sw0: {kind: switch}", "  sw0: {interfaces: {}}"));
    let (_, line, col) = find(&found, "`sw0` is missing `kind`");
    assert_eq!((line, col), (4, 3));
}
