//! The first hour on a fresh machine, as far as it can be tried without
//! downloading anything: tools/bootstrap.sh (the toolchain `make` installs
//! when it is missing) and `make install` (binary, completions, man pages).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{text, unique_name};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
/// An https address where nothing listens: the download fails at once.
const UNREACHABLE: &str = "https://127.0.0.1:9/rustup-init.sh";

/// A temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(prefix: &str) -> TempDir {
        let dir = std::env::temp_dir().join(unique_name(prefix));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// tools/bootstrap.sh with HOME in `home` (so rustup, if it ran, would
/// install there) and the given PATH; rustup-init comes from nowhere.
fn bootstrap(home: &Path, path: &str, args: &[&str]) -> Output {
    Command::new("bash")
        .arg(format!("{ROOT}/tools/bootstrap.sh"))
        .args(args)
        .env("HOME", home)
        .env("PATH", path)
        .env("LABCTL_RUSTUP_URL", UNREACHABLE)
        .env_remove("CARGO_HOME")
        .env_remove("RUSTUP_HOME")
        .env_remove("RUSTUP_TOOLCHAIN")
        .output()
        .expect("bash runs")
}

fn wanted_rust() -> String {
    let manifest = std::fs::read_to_string(format!("{ROOT}/Cargo.toml")).unwrap();
    manifest
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = \""))
        .and_then(|v| v.strip_suffix('"'))
        .expect("Cargo.toml has rust-version")
        .to_string()
}

fn assert_download_failed(out: &Output, home: &Path) {
    let said = text(out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("installing Rust {} through rustup", wanted_rust())),
        "{said}"
    );
    assert!(
        stdout.contains(&format!("downloading rustup-init from {UNREACHABLE}")),
        "{said}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "bootstrap: error: cannot download rustup-init from {UNREACHABLE}"
        )) && stderr.contains("install Rust yourself")
            && stderr.contains("https://rustup.rs"),
        "{said}"
    );
    // Nothing was installed.
    assert!(!home.join(".cargo").exists(), "{said}");
    assert!(!home.join(".rustup").exists(), "{said}");
}

#[test]
fn without_cargo_bootstrap_goes_for_rustup_and_stops_at_the_download() {
    let home = TempDir::new("labctl-bootstrap");
    let out = bootstrap(&home.0, "/usr/sbin:/usr/bin:/sbin:/bin", &["toolchain"]);
    assert_download_failed(&out, &home.0);
}

#[test]
fn an_old_cargo_is_replaced_through_rustup() {
    // Debian 12's own cargo, as far as the version goes.
    let home = TempDir::new("labctl-bootstrap");
    let bin = home.0.join("old-cargo");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::write(bin.join("cargo"), "#!/bin/sh\necho 'cargo 1.63.0'\n").unwrap();
    Command::new("chmod")
        .arg("+x")
        .arg(bin.join("cargo"))
        .status()
        .unwrap();
    let path = format!("{}:/usr/sbin:/usr/bin:/sbin:/bin", bin.display());
    let out = bootstrap(&home.0, &path, &["toolchain"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!(
            "cargo 1.63.0 at {}/cargo is older than the {} labctl needs",
            bin.display(),
            wanted_rust()
        )),
        "{}",
        text(&out)
    );
    assert_download_failed(&out, &home.0);
}

#[test]
fn a_new_enough_cargo_is_used_as_it_is() {
    let home = TempDir::new("labctl-bootstrap");
    // The cargo that runs these tests, with its clippy and rustfmt.
    let cargo = PathBuf::from(env!("CARGO"));
    let path = format!(
        "{}:{}",
        cargo.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .arg(format!("{ROOT}/tools/bootstrap.sh"))
        .args(["toolchain", "--lint"])
        .env("PATH", path)
        .env("LABCTL_RUSTUP_URL", UNREACHABLE)
        .output()
        .expect("bash runs");
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("bootstrap: using cargo 1."), "{said}");
    assert!(
        stdout.contains(&format!("(labctl needs {} or newer)", wanted_rust())),
        "{said}"
    );
    for not in ["installing", "downloading", "adding"] {
        assert!(!stdout.contains(not), "{said}");
    }
    assert_eq!(stdout.lines().count(), 1, "{said}");
    assert!(!home.0.join(".cargo").exists());
}

#[test]
fn make_install_puts_binary_completions_and_man_pages_under_destdir() {
    let dest = TempDir::new("labctl-install");
    let out = Command::new("make")
        .args([
            "--no-print-directory",
            "-C",
            ROOT,
            "install",
            "PROFILE=debug",
        ])
        .arg(format!("DESTDIR={}", dest.0.display()))
        .output()
        .expect("make runs");
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    let prefix = dest.0.join("usr/local");
    let binary = prefix.join("bin/labctl");
    let version = Command::new(&binary).arg("--version").output().unwrap();
    assert!(
        String::from_utf8_lossy(&version.stdout).starts_with("labctl "),
        "{}",
        text(&version)
    );
    for (file, shows) in [
        (
            "share/bash-completion/completions/labctl",
            "complete -F _labctl",
        ),
        ("share/zsh/site-functions/_labctl", "#compdef labctl"),
        (
            "share/fish/vendor_completions.d/labctl.fish",
            "complete -c labctl",
        ),
    ] {
        let body = std::fs::read_to_string(prefix.join(file)).unwrap_or_default();
        assert!(body.contains(shows), "{file}:\n{body}");
        assert!(body.contains("dhcp-client"), "{file} lacks a verb");
    }
    let man = prefix.join("share/man/man1");
    let page = std::fs::read_to_string(man.join("labctl.1")).unwrap();
    assert!(page.contains(".TH labctl 1"), "{page}");
    assert!(page.contains(".SH SYNOPSIS"), "{page}");
    for verb in [
        "validate",
        "up",
        "down",
        "status",
        "exec",
        "shell",
        "logs",
        "graph",
        "schema",
        "check",
        "test",
        "mail",
        "dhcp-client",
        "completions",
    ] {
        let name = format!("labctl\\-{}", verb.replace('-', "\\-"));
        assert!(
            page.contains(&format!("{name}(1)")),
            "labctl.1 lacks {verb}"
        );
        let verb_page = std::fs::read_to_string(man.join(format!("labctl-{verb}.1")))
            .unwrap_or_else(|e| panic!("labctl-{verb}.1: {e}"));
        assert!(verb_page.contains("Examples:"), "labctl-{verb}.1");
    }
    assert!(
        !man.join("labctl-daemon.1").exists(),
        "the hidden verb has a page"
    );
    // The page renders, where a formatter is installed.
    if Path::new("/usr/bin/groff").exists() {
        let rendered = Command::new("groff")
            .args(["-man", "-Tutf8", "-ww", "-z"])
            .arg(man.join("labctl-exec.1"))
            .output()
            .unwrap();
        assert!(
            rendered.status.success() && rendered.stderr.is_empty(),
            "{}",
            text(&rendered)
        );
    }
}
