//! Asking a running verb to stop. Whoever owns the reason to stop — the
//! CLI, which owns the process's signals, or a page's stop button — calls
//! `cancel`; `up` and `test` notice at their next await point and roll
//! back or tear down, so nothing is left half-built.

use std::sync::Arc;

use tokio::sync::watch;

/// A shared "stop now" with its reason; clones see the same flag. Works
/// across threads and runtimes (a tokio `watch` needs no runtime of its own).
#[derive(Clone)]
pub struct Cancel {
    reason: Arc<watch::Sender<Option<&'static str>>>,
}

impl Default for Cancel {
    fn default() -> Self {
        Self::new()
    }
}

impl Cancel {
    pub fn new() -> Cancel {
        Cancel {
            reason: Arc::new(watch::channel(None).0),
        }
    }

    /// Asks the verb to stop; `why` ("interrupted") becomes its error. The
    /// first reason given is kept.
    pub fn cancel(&self, why: &'static str) {
        self.reason.send_if_modified(|reason| {
            let first = reason.is_none();
            if first {
                *reason = Some(why);
            }
            first
        });
    }

    /// Why the verb was asked to stop, if it was.
    pub fn reason(&self) -> Option<&'static str> {
        *self.reason.borrow()
    }

    /// Resolves once the verb is asked to stop, with the reason.
    pub async fn cancelled(&self) -> &'static str {
        let mut changes = self.reason.subscribe();
        match changes.wait_for(Option::is_some).await {
            Ok(reason) => reason.unwrap_or("cancelled"),
            // The sender lives as long as `self`: never closed here.
            Err(_) => std::future::pending().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cancel_reaches_a_waiter_on_another_thread_and_keeps_its_first_reason() {
        let cancel = Cancel::new();
        assert_eq!(cancel.reason(), None);
        let waiter = cancel.clone();
        let waiting = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(waiter.cancelled())
        });
        std::thread::sleep(std::time::Duration::from_millis(20));
        cancel.cancel("interrupted");
        cancel.cancel("terminated");
        assert_eq!(waiting.join().unwrap(), "interrupted");
        assert_eq!(cancel.reason(), Some("interrupted"));
    }
}
