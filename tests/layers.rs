//! The layer rule of docs/architecture.md, checked on the source: every
//! `crate::MODULE` a file names must sit in its own layer or a lower one, and
//! inside a layer only the listed arrows exist (so no two modules of one
//! layer lean on each other). Pure text, no root: a file that breaks the rule
//! fails here with the line that does.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Top-level modules by layer, highest first.
const LAYERS: &[&[&str]] = &[
    &["main", "lib"],
    &["cli"],
    &["web"],
    &["ops"],
    &["checks", "daemon"],
    &["services", "agent", "capture"],
    &["net", "state"],
    &["lab"],
    &[
        "plural",
        "printable",
        "progress",
        "random_input",
        "rootless",
    ],
];

/// The arrows allowed between two modules of the same layer.
const SIDEWAYS: &[(&str, &str)] = &[
    ("checks", "daemon"),
    ("agent", "services"),
    ("capture", "services"),
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/cli/up.rs` → `cli`; `src/plural.rs` → `plural`.
fn module_of(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).unwrap();
    let first = relative.components().next().unwrap().as_os_str();
    first.to_string_lossy().trim_end_matches(".rs").to_string()
}

/// Every `crate::NAME` in `text` that is code, not a comment.
fn crate_references(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            // `$crate::` in macros and `labctl_crate::` are not ours.
            let before = &rest[..at];
            if !name.is_empty() && !before.ends_with('$') && !before.ends_with('_') {
                found.push((number + 1, name));
            }
            rest = after;
        }
    }
    found
}

#[test]
fn layers_only_point_down() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut broken = Vec::new();
    let mut arrows: BTreeMap<(String, String), usize> = BTreeMap::new();
    for file in &files {
        let from = module_of(&src, file);
        let Some(from_layer) = layer_of(&from) else {
            broken.push(format!(
                "{}: module `{from}` is in no layer: add it to LAYERS here and to docs/architecture.md",
                file.display()
            ));
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap();
        if text.contains("crate::{") {
            broken.push(format!(
                "{}: `use crate::{{…}}` groups modules: write one `use crate::MODULE::…` per module so this test can read it",
                file.display()
            ));
        }
        for (line, to) in crate_references(&text) {
            if to == from {
                continue;
            }
            let Some(to_layer) = layer_of(&to) else {
                continue; // an item of lib.rs itself, not a module
            };
            *arrows.entry((from.clone(), to.clone())).or_default() += 1;
            let down = to_layer > from_layer;
            let sideways =
                to_layer == from_layer && SIDEWAYS.contains(&(from.as_str(), to.as_str()));
            if !down && !sideways {
                broken.push(format!(
                    "{}:{line}: `{from}` uses `crate::{to}`, which is not below it",
                    file.display()
                ));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "arrows that run back up (docs/architecture.md, \"Layers\"):\n{}",
        broken.join("\n")
    );
    // The rule is not vacuous: the layers really do use each other.
    assert!(
        arrows.contains_key(&("cli".into(), "ops".into())),
        "{arrows:?}"
    );
    assert!(
        arrows.contains_key(&("daemon".into(), "services".into())),
        "{arrows:?}"
    );
}

#[test]
fn a_wrong_way_arrow_is_seen() {
    let refs =
        crate_references("use crate::cli::main; // crate::ops in a comment\nlet x = $crate::y;");
    assert_eq!(refs, vec![(1, "cli".to_string())]);
}
