//! Responses from friendly and hostile web servers: every hostile one is a
//! clear error naming the part at fault, never a panic; and many thousand
//! random and mutated answers on stable Rust.

use super::*;
use crate::random_input::Random;

fn parsed(raw: &[u8]) -> Result<Response, ResponseError> {
    parse_response(raw, true)
}

/// The part and detail of a malformed answer.
fn fault(raw: &[u8]) -> (Part, String) {
    match parsed(raw) {
        Err(ResponseError::Malformed { part, detail }) => (part, detail),
        other => panic!("not malformed: {other:?} for {:?}", quoted(raw)),
    }
}

fn chunked(body: &str) -> Vec<u8> {
    format!("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{body}").into_bytes()
}

#[test]
fn parses_lengths_chunks_and_the_end_of_the_connection() {
    let r = parsed(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello, extra").unwrap();
    assert_eq!((r.status, r.body.as_slice()), (200, &b"hello"[..]));
    let r = parsed(b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nTrailer: t\r\n\r\n").unwrap();
    assert_eq!(
        (r.status, r.body.as_slice(), r.reason.as_str()),
        (404, &b"abcde"[..], "Not Found")
    );
    let r = parsed(b"HTTP/1.0 200 OK\r\nServer: x\r\n\r\nuntil the close").unwrap();
    assert_eq!(r.body, b"until the close");
    // Transfer-Encoding wins over Content-Length (RFC 9112 §6.3).
    let r = parsed(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n").unwrap();
    assert_eq!(r.body, b"ok");
    let r = parsed(b"HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n").unwrap();
    assert!(r.body.is_empty());
}

#[test]
fn a_huge_chunk_size_is_a_cut_short_chunk_not_a_panic() {
    // Overflowed `size + 2` in debug builds, sliced out of range in release.
    let (part, detail) = fault(&chunked("ffffffffffffffff\r\nabc\r\n0\r\n\r\n"));
    assert_eq!(part, Part::ChunkedBody);
    assert!(
        detail.contains("18446744073709551615 bytes ends after 10"),
        "{detail}"
    );
    let (part, _) = fault(&chunked("fffffff0\r\nabc"));
    assert_eq!(part, Part::ChunkedBody);
}

#[test]
fn a_chunk_size_beyond_64_bits_or_not_hex_is_refused() {
    for size in ["10000000000000000", "-5", "zz", "0x10", " 5", "", "5 5"] {
        let (part, detail) = fault(&chunked(&format!("{size}\r\nhello\r\n0\r\n\r\n")));
        assert_eq!(part, Part::ChunkedBody, "{size:?}");
        assert!(detail.contains("chunk size"), "{size:?}: {detail}");
    }
}

#[test]
fn an_endless_chunk_size_line_is_refused_at_its_cap() {
    let long = format!("5;{}\r\nhello\r\n0\r\n\r\n", "x".repeat(MAX_CHUNK_LINE));
    let (part, detail) = fault(&chunked(&long));
    assert_eq!(part, Part::ChunkedBody);
    assert!(detail.contains("longer than 1024 bytes"), "{detail}");
    // Just under the cap is fine.
    let ok = format!("5;{}\r\nhello\r\n0\r\n\r\n", "x".repeat(MAX_CHUNK_LINE - 5));
    assert_eq!(parsed(&chunked(&ok)).unwrap().body, b"hello");
}

#[test]
fn missing_crlfs_are_named() {
    let (part, detail) = fault(&chunked("3\r\nabcX0\r\n\r\n"));
    assert_eq!(part, Part::ChunkedBody);
    assert!(detail.contains("followed by \"X0"), "{detail}");
    let (part, detail) = fault(&chunked("3\r\nabc"));
    assert_eq!(part, Part::ChunkedBody);
    assert!(detail.contains("before its CRLF"), "{detail}");
    let (part, _) = fault(&chunked("3\r\nabc\r\n"));
    assert_eq!(part, Part::ChunkedBody, "no last chunk");
    let (part, _) = fault(&chunked("3\nabc\r\n0\r\n\r\n"));
    assert_eq!(part, Part::ChunkedBody, "LF alone after the size");
    let (part, detail) = fault(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nhi");
    assert_eq!(part, Part::Head);
    assert!(detail.contains("ends before the empty line"), "{detail}");
    let (part, _) = fault(b"HTTP/1.1 200 OK\rContent-Length: 2\r\n\r\nhi");
    assert_eq!(part, Part::Head);
}

#[test]
fn endless_headers_are_refused_at_their_caps() {
    let mut many = b"HTTP/1.1 200 OK\r\n".to_vec();
    for i in 0..=MAX_HEADERS {
        many.extend_from_slice(format!("X-{i}: y\r\n").as_bytes());
    }
    many.extend_from_slice(b"\r\n");
    let (part, detail) = fault(&many);
    assert_eq!(part, Part::Head);
    assert!(detail.contains("more than 100 header fields"), "{detail}");
    let mut endless = b"HTTP/1.1 200 OK\r\nX-Long: ".to_vec();
    endless.resize(MAX_HEAD + 10, b'a');
    let (part, detail) = fault(&endless);
    assert_eq!(part, Part::Head);
    assert!(detail.contains("within 64 KiB"), "{detail}");
}

#[test]
fn bad_heads_and_lengths_are_refused() {
    assert_eq!(parsed(b""), Err(ResponseError::Empty));
    let (part, detail) = fault(b"SSH-2.0-OpenSSH\r\n\r\n");
    assert_eq!(part, Part::Head);
    assert!(detail.contains("not HTTP/1.x"), "{detail}");
    let (part, _) = fault(b"HTTP/1.1 2000 OK\r\n\r\n");
    assert_eq!(part, Part::Head);
    let (part, _) = fault(b"HTTP/1.1 099 Odd\r\n\r\n");
    assert_eq!(part, Part::Head);
    for length in ["-1", "1e3", "99999999999999999999999", "+5", "5, 6"] {
        let raw = format!("HTTP/1.1 200 OK\r\nContent-Length: {length}\r\n\r\nhello");
        let (part, detail) = fault(raw.as_bytes());
        assert_eq!(part, Part::Head, "{length}");
        assert!(detail.contains("not a number"), "{length}: {detail}");
    }
    let (_, detail) =
        fault(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!");
    assert!(detail.contains("two different"), "{detail}");
    let (part, detail) =
        fault(b"HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\n\r\nabc");
    assert_eq!(part, Part::Body);
    assert!(detail.contains("after 3 of the"), "{detail}");
    // The escape sequences a hostile server sends are shown escaped.
    let r = parsed(b"HTTP/1.1 200 O\xc2\x9b2JK\r\n\r\n").unwrap();
    assert_eq!(r.reason, "", "a C1 control (CSI) in the reason");
    let (_, detail) = fault(b"\x1b[2J\x1b]0;pwned\x07 HTTP/1.1\r\n\r\n");
    assert!(!detail.chars().any(char::is_control), "{detail}");
}

#[test]
fn an_answer_cut_at_the_read_limit_is_too_large() {
    let mut big = b"HTTP/1.1 200 OK\r\nContent-Length: 2000000\r\n\r\n".to_vec();
    big.resize(MAX_RESPONSE, b'a');
    assert_eq!(parse_response(&big, false), Err(ResponseError::TooLarge));
    let mut big = chunked("200000\r\n");
    big.resize(MAX_RESPONSE, b'a');
    assert_eq!(parse_response(&big, false), Err(ResponseError::TooLarge));
    let mut big = b"HTTP/1.1 200 OK\r\n\r\n".to_vec();
    big.resize(MAX_RESPONSE, b'a');
    assert_eq!(parse_response(&big, false), Err(ResponseError::TooLarge));
    // A complete page inside the limit is fine even when more followed.
    let r = parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokmore", false);
    assert_eq!(r.unwrap().body, b"ok");
}

const SEEDS: &[&[u8]] = &[
    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n10;ext=1\r\n0123456789abcdef\r\n0\r\n\r\n",
    b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nffffffffffffffff\r\nab\r\n0\r\n\r\n",
    b"HTTP/1.0 301 Moved\r\nLocation: /x\r\n\r\nbody until close",
    b"HTTP/1.1 204 No Content\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\nshort",
];

/// The bytes response parsing cares about.
const SPECIAL: &[u8] = b"\r\n:;, 0123456789abcdefF\t-";

#[test]
fn random_and_mutated_answers_never_panic() {
    let mut random = Random(0x243f_6a88_85a3_08d3);
    let mut outcomes = [0usize; 2];
    for round in 0..40_000 {
        let input = if round % 8 == 0 {
            let len = (random.next() % 300) as usize;
            (0..len).map(|_| random.next() as u8).collect()
        } else {
            random.mutate(SEEDS, SPECIAL)
        };
        for complete in [true, false] {
            match parse_response(&input, complete) {
                Ok(response) => {
                    outcomes[0] += 1;
                    assert!(response.body.len() <= input.len(), "{input:?}");
                    assert!((100..=599).contains(&response.status), "{input:?}");
                    assert!(
                        response
                            .reason
                            .bytes()
                            .all(|b| b == b'\t' || (b' '..=b'~').contains(&b))
                    );
                }
                Err(e) => {
                    outcomes[1] += 1;
                    let shown = e.to_string();
                    assert!(!shown.chars().any(char::is_control), "{shown}");
                }
            }
        }
    }
    // Both paths were exercised, not only the errors.
    assert!(outcomes.iter().all(|&n| n > 5_000), "{outcomes:?}");
}
