//! A PC's mailbox as the checks open it: one session at a time per mailbox.
//!
//! Checks run concurrently, and several may read the same mailbox (Bob's,
//! when "Ada emails Bob" and "Bob emails himself" both read it on pc-bob;
//! Ada's, when one check looks for a bounce while another waits for a
//! message to her). A POP3 server lets one session hold a maildrop
//! (RFC 1939's lock) and refuses the next with `-ERR [IN-USE]`, which a
//! check would report as the student's fault. So every session a check
//! opens takes the mailbox's turn first: a lock per mailbox — the lab, the
//! server node (or address) and the user — held for exactly one session.
//! Checks that read different mailboxes never wait for each other.
//!
//! A short retry on `[IN-USE]` stays as a defence against a client outside
//! labctl's control (a student's own, or `labctl mail` in another shell);
//! it is not what keeps labctl's own checks apart.

use std::collections::HashMap;
use std::net::SocketAddrV4;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::Duration;

use super::mail::mailbox_of;
use crate::agent::mail::mailbox::{FetchError, Mailbox};
use crate::checks::context::LabContext;
use crate::checks::outcome::Step;
use crate::lab::model_agents::MailAccount;

/// How often, and how far apart, a login refused with `[IN-USE]` is tried
/// again (about 2 s in all): room for someone else's client to finish.
const IN_USE_TRIES: u32 = 8;
const IN_USE_PAUSE: Duration = Duration::from_millis(250);

/// Whose mailbox: the lab, the server holding it, the user (in lower case:
/// servers take user names in any case).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct MailboxKey {
    lab: String,
    server: String,
    user: String,
}

/// One lock per mailbox in use; an entry goes when its last user is done.
static TURNS: LazyLock<Mutex<HashMap<MailboxKey, Arc<Mutex<()>>>>> = LazyLock::new(Mutex::default);

/// Runs `work` in one session of `account`'s mailbox, read from `node` as
/// its mail client would (the incoming server resolved through `node`'s
/// DNS), while no other check of this process has that mailbox open.
/// The outer `Step` fails when the mailbox cannot even be found (lease,
/// DNS); the inner result is the session's.
pub fn with_mailbox<T, F>(
    ctx: &LabContext,
    node: &str,
    account: &MailAccount,
    work: F,
) -> Step<Result<T, FetchError>>
where
    T: Send + 'static,
    F: AsyncFn(Mailbox<'_>) -> Result<T, FetchError> + Send + 'static,
{
    let (ip, port, security) = mailbox_of(ctx, node, account)?;
    let key = MailboxKey {
        lab: ctx.lab.clone(),
        server: ctx
            .owner_of(ip)
            .map_or_else(|| ip.to_string(), |owner| owner.name.clone()),
        user: account.user.to_lowercase(),
    };
    let protocol = account.protocol.unwrap_or_default();
    let (user, password) = (account.user.clone(), account.password.clone());
    let turn = take_turn(&key);
    let result = {
        let _held = turn.lock().unwrap_or_else(PoisonError::into_inner);
        ctx.in_node(node, move || async move {
            let mailbox = Mailbox {
                protocol,
                server: SocketAddrV4::new(ip, port),
                user: &user,
                password: &password,
                security: &security,
            };
            let mut tries = 1;
            loop {
                match work(mailbox).await {
                    Err(e) if e.in_use() && tries < IN_USE_TRIES => {
                        tries += 1;
                        tokio::time::sleep(IN_USE_PAUSE).await;
                    }
                    done => return done,
                }
            }
        })
    };
    give_back(&key, turn);
    result
}

fn take_turn(key: &MailboxKey) -> Arc<Mutex<()>> {
    TURNS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .entry(key.clone())
        .or_default()
        .clone()
}

/// Drops the mailbox's lock from the table when no one else holds or
/// waits for it.
fn give_back(key: &MailboxKey, turn: Arc<Mutex<()>>) {
    let mut turns = TURNS.lock().unwrap_or_else(PoisonError::into_inner);
    // Two references: the table's and `turn`.
    if Arc::strong_count(&turn) == 2 {
        turns.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(user: &str) -> MailboxKey {
        MailboxKey {
            lab: "lab".into(),
            server: "server0".into(),
            user: user.into(),
        }
    }

    #[test]
    fn the_table_keeps_a_lock_only_while_it_is_used() {
        let (ada, bob) = (key("ada-table-test"), key("bob-table-test"));
        let first = take_turn(&ada);
        let second = take_turn(&ada);
        assert!(Arc::ptr_eq(&first, &second), "one lock per mailbox");
        assert!(!Arc::ptr_eq(&first, &take_turn(&bob)));
        give_back(&bob, take_turn(&bob));
        give_back(&ada, first);
        assert!(TURNS.lock().unwrap().contains_key(&ada), "still waited for");
        give_back(&ada, second);
        let turns = TURNS.lock().unwrap();
        assert!(!turns.contains_key(&ada) && !turns.contains_key(&bob));
    }

    #[test]
    fn only_a_refused_login_with_in_use_is_tried_again() {
        let busy = FetchError::refused(
            "login",
            "-ERR [IN-USE] the maildrop is already in use".into(),
        );
        assert!(busy.in_use());
        let wrong =
            FetchError::refused("login", "-ERR [AUTH] invalid user name or password".into());
        assert!(!wrong.in_use());
        assert!(!FetchError::new("connect", "[IN-USE]".into()).in_use());
    }

    #[test]
    fn a_mailbox_held_by_another_client_does_not_blame_the_password() {
        let account = MailAccount {
            name: None,
            address: "bob@cbrc.com".into(),
            incoming: "mail.cbrc.com".into(),
            protocol: None,
            outgoing: "mail.cbrc.com".into(),
            security: None,
            user: "bob".into(),
            password: "secret".into(),
        };
        let busy = FetchError::refused(
            "login",
            "-ERR [IN-USE] the maildrop is already in use".into(),
        );
        let d = super::super::mail::fetch_diagnosis("pc-bob", &account, &busy);
        assert!(
            d.hint
                .starts_with("another mail client kept bob's mailbox open"),
            "{d}"
        );
        let wrong =
            FetchError::refused("login", "-ERR [AUTH] invalid user name or password".into());
        let d = super::super::mail::fetch_diagnosis("pc-bob", &account, &wrong);
        assert!(d.hint.contains("password"), "{d}");
    }
}
