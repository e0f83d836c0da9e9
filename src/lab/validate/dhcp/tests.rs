//! The DHCP pass: pools, reservations and relays resolved or refused.

use crate::lab::validate::tests::{DHCP, check, errors, find};

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
