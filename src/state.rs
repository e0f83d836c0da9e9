//! Runtime state of running labs, one directory per lab under /run/labctl
//! (or `$LABCTL_RUN_DIR`; rootless, the user's own `$XDG_RUNTIME_DIR/labctl`
//! or `/tmp/labctl-UID`, which must be the user's and 0700):
//! the record of what was built (written before anything is built, so `down`
//! can always find it), the daemon's pid, control socket and log.
//! /run is emptied at boot, exactly when the kernel forgets the namespaces.
//! Everything under a lab's dir is root's alone (dirs 0700, files 0600): it
//! holds the lab's passwords (`lab.json`), its mail and the dialogue logs
//! with their logins. `up` sets the mode when it creates its files; the
//! daemon runs with umask 077 for everything it writes.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::lab::plan::Plan;
use crate::lab::validate::name_problem;
use crate::rootless;

/// Where lab state lives; `LABCTL_RUN_DIR` moves it (tests use this to keep
/// `down --all` away from labs they did not make). Rootless, it is the
/// user's own dir, so two users' labs never see each other.
pub fn run_dir() -> PathBuf {
    match std::env::var_os(rootless::RUN_DIR_ENV) {
        Some(dir) => PathBuf::from(dir),
        None if rootless::active() => rootless::user_run_dir(),
        None => PathBuf::from("/run/labctl"),
    }
}

/// Creates the state root if needed and, rootless, makes sure it is this
/// user's alone: a dir someone else made (in /tmp, say) could show them
/// the lab's passwords and mail, or let them plant a lab record.
pub fn ensure_run_dir() -> Result<PathBuf> {
    let root = run_dir();
    if !rootless::active() {
        fs::create_dir_all(&root).with_context(|| format!("cannot create {}", root.display()))?;
        return Ok(root);
    }
    match DirBuilder::new().mode(0o700).create(&root) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e).with_context(|| format!("cannot create {}", root.display())),
    }
    let meta =
        fs::symlink_metadata(&root).with_context(|| format!("cannot read {}", root.display()))?;
    let me = nix::unistd::geteuid().as_raw();
    if !meta.is_dir() || meta.uid() != me || meta.mode() & 0o077 != 0 {
        bail!(
            "{} is not a private directory of this user (owner uid {}, mode {:o}; it must be uid {me}'s, mode 700)\n  \
             fix: remove it (or set XDG_RUNTIME_DIR to a directory of your own) and try again",
            root.display(),
            meta.uid(),
            meta.mode() & 0o7777
        );
    }
    Ok(root)
}

/// What `up` built, from which file, and when.
#[derive(Serialize, Deserialize)]
pub struct LabRecord {
    pub file: String,
    /// Seconds since the Unix epoch.
    pub started: u64,
    pub plan: Plan,
}

pub struct LabDir {
    pub name: String,
    pub dir: PathBuf,
}

impl LabDir {
    /// The state dir of lab `name`; refuses anything that is not a lab name
    /// (so no argument can point it elsewhere, like `..` or `/`).
    pub fn of(name: &str) -> Result<Self> {
        if let Some(why) = name_problem(name) {
            bail!("`{name}` is not a lab name: {why} (lab names are letters, digits and `-`)");
        }
        Ok(LabDir {
            name: name.to_string(),
            dir: run_dir().join(name),
        })
    }

    /// Creates the lab's directory; `None` if it exists (the lab is up, or a
    /// crashed one was not cleaned). Creating it is the lock against two
    /// `up`s of the same lab.
    pub fn claim(name: &str) -> Result<Option<LabDir>> {
        ensure_run_dir()?;
        let lab = LabDir::of(name)?;
        match DirBuilder::new().mode(0o700).create(&lab.dir) {
            Ok(()) => Ok(Some(lab)),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(None),
            Err(e) => Err(e).with_context(|| format!("cannot create {}", lab.dir.display())),
        }
    }

    pub fn exists(&self) -> bool {
        self.dir.is_dir()
    }

    pub fn record_path(&self) -> PathBuf {
        self.dir.join("lab.json")
    }

    pub fn pid_path(&self) -> PathBuf {
        self.dir.join("daemon.pid")
    }

