//! `labctl grade` on real labs (root): a folder holding a correct
//! submission, one with a wrong DNS record, an invalid file and a file
//! name that is no lab name (`dana_k.yaml`), graded side by side into
//! CSV, JSON and one JUnit file each; shards that partition a class; an
//! invalid rubric; and SIGTERM in the middle, after which nothing is left.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{LABCTL, TempDir, labctl, leftovers, require_root, text, unique_name};

/// A name server and a PC on one cable: builds in a fraction of a second.
/// `WWW` is the address www.t.lab has in this submission.
const TINY: &str = "\
name: tiny
nodes:
  ns:
    kind: server
    interfaces: {eth0: 10.9.0.53/24}
    services:
      dns:
        zones:
          t.lab:
            www: {A: WWW}
  pc:
    kind: host
    interfaces: {eth0: 10.9.0.10/24}
    dns: [10.9.0.53]
links:
  - [pc, ns]
";

const RUBRIC: &str = "\
checks:
  - {name: pc reaches the name server, points: 1, ping: {from: pc, to: 10.9.0.53}}
  - {name: www.t.lab resolves, points: 2, dns: {from: pc, name: www.t.lab, type: A, expect: 10.9.0.80}}
";

/// A folder of submissions with the rubric beside it; every lab a
/// submission may run as is taken down on drop, whatever happened.
struct Class {
    dir: TempDir,
    labs: Vec<String>,
}

impl Class {
    fn new() -> Class {
        let dir = TempDir::new("grade");
        std::fs::create_dir(dir.join("subs")).unwrap();
        std::fs::write(dir.join("rubric.yaml"), RUBRIC).unwrap();
        Class {
            dir,
            labs: Vec::new(),
        }
    }

    /// Hands in `yaml` as `subs/FILE`; `lab` is the lab name it runs as.
    fn submit(&mut self, file: &str, lab: &str, yaml: &str) {
        std::fs::write(self.dir.join("subs").join(file), yaml).unwrap();
        self.labs.push(lab.to_string());
    }

    fn subs(&self) -> String {
        self.dir.join("subs").display().to_string()
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    fn assert_nothing_left(&self) {
        for lab in &self.labs {
            assert_eq!(
                leftovers(lab),
                Vec::<String>::new(),
                "lab {lab} left behind"
            );
        }
    }
}

impl Drop for Class {
    fn drop(&mut self) {
        for lab in &self.labs {
            let _ = labctl(&["down", lab]);
        }
    }
}

fn tiny(www: &str) -> String {
    TINY.replace("WWW", www)
}

fn read_csv(path: &str) -> Vec<Vec<String>> {
    let mut reader = csv::Reader::from_path(path).expect("the CSV report is written");
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header,
        [
            "student",
            "points",
            "max_points",
            "percent",
            "graded",
            "failed_checks",
            "reason",
            "file",
            "lab",
            "warnings"
        ]
    );
    reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect()
}

fn read_json(path: &str) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("the JSON report is written"))
        .expect("the JSON report is JSON")
}

