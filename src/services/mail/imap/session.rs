//! One IMAP session's state machine (RFC 3501 §3): not authenticated →
//! authenticated → selected, login, and the commands on folders (the
//! selected mailbox's are in `selected`, LIST in `list`). Commands run
//! synchronously, on the blocking pool (the server's `off_runtime`), since
//! they do file I/O and may take long. Responses are built in a buffer and
//! handed out in pieces, so a FETCH of a large mailbox never sits in memory
//! whole. Socket I/O (reading AUTHENTICATE continuations, IDLE) is the
//! server's, and so is the TLS handshake after STARTTLS (RFC 3501
//! §6.2.1); the session decides whether STARTTLS is offered and whether
//! LOGIN is disabled until then (`tls: required`, RFC 2595 §3.2).

use std::io;
use std::sync::Arc;
use std::time::SystemTime;

use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use super::command::{Command, CommandBody, StatusItem};
use super::mailbox::Mailbox;
use super::response::{ALL_FLAGS, push_string};
use crate::services::mail::accounts::Accounts;
use crate::services::mail::dot_stuffing::with_crlf_line_ends;
use crate::services::mail::sasl::{self, SaslError};
use crate::services::mail::store::{Flag, Store};

/// What we claim to support besides login and TLS, before and after login.
const EXTENSIONS: &str = "LITERAL+ SASL-IR IDLE UIDPLUS MOVE UNSELECT NAMESPACE CHILDREN";

/// Where a session stands on TLS.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tls {
    /// STARTTLS is offered (the lab's `tls:` is not off).
    pub offered: bool,
    /// No login before TLS (`tls: required`).
    pub required: bool,
    /// The connection is encrypted (after STARTTLS, or on 993).
    pub encrypted: bool,
}

/// The hierarchy delimiter: Maildir++ folders are `.A.B` directories.
pub(super) const DELIMITER: char = '.';

/// Where a command hands full pieces of its responses while it runs: the
/// connection writes them out as they come (see `Session::send_piece`).
pub type Pieces = mpsc::Sender<Vec<u8>>;

/// What the server does after a command.
#[derive(Debug, PartialEq)]
pub enum Flow {
    Continue,
    Close,
    /// IDLE accepted: the server sends `+ idling` and waits for DONE.
    Idle {
        tag: String,
    },
    /// AUTHENTICATE PLAIN without an initial response: the server asks for it.
    AuthenticatePlain {
        tag: String,
    },
    /// STARTTLS accepted (its OK is buffered): the server does the handshake.
    StartTls,
}

pub struct Session {
    pub(super) store: Store,
    accounts: Arc<Accounts>,
    pub(super) user: Option<String>,
    pub(super) mailbox: Option<Mailbox>,
    auth_failures: u32,
    max_auth_failures: u32,
    pub(super) out: Vec<u8>,
    /// The last tagged response, for the dialogue log.
    last_status: String,
    pub tls: Tls,
}

impl Session {
    pub fn new(store: Store, accounts: Arc<Accounts>, max_auth_failures: u32) -> Session {
        Session {
            store,
            accounts,
            user: None,
            mailbox: None,
            auth_failures: 0,
            max_auth_failures,
            out: Vec::new(),
            last_status: String::new(),
            tls: Tls::default(),
        }
    }

    pub fn greeting(&self) -> String {
        format!(
            "* OK [CAPABILITY {}] labctl IMAP4rev1 ready\r\n",
            self.capabilities()
        )
    }

    /// What we claim to support now: STARTTLS until it is done, and
    /// LOGINDISABLED instead of AUTH=PLAIN while TLS is required and missing.
    pub fn capabilities(&self) -> String {
        let mut list = "IMAP4rev1".to_string();
        if self.tls.offered && !self.tls.encrypted && self.user.is_none() {
            list.push_str(" STARTTLS");
        }
        if self.login_disabled() {
            list.push_str(" LOGINDISABLED");
        } else {
            list.push_str(" AUTH=PLAIN");
        }
        format!("{list} {EXTENSIONS}")
    }

    fn login_disabled(&self) -> bool {
        self.tls.required && !self.tls.encrypted
    }

    /// Writes out what is buffered.
    pub async fn drain<W: AsyncWrite + Unpin>(&mut self, writer: &mut W) -> io::Result<()> {
        if !self.out.is_empty() {
            writer.write_all(&self.out).await?;
            self.out.clear();
        }
        Ok(())
    }

    pub(super) fn line(&mut self, text: &str) {
        self.out.extend_from_slice(text.as_bytes());
        self.out.extend_from_slice(b"\r\n");
    }

