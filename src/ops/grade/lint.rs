//! Warnings about a rubric, from what the submissions' labs run: a lab
//! with a mail server graded by a rubric that never asks for its MX record
//! scores 100 % without one. Warnings only: the instructor decides.

use crate::lab::model_checks::{CheckKind, ChecksFile};
use crate::lab::plan::{Plan, PlanNode};

/// Something labs run, and the checks that would test it.
struct Rule {
    /// What the rubric lacks, as the warning says it.
    lacks: &'static str,
    /// What a lab runs that calls for it.
    runs: &'static str,
    node_runs: fn(&PlanNode) -> bool,
    covers: fn(&CheckKind) -> bool,
}

const RULES: &[Rule] = &[
    Rule {
        lacks: "the rubric never checks an MX record",
        runs: "a mail server",
        node_runs: |n| n.mail.is_some(),
        covers: |k| {
            matches!(k, CheckKind::Dns(d)
                if d.record_type.as_deref().is_some_and(|t| t.eq_ignore_ascii_case("MX")))
        },
    },
    Rule {
        lacks: "the rubric never sends mail (no `mail` check)",
        runs: "a mail server",
        node_runs: |n| n.mail.is_some(),
        covers: |k| matches!(k, CheckKind::Mail(_)),
    },
    Rule {
        lacks: "the rubric never checks a lease (no `dhcp` check)",
        runs: "a DHCP server",
        node_runs: |n| n.dhcp_server.is_some(),
        covers: |k| matches!(k, CheckKind::Dhcp(_)),
    },
    Rule {
        lacks: "the rubric never asks a DNS server (no `dns` check)",
        runs: "a DNS server",
        node_runs: |n| n.dns_server.is_some(),
        covers: |k| matches!(k, CheckKind::Dns(_)),
    },
    Rule {
        lacks: "the rubric never fetches a page (no `http` check)",
        runs: "a web site",
        node_runs: |n| n.agents.web.is_some(),
        covers: |k| matches!(k, CheckKind::Http(_)),
    },
    Rule {
        lacks: "the rubric never logs in to webmail (no `http` check with `login`)",
        runs: "webmail",
        node_runs: |n| n.agents.webmail.is_some(),
        covers: |k| matches!(k, CheckKind::Http(h) if h.login.is_some()),
    },
];

/// One warning per thing the labs run that `rubric` never checks, saying
/// how many of `labs` (student, plan) run it and where, for one of them.
pub fn lint(rubric: &ChecksFile, labs: &[(&str, &Plan)]) -> Vec<String> {
    let kinds: Vec<&CheckKind> = rubric
        .checks
        .iter()
        .filter_map(|c| c.kind.as_ref().ok())
        .collect();
    RULES
        .iter()
        .filter(|rule| !kinds.iter().any(|k| (rule.covers)(k)))
        .filter_map(|rule| {
            let running: Vec<(&str, &str)> = labs
                .iter()
                .filter_map(|(student, plan)| {
                    let node = plan.nodes.iter().find(|n| (rule.node_runs)(n))?;
                    Some((*student, node.name.as_str()))
                })
                .collect();
            let (student, node) = running.first()?;
            Some(format!(
                "{}, but {} of {} submissions run {} (e.g. {student}: node {node})",
                rule.lacks,
                running.len(),
                labs.len(),
                rule.runs
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::load::parse_checks_text;
    use crate::lab::load::check_text;

    fn plan(path: &str) -> Plan {
        let text = std::fs::read_to_string(path).unwrap();
        check_text(path, text).plan.expect("a valid course lab")
    }

    fn rubric(yaml: &str) -> ChecksFile {
        parse_checks_text("rubric.yaml", yaml.into())
            .file
            .expect("a readable rubric")
    }

    #[test]
    fn a_lenient_rubric_for_a_mail_lab_is_warned_about() {
        let mastertech = plan("labs/mastertech.yaml");
        let lenient =
            rubric("checks:\n  - mail: {from: backend-pc1, to: bob@mt.com, reader: mgmt-pc1}\n");
        let warnings = lint(&lenient, &[("dana_k", &mastertech), ("ed", &mastertech)]);
        assert!(
            warnings[0].starts_with(
                "the rubric never checks an MX record, but 2 of 2 submissions run a mail server (e.g. dana_k: node mail)"
            ),
            "{warnings:?}"
        );
        let joined = warnings.join("\n");
        assert!(joined.contains("no `dhcp` check") && joined.contains("a DHCP server"));
        assert!(joined.contains("no `http` check") && joined.contains("a web site"));
        assert!(!joined.contains("no `mail` check"), "{joined}");
    }

    #[test]
    fn the_course_rubric_needs_no_warning() {
        let text = std::fs::read_to_string("examples/mastertech/checks.yaml").unwrap();
        let course = parse_checks_text("checks.yaml", text).file.unwrap();
        let mastertech = plan("labs/mastertech.yaml");
        assert_eq!(lint(&course, &[("ada", &mastertech)]), Vec::<String>::new());
    }
}
