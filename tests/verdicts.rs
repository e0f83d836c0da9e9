//! No false verdicts (root): every course lab, graded again and again by
//! its rubric — for the labs with mail, one in which every mailbox is read
//! by several checks at once — passes every time; mail checks leave no test message behind
//! unless asked to (`--keep-mail`).
//!
//! The soak brings each lab up once and runs `labctl check` on it
//! `LABCTL_SOAK_RUNS` times (20 by default, the count: about 5 s
//! for all six labs side by side). Before mailboxes took turns, 8 of 10
//! runs had a false `[IN-USE]` failure.

mod common;

use std::path::Path;

use common::{labctl, require_root, text, unique_name};

/// The course labs and the rubric each is soaked with: for the labs with
/// mail, one in tests/soak/ (its rubric from examples/, plus mail checks
/// so that every mailbox is read by at least two checks); dns-hierarchy
/// has no mail and keeps its own; mail-security keeps its own (its mail
/// check and two spoofing checks).
const SOAKS: [(&str, &str); 7] = [
    ("cbrc", "tests/soak/cbrc.yaml"),
    ("cbrc-challenge", "tests/soak/cbrc-challenge.yaml"),
    ("mail-com", "tests/soak/mail-com.yaml"),
    ("mastertech", "tests/soak/mastertech.yaml"),
    ("alice-bob", "tests/soak/alice-bob.yaml"),
    ("dns-hierarchy", "examples/dns-hierarchy/checks.yaml"),
    ("mail-security", "examples/mail-security/checks.yaml"),
];

/// A course lab brought up under a unique name; down on drop.
struct UpLab {
    name: String,
}

