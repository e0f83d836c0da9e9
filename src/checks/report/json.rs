//! The report as JSON for scripts (documented in docs/checks.md, version 1:
//! fields may be added, never renamed or removed).

use serde::Serialize;

use super::Report;
use crate::checks::outcome::Diagnosis;

pub const VERSION: u32 = 1;

#[derive(Serialize)]
struct JsonReport<'a> {
    version: u32,
    lab: &'a str,
    passed: bool,
    score: Score,
    started: u64,
    duration_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    timings: Option<JsonTimings>,
    checks: Vec<JsonCheck<'a>>,
    /// The pcapng file of the run (`--capture`).
    #[serde(skip_serializing_if = "Option::is_none")]
    capture: Option<JsonCapture<'a>>,
}

#[derive(Serialize)]
struct JsonCapture<'a> {
    file: &'a str,
    /// When the capture began, ns since the epoch.
    started_ns: u64,
}

#[derive(Serialize)]
struct Score {
    checks: usize,
    passed: usize,
    failed: usize,
    /// Failed checks blocked by another's failure.
    blocked: usize,
    points: u32,
    max_points: u32,
    percent: f64,
}

#[derive(Serialize)]
struct JsonTimings {
    build_ms: u64,
    ready_ms: u64,
    checks_ms: u64,
    teardown_ms: u64,
}

#[derive(Serialize)]
struct JsonCheck<'a> {
    index: usize,
    name: &'a str,
    kind: &'static str,
    source: &'a str,
    passed: bool,
    points: u32,
    max_points: u32,
    duration_ms: u64,
    detail: &'a str,
    diagnosis: Option<&'a Diagnosis>,
    /// The index of the failed check this one is blocked by (same cause).
    blocked_by: Option<usize>,
    /// With `--capture`: seconds from the capture's start to when this
    /// check ended (failed checks only).
    #[serde(skip_serializing_if = "Option::is_none")]
    capture_offset_s: Option<f64>,
}

pub fn to_json(report: &Report) -> serde_json::Value {
    let s = report.summary();
    let blocked_by = report.blocked_by();
    let ms = |d: std::time::Duration| d.as_millis() as u64;
    let json = JsonReport {
        version: VERSION,
        lab: &report.lab,
        passed: report.all_passed(),
        score: Score {
            checks: s.checks,
            passed: s.passed,
            failed: s.failed,
            blocked: blocked_by.iter().flatten().count(),
            points: s.points,
            max_points: s.max_points,
            percent: s.percent,
        },
        started: report
            .started
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs(),
        duration_ms: ms(report.duration),
        timings: report.timings.map(|t| JsonTimings {
            build_ms: ms(t.build),
            ready_ms: ms(t.ready),
            checks_ms: ms(t.checks),
            teardown_ms: ms(t.teardown),
        }),
        checks: report
            .results
            .iter()
            .enumerate()
            .map(|(i, r)| JsonCheck {
                index: i + 1,
                name: &r.spec.title,
                kind: r.spec.probe.kind(),
                source: r.spec.probe.source(),
                passed: r.outcome.passed,
                points: if r.outcome.passed { r.spec.points } else { 0 },
                max_points: r.spec.points,
                duration_ms: ms(r.outcome.duration),
                detail: &r.outcome.detail,
                diagnosis: r.outcome.diagnosis.as_ref(),
                blocked_by: blocked_by[i].map(|lead| lead + 1),
                capture_offset_s: (!r.outcome.passed)
                    .then(|| {
                        report
                            .capture_offset(i)
                            .map(|s| (s * 1000.0).round() / 1000.0)
                    })
                    .flatten(),
            })
            .collect(),
        capture: report.capture.as_ref().map(|note| JsonCapture {
            file: &note.file,
            started_ns: note
                .started
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos() as u64,
        }),
    };
    serde_json::to_value(json).expect("the report is JSON")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn has_the_documented_shape() {
        let value = super::to_json(&super::super::tests::sample());
        assert_eq!(value["version"], 1);
        assert_eq!(value["lab"], "mastertech");
        assert_eq!(value["passed"], false);
        assert_eq!(
            value["score"],
            json!({"checks": 2, "passed": 1, "failed": 1, "blocked": 0, "points": 2, "max_points": 3, "percent": 66.7})
        );
        assert_eq!(value["started"], 1_790_000_000u64);
        assert_eq!(value["duration_ms"], 1520);
        assert!(value.get("timings").is_none());
        let first = &value["checks"][0];
        assert_eq!(first["index"], 1);
        assert_eq!(first["kind"], "ping");
        assert_eq!(first["source"], "pc0");
        assert_eq!(first["passed"], true);
        assert_eq!(
            (first["points"].clone(), first["max_points"].clone()),
            (json!(2), json!(2))
        );
        assert_eq!(first["diagnosis"], serde_json::Value::Null);
        let second = &value["checks"][1];
        assert_eq!(second["points"], 0);
        assert_eq!(second["diagnosis"]["step"], "dns");
        assert!(
            second["diagnosis"]["message"]
                .as_str()
                .unwrap()
                .contains("NXDOMAIN")
        );
        assert!(
            second["diagnosis"]["hint"]
                .as_str()
                .unwrap()
                .contains("A record")
        );
        let keys: Vec<&str> = first
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "index",
                "name",
                "kind",
                "source",
                "passed",
                "points",
                "max_points",
                "duration_ms",
                "detail",
                "diagnosis",
                "blocked_by"
            ]
        );
    }
}
