//! The resolver roles, for names outside the node's zones: a forwarder
//! (hickory's resolver: asks the configured lab servers, caches by TTL) or
//! a recursive resolver (hickory's recursor: iterates from the lab's root
//! servers, caches by TTL). Cached answers carry their remaining TTL.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use hickory_server::net::runtime::TokioRuntimeProvider;
use hickory_server::net::{DnsError, NetError};
use hickory_server::proto::op::{Query, ResponseCode};
use hickory_server::proto::rr::{Name, RecordType};
use hickory_server::resolver::Resolver;
use hickory_server::resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig};
use hickory_server::resolver::recursor::{Recursor, RecursorError, RecursorOptions};
use ipnet::IpNet;

use super::authority::Answer;

/// How long the forwarder waits for an upstream server per attempt.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(2);

/// Where names outside the node's zones go.
#[derive(Clone, Debug)]
pub enum Role {
    /// Forward to these servers (UDP, TCP when truncated).
    Forward(Vec<SocketAddr>),
    /// Iterate from these root servers (port 53); only servers in `allow`
    /// are ever asked.
    Recursive {
        roots: Vec<IpAddr>,
        allow: Vec<IpNet>,
    },
}

/// A resolver role hickory would not set up.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("cannot set up the forwarder: {0}")]
    Forwarder(NetError),
    #[error("cannot set up the recursive resolver: {0}")]
    Recursor(RecursorError),
}

pub enum Upstream {
    Forward(Box<Resolver<TokioRuntimeProvider>>),
    Recursive(Box<Recursor<TokioRuntimeProvider>>),
}

impl Upstream {
    pub fn new(role: &Role) -> Result<Upstream, UpstreamError> {
        match role {
            Role::Forward(servers) => {
                let name_servers = servers
                    .iter()
                    .map(|server| {
                        let on_port = |mut c: ConnectionConfig| {
                            c.port = server.port();
                            c
                        };
                        NameServerConfig::new(
                            server.ip(),
                            true,
                            vec![
                                on_port(ConnectionConfig::udp()),
                                on_port(ConnectionConfig::tcp()),
                            ],
                        )
                    })
                    .collect();
                let config = ResolverConfig::from_parts(None, vec![], name_servers);
                let mut builder =
                    Resolver::builder_with_config(config, TokioRuntimeProvider::default());
                let options = builder.options_mut();
                options.timeout = UPSTREAM_TIMEOUT;
                options.attempts = 2;
                options.ndots = 0;
                options.preserve_intermediates = true;
                options.use_hosts_file = hickory_server::resolver::config::ResolveHosts::Never;
                let resolver = builder.build().map_err(UpstreamError::Forwarder)?;
                Ok(Upstream::Forward(Box::new(resolver)))
            }
            Role::Recursive { roots, allow } => {
                // Lab servers sit on private networks, which the recursor
                // refuses to ask by default; and nothing but the lab's
                // networks is ever asked (a listed network beats a denied one).
                let everything = ["0.0.0.0/0", "::/0"].map(|n| n.parse().expect("valid"));
                let options = RecursorOptions {
                    allow_server: allow.clone(),
                    deny_server: everything.to_vec(),
                    ..RecursorOptions::default()
                };
                let recursor =
                    Recursor::with_options(roots, options, TokioRuntimeProvider::default())
                        .map_err(UpstreamError::Recursor)?;
                Ok(Upstream::Recursive(Box::new(recursor)))
            }
        }
    }

    /// Resolves one question; failures become SERVFAIL.
    pub async fn resolve(&self, name: Name, rtype: RecordType) -> Answer {
        let result = match self {
            Upstream::Forward(resolver) => resolver.lookup(name, rtype).await.map(|lookup| {
                let message = lookup.message();
                (
                    message.metadata.response_code,
                    lookup.answers().to_vec(),
                    lookup.authorities().to_vec(),
                )
            }),
            Upstream::Recursive(recursor) => recursor
                .resolve(Query::query(name, rtype), Instant::now(), false)
                .await
                .map(|message| {
                    (
                        message.metadata.response_code,
                        message.answers,
                        message.authorities,
                    )
                })
                .map_err(NetError::from),
        };
        match result {
            Ok((rcode, answers, authorities)) => Answer {
                rcode,
                authoritative: false,
                answers,
                authorities,
                additionals: Vec::new(),
            },
            Err(NetError::Dns(DnsError::NoRecordsFound(none))) => Answer {
                rcode: none.response_code,
                authorities: none
                    .soa
                    .map(|soa| vec![soa.into_record_of_rdata()])
                    .unwrap_or_default(),
                ..Answer::default()
            },
            Err(e) => {
                tracing::warn!("dns resolver: {e}");
                Answer {
                    rcode: ResponseCode::ServFail,
                    ..Answer::default()
                }
            }
        }
    }
}
