//! smtp-load — the SMTP load client of bench/mail.sh, for the runs over
//! STARTTLS that Postfix's smtp-source cannot make (it has no TLS). Built
//! only for the benchmark: `cargo build --release --example smtp-load`.
//!
//! It sends the load smtp-source sends in bench/mail.sh (`-s 20 -m M -l
//! 5120`, no `-d`): SESSIONS connections in parallel, MESSAGES messages in
//! all, each message on a connection of its own — greeting, EHLO, MAIL,
//! RCPT, DATA, QUIT — with smtp-source's headers (From, To, Date,
//! Message-Id) over LENGTH bytes of 80-byte lines. `--starttls` adds
//! STARTTLS and EHLO again after the first EHLO, the server's certificate
//! checked against `--ca` for the server's address (or `--name`); TLS
//! sessions resume from a ticket as rustls does by default, unless
//! `--no-resume`. `--reuse` sends every message of a session over one
//! connection, as smtp-source's `-d`.
//!
//! The dialogue is labctl's own SMTP client (the relay's and the PCs'),
//! on one thread as smtp-source runs in one process. Any refusal or broken
//! connection stops the run with a message (exit 1): a rate counts only
//! messages every server accepted. Prints one line:
//! `messages seconds messages_per_second tls_handshakes resumed`.

use std::cell::Cell;
use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, bail};
use clap::Parser;
use labctl::services::mail::date;
use labctl::services::mail::smtp::client::Client;
use labctl::services::tls::config;
use rustls::client::Resumption;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// How long a reply may take before the run is declared broken.
const REPLY_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Parser)]
#[command(about = "SMTP load for bench/mail.sh, with or without STARTTLS")]
struct Args {
    /// The server: ADDRESS or ADDRESS:PORT (port 25 by default).
    server: String,
    /// Sessions in parallel (smtp-source -s).
    #[arg(short, long, default_value_t = 20)]
    sessions: usize,
    /// Messages in all (smtp-source -m).
    #[arg(short, long, default_value_t = 1000)]
    messages: usize,
    /// Payload bytes of each message, headers not counted (smtp-source -l).
    #[arg(short, long, default_value_t = 5120)]
    length: usize,
    /// Envelope and header sender (smtp-source -f).
    #[arg(short, long, default_value = "from@load.test")]
    from: String,
    /// Envelope and header recipient (smtp-source -t).
    #[arg(short, long, default_value = "to@bench.test")]
    to: String,
    /// The name given in EHLO (smtp-source -M).
    #[arg(short = 'M', long, default_value = "load.test")]
    hostname: String,
    /// Say STARTTLS after EHLO, and EHLO again over TLS.
    #[arg(long)]
    starttls: bool,
    /// The CA the server's certificate must chain to (PEM).
    #[arg(long)]
    ca: Option<std::path::PathBuf>,
    /// The name the certificate must carry (default: the server's address).
    #[arg(long)]
    name: Option<String>,
    /// A full TLS handshake on every connection (no session resumption).
    #[arg(long)]
    no_resume: bool,
    /// Send all of a session's messages over one connection (smtp-source -d).
    #[arg(long)]
    reuse: bool,
}

