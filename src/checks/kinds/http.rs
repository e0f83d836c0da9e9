//! `http` checks: a page fetched from a node, with the name looked up
//! through the node's resolver; status and text compared.

use std::net::SocketAddrV4;
use std::time::Duration;

use crate::agent::http::{GetError, ResponseError, request};
use crate::agent::tcp::{ConnectError, connect};
use crate::agent::webmail::client::log_in;
use crate::checks::context::LabContext;
use crate::checks::outcome::{Diagnosis, Outcome, Step};
use crate::checks::probes::path::{SILENCE, explain_silence};
use crate::checks::resolver::Resolver;
use crate::checks::target::Target;
use crate::lab::addr::parse_ipv4;
use crate::lab::model_checks::{HttpCheck, WebLogin};
use crate::lab::validate::valid_domain;

#[derive(Clone, Debug)]
pub struct Http {
    pub from: String,
    pub url: HttpUrl,
    /// The status the answer must have.
    pub status: u16,
    /// Text the body must contain.
    pub contains: Option<String>,
    /// A webmail login to make first.
    pub login: Option<WebLogin>,
}

/// `http://HOST[:PORT]/PATH`, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpUrl {
    pub host: Target,
    /// As written, for the Host header.
    pub host_text: String,
    pub port: u16,
    pub path: String,
}

/// Why a `url` is not one a check can fetch.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("labctl's web checks speak plain HTTP")]
    Https,
    #[error("it does not start with http://")]
    NotHttp,
    #[error("`{0}` is not a port")]
    Port(String),
    #[error("it has no host")]
    NoHost,
    #[error("the path has spaces")]
    SpaceInPath,
    #[error("`{0}` is not a host name")]
    Host(String),
}

pub fn resolve(r: &mut Resolver, c: &HttpCheck) -> Option<Http> {
    let from = r.source("from", &c.from)?;
    let url = match parse_url(&c.url) {
        Ok(mut url) => {
            if let Some(node) = r.find_node(&url.host_text) {
                url.host = Target::Node(node.name.clone());
            }
            url
        }
        Err(why) => {
            r.error(
                "url",
                format!("`{}` is not a web address labctl can fetch: {why}", c.url),
                "write http://HOST/PATH, e.g. http://www.mastertech.com/",
            );
            return None;
        }
    };
    let status = c.status.unwrap_or(200);
    if !(100..=599).contains(&status) {
        r.error(
            "status",
            format!("{status} is not an HTTP status"),
            "e.g. 200 or 404",
        );
    }
    Some(Http {
        from,
        url,
        status,
        contains: c.contains.clone(),
        login: c.login.clone(),
    })
}

/// A name that leads to a node without a web site, while the lab has one
/// elsewhere: its A record points to the wrong node. Every fetch of that
/// name shares the cause.
fn misdirected(
    ctx: &LabContext,
    name: &str,
    ip: std::net::Ipv4Addr,
    found: Diagnosis,
) -> Diagnosis {
    let sites: Vec<String> = ctx
        .plan
        .nodes
        .iter()
        .filter(|n| n.agents.web.is_some())
        .filter_map(|n| {
            let address = n.interfaces.iter().find_map(|i| i.address)?;
            Some(format!("{} ({})", n.name, address.addr()))
        })
        .collect();
    if sites.is_empty() {
        return found;
    }
    let owner = ctx
        .owner_of(ip)
        .map(|n| n.name.clone())
        .unwrap_or_else(|| "no node of the lab".into());
    Diagnosis::new(
        "dns",
        format!(
            "{}: {name} resolves to {ip}, which is {owner}, but the web site is on {}",
            found.message,
            sites.join(", ")
        ),
        format!("the A record of {name} must give the web server's address"),
    )
    .with_cause(format!("a-record {name}"))
}

/// Parses `http://HOST[:PORT][/PATH]`.
pub fn parse_url(url: &str) -> Result<HttpUrl, UrlError> {
    let rest = url.strip_prefix("http://").ok_or_else(|| {
        if url.starts_with("https://") {
            UrlError::Https
        } else {
            UrlError::NotHttp
        }
    })?;
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (
            host,
            port.parse::<u16>()
                .map_err(|_| UrlError::Port(port.to_string()))?,
        ),
        None => (authority, 80),
    };
    if host.is_empty() || port == 0 {
        return Err(UrlError::NoHost);
    }
    if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(UrlError::SpaceInPath);
    }
    let target = match parse_ipv4(host) {
        Ok(ip) => Target::Ip(ip),
        Err(_) if valid_domain(host) => Target::Name(host.to_string()),
        Err(_) => return Err(UrlError::Host(host.to_string())),
    };
    Ok(HttpUrl {
        host: target,
        host_text: host.to_string(),
        port,
        path: path.to_string(),
    })
}

impl HttpUrl {
    /// The URL as a browser shows it (the port only when it is not 80).
    fn shown(&self) -> String {
        format!(
            "http://{}{}{}",
            self.host_text,
            if self.port == 80 {
                String::new()
            } else {
                format!(":{}", self.port)
            },
            self.path
        )
    }
}

impl Http {
    pub fn describe(&self) -> String {
        let login = self
            .login
            .as_ref()
            .map(|l| format!(" logged in as {}", l.user))
            .unwrap_or_default();
        format!(
            "{} fetches {}{login} (status {})",
            self.from,
            self.url.shown(),
            self.status
        )
    }

    pub fn run(&self, ctx: &LabContext) -> Step<Outcome> {
        probe(
            ctx,
            &self.from,
            &self.url,
            self.status,
            self.contains.as_deref(),
            self.login.as_ref(),
        )
    }
}

