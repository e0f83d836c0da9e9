//! `mail-refused` checks: a mail server refuses to relay for a sender who
//! did not log in (an open relay fails the check). The session says
//! STARTTLS when the server offers it (`probes::port25`): a `530` asking
//! for TLS first is not the refusal the check looks for.

use std::net::SocketAddrV4;

use crate::agent::mail::smtp;
use crate::agent::tcp::connect;
use crate::checks::context::LabContext;
use crate::checks::outcome::{Diagnosis, Outcome, Step};
use crate::checks::probes::mail::SMTP_PORT;
use crate::checks::probes::path::SILENCE;
use crate::checks::probes::port25;
use crate::checks::resolver::Resolver;
use crate::checks::target::Target;
use crate::lab::model_checks::MailRefusedCheck;
use crate::lab::validate::valid_address;

/// The envelope sender claimed when the check names none.
const DEFAULT_SENDER: &str = "nobody@example.net";

#[derive(Clone, Debug)]
pub struct MailRefused {
    pub from: String,
    pub server: Target,
    pub to: String,
    /// The envelope sender claimed.
    pub sender: String,
}

pub fn resolve(r: &mut Resolver, c: &MailRefusedCheck) -> Option<MailRefused> {
    let sender = c
        .sender
        .clone()
        .unwrap_or_else(|| DEFAULT_SENDER.to_string());
    for (field, address) in [("to", &c.to), ("sender", &sender)] {
        if !valid_address(address) {
            r.error(
                field,
                format!("`{address}` is not an email address"),
                "e.g. someone@elsewhere.org",
            );
            return None;
        }
    }
    Some(MailRefused {
        from: r.source("from", &c.from)?,
        server: r.target("server", &c.server)?,
        to: c.to.clone(),
        sender,
    })
}

impl MailRefused {
    pub fn describe(&self) -> String {
        format!(
            "{} refuses to relay mail for {} from {} without login",
            self.server, self.to, self.from
        )
    }

    pub fn run(&self, ctx: &LabContext) -> Step<Outcome> {
        probe(ctx, &self.from, &self.server, &self.to, &self.sender)
    }
}

/// An unauthenticated relay attempt from `from` through `server` must be refused.
fn probe(ctx: &LabContext, from: &str, server: &Target, to: &str, sender: &str) -> Step<Outcome> {
    ctx.address_of(from)?;
    let ip = ctx.resolve(from, server)?;
    let (to_owned, sender_owned, helo) = (to.to_string(), sender.to_string(), from.to_string());
    let security = port25::security(ctx, ip);
    let tried = ctx.in_node(from, move || async move {
        let stream = connect(SocketAddrV4::new(ip, SMTP_PORT), SILENCE)
            .await
            .map_err(Err)?;
        let (mut session, _) = smtp::open(stream, &helo, &security).await.map_err(Ok)?;
        let result = session
            .try_recipient(&sender_owned, &to_owned)
            .await
            .map(|reply| reply.quoted());
        session.quit().await;
        result.map_err(Ok)
    })?;
    if let Err(Ok(e)) = &tried
        && let Some(problem) = port25::tls_problem(ctx, from, server, ip, e)
    {
        return Err(problem);
    }
    match tried {
        Ok(reply) => Err(Diagnosis::new(
            "relay",
            format!(
                "{server} ({ip}) is an open relay: it accepted mail for {to} from {from} without a login (\"{reply}\")"
            ),
            "relay mail to other domains only for users who logged in",
        )),
        Err(Ok(e)) if e.stage() == "RCPT TO" && e.code().is_some_and(|c| c >= 500) => Ok(
            Outcome::pass(format!("{server} refused: \"{}\"", e.reply())),
        ),
        Err(Ok(e)) if e.stage() == "MAIL FROM" && e.code().is_some_and(|c| c >= 500) => Ok(
            Outcome::pass(format!("{server} refused the sender: \"{}\"", e.reply())),
        ),
        Err(Ok(e)) => Err(Diagnosis::new(
            "smtp",
            format!("{from} tried to relay through {server}, and {e}"),
            "a relay must be refused with a 5xx reply to RCPT TO",
        )),
        Err(Err(e)) => Err(Diagnosis::new(
            "connect",
            format!("{from} could not connect to {server} ({ip}) port {SMTP_PORT}: {e}"),
            "the relay test needs the mail server to be reachable",
        )),
    }
}
