//! What the lab itself knows about its mail servers, so a mail check can
//! name the first broken link instead of waiting: the plan (each server's
//! domains and users, each node's services, each PC's mail settings) and
//! the daemon's record of what became of a message (`mail-fate`).

use std::net::Ipv4Addr;

use crate::checks::context::LabContext;
use crate::daemon::control::{self, Request};
use crate::daemon::services;
use crate::lab::diagnostic::did_you_mean;
use crate::lab::model_agents::MailAccount;
use crate::lab::plan::PlanNode;
use crate::lab::topology::MailPlan;
use crate::services::mail::accounts::Accounts;
use crate::services::mail::smtp::fates::Fate;
use crate::state::LabDir;

/// What is wrong with a PC's login at a mail server, judged from the plan.
#[derive(Debug, PartialEq, Eq)]
pub enum AccountProblem {
    /// The server has no user of that name; its users are listed.
    NoSuchUser { user: String, users: Vec<String> },
    /// The user exists, the password is another.
    WrongPassword { user: String },
    /// The login works, but it opens another user's mailbox than the
    /// PC's own address names.
    OtherUser { user: String, own: String },
}

/// The problem with `account`'s login at the mail server `mail`, if any.
pub fn account_problem(mail: &MailPlan, account: &MailAccount) -> Option<AccountProblem> {
    let accounts = accounts_of(mail);
    let Some(user) = accounts.user(&account.user) else {
        return Some(AccountProblem::NoSuchUser {
            user: account.user.clone(),
            users: accounts.users(),
        });
    };
    if !accounts.check(&account.user, &account.password) {
        return Some(AccountProblem::WrongPassword {
            user: user.to_string(),
        });
    }
    // Only an address at one of this server's domains names a mailbox here.
    let own = accounts.user(&account.address)?;
    (own != user).then(|| AccountProblem::OtherUser {
        user: user.to_string(),
        own: own.to_string(),
    })
}

/// The words for `problem` of `pc`'s settings at mail server `server`:
/// what is wrong, and what to change.
pub fn account_words(pc: &str, server: &str, problem: &AccountProblem) -> (String, String) {
    match problem {
        AccountProblem::NoSuchUser { user, users } => (
            format!(
                "user {user} does not exist on mail server {server} — its users are {}",
                if users.is_empty() {
                    "none".to_string()
                } else {
                    users.join(", ")
                }
            ),
            format!(
                "set `user:` in {pc}'s mail settings to one of them, or add {user} to {server}'s `mail: {{users: …}}`"
            ),
        ),
        AccountProblem::WrongPassword { user } => (
            format!("the password for {user} is wrong"),
            format!(
                "the password in {pc}'s mail settings for user {user} is not the one {server} has: use the one {server}'s `mail: {{users: …}}` gives {user}"
            ),
        ),
        AccountProblem::OtherUser { user, own } => (
            format!("{pc}'s settings log in as {user}, not as {own} (its own address)"),
            format!("set `user: {own}` and {own}'s password in {pc}'s mail settings"),
        ),
    }
}

/// The other PCs whose settings log in as `user` at mail server `server`
/// (each of them may hold that mailbox when `pc` wants it).
pub fn others_logging_in_as(
    ctx: &LabContext,
    pc: &str,
    server: &PlanNode,
    user: &str,
) -> Vec<String> {
    let Some(mail) = &server.mail else {
        return Vec::new();
    };
    let accounts = accounts_of(mail);
    ctx.plan
        .nodes
        .iter()
        .filter(|n| n.name != pc)
        .filter(|n| {
            n.agents.mail.iter().any(|a| {
                accounts
                    .user(&a.user)
                    .is_some_and(|u| u.eq_ignore_ascii_case(user))
            })
        })
        .map(|n| n.name.clone())
        .collect()
}

/// The server's accounts as its daemon checks them.
pub fn accounts_of(mail: &MailPlan) -> Accounts {
    Accounts::new(
        mail.domains.iter().map(String::as_str),
        mail.users
            .iter()
            .map(|u| (u.name.as_str(), u.password.as_str())),
    )
}

/// "192.168.1.3, which is web0 (it runs web, no mail server)": who owns an
/// address a mail setting or record leads to, and whether it runs mail
/// (SMTP on 25 and 587, POP3 on 110, IMAP on 143).
pub fn who_is(ctx: &LabContext, ip: Ipv4Addr) -> String {
    match ctx.owner_of(ip) {
        None => format!("{ip}, which no node of the lab has"),
        Some(node) if node.mail.is_some() => format!("{ip}, mail server {}", node.name),
        Some(node) => {
            let runs = services::summary(node);
            if runs.is_empty() {
                format!(
                    "{ip}, which is {}: it runs no mail server (no SMTP, POP3 or IMAP)",
                    node.name
                )
            } else {
                format!(
                    "{ip}, which is {}: it runs {runs}, but no mail server (no SMTP, POP3 or IMAP)",
                    node.name
                )
            }
        }
    }
}

/// Whether `ip` belongs to a node that runs a mail server.
pub fn runs_mail(ctx: &LabContext, ip: Ipv4Addr) -> bool {
    ctx.owner_of(ip).is_some_and(|n| n.mail.is_some())
}

