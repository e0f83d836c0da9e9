//! TCP connections from the current namespace, with failures put in words:
//! refused (nothing listens), no route, or silence (dropped on the way).

use std::net::{SocketAddr, SocketAddrV4};
use std::time::Duration;

use tokio::net::TcpStream;

/// Why a connection could not be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectError {
    /// The host answered with a reset: it is reachable, but nothing listens.
    Refused,
    /// The kernel or a router said there is no way there.
    NoRoute(String),
    /// Nothing answered in time.
    Timeout(Duration),
    Other(String),
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnectError::Refused => {
                f.write_str("the connection was refused (nothing listens on that port)")
            }
            ConnectError::NoRoute(why) => write!(f, "no route to it ({why})"),
            ConnectError::Timeout(after) => {
                write!(f, "no answer within {:.1} s", after.as_secs_f64())
            }
            ConnectError::Other(why) => f.write_str(why),
        }
    }
}

pub async fn connect(to: SocketAddrV4, timeout: Duration) -> Result<TcpStream, ConnectError> {
    match tokio::time::timeout(timeout, TcpStream::connect(SocketAddr::V4(to))).await {
        Err(_) => Err(ConnectError::Timeout(timeout)),
        Ok(Ok(stream)) => Ok(stream),
        Ok(Err(e)) => Err(match e.raw_os_error() {
            Some(libc::ECONNREFUSED) => ConnectError::Refused,
            Some(libc::EHOSTUNREACH | libc::ENETUNREACH) => ConnectError::NoRoute(e.to_string()),
            _ => ConnectError::Other(e.to_string()),
        }),
    }
}
