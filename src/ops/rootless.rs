//! Rootless labs: each lab runs in a user namespace of its own (with its own
//! mount and network namespace), made and kept alive by a small holder
//! process for the lab's life. A labctl verb on a lab moves into those
//! namespaces first (`enter`), while still single-threaded; from there on
//! the verb runs exactly as it does as root. `down` needs no entering: it
//! stops the daemon, then every process in the lab's user namespace, and the
//! kernel frees the namespaces, links and pins with the last of them.
//!
//! The holder's files are `RUN_DIR/.userns/KEY/`: `holder.pid`, `userns`
//! (the namespace's inode, to find every process in it) and `ns/`, where the
//! holder mounts the lab's private tmpfs. KEY is the lab's name, or
//! `grade.PID` for a `grade` run, whose labs share one namespace.

use std::collections::HashSet;
use std::fs::{self, DirBuilder};
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use anyhow::{Context, Result, bail};

use super::down::Down;
use super::lifecycle::{processes_in, stop_daemon, terminate};
use crate::daemon::pidfile::ProcessId;
use crate::net::subid::SubordinateIds;
use crate::net::userns::{self, LabNamespaces};
use crate::rootless;
use crate::state::{LabDir, ensure_run_dir, run_dir};

/// Where the holders' dirs are, under the state root (never a lab name).
const HOLDERS: &str = ".userns";

/// A lab's holder: the process that owns its namespaces, and its files.
pub struct Holder {
    key: String,
    dir: PathBuf,
}

impl Holder {
    pub fn of(key: &str) -> Holder {
        Holder {
            key: key.to_string(),
            dir: run_dir().join(HOLDERS).join(key),
        }
    }

    fn ns_dir(&self) -> PathBuf {
        self.dir.join("ns")
    }

    fn pid_path(&self) -> PathBuf {
        self.dir.join("holder.pid")
    }

    fn userns_path(&self) -> PathBuf {
        self.dir.join("userns")
    }

    /// The holder process, while it runs.
    fn process(&self) -> Option<ProcessId> {
        ProcessId::read(&self.pid_path()).filter(|p| p.is_alive())
    }

