//! The verbs that need no root: validate, graph, schema — as a user runs them.

mod common;

use std::path::Path;

use common::{labctl, text};

fn lab_files() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["labs", "examples"] {
        for entry in std::fs::read_dir(root.join(dir))
            .into_iter()
            .flatten()
            .flatten()
        {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "yaml") {
                files.push(path.display().to_string());
            }
        }
    }
    files.sort();
    files
}

#[test]
fn every_shipped_lab_is_valid() {
    let files = lab_files();
    assert!(!files.is_empty());
    for file in files {
        let out = labctl(&["validate", &file]);
        assert!(out.status.success(), "{file}:\n{}", text(&out));
        assert!(String::from_utf8_lossy(&out.stdout).contains("valid lab"));
    }
}

#[test]
fn every_course_lab_has_checks() {
    // `labctl test` on a lab without checks grades nothing (exit 2), and
    // tests/labs-test.sh runs `labctl test` on every one of them.
    for file in lab_files().iter().filter(|f| f.contains("/labs/")) {
        let text = std::fs::read_to_string(file).unwrap();
        let checks = text
            .split_once("\nchecks:\n")
            .map(|(_, list)| list.lines().filter(|l| l.starts_with("  - ")).count())
            .unwrap_or(0);
        assert!(checks >= 3, "{file} has {checks} checks");
    }
}

#[test]
fn validate_reports_file_line_column_snippet_and_hint() {
    let dir = common::TempDir::new("labctl-validate");
    let file = dir.join("bad.yaml");
    std::fs::write(
        &file,
        "name: bad\nnodes:\n  pc0:\n    kind: host\n    gatway: 10.0.0.1\n    interfaces: {eth0: 10.0.0.300/24}\n",
    )
    .unwrap();
    let out = labctl(&["validate", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("--> {}:5:5", file.display())),
        "{stderr}"
    );
    assert!(stderr.contains("    gatway: 10.0.0.1"), "{stderr}");
    assert!(stderr.contains("hint: did you mean `gateway`?"), "{stderr}");
    assert!(stderr.contains(":6:24"), "{stderr}");
    assert!(stderr.contains("3 errors"), "{stderr}");
}

#[test]
fn validate_puts_the_verdict_on_stdout_and_the_problems_on_stderr() {
    let dir = std::env::temp_dir().join(common::unique_name("labctl-validate"));
    std::fs::create_dir_all(&dir).unwrap();
    let warned = dir.join("warned.yaml");
    std::fs::write(
        &warned,
        "name: w\nnodes:\n  sw: {kind: switch}\n  pc0: {kind: host, interfaces: {eth0: 10.0.0.1/24}}\n  pc1: {kind: host}\nlinks:\n  - [pc0, sw]\n  - [pc1, sw]\n",
    )
    .unwrap();
    let invalid = dir.join("invalid.yaml");
    std::fs::write(&invalid, "name: bad\nnodes:\n  pc0: {kind: hots}\n").unwrap();
    let valid = labctl(&["validate", warned.to_str().unwrap()]);
    let broken = labctl(&["validate", invalid.to_str().unwrap()]);
    let _ = std::fs::remove_dir_all(&dir);

    // Valid: the verdict and its summary on stdout, the warning on stderr.
    assert_eq!(valid.status.code(), Some(0), "{}", text(&valid));
    let stdout = String::from_utf8_lossy(&valid.stdout);
    assert_eq!(
        stdout,
        format!(
            "{}: valid lab `w` (3 nodes, 2 links), 1 warning\n",
            warned.display()
        )
    );
    let stderr = String::from_utf8_lossy(&valid.stderr);
    assert!(
        stderr.starts_with("warning: pc1/eth0 has no address"),
        "{stderr}"
    );
    assert!(!stderr.contains("0 errors"), "{stderr}");

    // Invalid: nothing on stdout; the errors and their count on stderr.
    assert_eq!(broken.status.code(), Some(2), "{}", text(&broken));
    assert!(broken.stdout.is_empty(), "{}", text(&broken));
    let stderr = String::from_utf8_lossy(&broken.stderr);
    assert!(
        stderr.trim_end().ends_with("1 error, 0 warnings"),
        "{stderr}"
    );
}