impl UpLab {
    fn up(lab: &str) -> UpLab {
        let up = UpLab {
            name: unique_name(&format!("vd-{lab}")),
        };
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("labs/{lab}.yaml"));
        let out = labctl(&["up", file.to_str().unwrap(), "--name", &up.name]);
        assert!(out.status.success(), "up {lab} failed:\n{}", text(&out));
        up
    }

    fn check(&self, rubric: &str, extra: &[&str]) -> std::process::Output {
        let rubric = Path::new(env!("CARGO_MANIFEST_DIR")).join(rubric);
        let mut args = vec!["check", &self.name, "--checks", rubric.to_str().unwrap()];
        args.extend_from_slice(extra);
        labctl(&args)
    }

    /// `labctl mail inbox` of `node`, as text.
    fn inbox(&self, node: &str) -> String {
        let out = labctl(&["mail", "inbox", &self.name, node]);
        assert!(out.status.success(), "inbox of {node}:\n{}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for UpLab {
    fn drop(&mut self) {
        let _ = labctl(&["down", &self.name]);
    }
}

fn soak_runs() -> usize {
    std::env::var("LABCTL_SOAK_RUNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20)
}

#[test]
fn every_course_lab_passes_every_time_with_shared_mailboxes() {
    require_root();
    let runs = soak_runs();
    let false_verdicts: Vec<String> = std::thread::scope(|scope| {
        let soaking: Vec<_> = SOAKS
            .iter()
            .map(|(lab, rubric)| {
                scope.spawn(move || {
                    let up = UpLab::up(lab);
                    (1..=runs)
                        .filter_map(|run| {
                            let out = up.check(rubric, &[]);
                            (!out.status.success())
                                .then(|| format!("{lab}, run {run}/{runs}:\n{}", text(&out)))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        soaking
            .into_iter()
            .flat_map(|running| running.join().expect("a soak thread panicked"))
            .collect()
    });
    assert!(
        false_verdicts.is_empty(),
        "{} false verdicts in {} runs:\n{}",
        false_verdicts.len(),
        runs * SOAKS.len(),
        false_verdicts.join("\n")
    );
}

#[test]
fn mail_checks_remove_their_messages_unless_keep_mail() {
    require_root();
    // Bob reads over IMAP and Ada over POP3 in MasterTech: both ways of removing.
    let up = UpLab::up("mastertech");
    let rubric = "tests/soak/mastertech.yaml";
    let out = up.check(rubric, &[]);
    assert!(out.status.success(), "{}", text(&out));
    for reader in ["mgmt-pc1", "backend-pc1"] {
        let inbox = up.inbox(reader);
        assert!(
            inbox.contains("(0 messages)") && !inbox.contains("labctl check"),
            "{reader}: {inbox}"
        );
    }
    let out = up.check(rubric, &["--keep-mail"]);
    assert!(out.status.success(), "{}", text(&out));
    for reader in ["mgmt-pc1", "backend-pc1"] {
        let inbox = up.inbox(reader);
        // Two checks read each mailbox: both their messages stay.
        assert_eq!(
            inbox.matches("labctl check").count(),
            2,
            "{reader}: {inbox}"
        );
    }
}

/// A rubric naming a node the submission renamed fails that check alone
/// (0 points, step `rubric`, the missing node named); the others still run
/// and score, and the exit code is 1, not 2.
#[test]
fn a_check_naming_what_the_lab_lacks_fails_alone() {
    require_root();
    let dir = common::TempDir::new("vd-rubric");
    let rubric = dir.join("rubric.yaml");
    std::fs::write(
        &rubric,
        "checks:
  - {name: Ada emails Bob, points: 3, mail: {from: pc-ada, to: bob@cbrc.com, reader: pc-bobby}}
  - {name: Bob emails Ada, points: 3, mail: {from: pc-bob, to: ada@cbrc.com, reader: pc-ada}}
  - {name: Bob reaches the server, points: 1, ping: {from: pc-bob, to: server0}}
",
    )
    .unwrap();
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("labs/cbrc-challenge.yaml");
    let name = unique_name("vd-gap");
    let out = labctl(&[
        "test",
        file.to_str().unwrap(),
        "--name",
        &name,
        "--checks",
        rubric.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let checks = report["checks"].as_array().unwrap();
    let verdicts: Vec<(bool, u64)> = checks
        .iter()
        .map(|c| {
            (
                c["passed"].as_bool().unwrap(),
                c["points"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        verdicts,
        [(false, 0), (true, 3), (true, 1)],
        "{}",
        text(&out)
    );
    let failed = &checks[0];
    assert_eq!(failed["kind"], "mail");
    assert_eq!(failed["diagnosis"]["step"], "rubric");
    let message = failed["diagnosis"]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("lab {name} has no node `pc-bobby`"))
            && message.contains("`mail.reader`"),
        "{message}"
    );
    let hint = failed["diagnosis"]["hint"].as_str().unwrap();
    assert!(hint.contains("is it your `pc-bob`?"), "{hint}");
}

/// `labctl test --checks` with a broken rubric (no lab is built): the
/// student sees the check and field, never the rubric's lines; the
/// instructor sees them with `--show-rubric`. Both exit 2.
#[test]
fn a_broken_hidden_rubric_is_not_printed() {
    let dir = common::TempDir::new("vd-hidden");
    let rubric = dir.join("rubric.yaml");
    let secret =
        "{name: Ada emails Bob, points: 5, mail: {from: pc-ada, to: bob-at-cbrc, reader: pc-bob}}";
    std::fs::write(&rubric, format!("checks:\n  - {secret}\n")).unwrap();
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("labs/cbrc-challenge.yaml");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "test",
            file.to_str().unwrap(),
            "--checks",
            rubric.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        labctl(&args)
    };
    let out = run(&[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        stderr.contains("check 1 (\"Ada emails Bob\"), `mail.to`")
            && stderr.contains("is not an email address")
            && !stderr.contains(secret)
            && !stderr.contains("points: 5"),
        "{stderr}"
    );
    let out = run(&["--show-rubric"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(secret),
        "{}",
        text(&out)
    );
}
