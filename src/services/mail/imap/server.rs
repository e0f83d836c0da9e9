//! The IMAP listener and the settings its sessions share. It enforces the
//! limits that keep hostile or forgotten clients cheap: capped lines and
//! The IMAP listener and the settings its sessions share. It enforces the
//! limits that keep hostile or forgotten clients cheap: capped lines and
//! literals (smaller before login), a short inactivity timeout until login
//! and the RFC's after it (RFC 3501 §5.4: at least 30 minutes), IDLE that
//! ends at the same timeout, a closed connection after repeated failed
//! logins or a run of malformed commands, and a bounded number of sessions,
//! in all and per client address (the shared accept loop). Commands run on
//! the blocking pool (`off_runtime`), never on the node's runtime thread.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufRead, AsyncWrite, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use super::connection::{self, Incoming, Limits};
use super::parser;
use super::session::{Flow, Pieces, Session, Tls};
use crate::services::listener::{self, Busy, Gate};
use crate::services::mail::accounts::Accounts;
use crate::services::mail::lines::{Line, read_line};
use crate::services::mail::opening;
use crate::services::mail::store::Store;
use crate::services::mail::transcript::{SessionLog, Transcript};
use crate::services::mail::{LOGIN_TIMEOUT, SESSION_LIMITS};
use crate::services::shutdown::Shutdown;
use crate::services::tls::ServerTls;
use crate::services::tls::transport::{self, Reader, WriteHalf};

/// Malformed commands in a row before the connection is closed (a client
/// that speaks another protocol, or garbage).
const MAX_BAD_COMMANDS: u32 = 50;

pub struct ImapConfig {
    pub accounts: Arc<Accounts>,
    pub store: Store,
    /// Sessions at once, in all and from one client address.
    pub connections: listener::Limits,
    /// A connection that has not logged in is closed when silent this long
    /// (capped by `idle_timeout`).
    pub login_timeout: Duration,
    /// A logged-in connection silent this long is closed (also in IDLE).
    pub idle_timeout: Duration,
    pub limits: Limits,
    /// Failed logins on one connection before it is closed.
    pub max_auth_failures: u32,
    /// How often IDLE looks for changes in the selected mailbox.
    pub idle_poll: Duration,
    /// STARTTLS offered (and maybe required), from the lab file's `tls:`.
    pub tls: Option<ServerTls>,
    /// Port 993 (RFC 8314): TLS from the first byte (needs `tls`).
    pub implicit_tls: bool,
}

impl ImapConfig {
    pub fn new(accounts: Arc<Accounts>, store: Store) -> ImapConfig {
        ImapConfig {
            accounts,
            store,
            connections: SESSION_LIMITS,
            login_timeout: LOGIN_TIMEOUT,
            idle_timeout: Duration::from_secs(30 * 60),
            limits: Limits {
                max_line: 64 * 1024,
                max_message: 32 * 1024 * 1024,
                max_literals: 64 * 1024,
                // LOGIN's two strings; AUTHENTICATE's response is a line.
                max_literals_before_login: 8 * 1024,
            },
            max_auth_failures: 3,
            idle_poll: Duration::from_secs(2),
            tls: None,
            implicit_tls: false,
        }
    }
}

/// Accepts connections until `stop`.
pub async fn serve(
    listener: TcpListener,
    config: Arc<ImapConfig>,
    transcript: Transcript,
    stop: Shutdown,
) -> anyhow::Result<()> {
    let busy = Busy {
        service: "imap",
        server_full: "* BYE [UNAVAILABLE] too many connections, try again later\r\n",
        client_full: "* BYE [UNAVAILABLE] too many connections from your address, try again later\r\n",
    };
    let gate = Gate::new(config.connections);
    listener::serve(listener, gate, busy, stop, |stream, peer| {
        let config = config.clone();
        let log = transcript.session("imap", peer);
        async move {
            if let Err(e) = run_connection(stream, &config, log).await {
                report(peer, &e);
            }
        }
    })
    .await
}

fn report(peer: SocketAddr, error: &std::io::Error) {
    if !matches!(
        error.kind(),
        std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
    ) {
        tracing::warn!("imap {peer}: {error}");
    }
}

/// One connection, from greeting to close; the log's last line says
/// whether it was encrypted.
pub async fn run_connection(
    stream: TcpStream,
    config: &ImapConfig,
    log: SessionLog,
) -> std::io::Result<()> {
    let opened = opening::open(
        stream,
        config.tls.as_ref(),
        config.implicit_tls,
        config.login_timeout,
        &log,
    )
    .await;
    let Some((read_half, write_half)) = opened else {
        return Ok(());
    };
    let mut reader = BufReader::new(read_half);
    let mut writer = BufWriter::new(write_half);
    let mut session = Session::new(
        config.store.clone(),
        config.accounts.clone(),
        config.max_auth_failures,
    );
    session.tls = Tls {
        offered: config.tls.is_some(),
        required: config.tls.as_ref().is_some_and(|tls| tls.required),
        encrypted: transport::is_encrypted(reader.get_ref()),
    };
    if let Some(tls) = transport::describe(reader.get_ref()) {
        log.note(&format!("encrypted from the start ({tls})"));
    }
    let result = dialogue(&mut reader, &mut writer, session, config, &log).await;
    log.note(if transport::is_encrypted(reader.get_ref()) {
        "connection closed (encrypted)"
    } else {
        "connection closed (not encrypted)"
    });
    result
}

