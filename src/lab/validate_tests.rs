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
    let (_, line, _) = find(&found, "pc0's default gateway is written twice");
    assert_eq!(line, 11);
    let yaml = yaml.replace("gateway: 192.168.1.1}", "gateway: 192.168.1.254}");
    let found = errors(&yaml);
    let (d, line, _) = find(&found, "pc0 has two default gateways");
    assert!(
        d.message
            .contains("gateway 192.168.1.254 (line 10) and gateway 192.168.1.1"),
        "{d:?}"
    );
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

const DHCP: &str = "
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
fn a_dhcp_lab_resolves_pools_reservations_and_relays() {
    let checked = check(DHCP);
    assert!(checked.diagnostics.is_empty(), "{:#?}", checked.diagnostics);
    let (_, topo) = checked.valid.unwrap();
    let server = &topo.nodes[topo.node_index("server0").unwrap()];
    let pools = server.dhcp_pools.as_ref().unwrap();
    assert_eq!(pools[0].subnet.to_string(), "192.168.1.0/24");
    assert_eq!(pools[1].subnet.to_string(), "192.168.10.0/24");
    assert_eq!(pools[1].lease_seconds, 1800);
    let pc0 = &topo.nodes[topo.node_index("pc0").unwrap()];
    assert_eq!(
        pools[0].reservations[0].mac, pc0.interfaces[0].mac,
        "reserved by node = that node's MAC"
    );
    let r1 = &topo.nodes[topo.node_index("r1").unwrap()];
    assert_eq!(
        r1.interfaces[1].dhcp_relay.unwrap().to_string(),
        "192.168.1.2"
    );
}

#[test]
fn macs_are_stable_and_distinct() {
    let (_, a) = check(DHCP).valid.unwrap();
    let (_, b) = check(DHCP).valid.unwrap();
    let macs = |t: &crate::lab::topology::Topology| -> Vec<String> {
        t.nodes
            .iter()
            .flat_map(|n| n.interfaces.iter().map(|i| i.mac.to_string()))
            .collect()
    };
    assert_eq!(macs(&a), macs(&b));
    let mut unique = macs(&a);
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), macs(&a).len());
    assert!(macs(&a).iter().all(|m| m.starts_with("02:")));
}

#[test]
fn pools_outside_their_subnet_or_overlapping_are_refused() {
    let found = errors(&DHCP.replace("192.168.1.100-192.168.1.150", "192.168.1.100-192.168.2.10"));
    let (_, line, _) = find(
        &found,
        "pool 192.168.1.100-192.168.2.10 is outside its subnet 192.168.1.0/24",
    );
    assert_eq!(line, 17);

    let found = errors(&DHCP.replace(
        "192.168.10.100-192.168.10.150",
        "192.168.1.140-192.168.1.160",
    ));
    find(
        &found,
        "pool 192.168.1.140-192.168.1.160 of server0 overlaps pool 192.168.1.100-192.168.1.150 of server0",
    );

    let found = errors(&DHCP.replace("192.168.1.100-192.168.1.150", "192.168.1.1-192.168.1.9"));
    find(&found, "includes 192.168.1.1, the address of r1/eth0");

    let found = errors(&DHCP.replace("192.168.1.100-192.168.1.150", "192.168.1.150-192.168.1.100"));
    find(&found, "runs backwards");
}

#[test]
fn pool_gateways_and_relays_must_make_sense() {
    let found = errors(&DHCP.replace("gateway: 192.168.10.1\n", "gateway: 192.168.1.1\n"));
    let (_, line, col) = find(
        &found,
        "gateway 192.168.1.1 is outside the pool's subnet 192.168.10.0/24",
    );
    assert_eq!((line, col), (22, 22));

    let found = errors(&DHCP.replace("dhcp_relay: 192.168.1.2", "dhcp_relay: 192.168.1.99"));
    let (d, line, _) = find(
        &found,
        "relays DHCP to 192.168.1.99, but no node has that address",
    );
    assert_eq!(line, 9);
    assert!(d.hint.is_some());
}

#[test]
fn reservations_must_name_a_dhcp_client() {
    let found = errors(&DHCP.replace(
        "{node: pc0, address: 192.168.1.50}",
        "{node: pc9, address: 192.168.1.50}",
    ));
    find(&found, "there is no node `pc9`");
    let found = errors(&DHCP.replace(
        "{node: pc0, address: 192.168.1.50}",
        "{node: r1, address: 192.168.1.50}",
    ));
    find(&found, "r1 has no interface addressed by `dhcp`");
    let found = errors(&DHCP.replace(
        "{node: pc0, address: 192.168.1.50}",
        "{node: pc0, address: 192.168.2.50}",
    ));
    find(
        &found,
        "reserved address 192.168.2.50 is outside the pool's subnet 192.168.1.0/24",
    );
}

#[test]
fn unserved_dhcp_clients_and_unrelayed_pools_are_warned_about() {
    let yaml = DHCP.replace(
        "{address: 192.168.10.1/24, dhcp_relay: 192.168.1.2}",
        "192.168.10.1/24",
    );
    let checked = check(&yaml);
    assert!(checked.valid.is_some(), "{:#?}", checked.diagnostics);
    let warnings: Vec<&String> = checked.diagnostics.iter().map(|d| &d.message).collect();
    assert!(
        warnings
            .iter()
            .any(|m| m.contains("no relay brings DHCP requests from 192.168.10.0/24 to server0")),
        "{warnings:?}"
    );
    assert!(
        warnings.iter().any(|m| m
            .contains("pc1/eth0 asks for DHCP, but no DHCP server or relay serves its network")),
        "{warnings:?}"
    );
}

