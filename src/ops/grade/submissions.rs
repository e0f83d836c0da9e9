//! Which files a `grade` run grades, and under which names: the lab files
//! of the folders and files given (sorted, so every shard of a class sees
//! the same order), each with the student's name for the report (the file
//! name, whatever characters it has) and a lab name of its own — valid by
//! the lab-name rules and unique — so any number of submissions that share
//! the lab's `name:` run side by side.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::lab::validate::{MAX_NAME, name_problem};

/// One student's lab file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Submission {
    /// Who handed it in, for the report: the file name without its
    /// extension (the path without it when two files share a name).
    pub student: String,
    pub file: PathBuf,
    /// The lab it runs as, derived from `student`.
    pub lab: String,
}

/// The lab files named by `paths`: a folder gives its `*.yaml` and `*.yml`
/// files (not those of its subfolders), a file itself. Sorted by path,
/// each once.
pub fn lab_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let entries = std::fs::read_dir(path)
                .with_context(|| format!("cannot read the folder {}", path.display()))?;
            let before = files.len();
            for entry in entries {
                let file = entry
                    .with_context(|| format!("cannot read the folder {}", path.display()))?
                    .path();
                if file.is_file() && is_lab_file(&file) {
                    files.push(file);
                }
            }
            if files.len() == before {
                bail!(
                    "the folder {} has no lab files (*.yaml, *.yml)",
                    path.display()
                );
            }
        } else if path.is_file() {
            files.push(path.clone());
        } else {
            bail!("{}: no such file or folder", path.display());
        }
    }
    files.sort();
    files.dedup();
    Ok(files)
}

fn is_lab_file(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    )
}

/// Names every file: its student and a lab name no other submission and
/// no lab in `taken` (those already up on this machine) has.
pub fn name(files: Vec<PathBuf>, taken: &HashSet<String>) -> Vec<Submission> {
    let mut by_stem: BTreeMap<String, usize> = BTreeMap::new();
    for file in &files {
        *by_stem.entry(stem(file)).or_default() += 1;
    }
    let mut used: HashSet<String> = taken.clone();
    files
        .into_iter()
        .map(|file| {
            let student = match by_stem.get(&stem(&file)) {
                Some(1) => stem(&file),
                // Two folders with a `lab.yaml` each: the folder tells them apart.
                _ => file.with_extension("").display().to_string(),
            };
            let lab = unique_lab_name(&student, &mut used);
            Submission { student, file, lab }
        })
        .collect()
}

fn stem(file: &Path) -> String {
    file.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `student` as a lab name: lowercase letters, digits and single `-` (any
/// other run of characters becomes one `-`), at most `MAX_NAME`; `-2`,
/// `-3`… when the name is in `used`, which it is added to.
fn unique_lab_name(student: &str, used: &mut HashSet<String>) -> String {
    let mut base = String::new();
    for c in student.chars() {
        if c.is_ascii_alphanumeric() {
            base.push(c.to_ascii_lowercase());
        } else if !base.is_empty() && !base.ends_with('-') {
            base.push('-');
        }
    }
    let base = base.trim_end_matches('-');
    let base = if base.is_empty() { "student" } else { base };
    for n in 1.. {
        let suffix = if n == 1 {
            String::new()
        } else {
            format!("-{n}")
        };
        let room = MAX_NAME - suffix.len();
        let stem = base[..base.len().min(room)].trim_end_matches('-');
        let name = format!("{stem}{suffix}");
        debug_assert!(name_problem(&name).is_none(), "{name:?} is no lab name");
        if used.insert(name.clone()) {
            return name;
        }
    }
    unreachable!("some suffix is free")
}

/// `--shard I/N`: the I-th (from 1) of N slices of a class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl std::str::FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Shard, String> {
        let usage = || format!("`{text}` is not a shard: write I/N with 1 <= I <= N, e.g. 2/4");
        let (i, n) = text.split_once('/').ok_or_else(usage)?;
        let (index, count) = (
            i.trim().parse::<usize>().map_err(|_| usage())?,
            n.trim().parse::<usize>().map_err(|_| usage())?,
        );
        if index == 0 || index > count {
            return Err(usage());
        }
        Ok(Shard { index, count })
    }
}

impl Shard {
    /// This shard's submissions: every N-th of the sorted list, starting
    /// at the I-th, so that the N shards partition the class and each gets
    /// a fair mix of it.
    pub fn select<T>(&self, items: Vec<T>) -> Vec<T> {
        items
            .into_iter()
            .enumerate()
            .filter(|(k, _)| k % self.count == self.index - 1)
            .map(|(_, item)| item)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(files: &[&str]) -> Vec<(String, String)> {
        name(
            files.iter().map(PathBuf::from).collect(),
            &HashSet::from(["taken".to_string()]),
        )
        .into_iter()
        .map(|s| (s.student, s.lab))
        .collect()
    }

    #[test]
    fn lab_names_are_valid_and_unique_whatever_the_file_names() {
        let named = names(&[
            "subs/dana_k.yaml",
            "subs/Dana-K.yml",
            "subs/--.yaml",
            "subs/Zoë O'Brien (late).yaml",
            "subs/taken.yaml",
            "subs/a-very-long-student-name-that-goes-on-and-on.yaml",
            "subs/a-very-long-student-name-that-goes-on-and-on-too.yaml",
        ]);
        let labs: Vec<&str> = named.iter().map(|(_, lab)| lab.as_str()).collect();
        assert_eq!(
            labs,
            [
                "dana-k",
                "dana-k-2",
                "student",
                "zo-o-brien-late",
                "taken-2",
                "a-very-long-student-name-that-go",
                "a-very-long-student-name-that-2",
            ]
        );
        for lab in labs {
            assert_eq!(name_problem(lab), None, "{lab}");
        }
        // The report keeps the student's own name.
        assert_eq!(named[0].0, "dana_k");
        assert_eq!(named[3].0, "Zoë O'Brien (late)");
    }

    #[test]
    fn two_files_of_one_name_are_told_apart_by_their_folder() {
        let named = names(&["ada/lab.yaml", "bob/lab.yaml", "cy.yaml"]);
        assert_eq!(named[0], ("ada/lab".into(), "ada-lab".into()));
        assert_eq!(named[1], ("bob/lab".into(), "bob-lab".into()));
        assert_eq!(named[2], ("cy".into(), "cy".into()));
    }

    #[test]
    fn shards_partition_the_class() {
        let class: Vec<usize> = (0..11).collect();
        let mut seen: Vec<usize> = (1..=3)
            .flat_map(|i| Shard { index: i, count: 3 }.select(class.clone()))
            .collect();
        seen.sort();
        assert_eq!(seen, class);
        assert_eq!(Shard { index: 2, count: 3 }.select(class), [1, 4, 7, 10]);
    }

    #[test]
    fn a_shard_is_i_of_n() {
        assert_eq!("2/4".parse(), Ok(Shard { index: 2, count: 4 }));
        for bad in ["0/4", "5/4", "2", "a/b", "1/0", "-1/2"] {
            let error = bad.parse::<Shard>().unwrap_err();
            assert!(error.contains("write I/N"), "{bad}: {error}");
        }
    }
}
