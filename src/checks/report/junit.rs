//! The report as JUnit XML, the format CI systems display (GitLab, Jenkins,
//! GitHub test reporters): one testsuite per lab, one testcase per check,
//! the diagnosis as the failure message.

use std::fmt::Write;

use super::Report;

pub fn to_junit(report: &Report) -> String {
    let s = report.summary();
    let seconds = |d: std::time::Duration| format!("{:.3}", d.as_secs_f64());
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"labctl\" tests=\"{}\" failures=\"{}\" errors=\"0\" time=\"{}\">",
        s.checks,
        s.failed,
        seconds(report.duration)
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"0\" time=\"{}\" timestamp=\"{}\">",
        escape(&report.lab),
        s.checks,
        s.failed,
        seconds(report.duration),
        timestamp(report.started)
    );
    let _ = writeln!(out, "    <properties>");
    for (name, value) in [
        ("points", s.points.to_string()),
        ("max_points", s.max_points.to_string()),
        ("percent", format!("{:.1}", s.percent)),
    ] {
        let _ = writeln!(out, "      <property name=\"{name}\" value=\"{value}\"/>");
    }
    let _ = writeln!(out, "    </properties>");
    let blocked_by = report.blocked_by();
    for (i, result) in report.results.iter().enumerate() {
        let attributes = format!(
            "name=\"{}\" classname=\"{}.{}\" time=\"{}\"",
            escape(&result.spec.title),
            escape(&report.lab),
            result.spec.probe.kind(),
            seconds(result.outcome.duration)
        );
        match &result.outcome.diagnosis {
            None => {
                let _ = writeln!(out, "    <testcase {attributes}>");
                let _ = writeln!(
                    out,
                    "      <system-out>{}</system-out>",
                    escape(&result.outcome.detail)
                );
                let _ = writeln!(out, "    </testcase>");
            }
            Some(d) => {
                let blocked = blocked_by[i]
                    .map(|lead| format!("blocked by {}: ", lead + 1))
                    .unwrap_or_default();
                let _ = writeln!(out, "    <testcase {attributes}>");
                let _ = writeln!(
                    out,
                    "      <failure type=\"{}\" message=\"{}\">{}</failure>",
                    d.step,
                    escape(&format!("{blocked}{}", d.message)),
                    escape(&format!("{blocked}{d}"))
                );
                let _ = writeln!(out, "    </testcase>");
            }
        }
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

/// Text made safe for XML attributes and content. It is escaped as for a
/// terminal first (`crate::printable`: CI pages and consoles show it, and
/// the control characters it escapes are the ones XML 1.0 cannot carry),
/// then the XML specials; the two non-characters XML 1.0 also forbids are
/// replaced.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in crate::printable::lines(text).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\t' => out.push(' '),
            '\u{fffe}' | '\u{ffff}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// ISO 8601 in UTC without a zone suffix, as JUnit writers put it.
fn timestamp(at: std::time::SystemTime) -> String {
    let secs = at
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (year, month, day) = crate::services::mail::date::civil_from_days(days as i64);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_escapes() {
        assert_eq!(timestamp(std::time::UNIX_EPOCH), "1970-01-01T00:00:00");
        assert_eq!(
            timestamp(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_790_000_000)),
            "2026-09-21T14:13:20"
        );
        assert_eq!(
            escape("a<b & \"c\"\r\n\u{1}"),
            "a&lt;b &amp; &quot;c&quot;&#10;\\x01"
        );
        // Whatever a lab sends, only characters XML 1.0 allows come out.
        let hostile: String = (0..0x2100u32)
            .chain([0xfffe, 0xffff, 0x1f600])
            .filter_map(char::from_u32)
            .collect();
        let xml_char = |c: char| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..);
        let escaped = escape(&hostile);
        assert!(escaped.chars().all(xml_char));
        assert!(!escaped.contains('\u{1b}') && escaped.contains("\\x1b"));
    }

    /// The report validates against the JUnit schema of Jenkins' xunit
    /// plugin (tests/data/junit-10.xsd) with xmllint (package libxml2-utils).
    #[test]
    fn validates_against_the_junit_schema() {
        let xml = to_junit(&super::super::tests::sample());
        assert!(
            xml.contains("<failure type=\"dns\" message=\"pc-ada could not resolve mail.mt.com"),
            "{xml}"
        );
        assert!(xml.contains("name=\"Ada &amp; Bob &lt;mail&gt;\""), "{xml}");
        let dir = std::env::temp_dir().join(format!("labctl-junit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("report.xml");
        std::fs::write(&file, &xml).unwrap();
        let schema = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/junit-10.xsd");
        let out = std::process::Command::new("xmllint")
            .args(["--noout", "--schema", schema])
            .arg(&file)
            .output()
            .expect("xmllint runs (apt-get install libxml2-utils; `make deps` does)");
        let _ = std::fs::remove_dir_all(&dir);
        assert!(
            out.status.success(),
            "{}\n{xml}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
