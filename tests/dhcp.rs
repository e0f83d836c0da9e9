//! DHCP in real labs (root): labctl's server, relay and client on the wire,
//! and real peers (busybox udhcpc, ISC dhclient, dnsmasq) against them.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

/// A server and three hosts on one switch; pc2 has a reservation.
const ONE_SWITCH: &str = "
name: LAB
nodes:
  server0:
    kind: server
    interfaces: {eth0: 192.168.1.2/24}
    services:
      dhcp:
        pools:
          - range: 192.168.1.100-192.168.1.150
            gateway: 192.168.1.1
            dns: [192.168.1.2]
            domain: cbrc.com
            lease: 1h
            reservations:
              - {node: pc2, address: 192.168.1.50}
  sw0: {kind: switch}
  pc0: {kind: host, interfaces: {eth0: dhcp}}
  pc1: {kind: host, interfaces: {eth0: dhcp}}
  pc2: {kind: host, interfaces: {eth0: dhcp}}
  probe: {kind: host, interfaces: {eth0: 192.168.1.9/24}}
links:
  - [server0, sw0]
  - [pc0, sw0]
  - [pc1, sw0]
  - [pc2, sw0]
  - [probe, sw0]
";

/// Hosts on r1's LAN; the server sits behind r2; r1 relays.
const RELAYED: &str = "
name: LAB
nodes:
  r1:
    kind: router
    routing: auto
    interfaces:
      eth0: 10.0.0.1/30
      eth1: {address: 192.168.10.1/24, dhcp_relay: 192.168.1.2}
  r2:
    kind: router
    routing: auto
    interfaces: {eth0: 10.0.0.2/30, eth1: 192.168.1.1/24}
  server:
    kind: server
    interfaces: {eth0: 192.168.1.2/24}
    gateway: 192.168.1.1
    services:
      dhcp:
        pools:
          - {range: 192.168.1.100-192.168.1.120, gateway: 192.168.1.1}
          - {range: 192.168.10.100-192.168.10.120, gateway: 192.168.10.1, dns: [192.168.1.2]}
  sw-server: {kind: switch}
  sw-lan: {kind: switch}
  pc-a: {kind: host, interfaces: {eth0: dhcp}}
  pc-b: {kind: host, interfaces: {eth0: dhcp}}
links:
  - [r1:eth0, r2:eth0]
  - [r2:eth1, sw-server]
  - [server, sw-server]
  - [r1:eth1, sw-lan]
  - [pc-a, sw-lan]
  - [pc-b, sw-lan]
";

