//! Starting a lab's daemon, and tearing a lab down. Teardown is the one
//! implementation shared by `down`, the rollback of a failed `up` and the
//! end of `test`: it works from the lab record alone, is idempotent, and
//! works after a crash or `kill -9`.

use std::collections::HashSet;
use std::fs;
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rustix::event::{PollFd, PollFlags, Timespec, poll};
use rustix::process::{PidfdFlags, Signal as RustixSignal, pidfd_open, pidfd_send_signal};

use crate::daemon::control::{self, Request};
use crate::daemon::lock;
use crate::daemon::pidfile::{ProcessId, start_time};
use crate::lab::plan::{Plan, PlanNode};
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
    let _lock = stop_daemon(dir);
    // Keep going past a failure: remove all that can be removed, then say
    // what could not.
    let failures = match plan {
        Some(plan) => remove_nodes(plan),
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

/// Stops the processes inside the lab's namespaces, then removes every
/// namespace and every node's /etc/netns entry; returns what could not be
/// removed.
///
/// Each lazy unmount of a namespace's pin waits for an RCU grace period,
/// and a grace period is slow while the kernel's cleanup worker frees other
/// namespaces on the other core. So the namespaces are held open until
/// every pin is gone (the kernel frees them all afterwards, in the
/// background), fewest cables first, and the pins go in one tight loop
/// before the file-system unlinks (interleaved they made each other several
/// times slower). 1000 hosts on 2 cores: the unmounts took 55–170 ms
/// (median 65) this way, 60–340 ms (median 260) without holding, and
/// 160–250 ms on 8 threads.
fn remove_nodes(plan: &Plan) -> Vec<String> {
    let mut nodes: Vec<&PlanNode> = plan.nodes.iter().collect();
    nodes.sort_by_key(|node| node.interfaces.len());
    let namespaces: Vec<&str> = nodes.iter().map(|node| node.namespace.as_str()).collect();
    kill_processes_inside(&namespaces);
    // Holding is for speed only: past the open-file limit, the rest go
    // unheld.
    let _ = super::open_files::allow_for(namespaces.len());
    let _held: Vec<OwnedFd> = namespaces
        .iter()
        .filter_map(|ns| netns::open(ns).ok())
        .collect();
    let pins = namespaces.iter().map(|ns| netns::delete(ns));
    let files = namespaces.iter().map(|ns| etc::remove_node_files(ns));
    pins.chain(files)
        .filter_map(|removed| removed.err().map(|e| format!("{e:#}")))
        .collect()
}

/// Asks the daemon to stop, then makes sure it has (SIGTERM, SIGKILL).
/// Then takes the lab's daemon lock; if something still holds it (a daemon
/// the pid file does not name: it was overwritten, or lies), every process
/// that has the lock file open is stopped first, so none is left serving in
/// namespaces that are about to go. The lock, held until it is dropped,
/// keeps a daemon that is only starting from serving either.
pub(super) fn stop_daemon(dir: &LabDir) -> Option<lock::DaemonLock> {
    if let Some(daemon) = ProcessId::read(&dir.pid_path()).filter(|d| d.is_alive()) {
        let _ = control::call(&dir.socket_path(), &Request::Stop);
        terminate(&[daemon]);
    }
    lock::take_if_free(dir).or_else(|| {
        terminate(&lock::holders(dir));
        lock::take_if_free(dir)
    })
}

/// SIGTERM, wait up to GRACE, then SIGKILL what is left; returns when all
/// are gone. Each process is held by a pidfd from the start, so a pid the
/// kernel gives to another program meanwhile is never signalled, and the
/// wait wakes the moment the last one exits (a zombie counts as gone).
pub(super) fn terminate(processes: &[ProcessId]) {
    let held: Vec<OwnedFd> = processes.iter().filter_map(hold).collect();
    for process in &held {
        let _ = pidfd_send_signal(process, RustixSignal::TERM);
    }
    if !wait_exited(&held, Some(GRACE)) {
        for process in &held {
            let _ = pidfd_send_signal(process, RustixSignal::KILL);
        }
        wait_exited(&held, None);
    }
}

/// A pidfd of `process` while it still runs (the pid is checked against
/// its start time after opening, so the fd is of this very process).
fn hold(process: &ProcessId) -> Option<OwnedFd> {
    let pid = rustix::process::Pid::from_raw(process.pid)?;
    let fd = pidfd_open(pid, PidfdFlags::empty()).ok()?;
    process.is_alive().then_some(fd)
}

/// Waits until every process in `held` has exited, or `limit` has passed;
/// whether all have.
fn wait_exited(held: &[OwnedFd], limit: Option<Duration>) -> bool {
    let deadline = limit.map(|limit| Instant::now() + limit);
    let mut running: Vec<&OwnedFd> = held.iter().collect();
    while !running.is_empty() {
        let left = match deadline {
            Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => Some(Timespec::try_from(left).unwrap_or_default()),
                _ => return false,
            },
            None => None,
        };
        let mut fds: Vec<PollFd> = running
            .iter()
            .map(|fd| PollFd::new(*fd, PollFlags::IN))
            .collect();
        match poll(&mut fds, left.as_ref()) {
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(_) => return false,
        }
        let exited: Vec<bool> = fds.iter().map(|fd| !fd.revents().is_empty()).collect();
        running = running
            .into_iter()
            .zip(exited)
            .filter_map(|(fd, exited)| (!exited).then_some(fd))
            .collect();
    }
    true
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
