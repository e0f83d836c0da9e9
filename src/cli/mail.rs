//! `labctl mail send|inbox|read LAB NODE …`: use a PC's mail client by
//! hand, exactly as its settings say (its DNS, its servers, its login) —
//! what a student does in Packet Tracer's Email window (`ops::mail`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;

use crate::agent::mail::mailbox::Summary;
use crate::agent::mail::mime::Parsed;
use crate::checks::outcome::Diagnosis;
use crate::lab::model_agents::MailAccount;
use crate::ops::mail::{self, Message};
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
            let message = Message {
                to,
                subject,
                body,
                attach,
            };
            match mail::send_message(&lab, &node, account.as_deref(), &message)? {
                Ok(sent) => {
                    println!(
                        "sent from {} to {} through {}: {}",
                        sent.account.address,
                        message.to,
                        sent.account.outgoing,
                        line(&sent.reply)
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(d) => Ok(failed(&d)),
            }
        }
        MailCommand::Inbox { lab, node, account } => {
            match mail::inbox(&lab, &node, account.as_deref())? {
                Ok(inbox) => {
                    print_inbox(&inbox.account, &inbox.messages);
                    Ok(ExitCode::SUCCESS)
                }
                Err(d) => Ok(failed(&d)),
            }
        }
        MailCommand::Read {
            lab,
            node,
            number,
            account,
        } => match mail::read(&lab, &node, number, account.as_deref())? {
            Ok(message) => {
                print_message(&message);
                Ok(ExitCode::SUCCESS)
            }
            Err(d) => Ok(failed(&d)),
        },
    }
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

fn print_message(parsed: &Parsed) {
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