#[test]
fn a_folder_is_graded_side_by_side_with_a_row_for_every_submission() {
    require_root();
    let u = unique_name("g");
    let mut class = Class::new();
    // The correct solution twice, under two students' names (one of them
    // no lab name: `_` is not allowed), both with the lab's `name: tiny`.
    class.submit("dana_k.yaml", "dana-k", &tiny("10.9.0.80"));
    // Correct, with a second DNS server no node has: graded in full, with
    // validate's warning beside the marks.
    class.submit(
        &format!("{u}-ok.yaml"),
        &format!("{u}-ok"),
        &tiny("10.9.0.80").replace("dns: [10.9.0.53]", "dns: [10.9.0.53, 10.9.0.99]"),
    );
    class.submit(
        &format!("{u}-wrong-a.yaml"),
        &format!("{u}-wrong-a"),
        &tiny("10.9.0.81"),
    );
    class.submit(
        &format!("{u}-invalid.yaml"),
        &format!("{u}-invalid"),
        "name: tiny\nnodes: [\n",
    );
    let out = labctl(&[
        "grade",
        &class.subs(),
        "--checks",
        &class.path("rubric.yaml"),
        "--jobs",
        "2",
        "--csv",
        &class.path("grades.csv"),
        "--json",
        &class.path("grades.json"),
        "--junit-dir",
        &class.path("junit"),
    ]);
    let report = text(&out);
    // One submission could not be graded: exit 1, and it still has its row.
    assert_eq!(out.status.code(), Some(1), "{report}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("graded 3 of 4 submissions (1 not graded)"),
        "{report}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("dana_k ") && l.contains("3/3") && l.contains("100.0%")),
        "{report}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with(&format!("{u}-wrong-a "))
                && l.contains("1/3")
                && l.contains("www.t.lab resolves")),
        "{report}"
    );

    // CSV: in file-name order, the student's own name, the lab name made from it.
    let rows = read_csv(&class.path("grades.csv"));
    let by_student = |student: &str| {
        rows.iter()
            .find(|r| r[0] == student)
            .unwrap_or_else(|| panic!("no row for {student}: {rows:?}"))
            .clone()
    };
    assert_eq!(rows.len(), 4, "{rows:?}");
    let dana = by_student("dana_k");
    assert_eq!(&dana[1..7], ["3", "3", "100.0", "yes", "", ""]);
    assert_eq!(dana[8], "dana-k");
    assert_eq!(dana[9], "", "no warnings");
    let ok = by_student(&format!("{u}-ok"));
    assert_eq!(&ok[1..7], ["3", "3", "100.0", "yes", "", ""]);
    assert!(
        ok[9].contains("10.9.0.99") && ok[9].starts_with("14:22: "),
        "the lab file's warning, placed: {ok:?}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with(&format!("{u}-ok ")) && l.ends_with("1 warning in the lab file")),
        "{report}"
    );
    let wrong = by_student(&format!("{u}-wrong-a"));
    assert_eq!(
        &wrong[1..7],
        ["1", "3", "33.3", "yes", "www.t.lab resolves", ""]
    );
    let invalid = by_student(&format!("{u}-invalid"));
    assert_eq!(&invalid[1..6], ["0", "3", "0.0", "no", ""]);
    assert!(invalid[6].starts_with("invalid lab file: "), "{invalid:?}");

    // JSON: the same rows, each graded one with its whole report.
    let json = read_json(&class.path("grades.json"));
    assert_eq!(
        (
            json["version"].clone(),
            json["submissions"].clone(),
            json["graded"].clone()
        ),
        (1.into(), 4.into(), 3.into())
    );
    let json_rows = json["rows"].as_array().unwrap();
    let students: Vec<&str> = json_rows
        .iter()
        .map(|r| r["student"].as_str().unwrap())
        .collect();
    let csv_students: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(students, csv_students);
    let wrong = json_rows
        .iter()
        .find(|r| r["lab"] == format!("{u}-wrong-a"))
        .unwrap();
    assert_eq!(wrong["points"], 1);
    assert_eq!(
        wrong["failed_checks"],
        serde_json::json!(["www.t.lab resolves"])
    );
    let failed = &wrong["report"]["checks"][1];
    assert_eq!(failed["passed"], false);
    assert!(
        failed["diagnosis"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("10.9.0.81")
            || failed["detail"]
                .as_str()
                .unwrap_or("")
                .contains("10.9.0.81"),
        "the report says what the name resolved to: {failed}"
    );
    let invalid = json_rows
        .iter()
        .find(|r| r["lab"] == format!("{u}-invalid"))
        .unwrap();
    assert_eq!(
        (invalid["graded"].clone(), invalid["report"].clone()),
        (false.into(), serde_json::Value::Null)
    );
    assert!(
        invalid["details"]
            .as_str()
            .unwrap()
            .contains(&format!("{u}-invalid.yaml:")),
        "{invalid}"
    );

    // One JUnit file per submission, named by its lab.
    let files: BTreeSet<String> = std::fs::read_dir(class.dir.join("junit"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let expected: BTreeSet<String> = class.labs.iter().map(|l| format!("{l}.xml")).collect();
    assert_eq!(files, expected);
    let junit = |lab: &str| {
        std::fs::read_to_string(class.dir.join("junit").join(format!("{lab}.xml"))).unwrap()
    };
    assert!(junit("dana-k").contains("tests=\"2\" failures=\"0\""));
    assert!(junit(&format!("{u}-wrong-a")).contains("tests=\"2\" failures=\"1\""));
    let not_graded = junit(&format!("{u}-invalid"));
    assert!(
        not_graded.contains("errors=\"1\"")
            && not_graded.contains("<error type=\"ungradable\" message=\"invalid lab file: "),
        "{not_graded}"
    );

    class.assert_nothing_left();
}

#[test]
fn shards_partition_a_class_and_the_rubric_is_linted() {
    require_root();
    let u = unique_name("s");
    let mut class = Class::new();
    for student in ["a", "b", "c"] {
        class.submit(
            &format!("{u}-{student}.yaml"),
            &format!("{u}-{student}"),
            &tiny("10.9.0.80"),
        );
    }
    // A rubric that never asks the name server anything.
    std::fs::write(
        class.dir.join("lenient.yaml"),
        "checks:\n  - ping: {from: pc, to: 10.9.0.53}\n",
    )
    .unwrap();
    let mut seen = Vec::new();
    for shard in ["1/2", "2/2"] {
        let json = class.path(&format!("shard-{}.json", &shard[..1]));
        let out = labctl(&[
            "grade",
            &class.subs(),
            "--checks",
            &class.path("lenient.yaml"),
            "--shard",
            shard,
            "--json",
            &json,
        ]);
        assert_eq!(out.status.code(), Some(0), "shard {shard}: {}", text(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("warning: the rubric never asks a DNS server (no `dns` check), but"),
            "{}",
            text(&out)
        );
        let json = read_json(&json);
        assert_eq!(
            json["shard"],
            serde_json::json!({"index": shard[..1].parse::<u32>().unwrap(), "count": 2})
        );
        seen.push(
            json["rows"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["student"].as_str().unwrap().to_string())
                .collect::<Vec<_>>(),
        );
    }
    assert_eq!(seen[0], [format!("{u}-a"), format!("{u}-c")]);
    assert_eq!(seen[1], [format!("{u}-b")]);
    class.assert_nothing_left();
}

#[test]
fn an_invalid_rubric_or_no_lab_files_grade_nothing() {
    require_root();
    let mut class = Class::new();
    class.submit("x.yaml", "x", &tiny("10.9.0.80"));
    std::fs::write(
        class.dir.join("bad.yaml"),
        "checks:\n  - pong: {from: pc}\n",
    )
    .unwrap();
    let out = labctl(&["grade", &class.subs(), "--checks", &class.path("bad.yaml")]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("bad.yaml:2:") && stderr.contains("is not a valid checks file"),
        "{}",
        text(&out)
    );
    let empty = TempDir::new("grade-empty");
    let out = labctl(&[
        "grade",
        &empty.path().display().to_string(),
        "--checks",
        &class.path("rubric.yaml"),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("has no lab files (*.yaml, *.yml)"));
    let out = labctl(&[
        "grade",
        &class.subs(),
        "--checks",
        &class.path("rubric.yaml"),
        "--shard",
        "3/2",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    class.assert_nothing_left();
}

#[test]
fn sigterm_tears_down_every_lab_being_graded() {
    require_root();
    let u = unique_name("t");
    let mut class = Class::new();
    for student in ["a", "b", "c"] {
        class.submit(
            &format!("{u}-{student}.yaml"),
            &format!("{u}-{student}"),
            &tiny("10.9.0.80"),
        );
    }
    // A check that takes long enough to be in the middle of it.
    std::fs::write(
        class.dir.join("slow.yaml"),
        "checks:\n  - exec: {node: pc, command: [sleep, '20'], timeout: 30s}\n",
    )
    .unwrap();
    let grading = Command::new(LABCTL)
        .args([
            "grade",
            &class.subs(),
            "--checks",
            &class.path("slow.yaml"),
            "--jobs",
            "2",
        ])
        .args(["--csv", &class.path("grades.csv")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Both jobs' labs are up and checking.
    let deadline = Instant::now() + Duration::from_secs(20);
    let up = |lab: &str| Path::new("/run/labctl").join(lab).join("lab.json").exists();
    while !(up(&class.labs[0]) && up(&class.labs[1])) {
        assert!(
            Instant::now() < deadline,
            "the first two labs did not come up"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    unsafe { libc::kill(grading.id() as i32, libc::SIGTERM) };
    let started = Instant::now();
    let out = grading.wait_with_output().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "grade took {:?} to stop",
        started.elapsed()
    );
    assert_eq!(out.status.code(), Some(143), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("interrupted after 0 of 3 submissions: every lab was torn down"),
        "{}",
        text(&out)
    );
    // No report pretends the class was graded.
    assert!(!class.dir.join("grades.csv").exists());
    class.assert_nothing_left();
}
