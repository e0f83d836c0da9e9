//! Rootless labs, as an ordinary user. CI runs as root, so each test makes a
//! system user (`labctl-test`, `labctl-test2`) when missing and runs the
//! built labctl as that user through `setpriv`, with HOME and
//! XDG_RUNTIME_DIR a fresh dir of the user's own, removed afterwards.
//! `labctl-test` has subordinate ids (/etc/subuid and /etc/subgid entries,
//! given here when missing), so its labs map a full range of ids;
//! `labctl-test2` has none, so its labs map only its own. The tests take
//! turns (one lock): each asserts that its user (and its subordinate ids)
//! has no process left when it is done.

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::{LABCTL, host_network, require_root, text, unique_name};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// An ordinary user, made for these tests if missing.
struct User {
    name: &'static str,
    uid: u32,
    gid: u32,
    /// Its subordinate uids (first, count), when it has them.
    subuids: Option<(u32, u32)>,
}

/// The test user with subordinate ids, and the one without.
const WITH_SUBIDS: &str = "labctl-test";
const WITHOUT_SUBIDS: &str = "labctl-test2";

/// How many subordinate ids the tests give, as `useradd` does by default.
const SUBID_COUNT: u32 = 65536;

/// `user`'s first range in /etc/subuid or /etc/subgid.
fn subordinate_range(file: &str, user: &str) -> Option<(u32, u32)> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .find_map(|line| {
            let mut fields = line.split(':');
            (fields.next()? == user).then_some(())?;
            Some((fields.next()?.parse().ok()?, fields.next()?.parse().ok()?))
        })
}

/// Gives `user` subordinate uids and gids when it has none: one range after
/// every range the two files already hold, so none overlaps.
fn grant_subordinate_ids(user: &str) -> (u32, u32) {
    if let (Some(uids), Some(_)) = (
        subordinate_range("/etc/subuid", user),
        subordinate_range("/etc/subgid", user),
    ) {
        return uids;
    }
    let mut start: u64 = 100_000;
    for file in ["/etc/subuid", "/etc/subgid"] {
        for line in std::fs::read_to_string(file).unwrap_or_default().lines() {
            let fields: Vec<&str> = line.split(':').collect();
            if let [_, first, count] = fields[..]
                && let (Ok(first), Ok(count)) = (first.parse::<u64>(), count.parse::<u64>())
            {
                start = start.max(first + count);
            }
        }
    }
    let start = u32::try_from(start).expect("room for subordinate ids");
    let range = format!("{start}-{}", start + SUBID_COUNT - 1);
    let granted = Command::new("usermod")
        .args(["--add-subuids", &range, "--add-subgids", &range, user])
        .status()
        .expect("usermod runs");
    assert!(granted.success(), "cannot give {user} subordinate ids");
    (start, SUBID_COUNT)
}

impl User {
    fn get(name: &'static str) -> User {
        let id = |flag: &str| {
            Command::new("id")
                .args([flag, name])
                .output()
                .ok()
                .filter(|o| o.status.success())
                .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        };
        if id("-u").is_none() {
            let made = Command::new("useradd")
                .args([
                    "--system",
                    "--no-create-home",
                    "--shell",
                    "/usr/sbin/nologin",
                    name,
                ])
                .status()
                .expect("useradd runs");
            assert!(made.success(), "cannot create the test user {name}");
        }
        let subuids = if name == WITH_SUBIDS {
            Some(grant_subordinate_ids(name))
        } else {
            assert!(
                subordinate_range("/etc/subuid", name).is_none()
                    && subordinate_range("/etc/subgid", name).is_none(),
                "{name} must have no /etc/subuid or /etc/subgid entry for these tests"
            );
            None
        };
        User {
            name,
            uid: id("-u").expect("the test user exists"),
            gid: id("-g").expect("the test user has a group"),
            subuids,
        }
    }

    /// Whether `uid` is the user's own or one of its subordinate ids.
    fn owns(&self, uid: u32) -> bool {
        uid == self.uid
            || self
                .subuids
                .is_some_and(|(first, count)| (first..first + count).contains(&uid))
    }

    /// The user's processes, its subordinate ids' included (zombies
    /// waiting for their parent are gone).
    fn processes(&self) -> Vec<String> {
        self.processes_where(|uid| self.owns(uid))
    }

