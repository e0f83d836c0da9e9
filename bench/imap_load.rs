//! imap-load — the IMAP retrieval client of bench/imap.sh. Built only for
//! the benchmark: `cargo build --release --example imap-load`.
//!
//! Logs in as USER/PASSWORD, selects INBOX, and times (1) one
//! `UID FETCH 1:* (UID FLAGS RFC822.SIZE BODY.PEEK[])` of every message and
//! (2) one `UID FETCH n (BODY.PEEK[])` per message, one after the other.
//! `--tls` connects to port 993 and talks TLS from the first byte, the
//! certificate checked against `--ca` for the server's address; the
//! handshake is not timed. Replies are read whole into one buffer and only
//! their last line is looked at, so the client's work stays small next to
//! the server's: a Python client spent 3-4 times longer than this one
//! reading the same replies over TLS, and set the pace there.
//!
//! Prints one line: `bulk_seconds single_seconds messages octets
//! bulk_cpu_seconds single_cpu_seconds`, the CPU times this client's own
//! (near the seconds measured, it would be what limits the rate).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[path = "load_client.rs"]
mod load_client;

use anyhow::{Context, Result, bail};
use clap::Parser;
use labctl::services::tls::config;
use load_client::cpu_time;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_rustls::TlsConnector;

/// How long one command may take before the session is declared broken.
const REPLY_TIMEOUT: Duration = Duration::from_secs(60);
/// How much the buffer grows by before each read.
const READ_SIZE: usize = 1 << 20;

#[derive(Parser)]
#[command(about = "IMAP retrieval load for bench/imap.sh, in plain text or over TLS")]
struct Args {
    /// The server's address.
    server: IpAddr,
    /// How many messages INBOX must hold.
    messages: usize,
    /// TLS from the first byte on port 993 (else plain text on 143).
    #[arg(long)]
    tls: bool,
    /// The CA the server's certificate must chain to (PEM), with --tls.
    #[arg(long)]
    ca: Option<PathBuf>,
    #[arg(long, default_value = "ada")]
    user: String,
    #[arg(long, default_value = "secret")]
    password: String,
}

fn main() -> ExitCode {
    let args = Args::parse();
    load_client::run_and_print("imap-load", run(&args))
}

async fn run(args: &Args) -> Result<String> {
    let port = if args.tls { 993 } else { 143 };
    let address = SocketAddr::new(args.server, port);
    let tcp = TcpStream::connect(address)
        .await
        .with_context(|| format!("cannot connect to {address}"))?;
    if !args.tls {
        return Session::new(tcp).run(args).await;
    }
    let Some(ca) = &args.ca else {
        bail!("--tls needs --ca");
    };
    let pem = std::fs::read_to_string(ca)
        .with_context(|| format!("cannot read the CA file {}", ca.display()))?;
    let connector = TlsConnector::from(Arc::new(config::client_config(&pem)?));
    let tls = connector
        .connect(ServerName::IpAddress(args.server.into()), tcp)
        .await
        .with_context(|| format!("TLS handshake with {address}"))?;
    Session::new(tls).run(args).await
}

struct Session<S> {
    stream: S,
    buffer: Vec<u8>,
    tag: u32,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Session<S> {
    fn new(stream: S) -> Session<S> {
        Session {
            stream,
            buffer: Vec::new(),
            tag: 0,
        }
    }

    async fn run(mut self, args: &Args) -> Result<String> {
        self.read_until(|line| line.starts_with(b"* OK"))
            .await
            .context("the greeting")?;
        self.command(&format!("LOGIN {} {}", args.user, args.password))
            .await?;
        self.command("SELECT INBOX").await?;
        let uids = search_uids(self.command("UID SEARCH ALL").await?)?;
        if uids.len() != args.messages {
            bail!(
                "{} messages in INBOX, expected {}",
                uids.len(),
                args.messages
            );
        }

        let (start, cpu) = (Instant::now(), cpu_time());
        let bulk = self
            .command("UID FETCH 1:* (UID FLAGS RFC822.SIZE BODY.PEEK[])")
            .await?;
        let (bulk_time, bulk_cpu) = (start.elapsed(), cpu_time().saturating_sub(cpu));
        let (fetched, octets) = (
            memchr::memmem::find_iter(bulk, b" FETCH (").count(),
            bulk.len(),
        );
        if fetched != args.messages {
            bail!(
                "the bulk FETCH returned {fetched} messages, expected {}",
                args.messages
            );
        }

        let (start, cpu) = (Instant::now(), cpu_time());
        for uid in &uids {
            self.command(&format!("UID FETCH {uid} (BODY.PEEK[])"))
                .await?;
        }
        let (single_time, single_cpu) = (start.elapsed(), cpu_time().saturating_sub(cpu));
        self.command("LOGOUT").await?;
        Ok(format!(
            "{:.4} {:.4} {fetched} {} {:.4} {:.4}",
            bulk_time.as_secs_f64(),
            single_time.as_secs_f64(),
            octets,
            bulk_cpu.as_secs_f64(),
            single_cpu.as_secs_f64()
        ))
    }

    /// Sends one command; returns everything up to and with its tagged
    /// reply, which must be OK (kept until the next command: the buffer is
    /// reused, not allocated again for each).
    async fn command(&mut self, text: &str) -> Result<&[u8]> {
        self.buffer.clear();
        self.tag += 1;
        let tag = format!("T{} ", self.tag);
        self.stream
            .write_all(format!("{tag}{text}\r\n").as_bytes())
            .await
            .with_context(|| format!("sending {text:?}"))?;
        self.read_until(|line| line.starts_with(tag.as_bytes()))
            .await
            .with_context(|| format!("the reply to {text:?}"))?;
        let last = last_line(&self.buffer);
        if !last[tag.len()..].starts_with(b"OK") {
            bail!(
                "{text:?} failed: {}",
                String::from_utf8_lossy(last).trim_end()
            );
        }
        Ok(&self.buffer)
    }

    /// Reads into the buffer until the last whole line read is one `done`
    /// accepts.
    async fn read_until(&mut self, done: impl Fn(&[u8]) -> bool) -> Result<()> {
        loop {
            if self.buffer.ends_with(b"\r\n") && done(last_line(&self.buffer)) {
                return Ok(());
            }
            self.buffer.reserve(READ_SIZE);
            let read = timeout(REPLY_TIMEOUT, self.stream.read_buf(&mut self.buffer))
                .await
                .context("the server stopped answering")??;
            if read == 0 {
                bail!("the server closed the connection");
            }
        }
    }
}

/// The last line of a buffer that ends with CRLF, with its CRLF.
fn last_line(buffer: &[u8]) -> &[u8] {
    let body = &buffer[..buffer.len().saturating_sub(2)];
    let start = memchr::memrchr(b'\n', body).map_or(0, |at| at + 1);
    &buffer[start..]
}

/// The UIDs of a `* SEARCH 1 2 3` response.
fn search_uids(reply: &[u8]) -> Result<Vec<u32>> {
    let text = String::from_utf8_lossy(reply);
    let line = text
        .lines()
        .find(|line| line.starts_with("* SEARCH"))
        .context("no SEARCH response")?;
    line["* SEARCH".len()..]
        .split_whitespace()
        .map(|n| n.parse().with_context(|| format!("`{n}` is not a UID")))
        .collect()
}