    pub(super) fn tagged(&mut self, tag: &str, text: &str) {
        self.last_status = format!("{tag} {text}");
        self.line(&format!("{tag} {text}"));
    }

    /// The last tagged response (and BYE, when the session ends).
    pub fn last_status(&self) -> &str {
        &self.last_status
    }

    /// Hands what is buffered to the connection's writer, waiting while it
    /// is behind (so the buffer stays near one piece). Only off the runtime.
    pub(super) fn send_piece(&mut self, pieces: &Pieces) -> io::Result<()> {
        pieces
            .blocking_send(std::mem::take(&mut self.out))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the connection is gone"))
    }

    /// Runs one parsed command (blocking: store I/O); full pieces of its
    /// responses go to `pieces`, the rest stays buffered for `drain`.
    pub fn handle(&mut self, command: Command, pieces: &Pieces) -> io::Result<Flow> {
        let Command { tag, body } = command;
        self.last_status.clear();
        self.dispatch(&tag, body, pieces)
    }

    fn dispatch(&mut self, tag: &str, body: CommandBody, pieces: &Pieces) -> io::Result<Flow> {
        use CommandBody as C;
        match body {
            C::Capability => {
                self.line(&format!("* CAPABILITY {}", self.capabilities()));
                self.tagged(tag, "OK CAPABILITY completed");
            }
            C::StartTls if !self.tls.offered => self.tagged(tag, "BAD STARTTLS not offered"),
            C::StartTls if self.tls.encrypted => self.tagged(tag, "BAD TLS already active"),
            C::StartTls if self.user.is_some() => {
                self.tagged(tag, "BAD STARTTLS is only allowed before login")
            }
            C::StartTls => {
                self.tagged(tag, "OK begin TLS negotiation now");
                return Ok(Flow::StartTls);
            }
            C::Noop => {
                self.sync(true);
                self.tagged(tag, "OK NOOP completed");
            }
            C::Logout => {
                self.line("* BYE logging out");
                self.tagged(tag, "OK LOGOUT completed");
                return Ok(Flow::Close);
            }
            C::Login { .. } | C::Authenticate { .. } if self.user.is_some() => {
                self.tagged(tag, "BAD already logged in");
            }
            C::Login { .. } | C::Authenticate { .. } if self.login_disabled() => self.tagged(
                tag,
                "NO [PRIVACYREQUIRED] LOGINDISABLED: send STARTTLS before logging in",
            ),
            C::Login { user, password } => return Ok(self.login(tag, &user, &password)),
            C::Authenticate { mechanism, initial } => {
                if mechanism != "PLAIN" {
                    self.tagged(tag, "NO [CANNOT] only AUTHENTICATE PLAIN is supported");
                } else if let Some(initial) = initial {
                    return Ok(self.authenticate_plain(tag, initial.as_bytes()));
                } else {
                    return Ok(Flow::AuthenticatePlain {
                        tag: tag.to_string(),
                    });
                }
            }
            _ if self.user.is_none() => {
                self.tagged(tag, "BAD log in first (LOGIN or AUTHENTICATE PLAIN)")
            }
            C::Namespace => {
                self.line("* NAMESPACE ((\"\" \".\")) NIL NIL");
                self.tagged(tag, "OK NAMESPACE completed");
            }
            C::Idle => {
                return Ok(Flow::Idle {
                    tag: tag.to_string(),
                });
            }
            C::Select { mailbox, read_only } => self.select(tag, mailbox, read_only),
            C::Create { mailbox } => {
                let name = mailbox.trim_end_matches(DELIMITER);
                let result = self.store.create_folder(self.user(), name);
                self.done(tag, result, "CREATE");
            }
            C::Delete { mailbox } => {
                if self.mailbox.as_ref().is_some_and(|m| m.folder == mailbox) {
                    self.mailbox = None;
                }
                let result = self.store.delete_folder(self.user(), &mailbox);
                self.done(tag, result, "DELETE");
            }
            C::Rename { from, to } => {
                let result = self.store.rename_folder(self.user(), &from, &to);
                // The selected folder (or one below the renamed one) moves
                // with it; a renamed INBOX stays selected and empties.
                if let Some(selected) = self.mailbox.as_mut()
                    && result.is_ok()
                    && from != "INBOX"
                {
                    if selected.folder == from {
                        selected.folder = to.clone();
                    } else if let Some(rest) =
                        selected.folder.strip_prefix(&format!("{from}{DELIMITER}"))
                    {
                        selected.folder = format!("{to}{DELIMITER}{rest}");
                    }
                }
                self.done(tag, result, "RENAME");
            }
            C::Subscribe { mailbox } | C::Unsubscribe { mailbox } => {
                // Every folder counts as subscribed: LSUB lists them all.
                match self.store.snapshot(self.user(), &mailbox) {
                    Ok(_) => self.tagged(tag, "OK completed (every folder is subscribed)"),
                    Err(e) => self.tagged(tag, &store_failure(&e)),
                }
            }
            C::List {
                reference,
                pattern,
                subscribed_only,
            } => self.list(tag, &reference, &pattern, subscribed_only),
            C::Status { mailbox, items } => self.status(tag, &mailbox, &items),
            C::Append {
                mailbox,
                flags,
                date,
                message,
            } => self.append(tag, &mailbox, &flags, date, message),
            _ if self.mailbox.is_none() => {
                self.tagged(tag, "BAD no mailbox selected (SELECT or EXAMINE first)")
            }
            C::Check => {
                self.sync(true);
                self.tagged(tag, "OK CHECK completed");
            }
            C::Close | C::Unselect => {
                let close = matches!(body, C::Close);
                if close {
                    self.expunge(None, false);
                }
                self.mailbox = None;
                self.tagged(tag, "OK completed");
            }
            C::Expunge { uids } => {
                if self.mailbox.as_ref().is_some_and(|m| m.read_only) {
                    self.tagged(tag, "NO [READ-ONLY] the mailbox was opened with EXAMINE");
                } else {
                    self.sync(true);
                    self.expunge(uids.as_ref(), true);
                    self.tagged(tag, "OK EXPUNGE completed");
                }
            }
            C::Search { key, uid } => self.search(tag, &key, uid),
            C::Fetch { set, items, uid } => self.fetch(tag, &set, items, uid, pieces)?,
            C::Store {
                set,
                mode,
                silent,
                flags,
                uid,
            } => self.store_flags(tag, &set, mode, silent, &flags, uid),
            C::Copy { set, mailbox, uid } => self.copy(tag, &set, &mailbox, uid, false),
            C::Move { set, mailbox, uid } => self.copy(tag, &set, &mailbox, uid, true),
        }
        Ok(Flow::Continue)
    }