/// What every session shares.
struct Load {
    server: SocketAddr,
    hostname: String,
    from: String,
    to: String,
    /// The message body after the headers, the same for every message.
    body: Vec<u8>,
    tls: Option<(TlsConnector, String)>,
    reuse: bool,
    total: usize,
    /// Messages claimed so far: a session takes the next number until none is left.
    claimed: Cell<usize>,
    handshakes: Cell<usize>,
    resumed: Cell<usize>,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("smtp-load: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<()> {
    if args.sessions == 0 || args.messages == 0 {
        bail!("--sessions and --messages must be at least 1");
    }
    let server = server_address(&args.server)?;
    let tls = match (args.starttls, &args.ca) {
        (false, _) => None,
        (true, None) => bail!("--starttls needs --ca"),
        (true, Some(ca)) => {
            let pem = std::fs::read_to_string(ca)
                .with_context(|| format!("cannot read the CA file {}", ca.display()))?;
            let mut settings = config::client_config(&pem)?;
            if args.no_resume {
                settings.resumption = Resumption::disabled();
            }
            let name = args.name.clone().unwrap_or_else(|| server.ip().to_string());
            Some((TlsConnector::from(Arc::new(settings)), name))
        }
    };
    let load = Rc::new(Load {
        server,
        hostname: args.hostname,
        body: payload(args.length),
        from: args.from,
        to: args.to,
        tls,
        reuse: args.reuse,
        total: args.messages,
        claimed: Cell::new(0),
        handshakes: Cell::new(0),
        resumed: Cell::new(0),
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let start = Instant::now();
    let sessions = (0..args.sessions.min(args.messages)).map(|_| session(load.clone()));
    runtime.block_on(async { futures::future::try_join_all(sessions).await })?;
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "{} {seconds:.3} {:.0} {} {}",
        load.total,
        load.total as f64 / seconds,
        load.handshakes.get(),
        load.resumed.get()
    );
    Ok(())
}

fn server_address(text: &str) -> Result<SocketAddr> {
    if let Ok(address) = text.parse::<SocketAddr>() {
        return Ok(address);
    }
    let ip: IpAddr = text
        .parse()
        .with_context(|| format!("`{text}` is not ADDRESS or ADDRESS:PORT"))?;
    Ok(SocketAddr::new(ip, 25))
}

/// smtp-source's payload: lines of 78 bytes and CRLF, the last one
/// shorter, LENGTH bytes in all.
fn payload(length: usize) -> Vec<u8> {
    let mut line = vec![b'X'; 78];
    line.extend_from_slice(b"\r\n");
    let mut body: Vec<u8> = line.iter().copied().cycle().take(length).collect();
    if !body.ends_with(b"\r\n") {
        body.truncate(length.saturating_sub(2));
        body.extend_from_slice(b"\r\n");
    }
    body
}

/// One session: claims messages until none is left, one connection each
/// (or one for all with `--reuse`).
async fn session(load: Rc<Load>) -> Result<()> {
    let mut open: Option<Client> = None;
    loop {
        let number = load.claimed.get();
        load.claimed.set(number + 1);
        if number >= load.total {
            break;
        }
        let mut client = match open.take() {
            Some(client) => client,
            None => connect(&load).await?,
        };
        let message = message(&load, number);
        let sent = client
            .send(&load.from, &[&load.to], &message)
            .await
            .with_context(|| format!("message {number}"))?;
        if sent.accepted.is_none() {
            let refusal = sent.outcomes.into_iter().find_map(Result::err);
            bail!(
                "message {number} was refused: {}",
                refusal.map_or_else(|| "no reason".to_string(), |e| e.to_string())
            );
        }
        if load.reuse {
            open = Some(client);
        } else {
            client.quit().await;
        }
    }
    if let Some(client) = open {
        client.quit().await;
    }
    Ok(())
}

/// A connection ready for mail: greeted, and over TLS when asked.
async fn connect(load: &Load) -> Result<Client> {
    let stream = TcpStream::connect(load.server)
        .await
        .with_context(|| format!("cannot connect to {}", load.server))?;
    stream.set_nodelay(true).ok();
    let mut client = Client::new(stream, REPLY_TIMEOUT, None);
    let ehlo = client.greet(&load.hostname).await?;
    if let Some((connector, name)) = &load.tls {
        if !ehlo.offers("STARTTLS") {
            bail!("{} does not offer STARTTLS: {}", load.server, ehlo.quoted());
        }
        client.start_tls(connector, name, &load.hostname).await?;
        load.handshakes.set(load.handshakes.get() + 1);
        if client.is_resumed() {
            load.resumed.set(load.resumed.get() + 1);
        }
    }
    Ok(client)
}

/// smtp-source's headers over the shared body.
fn message(load: &Load, number: usize) -> Vec<u8> {
    let head = format!(
        "From: <{}>\r\nTo: <{}>\r\nDate: {}\r\nMessage-Id: <{number:08x}.{}@{}>\r\n\r\n",
        load.from,
        load.to,
        date::rfc5322(SystemTime::now()),
        std::process::id(),
        load.hostname
    );
    let mut message = Vec::with_capacity(head.len() + load.body.len());
    message.extend_from_slice(head.as_bytes());
    message.extend_from_slice(&load.body);
    message
}
