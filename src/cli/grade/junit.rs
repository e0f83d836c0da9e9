//! One JUnit file per submission, named after its lab (unique and safe as
//! a file name): a graded one's report as `test --junit` writes it; one
//! that could not be graded as a suite with one test in error, saying why.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::checks::report::{to_junit, xml_escape};
use crate::ops::grade::{Row, Verdict};

/// Writes a file per row into `dir`; the paths written.
pub fn write_all(dir: &Path, rows: &[Row]) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for row in rows {
        let xml = match &row.verdict {
            Verdict::Graded(report) => to_junit(report),
            Verdict::Ungradable { reason, details } => not_graded(row, reason, details),
            Verdict::Interrupted => continue,
        };
        let path = dir.join(format!("{}.xml", row.submission.lab));
        std::fs::write(&path, xml)
            .with_context(|| format!("cannot write the JUnit report {}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

fn not_graded(row: &Row, reason: &str, details: &str) -> String {
    let lab = xml_escape(&row.submission.lab);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"labctl\" tests=\"1\" failures=\"0\" errors=\"1\" time=\"0.000\">"
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"{lab}\" tests=\"1\" failures=\"0\" errors=\"1\" skipped=\"0\" time=\"0.000\">"
    );
    let _ = writeln!(
        out,
        "    <testcase name=\"{} can be graded\" classname=\"{lab}.grade\" time=\"0.000\">",
        xml_escape(&row.submission.student)
    );
    let _ = writeln!(
        out,
        "      <error type=\"ungradable\" message=\"{}\">{}</error>",
        xml_escape(reason),
        xml_escape(if details.is_empty() { reason } else { details })
    );
    out.push_str("    </testcase>\n  </testsuite>\n</testsuites>\n");
    out
}
