//! Fuzzes the POP3 command parser: any line is a command or `Unknown`,
//! never a panic, and message numbers are numbers or `None`.
#![no_main]

use labctl::services::mail::pop3::command;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|line: &[u8]| {
    if let command::Command::Top(Some(n), _) | command::Command::Retr(Some(n)) = command::parse(line) {
        let text = String::from_utf8_lossy(line);
        assert!(text.contains(&n.to_string()));
    }
});
