//! The class on the terminal: one line per submission (student, points,
//! percentage, the checks it failed or why it could not be graded), then
//! how many were graded. Names and titles come from files: escaped.

use std::fmt::Write;

use crate::ops::grade::Row;
use crate::printable::line;

pub fn to_table(rows: &[Row], max_points: u32) -> String {
    let students: Vec<String> = rows
        .iter()
        .map(|r| line(&r.submission.student).into_owned())
        .collect();
    let width = students
        .iter()
        .map(|s| s.chars().count())
        .chain(["student".len()])
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<width$}  {:>9}  {:>6}  failed checks",
        "student", "points", "%"
    );
    for (row, student) in rows.iter().zip(&students) {
        let marks = row.marks(max_points);
        let points = format!("{}/{}", marks.points, marks.max_points);
        let remark = match marks.reason {
            Some(reason) => format!("NOT GRADED: {}", line(reason)),
            None if marks.failed.is_empty() => "-".to_string(),
            None => marks
                .failed
                .iter()
                .map(|title| line(title))
                .collect::<Vec<_>>()
                .join("; "),
        };
        let remark = match row.warnings.len() {
            0 => remark,
            n => {
                let warned = format!("{} in the lab file", crate::plural::count(n, "warning"));
                if remark == "-" {
                    warned
                } else {
                    format!("{remark} ({warned})")
                }
            }
        };
        let pad = width.saturating_sub(student.chars().count());
        let _ = writeln!(
            out,
            "{student}{:pad$}  {points:>9}  {:>5.1}%  {remark}",
            "", marks.percent
        );
    }
    let graded = rows.iter().filter(|r| r.marks(max_points).graded).count();
    let _ = write!(
        out,
        "graded {graded} of {}",
        crate::plural::count(rows.len(), "submission")
    );
    if graded < rows.len() {
        let _ = write!(out, " ({} not graded)", rows.len() - graded);
    }
    out.push('\n');
    out
}