    /// The processes running as `uid` (seen from the host).
    fn processes_of(&self, uid: u32) -> Vec<String> {
        self.processes_where(|u| u == uid)
    }

    fn processes_where(&self, wanted: impl Fn(u32) -> bool) -> Vec<String> {
        let mut found = Vec::new();
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Ok(meta) = entry.metadata() else { continue };
            if !wanted(meta.uid()) || entry.file_name().to_string_lossy().parse::<u32>().is_err() {
                continue;
            }
            let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
            let zombie = stat
                .rfind(')')
                .is_some_and(|i| stat[i + 1..].trim_start().starts_with('Z'));
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            if !zombie && !stat.is_empty() {
                found.push(String::from_utf8_lossy(&cmdline).replace('\0', " "));
            }
        }
        found
    }

    /// Waits (a little) until the user has no process left.
    fn processes_after_down(&self) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let left = self.processes();
            if left.is_empty() || Instant::now() > deadline {
                return left;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A user's login, as far as labctl sees it: its runtime dir (0700, its
/// own), removed with everything in it at the end, after `down --all`.
struct Session {
    user: User,
    runtime: PathBuf,
}

impl Session {
    fn new(user: &'static str) -> Session {
        let user = User::get(user);
        let runtime = std::env::temp_dir().join(unique_name("labctl-rootless"));
        std::fs::create_dir(&runtime).unwrap();
        std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::os::unix::fs::chown(&runtime, Some(user.uid), Some(user.gid)).unwrap();
        Session { user, runtime }
    }

    fn labctl(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("setpriv runs")
    }

    /// labctl as this user, to run or spawn.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new("setpriv");
        command
            .args([
                &format!("--reuid={}", self.user.uid),
                &format!("--regid={}", self.user.gid),
                "--init-groups",
                "--",
                LABCTL,
            ])
            .args(args)
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
            .env("HOME", &self.runtime)
            .env("XDG_RUNTIME_DIR", &self.runtime);
        command
    }

    fn labctl_ok(&self, args: &[&str]) -> String {
        let out = self.labctl(args);
        let said = text(&out);
        assert!(
            out.status.success(),
            "labctl {args:?} as {}: {said}",
            self.user.name
        );
        said
    }

    /// The user's lab state: what is left of it after `down`.
    fn state_entries(&self) -> Vec<String> {
        let mut found = Vec::new();
        let mut stack = vec![self.runtime.join("labctl")];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                found.push(entry.path().display().to_string());
                if entry.path().is_dir() {
                    stack.push(entry.path());
                }
            }
        }
        found
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.labctl(&["down", "--all"]);
        let _ = std::fs::remove_dir_all(&self.runtime);
    }
}

fn lab_file(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("labs")
        .join(name)
        .display()
        .to_string()
}

/// What of lab `name` the host (root's view) can see: namespaces under
/// /run/netns, /etc/netns entries, a state dir under /run/labctl.
fn seen_by_the_host(name: &str) -> Vec<String> {
    let prefix = format!("{name}.");
    let mut found = Vec::new();
    for dir in ["/run/netns", "/etc/netns"] {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            if entry.file_name().to_string_lossy().starts_with(&prefix) {
                found.push(entry.path().display().to_string());
            }
        }
    }
    if Path::new("/run/labctl").join(name).exists() {
        found.push(format!("/run/labctl/{name}"));
    }
    found
}

#[test]
fn a_course_lab_is_graded_by_test_as_an_ordinary_user() {
    require_root();
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let session = Session::new("labctl-test");
    let name = unique_name("rl-test");
    let said = session.labctl_ok(&["test", &lab_file("mastertech.yaml"), "--name", &name]);
    // Every check, mail from Ada (behind r1) to Bob (behind r2) included.
    assert!(said.contains("score: 15/15 points"), "{said}");
    assert!(said.contains("PASS  14. Ada emails Bob"), "{said}");
    assert!(
        said.contains("accepted by mail.mt.com") && said.contains("in mgmt-pc1's mailbox"),
        "{said}"
    );
    assert_eq!(session.user.processes_after_down(), Vec::<String>::new());
    assert_eq!(session.state_entries(), Vec::<String>::new());
}

