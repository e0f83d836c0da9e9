//! `labctl mail send|inbox|read LAB NODE …`: use a PC's mail client by
//! hand, exactly as its settings say (its DNS, its servers, its login) —
//! what a student does in Packet Tracer's Email window.

use std::net::SocketAddrV4;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::Subcommand;

use crate::agent::mail::mailbox::{self, Mailbox, Summary};
use crate::agent::mail::mime;
use crate::checks::context::LabContext;
use crate::checks::outcome::Diagnosis;
use crate::checks::probes::mail::{Letter, new_token, read_attachment, send, server_target};
use crate::lab::model_agents::MailAccount;
use crate::lifecycle::require_admin;
use crate::plural::count;
use crate::printable::{line, lines};

#[derive(Subcommand)]
pub enum MailCommand {
    /// Compose and send a message from a PC (MIME, attachments), as its mail client would.
    #[command(after_help = "Examples:\n  \
                            labctl mail send mastertech backend-pc1 --to bob@mt.com --subject Hello --body 'Lunch at noon?'\n  \
                            labctl mail send mastertech backend-pc1 --to bob@mt.com --subject Photo --attach photo.jpg")]
    Send {
        /// The running lab.
        lab: String,
        /// The PC whose mail client sends (its mail settings in the lab file).
        node: String,
        /// The recipient's address.
        #[arg(long)]
        to: String,
        /// The message's subject.
        #[arg(long)]
        subject: String,
        /// The message's text.
        #[arg(long, default_value = "")]
        body: String,
        /// Attach a file (may be repeated).
        #[arg(long, value_name = "FILE")]
        attach: Vec<PathBuf>,
        /// Which of the PC's accounts (address or user name; default the first).
        #[arg(long)]
        account: Option<String>,
    },
    /// List the messages in a PC's mailbox (they stay on the server).
    #[command(after_help = "Examples:\n  \
                            labctl mail inbox mastertech mgmt-pc1\n  \
                            labctl mail inbox mastertech mgmt-pc1 --account bob@mt.com")]
    Inbox {
        /// The running lab.
        lab: String,
        /// The PC whose mailbox to list (over POP3 or IMAP, as its settings say).
        node: String,
        /// Which of the PC's accounts (address or user name; default the first).
        #[arg(long)]
        account: Option<String>,
    },
    /// Show message N of a PC's mailbox: headers, body, attachments.
    #[command(after_help = "Examples:\n  \
                            labctl mail read mastertech mgmt-pc1 1")]
    Read {
        /// The running lab.
        lab: String,
        /// The PC whose mailbox to read.
        node: String,
        /// The message number `inbox` shows.
        number: u32,
        /// Which of the PC's accounts (address or user name; default the first).
        #[arg(long)]
        account: Option<String>,
    },
}

