//! The class as CSV (RFC 4180, a header line, one row per submission) for
//! a learning management system's grade import; documented in
//! docs/grading.md. Columns may be added at the end, never renamed.

use anyhow::Result;

use crate::ops::grade::Row;

pub const HEADER: [&str; 9] = [
    "student",
    "points",
    "max_points",
    "percent",
    "graded",
    "failed_checks",
    "reason",
    "file",
    "lab",
];

pub fn to_csv(rows: &[Row], max_points: u32) -> Result<Vec<u8>> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(HEADER)?;
    for row in rows {
        let marks = row.marks(max_points);
        out.write_record([
            row.submission.student.as_str(),
            &marks.points.to_string(),
            &marks.max_points.to_string(),
            &format!("{:.1}", marks.percent),
            if marks.graded { "yes" } else { "no" },
            &marks.failed.join("; "),
            marks.reason.unwrap_or(""),
            &row.submission.file.display().to_string(),
            &row.submission.lab,
        ])?;
    }
    Ok(out.into_inner()?)
}
