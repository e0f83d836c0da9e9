//! The class as CSV (RFC 4180, a header line, one row per submission) for
//! a learning management system's grade import; documented in
//! docs/grading.md. Columns may be added at the end, never renamed.
//! Text that came from a submission (its file name, a reason quoting it)
//! cannot start a formula when a spreadsheet opens the file: a cell that
//! starts with `=`, `+`, `-`, `@`, a tab or a carriage return gets a
//! leading `'` (OWASP's advice against CSV injection).

use anyhow::Result;

use crate::ops::grade::Row;

pub const HEADER: [&str; 10] = [
    "student",
    "points",
    "max_points",
    "percent",
    "graded",
    "failed_checks",
    "reason",
    "file",
    "lab",
    "warnings",
];

pub fn to_csv(rows: &[Row], max_points: u32) -> Result<Vec<u8>> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(HEADER)?;
    for row in rows {
        let marks = row.marks(max_points);
        out.write_record([
            text(&row.submission.student).as_str(),
            &marks.points.to_string(),
            &marks.max_points.to_string(),
            &format!("{:.1}", marks.percent),
            if marks.graded { "yes" } else { "no" },
            &text(&marks.failed.join("; ")),
            &text(marks.reason.unwrap_or("")),
            &text(&row.submission.file.display().to_string()),
            &row.submission.lab,
            &text(&row.warnings.join("; ")),
        ])?;
    }
    Ok(out.into_inner()?)
}

/// A text cell a spreadsheet shows as text, never runs as a formula.
fn text(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::text;

    #[test]
    fn a_cell_that_would_start_a_formula_is_kept_as_text() {
        assert_eq!(
            text("=HYPERLINK(\"http://x\")"),
            "'=HYPERLINK(\"http://x\")"
        );
        assert_eq!(text("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(text("-2+3"), "'-2+3");
        assert_eq!(text("dana_k"), "dana_k");
        assert_eq!(text(""), "");
    }
}
