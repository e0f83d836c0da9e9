//! DNS in real labs (root): labctl's authoritative server, reached through
//! the resolver a host learned by DHCP, and the root → TLD → authoritative
//! walk of a recursive resolver, checked with real clients (dig, kdig,
//! drill, Python's resolver).

mod common;

use std::thread::sleep;
use std::time::Duration;

use common::*;

/// server0 serves DHCP (giving itself as DNS server) and the cbrc.com zone;
/// web's address comes from a DHCP reservation; pc1 asks a forwarder.
const CBRC: &str = "
name: LAB
nodes:
  server0:
    kind: server
    interfaces: {eth0: 192.168.1.2/24}
    services:
      dhcp:
        pools:
          - range: 192.168.1.100-192.168.1.150
            dns: [192.168.1.2]
            domain: cbrc.com
            reservations: [{node: web, address: 192.168.1.80}]
      dns:
        zones:
          cbrc.com:
            '@': {MX: 10 mail.cbrc.com., A: server0, TXT: 'v=spf1 mx -all'}
            mail: {A: server0}
            www: {CNAME: web.cbrc.com.}
            web: {A: web}
          1.168.192.in-addr.arpa: reverse
  forwarder:
    kind: server
    interfaces: {eth0: 192.168.1.3/24}
    services:
      dns:
        resolver: {forward: [192.168.1.2]}
  sw0: {kind: switch}
  pc0: {kind: host, interfaces: {eth0: dhcp}}
  pc1: {kind: host, interfaces: {eth0: 192.168.1.11/24}, dns: [192.168.1.3]}
  web: {kind: server, interfaces: {eth0: dhcp}}
links:
  - [server0, sw0]
  - [forwarder, sw0]
  - [pc0, sw0]
  - [pc1, sw0]
  - [web, sw0]
";

fn hierarchy() -> String {
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/labs/dns-hierarchy.yaml");
    std::fs::read_to_string(file)
        .unwrap()
        .replace("name: dns-hierarchy", "name: LAB")
}

#[test]
fn a_pc_resolves_through_the_server_it_learned_by_dhcp() {
    require_root();
    let lab = Lab::new("dns-cbrc", CBRC);
    lab.up_ok();
    let resolv = lab.exec_ok("pc0", &["cat", "/etc/resolv.conf"]);
    assert!(resolv.contains("nameserver 192.168.1.2"), "{resolv}");

    // dig with no server: the one in the node's resolv.conf.
    let answer = lab.exec_ok("pc0", &["dig", "+short", "mail.cbrc.com"]);
    assert_eq!(answer.trim(), "192.168.1.2");
    let mx = lab.exec_ok("pc0", &["dig", "+short", "MX", "cbrc.com"]);
    assert_eq!(mx.trim(), "10 mail.cbrc.com.");
    let full = lab.exec_ok("pc0", &["dig", "mail.cbrc.com"]);
    assert!(full.contains("status: NOERROR"), "{full}");
    assert!(
        full.contains("flags: qr aa rd;"),
        "authoritative, no recursion:\n{full}"
    );
    // A node reference to a host addressed by a DHCP reservation.
    let web = lab.exec_ok("pc0", &["dig", "+short", "www.cbrc.com"]);
    assert_eq!(web.trim(), "web.cbrc.com.\n192.168.1.80");
    let spf = lab.exec_ok("pc0", &["dig", "+short", "TXT", "cbrc.com"]);
    assert_eq!(spf.trim(), "\"v=spf1 mx -all\"");
    let reverse = lab.exec_ok("pc0", &["dig", "+short", "-x", "192.168.1.2"]);
    assert!(reverse.contains("mail.cbrc.com."), "{reverse}");
    // Over TCP too.
    let tcp = lab.exec_ok("pc0", &["dig", "+tcp", "+short", "mail.cbrc.com"]);
    assert_eq!(tcp.trim(), "192.168.1.2");
    // NXDOMAIN, NODATA, and refusal of zones it does not serve.
    let missing = lab.exec_ok("pc0", &["dig", "nope.cbrc.com"]);
    assert!(missing.contains("status: NXDOMAIN"), "{missing}");
    let nodata = lab.exec_ok("pc0", &["dig", "AAAA", "mail.cbrc.com"]);
    assert!(
        nodata.contains("status: NOERROR") && nodata.contains("ANSWER: 0"),
        "{nodata}"
    );
    let refused = lab.exec_ok("pc0", &["dig", "www.mastertech.com"]);
    assert!(refused.contains("status: REFUSED"), "{refused}");

    // kdig and drill agree.
    let kdig = lab.exec_ok("pc0", &["kdig", "+short", "MX", "cbrc.com"]);
    assert_eq!(kdig.trim(), "10 mail.cbrc.com.");
    let kdig_flags = lab.exec_ok("pc0", &["kdig", "mail.cbrc.com"]);
    assert!(kdig_flags.contains("Flags: qr aa rd;"), "{kdig_flags}");
    let drill = lab.exec_ok("pc0", &["drill", "mail.cbrc.com"]);
    assert!(
        drill.contains("rcode: NOERROR") && drill.contains("flags: qr aa rd"),
        "{drill}"
    );
    assert!(
        drill.contains("mail.cbrc.com.\t300\tIN\tA\t192.168.1.2"),
        "{drill}"
    );

    // A program using the system resolver (glibc, through resolv.conf).
    let python = lab.exec_ok(
        "pc0",
        &[
            "python3",
            "-c",
            "import socket; print(socket.gethostbyname('mail.cbrc.com'))",
        ],
    );
    assert_eq!(python.trim(), "192.168.1.2");

    // Through the forwarder: the same answer, not authoritative, with RA.
    let forwarded = lab.exec_ok("pc1", &["dig", "mail.cbrc.com"]);
    assert!(forwarded.contains("flags: qr rd ra;"), "{forwarded}");
    assert!(
        forwarded.contains("mail.cbrc.com.\t\t300\tIN\tA\t192.168.1.2"),
        "{forwarded}"
    );
    let forwarded_mx = lab.exec_ok("pc1", &["kdig", "+short", "MX", "cbrc.com"]);
    assert_eq!(forwarded_mx.trim(), "10 mail.cbrc.com.");
    let forwarded_missing = lab.exec_ok("pc1", &["drill", "nope.cbrc.com"]);
    assert!(
        forwarded_missing.contains("rcode: NXDOMAIN"),
        "{forwarded_missing}"
    );
}

