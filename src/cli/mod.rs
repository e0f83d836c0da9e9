//! The command line: one module per verb; this file only parses and dispatches.

mod check;
mod dhcp_client;
mod down;
mod exec;
mod graph;
mod logs;
mod mail;
mod status;
mod test;
mod up;
mod validate;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::lab::graph::GraphFormat;

#[derive(Parser)]
#[command(name = "labctl", version, about = "Real network labs from a YAML file", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check a lab file without building anything (no root needed).
    Validate { file: PathBuf },
    /// Build a lab and start its daemon; roll everything back on failure.
    Up {
        file: PathBuf,
        /// Run the lab under this name instead of the file's `name:`.
        #[arg(long)]
        name: Option<String>,
    },
    /// Stop a lab and remove everything it made (idempotent).
    Down {
        /// A lab name or a lab file.
        lab: Option<String>,
        /// Remove every lab labctl made on this machine.
        #[arg(long, conflicts_with = "lab")]
        all: bool,
    },
    /// Running labs, or one lab's nodes, interfaces, addresses and routes.
    Status {
        lab: Option<String>,
        /// Machine-readable output (documented in docs/status-json.md).
        #[arg(long)]
        json: bool,
    },
    /// Run a command inside a node, with the node's own /etc/resolv.conf.
    Exec {
        lab: String,
        node: String,
        #[arg(last = true, required = true, value_name = "COMMAND")]
        command: Vec<String>,
    },
    /// Print a node's service log: SMTP, POP3 and IMAP sessions (commands
    /// and replies; the server's MX lookups and outgoing SMTP too), DHCP
    /// exchanges (DISCOVER, OFFER, REQUEST, ACK with xid, MAC, address and
    /// relay) and DNS questions with their answers.
    Logs {
        lab: String,
        node: String,
        /// Keep printing new lines as they come (until Ctrl-C or the lab goes down).
        #[arg(short, long)]
        follow: bool,
        /// Also print the bodies of messages sent with DATA (`D:` lines).
        #[arg(long)]
        bodies: bool,
    },
    /// Open an interactive shell inside a node.
    Shell { lab: String, node: String },
    /// Draw a lab: a lab file as written (no root needed), or a running lab
    /// with its live addresses (DHCP leases included). Mermaid or DOT source,
    /// or an SVG/PNG picture (needs Graphviz `dot`).
    Graph {
        /// A lab file, or the name of a running lab.
        lab: String,
        /// mermaid (the default), dot, svg or png; with -o, taken from the
        /// file's extension when not given.
        #[arg(long, value_enum)]
        format: Option<GraphFormat>,
        /// Write to this file instead of standard output.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Print the JSON Schema of lab files (for editors).
    Schema,
    /// Run a running lab's checks (or those of a checks file) and grade it.
    /// Exit code: 0 all passed, 1 some failed, 2 the lab is not up or a file is invalid.
    Check {
        /// A lab name or a lab file.
        lab: String,
        /// Run the checks of this file instead of the lab file's own.
        #[arg(long, value_name = "FILE")]
        checks: Option<PathBuf>,
        /// Print the report as JSON (documented in docs/checks.md).
        #[arg(long)]
        json: bool,
        /// Also write the report as JUnit XML to this file.
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
    },
    /// Build a lab fresh, run its checks, and always tear it down (for CI).
    /// Exit code: 0 all passed, 1 some failed, 2 the lab could not be built or a file is invalid.
    Test {
        file: PathBuf,
        /// Run the lab under this name instead of the file's `name:` (grade
        /// several submissions that share a name side by side).
        #[arg(long)]
        name: Option<String>,
        /// Run the checks of this file instead of the lab file's own.
        #[arg(long, value_name = "FILE")]
        checks: Option<PathBuf>,
        /// Print the report as JSON (documented in docs/checks.md).
        #[arg(long)]
        json: bool,
        /// Also write the report as JUnit XML to this file.
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
    },
    /// A PC's mail client: send, list the inbox, read a message.
    #[command(subcommand)]
    Mail(mail::MailCommand),
    /// Run labctl's DHCP client once on an interface of the current network
    /// namespace (inside a node: `labctl exec LAB NODE -- labctl dhcp-client eth0`).
    DhcpClient { interface: String },
    /// The per-lab background process (started by `up`).
    #[command(hide = true)]
    Daemon { lab: String },
}

/// Exit codes: 0 success, 1 failure, 2 invalid lab file or usage.
pub const EXIT_INVALID: u8 = 2;

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Validate { file } => validate::run(&file),
        Command::Up { file, name } => up::run(&file, name.as_deref()),
        Command::Down { lab, all } => down::run(lab.as_deref(), all),
        Command::Status { lab, json } => status::run(lab.as_deref(), json),
        Command::Exec { lab, node, command } => exec::run(&lab, &node, &command),
        Command::Logs {
            lab,
            node,
            follow,
            bodies,
        } => logs::run(&lab, &node, follow, bodies),
        Command::Shell { lab, node } => exec::shell(&lab, &node),
        Command::Graph {
            lab,
            format,
            output,
        } => graph::run(&lab, format, output.as_deref()),
        Command::Schema => {
            let schema = crate::lab::schema::lab_schema();
            println!(
                "{}",
                serde_json::to_string_pretty(&schema).expect("schema is JSON")
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Check {
            lab,
            checks,
            json,
            junit,
        } => check::run(&lab, checks.as_deref(), &check::Output { json, junit }),
        Command::Test {
            file,
            name,
            checks,
            json,
            junit,
        } => test::run(
            &file,
            name.as_deref(),
            checks.as_deref(),
            &check::Output { json, junit },
        ),
        Command::Mail(command) => mail::run(command),
        Command::DhcpClient { interface } => dhcp_client::run(&interface),
        Command::Daemon { lab } => crate::daemon::run(&lab),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
