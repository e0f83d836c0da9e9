//! Random and mutated input through every mail parser (what the fuzz
//! targets do, briefly, on stable Rust): nothing panics, and the DATA
//! reader's output always has CRLF line ends.

use super::dot_stuffing::with_crlf_line_ends;
use super::maildir::FileName;
use super::pop3::command as pop3;
use super::sasl;
use super::smtp::command as smtp;
use super::smtp::data::{Data, read_data};
use crate::random_input::Random;

/// The bytes the mail parsers care about.
const SPECIAL: &[u8] = b"\r\n.<>@:= \0\"\\,";

const SEEDS: &[&[u8]] = &[
    b"MAIL FROM:<ada@mt.com> SIZE=100 BODY=8BITMIME",
    b"RCPT TO:<@a.org,@b.org:bob@cbrc.com>",
    b"RCPT TO:<\"a b\"@[10.0.0.1]>",
    b"EHLO pc.lab",
    b"AUTH PLAIN AGFkYQBzZWNyZXQ=",
    b"TOP 1 10",
    b"1700000000.M1P2Q3.host,U=7,S=120:2,FRS",
    b"Subject: x\r\n\r\n..a\r\n.\r\n",
    b"a\n.\r\nb\r.\r\n.\n\r\n.\r\n",
];

#[test]
fn line_parsers_never_panic() {
    let mut random = Random(0x9e37_79b9_7f4a_7c15);
    for _ in 0..20_000 {
        let input = random.mutate(SEEDS, SPECIAL);
        let _ = smtp::parse(&input);
        let _ = pop3::parse(&input);
        let _ = sasl::plain(&input);
        let _ = sasl::login_step(&input);
        if let Ok(name) = std::str::from_utf8(&input) {
            let _ = FileName::parse(name).map(|n| n.with_flags(&n.flags()).in_cur());
        }
    }
}

#[tokio::test]
async fn the_data_reader_never_panics_and_always_gives_crlf() {
    let mut random = Random(0x2545_f491_4f6c_dd1d);
    for _ in 0..5_000 {
        let mut input = random.mutate(SEEDS, SPECIAL);
        input.extend_from_slice(b"\r\n.\r\n");
        let mut reader = tokio::io::BufReader::with_capacity(3, input.as_slice());
        match read_data(&mut reader, 64).await.unwrap() {
            Data::Message(message) => {
                assert!(message.len() <= 128);
                assert_eq!(with_crlf_line_ends(message.clone()), message);
            }
            Data::TooBig => {}
            Data::Closed => panic!("ended without its final dot: {input:?}"),
        }
    }
}
