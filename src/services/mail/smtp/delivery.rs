//! Where an accepted message goes: into the store for recipients at a local
//! domain, into the relay queue for the others. Both are durable before
//! this returns, so the 250 that follows is a promise kept across crashes.

use std::io;
use std::sync::Arc;

use super::command::Mailbox;
use super::queue::Queue;
use crate::services::mail::accounts::Accounts;
use crate::services::mail::store::Store;

pub struct Delivery {
    pub accounts: Arc<Accounts>,
    pub store: Store,
    pub queue: Queue,
}

impl Delivery {
    /// Delivers or queues `message` for every recipient (blocking: fsyncs).
    pub fn deliver(
        &self,
        id: &str,
        sender: Option<&Mailbox>,
        recipients: &[Mailbox],
        message: &[u8],
    ) -> io::Result<()> {
        let mut remote = Vec::new();
        for recipient in recipients {
            if self.accounts.is_local_domain(&recipient.domain) {
                let user = self.accounts.user(&recipient.local).ok_or_else(|| {
                    io::Error::new(io::ErrorKind::NotFound, format!("no user {recipient}"))
                })?;
                self.store.deliver(user, message)?;
            } else {
                remote.push(recipient.clone());
            }
        }
        if !remote.is_empty() {
            self.queue.enqueue(id, sender, &remote, message)?;
        }
        Ok(())
    }
}
