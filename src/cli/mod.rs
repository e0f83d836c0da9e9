//! The command line: one module per verb that parses its arguments, calls
//! `ops`, and prints text, JSON or JUnit with the verb's exit code; this
//! file only parses and dispatches.

mod apply;
mod ca;
mod capture;
mod check;
mod dhcp_client;
mod docs;
mod down;
mod exec;
mod grade;
mod graph;
mod link;
mod logs;
mod mail;
mod restart;
mod rootless;
mod service;
mod signals;
mod status;
mod test;
mod up;
mod validate;
mod web;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::ops::graph::GraphFormat;

#[derive(Parser)]
#[command(
    name = "labctl",
    version,
    about = "Real network labs from a YAML file",
    long_about = "Real network labs from a YAML file: namespaces, veth pairs, bridges, \
                  routers that forward, and DHCP, DNS, mail and web servers inside them.\n\
                  As root, labs are built in the host's kernel as always; as an ordinary user (or with \
                  --rootless), each lab runs in a user namespace of its own.",
    after_help = "Examples:\n  \
                  labctl validate labs/mastertech.yaml\n  \
                  labctl up labs/mastertech.yaml\n  \
                  labctl exec mastertech mgmt-pc1 -- ping -c1 192.168.10.2\n  \
                  labctl down mastertech\n\n\
                  `labctl VERB --help` shows each verb's arguments and examples."
)]
pub(crate) struct Cli {
    /// Run labs as an ordinary user would (the default when not root): each
    /// lab in a user namespace of its own, its state under
    /// $XDG_RUNTIME_DIR/labctl.
    #[arg(long, global = true)]
    rootless: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check a lab file without building anything (no root needed).
    ///
    /// Every problem is reported with file:line:col, the line, and a hint.
    /// Diagnostics and, for an invalid file, the error count go to stderr;
    /// the verdict of a valid file goes to stdout.
    /// Exit code: 0 valid, 2 invalid.
    #[command(after_help = "Examples:\n  \
                            labctl validate labs/mastertech.yaml\n  \
                            labctl validate office.yaml && labctl up office.yaml")]
    Validate {
        /// The lab file (YAML) to check.
        file: PathBuf,
    },
    /// Build a lab and start its daemon; roll everything back on failure.
    ///
    /// Validates the file, creates a network namespace per node, the links,
    /// bridges, addresses and routes, starts the lab's services, waits for
    /// every DHCP lease, and prints a summary. On any failure (or Ctrl-C)
    /// everything made so far is removed again.
    #[command(after_help = "Examples:\n  \
                            labctl up labs/mastertech.yaml\n  \
                            labctl up student.yaml --name ada-lab1\n  \
                            labctl up student.yaml --keep-going")]
    Up {
        /// The lab file (YAML) to build.
        file: PathBuf,
        /// Run the lab under this name instead of the file's `name:`.
        #[arg(long)]
        name: Option<String>,
        /// Leave the lab up when a DHCP client gets no lease, as Packet
        /// Tracer leaves a PC without an address, so it can be explored;
        /// the failed leases are reported. Without it, `up` rolls back.
        #[arg(long)]
        keep_going: bool,
    },
    /// Stop a lab and remove everything it made (idempotent).
    ///
    /// Removes the daemon, the processes inside the lab, its namespaces,
    /// links, bridges, /etc/netns files and state. Works after a crash or
    /// `kill -9` too.
    #[command(after_help = "Examples:\n  \
                            labctl down mastertech\n  \
                            labctl down labs/mastertech.yaml\n  \
                            labctl down --all")]
    Down {
        /// A lab name or a lab file.
        lab: Option<String>,
        /// Remove every lab labctl made on this machine.
        #[arg(long, conflicts_with = "lab")]
        all: bool,
    },
    /// Start a lab's daemon again after it crashed or was killed, keeping
    /// its mail, relay queue and DHCP leases (refused while one runs).
    #[command(after_help = "Examples:\n  \
                            labctl restart mastertech\n  \
                            labctl restart labs/mastertech.yaml")]
    Restart {
        /// A lab name or a lab file.
        lab: String,
    },
    /// Running labs, or one lab's nodes, interfaces, addresses and routes.
    #[command(after_help = "Examples:\n  \
                            labctl status\n  \
                            labctl status mastertech\n  \
                            labctl status mastertech --json")]
    Status {
        /// The lab to show (default: list the running labs).
        lab: Option<String>,
        /// Machine-readable output (documented in docs/status-json.md).
        #[arg(long)]
        json: bool,
    },
    /// Run a command inside a node, with the node's own /etc/resolv.conf.
    ///
    /// The command runs in the node's network namespace, under its hostname,
    /// with its /etc/netns files over /etc. Exit code, as `docker exec`:
    /// the command's own; 125 labctl could not get there (no such lab or
    /// node, cannot enter the namespace); 126 the command cannot be run;
    /// 127 the command was not found.
    #[command(after_help = "Examples:\n  \
                            labctl exec mastertech mgmt-pc1 -- ping -c1 192.168.10.2\n  \
                            labctl exec mastertech mgmt-pc1 -- dig mt.com MX\n  \
                            labctl exec mastertech backend-pc1 -- labctl dhcp-client eth0")]
    Exec {
        /// The running lab.
        lab: String,
        /// The node to run the command in.
        node: String,
        /// The command and its arguments, after `--`.
        #[arg(last = true, required = true, value_name = "COMMAND")]
        command: Vec<String>,
    },
    /// Cut, restore or impair a cable of a running lab.
    ///
    /// down/up unplugs the cable at both ends or plugs it back in. Routers
    /// with `routing: auto` re-converge at once: the lab daemon recomputes
    /// the shortest paths over the links that are up and prints what moved
    /// ("r1: 192.168.2.0/24 now via r3"). Static routes stay as written.
    /// --delay, --jitter, --loss, --rate, --duplicate and --corrupt replace
    /// the cable's impairments (netem on both ends, so each direction gets
    /// them); --clear takes them off. A cable is named by its two nodes,
    /// with interfaces when two cables join them.
    #[command(after_help = "Examples:\n  \
                            labctl link triangle r1 r2 down\n  \
                            labctl link triangle r1:eth0 r2:eth0 up\n  \
                            labctl link triangle r1 r2 --delay 200ms --loss 5%\n  \
                            labctl link triangle r1 r2 --clear")]
    Link {
        /// The running lab.
        lab: String,
        /// One end of the cable: NODE or NODE:IFACE.
        a: String,
        /// The other end: NODE or NODE:IFACE.
        b: String,
        /// down (unplug) or up (plug back in).
        #[arg(value_enum)]
        state: Option<link::CableState>,
        #[command(flatten)]
        impair: link::ImpairArgs,
    },
    /// Stop or start one server of a running lab (dhcp, dns, mail, web).
    ///
    /// For fault-finding exercises: the server's ports close as if it had
    /// crashed; `status` shows it stopped and checks diagnose it ("the DNS
    /// server on ns is stopped"). Mail, queue and leases are kept.
    #[command(after_help = "Examples:\n  \
                            labctl service mastertech server dns stop\n  \
                            labctl service mastertech server dns start")]
    Service {
        /// The running lab.
        lab: String,
        /// The node that runs the server.
        node: String,
        /// dhcp, dns, mail, web or webmail.
        service: String,
        /// stop or start.
        #[arg(value_enum)]
        state: service::ServiceState,
    },
    /// Apply edits of the lab file to the running lab without rebuilding it.
    ///
    /// Mail users, passwords and domains change in place (mail, the queue
    /// and open sessions stay); every other difference is listed as
    /// needing `down` and `up`.
    #[command(after_help = "Examples:\n  \
                            labctl apply mastertech\n  \
                            labctl apply mastertech labs/mastertech.yaml")]
    Apply {
        /// The running lab.
        lab: String,
        /// The edited lab file (default: the file the lab was started from).
        file: Option<PathBuf>,
    },
    /// Print a node's service log: SMTP, POP3 and IMAP sessions, DHCP
    /// exchanges and DNS questions.
    ///
    /// SMTP, POP3 and IMAP sessions with their commands and replies as they
    /// went over the wire (the server's MX lookups and outgoing SMTP too),
    /// DHCP exchanges (DISCOVER, OFFER, REQUEST, ACK with xid, MAC, address
    /// and relay) and DNS questions with their answers.
    #[command(after_help = "Examples:\n  \
                            labctl logs mastertech mail\n  \
                            labctl logs mastertech mail -f\n  \
                            labctl logs mastertech mail --bodies | grep -A3 AUTH")]
    Logs {
        /// The running lab.
        lab: String,
        /// The node whose services' log to print (a mail, DNS or DHCP server,
        /// a DHCP relay or a DHCP client).
        node: String,
        /// Keep printing new lines as they come (until Ctrl-C or the lab goes down).
        #[arg(short, long)]
        follow: bool,
        /// Also print the bodies of messages sent with DATA (`D:` lines).
        #[arg(long)]
        bodies: bool,
    },
    /// Print the lab's certificate authority (PEM), to trust it on the host.
    ///
    /// A lab whose services say `tls: optional` or `tls: required` gets its
    /// own CA at `up`; the lab's nodes trust it already. Import it into a
    /// browser on the host to open the lab's HTTPS sites without a warning;
    /// it can vouch only for the lab's own names and addresses.
    #[command(after_help = "Examples:\n  \
                            labctl ca mail-security > mail-security-ca.pem\n  \
                            labctl ca mail-security -o /tmp/lab-ca.pem")]
    Ca {
        /// The running lab.
        lab: String,
        /// Write the PEM to this file instead of printing it.
        #[arg(short, long, value_name = "FILE")]
        output: Option<std::path::PathBuf>,
    },
    /// Open an interactive shell inside a node ($SHELL, else /bin/sh).
    ///
    /// Exit codes as for `exec`.
    #[command(after_help = "Examples:\n  \
                            labctl shell mastertech backend-pc1\n  \
                            labctl shell mastertech r1")]
    Shell {
        /// The running lab.
        lab: String,
        /// The node to open the shell in.
        node: String,
    },
    /// Draw a lab: a lab file as written (no root needed), or a running lab
    /// with its live addresses (DHCP leases included).
    ///
    /// Mermaid or DOT source, or an SVG/PNG picture (needs Graphviz `dot`).
    #[command(after_help = "Examples:\n  \
                            labctl graph labs/mastertech.yaml > mastertech.mmd\n  \
                            labctl graph labs/mastertech.yaml --format dot\n  \
                            labctl graph mastertech -o mastertech.svg")]
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
    /// Print the JSON Schema of lab files (for editors; no root needed).
    ///
    /// Save it next to your lab files and point the first line of each at
    /// it: `# yaml-language-server: $schema=lab.schema.json`.
    #[command(after_help = "Examples:\n  \
                            labctl schema > lab.schema.json")]
    Schema,
    /// Run a running lab's checks (or those of a checks file) and grade it.
    ///
    /// Exit code: 0 all passed, 1 some failed, 2 the lab is not up or a file is invalid.
    #[command(after_help = "Examples:\n  \
                            labctl check mastertech\n  \
                            labctl check mastertech --checks examples/mastertech/checks.yaml --junit report.xml")]
    Check {
        /// A lab name or a lab file.
        lab: String,
        #[command(flatten)]
        run: check::RunArgs,
    },
    /// Build a lab fresh, run its checks, and always tear it down (for CI).
    ///
    /// Exit code: 0 all passed, 1 some failed, 2 the lab could not be built or a file is invalid.
    #[command(after_help = "Examples:\n  \
                            labctl test labs/mastertech.yaml\n  \
                            labctl test student.yaml --name ada --checks rubric.yaml --junit ada.xml")]
    Test {
        /// The lab file (YAML) to build and grade.
        file: PathBuf,
        /// Run the lab under this name instead of the file's `name:` (grade
        /// several submissions that share a name side by side).
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        run: check::RunArgs,
    },
    /// Grade a class: many submissions against one rubric, side by side.
    ///
    /// Each lab file (a folder gives its *.yaml and *.yml files) is built
    /// fresh under a lab name of its own, checked and torn down, like
    /// `test`, N at a time. Prints a table (student, points, %, failed
    /// checks) and writes CSV, JSON and one JUnit file per submission.
    /// A submission that cannot be graded (invalid file, lab does not
    /// build) gets a row with 0 points and the reason.
    /// Exit code: 0 every submission was graded (whatever it scored), 1 some
    /// could not be graded, 2 bad arguments or an invalid rubric, 130/143
    /// interrupted (every lab torn down). See docs/grading.md.
    #[command(after_help = "Examples:\n  \
                            labctl grade submissions/ --checks rubric.yaml --csv grades.csv\n  \
                            labctl grade submissions/ --checks rubric.yaml --jobs 4 --junit-dir reports/\n  \
                            labctl grade submissions/ --checks rubric.yaml --shard 2/8 --json shard-2.json")]
    Grade {
        /// Lab files, or folders of them (one file per student; the file
        /// name is the student's name in the reports).
        #[arg(required = true, value_name = "SUBMISSIONS")]
        submissions: Vec<PathBuf>,
        /// The instructor's checks file every submission is graded by.
        #[arg(long, value_name = "RUBRIC")]
        checks: PathBuf,
        /// How many submissions to grade at once (default: the number of cores).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
        jobs: Option<u16>,
        /// Grade only the I-th of N slices of the submissions (1 <= I <= N),
        /// to spread a class over N CI jobs; the N slices partition it.
        #[arg(long, value_name = "I/N", value_parser = grade::parse_shard)]
        shard: Option<crate::ops::grade::Shard>,
        /// Write the grades as CSV (for an LMS grade import) to this file.
        #[arg(long, value_name = "FILE")]
        csv: Option<PathBuf>,
        /// Write the grades and every report as JSON to this file.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
        /// Write one JUnit XML file per submission into this folder.
        #[arg(long, value_name = "DIR")]
        junit_dir: Option<PathBuf>,
        /// Leave the messages mail checks send in the mailboxes (normally
        /// each is removed once it has been verified).
        #[arg(long)]
        keep_mail: bool,
    },
    /// Capture the packets on a running lab's interfaces (every interface
    /// of every node by default) into pcapng, or show what they mean live.
    ///
    /// Each node's interfaces are captured inside its namespace, with one
    /// clock for all. Without -w, one line per event as a networking course
    /// names it (ARP, ICMP, DHCP, DNS, TCP, and the SMTP, POP3, IMAP and
    /// HTTP dialogue), labelled by node, with the hop-by-hop path of its
    /// packet; --sequence draws the dialogue as a Mermaid sequence diagram
    /// instead; -r shows a pcapng file the same way. The pcapng file has
    /// one interface per `node:iface` and the kernel's drop counts; `-w -`
    /// streams it for a live Wireshark. Ends after --for, after --count
    /// frames, or on Ctrl-C, with a summary per interface on stderr. Exit
    /// code: 0 done, 1 the capture failed, 2 it could not start (lab not
    /// up, unknown interface, bad filter or option).
    #[command(after_help = "Examples:\n  \
                            labctl capture mastertech\n  \
                            labctl capture mastertech --proto smtp,dns --node mgmt-pc1\n  \
                            labctl capture mastertech r1 mail:eth0 -w mail.pcapng --for 30s\n  \
                            labctl capture mastertech -f 'udp port 67 or udp port 68' --count 20\n  \
                            labctl capture mastertech --sequence --proto smtp --for 20s > smtp.mmd\n  \
                            labctl capture mastertech --sequence -r run.pcapng\n  \
                            labctl capture mastertech -w - | wireshark -k -i -")]
    Capture {
        /// A lab name or its lab file.
        lab: String,
        /// `NODE` (all its interfaces) or `NODE:IFACE`; none means every
        /// interface of every node.
        #[arg(value_name = "NODE[:IFACE]")]
        taps: Vec<String>,
        /// Write pcapng to this file (`-`: standard output) instead of
        /// printing what happens.
        #[arg(short = 'w', long = "write", value_name = "FILE", conflicts_with_all = ["read", "sequence", "proto", "node"])]
        write: Option<PathBuf>,
        /// Show this pcapng file (written by -w or --capture; `-`: standard
        /// input) instead of capturing.
        #[arg(short = 'r', long = "read", value_name = "FILE", conflicts_with_all = ["filter", "duration", "count", "taps"])]
        read: Option<PathBuf>,
        /// A Mermaid sequence diagram of the application dialogue (DHCP,
        /// DNS, SMTP, POP3, IMAP, HTTP), printed when the capture ends.
        #[arg(long)]
        sequence: bool,
        /// Show only these protocols: arp, icmp, dhcp, dns, tcp, udp, smtp,
        /// pop3, imap, http, other (`tcp` includes the handshake of an
        /// SMTP connection).
        #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = capture::parse_proto)]
        proto: Vec<crate::capture::decode::Proto>,
        /// Show only events sent by, sent to or seen at these nodes.
        #[arg(long, value_name = "NODE", value_delimiter = ',')]
        node: Vec<String>,
        /// Keep only frames matching this filter (tcpdump's syntax, man 7
        /// pcap-filter), applied in the kernel.
        #[arg(short = 'f', long = "filter", value_name = "BPF")]
        filter: Option<String>,
        /// Stop after this long (10s, 500ms, 2m).
        #[arg(long = "for", value_name = "DURATION", value_parser = capture::parse_duration)]
        duration: Option<std::time::Duration>,
        /// Stop after this many frames (over all interfaces).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
        count: Option<u64>,
    },
    /// Show a running lab in the browser: its topology live, its packets
    /// as events moving hop by hop, its checks, mail and pings.
    ///
    /// Serves one page (every asset inside labctl: it works offline) and
    /// prints its URL. The page reads the lab and adds nothing to it; the
    /// packets come from a capture of every interface, as `labctl
    /// capture`. It listens on 127.0.0.1 only, unless --listen names
    /// another address: anyone who can reach that address can then see the
    /// lab and run its checks and send its mail. Runs until Ctrl-C.
    #[command(after_help = "Examples:\n  \
                            labctl web mastertech\n  \
                            labctl web mastertech --listen 127.0.0.1:9000\n  \
                            labctl web mastertech --replay mail.pcapng")]
    Web {
        /// A lab name or its lab file (the lab must be up).
        lab: String,
        /// The address and port to serve on (default 127.0.0.1:8080; port 0
        /// picks a free one). A non-loopback address is only taken from here.
        #[arg(long, value_name = "ADDR:PORT")]
        listen: Option<std::net::SocketAddr>,
        /// Step through this pcapng file (from `labctl capture -w`) instead
        /// of capturing live.
        #[arg(long, value_name = "FILE")]
        replay: Option<PathBuf>,
    },
    /// A PC's mail client: send, list the inbox, read a message.
    #[command(
        subcommand,
        after_help = "Examples:\n  \
                      labctl mail send mastertech backend-pc1 --to bob@mt.com --subject Hello\n  \
                      labctl mail inbox mastertech mgmt-pc1\n  \
                      labctl mail read mastertech mgmt-pc1 1"
    )]
    Mail(mail::MailCommand),
    /// Run labctl's DHCP client once on an interface of the current network
    /// namespace (only inside a lab node).
    #[command(after_help = "Examples:\n  \
                            labctl exec mastertech backend-pc1 -- labctl dhcp-client eth0")]
    DhcpClient {
        /// The interface to get a lease for.
        interface: String,
    },
    /// Print a shell completion script.
    ///
    /// `make install` installs them; by hand, for bash:
    /// `labctl completions bash > /usr/share/bash-completion/completions/labctl`.
    #[command(after_help = "Examples:\n  \
                            labctl completions bash > /usr/share/bash-completion/completions/labctl\n  \
                            labctl completions zsh > /usr/local/share/zsh/site-functions/_labctl\n  \
                            labctl completions fish > ~/.config/fish/completions/labctl.fish")]
    Completions {
        /// The shell to complete in.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page labctl(1), or write it and one page per verb to a directory.
    #[command(after_help = "Examples:\n  \
                            labctl man | man -l -\n  \
                            labctl man --out-dir /usr/local/share/man/man1")]
    Man {
        /// Write labctl.1 and labctl-VERB.1 for every verb into this directory.
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
    },
    /// The per-lab background process (started by `up`).
    #[command(hide = true)]
    Daemon {
        /// The lab it serves.
        lab: String,
    },
    /// The process that holds a rootless lab's namespaces (started by `up`).
    #[command(hide = true)]
    UsernsHolder {
        /// Its dir under the state root.
        dir: PathBuf,
    },
}

