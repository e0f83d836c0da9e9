//! What every check kind's resolution shares: one check's settings are
//! resolved against the lab's plan (nodes that exist and can send, targets,
//! durations), each problem reported at the field it is about with a hint.
//! The kinds (`kinds/`) use it; `resolve.rs` drives it over a file's checks.
//!
//! Two kinds of problem: the file's own (bad values, which no lab can fix)
//! are always errors; a name the lab lacks (`missing`: a renamed node, a
//! node without mail settings) is an error in a lab file's own checks, but
//! in a separate checks file — an instructor's rubric grading a student's
//! lab — it fails only that check (`LabGaps::FailTheCheck`).

use std::path::Path;
use std::time::Duration;

use super::outcome::Diagnosis;
use super::target::{Target, parse_duration};
use crate::lab::addr::parse_ipv4;
use crate::lab::diagnostic::{Diagnostic, did_you_mean};
use crate::lab::model::NodeKind;
use crate::lab::plan::{Plan, PlanNode};
use crate::lab::raw::{RawNode, RawValue, Step};
use crate::lab::validate::valid_domain;

/// Resolves one check's settings against the plan, reporting each problem
/// at the field it is about (`checks[i].KIND.FIELD`).
pub struct Resolver<'a> {
    pub(super) raw: &'a RawNode,
    pub(super) plan: &'a Plan,
    pub(super) base_dir: &'a Path,
    /// The check being resolved.
    pub(super) at: At,
    pub(super) found: Vec<Diagnostic>,
    pub(super) lab_gaps: LabGaps,
    /// What the lab lacks for the check being resolved (`FailTheCheck`).
    pub(super) gap: Option<Diagnosis>,
}

/// What a check that names something the lab lacks is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LabGaps {
    /// An error of the file (a lab file's own checks: one author, one file).
    Errors,
    /// A failed check, the others still run (a checks file grading a lab).
    FailTheCheck,
}

/// Which check is being resolved: `checks[index].kind`.
pub(super) struct At {
    pub(super) index: usize,
    pub(super) kind: &'static str,
}

impl<'a> Resolver<'a> {
    /// Whether the check's mapping has keys besides `name` and `points`
    /// (unknown ones, already reported by the shape check).
    pub(super) fn has_other_keys(&self, item: &[Step]) -> bool {
        match self.raw.get(item).map(|n| &n.value) {
            Some(RawValue::Map(entries)) => entries.iter().any(|(key, _)| {
                !matches!(key.value.scalar_text().as_deref(), Some("name" | "points"))
            }),
            _ => false,
        }
    }

    pub(super) fn error_at(
        &mut self,
        at: &[Step],
        message: impl Into<String>,
        hint: impl Into<String>,
    ) {
        let pos = self.raw.pos(at);
        self.found
            .push(Diagnostic::error(message, Some(pos)).hint(hint));
    }

    /// Reports a problem with `field` of the check being resolved.
    pub fn error(&mut self, field: &str, message: impl Into<String>, hint: impl Into<String>) {
        let at = [
            Step::from("checks"),
            Step::from(self.at.index),
            Step::from(self.at.kind),
            Step::from(field),
        ];
        self.error_at(&at, message, hint);
    }

    /// Reports that the lab lacks what `field` names: an error, or the
    /// failure of this check alone (see `LabGaps`).
    pub fn missing(&mut self, field: &str, message: impl Into<String>, hint: impl Into<String>) {
        match self.lab_gaps {
            LabGaps::Errors => self.error(field, message, hint),
            LabGaps::FailTheCheck => {
                if self.gap.is_none() {
                    self.gap = Some(Diagnosis::new(
                        "rubric",
                        format!(
                            "this check cannot run on this lab: {} (its `{}.{field}`)",
                            message.into(),
                            self.at.kind
                        ),
                        hint,
                    ));
                }
            }
        }
    }

    /// The lab's plan the checks are resolved against.
    pub fn plan(&self) -> &'a Plan {
        self.plan
    }

    /// The directory of the file the checks are in.
    pub fn base_dir(&self) -> &'a Path {
        self.base_dir
    }

    /// The node named `name` (in any case), if the lab has it.
    pub fn find_node(&self, name: &str) -> Option<&'a PlanNode> {
        self.plan
            .nodes
            .iter()
            .find(|n| n.name.eq_ignore_ascii_case(name))
    }

    /// A node of the lab, or an error with the closest name.
    pub fn node(&mut self, field: &str, name: &str) -> Option<&'a PlanNode> {
        if let Some(node) = self.find_node(name) {
            return Some(node);
        }
        let plan = self.plan;
        let names: Vec<&str> = plan.nodes.iter().map(|n| n.name.as_str()).collect();
        let close = did_you_mean(name, names.iter().copied());
        let hint = match (self.lab_gaps, close) {
            (LabGaps::Errors, Some(close)) => format!("did you mean `{close}`?"),
            (LabGaps::Errors, None) => format!("the nodes are {}", names.join(", ")),
            (LabGaps::FailTheCheck, Some(close)) => format!(
                "the checks expect a node named `{name}`: is it your `{close}`? give it that name"
            ),
            (LabGaps::FailTheCheck, None) => format!(
                "the checks expect a node named `{name}`; the lab's nodes are {}",
                names.join(", ")
            ),
        };
        self.missing(
            field,
            format!("lab {} has no node `{name}`", plan.lab),
            hint,
        );
        None
    }

    /// A node a probe can start from: not a switch.
    pub fn source(&mut self, field: &str, name: &str) -> Option<String> {
        let node = self.node(field, name)?;
        if node.kind == NodeKind::Switch {
            let name = node.name.clone();
            self.missing(
                field,
                format!("{name} is a switch: it has no address to send from"),
                "start the check from a host, server or router",
            );
            return None;
        }
        Some(node.name.clone())
    }

    /// A node name, an address, or a DNS name.
    pub fn target(&mut self, field: &str, text: &str) -> Option<Target> {
        if let Ok(ip) = parse_ipv4(text) {
            return Some(Target::Ip(ip));
        }
        if let Some(node) = self.find_node(text) {
            if node.kind == NodeKind::Switch {
                self.missing(
                    field,
                    format!("{} is a switch: it has no address", node.name),
                    "name a host, server or router",
                );
                return None;
            }
            return Some(Target::Node(node.name.clone()));
        }
        let name = text.trim_end_matches('.');
        if name.contains('.') && valid_domain(name) {
            return Some(Target::Name(name.to_string()));
        }
        let names: Vec<&str> = self.plan.nodes.iter().map(|n| n.name.as_str()).collect();
        let hint = match did_you_mean(text, names.iter().copied()) {
            Some(close) => format!("did you mean `{close}`?"),
            None => "write a node name, an address (192.168.1.2) or a DNS name (mail.cbrc.com)"
                .to_string(),
        };
        // Most often a node the lab does not have (renamed, or not there).
        self.missing(
            field,
            format!("`{text}` is not a node, an address or a DNS name"),
            hint,
        );
        None
    }

    /// A duration setting, or `default` when it is not given.
    pub fn duration(
        &mut self,
        field: &str,
        text: Option<&str>,
        default: Duration,
    ) -> Option<Duration> {
        let Some(text) = text else {
            return Some(default);
        };
        match parse_duration(text) {
            Some(d) => Some(d),
            None => {
                self.error(
                    field,
                    format!("`{text}` is not a duration"),
                    "write e.g. 10s, 500ms or 2m",
                );
                None
            }
        }
    }
}
