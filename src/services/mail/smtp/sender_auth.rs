//! Checking who sent a message that arrives without login: SPF (RFC 7208)
//! for the client's address and envelope sender, DKIM (RFC 6376) for its
//! signatures, DMARC (RFC 7489) for the From domain's policy, all through
//! mail-auth and asked of the node's own DNS servers (never the host's
//! resolver or hosts file). The results become `Authentication-Results:`
//! and `Received-SPF:` headers; `decide` turns the DMARC verdict and the
//! lab's enforcement into deliver, Junk or refuse.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use mail_auth::common::headers::HeaderWriter;
use mail_auth::dmarc::Policy;
use mail_auth::dmarc::verify::DmarcParameters;
use mail_auth::hickory_resolver::config::{
    NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts,
};
use mail_auth::spf::verify::SpfParameters;
use mail_auth::{
    AuthenticatedMessage, AuthenticationResults, DmarcResult, MessageAuthenticator, Parameters,
    ReceivedSpf,
};

use super::command::Mailbox;
use super::dmarc_walk::{TxtCache, refused_parents_absent};
use super::relay::resolvers;
use crate::lab::model_mail_auth::Enforcement;

/// How long one DNS question may take (a lab's DNS answers at once or not at all).
const DNS_TIMEOUT: Duration = Duration::from_secs(2);

pub struct SenderChecks {
    pub enforcement: Enforcement,
    /// The server's name: the authserv-id of the header.
    pub hostname: String,
    /// The node's DNS servers; when none, those of `resolv_conf` at the time.
    pub servers: Vec<SocketAddr>,
    pub resolv_conf: Option<PathBuf>,
}

/// What the server does with a checked message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Deliver,
    /// Into the Junk folder of each local recipient.
    Junk,
    /// Refused with this SMTP reply.
    Refuse(String),
}

/// The headers to put on top of the message, and what to do with it.
pub struct Verdict {
    pub headers: String,
    pub action: Action,
    /// One line for the dialogue log.
    pub summary: String,
}

/// What the DMARC check found, as far as the decision needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DmarcVerdict {
    Pass,
    Fail,
    /// No policy found (no record, or no From domain), or the lookup failed.
    NoPolicy,
}

/// The action for a message whose From domain publishes `policy` and got
/// `verdict`, under the lab's `enforcement` (RFC 7489 §6.6.4; `pct` is not
/// applied: a lab wants the same answer every time).
pub fn decide(
    enforcement: Enforcement,
    verdict: DmarcVerdict,
    policy: Policy,
    domain: &str,
) -> Action {
    if verdict != DmarcVerdict::Fail {
        return Action::Deliver;
    }
    match (enforcement, policy) {
        (Enforcement::Record, _) | (_, Policy::None | Policy::Unspecified) => Action::Deliver,
        (Enforcement::Reject, Policy::Reject) => Action::Refuse(format!(
            "550 5.7.26 Unauthenticated mail from {domain} is refused by its DMARC policy (p=reject)"
        )),
        (Enforcement::Reject | Enforcement::Quarantine, _) => Action::Junk,
    }
}