/// Exit codes: 0 success, 1 failure, 2 invalid lab file or usage.
pub const EXIT_INVALID: u8 = 2;

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.rootless {
        crate::rootless::force();
    }
    // Rootless, a verb on a lab moves into its namespaces first, while
    // labctl is still single-threaded.
    // `web` opens its listening socket before that: a socket keeps the
    // network namespace it was made in, so the page stays on the host's
    // loopback (where the browser is), not the lab holder's.
    let web_listener = match &cli.command {
        Command::Web { listen, .. } => match web::bind(*listen) {
            Ok(listener) => Some(listener),
            Err(e) => {
                eprintln!("error: {}", crate::printable::lines(&format!("{e:#}")));
                return ExitCode::FAILURE;
            }
        },
        _ => None,
    };
    let entered = if crate::rootless::active() && !crate::rootless::inside() {
        rootless::lab_of(&cli.command)
    } else {
        None
    };
    if let Some((lab, holding)) = &entered
        && let Err(e) = crate::ops::rootless::enter(lab, *holding)
    {
        eprintln!("error: {}", crate::printable::lines(&format!("{e:#}")));
        return ExitCode::from(match cli.command {
            Command::Exec { .. } | Command::Shell { .. } => exec::EXIT_LABCTL_FAILED,
            Command::Check { .. } | Command::Test { .. } => EXIT_INVALID,
            _ => 1,
        });
    }
    let code = run(cli.command, web_listener);
    if let Some((lab, _)) = entered {
        crate::ops::rootless::leave(&lab);
    }
    code
}

