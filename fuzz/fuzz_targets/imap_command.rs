//! Fuzzes the IMAP command parser, and the MIME structure, ENVELOPE and
//! BODYSTRUCTURE rendering of arbitrary messages: none may panic, loop or
//! allocate beyond the input's size.
#![no_main]

use labctl::services::mail::imap::{mime, parser, structure};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = parser::parse(data);
    let part = mime::parse(data);
    let mut out = Vec::new();
    structure::push_envelope(&mut out, data, &part);
    structure::push_structure(&mut out, data, &part, true);
});