impl SenderChecks {
    /// Checks `message` from a client at `peer` that said HELO/EHLO `helo`
    /// and MAIL FROM `sender` (None for `<>`).
    pub async fn check(
        &self,
        peer: IpAddr,
        helo: &str,
        sender: Option<&Mailbox>,
        message: &[u8],
    ) -> Verdict {
        let servers = resolvers(&self.servers, self.resolv_conf.as_deref());
        let authenticator = match authenticator(&servers) {
            Ok(a) => a,
            Err(e) => return self.unchecked(&format!("no resolver ({e})")),
        };
        let Some(parsed) = AuthenticatedMessage::parse(message) else {
            return self.unchecked("the message has no headers to check");
        };
        let mail_from = sender.map(|s| s.to_string()).unwrap_or_default();
        let host = self.hostname.as_str();
        let spf = if mail_from.is_empty() {
            authenticator
                .verify_spf(SpfParameters::verify_ehlo(peer, helo, host))
                .await
        } else {
            authenticator
                .verify_spf(SpfParameters::verify_mail_from(
                    peer, helo, host, &mail_from,
                ))
                .await
        };
        let dkim = authenticator.verify_dkim(&parsed).await;
        let mail_from_domain = sender.map_or(helo, |s| s.domain.as_str());
        let header_from = parsed.from.first().map(String::as_str).unwrap_or("");
        let from_domain = header_from.rsplit_once('@').map_or("", |(_, d)| d);
        let txt = TxtCache::default();
        refused_parents_absent(&authenticator, from_domain, &txt).await;
        let dmarc = authenticator
            .verify_dmarc(
                Parameters::new(DmarcParameters::new(&parsed, &dkim, mail_from_domain, &spf))
                    .with_txt_cache(&txt),
            )
            .await;
        let results = AuthenticationResults::new(host)
            .with_dkim_results(&dkim, header_from)
            .with_spf_mailfrom_result(&spf, peer, &mail_from, helo)
            .with_dmarc_result(&dmarc);
        let received_spf = ReceivedSpf::new(&spf, peer, helo, &mail_from, host);
        let verdict = match dmarc.result() {
            DmarcResult::Pass => DmarcVerdict::Pass,
            DmarcResult::Fail(_) => DmarcVerdict::Fail,
            _ => DmarcVerdict::NoPolicy,
        };
        let action = decide(self.enforcement, verdict, dmarc.policy(), dmarc.domain());
        let headers = format!("{}{}", results.to_header(), received_spf.to_header());
        let summary = format!(
            "sender checks: {} → {}",
            results.to_string().replace(['\r', '\n', '\t'], " "),
            match &action {
                Action::Deliver => "deliver".to_string(),
                Action::Junk => "into Junk".to_string(),
                Action::Refuse(reply) => format!("refuse ({reply})"),
            }
        );
        Verdict {
            headers,
            action,
            summary,
        }
    }

    /// A message that could not be checked is delivered, saying why.
    fn unchecked(&self, why: &str) -> Verdict {
        Verdict {
            headers: format!(
                "Authentication-Results: {}; none (not checked: {why})\r\n",
                self.hostname
            ),
            action: Action::Deliver,
            summary: format!("sender checks: not made ({why})"),
        }
    }
}

/// A resolver that asks exactly `servers`: no system configuration, no
/// hosts file, no cache (a fixed record counts at the next message).
fn authenticator(servers: &[SocketAddr]) -> Result<MessageAuthenticator, String> {
    if servers.is_empty() {
        return Err("the node has no DNS servers".to_string());
    }
    let config = ResolverConfig::from_name_servers(
        servers
            .iter()
            .map(|s| NameServerConfig::udp_and_tcp(s.ip()))
            .collect(),
    );
    let mut options = ResolverOpts::default();
    options.timeout = DNS_TIMEOUT;
    options.attempts = 1;
    options.cache_size = 0;
    options.use_hosts_file = ResolveHosts::Never;
    options.ndots = 0;
    MessageAuthenticator::new(config, options).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_dmarc_failure_under_a_policy_is_acted_on() {
        use DmarcVerdict::*;
        use Enforcement::*;
        for enforcement in [Reject, Quarantine, Record] {
            for policy in [Policy::None, Policy::Quarantine, Policy::Reject] {
                for verdict in [Pass, NoPolicy] {
                    assert_eq!(
                        decide(enforcement, verdict, policy, "uts.edu.au"),
                        Action::Deliver
                    );
                }
                if policy == Policy::None {
                    assert_eq!(decide(enforcement, Fail, policy, "d"), Action::Deliver);
                }
            }
        }
    }

    #[test]
    fn enforcement_decides_how_far_a_failed_policy_goes() {
        use DmarcVerdict::Fail;
        use Enforcement::*;
        let refuse = decide(Reject, Fail, Policy::Reject, "uts.edu.au");
        match refuse {
            Action::Refuse(reply) => {
                assert!(reply.starts_with("550 5.7.26 "), "{reply}");
                assert!(reply.contains("uts.edu.au"), "{reply}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(decide(Reject, Fail, Policy::Quarantine, "d"), Action::Junk);
        assert_eq!(decide(Quarantine, Fail, Policy::Reject, "d"), Action::Junk);
        assert_eq!(
            decide(Quarantine, Fail, Policy::Quarantine, "d"),
            Action::Junk
        );
        assert_eq!(decide(Record, Fail, Policy::Reject, "d"), Action::Deliver);
        assert_eq!(
            decide(Record, Fail, Policy::Quarantine, "d"),
            Action::Deliver
        );
    }

    #[test]
    fn no_dns_server_means_unchecked_not_the_hosts_resolver() {
        assert!(authenticator(&[]).is_err());
    }
}
