//! Helpers for tests that build real labs (root needed): run the labctl
//! binary, give every lab a unique name, and tear it down even when the test
//! fails (Drop guards: the lab, its temporary files, the peers a test
//! starts in it).

#![allow(dead_code)] // each test binary uses a different part of this file

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

pub const LABCTL: &str = env!("CARGO_BIN_EXE_labctl");

/// A Python script driving headless Chromium over WebDriver: `body`
/// after the `Browser` helper of `webdriver.py` (run it with `python3 -c`).
pub fn browser_script(body: &str) -> String {
    format!("{}\n{body}", include_str!("webdriver.py"))
}

/// Fails loudly unless root: these tests must not pass by doing nothing.
pub fn require_root() {
    let uid = unsafe { libc::geteuid() };
    assert_eq!(
        uid, 0,
        "lab tests need root (CI runs them as root): run `make test` as root"
    );
}

/// A name no other test (or earlier run) uses: `PREFIX-PID-N`.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}-{}-{n}", std::process::id() % 100_000)
}

pub fn labctl(args: &[&str]) -> Output {
    Command::new(LABCTL)
        .args(args)
        .output()
        .expect("labctl runs")
}

pub fn labctl_env(args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut command = Command::new(LABCTL);
    command.args(args);
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("labctl runs")
}

pub fn text(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A fresh directory under the system's temp dir, removed with everything
/// in it on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    /// `PREFIX-PID-N` under the temp dir (see `unique_name`).
    pub fn new(prefix: &str) -> TempDir {
        let dir = std::env::temp_dir().join(unique_name(prefix));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// A path inside the directory.
    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A process a test started (a peer's daemon, such as dnsmasq): on drop it
/// gets SIGTERM, so it can clean up after itself, and is reaped; SIGKILL
/// only if it has not ended after 5 s.
pub struct Spawned(pub Child);

impl Drop for Spawned {
    fn drop(&mut self) {
        // Until it is reaped its pid cannot be reused: the signal reaches it.
        unsafe { libc::kill(self.0.id() as i32, libc::SIGTERM) };
        for _ in 0..50 {
            if !matches!(self.0.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A lab written to a temp file; `down` (and the file removed) on drop.
pub struct Lab {
    pub name: String,
    pub file: PathBuf,
    dir: TempDir,
}

impl Lab {
    /// `yaml` uses the placeholder `LAB` for the lab's unique name.
    pub fn new(prefix: &str, yaml: &str) -> Lab {
        let name = unique_name(prefix);
        let dir = TempDir(std::env::temp_dir().join(format!("labctl-test-{name}")));
        std::fs::create_dir_all(dir.path()).unwrap();
        let file = dir.join("lab.yaml");
        std::fs::write(&file, yaml.replace("LAB", &name)).unwrap();
        Lab { name, file, dir }
    }

    /// The lab's own temp dir, removed with the lab.
    pub fn temp_dir(&self) -> &Path {
        self.dir.path()
    }

    /// A path for a file the test writes (a client's config, a pid file):
    /// in the lab's own temp dir, removed with the lab.
    pub fn scratch(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    pub fn up(&self) -> Output {
        labctl(&["up", self.file.to_str().unwrap()])
    }

    pub fn up_ok(&self) {
        let out = self.up();
        assert!(out.status.success(), "up failed:\n{}", text(&out));
    }

    pub fn exec(&self, node: &str, command: &[&str]) -> Output {
        let mut args = vec!["exec", &self.name, node, "--"];
        args.extend_from_slice(command);
        labctl(&args)
    }

    pub fn exec_ok(&self, node: &str, command: &[&str]) -> String {
        let out = self.exec(node, command);
        assert!(
            out.status.success(),
            "exec on {node} {command:?} failed:\n{}",
            text(&out)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// busybox's DHCP client on `node`'s eth0, once (quit after the lease,
    /// no script, 5 tries), with `extra` options (`-x hostname:NAME`).
    pub fn udhcpc(&self, node: &str, extra: &[&str]) -> Output {
        let mut command = vec![
            "busybox",
            "udhcpc",
            "-i",
            "eth0",
            "-n",
            "-q",
            "-f",
            "-s",
            "/bin/true",
            "-t",
            "5",
        ];
        command.extend_from_slice(extra);
        self.exec(node, &command)
    }

    pub fn down(&self) -> Output {
        labctl(&["down", &self.name])
    }

    pub fn namespace(&self, node: &str) -> String {
        format!("{}.{node}", self.name)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        // The temp dir goes after this, as a field.
        let _ = self.down();
    }
}

/// Everything a lab may leave behind, by its name: namespaces, /etc/netns
/// entries, its state dir and processes mentioning it.
pub fn leftovers(lab: &str) -> Vec<String> {
    let mut found = Vec::new();
    let prefix = format!("{lab}.");
    for dir in ["/run/netns", "/etc/netns"] {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(&prefix) {
                found.push(format!("{dir}/{name}"));
            }
        }
    }
    let state = Path::new("/run/labctl").join(lab);
    if state.exists() {
        found.push(state.display().to_string());
    }
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let args: Vec<String> = cmdline
            .split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        if args.iter().any(|a| a.contains("labctl")) && args.iter().any(|a| a == lab) {
            found.push(format!(
                "process {:?}: {}",
                entry.file_name(),
                args.join(" ")
            ));
        }
    }
    found
}

/// The host's interfaces, addresses and IPv4 routes, to prove a lab leaves
/// them alone.
pub fn host_network() -> String {
    let run = |args: &[&str]| {
        let out = Command::new("ip").args(args).output().expect("ip runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    [
        run(&["-br", "link"]),
        run(&["-br", "-4", "addr"]),
        run(&["-4", "route", "show", "table", "all"]),
    ]
    .join("\n")
}

/// Runs `check` every 100 ms until it returns true or `within` passes.
pub fn eventually(within: std::time::Duration, mut check: impl FnMut() -> bool) -> bool {
    let start = std::time::Instant::now();
    while start.elapsed() < within {
        if check() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    false
}
