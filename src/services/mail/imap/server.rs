//! The IMAP listener: accepts connections (a bounded number at once), runs
//! a session per connection, and enforces the limits that keep hostile or
//! forgotten clients cheap: capped lines and literals, an inactivity
//! timeout (RFC 3501 §5.4: at least 30 minutes), IDLE that ends at the
//! same timeout, and a closed connection after repeated failed logins.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

use super::connection::{self, Incoming, Limits, Line};
use super::parser;
use super::session::{Flow, Session};
use crate::services::mail::accounts::Accounts;
use crate::services::mail::store::Store;

#[derive(Clone, Debug)]
pub struct ImapConfig {
    /// A connection silent this long is closed (also while in IDLE).
    pub idle_timeout: Duration,
    pub limits: Limits,
    /// Failed logins on one connection before it is closed.
    pub max_auth_failures: u32,
    /// Connections served at once; more are greeted with BYE.
    pub max_connections: usize,
    /// How often IDLE looks for changes in the selected mailbox.
    pub idle_poll: Duration,
}

impl Default for ImapConfig {
    fn default() -> ImapConfig {
        ImapConfig {
            idle_timeout: Duration::from_secs(30 * 60),
            limits: Limits {
                max_line: 64 * 1024,
                max_message: 32 * 1024 * 1024,
                max_literals: 64 * 1024,
            },
            max_auth_failures: 3,
            max_connections: 200,
            idle_poll: Duration::from_secs(2),
        }
    }
}