#[test]
fn the_hierarchy_lab_walks_root_tld_and_authoritative() {
    require_root();
    let lab = Lab::new("dns-hier", &hierarchy());
    lab.up_ok();
    let first = lab.exec_ok("pc0", &["dig", "www.example.com"]);
    assert!(first.contains("status: NOERROR"), "{first}");
    assert!(
        first.contains("flags: qr rd ra;"),
        "a resolver's answer, not authoritative:\n{first}"
    );
    assert!(
        first.contains("www.example.com.\t3600\tIN\tA\t10.0.0.4"),
        "{first}"
    );

    let trace = lab.exec_ok("pc0", &["dig", "+trace", "www.example.com"]);
    let hops: Vec<&str> = ["10.0.0.2#53", "10.0.0.3#53", "10.0.0.4#53"]
        .into_iter()
        .filter(|hop| !trace.contains(hop))
        .collect();
    assert!(hops.is_empty(), "the walk misses {hops:?}:\n{trace}");
    assert!(
        trace.contains("com.\t\t\t300\tIN\tNS\ta.gtld-servers.net."),
        "{trace}"
    );
    assert!(
        trace.contains("example.com.\t\t300\tIN\tNS\tns.example.com."),
        "{trace}"
    );

    // The second answer comes from the cache: its TTL has counted down.
    sleep(Duration::from_millis(2100));
    let cached = lab.exec_ok("pc0", &["dig", "+noall", "+answer", "www.example.com"]);
    let ttl: u32 = cached.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!(ttl <= 3598, "not from the cache (TTL {ttl}):\n{cached}");

    let kdig = lab.exec_ok("pc0", &["kdig", "+short", "MX", "example.com"]);
    assert_eq!(kdig.trim(), "10 mail.example.com.");
    let drill = lab.exec_ok("pc0", &["drill", "nope.example.com"]);
    assert!(drill.contains("rcode: NXDOMAIN"), "{drill}");
    // The root server itself is authoritative and does not recurse.
    let root = lab.exec_ok("pc0", &["dig", "@10.0.0.2", "www.example.com"]);
    assert!(
        root.contains("flags: qr rd;") && root.contains("AUTHORITY: 1"),
        "a referral:\n{root}"
    );
    assert!(
        root.contains("a.gtld-servers.net.\t300\tIN\tA\t10.0.0.3"),
        "glue:\n{root}"
    );
    // DS at a cut is the parent's to answer (RFC 4035 §3.1.4.1): the .com
    // server says, with AA, that example.com has no DS, and shows com's SOA.
    let ds = lab.exec_ok("pc0", &["dig", "+norec", "@10.0.0.3", "example.com", "DS"]);
    assert!(
        ds.contains("status: NOERROR")
            && ds.contains("flags: qr aa;")
            && ds.contains("ANSWER: 0, AUTHORITY: 1"),
        "not the parent's authoritative NODATA:\n{ds}"
    );
    let soa_owner = ds
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|fields| fields.get(3) == Some(&"SOA"))
        .map(|fields| fields[0].to_string());
    assert_eq!(soa_owner.as_deref(), Some("com."), "{ds}");
    let kdig_ds = lab.exec_ok("pc0", &["kdig", "+norec", "@10.0.0.3", "example.com", "DS"]);
    assert!(
        kdig_ds.contains("Flags: qr aa;") && kdig_ds.contains("status: NOERROR"),
        "{kdig_ds}"
    );
}