    fn userns(&self) -> Option<u64> {
        fs::read_to_string(self.userns_path())
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// Starts the holder and waits until its namespaces are ready; fails
    /// with the system's reason (and its fix) when it may not make them.
    fn start(&self) -> Result<ProcessId> {
        let root = ensure_run_dir()?;
        let holders = root.join(HOLDERS);
        match DirBuilder::new().mode(0o700).create(&holders) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(e).with_context(|| format!("cannot create {}", holders.display()));
            }
        }
        match DirBuilder::new().mode(0o700).create(&self.dir) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::AlreadyExists => bail!(
                "lab `{}` is being started or stopped by another labctl right now; try again",
                self.key
            ),
            Err(e) => {
                return Err(e).with_context(|| format!("cannot create {}", self.dir.display()));
            }
        }
        let started = self.spawn();
        if started.is_err() {
            let _ = fs::remove_dir_all(&self.dir);
            let _ = fs::remove_dir(&holders);
        }
        started
    }

    fn spawn(&self) -> Result<ProcessId> {
        fs::create_dir(self.ns_dir())
            .with_context(|| format!("cannot create {}", self.ns_dir().display()))?;
        let exe = std::env::current_exe().context("cannot find the labctl executable")?;
        let mut command = Command::new(exe);
        command
            .arg("userns-holder")
            .arg(&self.dir)
            .current_dir("/")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        // SAFETY: setsid is async-signal-safe; detached from the terminal,
        // the holder outlives `up` and ignores its Ctrl-C.
        unsafe {
            command.pre_exec(|| {
                nix::unistd::setsid().map_err(std::io::Error::from)?;
                Ok(())
            });
        }
        let mut child = command
            .spawn()
            .context("cannot start the lab's holder process")?;
        let mut out = BufReader::new(child.stdout.take().context("the holder has no stdout")?);
        let mut first = String::new();
        out.read_line(&mut first)
            .context("cannot read from the holder")?;
        if first.trim() == UNSHARED {
            let maps = map_ids(child.id() as i32);
            let mut answer = child.stdin.take().context("the holder has no stdin")?;
            // A holder that died meanwhile says nothing more: handled below.
            let _ = writeln!(answer, "{maps}");
            first.clear();
            out.read_line(&mut first)
                .context("cannot read from the holder")?;
        }
        if first.trim() == READY {
            return ProcessId::read(&self.pid_path())
                .filter(|p| p.is_alive() && p.pid == child.id() as i32)
                .context("the holder is ready but wrote no pid file");
        }
        let mut rest = String::new();
        let _ = out.read_to_string(&mut rest);
        let _ = child.wait();
        let why = format!("{first}{rest}");
        bail!(
            "{}",
            if why.trim().is_empty() {
                "the holder process exited while starting"
            } else {
                why.trim()
            }
        )
    }

    /// Stops every process in the holder's user namespace (the holder last
    /// of all), so the kernel frees the lab's namespaces, then removes the
    /// holder's files. This process is spared when it is inside.
    fn dispose(&self) -> Result<()> {
        let inodes: HashSet<u64> = self.userns().into_iter().collect();
        let mut inside = processes_in("user", &inodes);
        inside.retain(|p| Some(*p) != self.process());
        terminate(&inside);
        if let Some(holder) = self.process() {
            terminate(&[holder]);
        }
        // Inside the lab's mount namespace the tmpfs is still mounted here.
        userns::unmount_private_tmpfs(&self.ns_dir());
        match fs::remove_dir_all(&self.dir) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e).with_context(|| format!("cannot remove {}", self.dir.display()));
            }
        }
        // The holders' dir goes when it is empty (rmdir refuses otherwise).
        if let Some(holders) = self.dir.parent() {
            let _ = fs::remove_dir(holders);
        }
        Ok(())
    }
}

/// What the holder says once it has unshared (its maps unwritten), and
/// once it is ready.
const UNSHARED: &str = "unshared";
const READY: &str = "ready";

/// The answer to `UNSHARED`: who wrote the holder's id maps.
const MAPPED: &str = "mapped";
const MAP_OWN: &str = "own";

/// Maps a full range of subordinate ids into the holder's fresh user
/// namespace when the user has them (so tools that switch user work inside),
/// and says so to the holder; else warns and lets it map the user's own ids.
fn map_ids(holder: i32) -> &'static str {
    let mapped = SubordinateIds::of_current_user()
        .and_then(|ids| ids.map(holder).map_err(|e| format!("{e:#}")));
    match mapped {
        Ok(()) => MAPPED,
        Err(why) => {
            eprintln!(
                "warning: only your own user id is mapped in the lab ({why}); tools that switch user \
                 (tcpdump) need subordinate ids: ask an administrator for /etc/subuid and /etc/subgid \
                 entries and the uidmap package"
            );
            MAP_OWN
        }
    }
}

/// Whether a verb starts a lab (and so its holder) or needs one running.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Holding {
    Start,
    Running,
}

/// Moves this single-threaded process into lab `key`'s namespaces,
/// starting its holder first for `Holding::Start`. Afterwards every path
/// labctl uses (state, pins, /etc files) is the user's, and the processes it
/// starts (the daemon) inherit both the namespaces and the paths.
pub fn enter(key: &str, holding: Holding) -> Result<()> {
    let holder = Holder::of(key);
    let process = match (holder.process(), holding) {
        (Some(process), _) => process,
        (None, Holding::Start) => {
            if holder.dir.exists() {
                if LabDir::of(key).is_ok_and(|d| d.exists()) {
                    bail!(crashed(key));
                }
                holder.dispose()?;
            }
            holder.start()?
        }
        (None, Holding::Running) => {
            let dir = LabDir::of(key)?;
            if dir.exists() && holder.dir.exists() {
                bail!(crashed(key));
            }
            // Not up: the state's own words, with the labs that are.
            dir.read_record()?;
            bail!("lab `{key}` is up but was not started rootless: run this as root");
        }
    };
    let namespaces = LabNamespaces::of_process(process.pid)?;
    // SAFETY: still single-threaded (the verb has not started), so no
    // other thread reads the environment while it changes. Read before
    // entering: inside, this user is root, with another default state dir.
    unsafe {
        std::env::set_var(rootless::RUN_DIR_ENV, run_dir());
        std::env::set_var(rootless::NS_DIR_ENV, holder.ns_dir());
    }
    namespaces.enter()
}