async fn dialogue(
    reader: &mut Reader,
    writer: &mut BufWriter<WriteHalf>,
    mut session: Session,
    config: &ImapConfig,
    log: &SessionLog,
) -> std::io::Result<()> {
    writer.write_all(session.greeting().as_bytes()).await?;
    writer.flush().await?;
    let mut bad_commands = 0;
    loop {
        if bad_commands > MAX_BAD_COMMANDS {
            return bye(writer, log, "too many malformed commands, closing").await;
        }
        let limits = if session.logged_in() {
            config.limits
        } else {
            config.limits.before_login()
        };
        let read = connection::read_command(reader, writer, limits);
        let Ok(incoming) = tokio::time::timeout(silence_allowed(&session, config), read).await
        else {
            return bye(writer, log, "idle for too long, closing").await;
        };
        let bytes = match incoming? {
            Incoming::Closed => return Ok(()),
            Incoming::TooLong(tag) => {
                bad_commands += 1;
                log.client(b"<command too long>");
                let limit = config.limits.max_line;
                reply(
                    writer,
                    log,
                    &tagged(
                        tag,
                        &format!("BAD command line too long (at most {limit} octets)"),
                    ),
                )
                .await?;
                continue;
            }
            Incoming::LiteralTooLarge { tag, synchronizing } => {
                bad_commands += 1;
                log.client(b"<literal too large>");
                let message = if session.logged_in() {
                    format!(
                        "NO [TOOBIG] literal too large (messages up to {} octets, other literals up to {})",
                        config.limits.max_message, config.limits.max_literals
                    )
                } else {
                    format!(
                        "NO [TOOBIG] literal too large before login (at most {} octets; log in first)",
                        limits.max_literals
                    )
                };
                reply(writer, log, &tagged(tag, &message)).await?;
                if synchronizing {
                    continue;
                }
                return bye(
                    writer,
                    log,
                    "cannot skip a non-synchronizing literal that large",
                )
                .await;
            }
            Incoming::Command(bytes) => bytes,
        };
        log_command(log, &bytes);
        let command = match parser::parse(&bytes) {
            Ok(command) => {
                bad_commands = 0;
                command
            }
            Err(refused) => {
                bad_commands += 1;
                reply(writer, log, &tagged(refused.tag, &refused.response)).await?;
                continue;
            }
        };
        // The raw command (an APPEND's message, say) is not kept twice.
        drop(bytes);
        let flow = if session.is_quick(&command) {
            // One small message: less work than the trip to the pool.
            let (unused, _) = mpsc::channel(1);
            let flow = session.handle(command, &unused);
            session.drain(writer).await?;
            flow
        } else {
            let (returned, flow) = off_runtime(session, writer, move |session, pieces| {
                session.handle(command, pieces)
            })
            .await?;
            session = returned;
            flow
        };
        let flow = flow?;
        if !session.last_status().is_empty() {
            log.server(session.last_status());
        }
        match flow {
            Flow::Continue => {}
            Flow::Close => break,
            Flow::StartTls => {
                let Some(tls) = &config.tls else { break };
                let switch = transport::start_server_tls(reader, writer, &tls.acceptor);
                let discarded = match tokio::time::timeout(config.login_timeout, switch).await {
                    Ok(Ok(discarded)) => discarded,
                    Ok(Err(e)) => {
                        log.note(&format!("TLS handshake failed: {e}"));
                        return Ok(());
                    }
                    Err(_) => {
                        log.note("TLS handshake failed: no handshake in time");
                        return Ok(());
                    }
                };
                if discarded > 0 {
                    log.note(&format!(
                        "discarded {} sent after STARTTLS in plain text (command injection)",
                        crate::plural::count(discarded, "byte")
                    ));
                }
                session.tls.encrypted = true;
                let tls = transport::describe(reader.get_ref()).unwrap_or_default();
                log.note(&format!("encrypted ({tls})"));
                continue;
            }
            Flow::Idle { tag } => {
                let (returned, go_on) = idle(reader, writer, session, &tag, config, log).await?;
                session = returned;
                if !go_on {
                    break;
                }
            }
            Flow::AuthenticatePlain { tag } => {
                writer.write_all(b"+ \r\n").await?;
                writer.flush().await?;
                let read = read_line(reader, 8 * 1024);
                let Ok(line) = tokio::time::timeout(silence_allowed(&session, config), read).await
                else {
                    return bye(writer, log, "idle for too long, closing").await;
                };
                let response = match line? {
                    Line::Closed => return Ok(()),
                    Line::TooLong => b"*".to_vec(),
                    Line::Complete(response) => {
                        log.client(&response);
                        response
                    }
                };
                let (returned, flow) = off_runtime(session, writer, move |session, _| {
                    session.authenticate_plain(&tag, &response)
                })
                .await?;
                session = returned;
                log.server(session.last_status());
                if flow == Flow::Close {
                    break;
                }
            }
        }
        writer.flush().await?;
    }
    writer.flush().await
}

