//! Planted mistakes in the course's mail labs (root): each must fail its
//! mail check at the right step, in words that name the broken link — and
//! fast, from the lab's own state rather than a timeout.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{LABCTL, Lab, require_root, text};

/// `labctl test` on `lab` (from the repository's labs/ with `from`
/// replaced by `to`): the check named `check`, and how long the run took.
fn run_broken(
    prefix: &str,
    lab: &str,
    from: &str,
    to: &str,
    check: &str,
) -> (serde_json::Value, Duration) {
    run_edited(prefix, lab, &[(from, to)], check)
}

/// `run_broken` with several edits.
fn run_edited(
    prefix: &str,
    lab: &str,
    edits: &[(&str, &str)],
    check: &str,
) -> (serde_json::Value, Duration) {
    require_root();
    let yaml =
        std::fs::read_to_string(format!("{}/labs/{lab}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let name_line = yaml.lines().find(|l| l.starts_with("name:")).unwrap();
    let mut edited = yaml.replace(name_line, "name: LAB");
    for (from, to) in edits {
        assert!(edited.contains(from), "{lab} no longer has {from:?}");
        edited = edited.replace(from, to);
    }
    let yaml = edited;
    let lab = Lab::new(prefix, &yaml);
    let started = Instant::now();
    let out = Command::new(LABCTL)
        .args(["test", lab.file.to_str().unwrap(), "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
    let found = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == check)
        .unwrap_or_else(|| panic!("no check {check:?}: {}", text(&out)))
        .clone();
    assert_eq!(found["passed"], false, "{found}");
    (found, took)
}

fn diagnosis(check: &serde_json::Value) -> (String, String) {
    let d = &check["diagnosis"];
    (
        d["step"].as_str().unwrap_or("").to_string(),
        format!(
            "{} — {}",
            d["message"].as_str().unwrap_or(""),
            d["hint"].as_str().unwrap_or("")
        ),
    )
}

fn assert_words(text: &str, words: &[&str]) {
    for w in words {
        assert!(text.contains(w), "lacks {w:?}: {text}");
    }
}

/// Server0's domain typed as cbrc.co while Ada is ada@cbrc.com: the server
/// relays her message to cbrc.com's MX — itself — and the bounce loops the
/// same way. The check says so at once instead of blaming the reader.
#[test]
fn a_server_that_does_not_serve_the_domain_is_named_not_the_reader() {
    let (check, took) = run_broken(
        "md-dom",
        "cbrc.yaml",
        "        domains: [cbrc.com]\n",
        "        domains: [cbrc.co]\n",
        "Ada emails herself",
    );
    let (step, text) = diagnosis(&check);
    assert_eq!(step, "domain", "{text}");
    assert_words(
        &text,
        &[
            "mail server server0 serves cbrc.co, not cbrc.com",
            "loops back to myself",
            "its bounce to ada@cbrc.com was lost the same way",
            "add cbrc.com to server0's",
        ],
    );
    assert!(check["duration_ms"].as_u64().unwrap_or(0) < 5000, "{check}");
    eprintln!("cbrc.co for cbrc.com: labctl test took {took:.2?}: {text}");
}

/// The server has no user ada (renamed adam): not "wrong password".
#[test]
fn a_missing_user_is_named_with_the_servers_users() {
    let (check, _) = run_broken(
        "md-user",
        "cbrc.yaml",
        "          ada: secret\n",
        "          adam: secret\n",
        "Ada emails herself",
    );
    let (step, text) = diagnosis(&check);
    assert_eq!(step, "account", "{text}");
    assert_words(
        &text,
        &[
            "user ada does not exist on mail server server0 — its users are adam",
            "set `user:` in pc0's mail settings",
        ],
    );
    assert!(!text.contains("password for ada is wrong"), "{text}");
    assert!(!text.contains("is the password in"), "{text}");
}

/// A typo in the outgoing server name of Ada's mail settings.
#[test]
fn a_typo_in_a_mail_setting_is_named_with_the_name_meant() {
    let (check, _) = run_broken(
        "md-typo",
        "cbrc.yaml",
        "      outgoing: mail.cbrc.com\n",
        "      outgoing: mial.cbrc.com\n",
        "Ada emails herself",
    );
    let (step, text) = diagnosis(&check);
    eprintln!("{text}");
    assert_eq!(step, "dns", "{text}");
    assert_words(
        &text,
        &[
            "pc0's mail settings name mial.cbrc.com as the outgoing server",
            "set `outgoing: mail.cbrc.com`",
        ],
    );
}

/// Bob's mail host's A record points at the DNS server: the check names
/// the record, the node it leads to and that it runs no mail server.
#[test]
fn a_mail_host_record_pointing_elsewhere_names_that_node() {
    let (check, _) = run_broken(
        "md-rec",
        "alice-bob.yaml",
        "            mail: {A: mail-hamburger}\n",
        "            mail: {A: ns-hamburger}\n",
        "Alice emails Bob",
    );
    let (step, text) = diagnosis(&check);
    eprintln!("{text}");
    assert_words(
        &text,
        &[
            "mail.hamburger.edu is 10.2.0.53, which is ns-hamburger: it runs DNS, but no mail server",
            "the A record of mail.hamburger.edu",
            "mail-hamburger (10.2.0.25)",
        ],
    );
    assert_eq!(step, "mailbox", "{text}");
}

/// Hamburger's MX names its DNS server: Alice's server keeps the message
/// queued, and the check names the record and the node it leads to at
/// once (it used to wait 10 s and then blame the routes).
#[test]
fn an_mx_pointing_at_a_node_without_mail_names_that_node() {
    let (check, _) = run_broken(
        "md-mx",
        "alice-bob.yaml",
        "\"@\": {NS: ns.hamburger.edu., MX: 10 mail.hamburger.edu.}",
        "\"@\": {NS: ns.hamburger.edu., MX: 10 ns.hamburger.edu.}",
        "Alice emails Bob",
    );
    let (step, text) = diagnosis(&check);
    assert_eq!(step, "mx", "{text}");
    assert_words(
        &text,
        &[
            "the message waits in mail-uts's relay queue",
            "the MX record of hamburger.edu names ns.hamburger.edu",
            "which is ns-hamburger: it runs DNS, but no mail server",
        ],
    );
    assert!(check["duration_ms"].as_u64().unwrap_or(0) < 5000, "{check}");
}

/// Ada's PC logs in as bob: her message to herself lands in her own
/// mailbox, and the check says her PC reads bob's.
#[test]
fn a_pc_logging_in_as_another_user_is_named() {
    let (check, _) = run_edited(
        "md-other",
        "cbrc.yaml",
        &[
            (
                "          ada: secret\n",
                "          ada: secret\n          bob: secret\n",
            ),
            ("      user: ada\n", "      user: bob\n"),
        ],
        "Ada emails herself",
    );
    let (step, text) = diagnosis(&check);
    eprintln!("{text}");
    assert_eq!(step, "mailbox", "{text}");
    assert_words(
        &text,
        &[
            "server0 delivered the message for ada@cbrc.com to ada's mailbox, but pc0 reads bob's mailbox on server0",
            "pc0's settings log in as bob",
        ],
    );
    assert!(check["duration_ms"].as_u64().unwrap_or(0) < 5000, "{check}");
}
