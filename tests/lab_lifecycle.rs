//! Whole labs as root: up, traffic across routers, exec, status, down, and
//! the failure paths (kill -9, rollback, two labs at once).

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;

/// Two routers joined by a cable, three switched LANs behind them.
const TWO_ROUTERS: &str = "
name: LAB
nodes:
  r1:
    kind: router
    routing: auto
    interfaces: {eth0: 10.0.0.1/30, eth1: 192.168.10.1/24, eth2: 192.168.20.1/24}
  r2:
    kind: router
    routing: auto
    interfaces: {eth0: 10.0.0.2/30, eth1: 192.168.30.1/24}
  sw-a: {kind: switch}
  sw-b: {kind: switch}
  sw-c: {kind: switch}
  pc-a:
    kind: host
    interfaces: {eth0: 192.168.10.11/24}
    gateway: 192.168.10.1
  pc-b:
    kind: host
    interfaces: {eth0: 192.168.20.11/24}
    gateway: 192.168.20.1
  pc-c:
    kind: host
    interfaces: {eth0: 192.168.30.11/24}
    gateway: 192.168.30.1
    dns: [192.168.30.1]
    domain: lab.test
links:
  - [r1:eth0, r2:eth0]
  - [r1:eth1, sw-a]
  - [r1:eth2, sw-b]
  - [r2:eth1, sw-c]
  - [pc-a, sw-a]
  - [pc-b, sw-b]
  - [pc-c, sw-c]
";

/// A TCP exchange from `client` to `server_ip:port` served on `server`.
fn tcp_exchange(lab: &Lab, server: &str, server_ip: &str, port: u16) -> String {
    let server_script = format!(
        "import socket\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n\
         s.bind(('0.0.0.0',{port}))\ns.listen(1)\ns.settimeout(10)\nc,a=s.accept()\n\
         c.sendall(('hello '+a[0]).encode())\nc.close()"
    );
    let mut listener = Command::new(LABCTL)
        .args([
            "exec",
            &lab.name,
            server,
            "--",
            "python3",
            "-c",
            &server_script,
        ])
        .spawn()
        .expect("server starts");
    let client_script = format!(
        "import socket,time\nfor i in range(50):\n  try:\n    s=socket.create_connection(('{server_ip}',{port}),timeout=2);break\n  except OSError:\n    time.sleep(0.1)\nprint(s.recv(100).decode())"
    );
    let reply = lab.exec_ok("pc-a", &["python3", "-c", &client_script]);
    assert!(listener.wait().unwrap().success());
    reply
}

#[test]
fn a_tcp_connection_crosses_two_routers_and_down_leaves_nothing() {
    require_root();
    let host_before = host_network();
    let lab = Lab::new("t-routers", TWO_ROUTERS);
    lab.up_ok();
    assert_eq!(host_network(), host_before, "up changed the host's network");

    let reply = tcp_exchange(&lab, "pc-c", "192.168.30.11", 7001);
    assert_eq!(
        reply.trim(),
        "hello 192.168.10.11",
        "the client's address is seen unchanged (no NAT)"
    );

    // r1 learned r2's LAN by auto routing.
    let routes = lab.exec_ok("r1", &["ip", "-4", "route"]);
    assert!(
        routes.contains("192.168.30.0/24 via 10.0.0.2 dev eth0"),
        "{routes}"
    );
    // Forwarding is on in routers only.
    assert_eq!(
        lab.exec_ok("r1", &["cat", "/proc/sys/net/ipv4/ip_forward"])
            .trim(),
        "1"
    );
    assert_eq!(
        lab.exec_ok("pc-a", &["cat", "/proc/sys/net/ipv4/ip_forward"])
            .trim(),
        "0"
    );

    // A process left running inside the lab is stopped by down.
    let mut sleeper = Command::new(LABCTL)
        .args(["exec", &lab.name, "pc-b", "--", "sleep", "600"])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));

    let out = lab.down();
    assert!(out.status.success(), "{}", text(&out));
    let status = sleeper.wait().unwrap();
    assert!(!status.success(), "the sleeper inside the lab was stopped");
    assert_eq!(leftovers(&lab.name), Vec::<String>::new());
    assert_eq!(
        host_network(),
        host_before,
        "down changed the host's network"
    );

    let again = lab.down();
    assert!(
        again.status.success(),
        "down is idempotent: {}",
        text(&again)
    );
}

