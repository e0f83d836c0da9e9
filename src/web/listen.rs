//! Where `labctl web` listens: 127.0.0.1 unless told otherwise, and which
//! requests it believes came from its own page (the Host a browser sends
//! names this server; a page elsewhere cannot make the page's POSTs).

use std::net::SocketAddr;

/// The address used without `--listen`.
pub const DEFAULT: &str = "127.0.0.1:8080";

/// A non-loopback address is only taken from an explicit `--listen`: the
/// caller says which it is. Returns the warning to print, if any.
pub fn check(addr: SocketAddr, explicit: bool) -> Result<Option<String>, String> {
    if addr.ip().is_loopback() {
        return Ok(None);
    }
    if !explicit {
        return Err(format!(
            "refusing to serve on {addr}, which is not a loopback address, without --listen"
        ));
    }
    Ok(Some(format!(
        "warning: serving on {addr}: anyone who can reach this machine on that address sees \
         the lab and can run its checks and send its mail"
    )))
}

/// Whether a request's `Host` header names this server (the listening
/// address itself, or `localhost` on its port). Anything else is a page
/// reached under another name (DNS rebinding) and gets no answer.
pub fn host_allowed(host: Option<&str>, listening: SocketAddr) -> bool {
    let Some(host) = host else {
        return false;
    };
    let port = listening.port();
    let ip = match listening.ip() {
        std::net::IpAddr::V6(v6) => format!("[{v6}]"),
        v4 => v4.to_string(),
    };
    host == format!("{ip}:{port}")
        || (listening.ip().is_loopback() && host == format!("localhost:{port}"))
        || (listening.ip().is_unspecified() && host.ends_with(&format!(":{port}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_taken_and_anything_else_only_when_asked_for() {
        assert_eq!(check(DEFAULT.parse().unwrap(), false), Ok(None));
        assert_eq!(check("[::1]:80".parse().unwrap(), false), Ok(None));
        let wide: SocketAddr = "0.0.0.0:8080".parse().unwrap();
        let refused = check(wide, false).unwrap_err();
        assert!(refused.contains("0.0.0.0:8080") && refused.contains("--listen"));
        let warning = check(wide, true).unwrap().unwrap();
        assert!(warning.contains("anyone who can reach"), "{warning}");
    }

    #[test]
    fn only_requests_naming_this_server_are_answered() {
        let at: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        assert!(host_allowed(Some("127.0.0.1:8080"), at));
        assert!(host_allowed(Some("localhost:8080"), at));
        assert!(!host_allowed(Some("evil.example:8080"), at));
        assert!(!host_allowed(Some("127.0.0.1:9090"), at));
        assert!(!host_allowed(None, at));
        let wide: SocketAddr = "0.0.0.0:8080".parse().unwrap();
        assert!(host_allowed(Some("10.1.2.3:8080"), wide));
    }
}