    /// Whether LOGIN or AUTHENTICATE succeeded (and with it the larger
    /// literal budgets).
    pub fn logged_in(&self) -> bool {
        self.user.is_some()
    }

    pub(super) fn user(&self) -> &str {
        self.user.as_deref().unwrap_or_default()
    }

    fn done(&mut self, tag: &str, result: io::Result<()>, name: &str) {
        match result {
            Ok(()) => self.tagged(tag, &format!("OK {name} completed")),
            Err(e) => self.tagged(tag, &store_failure(&e)),
        }
    }

    fn login(&mut self, tag: &str, login: &str, password: &str) -> Flow {
        let account = self.accounts.user(login);
        match account {
            Some(user) if self.accounts.check(login, password) => {
                if let Err(e) = self.store.create_user(&user) {
                    self.tagged(
                        tag,
                        &format!("NO [UNAVAILABLE] cannot open the mailbox of {user}: {e}"),
                    );
                    return Flow::Continue;
                }
                self.user = Some(user);
                let capabilities = self.capabilities();
                self.tagged(tag, &format!("OK [CAPABILITY {capabilities}] logged in"));
                Flow::Continue
            }
            _ => {
                self.auth_failures += 1;
                self.tagged(tag, "NO [AUTHENTICATIONFAILED] wrong user name or password");
                if self.auth_failures >= self.max_auth_failures {
                    self.line("* BYE too many failed logins");
                    self.last_status
                        .push_str("\r\n* BYE too many failed logins");
                    return Flow::Close;
                }
                Flow::Continue
            }
        }
    }

    /// The SASL PLAIN response (RFC 4616, base64 of `authzid NUL user NUL
    /// password`); `*` cancels.
    pub fn authenticate_plain(&mut self, tag: &str, response: &[u8]) -> Flow {
        match sasl::plain(response.trim_ascii()) {
            Ok((user, password)) => self.login(tag, &user, &password),
            Err(SaslError::Cancelled) => {
                self.tagged(tag, "BAD AUTHENTICATE cancelled");
                Flow::Continue
            }
            Err(SaslError::Malformed) => {
                self.tagged(
                    tag,
                    "BAD the PLAIN response must be base64 of authzid NUL user NUL password",
                );
                Flow::Continue
            }
        }
    }