/// How long the whole exchange may take once connected.
const EXCHANGE: Duration = Duration::from_secs(5);

fn probe(
    ctx: &LabContext,
    from: &str,
    url: &HttpUrl,
    status: u16,
    contains: Option<&str>,
    login: Option<&WebLogin>,
) -> Step<Outcome> {
    ctx.address_of(from)?;
    let ip = ctx.resolve(from, &url.host)?;
    // The Host header carries the port when it is not the default (RFC 9110 §7.2).
    let host = match url.port {
        80 => url.host_text.clone(),
        port => format!("{}:{port}", url.host_text),
    };
    let (port, path) = (url.port, url.path.clone());
    let shown = url.shown();
    let login_as = login.cloned();
    let fetched = ctx.in_node(from, move || async move {
        let to = SocketAddrV4::new(ip, port);
        // Logging in first: its failure is a login failure (the page's words).
        let cookie = match &login_as {
            Some(login) => {
                let open = || async move { connect(to, SILENCE).await.map_err(|e| e.to_string()) };
                match log_in(open, &host, &login.user, &login.password, EXCHANGE).await {
                    Ok(cookie) => Some(cookie),
                    Err(why) => return Ok(Err(why)),
                }
            }
            None => None,
        };
        let stream = connect(to, SILENCE).await.map_err(Err)?;
        let headers: Vec<(&str, &str)> = cookie.iter().map(|c| ("Cookie", c.as_str())).collect();
        request(stream, "GET", &host, &path, &headers, None, EXCHANGE)
            .await
            .map(Ok)
            .map_err(Ok)
    })?;
    let owner = ctx
        .owner_of(ip)
        .map(|n| n.name.clone())
        .unwrap_or_else(|| ip.to_string());
    let response = match fetched {
        Ok(Ok(response)) => response,
        Ok(Err(why)) => {
            return Err(Diagnosis::new(
                "login",
                format!("{from} could not log in at {shown}: {why}"),
                "are the user and password those of the mail server's `users`?",
            ));
        }
        Err(Err(ConnectError::Refused)) => {
            let d = Diagnosis::new(
                "connect",
                format!("{from} reached {owner} ({ip}) but no web server listens on port {port}"),
                format!("does {owner} have `services: {{web: …}}`?"),
            );
            return Err(match &url.host {
                Target::Name(name) => misdirected(ctx, name, ip, d),
                _ => d,
            });
        }
        Err(Err(e)) => {
            let mut d = explain_silence(ctx, from, ip, &format!("connect to {ip}:{port}"));
            d.message = format!("{from} could not connect to {shown}: {e}; {}", d.message);
            return Err(d);
        }
        // The server answered, badly: its fault, not the network's.
        Err(Ok(GetError::Response(ResponseError::Malformed { part, detail }))) => {
            return Err(Diagnosis::new(
                "http",
                format!(
                    "the web server at {owner} ({ip}:{port}) sent a malformed {part} for {shown}: {detail}"
                ),
                "its answer breaks HTTP/1.1 (RFC 9112); fix the server, or is another service on that port?",
            ));
        }
        Err(Ok(GetError::Response(ResponseError::TooLarge))) => {
            return Err(Diagnosis::new(
                "http",
                format!("{shown} from {from}: {}", ResponseError::TooLarge),
                "check a smaller page",
            ));
        }
        Err(Ok(why)) => {
            return Err(Diagnosis::new(
                "http",
                format!("{shown} from {from}: {why}"),
                "is it a web server on that port?",
            ));
        }
    };
    if response.status != status {
        return Err(Diagnosis::new(
            "http",
            format!(
                "{shown} answered {} {} to {from}, not {status}",
                response.status, response.reason
            ),
            if response.status == 404 {
                "is the page at that path on the server?".to_string()
            } else {
                String::new()
            },
        ));
    }
    if let Some(text) = contains {
        let body = String::from_utf8_lossy(&response.body);
        if !body.contains(text) {
            let preview: String = body.chars().take(80).collect();
            return Err(Diagnosis::new(
                "content",
                format!(
                    "{shown} answered {status}, but the page does not contain `{text}` (it starts: {preview:?})"
                ),
                "is this the right server, and the right page?",
            ));
        }
    }
    Ok(Outcome::pass(format!(
        "{shown} ({ip}) answered {status} with {} bytes",
        response.body.len()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_or_say_why_not() {
        let url = parse_url("http://www.cbrc.com:8080/a?b").expect("a URL");
        assert_eq!(
            (url.host, url.port, url.path.as_str()),
            (Target::Name("www.cbrc.com".into()), 8080, "/a?b")
        );
        assert_eq!(parse_url("http://10.0.0.1").map(|u| u.path), Ok("/".into()));
        assert_eq!(parse_url("https://x.com/"), Err(UrlError::Https));
        assert_eq!(parse_url("ftp://x.com/"), Err(UrlError::NotHttp));
        assert_eq!(
            parse_url("http://x.com:99999/"),
            Err(UrlError::Port("99999".into()))
        );
        assert_eq!(parse_url("http://x.com:0/"), Err(UrlError::NoHost));
        assert_eq!(parse_url("http:///"), Err(UrlError::NoHost));
        assert_eq!(parse_url("http://x.com/a b"), Err(UrlError::SpaceInPath));
        assert_eq!(
            parse_url("http://a b/").map(|u| u.path),
            Err(UrlError::Host("a b".into()))
        );
    }
}
