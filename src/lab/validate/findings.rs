//! The diagnostics one validation pass finds, each located in the raw tree
//! by the path of what it is about. A pass collects into its own `Findings`
//! and hands the list back with what it resolved.

use crate::lab::diagnostic::{Diagnostic, Pos, Severity};
use crate::lab::raw::{RawNode, Step};
use crate::path;

pub(super) struct Findings<'a> {
    raw: &'a RawNode,
    list: Vec<Diagnostic>,
}

impl<'a> Findings<'a> {
    pub(super) fn new(raw: &'a RawNode) -> Self {
        Findings {
            raw,
            list: Vec::new(),
        }
    }

    /// Where `at` is written (its nearest written ancestor if it is not).
    pub(super) fn pos(&self, at: &[Step]) -> Pos {
        self.raw.pos(at)
    }

    pub(super) fn error(
        &mut self,
        at: &[Step],
        message: impl Into<String>,
        hint: impl Into<String>,
    ) {
        self.push_at(at, Severity::Error, message.into(), hint.into());
    }

    pub(super) fn warn(
        &mut self,
        at: &[Step],
        message: impl Into<String>,
        hint: impl Into<String>,
    ) {
        self.push_at(at, Severity::Warning, message.into(), hint.into());
    }

    /// A diagnostic located where `at` is written.
    fn push_at(&mut self, at: &[Step], severity: Severity, message: String, hint: String) {
        let diagnostic = Diagnostic::new(severity, message, Some(self.raw.pos(at)));
        self.list.push(diagnostic.hint(hint));
    }

    /// A warning about a node as a whole, at its name under `nodes`.
    pub(super) fn warn_node(&mut self, node: &str, message: String, hint: impl Into<String>) {
        let pos = self.raw.key_pos(&path!["nodes"], node);
        self.list.push(Diagnostic::warning(message, pos).hint(hint));
    }

    /// An error about a mapping key itself (a name), not its value.
    pub(super) fn error_at_key(
        &mut self,
        parent: &[Step],
        key: &str,
        message: String,
        hint: String,
    ) {
        let pos = self
            .raw
            .key_pos(parent, key)
            .unwrap_or_else(|| self.raw.pos(parent));
        self.list
            .push(Diagnostic::error(message, Some(pos)).hint(hint));
    }

    pub(super) fn into_list(self) -> Vec<Diagnostic> {
        self.list
    }
}
