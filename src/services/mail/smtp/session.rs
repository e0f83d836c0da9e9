//! One SMTP session (RFC 5321) from greeting to QUIT: the state machine,
//! ESMTP (PIPELINING, SIZE, 8BITMIME, ENHANCEDSTATUSCODES, AUTH PLAIN and
//! LOGIN), local delivery into the store and relay through the queue for
//! authenticated senders only. Recipients naming a mailbox already named
//! get 250 but are recorded once. Replies are flushed when the client has
//! nothing more in flight, which is what PIPELINING needs. STARTTLS (RFC
//! 3207) when the lab offers TLS: commands pipelined after it are dropped
//! before the handshake, and the session starts over after it; with `tls:
//! required` neither AUTH nor MAIL is taken before it.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use tokio::io::{AsyncWriteExt, BufWriter};
use tokio::time::timeout;

use super::command::{self, Command, Mailbox, ParseError};
use super::config::SmtpConfig;
use super::data::{Data, read_data};
use super::delivery::{Destination, destination};
use super::sender_auth::Action;
use crate::services::mail::date::rfc5322;
use crate::services::mail::lines::{Line, read_line};
use crate::services::mail::sasl::{self, SaslError};
use crate::services::mail::transcript::SessionLog;
use crate::services::tls::transport::{self, Reader, WriteHalf};

/// The longest command line we read (RFC 5321 asks for 512; the cap leaves
/// room for long parameters and AUTH responses).
const MAX_LINE: usize = 2000;
/// Bad commands before the server closes the session.
const MAX_ERRORS: u32 = 10;
/// Failed AUTH attempts before the server closes the session.
const MAX_AUTH_FAILURES: u32 = 3;

enum Flow {
    Continue,
    Close,
}

pub struct Session<'a> {
    config: &'a SmtpConfig,
    log: SessionLog,
    peer: SocketAddr,
    reader: Reader,
    writer: BufWriter<WriteHalf>,
    /// Whether the connection is encrypted (after STARTTLS, or on 465).
    encrypted: bool,
    /// The HELO/EHLO name, and whether it was EHLO.
    greeting: Option<(String, bool)>,
    user: Option<String>,
    /// `Some(None)` is MAIL FROM:<>.
    sender: Option<Option<Mailbox>>,
    recipients: Vec<Mailbox>,
    /// The mailbox each recipient stands for, resolved once at RCPT.
    named: Vec<Destination>,
    /// Whether a MAIL was accepted: from then on the client is a real
    /// sender and gets the RFC's timeout, not the short one before login.
    mailed: bool,
    errors: u32,
    auth_failures: u32,
}

impl<'a> Session<'a> {
    pub fn new(
        config: &'a SmtpConfig,
        log: SessionLog,
        peer: SocketAddr,
        reader: Reader,
        writer: BufWriter<WriteHalf>,
    ) -> Self {
        let encrypted = transport::is_encrypted(reader.get_ref());
        Session {
            config,
            log,
            peer,
            reader,
            writer,
            encrypted,
            greeting: None,
            user: None,
            sender: None,
            recipients: Vec::new(),
            named: Vec::new(),
            mailed: false,
            errors: 0,
            auth_failures: 0,
        }
    }

    pub async fn run(mut self) -> io::Result<()> {
        if let Some(tls) = transport::describe(self.reader.get_ref()) {
            self.log.note(&format!("encrypted from the start ({tls})"));
        }
        let banner = format!("220 {} ESMTP labctl", self.config.hostname);
        self.reply(&banner).await?;
        loop {
            let line = match self.next_line().await? {
                Some(line) => line,
                None => break,
            };
            let flow = match line {
                Line::Closed => break,
                Line::TooLong => {
                    self.log.client(b"<line too long>");
                    self.error("500 5.5.2 Line too long").await?
                }
                Line::Complete(line) => {
                    self.log.client(&line);
                    self.command(&line).await?
                }
            };
            if let Flow::Close = flow {
                break;
            }
        }
        self.writer.flush().await?;
        self.log.note(if self.encrypted {
            "connection closed (encrypted)"
        } else {
            "connection closed (not encrypted)"
        });
        Ok(())
    }

