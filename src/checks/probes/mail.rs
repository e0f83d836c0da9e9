//! A PC's mail client, as the mail checks and `labctl mail send` use it:
//! send with the PC's own settings (its DNS, its outgoing server, its
//! login), find and read a mailbox over POP3 or IMAP, and say in a
//! student's words which step failed.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::Path;
use std::time::SystemTime;

use super::path::{SILENCE, explain_silence};
use crate::agent::mail::mailbox::{self, FetchError, protocol_name};
use crate::agent::mail::mime::{self, Draft};
use crate::agent::mail::smtp::{self, Login, SmtpError};
use crate::agent::tcp::{ConnectError, connect};
use crate::checks::context::LabContext;
use crate::checks::outcome::{Diagnosis, Step};
use crate::checks::target::Target;
use crate::lab::addr::parse_ipv4;
use crate::lab::model_agents::MailAccount;

/// SMTP submission (RFC 6409): where a PC's mail client sends.
pub const SUBMISSION_PORT: u16 = 587;
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
pub fn mailbox_of(ctx: &LabContext, reader: &str, account: &MailAccount) -> Step<(Ipv4Addr, u16)> {
    ctx.address_of(reader)?;
    let server = ctx.resolve(reader, &server_target(&account.incoming))?;
    Ok((server, mailbox::port(account.protocol.unwrap_or_default())))
}

pub fn fetch_diagnosis(reader: &str, account: &MailAccount, e: &FetchError) -> Diagnosis {
    let protocol = protocol_name(account.protocol.unwrap_or_default());
    let server = &account.incoming;
    let hint = match e.stage {
        "login" if super::mailbox::in_use(e) => format!(
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

/// Where an attachment named on the command line is read from.
pub fn read_attachment(path: &Path) -> std::io::Result<(String, Vec<u8>)> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "attachment".into());
    Ok((name, std::fs::read(path)?))
}