#[test]
fn special_addresses_and_words_are_not_interface_addresses() {
    for (address, why) in [
        ("224.0.0.5/24", "a multicast address"),
        ("127.0.0.2/8", "a loopback address"),
        ("0.0.0.1/8", "in 0.0.0.0/8"),
        ("250.1.1.1/8", "a reserved (class E) address"),
    ] {
        let found = errors(&LAN.replace("192.168.1.10/24", address));
        find(&found, why);
    }
    let found = errors(&LAN.replace("192.168.1.10/24", "DHCP"));
    let (d, _, _) = find(&found, "`DHCP` is not an address");
    assert_eq!(d.hint.as_deref(), Some("write `dhcp` in lower case"));
    let checked = check(&LAN.replace("192.168.1.10/24", "static"));
    assert!(
        !checked
            .diagnostics
            .iter()
            .any(|d| d.message.contains("has no address")),
        "a wrong address is not also reported as missing: {:#?}",
        checked.diagnostics
    );
}

#[test]
fn a_gateway_has_no_prefix() {
    let found = errors(&LAN.replace("gateway: 192.168.1.1", "gateway: 192.168.1.1/24"));
    let (d, _, _) = find(&found, "a gateway is an address without a prefix");
    assert_eq!(d.hint.as_deref(), Some("write `192.168.1.1`"));
}

#[test]
fn routes_to_connected_or_repeated_destinations_are_refused() {
    let yaml = LAN.replace(
        "    interfaces: {eth0: 192.168.1.1/24}\n",
        "    interfaces: {eth0: 192.168.1.1/24}\n    routes:\n      - {to: 192.168.1.0/24, via: 192.168.1.10}\n      - {to: 10.2.0.0/16, via: 192.168.1.10}\n      - {to: 10.2.0.0/16, via: 192.168.1.11}\n",
    );
    let found = errors(&yaml);
    find(&found, "r1 is directly on 192.168.1.0/24");
    let (_, line, _) = find(&found, "r1 has two routes to 10.2.0.0/16");
    assert_eq!(line, 11);
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
fn names_say_why_they_are_refused() {
    let found = errors(&LAN.replace("[pc0, sw0]", "[\"pc0:\", sw0]"));
    find(&found, "`pc0:` names no interface after the colon");
    let long = "a-very-long-lab-name-for-the-course-2026";
    let found = errors(&LAN.replace("name: lan", &format!("name: {long}")));
    find(&found, "it is 40 characters long");
}

#[test]
fn a_missing_kind_is_reported_at_the_node() {
    let found = errors(&LAN.replace("  sw0: {kind: switch}", "  sw0: {interfaces: {}}"));
    let (_, line, col) = find(&found, "`sw0` is missing `kind`");
    assert_eq!((line, col), (4, 3));
}

#[test]
fn a_relay_to_a_server_without_a_pool_for_its_network_is_warned_about() {
    // The server has no pool for 192.168.10.0/24, so relayed requests go nowhere.
    let yaml = DHCP.replace(
        "          - range: 192.168.10.100-192.168.10.150\n            gateway: 192.168.10.1\n            lease: 30m\n",
        "",
    );
    let checked = check(&yaml);
    assert!(checked.valid.is_some(), "{:#?}", checked.diagnostics);
    assert!(
        checked.diagnostics.iter().any(|d| d
            .message
            .contains("pc1/eth0 asks for DHCP, but no DHCP server or relay serves its network")),
        "{:#?}",
        checked.diagnostics
    );
}

#[test]
fn duplicate_macs_broadcast_next_hops_and_dhcp_with_static_gateways_are_refused() {
    let yaml = LAN
        .replace(
            "interfaces: {eth0: 192.168.1.10/24}",
            "interfaces: {eth0: {address: 192.168.1.10/24, mac: '02:00:00:00:00:01'}}",
        )
        .replace(
            "interfaces: {eth0: 192.168.1.1/24}",
            "interfaces: {eth0: {address: 192.168.1.1/24, mac: '02:00:00:00:00:01'}}",
        );
    find(&errors(&yaml), "MAC 02:00:00:00:00:01 is used twice");

    let found = errors(&LAN.replace("gateway: 192.168.1.1", "gateway: 192.168.1.255"));
    find(
        &found,
        "192.168.1.255 is the network or broadcast address of 192.168.1.0/24",
    );

    let found = errors(&DHCP.replace(
        "  pc1: {kind: host, interfaces: {eth0: dhcp}}",
        "  pc1: {kind: host, interfaces: {eth0: dhcp}, gateway: 192.168.10.1, dns: [192.168.1.2]}",
    ));
    find(&found, "pc1 gets its default gateway by DHCP");
    find(&found, "pc1 gets its DNS servers by DHCP");

    let yaml = LAN.replace(
        "interfaces: {eth0: 192.168.1.10/24}\n    gateway: 192.168.1.1",
        "interfaces: {eth0: 192.168.1.10/24, eth1: {address: 10.9.0.2/24, gateway: 192.168.1.1}}",
    )
    .replace("  - [pc0, sw0]\n", "  - [pc0, sw0]\n  - [pc0:eth1, r1]\n")
    .replace("{eth0: 192.168.1.1/24}", "{eth0: 192.168.1.1/24, eth1: 10.9.0.1/24}");
    find(
        &errors(&yaml),
        "gateway 192.168.1.1 is not on eth1's subnet 10.9.0.0/24",
    );
}
