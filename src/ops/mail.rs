//! `mail`: use a PC's mail client by hand, exactly as its settings say (its
//! DNS, its servers, its login) — send a message, list the inbox, read a
//! message. Each returns what happened as data: the outer error means the
//! attempt could not be made (no such lab, node or account), the inner
//! `Diagnosis` what went wrong inside the lab (quoting its servers).

use std::path::PathBuf;

use anyhow::{Result, bail};

use super::admin::require_admin;
use crate::agent::mail::mailbox::{self, Summary};
use crate::agent::mail::mime::{self, Parsed};
use crate::checks::context::LabContext;
use crate::checks::outcome::Diagnosis;
use crate::checks::probes::mail::{
    Letter, mailbox_diagnosis, mailbox_of, new_token, read_attachment, send,
};
use crate::checks::probes::mailbox::with_mailbox as mailbox_session;
use crate::lab::model_agents::MailAccount;

/// What went wrong inside the lab, or what came back.
pub type Tried<T> = std::result::Result<T, Diagnosis>;

/// A message to send.
pub struct Message {
    pub to: String,
    pub subject: String,
    pub body: String,
    /// Files to attach.
    pub attach: Vec<PathBuf>,
}

/// A message the PC's outgoing server accepted.
pub struct Sent {
    /// The account it was sent from.
    pub account: MailAccount,
    /// The server's last reply, as it said it.
    pub reply: String,
}

/// A PC's mailbox, listed.
pub struct Inbox {
    pub account: MailAccount,
    pub messages: Vec<Summary>,
}

/// Sends `message` from `node`'s mail client (`account`: address or user
/// name; default its first).
pub fn send_message(
    lab: &str,
    node: &str,
    account: Option<&str>,
    message: &Message,
) -> Result<Tried<Sent>> {
    require_admin("mail")?;
    let ctx = LabContext::load(lab)?;
    let account = account_of(&ctx, node, account)?;
    let attachments = message
        .attach
        .iter()
        .map(|path| {
            read_attachment(path)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))
        })
        .collect::<Result<Vec<_>>>()?;
    let letter = Letter {
        to: &message.to,
        subject: &message.subject,
        body: &message.body,
        attachments: &attachments,
        token: &new_token(),
    };
    Ok(send(&ctx, node, &account, &letter).map(|reply| Sent { account, reply }))
}

/// Lists the messages in `node`'s mailbox (they stay on the server).
pub fn inbox(lab: &str, node: &str, account: Option<&str>) -> Result<Tried<Inbox>> {
    require_admin("mail")?;
    let ctx = LabContext::load(lab)?;
    let account = account_of(&ctx, node, account)?;
    Ok(
        with_mailbox(&ctx, node, &account, None).map(|fetched| Inbox {
            messages: match fetched {
                Fetched::List(list) => list,
                Fetched::Message(_) => unreachable!("asked for the list"),
            },
            account,
        }),
    )
}

/// Message `number` (from 1, as `inbox` numbers them) of `node`'s mailbox.
pub fn read(lab: &str, node: &str, number: u32, account: Option<&str>) -> Result<Tried<Parsed>> {
    require_admin("mail")?;
    let ctx = LabContext::load(lab)?;
    let account = account_of(&ctx, node, account)?;
    if number == 0 {
        bail!("messages are numbered from 1 (see `labctl mail inbox {lab} {node}`)");
    }
    Ok(
        with_mailbox(&ctx, node, &account, Some(number)).map(|fetched| match fetched {
            Fetched::Message(raw) => mime::parse(&raw),
            Fetched::List(_) => unreachable!("asked for a message"),
        }),
    )
}

fn account_of(ctx: &LabContext, node: &str, which: Option<&str>) -> Result<MailAccount> {
    let Some(plan_node) = ctx.plan.node(node) else {
        bail!("lab {} has no node `{node}`", ctx.lab);
    };
    match plan_node.agents.account(which) {
        Some(account) => Ok(account.clone()),
        None if plan_node.agents.mail.is_empty() => bail!(
            "{node} has no mail settings: give it `mail: {{address: …, incoming: …, outgoing: …, user: …, password: …}}` in the lab file"
        ),
        None => bail!(
            "{node} has no account `{}`; its accounts: {}",
            which.unwrap_or_default(),
            plan_node
                .agents
                .mail
                .iter()
                .map(|a| a.address.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

enum Fetched {
    List(Vec<Summary>),
    Message(Vec<u8>),
}

/// Lists the mailbox, or reads message `number`, from inside `node`, as
/// a check reads it (the same address, port, TLS and diagnosis).
fn with_mailbox(
    ctx: &LabContext,
    node: &str,
    account: &MailAccount,
    number: Option<u32>,
) -> Tried<Fetched> {
    let (server, _, _) = mailbox_of(ctx, node, account)?;
    let fetched = mailbox_session(ctx, node, account, async move |mailbox| match number {
        None => mailbox::inbox(mailbox).await.map(Fetched::List),
        Some(n) => mailbox::read(mailbox, n).await.map(Fetched::Message),
    })?;
    fetched.map_err(|e| mailbox_diagnosis(ctx, node, account, server, &e))
}
