//! `mail` checks. A mail check sends with the sender PC's own settings
//! (its DNS, its outgoing server, its login), then reads the recipient
//! PC's mailbox over POP3 or IMAP until the message with this check's token
//! arrives. When it does not, it walks the chain: lease → DNS of the
//! outgoing server → TCP → SMTP reply → relay queue at the server → DNS MX
//! at the server → delivery → mailbox login → message.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use crate::agent::mail::mailbox::{self, Carrying, FetchError};
use crate::agent::mail::mime;
use crate::agent::tcp::connect;
use crate::checks::context::LabContext;
use crate::checks::outcome::{Diagnosis, Outcome, Step};
use crate::checks::probes::auth_results::{self, METHODS};
use crate::checks::probes::mail::{
    Letter, SMTP_PORT, mailbox_diagnosis, mailbox_of, new_token, send, server_target,
};
use crate::checks::probes::mail_server::{
    AccountProblem, account_problem, accounts_of, fate, not_served, queue_id, runs_mail, who_is,
};
use crate::checks::probes::mailbox::with_mailbox;
use crate::checks::probes::path::{SILENCE, explain_silence};
use crate::checks::resolver::Resolver;
use crate::checks::run_options::RunOptions;
use crate::lab::model_agents::MailAccount;
use crate::lab::model_checks::{AuthResult, MailCheck};
use crate::lab::validate::valid_address;
use crate::services::dns::client::mail_exchangers;
use crate::services::mail::smtp::fates::Fate;
use crate::services::mail::smtp::queue::Queue;

/// Delivery time a `mail` check allows by default.
pub const DEFAULT_WITHIN: Duration = Duration::from_secs(10);
/// The largest attachment a check may send.
pub const MAX_ATTACHMENT: u64 = 10 * 1024 * 1024;
/// How often the reader's mailbox is looked at while waiting.
const POLL: Duration = Duration::from_millis(150);
/// Every this many looks, the sender's mailbox is searched for a bounce.
const BOUNCE_EVERY: u32 = 4;