fn status(lab: &Lab) -> serde_json::Value {
    let out = labctl(&["status", &lab.name, "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The address a node's eth0 got by DHCP, from `labctl status`.
fn leased(status: &serde_json::Value, node: &str) -> String {
    let node = status["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == node)
        .unwrap();
    let eth0 = &node["interfaces"][0];
    assert_eq!(eth0["lease"]["state"], "bound", "{node}");
    eth0["lease"]["address"].as_str().unwrap().to_string()
}

#[test]
fn hosts_on_one_switch_get_distinct_leases_and_reservations_hold() {
    require_root();
    let lab = Lab::new("t-dhcp", ONE_SWITCH);
    lab.up_ok();
    let status = status(&lab);
    let (a, b, c) = (
        leased(&status, "pc0"),
        leased(&status, "pc1"),
        leased(&status, "pc2"),
    );
    assert_ne!(a, b, "two hosts never share an address");
    for address in [&a, &b] {
        let last: u8 = address
            .trim_end_matches("/24")
            .rsplit('.')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!((100..=150).contains(&last), "{address} is in the pool");
    }
    assert_eq!(c, "192.168.1.50/24", "the reservation is honoured");

    // The lease is on the interface, with the route and the resolver.
    let addr = lab.exec_ok("pc0", &["ip", "-br", "-4", "addr", "show", "eth0"]);
    assert!(addr.contains(&a), "{addr}");
    let routes = lab.exec_ok("pc0", &["ip", "-4", "route"]);
    assert!(routes.contains("default via 192.168.1.1"), "{routes}");
    let resolv = lab.exec_ok("pc0", &["cat", "/etc/resolv.conf"]);
    assert!(
        resolv.contains("nameserver 192.168.1.2") && resolv.contains("search cbrc.com"),
        "{resolv}"
    );
    // Real traffic from the leased address.
    lab.exec_ok("pc0", &["ping", "-c1", "-W2", "192.168.1.2"]);

    // The server lists the leases with the hosts' names.
    let server = status["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == "server0")
        .unwrap();
    let leases = server["services"][0]["leases"].as_array().unwrap();
    assert_eq!(server["services"][0]["kind"], "dhcp-server");
    assert_eq!(leases.len(), 3, "{leases:?}");
    assert!(
        leases
            .iter()
            .any(|l| l["hostname"] == "pc2" && l["address"] == "192.168.1.50")
    );
}

#[test]
fn hosts_behind_a_relay_two_routers_away_get_leases_from_their_pool() {
    require_root();
    let lab = Lab::new("t-relay", RELAYED);
    lab.up_ok();
    let status = status(&lab);
    for pc in ["pc-a", "pc-b"] {
        let address = leased(&status, pc);
        assert!(
            address.starts_with("192.168.10.1"),
            "{pc} got {address} from the 192.168.10.0/24 pool"
        );
    }
    assert_ne!(leased(&status, "pc-a"), leased(&status, "pc-b"));
    // The relayed host reaches the server across both routers.
    lab.exec_ok("pc-a", &["ping", "-c1", "-W2", "192.168.1.2"]);
    let resolv = lab.exec_ok("pc-a", &["cat", "/etc/resolv.conf"]);
    assert!(resolv.contains("nameserver 192.168.1.2"), "{resolv}");
}

/// A server and `hosts` DHCP clients on one switch.
fn many_clients(hosts: usize) -> String {
    let mut yaml = String::from(
        "name: LAB\nnodes:\n  server0:\n    kind: server\n    interfaces: {eth0: 10.1.0.2/24}\n    services: {dhcp: {pools: [{range: 10.1.0.100-10.1.0.199}]}}\n  sw0: {kind: switch}\n",
    );
    let mut links = String::from("links:\n  - [server0, sw0]\n");
    for i in 0..hosts {
        yaml.push_str(&format!(
            "  pc{i}: {{kind: host, interfaces: {{eth0: dhcp}}}}\n"
        ));
        links.push_str(&format!("  - [pc{i}, sw0]\n"));
    }
    yaml + &links
}

#[test]
fn leases_survive_a_daemon_restart() {
    require_root();
    const HOSTS: usize = 6;
    let lab = Lab::new(
        "t-restart",
        &many_clients(HOSTS).replace(
            "links:",
            "  probe: {kind: host, interfaces: {eth0: 10.1.0.9/24}}\nlinks:\n  - [probe, sw0]",
        ),
    );
    lab.up_ok();
    let before = status(&lab);
    let leased_before: Vec<String> = (0..HOSTS)
        .map(|i| leased(&before, &format!("pc{i}")))
        .collect();
    let pid_file = std::fs::read_to_string(format!("/run/labctl/{}/daemon.pid", lab.name)).unwrap();
    let pid: i32 = pid_file.split_whitespace().next().unwrap().parse().unwrap();
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
    std::thread::sleep(Duration::from_millis(200));
    // Silence the old clients, so only a newcomer asks the restarted server.
    for i in 0..HOSTS {
        lab.exec_ok(&format!("pc{i}"), &["ip", "link", "set", "eth0", "down"]);
    }
    let log = std::fs::OpenOptions::new()
        .append(true)
        .open(format!("/run/labctl/{}/daemon.log", lab.name))
        .unwrap();
    // `down` (in Lab's Drop) stops the new daemon; a thread reaps it.
    let mut daemon = Command::new(LABCTL)
        .args(["daemon", &lab.name])
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    std::thread::spawn(move || daemon.wait());
    std::thread::sleep(Duration::from_millis(500));
    // A server that forgot its leases would give the newcomer the first
    // address of the pool; one that remembers gives it the next free one.
    let out = lab.udhcpc("probe", &[]);
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    for old in &leased_before {
        let old = old.trim_end_matches("/24");
        assert!(
            !said.contains(&format!("lease of {old} obtained")),
            "{old} was given again after the restart:\n{said}"
        );
    }
    assert!(
        said.contains(&format!("lease of 10.1.0.{} obtained", 100 + HOSTS)),
        "{said}"
    );
}

#[test]
fn no_server_fails_up_with_a_diagnosis_and_rolls_back() {
    require_root();
    let lab = Lab::new(
        "t-noserver",
        "name: LAB\nnodes:\n  sw0: {kind: switch}\n  pc3: {kind: host, interfaces: {eth0: dhcp}}\nlinks:\n  - [pc3, sw0]\n",
    );
    let out = lab.up();
    let said = text(&out);
    assert!(!out.status.success(), "{said}");
    assert!(
        // Answered from the lab's own state, without waiting for 4 DISCOVERs.
        said.contains("pc3/eth0: no DHCP server or relay on its network, sw0"),
        "{said}"
    );
    assert_eq!(leftovers(&lab.name), Vec::<String>::new());
}

/// `up --keep-going` leaves the lab up with the failed lease reported, so a
/// student can troubleshoot it; the daemon keeps running.
#[test]
fn keep_going_leaves_a_lab_without_a_lease_up_to_explore() {
    require_root();
    let lab = Lab::new(
        "t-keepgoing",
        "name: LAB\nnodes:\n  sw0: {kind: switch}\n  pc3: {kind: host, interfaces: {eth0: dhcp}}\nlinks:\n  - [pc3, sw0]\n",
    );
    let out = labctl(&["up", lab.file.to_str().unwrap(), "--keep-going"]);
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("no DHCP lease for: pc3/eth0: no DHCP server or relay on its network, sw0"),
        "{said}"
    );
    assert!(said.contains("eth0 NO LEASE"), "{said}");
    assert!(
        said.contains("1 interface got no DHCP lease; the lab stays up"),
        "{said}"
    );
    let status = status(&lab);
    assert_eq!(status["lab"]["daemon"]["running"], true, "{status}");
    // The lab is really there: the PC's namespace answers.
    lab.exec_ok("pc3", &["ip", "link", "show", "eth0"]);
}

#[test]
fn busybox_udhcpc_and_isc_dhclient_get_leases_from_labctls_server() {
    require_root();
    let lab = Lab::new("t-peers", ONE_SWITCH);
    lab.up_ok();
    let out = lab.udhcpc("pc0", &[]);
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("lease of 192.168.1.") && said.contains("obtained"),
        "{said}"
    );

    let (pid, leases) = (lab.scratch("dhclient.pid"), lab.scratch("dhclient.leases"));
    let out = lab.exec(
        "pc1",
        &[
            "dhclient",
            "-1",
            "-v",
            "-sf",
            "/bin/true",
            "-pf",
            pid.to_str().unwrap(),
            "-lf",
            leases.to_str().unwrap(),
            "eth0",
        ],
    );
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("DHCPACK of 192.168.1.") && said.contains("bound to 192.168.1."),
        "{said}"
    );
    let _ = lab.exec(
        "pc1",
        &[
            "dhclient",
            "-r",
            "-sf",
            "/bin/true",
            "-pf",
            pid.to_str().unwrap(),
            "-lf",
            leases.to_str().unwrap(),
            "eth0",
        ],
    );
}

#[test]
fn labctls_client_gets_a_lease_from_dnsmasq() {
    require_root();
    // pc0's interface has no address and is not `dhcp`: nothing of labctl
    // runs there until the test starts the client by hand.
    let lab = Lab::new(
        "t-dnsmasq",
        "name: LAB\nnodes:\n  server0: {kind: server, interfaces: {eth0: 192.168.5.2/24}}\n  sw0: {kind: switch}\n  pc0: {kind: host}\nlinks:\n  - [server0, sw0]\n  - [pc0, sw0]\n",
    );
    lab.up_ok();
    // Its pid file goes in the lab's temp dir, not the host's /run.
    let pid_file = format!("--pid-file={}", lab.scratch("dnsmasq.pid").display());
    let dnsmasq = Spawned(
        Command::new(LABCTL)
            .args([
                "exec",
                &lab.name,
                "server0",
                "--",
                "dnsmasq",
                "-k",
                &pid_file,
                "--port=0",
                "--interface=eth0",
                "--bind-interfaces",
                "--no-ping",
                "--dhcp-range=192.168.5.100,192.168.5.150,255.255.255.0,10m",
                "--dhcp-option=3,192.168.5.1",
                "--dhcp-option=6,192.168.5.2",
                "--dhcp-leasefile=/dev/null",
                "--conf-file=/dev/null",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    std::thread::sleep(Duration::from_millis(300));
    let out = lab.exec("pc0", &[LABCTL, "dhcp-client", "eth0"]);
    drop(dnsmasq);
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    let lease: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let address = lease["address"].as_str().unwrap();
    assert!(
        address.starts_with("192.168.5.1") && address.ends_with("/24"),
        "{said}"
    );
    assert_eq!(lease["gateway"], "192.168.5.1");
    assert_eq!(lease["dns"][0], "192.168.5.2");
    assert_eq!(lease["server"], "192.168.5.2");
    // The lease is on the interface, with its default route.
    let addr = lab.exec_ok("pc0", &["ip", "-br", "-4", "addr", "show", "eth0"]);
    assert!(addr.contains(address), "{addr}");
    assert!(
        lab.exec_ok("pc0", &["ip", "-4", "route"])
            .contains("default via 192.168.5.1")
    );
}
