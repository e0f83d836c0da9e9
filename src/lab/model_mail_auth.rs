//! Lab-file settings for mail authentication on a mail server: DKIM
//! signing of the mail it sends (RFC 6376) and what it does with incoming
//! mail that fails the sender's published policy (SPF, DKIM and DMARC,
//! RFC 7208 and 7489).

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// DKIM signing: every message a logged-in user sends from one of the
/// server's domains is signed with that domain's key under `selector`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DkimSetting {
    /// The selector (`s1`): the key is published as TXT at
    /// `SELECTOR._domainkey.DOMAIN`.
    pub selector: String,
    /// Add each domain's key record to the lab's zone for that domain at
    /// `up` (default false: publish the record `labctl status` shows yourself).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub publish: bool,
    /// Ed25519 private keys by domain (PKCS#8, base64 or PEM); a domain
    /// without one gets a new key at every `up`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub keys: IndexMap<String, String>,
}

/// What a mail server does with a message from another domain that fails
/// that domain's DMARC policy. Every message arriving without login is
/// checked (SPF, DKIM, DMARC) and gets an `Authentication-Results:` header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Enforcement {
    /// Follow the policy: refuse under `p=reject`, put into the recipient's
    /// Junk folder under `p=quarantine`.
    Reject,
    /// Never refuse: under `p=reject` or `p=quarantine`, into Junk.
    Quarantine,
    /// Only record the results in the header.
    Record,
}

impl Enforcement {
    pub fn as_str(self) -> &'static str {
        match self {
            Enforcement::Reject => "reject",
            Enforcement::Quarantine => "quarantine",
            Enforcement::Record => "record",
        }
    }
}
