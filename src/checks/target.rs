//! The values a check names, parsed: where a probe goes (a node, an
//! address or a DNS name) and how long it may take. A leaf of `checks`:
//! the kinds, the resolver and the running lab all use it, and it uses
//! none of them.

use std::net::Ipv4Addr;
use std::time::Duration;

use serde::Serialize;

/// Where a probe goes: a lab node (its address, static or leased), an
/// address, or a DNS name (looked up through the source node's resolver).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Target {
    Node(String),
    Ip(Ipv4Addr),
    Name(String),
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Node(name) | Target::Name(name) => f.write_str(name),
            Target::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

/// How long a check may take: `10s`, `500ms`, `2m`, or plain seconds
/// (the lab's one duration syntax), more than nothing and at most a day.
pub fn parse_duration(text: &str) -> Option<Duration> {
    crate::lab::duration::parse(text).filter(|d| !d.is_zero() && *d <= Duration::from_secs(86_400))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s"), Some(Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Some(Duration::from_secs(3)));
        assert_eq!(parse_duration("0s"), None);
        assert_eq!(parse_duration("ten"), None);
        assert_eq!(parse_duration("5y"), None);
    }
}
