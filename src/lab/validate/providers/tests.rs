//! Gateways that are not routers, DNS servers that run no DNS.

use crate::lab::diagnostic::Severity;
use crate::lab::validate::tests::{DHCP, check, find};

/// The warnings of a lab that must still be valid.
fn warnings(yaml: &str) -> Vec<crate::lab::diagnostic::Diagnostic> {
    let checked = check(yaml);
    assert!(checked.valid.is_some(), "{:#?}", checked.diagnostics);
    checked.diagnostics
}

#[test]
fn the_dhcp_lab_has_no_provider_warnings() {
    let found = warnings(DHCP);
    assert!(
        !found
            .iter()
            .any(|d| d.message.contains("gateway") || d.message.contains("DNS server")),
        "{found:#?}"
    );
}

/// The "wrong pool gateway": the server's own address instead of
/// the router's, which scored full marks in a lab whose checks never left
/// the network.
#[test]
fn a_pool_gateway_that_is_not_a_router_is_a_warning() {
    let yaml = DHCP.replacen(
        "gateway: 192.168.1.1\n            reservations",
        "gateway: 192.168.1.2\n            reservations",
        1,
    );
    let found = warnings(&yaml);
    let (d, line, col) = find(
        &found,
        "gateway 192.168.1.2 is server0, a server that does not forward packets",
    );
    assert_eq!(d.severity, Severity::Warning);
    assert_eq!((line, col), (18, 22));
    assert_eq!(
        d.hint.as_deref(),
        Some("use the router's address on 192.168.1.0/24: 192.168.1.1 (r1)")
    );

    let yaml = DHCP.replace("gateway: 192.168.10.1", "gateway: 192.168.10.254");
    let found = warnings(&yaml);
    let (d, line, _) = find(
        &found,
        "gateway 192.168.10.254: no node of this lab has that address",
    );
    assert_eq!(line, 22);
    assert!(
        d.hint.as_deref().unwrap().contains("192.168.10.1 (r1)"),
        "{d:?}"
    );
}

#[test]
fn a_pool_gateway_outside_its_network_stays_an_error() {
    let yaml = DHCP.replace("gateway: 192.168.10.1", "gateway: 192.168.1.1");
    let checked = check(&yaml);
    assert!(checked.valid.is_none());
    let (d, line, _) = find(
        &checked.diagnostics,
        "gateway 192.168.1.1 is outside the pool's subnet 192.168.10.0/24",
    );
    assert_eq!((d.severity, line), (Severity::Error, 22));
}

#[test]
fn dns_servers_must_run_dns() {
    let yaml = DHCP.replace(
        "            lease: 30m\n",
        "            lease: 30m\n            dns: [192.168.1.2, 192.168.1.9]\n",
    );
    let found = warnings(&yaml);
    let (d, line, col) = find(
        &found,
        "DNS server 192.168.1.2 is server0, which runs no DNS service",
    );
    assert_eq!((d.severity, line, col), (Severity::Warning, 24, 19));
    assert!(
        d.hint
            .as_deref()
            .unwrap()
            .contains("no node of this lab runs DNS yet"),
        "{d:?}"
    );
    let (_, line, col) = find(
        &found,
        "DNS server 192.168.1.9: no node of this lab has that address",
    );
    assert_eq!((line, col), (24, 32));

    let served = yaml.replace(
        "    services:\n      dhcp:",
        "    services:\n      dns: {zones: {lab.test: {www: {A: server0}}}}\n      dhcp:",
    );
    let found = warnings(&served);
    let (d, _, _) = find(&found, "DNS server 192.168.1.9");
    assert_eq!(
        d.hint.as_deref(),
        Some("the lab's DNS servers: 192.168.1.2 (server0)")
    );
    assert!(
        !found
            .iter()
            .any(|d| d.message.contains("DNS server 192.168.1.2")),
        "{found:#?}"
    );

    let node_dns = DHCP.replace(
        "    gateway: 192.168.1.1\n    services:",
        "    gateway: 192.168.1.1\n    dns: [192.168.1.1]\n    services:",
    );
    let (_, line, col) = find(
        &warnings(&node_dns),
        "DNS server 192.168.1.1 is r1, which runs no DNS service",
    );
    assert_eq!((line, col), (14, 11));
}