/// How long the client may stay silent now: short until it has logged in.
fn silence_allowed(session: &Session, config: &ImapConfig) -> Duration {
    if session.user.is_some() {
        config.idle_timeout
    } else {
        config.login_timeout.min(config.idle_timeout)
    }
}

/// The command's first line; literals show only as their size.
fn log_command(log: &SessionLog, command: &[u8]) {
    let first_line = command.split(|&b| b == b'\r').next().unwrap_or_default();
    log.client(&first_line[..first_line.len().min(200)]);
}

/// Runs `work` on the session on the blocking pool and writes out what it
/// produces: pieces as they come, the rest when it is done. Store work is
/// file I/O that can take seconds (a SEARCH through large messages); on the
/// node's one runtime thread it would stall every server of the node, so
/// it runs where POP3 and SMTP run theirs (`spawn_blocking`). The session
/// moves to the worker thread and back.
async fn off_runtime<W, T, F>(
    session: Session,
    writer: &mut W,
    work: F,
) -> std::io::Result<(Session, T)>
where
    W: AsyncWrite + Unpin,
    F: FnOnce(&mut Session, &Pieces) -> T + Send + 'static,
    T: Send + 'static,
{
    // Two pieces in flight at most: a slow reader holds back the command,
    // not memory.
    let (pieces, mut arriving) = mpsc::channel(2);
    let job = tokio::task::spawn_blocking(move || {
        let mut session = session;
        let result = work(&mut session, &pieces);
        (session, result)
    });
    while let Some(piece) = arriving.recv().await {
        writer.write_all(&piece).await?;
    }
    let (mut session, result) = job.await.map_err(std::io::Error::other)?;
    session.drain(writer).await?;
    Ok((session, result))
}

/// IDLE (RFC 2177): changes are sent as they happen until the client sends
/// DONE. Returns the session, and false when the connection is to close.
async fn idle<R, W>(
    reader: &mut R,
    writer: &mut W,
    session: Session,
    tag: &str,
    config: &ImapConfig,
    log: &SessionLog,
) -> std::io::Result<(Session, bool)>
where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin,
{
    writer.write_all(b"+ idling\r\n").await?;
    let (mut session, ()) = off_runtime(session, writer, |session, _| session.sync(true)).await?;
    writer.flush().await?;
    let done = read_line(reader, 64);
    tokio::pin!(done);
    let deadline = tokio::time::sleep(config.idle_timeout);
    tokio::pin!(deadline);
    let mut poll = tokio::time::interval(config.idle_poll);
    loop {
        tokio::select! {
            read = &mut done => {
                let status = match read? {
                    Line::Closed => return Ok((session, false)),
                    Line::Complete(line) if line.eq_ignore_ascii_case(b"DONE") => format!("{tag} OK IDLE terminated"),
                    _ => format!("{tag} BAD expected DONE to end IDLE"),
                };
                log.client(b"DONE");
                reply(writer, log, &status).await?;
                return Ok((session, true));
            }
            _ = &mut deadline => {
                bye(writer, log, "idle for too long, closing").await?;
                return Ok((session, false));
            }
            _ = poll.tick() => {
                let (returned, ()) =
                    off_runtime(session, writer, |session, _| session.sync(true)).await?;
                session = returned;
                writer.flush().await?;
            }
        }
    }
}

/// `TAG text`, or `* text` when the tag could not be read.
fn tagged(tag: Option<String>, text: &str) -> String {
    format!("{} {text}", tag.as_deref().unwrap_or("*"))
}

/// Writes (and logs) one response line.
async fn reply<W: AsyncWrite + Unpin>(
    writer: &mut W,
    log: &SessionLog,
    line: &str,
) -> std::io::Result<()> {
    log.server(line);
    writer.write_all(format!("{line}\r\n").as_bytes()).await?;
    writer.flush().await
}

async fn bye<W: AsyncWrite + Unpin>(
    writer: &mut W,
    log: &SessionLog,
    text: &str,
) -> std::io::Result<()> {
    reply(writer, log, &format!("* BYE {text}")).await
}
