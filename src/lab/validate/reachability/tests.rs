//! Walking packets through static routes: each way a LAN fails to reach
//! another is one warning naming the router and the prefix.

use crate::lab::diagnostic::{Diagnostic, Severity};
use crate::lab::validate::tests::{DHCP, check, find};

/// Three routers in a line with static routes: r1 and r3 send everything
/// to r2, which knows both LANs.
const LINE: &str = "
name: line
nodes:
  r1:
    kind: router
    interfaces: {eth0: 10.0.12.1/30, eth1: 192.168.1.1/24}
    routes: [{to: default, via: 10.0.12.2}]
  r2:
    kind: router
    interfaces: {eth0: 10.0.12.2/30, eth1: 10.0.23.1/30}
    routes:
      - {to: 192.168.1.0/24, via: 10.0.12.1}
      - {to: 192.168.3.0/24, via: 10.0.23.2}
  r3:
    kind: router
    interfaces: {eth0: 10.0.23.2/30, eth1: 192.168.3.1/24}
    routes: [{to: default, via: 10.0.23.1}]
  sw1: {kind: switch}
  sw3: {kind: switch}
  pc1: {kind: host, interfaces: {eth0: 192.168.1.10/24}, gateway: 192.168.1.1}
  pc3: {kind: host, interfaces: {eth0: 192.168.3.10/24}, gateway: 192.168.3.1}
links:
  - [r1:eth0, r2:eth0]
  - [r2:eth1, r3:eth0]
  - [r1:eth1, sw1]
  - [r3:eth1, sw3]
  - [pc1, sw1]
  - [pc3, sw3]
";

/// The diagnostics of a lab that must stay valid: all warnings.
fn warnings(yaml: &str) -> Vec<Diagnostic> {
    let checked = check(yaml);
    assert!(checked.valid.is_some(), "{:#?}", checked.diagnostics);
    assert!(
        checked
            .diagnostics
            .iter()
            .all(|d| d.severity == Severity::Warning),
        "{:#?}",
        checked.diagnostics
    );
    checked.diagnostics
}

#[test]
fn static_routes_that_cover_both_ways_give_no_warning() {
    assert_eq!(warnings(LINE), []);
    assert_eq!(warnings(DHCP), []);
}

#[test]
fn a_missing_route_back_names_the_router_and_the_prefix() {
    let found = warnings(&LINE.replace("      - {to: 192.168.1.0/24, via: 10.0.12.1}\n", ""));
    assert_eq!(found.len(), 1, "{found:#?}");
    let (d, line, col) = find(
        &found,
        "r2 has no route back to 192.168.1.0/24: packets from 192.168.1.0/24 reach 192.168.3.0/24, but the replies stop at r2",
    );
    assert_eq!((line, col), (12, 7));
    assert_eq!(
        d.hint.as_deref(),
        Some(
            "add `{to: 192.168.1.0/24, via: 10.0.12.1}` to the routes of r2, or give it `routing: auto`"
        )
    );
}

#[test]
fn no_route_either_way_is_one_warning_per_direction() {
    let yaml = LINE.replace(
        "    routes:\n      - {to: 192.168.1.0/24, via: 10.0.12.1}\n      - {to: 192.168.3.0/24, via: 10.0.23.2}\n",
        "",
    );
    let found = warnings(&yaml);
    assert_eq!(found.len(), 2, "{found:#?}");
    let (_, line, col) = find(
        &found,
        "r2 has no route to 192.168.3.0/24: packets from 192.168.1.0/24 to it stop there",
    );
    // r2 has no `routes` to point at: its name.
    assert_eq!((line, col), (8, 3));
    find(
        &found,
        "r2 has no route to 192.168.1.0/24: packets from 192.168.3.0/24 to it stop there",
    );
}

#[test]
fn routing_auto_fills_what_static_routes_miss() {
    let yaml = LINE.replace(
        "    routes:\n      - {to: 192.168.1.0/24, via: 10.0.12.1}\n      - {to: 192.168.3.0/24, via: 10.0.23.2}\n",
        "    routing: auto\n",
    );
    assert_eq!(warnings(&yaml), []);
}

#[test]
fn a_routing_loop_names_the_routers() {
    let found = warnings(&LINE.replace(
        "{to: 192.168.3.0/24, via: 10.0.23.2}",
        "{to: 192.168.3.0/24, via: 10.0.12.1}",
    ));
    let (_, line, _) = find(
        &found,
        "packets for 192.168.3.0/24 go round in a loop: r1 → r2 → r1",
    );
    assert_eq!(line, 7);
}

#[test]
fn a_gateway_that_does_not_forward_is_named() {
    let yaml = LINE
        .replace(
            "  pc3: {kind: host",
            "  srv: {kind: server, interfaces: {eth0: 192.168.1.5/24}, gateway: 192.168.1.1}\n  pc3: {kind: host",
        )
        .replace("  - [pc3, sw3]\n", "  - [pc3, sw3]\n  - [srv, sw1]\n")
        .replace(
            "192.168.1.10/24}, gateway: 192.168.1.1",
            "192.168.1.10/24}, gateway: 192.168.1.5",
        );
    let found = warnings(&yaml);
    let (_, line, _) = find(
        &found,
        "pc1 sends packets for 192.168.3.0/24 to srv, a server that does not forward them",
    );
    assert_eq!(line, 20);
}