    /// The untagged updates of the selected mailbox (for NOOP and IDLE too).
    pub fn sync(&mut self, expunge_allowed: bool) {
        let Some(mailbox) = self.mailbox.as_mut() else {
            return;
        };
        let user = self.user.as_deref().unwrap_or_default();
        match self
            .store
            .snapshot_if_changed(user, &mailbox.folder, mailbox.version)
        {
            Ok(Some(snapshot)) => mailbox.sync(snapshot, expunge_allowed, &mut self.out),
            Ok(None) => {}
            Err(e) => self.out.extend_from_slice(
                format!("* NO [UNAVAILABLE] cannot read the mailbox: {e}\r\n").as_bytes(),
            ),
        }
    }

    fn select(&mut self, tag: &str, folder: String, read_only: bool) {
        self.mailbox = None;
        let snapshot = match self.store.snapshot(self.user(), &folder) {
            Ok(snapshot) => snapshot,
            Err(e) => return self.tagged(tag, &store_failure(&e)),
        };
        let mailbox = Mailbox::new(folder, read_only, snapshot);
        self.line(&format!("* FLAGS ({ALL_FLAGS})"));
        let permanent = if read_only { "" } else { ALL_FLAGS };
        self.line(&format!(
            "* OK [PERMANENTFLAGS ({permanent})] flags that stay"
        ));
        self.line(&format!("* {} EXISTS", mailbox.count()));
        self.line("* 0 RECENT");
        if let Some(first) = mailbox
            .messages
            .iter()
            .position(|m| !m.flags.contains(&Flag::Seen))
        {
            self.line(&format!("* OK [UNSEEN {}] first unseen message", first + 1));
        }
        self.line(&format!(
            "* OK [UIDVALIDITY {}] UIDs valid",
            mailbox.uid_validity
        ));
        self.line(&format!(
            "* OK [UIDNEXT {}] predicted next UID",
            mailbox.uid_next
        ));
        let mode = if read_only { "READ-ONLY" } else { "READ-WRITE" };
        let name = if read_only { "EXAMINE" } else { "SELECT" };
        self.tagged(tag, &format!("OK [{mode}] {name} completed"));
        self.mailbox = Some(mailbox);
    }

    fn status(&mut self, tag: &str, folder: &str, items: &[StatusItem]) {
        let snapshot = match self.store.snapshot(self.user(), folder) {
            Ok(snapshot) => snapshot,
            Err(e) => return self.tagged(tag, &store_failure(&e)),
        };
        let values: Vec<String> = items
            .iter()
            .map(|item| match item {
                StatusItem::Messages => format!("MESSAGES {}", snapshot.messages.len()),
                StatusItem::Recent => "RECENT 0".to_string(),
                StatusItem::UidNext => format!("UIDNEXT {}", snapshot.uid_next),
                StatusItem::UidValidity => format!("UIDVALIDITY {}", snapshot.uid_validity),
                StatusItem::Unseen => {
                    format!(
                        "UNSEEN {}",
                        snapshot
                            .messages
                            .iter()
                            .filter(|m| !m.flags.contains(&Flag::Seen))
                            .count()
                    )
                }
            })
            .collect();
        let mut line = b"* STATUS ".to_vec();
        push_string(&mut line, folder.as_bytes());
        line.extend_from_slice(format!(" ({})\r\n", values.join(" ")).as_bytes());
        self.out.extend_from_slice(&line);
        self.tagged(tag, "OK STATUS completed");
    }

    fn append(
        &mut self,
        tag: &str,
        folder: &str,
        flags: &[Flag],
        date: Option<SystemTime>,
        message: Vec<u8>,
    ) {
        // Owned, so a message already in CRLF form is never copied again.
        let message = with_crlf_line_ends(message);
        let date = date.unwrap_or_else(SystemTime::now);
        let appended = self
            .store
            .append(self.user(), folder, &message, flags, date)
            .and_then(|uid| Ok((uid, self.store.snapshot(self.user(), folder)?.uid_validity)));
        match appended {
            Ok((uid, validity)) => {
                self.sync(true);
                self.tagged(
                    tag,
                    &format!("OK [APPENDUID {validity} {uid}] APPEND completed"),
                );
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.tagged(tag, &format!("NO [TRYCREATE] no mailbox {folder}"));
            }
            Err(e) => self.tagged(tag, &store_failure(&e)),
        }
    }
}

/// A store error as a tagged NO with an RFC 5530 response code.
pub(super) fn store_failure(error: &io::Error) -> String {
    let code = match error.kind() {
        io::ErrorKind::NotFound => "NONEXISTENT",
        io::ErrorKind::AlreadyExists => "ALREADYEXISTS",
        io::ErrorKind::InvalidInput => "CANNOT",
        io::ErrorKind::QuotaExceeded => "LIMIT",
        _ => "UNAVAILABLE",
    };
    format!("NO [{code}] {error}")
}
