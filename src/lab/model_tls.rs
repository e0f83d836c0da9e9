//! The lab file's TLS key: a service's `tls:` (whether it offers TLS and
//! whether login without it is allowed).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Whether a service offers TLS, and whether it insists on it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// Plain text only (the default, so a capture shows the password):
    /// STARTTLS/STLS refused, no 465/993/995/443.
    #[default]
    Off,
    /// STARTTLS/STLS offered and 465/993/995 (443 for web) open; plain
    /// login still allowed.
    Optional,
    /// As `optional`, and no login (SMTP: no mail either) before TLS.
    Required,
}

impl TlsMode {
    pub fn is_off(&self) -> bool {
        *self == TlsMode::Off
    }
}
