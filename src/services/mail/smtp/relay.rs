//! The relay worker: takes messages from the queue when they are due, finds
//! each domain's mail exchangers through the node's own resolver (MX, else
//! A: RFC 5321 §5.1), hands the message on, and retries with growing waits.
//! Recipients refused for good, or still undelivered when the queue gives
//! up, get a bounce to the sender (never for a bounce: null sender). A
//! domain whose best MX is this server itself is refused ("loops back to
//! myself"). Each outcome is recorded in the server's fates.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures::StreamExt;

use super::command::{self, Command, Mailbox};
use super::delivery::Delivery;
use super::fates::Fate;
use super::outbound::{self, Outcome, Unreachable};
use super::queue::{Envelope, Queue, new_id, now_seconds};
use crate::plural;
use crate::services::dns::client::{QueryError, mail_exchangers_at};
use crate::services::mail::date::rfc5322;
use crate::services::mail::transcript::Transcript;
use crate::services::shutdown::Shutdown;

/// Queue entries tried at once.
const PARALLEL_ATTEMPTS: usize = 16;

/// How the next server for a domain is found.
#[derive(Debug, Clone)]
pub enum NextHop {
    /// MX (else A) through these DNS servers — or, when there are none,
    /// the `nameserver`s of `resolv_conf` at the time (a node configured by
    /// DHCP); mail goes to `port` there.
    Dns {
        servers: Vec<SocketAddr>,
        resolv_conf: Option<PathBuf>,
        port: u16,
    },
    /// Every domain goes to these servers (tests on 127.0.0.1).
    #[cfg(test)]
    Fixed(Vec<SocketAddr>),
}

/// Waits between attempts, and when to give up.
#[derive(Debug, Clone)]
pub struct Retry {
    pub first: Duration,
    pub longest: Duration,
    pub give_up_after: Duration,
}

impl Retry {
    /// The wait after `attempts` failed attempts: doubling from `first`.
    fn wait(&self, attempts: u32) -> Duration {
        let factor = 1u32 << attempts.saturating_sub(1).min(16);
        self.first.saturating_mul(factor).min(self.longest)
    }
}

pub struct Relay {
    pub hostname: String,
    pub next_hop: NextHop,
    pub retry: Retry,
    pub reply_timeout: Duration,
    pub delivery: Arc<Delivery>,
    pub transcript: Transcript,
    /// Trusts the lab's CA: STARTTLS with every server that offers it.
    /// None when the lab has no TLS (no server offers it either).
    pub tls: Option<tokio_rustls::TlsConnector>,
}

