//! A small HTTP/1.1 client for web checks: one request (a GET, or a POST of
//! a form for a webmail login) with `Connection: close`,
//! the answer read to the close (at most `MAX_RESPONSE` bytes) and parsed by
//! `http_response`.

use std::fmt;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub use super::http_response::{MAX_RESPONSE, Response, ResponseError, parse_response};

/// Why a GET got no usable answer.
#[derive(Debug)]
pub enum GetError {
    /// The connection failed or went silent: the network's or the server's.
    Exchange(String),
    /// The server answered, but not with a usable HTTP response.
    Response(ResponseError),
}

impl fmt::Display for GetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GetError::Exchange(why) => f.write_str(why),
            GetError::Response(e) => e.fmt(f),
        }
    }
}

/// GETs `path` from `host` over an open connection.
pub async fn get(
    stream: TcpStream,
    host: &str,
    path: &str,
    timeout: Duration,
) -> Result<Response, GetError> {
    request(stream, "GET", host, path, &[], None, timeout).await
}

/// Sends one request: `headers` besides Host, and a form body
/// (`application/x-www-form-urlencoded`) if any.
pub async fn request(
    mut stream: TcpStream,
    method: &str,
    host: &str,
    path: &str,
    headers: &[(&str, &str)],
    form: Option<&str>,
    timeout: Duration,
) -> Result<Response, GetError> {
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: labctl-check\r\nAccept: */*\r\nConnection: close\r\n"
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(form) = form {
        request.push_str(&format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
            form.len()
        ));
    } else {
        request.push_str("\r\n");
    }
    let exchange = async {
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| format!("sending the request failed: {e}"))?;
        let mut raw = Vec::new();
        let mut limited = (&mut stream).take(MAX_RESPONSE as u64 + 1);
        limited
            .read_to_end(&mut raw)
            .await
            .map_err(|e| format!("reading the answer failed: {e}"))?;
        Ok::<_, String>(raw)
    };
    let raw = tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| {
            format!(
                "the server sent no complete answer within {:.0} s",
                timeout.as_secs_f64()
            )
        })
        .and_then(|read| read)
        .map_err(GetError::Exchange)?;
    let complete = raw.len() <= MAX_RESPONSE;
    parse_response(&raw[..raw.len().min(MAX_RESPONSE)], complete).map_err(GetError::Response)
}
