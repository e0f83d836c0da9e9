//! A PC's mail client, as the mail checks and `labctl mail send` use it:
//! send with the PC's own settings (its DNS, its outgoing server, its
//! login), find and read a mailbox over POP3 or IMAP, and say in a
//! student's words which step failed — naming the setting, the record, the
//! user or the password, from what the lab knows (`mail_server`).

use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::Path;
use std::time::SystemTime;

use super::mail_server::{
    account_problem, account_words, accounts_of, close_name, others_logging_in_as, runs_mail,
    servers_of, who_is,
};
use super::path::{SILENCE, explain_silence};
use crate::agent::mail::mailbox::{self, FetchError, protocol_name};
use crate::agent::mail::mime::{self, Draft};
use crate::agent::mail::security::{
    IMAPS_PORT, POP3S_PORT, SUBMISSION_PORT, Security, Trust, submission_port,
};
use crate::agent::mail::smtp::{self, Broken, Login, SmtpError};
use crate::agent::tcp::{ConnectError, connect};
use crate::checks::context::LabContext;
use crate::checks::outcome::{Diagnosis, Step};
use crate::checks::target::Target;
use crate::lab::addr::parse_ipv4;
use crate::lab::model_agents::{MailAccount, MailSecurity};
use crate::services::tls::failure::{HandshakeFailure, names_text};

/// SMTP between servers (and relay attempts).
pub const SMTP_PORT: u16 = 25;

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
    let server = ctx
        .resolve(node, &server_target(&account.outgoing))
        .map_err(|d| setting_unresolved(ctx, node, "outgoing", &account.outgoing, d))?;
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
    let setting = account.security.unwrap_or_default();
    let security = security_of(ctx, node, account, Role::Outgoing)?;
    let port = submission_port(setting);
    let (user, password, from, to_owned, helo) = (
        account.user.clone(),
        account.password.clone(),
        account.address.clone(),
        to.to_string(),
        node.to_string(),
    );
    let sent = ctx.in_node(node, move || async move {
        let stream = connect(SocketAddrV4::new(server, port), SILENCE)
            .await
            .map_err(Err)?;
        let login = Login {
            user: &user,
            password: &password,
        };
        smtp::submit(
            stream,
            &security,
            &helo,
            Some(&login),
            &from,
            &to_owned,
            &message,
        )
        .await
        .map_err(Ok)
    })?;
    let outgoing = &account.outgoing;
    match sent {
        Ok(accepted) => Ok(accepted.reply),
        Err(Err(ConnectError::Refused)) if runs_mail(ctx, server) && port != SUBMISSION_PORT => {
            Err(no_implicit_tls(node, Role::Outgoing, account, server, port))
        }
        Err(Err(ConnectError::Refused)) => Err(Diagnosis::new(
            "connect",
            format!(
                "{node} reached its outgoing server {outgoing}, {}; no mail server listens on port {port}",
                who_is(ctx, server)
            ),
            wrong_server_hint(ctx, node, "outgoing", account, server),
        )),
        Err(Err(e)) => {
            let mut d = explain_silence(
                ctx,
                node,
                server,
                &format!("connect to {outgoing} port {port}"),
            );
            d.message = format!(
                "{node} could not connect to its outgoing mail server {outgoing} ({server}): {e}; {}",
                d.message
            );
            Err(d)
        }
        Err(Ok(SmtpError::Broken {
            why: Broken::Tls(failure),
            ..
        })) => Err(tls_diagnosis(
            ctx,
            node,
            Role::Outgoing,
            account,
            server,
            &failure,
        )),
        Err(Ok(e)) if e.stage() == "STARTTLS" => {
            Err(no_starttls(node, Role::Outgoing, account, &e.reply()))
        }
        Err(Ok(e)) => {
            let mut d = smtp_diagnosis(node, account, to, &e);
            if e.stage() == "AUTH" {
                refine_with_account(ctx, node, account, server, &mut d);
            }
            Err(d)
        }
    }
}