fn run(command: Command, web_listener: Option<web::Listener>) -> ExitCode {
    let result = match command {
        Command::Validate { file } => validate::run(&file),
        Command::Up {
            file,
            name,
            keep_going,
        } => up::run(&file, name.as_deref(), keep_going),
        Command::Down { lab, all } => down::run(lab.as_deref(), all),
        Command::Restart { lab } => restart::run(&lab),
        Command::Status { lab, json } => status::run(lab.as_deref(), json),
        Command::Exec { lab, node, command } => exec::run(&lab, &node, &command),
        Command::Logs {
            lab,
            node,
            follow,
            bodies,
        } => logs::run(&lab, &node, follow, bodies),
        Command::Link {
            lab,
            a,
            b,
            state,
            impair,
        } => link::run(&lab, &a, &b, state, &impair),
        Command::Service {
            lab,
            node,
            service,
            state,
        } => service::run(&lab, &node, &service, state),
        Command::Apply { lab, file } => apply::run(&lab, file.as_deref()),
        Command::Shell { lab, node } => exec::shell(&lab, &node),
        Command::Ca { lab, output } => ca::run(&lab, output.as_deref()),
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
        Command::Web { lab, replay, .. } => match web_listener {
            Some(listener) => web::run(&lab, listener, replay),
            None => Err(anyhow::anyhow!("labctl web: no listening socket")),
        },
        Command::Capture {
            lab,
            taps,
            write,
            read,
            sequence,
            proto,
            node,
            filter,
            duration,
            count,
        } => capture::run(capture::Args {
            request: crate::ops::capture::Request {
                lab,
                taps,
                filter,
                duration,
                count,
            },
            write,
            read,
            view: crate::ops::capture::View {
                filter: crate::capture::decode::Filter {
                    protos: proto,
                    nodes: node,
                },
                sequence,
            },
        }),
        Command::Check { lab, run } => check::run(&lab, &run),
        Command::Test { file, name, run } => test::run(&file, name.as_deref(), &run),
        Command::Grade {
            submissions,
            checks,
            jobs,
            shard,
            csv,
            json,
            junit_dir,
            keep_mail,
        } => grade::run(&grade::Args {
            submissions,
            rubric: checks,
            jobs: jobs.map_or_else(grade::default_jobs, usize::from),
            shard,
            csv,
            json,
            junit_dir,
            keep_mail,
        }),
        Command::Mail(command) => mail::run(command),
        Command::DhcpClient { interface } => dhcp_client::run(&interface),
        Command::Completions { shell } => docs::completions(shell),
        Command::Man { out_dir } => docs::man(out_dir.as_deref()),
        Command::Daemon { lab } => crate::daemon::run(&lab),
        Command::UsernsHolder { dir } => Ok(crate::ops::rootless::run_holder(&dir)),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            // Errors quote what lab servers said (a DHCP NAK, an SMTP reply).
            eprintln!("error: {}", crate::printable::lines(&format!("{e:#}")));
            ExitCode::FAILURE
        }
    }
}
