//! The class as JSON (documented in docs/grading.md, version 1: fields may
//! be added, never renamed or removed): a row per submission with its
//! marks, and each graded submission's whole report as `check --json`
//! gives it.

use serde::Serialize;
use serde_json::Value;

use crate::checks::report::to_json;
use crate::ops::grade::{Row, Shard, Verdict};

pub const VERSION: u32 = 1;

#[derive(Serialize)]
struct JsonClass<'a> {
    version: u32,
    rubric: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    shard: Option<JsonShard>,
    submissions: usize,
    graded: usize,
    warnings: &'a [String],
    rows: Vec<JsonRow<'a>>,
}

#[derive(Serialize)]
struct JsonShard {
    index: usize,
    count: usize,
}

#[derive(Serialize)]
struct JsonRow<'a> {
    student: &'a str,
    file: String,
    lab: &'a str,
    graded: bool,
    points: u32,
    max_points: u32,
    percent: f64,
    failed_checks: Vec<&'a str>,
    /// The lab file's validation warnings.
    lab_warnings: &'a [String],
    reason: Option<&'a str>,
    details: Option<&'a str>,
    report: Option<Value>,
}

/// The class graded against the rubric at `rubric` (its path as given).
pub fn to_class_json(
    rows: &[Row],
    max_points: u32,
    rubric: &std::path::Path,
    shard: Option<Shard>,
    warnings: &[String],
) -> Value {
    let rows: Vec<JsonRow> = rows
        .iter()
        .map(|row| {
            let marks = row.marks(max_points);
            JsonRow {
                student: &row.submission.student,
                file: row.submission.file.display().to_string(),
                lab: &row.submission.lab,
                graded: marks.graded,
                points: marks.points,
                max_points: marks.max_points,
                percent: marks.percent,
                failed_checks: marks.failed,
                lab_warnings: &row.warnings,
                reason: marks.reason,
                details: match &row.verdict {
                    Verdict::Ungradable { details, .. } if !details.is_empty() => Some(details),
                    _ => None,
                },
                report: match &row.verdict {
                    Verdict::Graded(report) => Some(to_json(report)),
                    _ => None,
                },
            }
        })
        .collect();
    let class = JsonClass {
        version: VERSION,
        rubric: rubric.display().to_string(),
        shard: shard.map(|s| JsonShard {
            index: s.index,
            count: s.count,
        }),
        submissions: rows.len(),
        graded: rows.iter().filter(|r| r.graded).count(),
        warnings,
        rows,
    };
    serde_json::to_value(class).expect("the class is JSON")
}