#[test]
fn graph_renders_mermaid_and_dot() {
    let file = format!("{}/labs/two-routers.yaml", env!("CARGO_MANIFEST_DIR"));
    let mermaid = labctl(&["graph", &file]);
    assert!(mermaid.status.success(), "{}", text(&mermaid));
    let mermaid = String::from_utf8_lossy(&mermaid.stdout);
    assert!(mermaid.starts_with("graph LR\n"), "{mermaid}");
    assert!(mermaid.contains("{{\"r1<br/>router\"}}"), "{mermaid}");
    assert!(
        mermaid.contains("---|\"eth0 10.0.0.1/30 — eth0 10.0.0.2/30\"|"),
        "{mermaid}"
    );
    assert_eq!(mermaid.matches(" ---|").count(), 7, "{mermaid}");

    let dot = labctl(&["graph", &file, "--format", "dot"]);
    let dot = String::from_utf8_lossy(&dot.stdout);
    assert!(dot.starts_with("graph \"two-routers\" {"), "{dot}");
    assert!(
        dot.contains(
            "\"r1\" -- \"r2\" [taillabel=\"eth0\\n10.0.0.1/30\", headlabel=\"eth0\\n10.0.0.2/30\"];"
        ),
        "{dot}"
    );
}

/// Whether Graphviz `dot` can be run (`make test` installs it).
fn have_dot() -> bool {
    std::process::Command::new("dot")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn graph_draws_svg_and_png_with_graphviz() {
    if !have_dot() {
        eprintln!("SKIPPED: Graphviz `dot` is not installed (`make test` installs graphviz)");
        return;
    }
    let file = format!("{}/labs/mastertech.yaml", env!("CARGO_MANIFEST_DIR"));
    let svg = labctl(&["graph", &file, "--format", "svg"]);
    assert!(svg.status.success(), "{}", text(&svg));
    let svg = String::from_utf8_lossy(&svg.stdout);
    assert!(svg.contains("<svg"), "{svg}");
    // The labels made it into the picture: a server with its services, a
    // router's interface with its address and relay.
    for expected in ["DHCP, DNS", "192.168.20.1/24", "relay → 192.168.10.2"] {
        assert!(svg.contains(expected), "{expected} not in the SVG");
    }
    // -o takes the format from the extension.
    let dir = std::env::temp_dir().join(format!("labctl-graph-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let png = dir.join("lab.png");
    let out = labctl(&["graph", &file, "-o", png.to_str().unwrap()]);
    let bytes = std::fs::read(&png).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.status.success(), "{}", text(&out));
    assert!(bytes.starts_with(b"\x89PNG\r\n"), "not a PNG");
}

#[test]
fn graph_without_graphviz_says_to_install_it() {
    let file = format!("{}/labs/two-routers.yaml", env!("CARGO_MANIFEST_DIR"));
    let empty = std::env::temp_dir().join(format!("labctl-no-dot-{}", std::process::id()));
    std::fs::create_dir_all(&empty).unwrap();
    let out = std::process::Command::new(common::LABCTL)
        .args(["graph", &file, "--format", "svg"])
        .env("PATH", &empty)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir(&empty);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr
            .contains("needs Graphviz `dot`, which is not installed: install the graphviz package"),
        "{stderr}"
    );
    // A name whose format cannot be told is refused before anything is drawn.
    let out = labctl(&["graph", &file, "-o", "lab.jpeg"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("end it in .svg, .png, .dot or .mmd"),
        "{}",
        text(&out)
    );
}

#[test]
fn schema_matches_the_committed_file() {
    let out = labctl(&["schema"]);
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let committed: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{}/labs/schema.json", env!("CARGO_MANIFEST_DIR")))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(printed, committed);
    assert!(printed["$defs"]["Node"]["properties"]["gateway"].is_object());
}

#[test]
fn logs_help_names_every_protocol_it_shows() {
    let out = labctl(&["logs", "--help"]);
    let help = String::from_utf8_lossy(&out.stdout);
    for protocol in [
        "SMTP", "POP3", "IMAP", "DHCP", "DNS", "--follow", "--bodies",
    ] {
        assert!(help.contains(protocol), "{protocol} not in\n{help}");
    }
}
