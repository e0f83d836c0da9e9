//! A grading run's report: the checks' results, the score and completion
//! percentage (what Packet Tracer's activity grader shows), and for
//! `labctl test` how long each phase took. Rendered as text, JSON
//! (docs/checks.md) and JUnit XML.

mod json;
mod junit;
mod text;

use std::time::{Duration, SystemTime};

pub use json::to_json;
pub(crate) use junit::escape as xml_escape;
pub use junit::to_junit;
pub use text::to_text;

use super::runner::CheckResult;

/// How long the phases of `labctl test` took.
#[derive(Clone, Copy, Debug, Default)]
pub struct Timings {
    pub build: Duration,
    pub ready: Duration,
    pub checks: Duration,
    pub teardown: Duration,
}

pub struct Report {
    pub lab: String,
    pub results: Vec<CheckResult>,
    /// When the checks started.
    pub started: SystemTime,
    /// How long the checks took together.
    pub duration: Duration,
    pub timings: Option<Timings>,
}

/// Counts and score.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    pub checks: usize,
    pub passed: usize,
    pub failed: usize,
    pub points: u32,
    pub max_points: u32,
    /// Points scored as a percentage of the points available (100 when
    /// there are none), rounded to one decimal.
    pub percent: f64,
}

impl Report {
    pub fn summary(&self) -> Summary {
        let passed = self.results.iter().filter(|r| r.outcome.passed).count();
        let max_points: u32 = self.results.iter().map(|r| r.spec.points).sum();
        let points: u32 = self
            .results
            .iter()
            .filter(|r| r.outcome.passed)
            .map(|r| r.spec.points)
            .sum();
        let percent = if max_points == 0 {
            if passed == self.results.len() {
                100.0
            } else {
                0.0
            }
        } else {
            (f64::from(points) * 1000.0 / f64::from(max_points)).round() / 10.0
        };
        Summary {
            checks: self.results.len(),
            passed,
            failed: self.results.len() - passed,
            points,
            max_points,
            percent,
        }
    }

    pub fn all_passed(&self) -> bool {
        self.results.iter().all(|r| r.outcome.passed)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::checks::kinds::{Probe, ping::Ping};
    use crate::checks::outcome::{Diagnosis, Outcome};
    use crate::checks::spec::CheckSpec;
    use crate::checks::target::Target;

    /// Two checks: one passed (2 points), one failed with a diagnosis that
    /// has characters XML and JSON must escape.
    pub fn sample() -> Report {
        let ping = |title: &str, points| CheckSpec {
            title: title.to_string(),
            points,
            probe: Probe::Ping(Ping {
                from: "pc0".into(),
                to: Target::Ip("192.168.1.2".parse().unwrap()),
                reachable: true,
            }),
        };
        let mut passed = Outcome::pass("192.168.1.2 answered in 0.1 ms");
        passed.duration = Duration::from_millis(12);
        let mut failed = Outcome::fail(Diagnosis::new(
            "dns",
            "pc-ada could not resolve mail.mt.com: DNS server 192.168.10.2 answered NXDOMAIN",
            "is there an A record for mail.mt.com? <&\"'>",
        ));
        failed.duration = Duration::from_millis(1500);
        Report {
            lab: "mastertech".into(),
            results: vec![
                CheckResult {
                    spec: ping("pc0 can ping server0", 2),
                    outcome: passed,
                },
                CheckResult {
                    spec: ping("Ada & Bob <mail>", 1),
                    outcome: failed,
                },
            ],
            started: SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000),
            duration: Duration::from_millis(1520),
            timings: None,
        }
    }

    #[test]
    fn scores_by_points() {
        let s = sample().summary();
        assert_eq!(
            (s.checks, s.passed, s.failed, s.points, s.max_points),
            (2, 1, 1, 2, 3)
        );
        assert_eq!(s.percent, 66.7);
    }
}