    /// `tls: required` and still in plain text: AUTH and MAIL wait.
    fn tls_missing(&self) -> bool {
        !self.encrypted && self.config.tls.as_ref().is_some_and(|tls| tls.required)
    }

    async fn start_tls(&mut self) -> io::Result<Flow> {
        let Some(tls) = self.config.tls.clone() else {
            return self.error("502 5.5.1 STARTTLS not offered").await;
        };
        if self.encrypted {
            return self.error("503 5.5.1 TLS already active").await;
        }
        self.reply("220 2.0.0 Ready to start TLS").await?;
        let allowed = self.silence_allowed();
        let switch = transport::start_server_tls(&mut self.reader, &mut self.writer, &tls.acceptor);
        let discarded = match timeout(allowed, switch).await {
            Ok(Ok(discarded)) => discarded,
            Ok(Err(e)) => {
                self.log.note(&format!("TLS handshake failed: {e}"));
                return Ok(Flow::Close);
            }
            Err(_) => {
                self.log.note("TLS handshake failed: no handshake in time");
                return Ok(Flow::Close);
            }
        };
        if discarded > 0 {
            self.log.note(&format!(
                "discarded {} sent after STARTTLS in plain text (command injection)",
                crate::plural::count(discarded, "byte")
            ));
        }
        self.encrypted = true;
        let tls = transport::describe(self.reader.get_ref()).unwrap_or_default();
        self.log.note(&format!("encrypted ({tls})"));
        // RFC 3207 §4.2: the client starts over with EHLO; nothing said in
        // plain text carries over.
        self.reset();
        self.greeting = None;
        self.user = None;
        Ok(Flow::Continue)
    }

    /// The next line, flushing replies first when the client has nothing
    /// more in flight; None after an idle timeout (the client was told).
    async fn next_line(&mut self) -> io::Result<Option<Line>> {
        if self.reader.buffer().is_empty() {
            self.writer.flush().await?;
        }
        match timeout(
            self.silence_allowed(),
            read_line(&mut self.reader, MAX_LINE),
        )
        .await
        {
            Ok(line) => line.map(Some),
            Err(_) => {
                self.reply("421 4.4.2 Timeout: closing the connection")
                    .await?;
                Ok(None)
            }
        }
    }

    /// How long the client may stay silent now: short until its first
    /// AUTH or MAIL, the RFC's 5 minutes after.
    fn silence_allowed(&self) -> Duration {
        if self.user.is_some() || self.mailed {
            self.config.idle_timeout
        } else {
            self.config.login_timeout.min(self.config.idle_timeout)
        }
    }

    async fn command(&mut self, line: &[u8]) -> io::Result<Flow> {
        let command = match command::parse(line) {
            Ok(command) => command,
            Err(ParseError::Unknown) => {
                return self.error("500 5.5.1 Command unrecognized").await;
            }
            Err(ParseError::Syntax(why)) => {
                return self.error(&format!("501 5.5.4 Syntax error: {why}")).await;
            }
            Err(ParseError::BadAddress(why)) => {
                return self
                    .error(&format!("501 5.1.3 Bad address syntax: {why}"))
                    .await;
            }
            Err(ParseError::UnknownParameter(param)) => {
                return self
                    .error(&format!("555 5.5.4 Unsupported parameter {param}"))
                    .await;
            }
        };
        match command {
            Command::Ehlo(name) => self.hello(name, true).await,
            Command::Helo(name) => self.hello(name, false).await,
            Command::Mail(sender, params) => {
                if self.greeting.is_none() {
                    return self.error("503 5.5.1 Send HELO or EHLO first").await;
                }
                if self.sender.is_some() {
                    return self.error("503 5.5.1 Nested MAIL command").await;
                }
                if self.tls_missing() {
                    return self
                        .error("530 5.7.0 Must issue a STARTTLS command first")
                        .await;
                }
                if self.config.submission && self.user.is_none() {
                    return self.error("530 5.7.0 Authentication required").await;
                }
                if params
                    .size
                    .is_some_and(|s| s > self.config.max_message_size as u64)
                {
                    return self
                        .reply_continue("552 5.3.4 Message size exceeds fixed maximum message size")
                        .await;
                }
                self.sender = Some(sender);
                self.mailed = true;
                self.reply_continue("250 2.1.0 Ok").await
            }
            Command::Rcpt(recipient) => self.recipient(recipient).await,
            Command::Data => self.data().await,
            Command::Rset => {
                self.reset();
                self.reply_continue("250 2.0.0 Ok").await
            }
            Command::Noop => self.reply_continue("250 2.0.0 Ok").await,
            Command::Vrfy => {
                self.reply_continue(
                    "252 2.0.0 Cannot VRFY user, but will accept message and attempt delivery",
                )
                .await
            }
            Command::Help => {
                self.reply_continue(
                    "214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA RSET NOOP VRFY HELP AUTH QUIT",
                )
                .await
            }
            Command::Quit => {
                self.reply("221 2.0.0 Bye").await?;
                Ok(Flow::Close)
            }
            Command::StartTls => self.start_tls().await,
            Command::Auth { mechanism, initial } => self.auth(&mechanism, initial).await,
        }
    }

