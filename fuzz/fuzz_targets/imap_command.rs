//! Fuzzes the IMAP command parser, and the MIME structure, ENVELOPE and
//! BODYSTRUCTURE rendering of arbitrary messages: none may panic, loop or
//! allocate beyond the input's size. labctl is a binary crate, so the
//! modules are compiled in here from their source files, with the one
//! store type they name (`Flag`) taken from the maildir module.
#![no_main]
#![allow(dead_code)]

#[path = "../../src/services/mail/imap/address.rs"]
mod address;
#[path = "../../src/services/mail/imap/command.rs"]
mod command;
#[path = "../../src/services/mail/imap/date.rs"]
mod date;
#[path = "../../src/services/mail/maildir.rs"]
mod maildir;
#[path = "../../src/services/mail/imap/mime.rs"]
mod mime;
#[path = "../../src/services/mail/imap/parser.rs"]
mod parser;
#[path = "../../src/services/mail/imap/response.rs"]
mod response;
#[path = "../../src/services/mail/imap/sequence.rs"]
mod sequence;
#[path = "../../src/services/mail/imap/structure.rs"]
mod structure;

/// The paths the modules use for the store's types.
mod services {
    pub mod mail {
        pub mod store {
            pub use crate::maildir::Flag;
        }
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = parser::parse(data);
    let part = mime::parse(data);
    let mut out = Vec::new();
    structure::push_envelope(&mut out, data, &part);
    structure::push_structure(&mut out, data, &part, true);
});