pub fn run(command: MailCommand) -> Result<ExitCode> {
    require_admin("mail")?;
    match command {
        MailCommand::Send {
            lab,
            node,
            to,
            subject,
            body,
            attach,
            account,
        } => {
            let ctx = LabContext::load(&lab)?;
            let account = account_of(&ctx, &node, account.as_deref())?;
            let attachments = attach
                .iter()
                .map(|path| {
                    read_attachment(path)
                        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))
                })
                .collect::<Result<Vec<_>>>()?;
            let letter = Letter {
                to: &to,
                subject: &subject,
                body: &body,
                attachments: &attachments,
                token: &new_token(),
            };
            match send(&ctx, &node, &account, &letter) {
                Ok(reply) => {
                    println!(
                        "sent from {} to {to} through {}: {}",
                        account.address,
                        account.outgoing,
                        line(&reply)
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(d) => Ok(failed(&d)),
            }
        }
        MailCommand::Inbox { lab, node, account } => {
            let ctx = LabContext::load(&lab)?;
            let account = account_of(&ctx, &node, account.as_deref())?;
            match with_mailbox(&ctx, &node, &account, None) {
                Ok(Fetched::List(list)) => {
                    print_inbox(&account, &list);
                    Ok(ExitCode::SUCCESS)
                }
                Ok(Fetched::Message(_)) => unreachable!("asked for the list"),
                Err(d) => Ok(failed(&d)),
            }
        }
        MailCommand::Read {
            lab,
            node,
            number,
            account,
        } => {
            let ctx = LabContext::load(&lab)?;
            let account = account_of(&ctx, &node, account.as_deref())?;
            if number == 0 {
                bail!("messages are numbered from 1 (see `labctl mail inbox {lab} {node}`)");
            }
            match with_mailbox(&ctx, &node, &account, Some(number)) {
                Ok(Fetched::Message(raw)) => {
                    print_message(&raw);
                    Ok(ExitCode::SUCCESS)
                }
                Ok(Fetched::List(_)) => unreachable!("asked for a message"),
                Err(d) => Ok(failed(&d)),
            }
        }
    }
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

/// Lists the mailbox, or reads message `number`, from inside `node`.
fn with_mailbox(
    ctx: &LabContext,
    node: &str,
    account: &MailAccount,
    number: Option<u32>,
) -> Result<Fetched, Diagnosis> {
    ctx.address_of(node)?;
    let server = ctx.resolve(node, &server_target(&account.incoming))?;
    let protocol = account.protocol.unwrap_or_default();
    let (user, password) = (account.user.clone(), account.password.clone());
    let fetched = ctx.in_node(node, move || async move {
        let mailbox = Mailbox {
            protocol,
            server: SocketAddrV4::new(server, mailbox::port(protocol)),
            user: &user,
            password: &password,
        };
        match number {
            None => mailbox::inbox(mailbox).await.map(Fetched::List),
            Some(n) => mailbox::read(mailbox, n).await.map(Fetched::Message),
        }
    })?;
    fetched.map_err(|e| {
        Diagnosis::new(
            "mailbox",
            format!(
                "{node} could not read its mailbox on {} over {}: {e}",
                account.incoming,
                mailbox::protocol_name(protocol)
            ),
            if e.stage == "login" {
                format!("is the password for {} right?", account.user)
            } else {
                String::new()
            },
        )
    })
}

fn failed(d: &Diagnosis) -> ExitCode {
    // The message quotes what the lab's servers said.
    eprintln!("error: {}", line(&d.message));
    if !d.hint.is_empty() {
        eprintln!("  look at: {}", line(&d.hint));
    }
    ExitCode::FAILURE
}

fn print_inbox(account: &MailAccount, list: &[Summary]) {
    println!(
        "{} on {} ({})",
        account.address,
        account.incoming,
        count(list.len(), "message")
    );
    if list.is_empty() {
        return;
    }
    // Everything in a summary is what the sender wrote.
    let rows: Vec<(u32, String, u64, String)> = list
        .iter()
        .map(|s| {
            let (from, subject) = (line(&s.from).into_owned(), line(&s.subject).into_owned());
            (s.number, from, s.size, subject)
        })
        .collect();
    let from_width = rows
        .iter()
        .map(|(_, from, _, _)| from.chars().count())
        .max()
        .unwrap_or(4)
        .clamp(4, 40);
    println!(
        "  {:>3}  {:<from_width$}  {:>7}  SUBJECT",
        "N", "FROM", "SIZE"
    );
    for (number, from, size, subject) in rows {
        let from: String = from.chars().take(from_width).collect();
        println!("  {number:>3}  {from:<from_width$}  {size:>7}  {subject}");
    }
}

fn print_message(raw: &[u8]) {
    let parsed = mime::parse(raw);
    for name in ["Date", "From", "To", "Cc", "Subject", "Message-ID"] {
        if let Some(value) = parsed.header(name) {
            println!("{name}: {}", line(&value));
        }
    }
    println!();
    let text = lines(&parsed.text);
    print!("{text}");
    if !text.ends_with('\n') {
        println!();
    }
    for a in &parsed.attachments {
        println!(
            "[attachment] {} ({}, {})",
            line(&a.name),
            line(&a.content_type),
            count(a.bytes.len(), "byte")
        );
    }
}