#[test]
fn exec_runs_inside_the_node_with_its_own_files() {
    require_root();
    let lab = Lab::new("t-exec", TWO_ROUTERS);
    lab.up_ok();
    assert_eq!(lab.exec_ok("pc-c", &["hostname"]).trim(), "pc-c");
    let addresses = lab.exec_ok("pc-c", &["ip", "-br", "-4", "addr"]);
    assert!(addresses.contains("192.168.30.11/24"), "{addresses}");
    assert!(!addresses.contains("192.168.10.11"), "{addresses}");
    let resolv = lab.exec_ok("pc-c", &["cat", "/etc/resolv.conf"]);
    assert!(
        resolv.contains("nameserver 192.168.30.1") && resolv.contains("search lab.test"),
        "{resolv}"
    );
    // /sys shows the node's interfaces, not the host's.
    let sys = lab.exec_ok("pc-c", &["ls", "/sys/class/net"]);
    assert_eq!(sys.split_whitespace().collect::<Vec<_>>(), ["eth0", "lo"]);
    // Exit codes as `docker exec`: the command's own passes through; 127 a
    // missing command; 126 one that cannot be executed; 125 labctl's own
    // failure (below).
    assert_eq!(
        lab.exec("pc-a", &["sh", "-c", "exit 7"]).status.code(),
        Some(7)
    );
    assert_eq!(
        lab.exec("pc-a", &["no-such-command-x"]).status.code(),
        Some(127)
    );
    assert_eq!(
        lab.exec("pc-a", &["/etc/hostname"]).status.code(),
        Some(126)
    );
    // `ip netns exec` reaches the same namespace.
    let out = Command::new("ip")
        .args([
            "netns",
            "exec",
            &lab.namespace("pc-a"),
            "ip",
            "-br",
            "-4",
            "addr",
            "show",
            "eth0",
        ])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("192.168.10.11/24"),
        "{}",
        text(&out)
    );
    // Unknown nodes get a suggestion, and labctl's own exit code.
    let out = lab.exec("pc-d", &["true"]);
    assert_eq!(out.status.code(), Some(125), "{}", text(&out));
    assert!(text(&out).contains("did you mean"), "{}", text(&out));
    let out = lab.exec("nosuchnode", &["true"]);
    assert_eq!(out.status.code(), Some(125), "{}", text(&out));
    let out = labctl(&["exec", "no-such-lab-x", "pc-a", "--", "true"]);
    assert_eq!(out.status.code(), Some(125), "{}", text(&out));
}

