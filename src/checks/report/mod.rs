//! A grading run's report: the checks' results, the score and completion
//! percentage (what Packet Tracer's activity grader shows), and for
//! `labctl test` how long each phase took. Rendered as text, JSON
//! (docs/checks.md) and JUnit XML. Failures that share a cause (one missing
//! lease, one missing route) are tied to the first of them: the others are
//! shown as blocked by it, so the report leads with the cause.

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
    /// The pcapng file the run was recorded into (`--capture`), if any.
    pub capture: Option<CaptureNote>,
}

/// Where a run was recorded, so a failed check can be opened in Wireshark
/// at the moment it failed.
#[derive(Clone, Debug)]
pub struct CaptureNote {
    pub file: String,
    /// When the capture began.
    pub started: SystemTime,
}

impl Report {
    /// Seconds from the start of the capture to the end of check `i` (when
    /// it passed or failed), for "go to time" in Wireshark.
    pub fn capture_offset(&self, i: usize) -> Option<f64> {
        let note = self.capture.as_ref()?;
        let checks_from = self
            .started
            .duration_since(note.started)
            .unwrap_or_default();
        Some((checks_from + self.results.get(i)?.outcome.duration).as_secs_f64())
    }
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

    /// For each check, the index (in `results`) of the failed check it is
    /// blocked by: the first failure with the same cause — for a missing
    /// lease, the `dhcp` check of it, whatever its place in the file.
    pub fn blocked_by(&self) -> Vec<Option<usize>> {
        let cause = |i: usize| {
            let outcome = &self.results[i].outcome;
            if outcome.passed {
                return None;
            }
            outcome.diagnosis.as_ref()?.cause.as_deref()
        };
        let leader = |key: &str| {
            let sharing = (0..self.results.len()).filter(|&i| cause(i) == Some(key));
            // A missing lease is shown under the check of that lease.
            let dhcp = sharing.clone().find(|&i| {
                key.starts_with("lease ") && self.results[i].spec.probe.kind() == "dhcp"
            });
            dhcp.or_else(|| sharing.min())
        };
        (0..self.results.len())
            .map(|i| {
                let lead = leader(cause(i)?)?;
                (lead != i).then_some(lead)
            })
            .collect()
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
            after: None,
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
            capture: None,
        }
    }

    /// Three checks stopped by one missing lease (the `dhcp` check of that
    /// interface third in the file) and one failing for its own reason.
    pub fn blocked_sample() -> Report {
        use crate::checks::kinds::dhcp::Dhcp;
        let mut report = sample();
        let no_lease = || {
            let mut o = Outcome::fail(
                Diagnosis::new(
                    "lease",
                    "pc1/eth0 has no DHCP lease: no DHCP server or relay on its network, sw2",
                    "",
                )
                .with_cause("lease pc1/eth0"),
            );
            o.duration = Duration::from_millis(3);
            o
        };
        let ping = report.results[0].spec.clone();
        report.results = vec![
            CheckResult {
                spec: ping.clone(),
                outcome: no_lease(),
            },
            CheckResult {
                spec: ping.clone(),
                outcome: report.results[1].outcome.clone(),
            },
            CheckResult {
                spec: CheckSpec {
                    title: "pc1/eth0 gets a DHCP lease".into(),
                    points: 1,
                    after: None,
                    probe: Probe::Dhcp(Dhcp {
                        node: "pc1".into(),
                        interface: "eth0".into(),
                        subnet: None,
                        server: None,
                    }),
                },
                outcome: no_lease(),
            },
            CheckResult {
                spec: ping,
                outcome: no_lease(),
            },
        ];
        report
    }

    #[test]
    fn failures_with_one_cause_are_blocked_by_the_dhcp_check_of_it() {
        let report = blocked_sample();
        assert_eq!(report.blocked_by(), [Some(2), None, None, Some(2)]);
        // Blocked is failed: no points.
        assert_eq!(report.summary().points, 0);
        let text = to_text(&report);
        assert!(
            text.contains("          blocked by 3: pc1/eth0 has no DHCP lease"),
            "{text}"
        );
        assert!(
            text.contains("0 of 4 checks passed, 2 blocked by an earlier failure"),
            "{text}"
        );
        let json = to_json(&report);
        assert_eq!(json["score"]["blocked"], 2);
        assert_eq!(json["checks"][0]["blocked_by"], 3);
        assert_eq!(json["checks"][2]["blocked_by"], serde_json::Value::Null);
        assert_eq!(json["checks"][2]["diagnosis"]["cause"], "lease pc1/eth0");
        let xml = to_junit(&report);
        assert!(
            xml.contains("message=\"blocked by 3: pc1/eth0 has no DHCP lease"),
            "{xml}"
        );
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