    async fn hello(&mut self, name: String, extended: bool) -> io::Result<Flow> {
        self.reset();
        let host = &self.config.hostname;
        let reply = if extended {
            let starttls = if self.config.tls.is_some() && !self.encrypted {
                "250-STARTTLS\r\n"
            } else {
                ""
            };
            // Postfix's smtpd_tls_auth_only: no AUTH offered before TLS
            // when TLS is required.
            let auth = if self.tls_missing() {
                ""
            } else {
                "250-AUTH PLAIN LOGIN\r\n"
            };
            format!(
                "250-{host} greets {name}\r\n250-PIPELINING\r\n250-SIZE {}\r\n250-8BITMIME\r\n\
                 250-ENHANCEDSTATUSCODES\r\n{starttls}{auth}250 HELP",
                self.config.max_message_size
            )
        } else {
            format!("250 {host} greets {name}")
        };
        self.greeting = Some((name, extended));
        self.reply_continue(&reply).await
    }

    async fn recipient(&mut self, recipient: Mailbox) -> io::Result<Flow> {
        if self.sender.is_none() {
            return self.error("503 5.5.1 Need MAIL command").await;
        }
        let accounts = &self.config.accounts;
        let Some(mailbox) = destination(accounts, &recipient) else {
            let reply =
                format!("550 5.1.1 <{recipient}>: Recipient address rejected: User unknown");
            return self.reply_continue(&reply).await;
        };
        if matches!(mailbox, Destination::Remote(_)) && self.user.is_none() {
            let reply = format!("554 5.7.1 <{recipient}>: Relay access denied");
            return self.reply_continue(&reply).await;
        }
        // Another address of a mailbox already named (`BOB@mt.com` after
        // `bob@MT.COM`) is accepted but recorded once: one copy per mailbox.
        if !self.named.contains(&mailbox) {
            if self.recipients.len() >= self.config.max_recipients {
                return self.reply_continue("452 4.5.3 Too many recipients").await;
            }
            self.recipients.push(recipient);
            self.named.push(mailbox);
        }
        self.reply_continue("250 2.1.5 Ok").await
    }

