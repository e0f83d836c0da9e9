//! The topology pass: every error, with the position it is reported at.

use crate::lab::validate::tests::{DHCP, LAN, check, errors, find};

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
fn names_say_why_they_are_refused() {
    let found = errors(&LAN.replace("[pc0, sw0]", "[\"pc0:\", sw0]"));
    find(&found, "`pc0:` names no interface after the colon");
    let long = "a-very-long-lab-name-for-the-course-2026";
    let found = errors(&LAN.replace("name: lan", &format!("name: {long}")));
    find(&found, "it is 40 characters long");
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
