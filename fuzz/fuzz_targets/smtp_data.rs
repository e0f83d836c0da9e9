//! Fuzzes the DATA reader (dot-unstuffing, the smuggling-safe end of data,
//! the size cap) and the line reader: no panic; what DATA returns has CRLF
//! line ends only, fits the cap, and survives dot-stuffing for sending and
//! reading back unchanged.
#![no_main]

use labctl::services::mail::dot_stuffing;
use labctl::services::mail::lines;
use labctl::services::mail::smtp::data;

use libfuzzer_sys::fuzz_target;
use tokio::io::BufReader;

const CAP: usize = 4096;

fn read(input: &[u8]) -> data::Data {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut reader = BufReader::with_capacity(7, input);
        data::read_data(&mut reader, CAP).await.unwrap()
    })
}

fuzz_target!(|input: &[u8]| {
    if let data::Data::Message(message) = read(input) {
        assert!(message.len() <= CAP * 2);
        assert_eq!(dot_stuffing::with_crlf_line_ends(message.clone()), message);
        let stuffed = dot_stuffing::dot_stuffed(&message);
        match read(&stuffed) {
            data::Data::Message(again) => {
                let mut expected = message.clone();
                if !expected.is_empty() && !expected.ends_with(b"\r\n") {
                    expected.extend_from_slice(b"\r\n");
                }
                if expected.len() <= CAP {
                    assert_eq!(again, expected);
                }
            }
            data::Data::TooBig => assert!(message.len() + 2 > CAP),
            data::Data::Closed => panic!("a stuffed message must end"),
        }
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut reader = BufReader::with_capacity(5, input);
        while let Ok(line) = lines::read_line(&mut reader, 64).await {
            match line {
                lines::Line::Complete(line) => assert!(line.len() <= 64),
                lines::Line::TooLong => {}
                lines::Line::Closed => break,
            }
        }
    });
});