#[test]
fn status_reports_the_kernels_view_as_json() {
    require_root();
    let lab = Lab::new("t-status", TWO_ROUTERS);
    lab.up_ok();
    let out = labctl(&["status", &lab.name, "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["version"], 1);
    assert_eq!(status["lab"]["name"], lab.name.as_str());
    assert_eq!(status["lab"]["daemon"]["running"], true);
    let nodes = status["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 8);
    let r1 = nodes.iter().find(|n| n["name"] == "r1").unwrap();
    assert_eq!(r1["namespace"], lab.namespace("r1").as_str());
    let eth1 = r1["interfaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "eth1")
        .unwrap();
    assert_eq!(eth1["state"], "up");
    assert_eq!(eth1["addresses"][0], "192.168.10.1/24");
    assert_eq!(eth1["peer"], "sw-a/eth0");
    let auto = r1["routes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["origin"] == "auto")
        .unwrap();
    assert_eq!(auto["to"], "192.168.30.0/24");
    assert_eq!(auto["via"], "10.0.0.2");
    let sw = nodes.iter().find(|n| n["name"] == "sw-a").unwrap();
    assert!(
        sw["interfaces"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["bridge"] == "br0")
    );

    let list: serde_json::Value =
        serde_json::from_slice(&labctl(&["status", "--json"]).stdout).unwrap();
    assert!(
        list["labs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["name"] == lab.name.as_str())
    );
}

#[test]
fn kill_9_of_the_daemon_then_down_is_clean() {
    require_root();
    let lab = Lab::new("t-kill", TWO_ROUTERS);
    lab.up_ok();
    let pid_file = std::fs::read_to_string(format!("/run/labctl/{}/daemon.pid", lab.name)).unwrap();
    let pid: i32 = pid_file.split_whitespace().next().unwrap().parse().unwrap();
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
    std::thread::sleep(Duration::from_millis(100));
    let status = String::from_utf8_lossy(&labctl(&["status"]).stdout).into_owned();
    assert!(
        status
            .lines()
            .any(|l| l.starts_with(&lab.name) && l.contains("STOPPED")),
        "{status}"
    );
    let out = lab.down();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(leftovers(&lab.name), Vec::<String>::new());
}

#[test]
fn two_labs_with_the_same_addresses_run_side_by_side() {
    require_root();
    let first = Lab::new("t-side-a", TWO_ROUTERS);
    let second = Lab::new("t-side-b", TWO_ROUTERS);
    first.up_ok();
    second.up_ok();
    assert_eq!(
        tcp_exchange(&first, "pc-c", "192.168.30.11", 7002).trim(),
        "hello 192.168.10.11"
    );
    // A listener in the first lab is not reachable from the second.
    let mut listener = Command::new(LABCTL)
        .args(["exec", &first.name, "pc-b", "--", "python3", "-c",
            "import socket,time\ns=socket.socket()\ns.bind(('0.0.0.0',7003))\ns.listen(1)\ntime.sleep(3)"])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let probe = second.exec("pc-a", &["python3", "-c",
        "import socket\ntry:\n  socket.create_connection(('192.168.20.11',7003),timeout=1)\n  print('open')\nexcept OSError:\n  print('closed')"]);
    assert_eq!(String::from_utf8_lossy(&probe.stdout).trim(), "closed");
    let _ = listener.wait();
    assert!(first.down().status.success());
    assert_eq!(leftovers(&first.name), Vec::<String>::new());
    // The second lab is untouched.
    assert_eq!(
        tcp_exchange(&second, "pc-c", "192.168.30.11", 7004).trim(),
        "hello 192.168.10.11"
    );
}

#[test]
fn the_same_lab_cannot_come_up_twice() {
    require_root();
    let lab = Lab::new("t-twice", TWO_ROUTERS);
    lab.up_ok();
    let out = lab.up();
    assert!(!out.status.success());
    let said = text(&out);
    assert!(
        said.contains("is already up") && said.contains(&format!("labctl down {}", lab.name)),
        "{said}"
    );
    // The running lab survived the refused second `up`.
    lab.exec_ok("pc-a", &["true"]);
}

#[test]
fn up_refuses_to_build_over_a_namespace_it_did_not_make() {
    require_root();
    let lab = Lab::new("t-squat", TWO_ROUTERS);
    let squatter = lab.namespace("sw-c");
    assert!(
        Command::new("ip")
            .args(["netns", "add", &squatter])
            .status()
            .unwrap()
            .success()
    );
    let out = lab.up();
    let survived = std::path::Path::new("/run/netns").join(&squatter).exists();
    let _ = Command::new("ip")
        .args(["netns", "delete", &squatter])
        .status();
    let said = text(&out);
    assert!(!out.status.success(), "{said}");
    assert!(
        said.contains("already exists") && said.contains("rename the lab"),
        "{said}"
    );
    assert!(survived, "the namespace labctl did not make is left alone");
    assert_eq!(leftovers(&lab.name), Vec::<String>::new());
}

#[test]
fn down_all_removes_every_lab_in_its_state_dir() {
    require_root();
    let state = TempDir::new("labctl-state");
    let labs = [
        Lab::new("t-all-a", TWO_ROUTERS),
        Lab::new("t-all-b", TWO_ROUTERS),
    ];
    let env = [("LABCTL_RUN_DIR", state.path())];
    for lab in &labs {
        let out = labctl_env(&["up", lab.file.to_str().unwrap()], &env);
        assert!(out.status.success(), "{}", text(&out));
    }
    let out = labctl_env(&["down", "--all"], &env);
    assert!(out.status.success(), "{}", text(&out));
    for lab in &labs {
        assert_eq!(leftovers(&lab.name), Vec::<String>::new());
    }
}

#[test]
fn down_accepts_the_lab_file() {
    require_root();
    let lab = Lab::new("t-file", TWO_ROUTERS);
    lab.up_ok();
    let out = labctl(&["down", lab.file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(leftovers(&lab.name), Vec::<String>::new());
}

/// A lab of `hosts` PCs on one switch (big enough to interrupt mid-build).
fn flat_lab(hosts: usize) -> String {
    let mut yaml = String::from("name: LAB\nnodes:\n  sw0: {kind: switch}\n");
    let mut links = String::from("links:\n");
    for i in 0..hosts {
        yaml.push_str(&format!(
            "  pc{i}: {{kind: host, interfaces: {{eth0: 10.{}.{}.{}/16}}}}\n",
            1,
            i / 250,
            i % 250 + 1
        ));
        links.push_str(&format!("  - [pc{i}, sw0]\n"));
    }
    yaml + &links
}

/// Starts `up` of a big lab and returns it once the build is under way.
fn up_under_way(lab: &Lab) -> std::process::Child {
    let up = Command::new(LABCTL)
        .args(["up", lab.file.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let prefix = format!("{}.", lab.name);
    let started = std::time::Instant::now();
    while std::fs::read_dir("/run/netns")
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
                .count()
        })
        .unwrap_or(0)
        < 20
    {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the build never started"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    up
}

#[test]
fn ctrl_c_during_up_rolls_back() {
    require_root();
    let lab = Lab::new("t-ctrlc", &flat_lab(400));
    let up = up_under_way(&lab);
    assert_eq!(unsafe { libc::kill(up.id() as i32, libc::SIGINT) }, 0);
    let out = up.wait_with_output().unwrap();
    let said = text(&out);
    assert!(!out.status.success(), "{said}");
    assert!(
        said.contains("interrupted") && said.contains("nothing was left behind"),
        "{said}"
    );
    assert_eq!(leftovers(&lab.name), Vec::<String>::new());
}

/// SIGTERM (a service manager, `timeout`) rolls back like Ctrl-C.
#[test]
fn sigterm_during_up_rolls_back() {
    require_root();
    let lab = Lab::new("t-term", &flat_lab(400));
    let up = up_under_way(&lab);
    assert_eq!(unsafe { libc::kill(up.id() as i32, libc::SIGTERM) }, 0);
    let out = up.wait_with_output().unwrap();
    let said = text(&out);
    assert!(!out.status.success(), "{said}");
    assert!(
        said.contains("terminated") && said.contains("nothing was left behind"),
        "{said}"
    );
    assert_eq!(leftovers(&lab.name), Vec::<String>::new());
}

/// `labctl test … | head -1`: the reader goes away after the first line,
/// and the next write raises SIGPIPE mid-build. That cancels the test like
/// Ctrl-C; it used to kill labctl with the lab half-built.
#[test]
fn a_closed_output_pipe_during_test_tears_the_lab_down() {
    require_root();
    let lab = Lab::new(
        "t-pipe",
        &(flat_lab(60) + "checks:\n  - {ping: {from: pc0, to: pc1}}\n"),
    );
    let piped = Command::new("sh")
        .args([
            "-c",
            &format!(
                "'{LABCTL}' test '{}' 2>&1 | head -1",
                lab.file.to_str().unwrap()
            ),
        ])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&piped.stdout).starts_with("building lab"),
        "{}",
        text(&piped)
    );
    // `sh` returns when head does; labctl tears down after that.
    let state = std::path::Path::new("/run/labctl").join(&lab.name);
    let started = std::time::Instant::now();
    while (!leftovers(&lab.name).is_empty() || state.exists())
        && started.elapsed() < Duration::from_secs(20)
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(leftovers(&lab.name), Vec::<String>::new());
    assert!(!state.exists(), "state dir {} left", state.display());
}

#[test]
fn kill_9_of_up_mid_build_then_down_is_clean() {
    require_root();
    let lab = Lab::new("t-kill-up", &flat_lab(400));
    let mut up = up_under_way(&lab);
    up.kill().unwrap();
    let _ = up.wait();
    let out = lab.down();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(leftovers(&lab.name), Vec::<String>::new());
}

/// The tunnel modules whose fallback devices (`tunl0`, `sit0`, `gre0`,
/// `gretap0`, `erspan0`, `ip6tnl0`, `ip6gre0`, `ip_vti0`, `ip6_vti0`) the
/// kernel adds to every new namespace, at indices 2, 3, … in load order.
const TUNNEL_MODULES: [(&str, &[&str]); 7] = [
    ("ipip", &["tunl0"]),
    ("sit", &["sit0"]),
    ("ip_gre", &["gre0", "gretap0", "erspan0"]),
    ("ip6_tunnel", &["ip6tnl0"]),
    ("ip6_gre", &["ip6gre0"]),
    ("ip_vti", &["ip_vti0"]),
    ("ip6_vti", &["ip6_vti0"]),
];

/// Loads each tunnel module: the fallback devices of those that loaded, and
/// why the others did not.
fn load_tunnel_modules() -> (Vec<&'static str>, Vec<String>) {
    let (mut devices, mut failures) = (Vec::new(), Vec::new());
    for (module, fallback) in TUNNEL_MODULES {
        match Command::new("modprobe").arg(module).output() {
            Ok(out) if out.status.success() => devices.extend_from_slice(fallback),
            Ok(out) => failures.push(format!(
                "{module}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )),
            Err(e) => {
                failures = vec![format!("cannot run modprobe: {e}")];
                break;
            }
        }
    }
    (devices, failures)
}

/// `(index, name)` of every interface in a namespace, as `ip` reports them.
fn kernel_links(namespace: &str) -> Vec<(u64, String)> {
    let out = Command::new("ip")
        .args(["-n", namespace, "-j", "link", "show"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let links: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    links
        .iter()
        .map(|l| {
            (
                l["ifindex"].as_u64().unwrap(),
                l["ifname"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

const SWITCH_ROUTER_HOSTS: &str = "
name: LAB
nodes:
  r1:
    kind: router
    interfaces: {eth0: 192.168.1.1/24, eth1: 192.168.2.1/24}
  sw0: {kind: switch}
  pc0: {kind: host, interfaces: {eth0: 192.168.1.10/24}, gateway: 192.168.1.1}
  pc1: {kind: host, interfaces: {eth0: 192.168.1.11/24}, gateway: 192.168.1.1}
  pc2: {kind: host, interfaces: {eth0: 192.168.2.10/24}, gateway: 192.168.2.1}
links: [[r1:eth0, sw0], [pc0, sw0], [pc1, sw0], [r1:eth1, pc2]]
";

/// With the tunnel modules loaded the kernel puts its fallback devices at
/// the low indices of every new namespace; the planned indices (bridge 20,
/// interfaces from 21) must not collide with them.
#[test]
fn up_works_beside_the_kernels_fallback_tunnel_devices() {
    require_root();
    let (fallback, failures) = load_tunnel_modules();
    if !failures.is_empty() {
        eprintln!(
            "NOTE: could not load the tunnel modules ({}), so the kernel's fallback \
             devices are present only for those that loaded: {fallback:?}. Tested \
             instead: up with a switch, a router and hosts, ping across both, and every \
             namespace's interface indices equal to the plan's (lo 1, br0 20, interfaces \
             21 and on), with 2-19 left to the fallback devices.",
            failures.join("; ")
        );
    }
    let known_fallback: Vec<&str> = TUNNEL_MODULES
        .iter()
        .flat_map(|(_, devices)| devices.iter().copied())
        .collect();
    let lab = Lab::new("t-tunnels", SWITCH_ROUTER_HOSTS);
    lab.up_ok();

    let record: serde_json::Value = serde_json::from_slice(
        &std::fs::read(format!("/run/labctl/{}/lab.json", lab.name)).unwrap(),
    )
    .unwrap();
    for node in record["plan"]["nodes"].as_array().unwrap() {
        let name = node["name"].as_str().unwrap();
        let namespace = node["namespace"].as_str().unwrap();
        let links = kernel_links(namespace);
        let mut expected: Vec<(u64, String)> = node["interfaces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                (
                    i["index"].as_u64().unwrap(),
                    i["name"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        expected.push((1, "lo".into()));
        if node["kind"] == "switch" {
            expected.push((20, "br0".into()));
        }
        for (index, planned) in &expected {
            assert!(
                links.iter().any(|(i, n)| i == index && n == planned),
                "{name}: planned {planned} at index {index}, the kernel has {links:?}"
            );
        }
        for (index, device) in &links {
            if expected.iter().any(|(_, n)| n == device) {
                assert!(*index == 1 || *index >= 20, "{name}: {device} at {index}");
                continue;
            }
            assert!(
                known_fallback.contains(&device.as_str()) && (2..20).contains(index),
                "{name}: unexpected {device} at index {index}: {links:?}"
            );
        }
        for device in &fallback {
            assert!(
                links.iter().any(|(_, n)| n == device),
                "{name}: the kernel did not add {device}: {links:?}"
            );
        }
        eprintln!("{name}: {links:?}");
    }

    for (from, to) in [
        ("pc0", "192.168.1.11"),
        ("pc0", "192.168.2.10"),
        ("pc2", "192.168.1.1"),
    ] {
        lab.exec_ok(from, &["ping", "-c", "1", "-W", "2", to]);
    }
}
