//! Every validation error, with the position it is reported at.

use crate::lab::diagnostic::{Diagnostic, Severity};
use crate::lab::load::{Checked, check_text};

fn check(yaml: &str) -> Checked {
    check_text("lab.yaml", yaml.to_string())
}

fn errors(yaml: &str) -> Vec<Diagnostic> {
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
fn find<'a>(found: &'a [Diagnostic], needle: &str) -> (&'a Diagnostic, usize, usize) {
    let d = found
        .iter()
        .find(|d| d.message.contains(needle))
        .unwrap_or_else(|| panic!("no error containing {needle:?} in {found:#?}"));
    let pos = d.pos.expect("errors have a position");
    (d, pos.line, pos.col)
}

const LAN: &str = "
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
fn bad_addresses_say_what_is_wrong() {
    let found = errors(&LAN.replace("192.168.1.10/24", "192.168.1.10"));
    let (d, line, col) = find(&found, "has no prefix length");
    assert_eq!((line, col), (10, 24));
    assert!(d.hint.as_deref().unwrap().contains("192.168.1.10/24"));

    let found = errors(&LAN.replace("192.168.1.10/24", "192.168.1.0/24"));
    find(&found, "is the network address of 192.168.1.0/24");

    let found = errors(&LAN.replace("192.168.1.10/24", "192.168.1.10/255.255.255.0"));
    let (d, _, _) = find(&found, "is not a prefix length");
    assert!(d.hint.as_deref().unwrap().contains("/24"));
}

#[test]
fn duplicate_node_names_are_reported_at_the_second() {
    let yaml = LAN.replace("  r1:\n", "  pc0: {kind: host}\n  r1:\n");
    let found = errors(&yaml);
    let (_, line, col) = find(&found, "`pc0` appears twice");
    assert_eq!((line, col), (9, 3));
}

#[test]
fn duplicate_addresses_name_both_owners() {
    let found = errors(&LAN.replace("192.168.1.10/24", "192.168.1.1/24"));
    let (d, line, _) = find(&found, "192.168.1.1 is used twice");
    assert!(
        d.message.contains("r1/eth0") && d.message.contains("pc0/eth0"),
        "{d:?}"
    );
    assert_eq!(line, 10);
}

#[test]
fn links_to_missing_nodes_and_interfaces() {
    let found = errors(&format!("{LAN}  - [pc1, sw0]\n"));
    let (d, line, col) = find(&found, "link to `pc1`, but there is no such node");
    assert_eq!((line, col), (15, 6));
    assert_eq!(d.hint.as_deref(), Some("did you mean `pc0`?"));

    let found = errors(&LAN.replace("[r1, sw0]", "[r1:eth1, sw0]"));
    let (d, line, _) = find(&found, "r1 has no interface `eth1`");
    assert_eq!(line, 13);
    assert_eq!(d.hint.as_deref(), Some("did you mean `r1:eth0`?"));
}

#[test]
fn an_interface_takes_one_cable() {
    let yaml = format!("{LAN}  - [r1:eth0, pc0]\n").replace("[r1, sw0]", "[r1:eth0, sw0]");
    let found = errors(&yaml);
    find(
        &found,
        "r1:eth0 is already plugged in by the link on line 13",
    );
}

#[test]
fn addresses_must_share_the_subnet_of_their_segment() {
    let found = errors(&LAN.replace("192.168.1.10/24", "192.168.2.10/24"));
    let (d, line, col) = find(
        &found,
        "192.168.2.10/24 on pc0/eth0 is outside 192.168.1.0/24",
    );
    assert_eq!((line, col), (10, 24));
    assert!(d.hint.as_deref().unwrap().contains("sw0"));
}

#[test]
fn gateways_must_be_on_the_hosts_subnet() {
    let found = errors(&LAN.replace("gateway: 192.168.1.1", "gateway: 10.0.0.1"));
    let (d, line, col) = find(&found, "10.0.0.1 is not on any subnet of pc0");
    assert_eq!((line, col), (11, 14));
    assert!(d.hint.as_deref().unwrap().contains("192.168.1.0/24"));
}

#[test]
fn two_default_gateways_are_refused() {
    let yaml = LAN.replace(
        "interfaces: {eth0: 192.168.1.10/24}",
        "interfaces: {eth0: {address: 192.168.1.10/24, gateway: 192.168.1.1}}",
    );
    let found = errors(&yaml);
    let (d, line, _) = find(&found, "pc0 has two default gateways");
    assert!(d.message.contains("(line 10)"), "{d:?}");
    assert_eq!(line, 11);
}

#[test]
fn names_must_fit_namespaces_and_interfaces() {
    let found = errors(&LAN.replace("name: lan", "name: my_lab"));
    let (_, line, col) = find(&found, "`my_lab` cannot be a lab name");
    assert_eq!((line, col), (2, 7));

    let long = "a-very-long-node-name-that-is-too-long-x";
    let found = errors(&LAN.replace("pc0", long));
    find(&found, &format!("`{long}` cannot be a node name"));

    let yaml = LAN
        .replace(
            "{eth0: 192.168.1.10/24}",
            "{ethernet-port-zero: 192.168.1.10/24}",
        )
        .replace("[pc0, sw0]", "[pc0:ethernet-port-zero, sw0]");
    let found = errors(&yaml);
    let (d, _, _) = find(&found, "`ethernet-port-zero` cannot be an interface name");
    assert!(
        d.message.contains("18 bytes long and Linux allows 15"),
        "{d:?}"
    );
}

#[test]
fn switch_loops_are_found() {
    let yaml = "
name: loop
nodes:
  sw0: {kind: switch}
  sw1: {kind: switch}
  sw2: {kind: switch}
links:
  - [sw0, sw1]
  - [sw1, sw2]
  - [sw2, sw0]
";
    let found = errors(yaml);
    let (_, line, col) = find(&found, "switch loop");
    assert_eq!((line, col), (10, 5));
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
fn routes_need_a_network_and_a_reachable_next_hop() {
    let yaml = LAN.replace(
        "    interfaces: {eth0: 192.168.1.1/24}\n",
        "    interfaces: {eth0: 192.168.1.1/24}\n    routes:\n      - {to: 10.1.2.3/16, via: 192.168.1.254}\n      - {to: 10.2.0.0/16, via: 172.16.0.1}\n",
    );
    let found = errors(&yaml);
    let (d, _, _) = find(&found, "10.1.2.3/16 is an address, not a network");
    assert!(d.hint.as_deref().unwrap().contains("10.1.0.0/16"));
    find(&found, "172.16.0.1 is not on any subnet of r1");
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
fn checks_are_not_silently_accepted() {
    let found = errors(&format!("{LAN}checks:\n  - {{}}\n"));
    find(&found, "checks are not available");
}