impl Relay {
    /// Works the queue until `stop`.
    pub async fn run(self, mut stop: Shutdown) -> anyhow::Result<()> {
        let queue = self.delivery.queue.clone();
        loop {
            let (due, waiting): (Vec<Envelope>, Vec<Envelope>) = queue
                .pending()?
                .into_iter()
                .partition(|e| e.next_attempt <= now_seconds());
            let mut next_due = waiting.iter().map(|e| e.next_attempt).min();
            // Entries are tried side by side, so one slow server holds up
            // only its own mail.
            let attempting = futures::stream::iter(due)
                .map(|envelope| self.attempt(&queue, envelope))
                .buffer_unordered(PARALLEL_ATTEMPTS)
                .collect::<Vec<anyhow::Result<Option<u64>>>>();
            // A stop does not wait for a slow server (up to `reply_timeout`):
            // the queue is durable, so an attempt cut short is tried again
            // after the next start.
            let attempts = tokio::select! {
                () = stop.fired() => return Ok(()),
                attempts = attempting => attempts,
            };
            for again in attempts {
                if let Some(again) = again? {
                    next_due = Some(next_due.map_or(again, |d| d.min(again)));
                }
            }
            let wait = next_due.map_or(Duration::from_secs(3600), |due| {
                Duration::from_secs(due.saturating_sub(now_seconds()))
            });
            tokio::select! {
                () = stop.fired() => return Ok(()),
                _ = queue.woken() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// One attempt for every recipient of an entry; returns when to try
    /// again, or None when the entry is done.
    async fn attempt(&self, queue: &Queue, mut envelope: Envelope) -> anyhow::Result<Option<u64>> {
        let message = match queue.message(&envelope.id) {
            Ok(message) => message,
            Err(_) => {
                queue.finish(&envelope.id)?;
                return Ok(None);
            }
        };
        let mut by_domain: BTreeMap<String, Vec<Mailbox>> = BTreeMap::new();
        for recipient in &envelope.recipients {
            if let Some(mailbox) = parse_mailbox(recipient) {
                // One RCPT per mailbox, even in an entry queued with the
                // same address spelled twice.
                let mailbox = mailbox.with_lowercase_domain();
                let same_domain = by_domain.entry(mailbox.domain.clone()).or_default();
                if !same_domain.contains(&mailbox) {
                    same_domain.push(mailbox);
                }
            }
        }
        let mut later = Vec::new();
        let mut refused = Vec::new();
        let fates = &self.delivery.fates;
        for (domain, recipients) in by_domain {
            let (outcomes, server) = self
                .hand_on(&domain, envelope.sender.as_deref(), &recipients, &message)
                .await;
            for (recipient, outcome) in recipients.into_iter().zip(outcomes) {
                match outcome {
                    Outcome::Delivered(reply) => fates.record(
                        &envelope.id,
                        Fate::Relayed {
                            recipient: recipient.to_string(),
                            server: server.clone(),
                            reply,
                        },
                    ),
                    Outcome::Later(why) => later.push((recipient, why)),
                    Outcome::Refused(why) => refused.push((recipient, why)),
                }
            }
        }
        envelope.attempts += 1;
        let age = Duration::from_secs(now_seconds().saturating_sub(envelope.queued_at));
        if age >= self.retry.give_up_after {
            refused.extend(later.drain(..).map(|(recipient, why)| {
                let why = format!(
                    "gave up after {}; last: {why}",
                    plural::count(envelope.attempts, "attempt")
                );
                (recipient, why)
            }));
        }
        if !refused.is_empty() {
            // Recorded before the bounce is sent: whoever sees the bounce
            // can also learn which message it returns.
            let sender = envelope.sender.as_deref().and_then(parse_mailbox);
            let bounce = sender.as_ref().map(|_| new_id());
            for (recipient, reason) in &refused {
                fates.record(
                    &envelope.id,
                    Fate::Bounced {
                        recipient: recipient.to_string(),
                        reason: reason.clone(),
                        bounce: bounce.clone(),
                    },
                );
            }
            if let (Some(sender), Some(id)) = (sender, bounce) {
                self.bounce(&id, sender, &envelope, &refused, &message);
            }
        }
        for (recipient, why) in &later {
            fates.record(
                &envelope.id,
                Fate::Deferred {
                    recipient: recipient.to_string(),
                    error: why.clone(),
                },
            );
        }
        if later.is_empty() {
            queue.finish(&envelope.id)?;
            return Ok(None);
        }
        envelope.recipients = later.iter().map(|(r, _)| r.to_string()).collect();
        envelope.last_error = later.first().map(|(_, why)| why.clone());
        envelope.next_attempt = now_seconds() + self.retry.wait(envelope.attempts).as_secs().max(1);
        queue.save(&envelope)?;
        Ok(Some(envelope.next_attempt))
    }

    /// Tries the domain's servers in order until one takes a decision;
    /// also returns the server that took it (`mail.b.org [10.2.0.25]:25`).
    async fn hand_on(
        &self,
        domain: &str,
        sender: Option<&str>,
        recipients: &[Mailbox],
        message: &[u8],
    ) -> (Vec<Outcome>, String) {
        let servers = match self.servers_for(domain).await {
            Ok(servers) => servers,
            Err(outcome) => return (vec![outcome; recipients.len()], String::new()),
        };
        let mut last = format!("no mail server found for {domain}");
        for (name, server) in servers {
            let log = self.transcript.outgoing("smtp-out", &name, server);
            let hop = outbound::Hop {
                address: server,
                name: &name,
                tls: self.tls.as_ref(),
            };
            match outbound::send(
                hop,
                &self.hostname,
                sender,
                recipients,
                message,
                self.reply_timeout,
                log,
            )
            .await
            {
                Ok(outcomes) => return (outcomes, format!("{name} [{server}]")),
                Err(Unreachable(why)) => last = why,
            }
        }
        (vec![Outcome::Later(last); recipients.len()], String::new())
    }

    /// The servers to try for `domain`, by name and address, in order. The
    /// lookup and its result go into the node's log, before the sessions.
    async fn servers_for(&self, domain: &str) -> Result<Vec<(String, SocketAddr)>, Outcome> {
        match &self.next_hop {
            #[cfg(test)]
            NextHop::Fixed(servers) => {
                Ok(servers.iter().map(|s| (s.ip().to_string(), *s)).collect())
            }
            NextHop::Dns {
                servers,
                resolv_conf,
                port,
            } => {
                let asked = resolvers(servers, resolv_conf.as_deref());
                let found = mail_exchangers_at(&asked, domain).await;
                self.log_lookup(domain, &asked, &found);
                match found {
                    Ok(exchangers) => before_myself(domain, exchangers, *port),
                    Err(
                        e @ (QueryError::NxDomain { .. }
                        | QueryError::NullMx { .. }
                        | QueryError::NoData { .. }
                        | QueryError::BadName { .. }),
                    ) => Err(Outcome::Refused(format!("550 5.1.2 {e}"))),
                    Err(e) => Err(Outcome::Later(format!("451 4.4.3 {e}"))),
                }
            }
        }
    }

    /// `smtp-out -- MX lookup for hamburger.edu at 192.168.2.2:53: mail.hamburger.edu [192.168.2.2]`
    fn log_lookup(
        &self,
        domain: &str,
        asked: &[SocketAddr],
        found: &Result<Vec<(String, Vec<std::net::Ipv4Addr>)>, QueryError>,
    ) {
        let asked: Vec<String> = asked.iter().map(ToString::to_string).collect();
        let result = match found {
            Ok(exchangers) => exchangers
                .iter()
                .map(|(name, addresses)| {
                    let addresses: Vec<String> =
                        addresses.iter().map(ToString::to_string).collect();
                    format!("{name} [{}]", addresses.join(", "))
                })
                .collect::<Vec<_>>()
                .join(", "),
            Err(e) => format!("failed: {e}"),
        };
        self.transcript.note(
            "smtp-out",
            &format!("MX lookup for {domain} at {}: {result}", asked.join(", ")),
        );
    }

    /// A delivery status notification, queue id `id`, to the sender of a
    /// failed message.
    fn bounce(
        &self,
        id: &str,
        sender: Mailbox,
        envelope: &Envelope,
        refused: &[(Mailbox, String)],
        message: &[u8],
    ) {
        let postmaster = format!(
            "MAILER-DAEMON@{}",
            self.delivery
                .accounts
                .primary_domain()
                .unwrap_or_else(|| self.hostname.clone())
        );
        let mut report = String::new();
        for (recipient, why) in refused {
            report.push_str(&format!("<{recipient}>: {why}\r\n"));
        }
        let headers_end = message
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map_or(message.len(), |at| at + 2);
        let bounce = format!(
            "From: Mail Delivery System <{postmaster}>\r\nTo: <{sender}>\r\n\
             Subject: Undelivered Mail Returned to Sender\r\nDate: {}\r\n\
             Message-ID: <{}@{}>\r\nAuto-Submitted: auto-replied\r\n\r\n\
             This is the mail system at host {}.\r\n\r\n\
             Your message could not be delivered to one or more recipients:\r\n\r\n{report}\r\n\
             --- The headers of your message follow ---\r\n\r\n{}",
            rfc5322(SystemTime::now()),
            new_id(),
            self.hostname,
            self.hostname,
            String::from_utf8_lossy(&message[..headers_end]),
        );
        if let Err(e) = self
            .delivery
            .deliver(id, None, &[sender], bounce.as_bytes())
        {
            tracing::warn!("mail: cannot deliver a bounce for {}: {e}", envelope.id);
        }
    }
}

/// The servers to try for `domain`, in the exchangers' order, up to the
/// first that is this node itself: mail handed to itself would only come
/// back to the queue, over and over. When this node is the best exchanger
/// the domain's mail has nowhere to go: refused for good, in the words a
/// real MTA uses ("loops back to myself"), so the sender learns why.
fn before_myself(
    domain: &str,
    exchangers: Vec<(String, Vec<std::net::Ipv4Addr>)>,
    port: u16,
) -> Result<Vec<(String, SocketAddr)>, Outcome> {
    let mut servers = Vec::new();
    for (name, addresses) in exchangers {
        for ip in addresses {
            if is_mine(ip) {
                if servers.is_empty() {
                    return Err(Outcome::Refused(format!(
                        "554 5.4.6 mail for {domain} loops back to myself: its MX {name} is {ip}, this server, which does not serve {domain}"
                    )));
                }
                return Ok(servers);
            }
            servers.push((name.clone(), SocketAddr::new(ip.into(), port)));
        }
    }
    Ok(servers)
}

/// Whether `ip` is an address of this node (the namespace the relay runs
/// in): only a local address can be bound.
fn is_mine(ip: std::net::Ipv4Addr) -> bool {
    ip.is_loopback() || std::net::UdpSocket::bind((ip, 0)).is_ok()
}

/// The DNS servers to ask: the configured ones, else those of resolv.conf.
pub(super) fn resolvers(servers: &[SocketAddr], resolv_conf: Option<&Path>) -> Vec<SocketAddr> {
    if !servers.is_empty() {
        return servers.to_vec();
    }
    let text = resolv_conf
        .and_then(|path| std::fs::read_to_string(path).ok())
        .unwrap_or_default();
    text.lines()
        .filter_map(|line| line.trim().strip_prefix("nameserver"))
        .filter_map(|address| address.trim().parse::<IpAddr>().ok())
        .map(|ip| SocketAddr::new(ip, 53))
        .collect()
}

/// A queued address back into a mailbox.
fn parse_mailbox(address: &str) -> Option<Mailbox> {
    match command::parse(format!("RCPT TO:<{address}>").as_bytes()) {
        Ok(Command::Rcpt(mailbox)) => Some(mailbox),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolvers_come_from_resolv_conf_when_none_are_given() {
        let path = std::env::temp_dir().join(format!("labctl-resolv-{}", new_id()));
        std::fs::write(
            &path,
            "# from DHCP\nnameserver 10.0.0.53\nsearch lab\nnameserver bad\n",
        )
        .unwrap();
        let found = resolvers(&[], Some(&path));
        std::fs::remove_file(&path).unwrap();
        assert_eq!(found, ["10.0.0.53:53".parse::<SocketAddr>().unwrap()]);
        let given: SocketAddr = "10.9.9.9:53".parse().unwrap();
        assert_eq!(resolvers(&[given], Some(&path)), [given]);
        assert!(resolvers(&[], None).is_empty());
    }

    #[test]
    fn an_mx_that_is_this_server_is_a_loop_not_a_hop() {
        let mx = |name: &str, ip: [u8; 4]| (name.to_string(), vec![std::net::Ipv4Addr::from(ip)]);
        // 192.0.2.1 (TEST-NET-1) is no address of the machine running the tests.
        let other = mx("mx.b.org", [192, 0, 2, 1]);
        let me = mx("mail.b.org", [127, 0, 0, 1]);
        match before_myself("b.org", vec![me.clone(), other.clone()], 25) {
            Err(Outcome::Refused(why)) => {
                assert!(
                    why.starts_with("554 5.4.6 mail for b.org loops back to myself"),
                    "{why}"
                );
                assert!(why.contains("mail.b.org is 127.0.0.1"), "{why}");
            }
            other => panic!("{other:?}"),
        }
        // A better exchanger than this server: only it is tried.
        let servers = before_myself("b.org", vec![other.clone(), me], 25).unwrap();
        assert_eq!(
            servers,
            [("mx.b.org".to_string(), "192.0.2.1:25".parse().unwrap())]
        );
        assert_eq!(before_myself("b.org", vec![other], 25).unwrap().len(), 1);
    }

    #[test]
    fn waits_double_up_to_the_longest() {
        let retry = Retry {
            first: Duration::from_secs(5),
            longest: Duration::from_secs(60),
            give_up_after: Duration::from_secs(3600),
        };
        let waits: Vec<u64> = (1..=6).map(|n| retry.wait(n).as_secs()).collect();
        assert_eq!(waits, [5, 10, 20, 40, 60, 60]);
    }
}
