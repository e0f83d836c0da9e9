//! What running one check produced: pass or fail, what was seen, and for a
//! failure the diagnosis — which link of the chain broke, in words a
//! student understands, and what to look at.

use std::time::Duration;

use serde::Serialize;

/// Why a check failed: the step of the chain that broke (`lease`, `dns`,
/// `route`, `connect`, `smtp`, …), what happened, and what to look at.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnosis {
    pub step: &'static str,
    pub message: String,
    pub hint: String,
    /// What broke, as a key shared by every check it stops (`lease
    /// pc0/eth0`, `route r2 192.168.10.0/24`): the report shows the first
    /// such check with the diagnosis and the others as blocked by it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
}

impl Diagnosis {
    pub fn new(step: &'static str, message: impl Into<String>, hint: impl Into<String>) -> Self {
        Diagnosis {
            step,
            message: message.into(),
            hint: hint.into(),
            cause: None,
        }
    }

    /// The same diagnosis, tied to the cause `key` (see `cause`).
    pub fn with_cause(mut self, key: impl Into<String>) -> Self {
        self.cause = Some(key.into());
        self
    }
}

impl std::fmt::Display for Diagnosis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.hint.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{} — {}", self.message, self.hint)
        }
    }
}

/// The result of one check.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub passed: bool,
    /// What was observed (for a pass: the evidence).
    pub detail: String,
    pub diagnosis: Option<Diagnosis>,
    pub duration: Duration,
}

impl Outcome {
    pub fn pass(detail: impl Into<String>) -> Self {
        Outcome {
            passed: true,
            detail: detail.into(),
            diagnosis: None,
            duration: Duration::ZERO,
        }
    }

    pub fn fail(diagnosis: Diagnosis) -> Self {
        Outcome {
            passed: false,
            detail: diagnosis.message.clone(),
            diagnosis: Some(diagnosis),
            duration: Duration::ZERO,
        }
    }
}

/// A probe step either goes on with a value or stops the check with a diagnosis.
pub type Step<T> = Result<T, Diagnosis>;
