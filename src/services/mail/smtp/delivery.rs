//! Where an accepted message goes: into the store for recipients at a local
//! domain, into the relay queue for the others. Both are durable before
//! this returns, so the 250 that follows is a promise kept across crashes.
//! Recipients that name the same mailbox (`bob@mt.com`, `BOB@MT.COM`) get
//! one copy: a mailbox is its local account, or a remote address with its
//! domain in lower case. Where each message went is recorded in `fates`.

use std::io;
use std::sync::Arc;

use super::command::Mailbox;
use super::fates::{Fate, Fates};
use super::queue::Queue;
use crate::services::mail::accounts::Accounts;
use crate::services::mail::store::Store;

pub struct Delivery {
    pub accounts: Arc<Accounts>,
    pub store: Store,
    pub queue: Queue,
    pub fates: Arc<Fates>,
}

/// The mailbox a recipient address stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// A local account, named as the accounts spell it (user names are
    /// case-insensitive).
    Local(String),
    /// A mailbox at another domain, domain in lower case; whether its local
    /// part is case-sensitive is for that domain's server to say.
    Remote(Mailbox),
}

/// Where mail for `recipient` goes; None for an unknown user at a local
/// domain.
pub fn destination(accounts: &Accounts, recipient: &Mailbox) -> Option<Destination> {
    if accounts.is_local_domain(&recipient.domain) {
        accounts
            .user(&recipient.local)
            .map(|user| Destination::Local(user.to_string()))
    } else {
        Some(Destination::Remote(recipient.with_lowercase_domain()))
    }
}

/// The folder quarantined mail goes to (created when first needed).
pub const JUNK: &str = "Junk";

impl Delivery {
    /// Stores `message` in the Junk folder of every local mailbox the
    /// recipients name (blocking: fsyncs). Only mail that arrived without
    /// login is quarantined, and such mail has local recipients only.
    pub fn quarantine(
        &self,
        id: &str,
        recipients: &[Mailbox],
        message: &[u8],
        reason: &str,
    ) -> io::Result<()> {
        let mut users: Vec<String> = Vec::new();
        for recipient in recipients {
            match destination(&self.accounts, recipient) {
                Some(Destination::Local(user)) if !users.contains(&user) => users.push(user),
                Some(Destination::Local(_)) => {}
                _ => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("{recipient} is not a local mailbox"),
                    ));
                }
            }
        }
        for user in users {
            match self.store.create_folder(&user, JUNK) {
                Err(e) if e.kind() != io::ErrorKind::AlreadyExists => return Err(e),
                _ => {}
            }
            self.store
                .append(&user, JUNK, message, &[], std::time::SystemTime::now())?;
            self.fates.record(
                id,
                Fate::Quarantined {
                    mailbox: user,
                    reason: reason.to_string(),
                },
            );
        }
        Ok(())
    }

    /// Delivers or queues `message` once for every mailbox the recipients
    /// name (blocking: fsyncs).
    pub fn deliver(
        &self,
        id: &str,
        sender: Option<&Mailbox>,
        recipients: &[Mailbox],
        message: &[u8],
    ) -> io::Result<()> {
        let mut destinations = Vec::new();
        for recipient in recipients {
            let destination = destination(&self.accounts, recipient).ok_or_else(|| {
                io::Error::new(io::ErrorKind::NotFound, format!("no user {recipient}"))
            })?;
            if !destinations.contains(&destination) {
                destinations.push(destination);
            }
        }
        let mut remote = Vec::new();
        for destination in destinations {
            match destination {
                Destination::Local(user) => {
                    self.store.deliver(&user, message)?;
                    self.fates.record(id, Fate::Delivered { mailbox: user });
                }
                Destination::Remote(mailbox) => remote.push(mailbox),
            }
        }
        if !remote.is_empty() {
            // Recorded first: the relay, woken by the enqueue, records what
            // comes next.
            for recipient in &remote {
                let recipient = recipient.to_string();
                self.fates.record(id, Fate::Queued { recipient });
            }
            self.queue.enqueue(id, sender, &remote, message)?;
        }
        Ok(())
    }
}
