//! Starting a lab's daemon, and tearing a lab down. Teardown is the one
//! implementation shared by `down`, the rollback of a failed `up` and the
//! end of `test`: it works from the lab record alone, is idempotent, and
//! works after a crash or `kill -9`.

use std::collections::HashSet;
use std::fs;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::daemon::control::{self, Request};
use crate::daemon::lock;
use crate::daemon::pidfile::{ProcessId, start_time};
use crate::lab::plan::Plan;
use crate::net::{etc, netns};
use crate::state::{LabDir, private_file};

/// How long a process gets to exit after SIGTERM before SIGKILL.
const GRACE: Duration = Duration::from_secs(2);

/// Starts the lab daemon in the background and waits until it answers. If
/// it does not, or this future is dropped (Ctrl-C), the daemon is killed.
pub async fn start_daemon(dir: &LabDir, timeout: Duration) -> Result<()> {
    let log = private_file(&dir.log_path(), true)
        .with_context(|| format!("cannot open {}", dir.log_path().display()))?;
    let exe = std::env::current_exe().context("cannot find the labctl executable")?;
    let mut command = Command::new(exe);
    command
        .arg("daemon")
        .arg(&dir.name)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    // SAFETY: setsid is async-signal-safe; it detaches the daemon from the
    // terminal so Ctrl-C on `up` or the shell's exit does not reach it.
    unsafe {
        command.pre_exec(|| {
            nix::unistd::setsid().map_err(std::io::Error::from)?;
            Ok(())
        });
    }
    let mut starting = Starting(Some(
        command.spawn().context("cannot start the lab daemon")?,
    ));
    let deadline = Instant::now() + timeout;
    loop {
        if control::call(&dir.socket_path(), &Request::Ping).is_ok_and(|r| r.ok) {
            starting.0 = None;
            return Ok(());
        }
        if let Some(status) = starting
            .0
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
        {
            bail!(
                "the lab daemon exited ({status}) while starting:\n{}",
                log_tail(&dir.log_path())
            );
        }
        if Instant::now() > deadline {
            bail!(
                "the lab daemon did not answer within {timeout:?}:\n{}",
                log_tail(&dir.log_path())
            );
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A daemon that has not answered yet: killed if given up on.
struct Starting(Option<std::process::Child>);

impl Drop for Starting {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn log_tail(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// Removes everything of a lab: its daemon, every process inside its
/// namespaces, the namespaces (and with them every link and bridge), the
/// files under /etc/netns, and the state dir. Missing pieces are skipped.
pub fn teardown(dir: &LabDir, plan: Option<&Plan>) -> Result<()> {
    stop_daemon(dir);
    // Keep going past a failure: remove all that can be removed, then say
    // what could not.
    let failures = match plan {
        Some(plan) => {
            let namespaces: Vec<&str> = plan.nodes.iter().map(|n| n.namespace.as_str()).collect();
            kill_processes_inside(&namespaces);
            remove_namespaces(&namespaces)
        }
        None => Vec::new(),
    };
    let failures = match etc::unmount_store(&dir.dir.join(etc::STORE)) {
        Ok(()) => failures,
        Err(e) => [failures, vec![format!("{e:#}")]].concat(),
    };
    if failures.is_empty() {
        dir.remove()
    } else {
        bail!(
            "could not remove everything (the lab's state is kept, so `labctl down {}` can try again):\n  {}",
            dir.name,
            failures.join("\n  ")
        )
    }
}

/// How many threads remove namespaces and their files at once: each removal
/// mostly waits on the file system (a directory under /etc/netns), so a few
/// in parallel cut teardown time even on two cores.
const REMOVERS: usize = 8;

/// Unmounts and removes every namespace with its /etc/netns files; returns
/// what could not be removed.
fn remove_namespaces(namespaces: &[&str]) -> Vec<String> {
    let chunk = namespaces.len().div_ceil(REMOVERS).max(1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = namespaces
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .flat_map(|ns| [netns::delete(ns), etc::remove_node_files(ns)])
                        .filter_map(|removed| removed.err().map(|e| format!("{e:#}")))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| {
                w.join()
                    .unwrap_or_else(|_| vec!["a removal thread panicked".into()])
            })
            .collect()
    })
}

/// Asks the daemon to stop, then makes sure it has (SIGTERM, SIGKILL);
/// then stops any process that still has the lab's daemon lock open, so a
/// daemon the pid file does not name (it was overwritten, or lies) is not
/// left serving in namespaces that are about to go.
pub(super) fn stop_daemon(dir: &LabDir) {
    if let Some(daemon) = ProcessId::read(&dir.pid_path()).filter(|d| d.is_alive()) {
        let _ = control::call(&dir.socket_path(), &Request::Stop);
        terminate(&[daemon]);
    }
    terminate(&lock::holders(dir));
}

/// SIGTERM, wait up to GRACE, then SIGKILL what is left; returns when all
/// are gone.
pub(super) fn terminate(processes: &[ProcessId]) {
    let alive = |p: &&ProcessId| p.is_alive();
    for p in processes.iter().filter(alive) {
        let _ = kill(Pid::from_raw(p.pid), Signal::SIGTERM);
    }
    let deadline = Instant::now() + GRACE;
    while processes.iter().any(|p| p.is_alive()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    for p in processes.iter().filter(alive) {
        let _ = kill(Pid::from_raw(p.pid), Signal::SIGKILL);
    }
    while processes.iter().any(|p| p.is_alive() && !is_zombie(p.pid)) {
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn is_zombie(pid: i32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rfind(')')
                .map(|i| s[i + 1..].trim_start().starts_with('Z'))
        })
        .unwrap_or(true)
}

/// Stops every process whose network namespace is one of `namespaces`
/// (commands started with `labctl exec` or `ip netns exec` in the lab).
fn kill_processes_inside(namespaces: &[&str]) {
    let inodes: HashSet<u64> = namespaces
        .iter()
        .filter_map(|ns| netns::inode(ns))
        .collect();
    terminate(&processes_in("net", &inodes));
}

/// Every other process whose namespace of `kind` (`net`, `user`, as in
/// /proc/PID/ns/KIND) is one of `inodes`.
pub(super) fn processes_in(kind: &str, inodes: &HashSet<u64>) -> Vec<ProcessId> {
    if inodes.is_empty() {
        return Vec::new();
    }
    let links: HashSet<String> = inodes.iter().map(|ino| format!("{kind}:[{ino}]")).collect();
    let me = std::process::id() as i32;
    fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| pid != me)
        .filter(|pid| {
            fs::read_link(format!("/proc/{pid}/ns/{kind}"))
                .is_ok_and(|link| links.contains(link.to_string_lossy().as_ref()))
        })
        .filter_map(|pid| {
            Some(ProcessId {
                pid,
                start_time: start_time(pid)?,
            })
        })
        .collect()
}
