//! `exec` checks: a command run inside a node the way `labctl exec` runs it
//! (its namespace, its /etc files, its hostname), with a time limit.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::checks::context::LabContext;
use crate::checks::outcome::{Diagnosis, Outcome, Step};
use crate::checks::resolver::Resolver;
use crate::lab::model_checks::{ExecCheck, OneOrMany};

/// Run time an `exec` check allows by default.
pub const DEFAULT_EXEC_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone, Debug)]
pub struct Exec {
    pub node: String,
    /// The program and its arguments (`sh -c LINE` for one line of shell).
    pub command: Vec<String>,
    /// The exit code it must end with.
    pub exit: i32,
    /// Text its output must contain.
    pub output: Option<String>,
    pub timeout: Duration,
}

pub fn resolve(r: &mut Resolver, c: &ExecCheck) -> Option<Exec> {
    let node = r.node("node", &c.node)?.name.clone();
    let command = match &c.command {
        OneOrMany::One(line) => vec!["sh".to_string(), "-c".to_string(), line.clone()],
        OneOrMany::Many(words) => words.clone(),
    };
    if command.is_empty() || command[0].is_empty() {
        r.error(
            "command",
            "the command is empty",
            "e.g. [ip, route] or \"ip route | grep default\"",
        );
        return None;
    }
    let timeout = r.duration("timeout", c.timeout.as_deref(), DEFAULT_EXEC_TIMEOUT)?;
    Some(Exec {
        node,
        command,
        exit: c.exit.unwrap_or(0),
        output: c.output.clone(),
        timeout,
    })
}

impl Exec {
    pub fn describe(&self) -> String {
        format!("{}: `{}` succeeds", self.node, self.command.join(" "))
    }

    pub fn run(&self, ctx: &LabContext) -> Step<Outcome> {
        probe(
            ctx,
            &self.node,
            &self.command,
            self.exit,
            self.output.as_deref(),
            self.timeout,
        )
    }
}

/// The most output kept from a command.
const MAX_OUTPUT: u64 = 1024 * 1024;

fn probe(
    ctx: &LabContext,
    node: &str,
    command: &[String],
    exit: i32,
    output: Option<&str>,
    timeout: Duration,
) -> Step<Outcome> {
    let exe = std::env::current_exe()
        .map_err(|e| Diagnosis::new("lab", format!("cannot find labctl: {e}"), ""))?;
    let mut child = Command::new(exe)
        .args(["exec", &ctx.lab, node, "--"])
        .args(command)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Diagnosis::new("lab", format!("cannot start labctl exec: {e}"), ""))?;
    let stdout = child.stdout.take().expect("piped");
    let stderr = child.stderr.take().expect("piped");
    let out_reader = std::thread::spawn(move || read_capped(stdout));
    let err_reader = std::thread::spawn(move || read_capped(stderr));
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => {
                return Err(Diagnosis::new(
                    "lab",
                    format!("cannot wait for the command: {e}"),
                    "",
                ));
            }
        }
    };
    let stdout = out_reader.join().unwrap_or_default();
    let stderr = err_reader.join().unwrap_or_default();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&stdout),
        String::from_utf8_lossy(&stderr)
    );
    let shown = command.join(" ");
    let Some(status) = status else {
        return Err(Diagnosis::new(
            "exec",
            format!(
                "`{shown}` on {node} did not finish within {:.0} s",
                timeout.as_secs_f64()
            ),
            "does it wait for something that never comes?",
        ));
    };
    let code = status.code().unwrap_or(-1);
    if code != exit {
        return Err(Diagnosis::new(
            "exec",
            format!(
                "`{shown}` on {node} exited with {code}, not {exit}: {}",
                last_lines(&text)
            ),
            String::new(),
        ));
    }
    if let Some(wanted) = output
        && !text.contains(wanted)
    {
        return Err(Diagnosis::new(
            "exec",
            format!(
                "the output of `{shown}` on {node} does not contain `{wanted}`: {}",
                last_lines(&text)
            ),
            String::new(),
        ));
    }
    Ok(Outcome::pass(format!("`{shown}` exited with {code}")))
}

fn read_capped(stream: impl Read) -> Vec<u8> {
    let mut buffer = Vec::new();
    let _ = stream.take(MAX_OUTPUT).read_to_end(&mut buffer);
    buffer
}

/// The end of a command's output, on one line, for a message.
fn last_lines(text: &str) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = lines[lines.len().saturating_sub(3)..].join(" | ");
    if tail.is_empty() {
        "(no output)".to_string()
    } else {
        tail.chars().take(300).collect()
    }
}
