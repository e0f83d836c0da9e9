//! `http` checks: a page fetched from a node, with the name looked up
//! through the node's resolver; status and text compared.

use std::net::SocketAddrV4;
use std::time::Duration;

use super::path::{SILENCE, explain_silence};
use crate::agent::http::{GetError, ResponseError, get};
use crate::agent::tcp::{ConnectError, connect};
use crate::checks::context::LabContext;
use crate::checks::outcome::{Diagnosis, Outcome, Step};
use crate::checks::spec::HttpUrl;

/// How long the whole exchange may take once connected.
const EXCHANGE: Duration = Duration::from_secs(5);

pub fn fetch(
    ctx: &LabContext,
    from: &str,
    url: &HttpUrl,
    status: u16,
    contains: Option<&str>,
) -> Step<Outcome> {
    ctx.address_of(from)?;
    let ip = ctx.resolve(from, &url.host)?;
    // The Host header carries the port when it is not the default (RFC 9110 §7.2).
    let host = match url.port {
        80 => url.host_text.clone(),
        port => format!("{}:{port}", url.host_text),
    };
    let (port, path) = (url.port, url.path.clone());
    let shown = format!(
        "http://{}{}{}",
        url.host_text,
        if port == 80 {
            String::new()
        } else {
            format!(":{port}")
        },
        url.path
    );
    let fetched = ctx.in_node(from, move || async move {
        let stream = connect(SocketAddrV4::new(ip, port), SILENCE)
            .await
            .map_err(Err)?;
        get(stream, &host, &path, EXCHANGE).await.map_err(Ok)
    })?;
    let owner = ctx
        .owner_of(ip)
        .map(|n| n.name.clone())
        .unwrap_or_else(|| ip.to_string());
    let response = match fetched {
        Ok(response) => response,
        Err(Err(ConnectError::Refused)) => {
            return Err(Diagnosis::new(
                "connect",
                format!("{from} reached {owner} ({ip}) but no web server listens on port {port}"),
                format!("does {owner} have `services: {{web: …}}`?"),
            ));
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