/// A mail setting's server name that did not resolve: say it is the
/// setting, and the name it was probably meant to be.
fn setting_unresolved(
    ctx: &LabContext,
    node: &str,
    role: &str,
    name: &str,
    mut d: Diagnosis,
) -> Diagnosis {
    if d.step != "dns" {
        return d;
    }
    d.message = format!(
        "{node}'s mail settings name {name} as the {role} server, and {}",
        d.message
    );
    if let Some(close) = close_name(ctx, name) {
        d.hint = format!(
            "a typo? the lab's DNS has {close}: set `{role}: {close}` in {node}'s mail settings"
        );
    }
    d
}

/// What to change when a mail setting leads to a node without a mail
/// server: the setting, or the record, and where the mail server is.
fn wrong_server_hint(
    ctx: &LabContext,
    node: &str,
    role: &str,
    account: &MailAccount,
    ip: Ipv4Addr,
) -> String {
    let setting = if role == "outgoing" {
        &account.outgoing
    } else {
        &account.incoming
    };
    let domain = account.address.rsplit_once('@').map_or("", |(_, d)| d);
    let record = if server_target(setting) == Target::Ip(ip) {
        format!("`{role}: {setting}` in {node}'s mail settings")
    } else {
        format!("the A record of {setting} (or `{role}` in {node}'s mail settings)")
    };
    match servers_of(ctx, domain).as_slice() {
        [(server, Some(at)), ..] => {
            format!("{record} should lead to the mail server of {domain}: {server} ({at})")
        }
        _ => format!(
            "{record} should lead to the mail server of {domain}, but no node of the lab runs a mail service for {domain} (`services: {{mail: {{domains: [{domain}], …}}}}`)"
        ),
    }
}

/// When the server at `ip` is a lab mail server, say what is wrong with
/// `pc`'s login there (the user, the password, or another user's mailbox).
fn refine_with_account(
    ctx: &LabContext,
    pc: &str,
    account: &MailAccount,
    ip: Ipv4Addr,
    d: &mut Diagnosis,
) {
    let Some(server) = ctx.owner_of(ip) else {
        return;
    };
    let Some(problem) = server
        .mail
        .as_ref()
        .and_then(|m| account_problem(m, account))
    else {
        return;
    };
    let (message, hint) = account_words(pc, &server.name, &problem);
    d.step = "account";
    d.message = format!("{}: {message}", d.message);
    d.hint = hint;
}

fn smtp_diagnosis(node: &str, account: &MailAccount, to: &str, e: &SmtpError) -> Diagnosis {
    let server = &account.outgoing;
    let hint = match (e.stage(), e.code()) {
        ("MAIL FROM" | "AUTH", Some(530)) if e.reply().contains("STARTTLS") => format!(
            "{server} takes logins over TLS only: set `security: starttls` (or `tls`) in {node}'s mail settings"
        ),
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

/// The reader's mailbox, with its incoming server resolved through the
/// reader's DNS: the server's address, the port and how the connection is
/// protected, as the reader's settings say.
pub fn mailbox_of(
    ctx: &LabContext,
    reader: &str,
    account: &MailAccount,
) -> Step<(Ipv4Addr, u16, Security)> {
    ctx.address_of(reader)?;
    let server = ctx
        .resolve(reader, &server_target(&account.incoming))
        .map_err(|d| setting_unresolved(ctx, reader, "incoming", &account.incoming, d))?;
    let security = security_of(ctx, reader, account, Role::Incoming)?;
    let port = mailbox::port(
        account.protocol.unwrap_or_default(),
        account.security.unwrap_or_default(),
    );
    Ok((server, port, security))
}

/// Which of an account's servers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Incoming,
    Outgoing,
}

impl Role {
    fn key(self) -> &'static str {
        match self {
            Role::Incoming => "incoming",
            Role::Outgoing => "outgoing",
        }
    }

    fn setting(self, account: &MailAccount) -> &str {
        match self {
            Role::Incoming => &account.incoming,
            Role::Outgoing => &account.outgoing,
        }
    }
}