#[test]
fn up_exec_of_real_tools_and_down_leaves_nothing() {
    require_root();
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let host_before = host_network();
    let session = Session::new("labctl-test");
    let name = unique_name("rl-up");
    let said = session.labctl_ok(&["up", &lab_file("mastertech.yaml"), "--name", &name]);
    assert!(said.contains(&format!("lab {name} is up")), "{said}");

    // Real tools inside, against the lab's own servers on their usual ports.
    let dig = session.labctl_ok(&[
        "exec",
        &name,
        "mgmt-pc1",
        "--",
        "dig",
        "+short",
        "www.mastertech.com",
    ]);
    assert!(dig.contains("192.168.10.3"), "{dig}");
    let curl = session.labctl_ok(&[
        "exec",
        &name,
        "frontend-pc1",
        "--",
        "curl",
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "http://www.mastertech.com/",
    ]);
    assert!(curl.contains("200"), "{curl}");
    // A router forwards: a PC behind r2 reaches the server behind r1.
    session.labctl_ok(&[
        "exec",
        &name,
        "mgmt-pc1",
        "--",
        "ping",
        "-c1",
        "-W2",
        "192.168.10.2",
    ]);
    let sysctl = session.labctl_ok(&[
        "exec",
        &name,
        "r2",
        "--",
        "cat",
        "/proc/sys/net/ipv4/ip_forward",
    ]);
    assert!(sysctl.contains("\n1\n"), "{sysctl}");
    // The node's own /etc and name, as with root.
    let etc = session.labctl_ok(&[
        "exec",
        &name,
        "mgmt-pc1",
        "--",
        "sh",
        "-c",
        "hostname; cat /etc/resolv.conf",
    ]);
    assert!(
        etc.contains("mgmt-pc1\n") && etc.contains("nameserver 192.168.10.2"),
        "{etc}"
    );
    // Mail across the two routers, through labctl's mail client.
    session.labctl_ok(&[
        "mail",
        "send",
        &name,
        "backend-pc1",
        "--to",
        "bob@mt.com",
        "--subject",
        "rootless hello",
    ]);
    let inbox = session.labctl_ok(&["mail", "inbox", &name, "mgmt-pc1"]);
    assert!(inbox.contains("rootless hello"), "{inbox}");
    let status = session.labctl_ok(&["status", &name, "--json"]);
    assert!(status.contains("\"running\": true"), "{status}");

    // The daemon runs as the user, and nothing of the lab is on the host.
    let processes = session.user.processes();
    assert!(
        processes
            .iter()
            .any(|p| p.contains("labctl daemon") && p.contains(&name)),
        "{processes:?}"
    );
    assert_eq!(seen_by_the_host(&name), Vec::<String>::new());
    assert_eq!(host_network(), host_before, "the host's network changed");

    let said = session.labctl_ok(&["down", &name]);
    assert!(said.contains(&format!("lab {name} is down")), "{said}");
    assert_eq!(session.user.processes_after_down(), Vec::<String>::new());
    assert_eq!(session.state_entries(), Vec::<String>::new());
    let again = text(&session.labctl(&["exec", &name, "mgmt-pc1", "--", "true"]));
    assert!(
        again.contains("exit Some(125)") && again.contains("is not up"),
        "{again}"
    );
}

#[test]
fn two_users_run_the_same_lab_name_and_never_see_each_other() {
    require_root();
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (ada, bob) = (Session::new("labctl-test"), Session::new("labctl-test2"));
    let name = unique_name("rl-two");
    ada.labctl_ok(&["up", &lab_file("two-routers.yaml"), "--name", &name]);
    bob.labctl_ok(&["up", &lab_file("two-routers.yaml"), "--name", &name]);
    for session in [&ada, &bob] {
        let list = session.labctl_ok(&["status"]);
        assert_eq!(list.matches(&name).count(), 1, "{list}");
        session.labctl_ok(&[
            "exec",
            &name,
            "backend-pc1",
            "--",
            "ping",
            "-c1",
            "-W2",
            "192.168.30.11",
        ]);
    }
    // Bob's labs are not Ada's to see or stop.
    let other = ada.labctl(&["status", "--json"]);
    assert!(!text(&other).contains(&bob.runtime.display().to_string()));
    bob.labctl_ok(&["down", &name]);
    assert_eq!(bob.user.processes_after_down(), Vec::<String>::new());
    ada.labctl_ok(&[
        "exec",
        &name,
        "backend-pc1",
        "--",
        "ping",
        "-c1",
        "-W2",
        "192.168.30.11",
    ]);
    ada.labctl_ok(&["down", &name]);
    assert_eq!(ada.user.processes_after_down(), Vec::<String>::new());
}