    pub fn socket_path(&self) -> PathBuf {
        self.dir.join("control.sock")
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.join("daemon.log")
    }

    /// Held by the running daemon (`daemon::lock`).
    pub fn lock_path(&self) -> PathBuf {
        self.dir.join("daemon.lock")
    }

    pub fn write_record(&self, record: &LabRecord) -> Result<()> {
        let tmp = self.dir.join("lab.json.tmp");
        let json = serde_json::to_vec(record)?;
        private_file(&tmp, false)
            .and_then(|mut file| file.write_all(&json))
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        fs::rename(&tmp, self.record_path()).context("cannot save the lab record")?;
        Ok(())
    }

    pub fn read_record(&self) -> Result<LabRecord> {
        if !self.exists() {
            bail!("lab `{}` is not up{}", self.name, running_hint());
        }
        let path = self.record_path();
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == ErrorKind::PermissionDenied => {
                return Err(e).context(format!(
                    "the state of lab `{}` is readable by root only (it holds the lab's passwords and mail): run it as root (from a root shell, or through sudo)",
                    self.name
                ));
            }
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        serde_json::from_slice(&bytes).with_context(|| format!("{} is damaged", path.display()))
    }

    /// Removes the directory and everything in it (idempotent).
    pub fn remove(&self) -> Result<()> {
        match fs::remove_dir_all(&self.dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e).with_context(|| format!("cannot remove {}", self.dir.display())),
        }
    }
}

/// Whether `error` is the refusal to read a lab's state as non-root.
pub fn is_permission_denied(error: &anyhow::Error) -> bool {
    error
        .chain()
        .filter_map(|cause| cause.downcast_ref::<std::io::Error>())
        .any(|io| io.kind() == ErrorKind::PermissionDenied)
}

/// Opens `path` for writing, creating it readable and writable by root
/// only (the mode applies when the file is made): truncated, or appended to.
pub fn private_file(path: &Path, append: bool) -> std::io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create(true)
        .append(append)
        .truncate(!append)
        .mode(0o600)
        .open(path)
}

/// Names of every lab with a state directory, sorted.
pub fn all_labs() -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(run_dir())
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().is_dir())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|name| name_problem(name).is_none())
        .collect();
    names.sort();
    names
}

fn running_hint() -> String {
    let labs = all_labs();
    if labs.is_empty() {
        " (no lab is up: start one with `labctl up FILE`)".to_string()
    } else {
        format!(" (running: {})", labs.join(", "))
    }
}

/// A lab's TLS files, made at `up` when a service of the lab offers TLS:
/// `STATE/tls/ca.pem` (the lab CA, what clients trust), `ca.key` (its key,
/// which never leaves this directory), and per server node `NODE.pem`
/// (its certificate, then the CA's) and `NODE.key`.
pub struct TlsFiles {
    pub dir: PathBuf,
}

impl TlsFiles {
    pub fn of(state_dir: &Path) -> TlsFiles {
        TlsFiles {
            dir: state_dir.join("tls"),
        }
    }

    pub fn ca_cert(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    pub fn ca_key(&self) -> PathBuf {
        self.dir.join("ca.key")
    }

    pub fn chain(&self, node: &str) -> PathBuf {
        self.dir.join(format!("{node}.pem"))
    }

    pub fn key(&self, node: &str) -> PathBuf {
        self.dir.join(format!("{node}.key"))
    }

    /// Creates the directory, root's alone.
    pub fn create(&self) -> Result<()> {
        DirBuilder::new()
            .mode(0o700)
            .create(&self.dir)
            .with_context(|| format!("cannot create {}", self.dir.display()))
    }

    /// Writes one of the files, root's alone.
    pub fn write(&self, path: &Path, text: &str) -> Result<()> {
        private_file(path, false)
            .and_then(|mut file| file.write_all(text.as_bytes()))
            .with_context(|| format!("cannot write {}", path.display()))
    }

    /// The lab CA's certificate, or None when the lab has no TLS.
    pub fn read_ca(&self) -> Result<Option<String>> {
        match fs::read_to_string(self.ca_cert()) {
            Ok(pem) => Ok(Some(pem)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", self.ca_cert().display())),
        }
    }
}
