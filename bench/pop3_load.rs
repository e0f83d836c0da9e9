//! pop3-load — the POP3 retrieval client of bench/mail.sh. Built only for
//! the benchmark: `cargo build --release --example pop3-load`.
//!
//! Connects to port 110, logs in as USER/PASSWORD, LISTs (the mailbox
//! must hold MESSAGES), RETRs every message one after the other and
//! QUITs without deleting; the whole session is timed, connection
//! included. Replies are read whole into one buffer and only their end is
//! looked at, so the client's work stays small next to the server's (the
//! Python poplib client this replaces spent more CPU than the servers it
//! measured, as the IMAP one did: see bench/imap_load.rs).
//!
//! Prints one line: `messages_per_second seconds cpu_seconds`, the CPU time
//! this client's own (near the seconds, it would be what sets the pace).

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[path = "load_client.rs"]
mod load_client;

use anyhow::{Context, Result, bail};
use clap::Parser;
use load_client::cpu_time;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

/// How long one command may take before the session is declared broken.
const REPLY_TIMEOUT: Duration = Duration::from_secs(60);
/// How much the buffer grows by before each read.
const READ_SIZE: usize = 1 << 16;

#[derive(Parser)]
#[command(about = "POP3 retrieval load for bench/mail.sh")]
struct Args {
    /// The server's address.
    server: IpAddr,
    /// How many messages the mailbox must hold.
    messages: usize,
    #[arg(long, default_value = "pop")]
    user: String,
    #[arg(long, default_value = "secret")]
    password: String,
}

fn main() -> ExitCode {
    let args = Args::parse();
    load_client::run_and_print("pop3-load", run(&args))
}

async fn run(args: &Args) -> Result<String> {
    let (start, cpu) = (Instant::now(), cpu_time());
    let address = SocketAddr::new(args.server, 110);
    let stream = TcpStream::connect(address)
        .await
        .with_context(|| format!("cannot connect to {address}"))?;
    let mut session = Session {
        stream,
        buffer: Vec::new(),
    };
    session.reply(false).await.context("the greeting")?;
    session
        .command(&format!("USER {}", args.user), false)
        .await?;
    session
        .command(&format!("PASS {}", args.password), false)
        .await?;
    let listed = session.command("LIST", true).await?;
    let count = listed
        .split(|b| *b == b'\n')
        .skip(1)
        .filter(|line| line.first().is_some_and(u8::is_ascii_digit))
        .count();
    if count != args.messages {
        bail!("{count} messages listed, expected {}", args.messages);
    }
    for n in 1..=count {
        session.command(&format!("RETR {n}"), true).await?;
    }
    session.command("QUIT", false).await?;
    let (seconds, cpu) = (start.elapsed(), cpu_time().saturating_sub(cpu));
    Ok(format!(
        "{:.0} {:.4} {:.4}",
        count as f64 / seconds.as_secs_f64(),
        seconds.as_secs_f64(),
        cpu.as_secs_f64()
    ))
}

struct Session {
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl Session {
    /// Sends one command and reads its reply (multi-line: up to the line
    /// holding only "."), which must be +OK.
    async fn command(&mut self, text: &str, multi_line: bool) -> Result<&[u8]> {
        self.stream
            .write_all(format!("{text}\r\n").as_bytes())
            .await
            .with_context(|| format!("sending {text}"))?;
        self.reply(multi_line)
            .await
            .with_context(|| format!("the reply to {text}"))?;
        Ok(&self.buffer)
    }

    async fn reply(&mut self, multi_line: bool) -> Result<()> {
        self.buffer.clear();
        loop {
            let first_line = memchr::memchr(b'\n', &self.buffer);
            if let Some(end) = first_line {
                if !self.buffer.starts_with(b"+OK") {
                    bail!(
                        "{}",
                        String::from_utf8_lossy(&self.buffer[..end]).trim_end()
                    );
                }
                let done = if multi_line {
                    self.buffer[end + 1..] == *b".\r\n" || self.buffer.ends_with(b"\r\n.\r\n")
                } else {
                    true
                };
                if done {
                    return Ok(());
                }
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