/// The mail servers of the lab that serve `domain`, with their first
/// address: where a record for that domain's mail should point.
pub fn servers_of(ctx: &LabContext, domain: &str) -> Vec<(String, Option<Ipv4Addr>)> {
    ctx.plan
        .nodes
        .iter()
        .filter(|n| {
            n.mail
                .as_ref()
                .is_some_and(|m| m.domains.iter().any(|d| d.eq_ignore_ascii_case(domain)))
        })
        .map(|n| (n.name.clone(), n.static_addresses().next()))
        .collect()
}

/// "server0 serves cbrc.co, not cbrc.com" when `server` is a mail server
/// that does not serve `domain`.
pub fn not_served(server: &PlanNode, domain: &str) -> Option<String> {
    let mail = server.mail.as_ref()?;
    if mail.domains.iter().any(|d| d.eq_ignore_ascii_case(domain)) {
        return None;
    }
    let served = match did_you_mean(domain, mail.domains.iter().map(String::as_str)) {
        Some(close) => close.to_string(),
        None => mail.domains.join(", "),
    };
    Some(format!("{} serves {served}, not {domain}", server.name))
}

/// A name in the lab's zones close to `name` (a typo in a mail setting).
pub fn close_name(ctx: &LabContext, name: &str) -> Option<String> {
    let wanted = name.trim_end_matches('.');
    let names: Vec<String> = ctx
        .plan
        .nodes
        .iter()
        .filter_map(|n| n.dns_server.as_ref())
        .flat_map(|dns| dns.zones.iter())
        .flat_map(|zone| zone.records.iter())
        .map(|record| record.name.trim_end_matches('.').to_string())
        .filter(|n| !n.is_empty() && !n.eq_ignore_ascii_case(wanted))
        .collect();
    did_you_mean(wanted, names.iter().map(String::as_str)).map(str::to_string)
}

/// What the mail server of `node` did with its message `id`; None when
/// the daemon does not know (an older daemon, or a forgotten message).
pub fn fate(ctx: &LabContext, node: &str, id: &str) -> Option<Vec<Fate>> {
    let socket = LabDir::of(&ctx.lab).ok()?.socket_path();
    let request = Request::MailFate {
        node: node.to_string(),
        id: id.to_string(),
    };
    control::call(&socket, &request).ok()?.mail_fate
}

/// The queue id in a server's reply to a message (`250 2.0.0 Ok: queued as ID`).
pub fn queue_id(reply: &str) -> Option<&str> {
    let (_, id) = reply.split_once("queued as ")?;
    id.split_whitespace().next()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::topology::MailUser;

    fn server() -> MailPlan {
        MailPlan {
            domains: vec!["cbrc.com".into()],
            users: vec![
                MailUser {
                    name: "ada".into(),
                    password: "secret".into(),
                },
                MailUser {
                    name: "bob".into(),
                    password: "bob-secret".into(),
                },
            ],
            dkim: vec![],
            sender_checks: None,
            tls: Default::default(),
        }
    }

    fn account(address: &str, user: &str, password: &str) -> MailAccount {
        MailAccount {
            name: None,
            address: address.into(),
            incoming: "mail.cbrc.com".into(),
            protocol: None,
            outgoing: "mail.cbrc.com".into(),
            security: None,
            user: user.into(),
            password: password.into(),
        }
    }

    #[test]
    fn a_login_is_judged_user_first_then_password_then_mailbox() {
        let mail = server();
        assert_eq!(
            account_problem(&mail, &account("carol@cbrc.com", "carol", "x")),
            Some(AccountProblem::NoSuchUser {
                user: "carol".into(),
                users: vec!["ada".into(), "bob".into()]
            })
        );
        assert_eq!(
            account_problem(&mail, &account("bob@cbrc.com", "bob", "secret")),
            Some(AccountProblem::WrongPassword { user: "bob".into() })
        );
        assert_eq!(
            account_problem(&mail, &account("ada@cbrc.com", "bob", "bob-secret")),
            Some(AccountProblem::OtherUser {
                user: "bob".into(),
                own: "ada".into()
            })
        );
        assert_eq!(
            account_problem(&mail, &account("ada@cbrc.com", "ADA", "secret")),
            None
        );
        // An address at another server's domain names no mailbox here.
        assert_eq!(
            account_problem(&mail, &account("ada@mt.com", "bob", "bob-secret")),
            None
        );
        let (message, _) = account_words(
            "pc-ada",
            "server0",
            &AccountProblem::NoSuchUser {
                user: "bob".into(),
                users: vec!["ada".into(), "carol".into()],
            },
        );
        assert_eq!(
            message,
            "user bob does not exist on mail server server0 — its users are ada, carol"
        );
    }

    #[test]
    fn queue_ids_come_from_the_reply() {
        assert_eq!(
            queue_id("250 2.0.0 Ok: queued as 61A2F0B3C0001"),
            Some("61A2F0B3C0001")
        );
        assert_eq!(queue_id("250 2.0.0 Ok"), None);
    }
}
