//! A check that cannot run on this lab because the lab lacks what it
//! names (a renamed node, a node without mail settings, a missing account).
//! It is not a kind of its own: it keeps its kind's key and fails with the
//! diagnosis resolution found, so the other checks still run and score.

use crate::checks::outcome::{Diagnosis, Step};
use crate::lab::model_checks::CheckKind;

#[derive(Clone, Debug)]
pub struct Unrunnable {
    /// The key of the kind the check was written as.
    pub kind: &'static str,
    /// The node it starts from, as written (it may not exist).
    pub source: String,
    pub diagnosis: Diagnosis,
}

impl Unrunnable {
    pub fn new(kind: &CheckKind, diagnosis: Diagnosis) -> Unrunnable {
        let source = match kind {
            CheckKind::Ping(c) => &c.from,
            CheckKind::Tcp(c) => &c.from,
            CheckKind::Dhcp(c) => &c.node,
            CheckKind::Dns(c) => &c.from,
            CheckKind::Http(c) => &c.from,
            CheckKind::Mail(c) => &c.from,
            CheckKind::MailRefused(c) => &c.from,
            CheckKind::MailSpoof(c) => &c.from,
            CheckKind::Exec(c) => &c.node,
            CheckKind::Wire(c) => return Unrunnable::of_wire(c, diagnosis),
        };
        Unrunnable {
            kind: kind.key(),
            source: source.clone(),
            diagnosis,
        }
    }

    /// A wire check starts where its command runs, else on every link.
    fn of_wire(c: &crate::lab::model_checks::WireCheck, diagnosis: Diagnosis) -> Unrunnable {
        Unrunnable {
            kind: "wire",
            source: c
                .run
                .as_ref()
                .map_or_else(|| "the wire".to_string(), |r| r.node.clone()),
            diagnosis,
        }
    }

    pub fn describe(&self) -> String {
        format!("a {} check from {}", self.kind, self.source)
    }

    pub fn run(&self) -> Step<crate::checks::outcome::Outcome> {
        Err(self.diagnosis.clone())
    }
}