    async fn data(&mut self) -> io::Result<Flow> {
        if self.sender.is_none() {
            return self.error("503 5.5.1 Need MAIL command").await;
        }
        if self.recipients.is_empty() {
            return self.error("503 5.5.1 Need RCPT command").await;
        }
        self.reply("354 End data with <CR><LF>.<CR><LF>").await?;
        self.writer.flush().await?;
        let read = timeout(
            self.config.idle_timeout,
            read_data(&mut self.reader, self.config.max_message_size),
        )
        .await;
        let message = match read {
            Err(_) => {
                self.reply("421 4.4.2 Timeout: closing the connection")
                    .await?;
                return Ok(Flow::Close);
            }
            Ok(Err(e)) => return Err(e),
            Ok(Ok(Data::Closed)) => return Ok(Flow::Close),
            Ok(Ok(Data::TooBig)) => {
                self.log.note("<message over the size limit, dropped>");
                self.reset();
                return self
                    .reply_continue("552 5.3.4 Message size exceeds fixed maximum message size")
                    .await;
            }
            Ok(Ok(Data::Message(message))) => message,
        };
        self.log.message(&message);
        // Signed (a logged-in user's mail) or checked (mail from outside)
        // before it is stamped, so its new headers sit below `Received:`.
        let (message, quarantine) = match self.authenticate(message).await {
            Ok(checked) => checked,
            Err(refusal) => {
                self.reset();
                return self.reply_continue(&refusal).await;
            }
        };
        let id = super::queue::new_id();
        let stamped = [self.received_header(&id).as_bytes(), &message].concat();
        let sender = self.sender.take().expect("checked above");
        let recipients = std::mem::take(&mut self.recipients);
        self.named.clear();
        let delivery = self.config.delivery.clone();
        let delivered = tokio::task::spawn_blocking(move || {
            match quarantine {
                Some(reason) => delivery.quarantine(&id, &recipients, &stamped, &reason),
                None => delivery.deliver(&id, sender.as_ref(), &recipients, &stamped),
            }
            .map(|()| id)
        })
        .await
        .map_err(io::Error::other)?;
        match delivered {
            Ok(id) => {
                self.reply_continue(&format!("250 2.0.0 Ok: queued as {id}"))
                    .await
            }
            Err(e) => {
                self.log.note(&format!("delivery failed: {e}"));
                self.reply_continue("451 4.3.0 Local error in processing; try again later")
                    .await
            }
        }
    }

    /// The message with a DKIM signature (from a logged-in user) or the
    /// sender checks' headers on top (from outside, when the server checks),
    /// and the reason to quarantine it; Err with the reply that refuses it.
    async fn authenticate(&self, message: Vec<u8>) -> Result<(Vec<u8>, Option<String>), String> {
        if self.user.is_some() {
            return Ok(
                match self.config.dkim.as_ref().and_then(|s| s.sign(&message)) {
                    Some(signature) => ([signature.as_bytes(), &message].concat(), None),
                    None => (message, None),
                },
            );
        }
        let Some(checks) = &self.config.sender_checks else {
            return Ok((message, None));
        };
        let helo = self.greeting.as_ref().map_or("", |(name, _)| name.as_str());
        let sender = self.sender.as_ref().and_then(Option::as_ref);
        let verdict = checks.check(self.peer.ip(), helo, sender, &message).await;
        self.log.note(&verdict.summary);
        let checked = [verdict.headers.as_bytes(), &message].concat();
        match verdict.action {
            Action::Deliver => Ok((checked, None)),
            Action::Junk => Ok((checked, Some(verdict.summary))),
            Action::Refuse(reply) => Err(reply),
        }
    }

    fn received_header(&self, id: &str) -> String {
        let (helo, extended) = self.greeting.clone().unwrap_or_default();
        let with = match (extended, self.user.is_some()) {
            (false, _) => "SMTP",
            (true, false) => "ESMTP",
            (true, true) => "ESMTPA",
        };
        let recipient = match self.recipients.as_slice() {
            [only] => format!("\r\n\tfor <{only}>"),
            _ => String::new(),
        };
        format!(
            "Received: from {helo} ([{}])\r\n\tby {} (labctl) with {with} id {id}{recipient};\r\n\t{}\r\n",
            self.peer.ip(),
            self.config.hostname,
            rfc5322(SystemTime::now())
        )
    }

