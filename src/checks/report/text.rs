//! The report for people: one line per check, the diagnosis under each
//! failure, then the score.

use std::fmt::Write;

use super::Report;
use crate::printable::line;

pub fn to_text(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "checks of lab {}:", line(&report.lab));
    let blocked_by = report.blocked_by();
    for (i, result) in report.results.iter().enumerate() {
        let mark = if result.outcome.passed {
            "PASS"
        } else {
            "FAIL"
        };
        let points = if result.outcome.passed {
            result.spec.points
        } else {
            0
        };
        let _ = writeln!(
            out,
            "  {mark}  {:>2}. {} [{points}/{}] ({:.2} s)",
            i + 1,
            line(&result.spec.title),
            result.spec.points,
            result.outcome.duration.as_secs_f64()
        );
        match &result.outcome.diagnosis {
            Some(d) if let Some(lead) = blocked_by[i] => {
                // The cause is under the check it is blocked by.
                let _ = writeln!(
                    out,
                    "          blocked by {}: {}",
                    lead + 1,
                    line(&d.message)
                );
            }
            Some(d) => {
                // Diagnoses and details quote what the lab answered.
                let _ = writeln!(out, "          {}", line(&d.message));
                if !d.hint.is_empty() {
                    let _ = writeln!(out, "          look at: {}", line(&d.hint));
                }
            }
            None => {
                let _ = writeln!(out, "          {}", line(&result.outcome.detail));
            }
        }
        if !result.outcome.passed
            && let (Some(note), Some(at)) = (&report.capture, report.capture_offset(i))
        {
            let _ = writeln!(out, "          capture: {} at {at:.3} s", line(&note.file));
        }
    }
    let s = report.summary();
    let blocked = blocked_by.iter().flatten().count();
    let _ = writeln!(
        out,
        "score: {}/{} points ({:.1}%), {} of {} checks passed{}, in {:.2} s",
        s.points,
        s.max_points,
        s.percent,
        s.passed,
        s.checks,
        if blocked > 0 {
            format!(", {blocked} blocked by an earlier failure")
        } else {
            String::new()
        },
        report.duration.as_secs_f64()
    );
    if let Some(note) = &report.capture {
        let _ = writeln!(
            out,
            "capture: {} (every interface; open it in Wireshark)",
            line(&note.file)
        );
    }
    if let Some(t) = &report.timings {
        let _ = writeln!(
            out,
            "timings: build {:.2} s, services ready {:.2} s, checks {:.2} s, teardown {:.2} s",
            t.build.as_secs_f64(),
            t.ready.as_secs_f64(),
            t.checks.as_secs_f64(),
            t.teardown.as_secs_f64()
        );
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn shows_marks_diagnosis_and_score() {
        let text = super::to_text(&super::super::tests::sample());
        assert!(
            text.contains("PASS   1. pc0 can ping server0 [2/2]"),
            "{text}"
        );
        assert!(text.contains("FAIL   2. Ada & Bob <mail> [0/1]"), "{text}");
        assert!(text.contains("answered NXDOMAIN"), "{text}");
        assert!(text.contains("look at: is there an A record"), "{text}");
        assert!(
            text.contains("score: 2/3 points (66.7%), 1 of 2 checks passed"),
            "{text}"
        );
    }

    #[test]
    fn what_the_lab_said_cannot_drive_the_terminal_or_forge_lines() {
        use crate::checks::outcome::{Diagnosis, Outcome};
        let mut report = super::super::tests::sample();
        report.results[0].outcome =
            Outcome::pass("web page title \u{1b}]0;owned\u{7}\nPASS  9. forged [9/9]");
        report.results[1].outcome = Outcome::fail(Diagnosis::new(
            "mail",
            "the server said 550 \u{1b}[2Jno\r",
            "\u{9b}31m",
        ));
        let text = super::to_text(&report);
        assert!(
            !text.chars().any(|c| c.is_control() && c != '\n'),
            "{text:?}"
        );
        assert!(text.contains("title \\x1b]0;owned\\x07\\nPASS"), "{text}");
        assert!(text.contains("550 \\x1b[2Jno\\r"), "{text}");
        assert!(
            !text
                .lines()
                .any(|l| l.contains("forged") && l.trim_start().starts_with("PASS"))
        );
    }
}
