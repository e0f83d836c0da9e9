//! `labctl apply` inside the daemon: a running mail server's users and
//! domains replaced in place. New users get their mailbox; removed users'
//! mailboxes stay on disk (a user put back finds their mail); open
//! sessions go on, and the next login sees the change.

use std::path::Path;

use anyhow::{Context, Result, bail};

use super::mail::mail_dir;
use super::state::Shared;
use crate::lab::topology::MailPlan;
use crate::services::mail::store::Store;

pub fn mail_users(state_dir: &Path, shared: &Shared, node: &str, mail: &MailPlan) -> Result<()> {
    let Some(accounts) = shared
        .mail_accounts
        .lock()
        .expect("lock")
        .get(node)
        .cloned()
    else {
        bail!("{node} runs no mail server (or it is stopped: `labctl service` starts it)");
    };
    let dir = mail_dir(state_dir, node);
    let store = Store::open(&dir.join("maildirs"))
        .with_context(|| format!("cannot open the mail store in {}", dir.display()))?;
    for user in &mail.users {
        store
            .create_user(&user.name.to_ascii_lowercase())
            .with_context(|| format!("cannot create the mailbox of {}", user.name))?;
    }
    accounts.replace(
        mail.domains.iter().map(String::as_str),
        mail.users
            .iter()
            .map(|u| (u.name.as_str(), u.password.as_str())),
    );
    if let Some(switchable) = shared.switchable.get() {
        switchable.update_mail(node, mail.clone());
    }
    tracing::info!("{node}: mail users replaced (labctl apply)");
    Ok(())
}