/// How `node`'s client protects its connection to its `role` server: the
/// certificate checked against the lab's CA for the server's name as the
/// settings write it. A setting that asks for TLS in a lab without a CA
/// is a diagnosis of its own: nothing could ever verify.
pub fn security_of(
    ctx: &LabContext,
    node: &str,
    account: &MailAccount,
    role: Role,
) -> Step<Security> {
    let setting = account.security.unwrap_or_default();
    if setting == MailSecurity::None {
        return Ok(Security::Plain);
    }
    let Some(connector) = &ctx.lab_ca else {
        return Err(Diagnosis::new(
            "tls",
            format!(
                "{node}'s mail settings say `security: {}`, but no service of this lab offers TLS, so there is no lab CA to check a certificate against",
                setting.word()
            ),
            format!(
                "give the mail service of {} `tls: optional` (or `required`), or set `security: none` in {node}'s mail settings",
                role.setting(account)
            ),
        ));
    };
    let trust = Trust {
        connector: connector.clone(),
        name: role.setting(account).trim_end_matches('.').to_string(),
    };
    Ok(Security::from_setting(setting, Some(trust)))
}

/// A TLS handshake that failed: for a certificate with other names, the
/// name the settings use and the names the certificate has.
pub fn tls_diagnosis(
    ctx: &LabContext,
    node: &str,
    role: Role,
    account: &MailAccount,
    ip: Ipv4Addr,
    failure: &HandshakeFailure,
) -> Diagnosis {
    let (key, name) = (role.key(), role.setting(account));
    let server = match ctx.owner_of(ip) {
        Some(owner) => format!("{ip} ({})", owner.name),
        None => ip.to_string(),
    };
    match failure {
        HandshakeFailure::WrongName { presented, .. } => {
            let hint = match presented.iter().find(|n| parse_ipv4(n).is_err()) {
                Some(first) => format!(
                    "use a name the certificate has: `{key}: {first}` in {node}'s mail settings"
                ),
                None => {
                    format!("use a name or address the certificate has in {node}'s mail settings")
                }
            };
            Diagnosis::new(
                "tls",
                format!(
                    "{node}'s mail settings name its {key} server {name}, but the certificate of {server} is for {}, not {name}",
                    names_text(presented)
                ),
                hint,
            )
        }
        HandshakeFailure::UnknownIssuer => Diagnosis::new(
            "tls",
            format!(
                "{node} connected to its {key} server {name} ({server}) over TLS, and {failure}"
            ),
            format!(
                "is {name} the lab's mail server? the lab's servers' certificates come from the lab's CA"
            ),
        ),
        _ => Diagnosis::new(
            "tls",
            format!(
                "{node} could not set up TLS with its {key} server {name} ({server}): {failure}"
            ),
            format!(
                "does {name}'s mail service offer TLS (`tls: optional` or `required`)? or set `security: none` in {node}'s mail settings"
            ),
        ),
    }
}

/// The server refused STARTTLS/STLS: it offers no TLS.
fn no_starttls(node: &str, role: Role, account: &MailAccount, reply: &str) -> Diagnosis {
    let name = role.setting(account);
    Diagnosis::new(
        "tls",
        format!(
            "{node}'s mail settings say `security: starttls`, but {name} does not offer STARTTLS: it answered \"{reply}\""
        ),
        format!(
            "give {name}'s mail service `tls: optional` (or `required`), or set `security: none` in {node}'s mail settings"
        ),
    )
}

