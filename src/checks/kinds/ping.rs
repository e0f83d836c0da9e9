//! `ping` checks: ICMP echo from a node to a node, an address or a DNS
//! name; `expect: fail` for a destination that must not answer.

use std::time::Duration;

use crate::agent::icmp::{PingOutcome, ping as send_pings};
use crate::checks::context::LabContext;
use crate::checks::outcome::{Diagnosis, Outcome, Step};
use crate::checks::probes::path::{SILENCE, explain_silence};
use crate::checks::resolver::Resolver;
use crate::checks::target::Target;
use crate::lab::model_checks::{Expect, PingCheck};

#[derive(Clone, Debug)]
pub struct Ping {
    pub from: String,
    pub to: Target,
    /// Whether it must answer (`expect: ok`) or must not (`expect: fail`).
    pub reachable: bool,
}

pub fn resolve(r: &mut Resolver, c: &PingCheck) -> Option<Ping> {
    Some(Ping {
        from: r.source("from", &c.from)?,
        to: r.target("to", &c.to)?,
        reachable: c.expect.unwrap_or_default() == Expect::Ok,
    })
}

impl Ping {
    pub fn describe(&self) -> String {
        let Ping {
            from,
            to,
            reachable,
        } = self;
        if *reachable {
            format!("{from} can ping {to}")
        } else {
            format!("{from} cannot reach {to}")
        }
    }

    pub fn run(&self, ctx: &LabContext) -> Step<Outcome> {
        probe(ctx, &self.from, &self.to, self.reachable)
    }
}

fn probe(ctx: &LabContext, from: &str, to: &Target, reachable: bool) -> Step<Outcome> {
    ctx.address_of(from)?;
    let ip = ctx.resolve(from, to)?;
    let outcome = ctx
        .in_node(from, move || async move {
            send_pings(
                ip,
                3,
                Duration::from_millis(300),
                SILENCE.saturating_sub(Duration::from_millis(600)),
            )
            .await
        })?
        .map_err(|e| Diagnosis::new("icmp", format!("{from} cannot send a ping: {e}"), ""))?;
    let shown = if to.to_string() == ip.to_string() {
        ip.to_string()
    } else {
        format!("{to} ({ip})")
    };
    match (outcome, reachable) {
        (PingOutcome::Reply { rtt }, true) => Ok(Outcome::pass(format!(
            "{shown} answered in {}",
            round_trip(rtt)
        ))),
        (PingOutcome::Reply { .. }, false) => Err(Diagnosis::new(
            "reachable",
            format!("{shown} answered {from}'s ping, but it must not be reachable from {from}"),
            "remove the route (or gateway) that lets it through",
        )),
        (silent, false) => Ok(Outcome::pass(format!(
            "{shown} is not reachable from {from} ({})",
            outcome_text(&silent)
        ))),
        (
            PingOutcome::Unreachable {
                from: router,
                reason,
            },
            true,
        ) => Err(Diagnosis::new(
            "route",
            format!("{router} told {from} that {shown} is unreachable: {reason}"),
            format!(
                "check the routes on {} towards {ip}",
                ctx.owner_of(router)
                    .map(|n| n.name.clone())
                    .unwrap_or_else(|| router.to_string())
            ),
        )),
        (PingOutcome::NoRoute(_), true) | (PingOutcome::Silence, true) => {
            Err(explain_silence(ctx, from, ip, &format!("ping {shown}")))
        }
    }
}

fn outcome_text(outcome: &PingOutcome) -> String {
    match outcome {
        PingOutcome::Reply { .. } => "it answered".into(),
        PingOutcome::Unreachable { from, reason } => format!("{from}: {reason}"),
        PingOutcome::Silence => "no answer".into(),
        PingOutcome::NoRoute(_) => "no route".into(),
    }
}

/// A round-trip time with ping's precision: three significant digits, so a
/// fast reply inside one machine reads "0.043 ms", not "0.0 ms".
fn round_trip(rtt: Duration) -> String {
    let ms = rtt.as_secs_f64() * 1000.0;
    let decimals = match ms {
        ms if ms < 1.0 => 3,
        ms if ms < 10.0 => 2,
        ms if ms < 100.0 => 1,
        _ => 0,
    };
    format!("{ms:.decimals$} ms")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_keep_three_significant_digits() {
        assert_eq!(round_trip(Duration::from_micros(43)), "0.043 ms");
        assert_eq!(round_trip(Duration::from_micros(304)), "0.304 ms");
        assert_eq!(round_trip(Duration::from_micros(2_346)), "2.35 ms");
        assert_eq!(round_trip(Duration::from_micros(12_345)), "12.3 ms");
        assert_eq!(round_trip(Duration::from_micros(123_456)), "123 ms");
    }
}
