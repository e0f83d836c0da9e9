//! Fuzzes the SMTP command parser and the SASL response decoders: any line
//! is a command or one of the parse errors, never a panic; a parsed mailbox
//! respects the RFC 5321 length limits.
#![no_main]

use labctl::services::mail::sasl;
use labctl::services::mail::smtp::command;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|line: &[u8]| {
    match command::parse(line) {
        Ok(command::Command::Rcpt(mailbox)) | Ok(command::Command::Mail(Some(mailbox), _)) => {
            assert!(!mailbox.local.is_empty() && mailbox.local.len() <= 64);
            assert!(!mailbox.domain.is_empty() && mailbox.domain.len() <= 255);
        }
        _ => {}
    }
    let _ = sasl::plain(line);
    let _ = sasl::login_step(line);
});
