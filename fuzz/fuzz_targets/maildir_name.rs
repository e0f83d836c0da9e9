//! Fuzzes maildir file names (UID, size and flags in the name): parsing any
//! name never panics, and a parsed name written back parses to the same.
#![no_main]

use labctl::services::mail::maildir;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|name: &str| {
    if let Some(parsed) = maildir::FileName::parse(name) {
        if parsed.unique.contains([',', ':']) || parsed.info.contains([',', ':']) {
            return;
        }
        let flagged = parsed.with_flags(&parsed.flags());
        let again = maildir::FileName::parse(&flagged.in_cur()).expect("a name we wrote");
        assert_eq!(again.uid, flagged.uid);
        assert_eq!(again.size, flagged.size);
        assert_eq!(again.flags(), flagged.flags());
    }
});
