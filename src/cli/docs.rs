//! `labctl completions SHELL` and `labctl man`: the shell completions and
//! man pages, generated from the same command tree that parses the command
//! line, so they cannot drift from it. `make install` installs both.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::CommandFactory;
use clap_complete::Shell;

use super::Cli;

pub fn completions(shell: Shell) -> Result<ExitCode> {
    clap_complete::generate(shell, &mut Cli::command(), "labctl", &mut std::io::stdout());
    Ok(ExitCode::SUCCESS)
}

/// labctl(1) on stdout, or labctl.1 and labctl-VERB.1 (as git and cargo
/// ship them) written into `out_dir`.
pub fn man(out_dir: Option<&Path>) -> Result<ExitCode> {
    // `labctl help VERB` is not a page of its own: `labctl VERB --help` is.
    let command = Cli::command().disable_help_subcommand(true);
    match out_dir {
        None => clap_mangen::Man::new(command)
            .render(&mut std::io::stdout())
            .context("cannot write the man page")?,
        Some(dir) => clap_mangen::generate_to(command, dir)
            .with_context(|| format!("cannot write the man pages into {}", dir.display()))?,
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every argument of every verb says what it is, and every verb shows
    /// a real invocation in its help — checked on the tree itself, so a
    /// new argument or verb without them fails here.
    #[test]
    fn every_verb_has_examples_and_every_argument_a_description() {
        fn walk(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in command.get_arguments() {
                let id = arg.get_id().as_str();
                if id == "help" || id == "version" {
                    continue;
                }
                if arg.get_help().is_none() && arg.get_long_help().is_none() {
                    missing.push(format!("`{path}`: argument `{id}` has no description"));
                }
            }
            for sub in command.get_subcommands() {
                let name = format!("{path} {}", sub.get_name());
                if sub.get_name() == "help" || sub.is_hide_set() {
                    continue;
                }
                if sub.get_about().is_none() {
                    missing.push(format!("`{name}` has no description"));
                }
                let examples = sub
                    .get_after_help()
                    .or(sub.get_after_long_help())
                    .map(|s| s.to_string())
                    .unwrap_or_default();
                if !examples.contains("Examples:") || !examples.contains(&format!("{name} ")) {
                    missing.push(format!("`{name}` shows no example invocation in its help"));
                }
                walk(sub, &name, missing);
            }
        }
        let mut command = Cli::command();
        command.build();
        let mut missing = Vec::new();
        walk(&command, "labctl", &mut missing);
        assert!(missing.is_empty(), "{}", missing.join("\n"));
    }

    #[test]
    fn logs_help_names_the_three_mail_protocols() {
        let mut command = Cli::command();
        let logs = command
            .find_subcommand_mut("logs")
            .expect("logs exists")
            .render_long_help()
            .to_string();
        for protocol in ["SMTP", "POP3", "IMAP"] {
            assert!(logs.contains(protocol), "{logs}");
        }
    }
}
