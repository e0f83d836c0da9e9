//! The stop signal every service watches. The daemon holds the one
//! `ShutdownTrigger` and gives each service a `Shutdown`; a service's
//! serve function returns once the signal fires (or the trigger is gone)
//! and it has finished what it owes: the accept loop waits, bounded, for
//! its open sessions (`listener::serve`), so waiting for every service's
//! task is waiting for the whole drain.

use tokio::sync::watch;

/// Fires the shutdown of every `Shutdown` made from it.
pub struct ShutdownTrigger {
    sender: watch::Sender<bool>,
}

/// One service's view of the stop signal; cheap to clone, one per task.
#[derive(Clone, Debug)]
pub struct Shutdown {
    receiver: watch::Receiver<bool>,
}

impl ShutdownTrigger {
    /// A trigger, not yet fired.
    pub fn new() -> ShutdownTrigger {
        ShutdownTrigger {
            sender: watch::channel(false).0,
        }
    }

    /// A signal that fires with this trigger (at once if it already has).
    pub fn subscribe(&self) -> Shutdown {
        Shutdown {
            receiver: self.sender.subscribe(),
        }
    }

    /// Tells every service to stop.
    pub fn fire(&self) {
        self.sender.send_replace(true);
    }
}

impl Default for ShutdownTrigger {
    fn default() -> Self {
        ShutdownTrigger::new()
    }
}

impl Shutdown {
    /// Whether the signal has fired (a dropped trigger counts as fired).
    pub fn is_fired(&self) -> bool {
        *self.receiver.borrow() || self.receiver.has_changed().is_err()
    }

    /// Returns once the signal has fired or its trigger is gone; at once
    /// if that happened already. Cancel-safe, so it can sit in a `select!`.
    pub async fn fired(&mut self) {
        let _ = self.receiver.wait_for(|fired| *fired).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn fires_for_every_subscriber_even_late_ones() {
        let trigger = ShutdownTrigger::new();
        let mut early = trigger.subscribe();
        assert!(!early.is_fired());
        let waiting = tokio::spawn(async move { early.fired().await });
        trigger.fire();
        tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("fired in time")
            .unwrap();
        let mut late = trigger.subscribe();
        assert!(late.is_fired());
        tokio::time::timeout(Duration::from_secs(5), late.fired())
            .await
            .expect("a late subscriber sees the signal at once");
    }

    #[tokio::test]
    async fn a_dropped_trigger_counts_as_fired() {
        let trigger = ShutdownTrigger::new();
        let mut shutdown = trigger.subscribe();
        drop(trigger);
        assert!(shutdown.is_fired());
        tokio::time::timeout(Duration::from_secs(5), shutdown.fired())
            .await
            .expect("returns once the trigger is gone");
    }
}
