//! Root causes, not symptoms: a real lab per class of mistake, the mistake
//! planted, graded with `labctl test --json`; each failed check must name
//! the broken link and where it is (needs root).

mod common;

use common::{Lab, labctl, require_root, text};
use serde_json::Value;

/// `labctl test` on the lab, as JSON (the lab is torn down by `test`).
fn graded(lab: &Lab) -> Value {
    let out = labctl(&["test", lab.file.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", text(&out)))
}

/// The check numbered `index` (from 1) of the report.
fn check(report: &Value, index: usize) -> &Value {
    &report["checks"][index - 1]
}

fn diagnosis(report: &Value, index: usize) -> (String, String, String) {
    let d = &check(report, index)["diagnosis"];
    let s = |k: &str| d[k].as_str().unwrap_or_default().to_string();
    (s("step"), s("message"), s("hint"))
}

/// A course lab with one edit, named `LAB` so the test gets a unique name.
fn course_lab(prefix: &str, file: &str, from: &str, to: &str) -> Lab {
    let yaml =
        std::fs::read_to_string(format!("{}/labs/{file}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    assert!(yaml.contains(from), "{file} has no `{from}`");
    let name = file.trim_end_matches(".yaml");
    let yaml = yaml
        .replacen(&format!("name: {name}"), "name: LAB", 1)
        .replace(from, to);
    Lab::new(prefix, &yaml)
}

/// Static routing where r2 lacks the way back to the backend LAN: the ping
/// names r2 and the prefix; the DHCP client behind r2's relay is told the
/// same cause at once (not after four DISCOVERs), and every check that needs
/// that lease is blocked by its `dhcp` check.
#[test]
fn a_missing_route_is_named_with_its_router_and_prefix() {
    require_root();
    let lab = Lab::new(
        "diag-route",
        "
name: LAB
nodes:
  r1:
    kind: router
    interfaces: {eth0: 10.0.0.1/30, eth1: 192.168.10.1/24}
    routes: [{to: 192.168.20.0/24, via: 10.0.0.2}]
  r2:
    kind: router
    interfaces:
      eth0: 10.0.0.2/30
      eth1: {address: 192.168.20.1/24, dhcp_relay: 192.168.10.2}
  sw1: {kind: switch}
  sw2: {kind: switch}
  server:
    kind: server
    interfaces: {eth0: 192.168.10.2/24}
    gateway: 192.168.10.1
    services:
      dhcp:
        pools:
          - {range: 192.168.20.100-192.168.20.199, gateway: 192.168.20.1}
  pc1: {kind: host, interfaces: {eth0: 192.168.10.10/24}, gateway: 192.168.10.1}
  pc2: {kind: host, interfaces: {eth0: 192.168.20.10/24}, gateway: 192.168.20.1}
  pc3: {kind: host, interfaces: {eth0: dhcp}}
links:
  - [r1:eth0, r2:eth0]
  - [r1:eth1, sw1]
  - [r2:eth1, sw2]
  - [server, sw1]
  - [pc1, sw1]
  - [pc2, sw2]
  - [pc3, sw2]
checks:
  - ping: {from: pc1, to: pc2}
  - ping: {from: pc3, to: server}
  - dhcp: {node: pc3}
  - tcp: {from: pc3, to: server, port: 67}
",
    );
    let report = graded(&lab);
    let (step, message, hint) = diagnosis(&report, 1);
    assert_eq!(step, "route", "{report:#}");
    assert!(
        message.contains("r2 has no route back to 192.168.10.0/24"),
        "{message}"
    );
    assert!(
        hint.contains("{to: 192.168.10.0/24, via: 10.0.0.1}"),
        "{hint}"
    );
    let (step, message, _) = diagnosis(&report, 3);
    assert_eq!(step, "lease");
    assert!(
        message.contains(
            "pc3/eth0 has no DHCP lease: r2 relays DHCP from 192.168.20.0/24 to server (192.168.10.2), but r2 has no route to 192.168.10.0/24"
        ),
        "{message}"
    );
    // One cause (r2 lacks 192.168.10.0/24), one lead: the first check that
    // met it; the others, the `dhcp` check included, are blocked by it.
    assert_eq!(check(&report, 1)["blocked_by"], Value::Null);
    for blocked in [2, 3, 4] {
        assert_eq!(check(&report, blocked)["blocked_by"], 1, "{report:#}");
        assert_eq!(check(&report, blocked)["points"], 0);
    }
    assert_eq!(report["score"]["blocked"], 3);
    // The lease that cannot come is not waited for (four DISCOVERs: 7.5 s).
    let ready = report["timings"]["ready_ms"].as_u64().unwrap();
    assert!(
        ready < 3000,
        "waited {ready} ms for a lease that cannot come"
    );
}

/// A PC whose DNS server is the mail server, one whose DNS server holds
/// other zones only, and one whose DNS server is an address nobody has.
#[test]
fn unreachable_no_service_and_refused_are_told_apart() {
    require_root();
    let lab = Lab::new(
        "diag-dns",
        "
name: LAB
nodes:
  sw: {kind: switch}
  ns:
    kind: server
    interfaces: {eth0: 10.0.1.2/24}
    services:
      dns:
        zones:
          cbrc.com: {www: {A: 10.0.1.3}}
  mail:
    kind: server
    interfaces: {eth0: 10.0.1.3/24}
    services:
      mail: {domains: [cbrc.com], users: {ada: secret}}
  pc1: {kind: host, interfaces: {eth0: 10.0.1.11/24}, dns: [10.0.1.3]}
  pc2: {kind: host, interfaces: {eth0: 10.0.1.12/24}, dns: [10.0.1.2]}
  pc3: {kind: host, interfaces: {eth0: 10.0.1.13/24}, dns: [10.0.1.99]}
links:
  - [ns, sw]
  - [mail, sw]
  - [pc1, sw]
  - [pc2, sw]
  - [pc3, sw]
checks:
  - dns: {from: pc1, name: www.cbrc.com}
  - dns: {from: pc2, name: www.mt.com}
  - dns: {from: pc3, name: www.cbrc.com}
",
    );
    let report = graded(&lab);
    let (_, message, hint) = diagnosis(&report, 1);
    assert!(
        message.contains("10.0.1.3 (mail) is reachable, but nothing answers on port 53"),
        "{message}"
    );
    assert!(hint.contains("cbrc.com is on ns (10.0.1.2)"), "{hint}");
    let (_, message, _) = diagnosis(&report, 2);
    assert!(
        message.contains(
            "DNS server 10.0.1.2 (ns) answers, but refuses it (REFUSED): it holds only cbrc.com"
        ),
        "{message}"
    );
    let (_, message, _) = diagnosis(&report, 3);
    assert!(
        message.contains("DNS server 10.0.1.99 is unreachable")
            && message.contains("no node on sw (10.0.1.0/24) has it"),
        "{message}"
    );
}

/// A DHCP PC plugged into the wrong switch gets a lease from the other
/// pool: said as a wiring mistake, naming the switch it belongs on.
#[test]
fn a_pc_on_the_wrong_switch_is_told_where_it_belongs() {
    require_root();
    let lab = Lab::new(
        "diag-wire",
        "
name: LAB
nodes:
  sw1: {kind: switch}
  sw2: {kind: switch}
  server:
    kind: server
    interfaces: {eth0: 10.0.1.2/24, eth1: 10.0.2.2/24}
    services:
      dhcp:
        pools:
          - {range: 10.0.1.100-10.0.1.199}
          - {range: 10.0.2.100-10.0.2.199}
  pc1: {kind: host, interfaces: {eth0: dhcp}}
links:
  - [server:eth0, sw1]
  - [server:eth1, sw2]
  - [pc1, sw2]
checks:
  - dhcp: {node: pc1, subnet: 10.0.1.0/24}
",
    );
    let report = graded(&lab);
    let (step, message, hint) = diagnosis(&report, 1);
    assert_eq!(step, "wiring", "{report:#}");
    assert!(
        message.contains("it is cabled to sw2 (10.0.2.0/24), but 10.0.1.0/24 is on sw1"),
        "{message}"
    );
    assert!(hint.contains("plug pc1 into sw1"), "{hint}");
}

/// dns-hierarchy with the glue of ns.example.com pointing at the root server.
#[test]
fn a_wrong_glue_record_is_named() {
    require_root();
    let lab = course_lab(
        "diag-glue",
        "dns-hierarchy.yaml",
        "ns.example: {A: ns-example}",
        "ns.example: {A: 10.0.0.2}",
    );
    let report = graded(&lab);
    let (step, message, _) = diagnosis(&report, 1);
    assert_eq!(step, "dns");
    assert!(
        message.contains(
            "the glue record ns.example.com A 10.0.0.2 in zone com on tld-com points to root, which does not serve example.com; example.com is served by ns-example (10.0.0.4)"
        ),
        "{message}"
    );
}

/// dns-hierarchy with www.example.com pointing at the root server.
#[test]
fn an_a_record_pointing_elsewhere_names_the_record_and_the_node() {
    require_root();
    let lab = course_lab(
        "diag-a",
        "dns-hierarchy.yaml",
        "www: {A: ns-example}",
        "www: {A: root}",
    );
    let report = graded(&lab);
    let (step, message, hint) = diagnosis(&report, 1);
    assert_eq!(step, "dns");
    assert!(
        message.contains("to 10.0.0.2 (root), not 10.0.0.4 (ns-example)"),
        "{message}"
    );
    assert!(
        hint.contains("www.example.com A 10.0.0.2 in zone example.com on ns-example"),
        "{hint}"
    );
}
