//! What became of the messages a mail server accepted lately, by queue id
//! (the id of its `250 Ok: queued as ID`): stored in a local mailbox,
//! queued, handed on, deferred, or refused for good and returned to the
//! sender in a bounce (or lost, when the refused message was a bounce
//! itself). Kept in memory for the last `KEPT` messages, so a check can
//! ask the daemon why a message did not arrive instead of waiting for it.

use std::collections::VecDeque;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// Messages remembered; older ones are forgotten first.
const KEPT: usize = 512;
/// Events remembered per message (a message retried for an hour would
/// otherwise grow without bound).
const EVENTS_PER_MESSAGE: usize = 16;

/// One thing that happened to a message at this server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "fate", rename_all = "lowercase")]
pub enum Fate {
    /// Stored in the mailbox of the local user `mailbox`.
    Delivered { mailbox: String },
    /// Stored in the Junk folder of the local user `mailbox`: the sender
    /// checks found it failed its domain's DMARC policy (`reason`).
    Quarantined { mailbox: String, reason: String },
    /// Put in the relay queue for `recipient` at another domain.
    Queued { recipient: String },
    /// Handed to `server`, which answered `reply` to the message.
    Relayed {
        recipient: String,
        server: String,
        reply: String,
    },
    /// An attempt failed for now; the relay tries again later.
    Deferred { recipient: String, error: String },
    /// Refused for good. Returned to the sender in the message `bounce`
    /// (this server's queue id); None when no bounce could be sent (the
    /// message was a bounce itself, with no sender to return it to).
    Bounced {
        recipient: String,
        reason: String,
        bounce: Option<String>,
    },
}

/// The fates of a server's recent messages (shared by its SMTP sessions,
/// its relay and the daemon's control socket).
#[derive(Default)]
pub struct Fates {
    messages: Mutex<VecDeque<(String, Vec<Fate>)>>,
}

impl Fates {
    pub fn record(&self, id: &str, fate: Fate) {
        let mut messages = self.messages.lock().expect("fates lock");
        match messages.iter_mut().find(|(known, _)| known == id) {
            Some((_, events)) => {
                if events.len() >= EVENTS_PER_MESSAGE {
                    // Keep the first event (where it went) and the latest ones.
                    events.remove(1);
                }
                events.push(fate);
            }
            None => {
                if messages.len() >= KEPT {
                    messages.pop_front();
                }
                messages.push_back((id.to_string(), vec![fate]));
            }
        }
    }

    /// Everything recorded for message `id`, oldest first; None when this
    /// server has no such message (never accepted, or forgotten).
    pub fn of(&self, id: &str) -> Option<Vec<Fate>> {
        self.messages
            .lock()
            .expect("fates lock")
            .iter()
            .find(|(known, _)| known == id)
            .map(|(_, events)| events.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deferred(n: usize) -> Fate {
        Fate::Deferred {
            recipient: "bob@b.org".into(),
            error: format!("attempt {n}"),
        }
    }

    #[test]
    fn events_are_kept_by_message_and_bounded() {
        let fates = Fates::default();
        fates.record(
            "A",
            Fate::Queued {
                recipient: "bob@b.org".into(),
            },
        );
        for n in 0..40 {
            fates.record("A", deferred(n));
        }
        let events = fates.of("A").unwrap();
        assert_eq!(events.len(), EVENTS_PER_MESSAGE);
        assert!(matches!(events[0], Fate::Queued { .. }), "{events:?}");
        assert_eq!(events.last(), Some(&deferred(39)));
        assert_eq!(fates.of("B"), None);
    }

    #[test]
    fn the_oldest_messages_are_forgotten_first() {
        let fates = Fates::default();
        for n in 0..=KEPT {
            fates.record(
                &n.to_string(),
                Fate::Delivered {
                    mailbox: "ada".into(),
                },
            );
        }
        assert_eq!(fates.of("0"), None);
        assert!(fates.of("1").is_some());
        assert!(fates.of(&KEPT.to_string()).is_some());
    }

    #[test]
    fn fates_read_back_as_json() {
        let fate = Fate::Bounced {
            recipient: "ada@cbrc.com".into(),
            reason: "554 5.4.6 mail for cbrc.com loops back to myself".into(),
            bounce: None,
        };
        let text = serde_json::to_string(&fate).unwrap();
        assert!(text.contains("\"fate\":\"bounced\""), "{text}");
        assert_eq!(serde_json::from_str::<Fate>(&text).unwrap(), fate);
    }
}
