//! imap-floor — the machine's floor for bench/imap.sh: the least an IMAP
//! server can do per command. Built only for the benchmark:
//! `cargo build --release --example imap-floor`.
//!
//! Loads every message file of a directory into memory at start (sorted by
//! name, UIDs 1, 2, 3…), then answers imap-load's dialogue and nothing
//! else: the greeting, LOGIN (any password), SELECT, `UID SEARCH ALL`,
//! `UID FETCH 1:* (UID FLAGS RFC822.SIZE BODY.PEEK[])`, `UID FETCH n
//! (BODY.PEEK[])` and LOGOUT. Each reply is built in one buffer and sent
//! with one write; a connection is served by a thread of its own with
//! blocking reads. No files, no flags, no log, no parsing beyond the words
//! it expects: what is left is the kernel's TCP path, one read and one
//! write per command, which every server measured beside it pays as well.
//! Runs until it is killed (the benchmark sends SIGTERM).

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Parser;

#[derive(Parser)]
#[command(about = "Fixed-dialogue IMAP responder from memory: the floor of bench/imap.sh")]
struct Args {
    /// Address and port to answer on.
    #[arg(long)]
    listen: SocketAddr,
    /// The messages: every file of this directory, in name order.
    #[arg(long)]
    messages: PathBuf,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let mut names: Vec<PathBuf> = std::fs::read_dir(&args.messages)
        .with_context(|| format!("cannot list {}", args.messages.display()))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    names.sort();
    let messages: Vec<Vec<u8>> = names
        .iter()
        .map(|path| std::fs::read(path).with_context(|| format!("cannot read {}", path.display())))
        .collect::<Result<_>>()?;
    let messages = Arc::new(messages);
    let listener = TcpListener::bind(args.listen)
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    for stream in listener.incoming() {
        let stream = stream.context("accept failed")?;
        let messages = messages.clone();
        std::thread::spawn(move || {
            // A client that goes away ends its thread; nothing to report.
            let _ = serve(stream, &messages);
        });
    }
    Ok(())
}

fn serve(stream: TcpStream, messages: &[Vec<u8>]) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    writer.write_all(b"* OK imap-floor ready\r\n")?;
    let mut line = String::new();
    let mut reply = Vec::with_capacity(1 << 16);
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let mut words = line.split_ascii_whitespace();
        let tag = words.next().unwrap_or("*");
        let command: Vec<String> = words.map(|w| w.to_ascii_uppercase()).collect();
        let command: Vec<&str> = command.iter().map(String::as_str).collect();
        reply.clear();
        let status = match command.as_slice() {
            ["LOGIN", ..] => "OK LOGIN completed",
            ["SELECT", ..] => {
                reply.extend_from_slice(format!("* {} EXISTS\r\n", messages.len()).as_bytes());
                "OK [READ-WRITE] SELECT completed"
            }
            ["UID", "SEARCH", "ALL"] => {
                reply.extend_from_slice(b"* SEARCH");
                for uid in 1..=messages.len() {
                    reply.extend_from_slice(format!(" {uid}").as_bytes());
                }
                reply.extend_from_slice(b"\r\n");
                "OK SEARCH completed"
            }
            ["UID", "FETCH", "1:*", ..] => {
                for (index, message) in messages.iter().enumerate() {
                    let uid = index + 1;
                    let size = message.len();
                    push_fetch(
                        &mut reply,
                        &format!(
                            "* {uid} FETCH (UID {uid} FLAGS () RFC822.SIZE {size} BODY[] {{{size}}}\r\n"
                        ),
                        message,
                    );
                }
                "OK FETCH completed"
            }
            ["UID", "FETCH", uid, ..] => match uid.parse::<usize>() {
                Ok(uid) if (1..=messages.len()).contains(&uid) => {
                    let message = &messages[uid - 1];
                    let size = message.len();
                    push_fetch(
                        &mut reply,
                        &format!("* {uid} FETCH (UID {uid} BODY[] {{{size}}}\r\n"),
                        message,
                    );
                    "OK FETCH completed"
                }
                _ => "OK FETCH completed",
            },
            ["LOGOUT"] => {
                writer.write_all(
                    format!("* BYE floor\r\n{tag} OK LOGOUT completed\r\n").as_bytes(),
                )?;
                return Ok(());
            }
            _ => "BAD not in imap-floor's dialogue",
        };
        reply.extend_from_slice(format!("{tag} {status}\r\n").as_bytes());
        writer.write_all(&reply)?;
    }
}

fn push_fetch(reply: &mut Vec<u8>, head: &str, message: &[u8]) {
    reply.extend_from_slice(head.as_bytes());
    reply.extend_from_slice(message);
    reply.extend_from_slice(b")\r\n");
}
