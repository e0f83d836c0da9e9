//! `mail` and `mail-refused` checks. A mail check sends with the sender
//! PC's own settings (its DNS, its outgoing server, its login), then reads
//! the recipient PC's mailbox over POP3 or IMAP until the message with this
//! check's token arrives. When it does not, it walks the chain: lease →
//! DNS of the outgoing server → TCP → SMTP reply → relay queue at the
//! server → DNS MX at the server → delivery → mailbox login → message.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use super::path::{SILENCE, explain_silence};
use crate::agent::mail::mailbox::{self, FetchError, Mailbox, protocol_name};
use crate::agent::mail::mime::{self, Draft};
use crate::agent::mail::smtp::{self, Login, SmtpError};
use crate::agent::tcp::{ConnectError, connect};
use crate::checks::context::LabContext;
use crate::checks::outcome::{Diagnosis, Outcome, Step};
use crate::checks::spec::{MailProbe, Target};
use crate::lab::addr::parse_ipv4;
use crate::lab::model_agents::MailAccount;
use crate::services::dns::client::mail_exchangers;

/// SMTP submission (RFC 6409): where a PC's mail client sends.
pub const SUBMISSION_PORT: u16 = 587;
/// SMTP between servers (and relay attempts).
pub const SMTP_PORT: u16 = 25;
/// How often the reader's mailbox is looked at while waiting.
const POLL: Duration = Duration::from_millis(150);
/// Every this many looks, the sender's mailbox is searched for a bounce.
const BOUNCE_EVERY: u32 = 4;

/// A server setting (`mail.cbrc.com` or `192.168.1.2`) as a target.
pub fn server_target(setting: &str) -> Target {
    match parse_ipv4(setting) {
        Ok(ip) => Target::Ip(ip),
        Err(_) => Target::Name(setting.trim_end_matches('.').to_string()),
    }
}

/// A fresh token that proves a message is this check's.
pub fn new_token() -> String {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    format!(
        "labctl-{:x}-{:x}",
        std::process::id(),
        nanos ^ (nanos >> 17)
    )
}

/// What a user writes: recipient, subject, text, files; and the token
/// that makes the message unique.
pub struct Letter<'a> {
    pub to: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    pub attachments: &'a [(String, Vec<u8>)],
    pub token: &'a str,
}

/// Sends a message with `account`'s settings from `node` (what `labctl mail
/// send` and the mail check do). Returns the server's final reply.
pub fn send(ctx: &LabContext, node: &str, account: &MailAccount, letter: &Letter) -> Step<String> {
    let to = letter.to;
    ctx.address_of(node)?;
    let server = ctx.resolve(node, &server_target(&account.outgoing))?;
    let message = mime::compose(
        &Draft {
            from_name: account.name.as_deref(),
            from: &account.address,
            to,
            subject: letter.subject,
            body: letter.body,
            attachments: letter.attachments,
            token: letter.token,
        },
        SystemTime::now(),
    );
    let (user, password, from, to_owned, helo) = (
        account.user.clone(),
        account.password.clone(),
        account.address.clone(),
        to.to_string(),
        node.to_string(),
    );
    let sent = ctx.in_node(node, move || async move {
        let stream = connect(SocketAddrV4::new(server, SUBMISSION_PORT), SILENCE)
            .await
            .map_err(Err)?;
        let login = Login {
            user: &user,
            password: &password,
        };
        smtp::submit(stream, &helo, Some(&login), &from, &to_owned, &message)
            .await
            .map_err(Ok)
    })?;
    let outgoing = &account.outgoing;
    match sent {
        Ok(accepted) => Ok(accepted.reply),
        Err(Err(ConnectError::Refused)) => Err(Diagnosis::new(
            "connect",
            format!(
                "{node} reached {outgoing} ({server}) but no mail server listens on port {SUBMISSION_PORT}"
            ),
            format!(
                "does the node with address {server} have `services: {{mail: …}}`, and is {outgoing} the right outgoing server?"
            ),
        )),
        Err(Err(e)) => {
            let mut d = explain_silence(
                ctx,
                node,
                server,
                &format!("connect to {outgoing} port {SUBMISSION_PORT}"),
            );
            d.message = format!(
                "{node} could not connect to its outgoing mail server {outgoing} ({server}): {e}; {}",
                d.message
            );
            Err(d)
        }
        Err(Ok(e)) => Err(smtp_diagnosis(node, account, to, &e)),
    }
}

