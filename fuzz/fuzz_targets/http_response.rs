//! Fuzzes the response parser of web checks: any bytes a lab server sends,
//! read to the close or cut at the read limit, are a response or one of the
//! errors, never a panic; a body never outgrows the answer, and an error
//! shows nothing a terminal would act on.
#![no_main]

use labctl::agent::http_response;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|raw: &[u8]| {
    for complete in [true, false] {
        match http_response::parse_response(raw, complete) {
            Ok(response) => {
                assert!(response.body.len() <= raw.len());
                assert!((100..=599).contains(&response.status));
            }
            Err(e) => assert!(!e.to_string().chars().any(char::is_control)),
        }
    }
});