/// Where the system forbids user namespaces, labctl names the setting and
/// the fix. The limit is set to 0 inside a user namespace of this test's
/// own (the setting is per user namespace), so the host is not touched.
#[test]
fn forbidden_user_namespaces_are_explained_with_the_setting_and_its_fix() {
    require_root();
    let runtime = common::TempDir::new("labctl-rootless-forbidden");
    let script = format!(
        "echo 0 > /proc/sys/user/max_user_namespaces && exec {LABCTL} --rootless up {}",
        lab_file("two-routers.yaml")
    );
    let out = Command::new("unshare")
        .args(["--user", "--map-root-user", "sh", "-c", &script])
        .env("XDG_RUNTIME_DIR", runtime.path())
        .output()
        .expect("unshare runs");
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("this system does not let an ordinary user create user namespaces")
            && said.contains("user.max_user_namespaces is 0")
            && said.contains("sysctl -w user.max_user_namespaces="),
        "{said}"
    );
}

/// The lines of `/proc/self/{file}` inside node `node`, whitespace folded.
fn map_inside(session: &Session, lab: &str, node: &str, file: &str) -> Vec<String> {
    let out = session.labctl_ok(&[
        "exec",
        lab,
        node,
        "--",
        "cat",
        &format!("/proc/self/{file}"),
    ]);
    let stdout = out
        .split("--- stdout\n")
        .nth(1)
        .and_then(|rest| rest.split("--- stderr\n").next())
        .unwrap_or_default();
    stdout
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

/// The uid of a system user on the host (and so in the lab, which shares
/// the host's /etc/passwd).
fn system_uid(name: &str) -> u32 {
    let out = Command::new("id").args(["-u", name]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

#[test]
fn tcpdump_captures_rootless_with_subordinate_ids_and_down_stops_it() {
    require_root();
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let session = Session::new(WITH_SUBIDS);
    let (first, count) = session.user.subuids.expect("the user has subordinate ids");
    let name = unique_name("rl-tcpdump");
    let said = session.labctl_ok(&["up", &lab_file("two-routers.yaml"), "--name", &name]);
    assert!(!said.contains("subordinate ids"), "{said}");
    // 0 is the user, 1.. the subordinate range; setgroups stays allowed.
    let uid = session.user.uid;
    assert_eq!(
        map_inside(&session, &name, "backend-pc1", "uid_map"),
        [format!("0 {uid} 1"), format!("1 {first} {count}")]
    );
    assert_eq!(
        map_inside(&session, &name, "backend-pc1", "setgroups"),
        ["allow"]
    );

    // tcpdump drops to its own user; it captures the ping that crosses
    // the two routers from backend-pc1 to mgmt-pc1.
    let capture = session
        .command(&[
            "exec", &name, "mgmt-pc1", "--", "timeout", "20", "tcpdump", "-n", "-c", "1", "-i",
            "eth0", "icmp",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("labctl exec tcpdump starts");
    let tcpdump = system_uid("tcpdump");
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut capture = Some(capture);
    let mut pings = 0;
    while capture.as_mut().unwrap().try_wait().unwrap().is_none() && Instant::now() < deadline {
        session.labctl(&[
            "exec",
            &name,
            "backend-pc1",
            "--",
            "ping",
            "-c1",
            "-W1",
            "192.168.30.11",
        ]);
        pings += 1;
    }
    let out = capture.take().unwrap().wait_with_output().unwrap();
    let said = text(&out);
    assert!(out.status.success(), "after {pings} pings: {said}");
    assert!(
        said.contains("192.168.10.11 > 192.168.30.11: ICMP echo request")
            && said.contains("1 packet captured"),
        "{said}"
    );

    // A tcpdump left running, as its own user (a subordinate id outside),
    // is stopped by `down` with everything else.
    session.labctl_ok(&[
        "exec",
        &name,
        "r1",
        "--",
        "sh",
        "-c",
        "tcpdump -n -i eth0 </dev/null >/dev/null 2>&1 &",
    ]);
    let as_tcpdump = first + tcpdump - 1;
    let deadline = Instant::now() + Duration::from_secs(5);
    while !session
        .user
        .processes_of(as_tcpdump)
        .iter()
        .any(|p| p.contains("tcpdump"))
    {
        assert!(
            Instant::now() < deadline,
            "no tcpdump runs as uid {as_tcpdump}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    session.labctl_ok(&["down", &name]);
    assert_eq!(session.user.processes_after_down(), Vec::<String>::new());
    assert_eq!(session.state_entries(), Vec::<String>::new());
}

#[test]
fn without_subordinate_ids_only_the_users_own_id_is_mapped_and_up_says_so() {
    require_root();
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let session = Session::new(WITHOUT_SUBIDS);
    let name = unique_name("rl-oneid");
    let said = session.labctl_ok(&["up", &lab_file("two-routers.yaml"), "--name", &name]);
    assert!(
        said.contains(&format!(
            "warning: only your own user id is mapped in the lab (/etc/subuid has no range for {WITHOUT_SUBIDS}); \
             tools that switch user (tcpdump) need subordinate ids: ask an administrator for \
             /etc/subuid and /etc/subgid entries and the uidmap package"
        )),
        "{said}"
    );
    let uid = session.user.uid;
    assert_eq!(
        map_inside(&session, &name, "backend-pc1", "uid_map"),
        [format!("0 {uid} 1")]
    );
    assert_eq!(
        map_inside(&session, &name, "backend-pc1", "setgroups"),
        ["deny"]
    );
    // The lab works; a tool that switches user cannot.
    session.labctl_ok(&[
        "exec",
        &name,
        "backend-pc1",
        "--",
        "ping",
        "-c1",
        "-W2",
        "192.168.30.11",
    ]);
    let tcpdump = text(&session.labctl(&[
        "exec",
        &name,
        "backend-pc1",
        "--",
        "timeout",
        "10",
        "tcpdump",
        "-c",
        "1",
        "-i",
        "eth0",
    ]));
    assert!(
        tcpdump.contains("Couldn't change to 'tcpdump'"),
        "{tcpdump}"
    );
    session.labctl_ok(&["down", &name]);
    assert_eq!(session.user.processes_after_down(), Vec::<String>::new());
    assert_eq!(session.state_entries(), Vec::<String>::new());
}

/// `curl -s URL` from the host (this test's own network namespace).
fn curl_from_the_host(args: &[&str]) -> String {
    let out = Command::new("curl")
        .args(["-s", "--max-time", "5"])
        .args(args)
        .output()
        .expect("curl runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_web_view_of_a_rootless_lab_is_served_on_the_hosts_loopback() {
    require_root();
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let session = Session::new(WITHOUT_SUBIDS);
    let name = unique_name("rl-web");
    session.labctl_ok(&["up", &lab_file("mastertech.yaml"), "--name", &name]);
    let mut child = session
        .command(&["web", &name, "--listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("labctl web starts");
    let stdout = child.stdout.take().expect("piped");
    let server = common::Spawned(child);
    let mut first = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut first)
        .expect("labctl web prints its URL");
    let url = first
        .split_whitespace()
        .find(|w| w.starts_with("http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("no URL in {first:?}"))
        .to_string();

    // The host's curl gets the page and the lab's state, read inside it.
    let page = curl_from_the_host(&[&url]);
    assert!(page.contains("<title>"), "{page}");
    let status = curl_from_the_host(&[&format!("{url}api/status")]);
    let status: serde_json::Value =
        serde_json::from_str(&status).unwrap_or_else(|e| panic!("{e}: {status}"));
    assert_eq!(status["lab"]["name"], name.as_str(), "{status}");
    let leases = status["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["interfaces"][0]["lease"]["address"].is_string())
        .count();
    assert!(leases >= 1, "no DHCP lease seen: {status}");
    // Its events are captured inside the lab: a fetch the host asks for
    // shows up as HTTP events in the stream.
    let probe = curl_from_the_host(&[
        "-H",
        "Content-Type: application/json",
        "-H",
        "X-Labctl-Web: 1",
        "-d",
        r#"{"from": "frontend-pc1", "url": "http://www.mastertech.com/"}"#,
        &format!("{url}api/probe"),
    ]);
    assert!(probe.contains(r#""passed":true"#), "{probe}");
    let events = curl_from_the_host(&["--max-time", "2", &format!("{url}api/events")]);
    assert!(events.contains("event: pdu"), "{events}");
    assert!(events.contains(r#""proto":"http""#), "{events}");

    drop(server);
    session.labctl_ok(&["down", &name]);
    assert_eq!(session.user.processes_after_down(), Vec::<String>::new());
}
