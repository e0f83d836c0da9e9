//! Reading a server's reply lines for the mail clients: CRLF (or LF)
//! terminated, each capped before it is buffered, with a timeout.

use std::time::Duration;

use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// The longest reply line a client reads (RFC 5321 allows 512; POP3 and
/// IMAP lines of message data can be up to 998 plus CRLF).
pub const MAX_LINE: usize = 8 * 1024;

/// One line without its line end; an error when the server closes, stalls
/// or sends a line longer than `MAX_LINE`.
pub async fn read_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    timeout: Duration,
) -> Result<Vec<u8>, String> {
    let read = async {
        let mut line = Vec::new();
        loop {
            let available = reader
                .fill_buf()
                .await
                .map_err(|e| format!("the connection failed: {e}"))?;
            if available.is_empty() {
                return Err("the server closed the connection".to_string());
            }
            if let Some(i) = available.iter().position(|&b| b == b'\n') {
                line.extend_from_slice(&available[..i]);
                reader.consume(i + 1);
                if line.ends_with(b"\r") {
                    line.pop();
                }
                return Ok(line);
            }
            let n = available.len();
            line.extend_from_slice(available);
            reader.consume(n);
            if line.len() > MAX_LINE {
                return Err(format!(
                    "the server sent a line longer than {MAX_LINE} bytes"
                ));
            }
        }
    };
    tokio::time::timeout(timeout, read)
        .await
        .map_err(|_| format!("the server sent nothing for {:.0} s", timeout.as_secs_f64()))?
}