/// Serves IMAP on `listener` until `stop` turns true.
pub async fn serve(
    listener: TcpListener,
    store: Store,
    accounts: Arc<Accounts>,
    config: ImapConfig,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let permits = Arc::new(Semaphore::new(config.max_connections));
    let config = Arc::new(config);
    loop {
        let accepted = tokio::select! {
            _ = stop.wait_for(|stopped| *stopped) => return Ok(()),
            accepted = listener.accept() => accepted,
        };
        let (mut stream, _) = match accepted {
            Ok(connection) => connection,
            Err(e) => {
                // Out of file descriptors and the like: wait, do not spin.
                eprintln!("imap: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            let _ = stream
                .write_all(b"* BYE too many connections, try again later\r\n")
                .await;
            continue;
        };
        let (store, accounts, config) = (store.clone(), accounts.clone(), config.clone());
        tokio::spawn(async move {
            let _ = run_connection(stream, store, accounts, &config).await;
            drop(permit);
        });
    }
}

/// One connection, from greeting to close.
pub async fn run_connection<S: AsyncRead + AsyncWrite>(
    stream: S,
    store: Store,
    accounts: Arc<Accounts>,
    config: &ImapConfig,
) -> std::io::Result<()> {
    let (read_half, write_half) = tokio::io::split(stream);
    let mut reader = BufReader::new(read_half);
    let mut writer = BufWriter::new(write_half);
    writer.write_all(Session::greeting().as_bytes()).await?;
    writer.flush().await?;
    let mut session = Session::new(store, accounts, config.max_auth_failures);
    loop {
        let read = connection::read_command(&mut reader, &mut writer, config.limits);
        let Ok(incoming) = tokio::time::timeout(config.idle_timeout, read).await else {
            return bye(&mut writer, "idle for too long, closing").await;
        };
        let bytes = match incoming? {
            Incoming::Closed => return Ok(()),
            Incoming::TooLong(tag) => {
                let limit = config.limits.max_line;
                reply(
                    &mut writer,
                    tag,
                    &format!("BAD command line too long (at most {limit} octets)"),
                )
                .await?;
                continue;
            }
            Incoming::LiteralTooLarge { tag, synchronizing } => {
                let limit = config.limits.max_message;
                let message = format!(
                    "NO [TOOBIG] literal too large (messages up to {limit} octets, other literals up to {} octets)",
                    config.limits.max_literals
                );
                reply(&mut writer, tag, &message).await?;
                if synchronizing {
                    continue;
                }
                return bye(
                    &mut writer,
                    "cannot skip a non-synchronizing literal that large",
                )
                .await;
            }
            Incoming::Command(bytes) => bytes,
        };
        let command = match parser::parse(&bytes) {
            Ok(command) => command,
            Err(refused) => {
                reply(&mut writer, refused.tag, &refused.response).await?;
                continue;
            }
        };
        match session.handle(command, &mut writer).await? {
            Flow::Continue => {}
            Flow::Close => {
                writer.flush().await?;
                return Ok(());
            }
            Flow::Idle { tag } => {
                if !idle(&mut reader, &mut writer, &mut session, &tag, config).await? {
                    return Ok(());
                }
            }
            Flow::AuthenticatePlain { tag } => {
                writer.write_all(b"+ \r\n").await?;
                writer.flush().await?;
                let mut response = Vec::new();
                let read = connection::read_line(&mut reader, &mut response, 8 * 1024);
                let Ok(line) = tokio::time::timeout(config.idle_timeout, read).await else {
                    return bye(&mut writer, "idle for too long, closing").await;
                };
                let flow = match line? {
                    Line::Closed => return Ok(()),
                    Line::TooLong => {
                        reply(&mut writer, Some(tag), "BAD the PLAIN response is too long").await?;
                        continue;
                    }
                    Line::Complete => {
                        session.authenticate_plain(&tag, &String::from_utf8_lossy(&response))
                    }
                };
                session.drain(&mut writer).await?;
                if flow == Flow::Close {
                    writer.flush().await?;
                    return Ok(());
                }
            }
        }
        writer.flush().await?;
    }
}

/// IDLE (RFC 2177): changes are sent as they happen until the client sends
/// DONE. Returns false when the connection is to close.
async fn idle<R, W>(
    reader: &mut R,
    writer: &mut W,
    session: &mut Session,
    tag: &str,
    config: &ImapConfig,
) -> std::io::Result<bool>
where
    R: tokio::io::AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin,
{
    writer.write_all(b"+ idling\r\n").await?;
    session.sync(true);
    session.drain(writer).await?;
    writer.flush().await?;
    let done = async {
        let mut line = Vec::new();
        let read = connection::read_line(reader, &mut line, 64).await;
        read.map(|read| (read, line))
    };
    tokio::pin!(done);
    let deadline = tokio::time::sleep(config.idle_timeout);
    tokio::pin!(deadline);
    let mut poll = tokio::time::interval(config.idle_poll);
    loop {
        tokio::select! {
            read = &mut done => {
                match read? {
                    (Line::Closed, _) => return Ok(false),
                    (Line::Complete, line) if line.eq_ignore_ascii_case(b"DONE") => {
                        writer.write_all(format!("{tag} OK IDLE terminated\r\n").as_bytes()).await?;
                    }
                    _ => writer.write_all(format!("{tag} BAD expected DONE to end IDLE\r\n").as_bytes()).await?,
                }
                writer.flush().await?;
                return Ok(true);
            }
            _ = &mut deadline => {
                bye(writer, "idle for too long, closing").await?;
                return Ok(false);
            }
            _ = poll.tick() => {
                session.sync(true);
                if session.has_output() {
                    session.drain(writer).await?;
                    writer.flush().await?;
                }
            }
        }
    }
}

async fn reply<W: AsyncWrite + Unpin>(
    writer: &mut W,
    tag: Option<String>,
    text: &str,
) -> std::io::Result<()> {
    let tag = tag.unwrap_or_else(|| "*".into());
    writer
        .write_all(format!("{tag} {text}\r\n").as_bytes())
        .await?;
    writer.flush().await
}

async fn bye<W: AsyncWrite + Unpin>(writer: &mut W, text: &str) -> std::io::Result<()> {
    writer
        .write_all(format!("* BYE {text}\r\n").as_bytes())
        .await?;
    writer.flush().await
}
