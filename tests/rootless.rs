//! Rootless labs, as an ordinary user. CI runs as root, so each test makes a
//! system user (`labctl-test`, `labctl-test2`) when missing and runs the
//! built labctl as that user through `setpriv`, with HOME and
//! XDG_RUNTIME_DIR a fresh dir of the user's own, removed afterwards. The
//! tests take turns (one lock): each asserts that its user has no process
//! left when it is done.

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
        User {
            name,
            uid: id("-u").expect("the test user exists"),
            gid: id("-g").expect("the test user has a group"),
        }
    }

    /// The user's processes (zombies waiting for their parent are gone).
    fn processes(&self) -> Vec<String> {
        let mut found = Vec::new();
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Ok(meta) = entry.metadata() else { continue };
            if meta.uid() != self.uid || entry.file_name().to_string_lossy().parse::<u32>().is_err()
            {
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
        Command::new("setpriv")
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
            .env("XDG_RUNTIME_DIR", &self.runtime)
            .output()
            .expect("setpriv runs")
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