fn smtp_diagnosis(node: &str, account: &MailAccount, to: &str, e: &SmtpError) -> Diagnosis {
    let server = &account.outgoing;
    let hint = match (e.stage(), e.code()) {
        ("AUTH", _) => format!(
            "is the password in {node}'s mail settings for user {} the one {server} has?",
            account.user
        ),
        ("RCPT TO", Some(550)) => format!(
            "does the server that holds {to}'s domain have a user {}?",
            to.split('@').next().unwrap_or(to)
        ),
        ("RCPT TO", Some(554 | 553 | 551)) => format!(
            "{server} will not relay for {to}: does {server} deliver that domain, or relay for logged-in users?"
        ),
        ("MAIL FROM", Some(530)) => {
            format!("{server} wants a login: set `user` and `password` in {node}'s mail settings")
        }
        _ => String::new(),
    };
    Diagnosis::new(
        "smtp",
        format!("{node} sent mail through {server}, and {e}"),
        hint,
    )
}

/// The reader's mailbox, with its incoming server resolved through the reader's DNS.
fn mailbox_of(ctx: &LabContext, reader: &str, account: &MailAccount) -> Step<(Ipv4Addr, u16)> {
    ctx.address_of(reader)?;
    let server = ctx.resolve(reader, &server_target(&account.incoming))?;
    Ok((server, mailbox::port(account.protocol.unwrap_or_default())))
}

fn fetch_diagnosis(reader: &str, account: &MailAccount, e: &FetchError) -> Diagnosis {
    let protocol = protocol_name(account.protocol.unwrap_or_default());
    let server = &account.incoming;
    let hint = match e.stage {
        "login" => format!(
            "is the password in {reader}'s mail settings for user {} the one {server} has?",
            account.user
        ),
        "connect" => format!(
            "does {server} run the mail service, and is `protocol: {}` right?",
            protocol.to_lowercase()
        ),
        _ => String::new(),
    };
    Diagnosis::new(
        "mailbox",
        format!("{reader} could not read its mailbox on {server} over {protocol}: {e}"),
        hint,
    )
}

