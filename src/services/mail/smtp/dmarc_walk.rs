//! The DMARC policy walk in a closed lab. DMARC (RFC 9989's tree walk, as
//! mail-auth does it) asks `_dmarc.` of every parent of the From domain up
//! to its top-level domain: `_dmarc.edu.au`, `_dmarc.au`. On the Internet
//! those answer NXDOMAIN; a lab's DNS servers hold the lab's zones only and
//! answer REFUSED, which would make every verdict a temperror. This TXT
//! cache, filled before the walk, records a refused parent as "no record",
//! which is what it is in a lab; timeouts and other failures stay errors.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

use mail_auth::hickory_resolver::net::{DnsError, NetError};
use mail_auth::hickory_resolver::proto::op::ResponseCode;
use mail_auth::{Error, MessageAuthenticator, ResolverCache, Txt};

/// TXT answers known before mail-auth asks.
#[derive(Default)]
pub struct TxtCache {
    answers: Mutex<HashMap<Box<str>, Txt>>,
}

impl ResolverCache<Box<str>, Txt> for TxtCache {
    fn get<Q>(&self, name: &Q) -> Option<Txt>
    where
        Box<str>: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.answers.lock().ok()?.get(name).cloned()
    }

    fn remove<Q>(&self, name: &Q) -> Option<Txt>
    where
        Box<str>: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.answers.lock().ok()?.remove(name)
    }

    fn insert(&self, name: Box<str>, value: Txt, _: std::time::Instant) {
        if let Ok(mut answers) = self.answers.lock() {
            answers.insert(name, value);
        }
    }
}

/// The `_dmarc.` names of the parents of `domain` (not `domain` itself),
/// nearest first, each absolute.
pub fn parent_policy_names(domain: &str) -> Vec<String> {
    let domain = domain.trim_end_matches('.');
    let mut names = Vec::new();
    let mut rest = domain;
    while let Some((_, parent)) = rest.split_once('.') {
        names.push(format!("_dmarc.{parent}."));
        rest = parent;
    }
    names
}

/// Asks the lab's DNS for the parents' policy names now and records those
/// it refuses as absent.
pub async fn refused_parents_absent(
    authenticator: &MessageAuthenticator,
    domain: &str,
    cache: &TxtCache,
) {
    for name in parent_policy_names(domain) {
        let Ok(parsed) = mail_auth::hickory_resolver::proto::rr::Name::from_str_relaxed(&name)
        else {
            continue;
        };
        if let Err(NetError::Dns(DnsError::ResponseCode(ResponseCode::Refused))) =
            authenticator.resolver().txt_lookup(parsed).await
        {
            let absent = Error::Dns(mail_auth::DnsError::RecordNotFound(ResponseCode::NXDomain));
            if let Ok(mut answers) = cache.answers.lock() {
                answers.insert(name.into_boxed_str(), Txt::Error(absent));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_walk_goes_up_to_the_top_level_domain() {
        assert_eq!(
            parent_policy_names("uts.edu.au"),
            ["_dmarc.edu.au.", "_dmarc.au."]
        );
        assert!(parent_policy_names("localhost").is_empty());
    }
}
