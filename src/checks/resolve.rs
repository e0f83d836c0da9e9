//! Check resolution: every check of a lab file or checks file is resolved
//! against the lab's plan (nodes exist and can send, values parse), and
//! every problem is reported at its file:line:col with a hint, all in one
//! run. This module checks what every entry shares (one kind per entry,
//! points) and hands each kind's settings to its module under `kinds/`,
//! through the shared `Resolver`. In a checks file, a check that names
//! something the lab lacks becomes a check that fails with the reason
//! (`kinds::unrunnable`), not an error of the file.

use super::spec::Change;
use crate::lab::cables::{EndSpec, cable_name, find_cable};
use crate::lab::model_checks::CableState;
use std::path::Path;

use super::kinds;
use super::kinds::Probe;
use super::kinds::unrunnable::Unrunnable;
use super::resolver::{At, LabGaps, Resolver};
use super::spec::CheckSpec;
use crate::lab::diagnostic::{Diagnostic, did_you_mean};
use crate::lab::model_checks::{CHECK_KINDS, Check, CheckKind, NotOneKind};
use crate::lab::plan::Plan;
use crate::lab::raw::{RawNode, Step};

/// Points one check may be worth at most.
pub const MAX_POINTS: u32 = 1000;

/// Resolves `checks` (found under the top-level `checks` key of `raw`)
/// against `plan`. `base_dir` is the directory of the file they are in
/// (attachments are relative to it); `lab_gaps` says what a check that
/// names something the lab lacks is.
pub fn resolve_checks(
    checks: &[Check],
    raw: &RawNode,
    plan: &Plan,
    base_dir: &Path,
    lab_gaps: LabGaps,
) -> (Vec<CheckSpec>, Vec<Diagnostic>) {
    let mut resolver = Resolver {
        raw,
        plan,
        base_dir,
        at: At { index: 0, kind: "" },
        found: Vec::new(),
        lab_gaps,
        gap: None,
    };
    let specs = checks
        .iter()
        .enumerate()
        .filter_map(|(i, check)| resolve_one(&mut resolver, i, check))
        .collect();
    check_wire_during(&mut resolver, checks);
    (specs, resolver.found)
}

/// A wire check's `during` names other checks of the same file.
fn check_wire_during(resolver: &mut Resolver, checks: &[Check]) {
    for (index, check) in checks.iter().enumerate() {
        let Ok(CheckKind::Wire(wire)) = &check.kind else {
            continue;
        };
        let others: Vec<&str> = checks
            .iter()
            .enumerate()
            .filter(|(i, c)| *i != index && !matches!(c.kind, Ok(CheckKind::Wire(_))))
            .filter_map(|(_, c)| c.name.as_deref())
            .collect();
        for name in wire.during.as_ref().map(|d| d.to_vec()).unwrap_or_default() {
            if name.eq_ignore_ascii_case("all") || others.contains(&name.as_str()) {
                continue;
            }
            let hint = match did_you_mean(&name, others.iter().copied()) {
                Some(close) => format!("did you mean `{close}`?"),
                None if others.is_empty() => {
                    "give the checks it watches a `name`, or leave `during` out (all of them)"
                        .to_string()
                }
                None => format!("the other checks' names: {}", others.join(", ")),
            };
            resolver.error_at(
                &[
                    Step::from("checks"),
                    Step::from(index),
                    Step::from("wire"),
                    Step::from("during"),
                ],
                format!(
                    "`during` names `{name}`, but no other check (not a wire check) has that name"
                ),
                hint,
            );
        }
    }
}

/// One check: exactly one kind, sensible points, then its kind's settings.
fn resolve_one(resolver: &mut Resolver, index: usize, check: &Check) -> Option<CheckSpec> {
    let item = [Step::from("checks"), Step::from(index)];
    let kind = match &check.kind {
        Ok(kind) => kind,
        Err(NotOneKind::None) if resolver.has_other_keys(&item) => return None,
        Err(NotOneKind::None) => {
            resolver.error_at(
                &item,
                format!(
                    "check {} says what to check with none of its keys",
                    index + 1
                ),
                format!("give it one of: {}", CHECK_KINDS.join(", ")),
            );
            return None;
        }
        Err(NotOneKind::Several(kinds)) => {
            let (first, second) = (kinds[0].key(), kinds[1].key());
            let pos = resolver
                .raw
                .key_pos(&item, second)
                .unwrap_or_else(|| resolver.raw.pos(&item));
            resolver.found.push(
                Diagnostic::error(
                    format!("check {} has both `{first}` and `{second}`", index + 1),
                    Some(pos),
                )
                .hint("one check checks one thing: split it into two list items"),
            );
            return None;
        }
    };
    if check.points.is_some_and(|p| p > MAX_POINTS) {
        resolver.error_at(
            &[item[0].clone(), item[1].clone(), Step::from("points")],
            format!("a check is worth at most {MAX_POINTS} points"),
            "use smaller numbers; the report shows a percentage anyway",
        );
    }
    resolver.at = At {
        index,
        kind: kind.key(),
    };
    resolver.gap = None;
    let resolved = kinds::resolve(resolver, kind);
    let probe = match resolver.gap.take() {
        Some(diagnosis) => Probe::Unrunnable(Unrunnable::new(kind, diagnosis)),
        None => resolved?,
    };
    let after = match &check.after {
        None => None,
        Some(after) => {
            let [a, b] = &after.link;
            match find_cable(resolver.plan(), &EndSpec::parse(a), &EndSpec::parse(b)) {
                Ok(link) => Some(Change {
                    ends: [link.a, link.b],
                    up: after.state == CableState::Up,
                    cable: cable_name(resolver.plan(), &link),
                }),
                Err(e) => {
                    resolver.error_at(
                        &[
                            item[0].clone(),
                            item[1].clone(),
                            Step::from("after"),
                            Step::from("link"),
                        ],
                        format!("check {}: {e}", index + 1),
                        "name a cable of the lab by its two ends, as `links` writes them",
                    );
                    return None;
                }
            }
        }
    };
    let mut title = check.name.clone().unwrap_or_else(|| probe.describe());
    if let Some(change) = &after
        && check.name.is_none()
    {
        let state = if change.up { "up" } else { "down" };
        title = format!("{title}, with {} {state}", change.cable);
    }
    Some(CheckSpec {
        title,
        points: check.points.unwrap_or(1),
        probe,
        after,
    })
}