/// Nothing listens on an implicit-TLS port of a mail server: it has no TLS.
fn no_implicit_tls(
    node: &str,
    role: Role,
    account: &MailAccount,
    ip: Ipv4Addr,
    port: u16,
) -> Diagnosis {
    let name = role.setting(account);
    Diagnosis::new(
        "tls",
        format!(
            "{node}'s mail settings say `security: tls`, but {name} ({ip}) takes no TLS on port {port}: its mail service has no TLS"
        ),
        format!(
            "give {name}'s mail service `tls: optional` (or `required`), or set `security: starttls` or `none` in {node}'s mail settings"
        ),
    )
}

/// `fetch_diagnosis`, told with what the lab knows about the server at
/// `ip`: whose address it is when nothing listens, which user or password
/// is wrong, who else logs in as the same user when the mailbox is in use.
pub fn mailbox_diagnosis(
    ctx: &LabContext,
    reader: &str,
    account: &MailAccount,
    ip: Ipv4Addr,
    e: &FetchError,
) -> Diagnosis {
    if let Some(failure) = &e.tls {
        return tls_diagnosis(ctx, reader, Role::Incoming, account, ip, failure);
    }
    if e.stage == "STARTTLS" && e.refused {
        return no_starttls(reader, Role::Incoming, account, &e.message);
    }
    let port = mailbox::port(
        account.protocol.unwrap_or_default(),
        account.security.unwrap_or_default(),
    );
    if e.stage == "connect" && runs_mail(ctx, ip) && matches!(port, POP3S_PORT | IMAPS_PORT) {
        return no_implicit_tls(reader, Role::Incoming, account, ip, port);
    }
    let mut d = fetch_diagnosis(reader, account, e);
    match e.stage {
        "connect" if !runs_mail(ctx, ip) => {
            d.message = format!("{}; {} is {}", d.message, account.incoming, who_is(ctx, ip));
            d.hint = wrong_server_hint(ctx, reader, "incoming", account, ip);
        }
        "login" => {
            refine_with_account(ctx, reader, account, ip, &mut d);
            if e.message.contains("[IN-USE]")
                && let Some(server) = ctx.owner_of(ip)
                && let Some(user) = server
                    .mail
                    .as_ref()
                    .and_then(|m| accounts_of(m).user(&account.user))
            {
                let others = others_logging_in_as(ctx, reader, server, &user);
                if !others.is_empty() {
                    d.step = "account";
                    d.message = format!(
                        "{}: {user}'s mailbox on {} is in use, and {} also log{} in as {user}",
                        d.message,
                        server.name,
                        others.join(", "),
                        if others.len() == 1 { "s" } else { "" }
                    );
                    if d.hint.is_empty() || !d.hint.starts_with("set `user") {
                        d.hint = format!(
                            "each PC logs in as its own user: check `user:` in the mail settings of {} and {}",
                            reader,
                            others.join(", ")
                        );
                    }
                }
            }
        }
        _ => {}
    }
    d
}

pub fn fetch_diagnosis(reader: &str, account: &MailAccount, e: &FetchError) -> Diagnosis {
    let protocol = protocol_name(account.protocol.unwrap_or_default());
    let server = &account.incoming;
    let hint = match e.stage {
        "login" if needs_tls(&e.message) => format!(
            "{server} takes logins over TLS only: set `security: starttls` (or `tls`) in {reader}'s mail settings"
        ),
        "login" if e.in_use() => format!(
            "another mail client kept {}'s mailbox open the whole time: close it (or wait for it) and check again",
            account.user
        ),
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

/// A login refused because the connection is not encrypted (IMAP's
/// `[PRIVACYREQUIRED]`, POP3's "Plaintext authentication disallowed").
fn needs_tls(reply: &str) -> bool {
    reply.contains("[PRIVACYREQUIRED]") || reply.contains("Plaintext authentication disallowed")
}

/// Where an attachment named on the command line is read from.
pub fn read_attachment(path: &Path) -> std::io::Result<(String, Vec<u8>)> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "attachment".into());
    Ok((name, std::fs::read(path)?))
}