    async fn auth(&mut self, mechanism: &str, initial: Option<String>) -> io::Result<Flow> {
        if !matches!(self.greeting, Some((_, true))) {
            return self.error("503 5.5.1 Send EHLO first").await;
        }
        if self.user.is_some() {
            return self.error("503 5.5.1 Already authenticated").await;
        }
        if self.tls_missing() {
            return self
                .error("530 5.7.0 Must issue a STARTTLS command first")
                .await;
        }
        if self.sender.is_some() {
            return self
                .error("503 5.5.1 AUTH not allowed during a mail transaction")
                .await;
        }
        let credentials = match mechanism {
            "PLAIN" => {
                let response = match initial {
                    Some(initial) => Some(initial.into_bytes()),
                    None => self.challenge("334 ").await?,
                };
                response.map(|r| sasl::plain(&r))
            }
            "LOGIN" => self.login(initial).await?,
            _ => {
                return self
                    .error("504 5.5.4 Unrecognized authentication type")
                    .await;
            }
        };
        let Some(credentials) = credentials else {
            return Ok(Flow::Close);
        };
        let (user, password) = match credentials {
            Ok(pair) => pair,
            Err(SaslError::Cancelled) => {
                return self
                    .reply_continue("501 5.0.0 Authentication cancelled")
                    .await;
            }
            Err(SaslError::Malformed) => {
                return self
                    .auth_failed("501 5.5.2 Cannot decode the response")
                    .await;
            }
        };
        if !self.config.accounts.check(&user, &password) {
            return self
                .auth_failed("535 5.7.8 Authentication credentials invalid")
                .await;
        }
        let name = self
            .config
            .accounts
            .user(&user)
            .unwrap_or_else(|| user.clone());
        self.log.note(&format!("authenticated as {name}"));
        self.user = Some(name);
        self.reply_continue("235 2.7.0 Authentication successful")
            .await
    }

    /// LOGIN: user name (maybe already given), then password.
    async fn login(
        &mut self,
        initial: Option<String>,
    ) -> io::Result<Option<Result<(String, String), SaslError>>> {
        let user = match initial {
            Some(initial) => initial.into_bytes(),
            None => match self
                .challenge(&format!("334 {}", sasl::encode("Username:")))
                .await?
            {
                Some(response) => response,
                None => return Ok(None),
            },
        };
        let user = match sasl::login_step(&user) {
            Ok(user) => user,
            Err(e) => return Ok(Some(Err(e))),
        };
        let Some(password) = self
            .challenge(&format!("334 {}", sasl::encode("Password:")))
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(sasl::login_step(&password).map(|p| (user, p))))
    }

    /// Sends a challenge and reads the response; None when the client left.
    async fn challenge(&mut self, challenge: &str) -> io::Result<Option<Vec<u8>>> {
        self.reply(challenge).await?;
        match self.next_line().await? {
            Some(Line::Complete(line)) => {
                self.log.client(&line);
                Ok(Some(line))
            }
            Some(Line::TooLong) => Ok(Some(b"!".to_vec())),
            Some(Line::Closed) | None => Ok(None),
        }
    }

    async fn auth_failed(&mut self, reply: &str) -> io::Result<Flow> {
        self.auth_failures += 1;
        if self.auth_failures >= MAX_AUTH_FAILURES {
            self.reply("421 4.7.0 Too many failed authentications; closing")
                .await?;
            return Ok(Flow::Close);
        }
        self.reply_continue(reply).await
    }

    fn reset(&mut self) {
        self.sender = None;
        self.recipients.clear();
        self.named.clear();
    }

    /// A reply to a bad command; the session closes after too many.
    async fn error(&mut self, reply: &str) -> io::Result<Flow> {
        self.errors += 1;
        if self.errors > MAX_ERRORS {
            self.reply("421 4.7.0 Too many errors; closing").await?;
            return Ok(Flow::Close);
        }
        self.reply_continue(reply).await
    }

    async fn reply_continue(&mut self, reply: &str) -> io::Result<Flow> {
        self.reply(reply).await?;
        Ok(Flow::Continue)
    }

    async fn reply(&mut self, reply: &str) -> io::Result<()> {
        self.log.server(reply);
        self.writer.write_all(reply.as_bytes()).await?;
        self.writer.write_all(b"\r\n").await
    }
}