#[derive(Clone, Debug)]
pub struct Mail {
    pub from: String,
    pub account: MailAccount,
    pub to: String,
    pub reader: String,
    pub reader_account: MailAccount,
    pub within: Duration,
    /// File name and content of the attachment, read when the checks load.
    pub attachment: Option<(String, Vec<u8>)>,
    /// Results the reader's server must record (`spf`, `dkim`, `dmarc`).
    pub auth: Vec<(&'static str, AuthResult)>,
}

pub fn resolve(r: &mut Resolver, c: &MailCheck) -> Option<Mail> {
    let from = r.source("from", &c.from)?;
    let account = mail_account(r, "from", &from, c.account.as_deref())?;
    if !valid_address(&c.to) {
        r.error(
            "to",
            format!("`{}` is not an email address", c.to),
            "e.g. bob@cbrc.com",
        );
        return None;
    }
    let reader = r.source("reader", &c.reader)?;
    let reader_account = match r
        .plan()
        .node(&reader)
        .and_then(|n| n.agents.account(Some(&c.to)))
    {
        Some(account) => account.clone(),
        None => mail_account(r, "reader", &reader, None)?,
    };
    let within = r.duration("within", c.within.as_deref(), DEFAULT_WITHIN)?;
    let attachment = match &c.attach {
        None => None,
        Some(file) => Some(attachment(r, file)?),
    };
    Some(Mail {
        from,
        account,
        to: c.to.clone(),
        reader,
        reader_account,
        within,
        attachment,
        auth: METHODS
            .into_iter()
            .zip([c.spf, c.dkim, c.dmarc])
            .filter_map(|(method, wanted)| Some((method, wanted?)))
            .collect(),
    })
}

/// The mail account of `node` named `which` (or its first).
fn mail_account(
    r: &mut Resolver,
    field: &str,
    node: &str,
    which: Option<&str>,
) -> Option<MailAccount> {
    let agents = &r.plan().node(node)?.agents;
    if let Some(account) = agents.account(which) {
        return Some(account.clone());
    }
    let (message, hint) = match which {
        Some(key) => (
            format!("{node} has no mail account `{key}`"),
            format!(
                "its accounts: {}",
                agents
                    .mail
                    .iter()
                    .map(|a| a.address.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
        None => (
            format!("{node} has no mail settings"),
            format!(
                "give {node} `mail: {{address: …, incoming: …, outgoing: …, user: …, password: …}}`"
            ),
        ),
    };
    r.missing(field, message, hint);
    None
}

/// The file to attach (relative to the file the check is in), read now.
fn attachment(r: &mut Resolver, file: &str) -> Option<(String, Vec<u8>)> {
    let path = r.base_dir().join(file);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let read = std::fs::metadata(&path).and_then(|m| {
        if m.len() > MAX_ATTACHMENT {
            Err(std::io::Error::other(format!(
                "it is {} bytes, more than {MAX_ATTACHMENT}",
                m.len()
            )))
        } else {
            std::fs::read(&path)
        }
    });
    match read {
        Ok(bytes) if !name.is_empty() => Some((name, bytes)),
        Ok(_) => {
            r.error(
                "attach",
                format!("`{file}` is not a file"),
                "name a file next to this file",
            );
            None
        }
        Err(e) => {
            r.error(
                "attach",
                format!("cannot read {}: {e}", path.display()),
                "attachments are relative to the file the check is in",
            );
            None
        }
    }
}

impl Mail {
    pub fn describe(&self) -> String {
        format!(
            "{} ({}) mails {} and {} receives it{}",
            self.from,
            self.account.address,
            self.to,
            self.reader,
            if self.attachment.is_some() {
                " with its attachment"
            } else {
                ""
            }
        )
    }

    pub fn run(&self, ctx: &LabContext, options: &RunOptions) -> Step<Outcome> {
        probe(ctx, self, options)
    }
}

fn probe(ctx: &LabContext, probe: &Mail, options: &RunOptions) -> Step<Outcome> {
    let token = new_token();
    let subject = format!("labctl check {token}");
    let body = format!(
        "Sent by labctl to check that mail from {} reaches {}.\n",
        probe.from, probe.to
    );
    let attachments: Vec<(String, Vec<u8>)> = probe.attachment.iter().cloned().collect();
    // The reader must be able to log in before anything is sent.
    let (incoming, _, _) = mailbox_of(ctx, &probe.reader, &probe.reader_account)?;
    with_mailbox(ctx, &probe.reader, &probe.reader_account, async |mailbox| {
        mailbox::inbox(mailbox).await.map(|_| ())
    })?
    .map_err(|e| mailbox_diagnosis(ctx, &probe.reader, &probe.reader_account, incoming, &e))?;
    let reply = send(
        ctx,
        &probe.from,
        &probe.account,
        &Letter {
            to: &probe.to,
            subject: &subject,
            body: &body,
            attachments: &attachments,
            token: &token,
        },
    )?;
    let verdict = receive(ctx, probe, incoming, &token, &reply);
    if options.keep_mail {
        return verdict;
    }
    match (clean_up(ctx, probe, &token, verdict.is_ok()), verdict) {
        (Err(e), Ok(mut outcome)) => {
            outcome.detail.push_str(&format!(
                " (the test message could not be removed from {}'s mailbox: {e})",
                probe.reader
            ));
            Ok(outcome)
        }
        (_, verdict) => verdict,
    }
}

/// Removes this check's message from the reader's mailbox and, after a
/// failure (when a bounce may have come back), whatever carries the token
/// in the sender's mailbox.
fn clean_up(ctx: &LabContext, probe: &Mail, token: &str, passed: bool) -> Result<(), FetchError> {
    let token_owned = token.to_string();
    with_mailbox(
        ctx,
        &probe.reader,
        &probe.reader_account,
        async move |mailbox| {
            mailbox::delete_carrying(mailbox, &token_owned, Carrying::Subject).await
        },
    )
    .map_err(|d| FetchError::new("connect", d.message))??;
    if !passed {
        let token = token.to_string();
        // The sender's mailbox may be missing or broken: that is the
        // check's diagnosis already, not a reason to say more.
        let _ = with_mailbox(ctx, &probe.from, &probe.account, async move |mailbox| {
            mailbox::delete_carrying(mailbox, &token, Carrying::Anywhere).await
        });
    }
    Ok(())
}

/// Waits for the message with `token` in the reader's mailbox and checks
/// what arrived.
fn receive(
    ctx: &LabContext,
    probe: &Mail,
    incoming: Ipv4Addr,
    token: &str,
    reply: &str,
) -> Step<Outcome> {
    let sent_at = Instant::now();
    let deadline = sent_at + probe.within;
    let mut watch = Watch::new(ctx, probe, incoming, reply);
    // Look every POLL until the message is there; now and then, also look
    // for a bounce in the sender's mailbox, so a refused message does not
    // keep the check waiting until `within`.
    let mut looks = 0u32;
    let message = loop {
        let wanted = token.to_string();
        let found = with_mailbox(
            ctx,
            &probe.reader,
            &probe.reader_account,
            async move |mailbox| mailbox::find(mailbox, &wanted).await,
        )?;
        match found {
            Ok(Some(message)) => break message,
            Ok(None) => {}
            Err(e) => {
                return Err(mailbox_diagnosis(
                    ctx,
                    &probe.reader,
                    &probe.reader_account,
                    incoming,
                    &e,
                ));
            }
        }
        looks += 1;
        // The servers' own record says sooner than any timeout whether
        // the message can still arrive; without it (an older daemon), a
        // bounce in the sender's mailbox does.
        match watch.as_mut().map(|w| w.verdict(ctx, probe)) {
            Some(Ok(Some(d))) => return Err(d),
            Some(Ok(None)) => {}
            Some(Err(())) | None => {
                if looks.is_multiple_of(BOUNCE_EVERY) && bounce_reason(ctx, probe, token).is_some()
                {
                    return Err(explain_undelivered(ctx, probe, token, reply));
                }
            }
        }
        if Instant::now() + POLL > deadline {
            return Err(explain_undelivered(ctx, probe, token, reply));
        }
        std::thread::sleep(POLL);
    };
    let took = sent_at.elapsed();
    if let Some((name, bytes)) = &probe.attachment {
        let parsed = mime::parse(&message);
        match parsed.attachments.iter().find(|a| &a.name == name) {
            Some(a) if &a.bytes == bytes => {}
            Some(a) => {
                return Err(Diagnosis::new(
                    "attachment",
                    format!(
                        "{} received the message, but attachment {name} arrived changed ({} bytes, sent {})",
                        probe.reader,
                        a.bytes.len(),
                        bytes.len()
                    ),
                    "a server on the way altered the message body",
                ));
            }
            None => {
                return Err(Diagnosis::new(
                    "attachment",
                    format!(
                        "{} received the message without its attachment {name}",
                        probe.reader
                    ),
                    "a server on the way dropped the attachment",
                ));
            }
        }
    }
    let authenticated = authentication(ctx, probe, incoming, &message)?;
    Ok(Outcome::pass(format!(
        "{} → {}: accepted by {} (\"{reply}\"), in {}'s mailbox after {:.2} s{}{authenticated}",
        probe.account.address,
        probe.to,
        probe.account.outgoing,
        probe.reader,
        took.as_secs_f64(),
        if probe.attachment.is_some() {
            ", attachment intact"
        } else {
            ""
        }
    )))
}

/// The results the check asks for, as the reader's server recorded them
/// (`, spf=pass dkim=pass`), or why one is not what it should be.
fn authentication(
    ctx: &LabContext,
    probe: &Mail,
    incoming: Ipv4Addr,
    message: &[u8],
) -> Step<String> {
    if probe.auth.is_empty() {
        return Ok(String::new());
    }
    let node = ctx.owner_of(incoming).map(|n| n.name.clone());
    let server = node
        .clone()
        .unwrap_or_else(|| probe.reader_account.incoming.clone());
    let Some(recorded) = auth_results::recorded(message) else {
        return Err(Diagnosis::new(
            "sender-checks",
            format!(
                "{} received the message, but {server} recorded no sender checks (no Authentication-Results header)",
                probe.reader
            ),
            format!(
                "add `sender_checks: record` (or `reject`, `quarantine`) to the mail service of {server}"
            ),
        ));
    };
    let mut shown = String::from(",");
    for (method, wanted) in &probe.auth {
        if recorded.result(method) != wanted.as_str() {
            return Err(auth_results::explain(
                ctx,
                node.as_deref(),
                &recorded,
                method,
                *wanted,
                &probe.account.address,
            ));
        }
        shown.push_str(&format!(" {method}={}", wanted.as_str()));
    }
    Ok(shown)
}

/// How long a message may wait in a relay queue untried before the check
/// looks at the next hop itself (a relay's connect can take 30 s to fail).
const QUEUE_PATIENCE: Duration = Duration::from_secs(2);
/// Servers followed along a relay chain.
const MAX_HOPS: usize = 4;

/// Follows the message through the lab's mail servers by their own record
/// (`mail-fate`): from the server that took it, hop by hop, to the mailbox
/// it landed in or the reason it never will.
struct Watch {
    /// The server that took the message, and its queue id there.
    first: (String, String),
    /// The reader's mailbox: its server node and user.
    reader_box: Option<(String, String)>,
    sent_at: Instant,
    /// The next hop was already looked at for a waiting message.
    looked_ahead: bool,
}

impl Watch {
    fn new(ctx: &LabContext, probe: &Mail, incoming: Ipv4Addr, reply: &str) -> Option<Watch> {
        let server = ctx
            .resolve(&probe.from, &server_target(&probe.account.outgoing))
            .ok()
            .and_then(|ip| ctx.owner_of(ip))
            .filter(|n| n.mail.is_some())?;
        let reader_box = ctx.owner_of(incoming).and_then(|n| {
            let user = accounts_of(n.mail.as_ref()?)
                .user(&probe.reader_account.user)?
                .to_string();
            Some((n.name.clone(), user))
        });
        Some(Watch {
            first: (server.name.clone(), queue_id(reply)?.to_string()),
            reader_box,
            sent_at: Instant::now(),
            looked_ahead: false,
        })
    }

    /// Ok(Some) when the message will not arrive (and why), Ok(None) while
    /// it may, Err when the daemon keeps no record.
    fn verdict(&mut self, ctx: &LabContext, probe: &Mail) -> Result<Option<Diagnosis>, ()> {
        let (mut node, mut id) = self.first.clone();
        let domain = domain_of(&probe.to);
        for hop in 0..MAX_HOPS {
            let Some(events) = fate(ctx, &node, &id) else {
                return if hop == 0 { Err(()) } else { Ok(None) };
            };
            let last = events.iter().rev().find(|e| match e {
                Fate::Delivered { .. } | Fate::Quarantined { .. } => true,
                Fate::Queued { recipient }
                | Fate::Relayed { recipient, .. }
                | Fate::Deferred { recipient, .. }
                | Fate::Bounced { recipient, .. } => recipient.eq_ignore_ascii_case(&probe.to),
            });
            match last {
                None => return Ok(None),
                Some(Fate::Delivered { mailbox }) => {
                    return Ok(self.elsewhere(ctx, probe, &node, mailbox));
                }
                Some(Fate::Quarantined { mailbox, reason }) => {
                    return Ok(Some(Diagnosis::new(
                        "sender-checks",
                        format!(
                            "{node} put the message into {mailbox}'s Junk folder, not the inbox ({reason})"
                        ),
                        format!(
                            "the From domain's DMARC policy wants SPF or DKIM to pass: sign {}'s mail (`dkim: {{selector: s1, publish: true}}` on its mail server) or list that server in the SPF record of its domain",
                            probe.account.address
                        ),
                    )));
                }
                Some(Fate::Relayed { server, reply, .. }) => {
                    let next = relayed_to(server).and_then(|ip| ctx.owner_of(ip));
                    match (next, queue_id(reply)) {
                        (Some(next), Some(next_id)) if next.mail.is_some() => {
                            (node, id) = (next.name.clone(), next_id.to_string());
                        }
                        _ => return Ok(None),
                    }
                }
                Some(Fate::Bounced { reason, bounce, .. }) => {
                    return Ok(Some(bounced(ctx, probe, &node, reason, bounce.as_deref())));
                }
                Some(Fate::Queued { .. }) if self.sent_at.elapsed() < QUEUE_PATIENCE => {
                    return Ok(None);
                }
                Some(Fate::Queued { .. } | Fate::Deferred { .. }) => {
                    if self.looked_ahead {
                        return Ok(None);
                    }
                    self.looked_ahead = true;
                    let waiting = match last {
                        Some(Fate::Deferred { error, .. }) => format!(
                            "the message waits in {node}'s relay queue (last attempt: {error})"
                        ),
                        _ => format!("the message waits in {node}'s relay queue"),
                    };
                    return Ok(next_hop_diagnosis(ctx, &node, &domain, &waiting));
                }
            }
        }
        Ok(None)
    }

    /// A message stored at `node` in `mailbox`: None when that is the
    /// reader's mailbox (it is on its way), else where it went instead.
    fn elsewhere(
        &self,
        ctx: &LabContext,
        probe: &Mail,
        node: &str,
        mailbox: &str,
    ) -> Option<Diagnosis> {
        let (reader_server, reader_user) = self.reader_box.as_ref()?;
        if reader_server == node && reader_user.eq_ignore_ascii_case(mailbox) {
            return None;
        }
        let account = &probe.reader_account;
        let hint = if reader_server == node && account_is_other(ctx, node, account) {
            format!(
                "{}'s settings log in as {reader_user}: set `user: {mailbox}` and {mailbox}'s password in them",
                probe.reader
            )
        } else {
            format!(
                "is {} the right mail server and {} the right user in {}'s mail settings?",
                account.incoming, account.user, probe.reader
            )
        };
        Some(Diagnosis::new(
            "mailbox",
            format!(
                "{node} delivered the message for {} to {mailbox}'s mailbox, but {} reads {reader_user}'s mailbox on {reader_server}",
                probe.to, probe.reader
            ),
            hint,
        ))
    }
}

/// Whether `account` logs in at `node` as another user than its address names.
fn account_is_other(ctx: &LabContext, node: &str, account: &MailAccount) -> bool {
    ctx.node(node).mail.as_ref().is_some_and(|m| {
        matches!(
            account_problem(m, account),
            Some(AccountProblem::OtherUser { .. })
        )
    })
}

/// The address in a fate's server (`mail.b.org [10.2.0.25:25]`).
fn relayed_to(server: &str) -> Option<Ipv4Addr> {
    let inside = server.rsplit_once('[')?.1.trim_end_matches(']');
    let address: std::net::SocketAddr = inside.parse().ok()?;
    match address.ip() {
        std::net::IpAddr::V4(ip) => Some(ip),
        std::net::IpAddr::V6(_) => None,
    }
}

fn domain_of(address: &str) -> String {
    address.rsplit_once('@').map_or("", |(_, d)| d).to_string()
}

/// `node` refused the message for good: a loop back to itself (a server
/// that does not serve the domain its MX names it for), or another reason;
/// and what became of the bounce.
fn bounced(
    ctx: &LabContext,
    probe: &Mail,
    node: &str,
    reason: &str,
    bounce: Option<&str>,
) -> Diagnosis {
    let sender = &probe.account.address;
    let returned = match bounce
        .and_then(|id| fate(ctx, node, id))
        .and_then(|e| e.last().cloned())
    {
        Some(Fate::Delivered { mailbox }) => format!("its bounce is in {mailbox}'s mailbox"),
        Some(Fate::Quarantined { mailbox, .. }) => {
            format!("its bounce is in {mailbox}'s Junk folder")
        }
        Some(Fate::Bounced { reason: why, .. }) if why == reason => {
            format!("its bounce to {sender} was lost the same way")
        }
        Some(Fate::Bounced { reason, .. }) => {
            format!("its bounce to {sender} was lost as well ({reason})")
        }
        Some(Fate::Queued { .. } | Fate::Deferred { .. } | Fate::Relayed { .. }) => {
            format!("its bounce to {sender} is on its way")
        }
        None if bounce.is_none() => "no bounce could be sent".to_string(),
        None => format!("its bounce to {sender} was sent"),
    };
    let domain = domain_of(&probe.to);
    if reason.contains("loops back to myself") {
        let serves = not_served(ctx.node(node), &domain)
            .unwrap_or_else(|| format!("{node} does not serve {domain}"));
        return Diagnosis::new(
            "domain",
            format!(
                "mail server {serves}: the message for {} went to {domain}'s MX, which is {node} itself, and would loop (\"{reason}\"); {returned}",
                probe.to
            ),
            format!(
                "add {domain} to {node}'s `mail: {{domains: …}}`, or point the MX record of {domain} at the mail server that serves it"
            ),
        );
    }
    let returned_to = format!(
        "{node} could not deliver the message and returned it to {sender}: {reason}; {returned}"
    );
    next_hop_diagnosis(ctx, node, &domain, &returned_to).unwrap_or_else(|| {
        Diagnosis::new(
            "delivery",
            returned_to,
            format!("see `labctl logs {} {node}`", ctx.lab),
        )
    })
}

/// Accepted but not delivered in time: look at the server that took it —
/// its relay queue, its MX lookup, its connection to the next server.
fn explain_undelivered(ctx: &LabContext, probe: &Mail, token: &str, reply: &str) -> Diagnosis {
    let within = probe.within.as_secs_f64();
    let outgoing = &probe.account.outgoing;
    let domain = probe.to.rsplit_once('@').map_or("", |(_, d)| d).to_string();
    let server_node = ctx
        .resolve(&probe.from, &server_target(outgoing))
        .ok()
        .and_then(|ip| ctx.owner_of(ip))
        .map(|n| n.name.clone());
    let Some(server) = server_node else {
        return Diagnosis::new(
            "delivery",
            format!(
                "{outgoing} accepted the message (\"{reply}\"), but it did not reach {}'s mailbox within {within:.0} s",
                probe.reader
            ),
            "",
        );
    };
    if let Some(error) = queued_error(ctx, &server, token) {
        let waiting = format!("the message waits in {server}'s relay queue");
        return next_hop_diagnosis(ctx, &server, &domain, &waiting).unwrap_or_else(|| {
            Diagnosis::new(
                "delivery",
                format!("{waiting} for {domain}: {error}"),
                format!(
                    "see `labctl logs {} {server}` for its dialogue with the next server",
                    ctx.lab
                ),
            )
        });
    }
    if let Some(reason) = bounce_reason(ctx, probe, token) {
        let returned = format!(
            "{server} could not deliver the message and returned it to {}: {reason}",
            probe.account.address
        );
        return match next_hop_diagnosis(ctx, &server, &domain, &returned) {
            Some(d) => d,
            None => Diagnosis::new(
                "delivery",
                returned,
                format!("see `labctl logs {} {server}`", ctx.lab),
            ),
        };
    }
    Diagnosis::new(
        "delivery",
        format!(
            "{outgoing} ({server}) accepted the message (\"{reply}\") and it is not in its relay queue, but it did not reach {}'s mailbox on {} within {within:.0} s",
            probe.reader, probe.reader_account.incoming
        ),
        format!(
            "does {} read the mailbox of {} ({} on {})? see `labctl logs {} {server}`",
            probe.reader,
            probe.to,
            probe.reader_account.user,
            probe.reader_account.incoming,
            ctx.lab
        ),
    )
}

/// What keeps `server` from handing mail for `domain` on: no resolver, no
/// MX (nor A) record, or no way to the next server. None when all of that works.
fn next_hop_diagnosis(
    ctx: &LabContext,
    server: &str,
    domain: &str,
    situation: &str,
) -> Option<Diagnosis> {
    let servers = ctx.node(server).dns.clone();
    if servers.is_empty() {
        return Some(Diagnosis::new(
            "mx",
            format!("{situation}: {server} has no DNS server to find the mail server of {domain}"),
            format!("give {server} `dns: [SERVER]` so it can look up the MX record of {domain}"),
        ));
    }
    let domain_owned = domain.to_string();
    let exchangers = ctx.in_node(server, move || async move {
        let servers: Vec<std::net::IpAddr> =
            servers.into_iter().map(std::net::IpAddr::V4).collect();
        mail_exchangers(&servers, &domain_owned).await
    });
    let list = match exchangers {
        Err(d) => return Some(d),
        Ok(Err(e)) => {
            return Some(Diagnosis::new(
                "mx",
                format!("{situation}: {server} cannot find the mail server of {domain}: {e}"),
                format!(
                    "is there an MX record for {domain} (and an A record for its target) on the DNS server {server} uses?"
                ),
            ));
        }
        Ok(Ok(list)) => list,
    };
    let Some((exchange, next)) = list
        .iter()
        .flat_map(|(name, ips)| ips.iter().map(move |ip| (name.clone(), *ip)))
        .next()
    else {
        return Some(Diagnosis::new(
            "mx",
            format!("{situation}: the mail server of {domain} has no address"),
            format!("add an A record for the MX target of {domain}"),
        ));
    };
    if ctx.owner_of(next).is_some() && !runs_mail(ctx, next) {
        return Some(Diagnosis::new(
            "mx",
            format!(
                "{situation}: the MX record of {domain} names {exchange}, and {exchange} is {}",
                who_is(ctx, next)
            ),
            format!(
                "the MX record of {domain} and the A record of its target must lead to the mail server that serves {domain}"
            ),
        ));
    }
    let connected = ctx.in_node(server, move || async move {
        connect(SocketAddrV4::new(next, SMTP_PORT), SILENCE)
            .await
            .map(|_| ())
    });
    match connected {
        Ok(Ok(())) => None,
        Ok(Err(e)) => {
            let mut d = explain_silence(
                ctx,
                server,
                next,
                &format!("connect to {next} port {SMTP_PORT}"),
            );
            d.message = format!(
                "{situation}: {server} cannot reach {domain}'s mail server {next} ({e}); {}",
                d.message
            );
            Some(d)
        }
        Err(d) => Some(d),
    }
}

/// The reason given in a bounce of this check's message, if one came back
/// to the sender's mailbox.
fn bounce_reason(ctx: &LabContext, probe: &Mail, token: &str) -> Option<String> {
    let token = token.to_string();
    with_mailbox(ctx, &probe.from, &probe.account, async move |mailbox| {
        let list = mailbox::inbox(mailbox).await?;
        for summary in list
            .iter()
            .rev()
            .take(20)
            .filter(|s| !s.subject.contains(&token))
        {
            let raw = mailbox::read(mailbox, summary.number).await?;
            if raw.windows(token.len()).any(|w| w == token.as_bytes()) {
                let text = mime::parse(&raw).text;
                let reasons: Vec<&str> = text.lines().filter(|l| l.starts_with('<')).collect();
                return Ok(Some(if reasons.is_empty() {
                    summary.subject.clone()
                } else {
                    reasons.join("; ")
                }));
            }
        }
        Ok(None)
    })
    .ok()?
    .ok()
    .flatten()
}

/// If the message with `token` waits in `node`'s relay queue: the last
/// error the relay recorded for it (or that it has not been tried yet).
fn queued_error(ctx: &LabContext, node: &str, token: &str) -> Option<String> {
    let state = crate::state::LabDir::of(&ctx.lab).ok()?.dir;
    let queue = Queue::existing(&crate::daemon::mail::queue_dir(&state, node));
    queue.pending().ok()?.into_iter().find_map(|envelope| {
        let message = queue.message(&envelope.id).ok()?;
        message
            .windows(token.len())
            .any(|w| w == token.as_bytes())
            .then(|| {
                envelope
                    .last_error
                    .unwrap_or_else(|| "not tried yet".to_string())
            })
    })
}
