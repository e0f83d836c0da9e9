//! Which lab's namespaces a verb enters when labctl runs rootless (the
//! lab it names, or a file's lab), and whether it starts them. Verbs that
//! touch no lab (validate, graph of a file, schema) run where they are;
//! `down` and the list of `status` work from outside.

use crate::ops::rootless::{Holding, grade_key};
use crate::ops::target::{lab_name, looks_like_file};

use super::Command;
use super::mail::MailCommand;

/// The lab (holder key) `command` runs in, if any.
pub(super) fn lab_of(command: &Command) -> Option<(String, Holding)> {
    let running = |target: &str| lab_name(target).ok().map(|lab| (lab, Holding::Running));
    let starting = |file: &std::path::Path, name: &Option<String>| {
        let lab = match name {
            Some(name) => Some(name.clone()),
            None => lab_name(&file.to_string_lossy()).ok(),
        };
        lab.map(|lab| (lab, Holding::Start))
    };
    match command {
        Command::Up { file, name, .. } | Command::Test { file, name, .. } => starting(file, name),
        Command::Grade { .. } => Some((grade_key(), Holding::Start)),
        Command::Restart { lab }
        | Command::Exec { lab, .. }
        | Command::Logs { lab, .. }
        | Command::Shell { lab, .. }
        | Command::Check { lab, .. }
        | Command::Capture { lab, .. }
        | Command::Ca { lab, .. }
        | Command::Link { lab, .. }
        | Command::Service { lab, .. }
        | Command::Apply { lab, .. }
        | Command::Web { lab, .. } => running(lab),
        Command::Status { lab: Some(lab), .. } => running(lab),
        Command::Graph { lab, .. } if !looks_like_file(lab) => running(lab),
        Command::Mail(
            MailCommand::Send { lab, .. }
            | MailCommand::Inbox { lab, .. }
            | MailCommand::Read { lab, .. },
        ) => running(lab),
        Command::Validate { .. }
        | Command::Down { .. }
        | Command::Status { lab: None, .. }
        | Command::Graph { .. }
        | Command::Schema
        | Command::DhcpClient { .. }
        | Command::Completions { .. }
        | Command::Man { .. }
        | Command::Daemon { .. }
        | Command::UsernsHolder { .. } => None,
    }
}
