//! Diagnostics for lab files: what is wrong, where (file:line:col with the
//! offending line and a caret), and a hint saying what to do.

use crate::plural::count;
use std::fmt::{self, Write};

/// A position in a lab file: 1-based line and column, and the width of the
/// offending text in characters (at least 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
    pub len: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub message: String,
    pub pos: Option<Pos>,
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn new(severity: Severity, message: impl Into<String>, pos: Option<Pos>) -> Self {
        Diagnostic {
            severity,
            message: message.into(),
            pos,
            hint: None,
        }
    }

    pub fn error(message: impl Into<String>, pos: Option<Pos>) -> Self {
        Diagnostic::new(Severity::Error, message, pos)
    }

    pub fn warning(message: impl Into<String>, pos: Option<Pos>) -> Self {
        Diagnostic::new(Severity::Warning, message, pos)
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// The text of a lab file and the name it is reported under.
pub struct SourceFile {
    pub name: String,
    pub text: String,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        SourceFile {
            name: name.into(),
            text: text.into(),
        }
    }

    /// Renders one diagnostic the way compilers do:
    ///
    /// ```text
    /// error: `192.168.1.300/24` is not an IPv4 address
    ///   --> lab.yaml:7:13
    ///    |
    ///  7 |       eth0: 192.168.1.300/24
    ///    |             ^^^^^^^^^^^^^^^^
    ///    = hint: write ADDRESS/PREFIX, e.g. 192.168.1.3/24
    /// ```
    pub fn render(&self, d: &Diagnostic) -> String {
        let mut out = String::new();
        let label = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let _ = writeln!(out, "{label}: {}", d.message);
        match d.pos {
            Some(pos) => {
                let _ = writeln!(out, "  --> {}:{}:{}", self.name, pos.line, pos.col);
                if let Some(line) = self.text.lines().nth(pos.line.saturating_sub(1)) {
                    let number = pos.line.to_string();
                    let pad = " ".repeat(number.len());
                    let caret_at = " ".repeat(pos.col.saturating_sub(1));
                    let room = line.chars().count().saturating_sub(pos.col - 1).max(1);
                    let carets = "^".repeat(pos.len.clamp(1, room));
                    let _ = writeln!(out, " {pad} |");
                    let _ = writeln!(out, " {number} | {line}");
                    let _ = writeln!(out, " {pad} | {caret_at}{carets}");
                }
                if let Some(hint) = &d.hint {
                    let _ = writeln!(
                        out,
                        " {} = hint: {hint}",
                        " ".repeat(pos.line.to_string().len())
                    );
                }
            }
            None => {
                let _ = writeln!(out, "  --> {}", self.name);
                if let Some(hint) = &d.hint {
                    let _ = writeln!(out, "   = hint: {hint}");
                }
            }
        }
        out
    }
}

/// Every diagnostic found in one file, errors first then by position.
pub struct Report<'a> {
    pub source: &'a SourceFile,
    pub diagnostics: Vec<Diagnostic>,
}

impl Report<'_> {
    pub fn error_count(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }

    pub fn warning_count(&self) -> usize {
        self.diagnostics.len() - self.error_count()
    }

    /// Every diagnostic, rendered, errors first then by position (one per
    /// paragraph, each ending in a newline).
    pub fn diagnostics_text(&self) -> String {
        let mut sorted: Vec<&Diagnostic> = self.diagnostics.iter().collect();
        sorted.sort_by_key(|d| (d.severity, d.pos));
        sorted
            .into_iter()
            .map(|d| format!("{}\n", self.source.render(d)))
            .collect()
    }

    /// `lab.yaml: 1 error, 0 warnings`.
    pub fn summary(&self) -> String {
        format!(
            "{}: {}, {}",
            self.source.name,
            count(self.error_count(), "error"),
            count(self.warning_count(), "warning")
        )
    }
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.diagnostics_text(), self.summary())
    }
}

/// The closest candidate to `word` by edit distance, if it is close enough to
/// be a plausible typo ("gatway" → "gateway").
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (edit_distance(&word.to_lowercase(), &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, c)| (*d, *c))
        .map(|(_, c)| c)
}

/// Edits (insert, delete, replace, swap two neighbours) from `a` to `b`.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let keys = ["kind", "interfaces", "gateway", "dns", "routes"];
        assert_eq!(did_you_mean("gatway", keys), Some("gateway"));
        assert_eq!(did_you_mean("interface", keys), Some("interfaces"));
        assert_eq!(did_you_mean("colour", keys), None);
        assert_eq!(did_you_mean("hots", ["host", "server"]), Some("host"));
    }

    #[test]
    fn renders_location_snippet_and_hint() {
        let src = SourceFile::new("lab.yaml", "name: x\nnodes:\n  pc0: {kind: hots}\n");
        let d = Diagnostic::error(
            "unknown kind `hots`",
            Some(Pos {
                line: 3,
                col: 15,
                len: 4,
            }),
        )
        .hint("did you mean `host`?");
        let text = src.render(&d);
        assert!(text.contains("--> lab.yaml:3:15"), "{text}");
        assert!(text.contains(" 3 |   pc0: {kind: hots}"), "{text}");
        assert!(text.contains("|               ^^^^"), "{text}");
        assert!(text.contains("= hint: did you mean `host`?"), "{text}");
    }
}