fn crashed(lab: &str) -> String {
    format!(
        "lab `{lab}` was started rootless, but its namespaces are gone (its holder process ended)\n  \
         fix: `labctl down {lab}` removes what is left, then `labctl up` again"
    )
}

/// After a verb that entered lab `key`: when the lab is not up (`test`
/// ended, `up` failed and rolled back), its namespaces go too.
pub fn leave(key: &str) {
    if LabDir::of(key).is_ok_and(|d| d.exists()) {
        return;
    }
    if let Err(e) = Holder::of(key).dispose() {
        eprintln!("warning: {e:#}");
    }
}

/// The key of a `grade` run's holder: all its labs share one namespace.
pub fn grade_key() -> String {
    format!("grade.{}", std::process::id())
}

/// `down` of a rootless lab, from outside its namespaces: the daemon is
/// asked to stop (its services drain), then everything else in the lab's
/// user namespace is stopped, which frees every namespace, link and pin.
pub fn down(name: &str) -> Result<Down> {
    let dir = LabDir::of(name)?;
    let holder = Holder::of(name);
    if !dir.exists() && !holder.dir.exists() {
        return Ok(Down::NotUp);
    }
    let _lock = stop_daemon(&dir);
    holder.dispose()?;
    dir.remove()?;
    Ok(Down::Removed)
}

/// The holder process itself (`labctl userns-holder DIR`, started by
/// `Holder::start`): makes the namespaces, says `unshared` on stdout and
/// waits on stdin for who maps its ids (`mapped`: `up` did, with
/// `newuidmap`; `own`: itself, the user's own ids only), mounts the tmpfs,
/// writes its pid file, says `ready`, and waits to be stopped. On failure,
/// the reason goes to stdout instead.
pub fn run_holder(dir: &Path) -> ExitCode {
    let mut stdout = std::io::stdout();
    let (uid, gid) = (nix::unistd::geteuid(), nix::unistd::getegid());
    let made = userns::unshare_own().and_then(|()| {
        writeln!(stdout, "{UNSHARED}")
            .and_then(|()| stdout.flush())
            .context("cannot tell labctl the namespace is made")?;
        let mut answer = String::new();
        std::io::stdin()
            .read_line(&mut answer)
            .context("cannot read who maps the ids")?;
        match answer.trim() {
            MAPPED => {}
            MAP_OWN => userns::map_own_ids_only(uid, gid)?,
            _ => bail!("the labctl that started the holder went away"),
        }
        userns::mount_private_tmpfs(&dir.join("ns"))?;
        let inode = userns::own_inode()?;
        fs::write(dir.join("userns"), format!("{inode}\n"))
            .with_context(|| format!("cannot write {}", dir.join("userns").display()))?;
        ProcessId::current()?.write(&dir.join("holder.pid"))
    });
    if let Err(e) = made {
        let _ = writeln!(stdout, "{e:#}");
        return ExitCode::FAILURE;
    }
    let _ = writeln!(stdout, "{READY}");
    let _ = stdout.flush();
    // Nothing more to say: let `up` see the end of the pipe.
    if let Ok(null) = fs::File::open("/dev/null") {
        let _ = nix::unistd::dup2_stdout(null);
    }
    loop {
        nix::unistd::pause();
    }
}