pub fn mail(ctx: &LabContext, probe: &MailProbe) -> Step<Outcome> {
    let token = new_token();
    let subject = format!("labctl check {token}");
    let body = format!(
        "Sent by labctl to check that mail from {} reaches {}.\n",
        probe.from, probe.to
    );
    let attachments: Vec<(String, Vec<u8>)> = probe.attachment.iter().cloned().collect();
    // The reader must be able to log in before anything is sent.
    let (incoming, port) = mailbox_of(ctx, &probe.reader, &probe.reader_account)?;
    let protocol = probe.reader_account.protocol.unwrap_or_default();
    let (user, password) = (
        probe.reader_account.user.clone(),
        probe.reader_account.password.clone(),
    );
    {
        let (user, password) = (user.clone(), password.clone());
        ctx.in_node(&probe.reader, move || async move {
            let mailbox = Mailbox {
                protocol,
                server: SocketAddrV4::new(incoming, port),
                user: &user,
                password: &password,
            };
            mailbox::inbox(mailbox).await
        })?
        .map_err(|e| fetch_diagnosis(&probe.reader, &probe.reader_account, &e))?;
    }
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
    let sent_at = Instant::now();
    let deadline = sent_at + probe.within;
    // Look every POLL until the message is there; now and then, also look
    // for a bounce in the sender's mailbox, so a refused message does not
    // keep the check waiting until `within`.
    let mut looks = 0u32;
    let message = loop {
        let found = ctx.in_node(&probe.reader, {
            let (token, user, password) = (token.clone(), user.clone(), password.clone());
            move || async move {
                let mailbox = Mailbox {
                    protocol,
                    server: SocketAddrV4::new(incoming, port),
                    user: &user,
                    password: &password,
                };
                let list = mailbox::inbox(mailbox).await?;
                match list.iter().find(|s| s.subject.contains(&token)) {
                    Some(summary) => mailbox::read(mailbox, summary.number).await.map(Some),
                    None => Ok(None),
                }
            }
        })?;
        match found {
            Ok(Some(message)) => break message,
            Ok(None) => {}
            Err(e) => return Err(fetch_diagnosis(&probe.reader, &probe.reader_account, &e)),
        }
        looks += 1;
        let bounced =
            looks.is_multiple_of(BOUNCE_EVERY) && bounce_reason(ctx, probe, &token).is_some();
        if bounced || Instant::now() + POLL > deadline {
            return Err(explain_undelivered(ctx, probe, &token, &reply));
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
    Ok(Outcome::pass(format!(
        "{} → {}: accepted by {} (\"{reply}\"), in {}'s mailbox after {:.2} s{}",
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

/// Accepted but not delivered in time: look at the server that took it —
/// its relay queue, its MX lookup, its connection to the next server.
fn explain_undelivered(ctx: &LabContext, probe: &MailProbe, token: &str, reply: &str) -> Diagnosis {
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
    let Some(next) = list.iter().flat_map(|(_, ips)| ips.iter().copied()).next() else {
        return Some(Diagnosis::new(
            "mx",
            format!("{situation}: the mail server of {domain} has no address"),
            format!("add an A record for the MX target of {domain}"),
        ));
    };
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
fn bounce_reason(ctx: &LabContext, probe: &MailProbe, token: &str) -> Option<String> {
    let (server, port) = mailbox_of(ctx, &probe.from, &probe.account).ok()?;
    let protocol = probe.account.protocol.unwrap_or_default();
    let (user, password, token) = (
        probe.account.user.clone(),
        probe.account.password.clone(),
        token.to_string(),
    );
    ctx.in_node(&probe.from, move || async move {
        let mailbox = Mailbox {
            protocol,
            server: SocketAddrV4::new(server, port),
            user: &user,
            password: &password,
        };
        let list = mailbox::inbox(mailbox).await.ok()?;
        for summary in list
            .iter()
            .rev()
            .take(20)
            .filter(|s| !s.subject.contains(&token))
        {
            let raw = mailbox::read(mailbox, summary.number).await.ok()?;
            if raw.windows(token.len()).any(|w| w == token.as_bytes()) {
                let text = mime::parse(&raw).text;
                let reasons: Vec<&str> = text.lines().filter(|l| l.starts_with('<')).collect();
                return Some(if reasons.is_empty() {
                    summary.subject.clone()
                } else {
                    reasons.join("; ")
                });
            }
        }
        None
    })
    .ok()
    .flatten()
}

/// If the message with `token` waits in `node`'s relay queue: the last
/// error the relay recorded for it (or that it has not been tried yet).
fn queued_error(ctx: &LabContext, node: &str, token: &str) -> Option<String> {
    let state = crate::state::LabDir::of(&ctx.lab).ok()?.dir;
    let queue = crate::daemon::mail::mail_dir(&state, node).join("queue");
    for entry in std::fs::read_dir(&queue).ok()?.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "msg") {
            continue;
        }
        let holds_token = std::fs::read(&path)
            .is_ok_and(|bytes| bytes.windows(token.len()).any(|w| w == token.as_bytes()));
        if holds_token {
            let envelope = std::fs::read(path.with_extension("env")).ok();
            let error = envelope
                .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
                .and_then(|v| {
                    v.get("last_error")
                        .and_then(|e| e.as_str())
                        .map(str::to_string)
                });
            return Some(error.unwrap_or_else(|| "not tried yet".to_string()));
        }
    }
    None
}

/// An unauthenticated relay attempt from `from` through `server` must be refused.
pub fn refused(
    ctx: &LabContext,
    from: &str,
    server: &Target,
    to: &str,
    sender: &str,
) -> Step<Outcome> {
    ctx.address_of(from)?;
    let ip = ctx.resolve(from, server)?;
    let (to_owned, sender_owned, helo) = (to.to_string(), sender.to_string(), from.to_string());
    let tried = ctx.in_node(from, move || async move {
        let stream = connect(SocketAddrV4::new(ip, SMTP_PORT), SILENCE)
            .await
            .map_err(Err)?;
        let (mut session, _) = smtp::open(stream, &helo).await.map_err(Ok)?;
        let result = session
            .try_recipient(&sender_owned, &to_owned)
            .await
            .map(|reply| reply.quoted());
        session.quit().await;
        result.map_err(Ok)
    })?;
    match tried {
        Ok(reply) => Err(Diagnosis::new(
            "relay",
            format!(
                "{server} ({ip}) is an open relay: it accepted mail for {to} from {from} without a login (\"{reply}\")"
            ),
            "relay mail to other domains only for users who logged in",
        )),
        Err(Ok(e)) if e.stage() == "RCPT TO" && e.code().is_some_and(|c| c >= 500) => Ok(
            Outcome::pass(format!("{server} refused: \"{}\"", e.reply())),
        ),
        Err(Ok(e)) if e.stage() == "MAIL FROM" && e.code().is_some_and(|c| c >= 500) => Ok(
            Outcome::pass(format!("{server} refused the sender: \"{}\"", e.reply())),
        ),
        Err(Ok(e)) => Err(Diagnosis::new(
            "smtp",
            format!("{from} tried to relay through {server}, and {e}"),
            "a relay must be refused with a 5xx reply to RCPT TO",
        )),
        Err(Err(e)) => Err(Diagnosis::new(
            "connect",
            format!("{from} could not connect to {server} ({ip}) port {SMTP_PORT}: {e}"),
            "the relay test needs the mail server to be reachable",
        )),
    }
}

/// Where an attachment named on the command line is read from.
pub fn read_attachment(path: &Path) -> std::io::Result<(String, Vec<u8>)> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "attachment".into());
    Ok((name, std::fs::read(path)?))
}
