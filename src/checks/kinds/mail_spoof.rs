//! `mail-spoof` checks: a node sends mail with a forged sender straight to
//! a mail server's port 25 (no login), as a spammer would, and the server
//! must refuse it or put it into the recipient's Junk folder. When it
//! delivers it instead, the diagnosis says which link of the chain is
//! missing: the server's sender checks, or the domain's DMARC policy.
//! The session says STARTTLS when the server offers it (`probes::port25`),
//! so a server with `tls: required` is judged on the mail, not on its
//! `530` for plain text.

use std::net::SocketAddrV4;
use std::time::SystemTime;

use crate::agent::mail::mime::{Draft, compose};
use crate::agent::mail::smtp;
use crate::agent::tcp::connect;
use crate::checks::context::LabContext;
use crate::checks::outcome::{Diagnosis, Outcome, Step};
use crate::checks::probes::mail::{SMTP_PORT, new_token};
use crate::checks::probes::mail_server::{fate, queue_id};
use crate::checks::probes::path::SILENCE;
use crate::checks::probes::port25;
use crate::checks::resolver::Resolver;
use crate::checks::target::Target;
use crate::lab::model_checks::{MailSpoofCheck, SpoofExpect};
use crate::lab::validate::valid_address;
use crate::services::mail::smtp::fates::Fate;

#[derive(Clone, Debug)]
pub struct MailSpoof {
    pub from: String,
    pub server: Target,
    pub forged: String,
    pub to: String,
    pub expect: SpoofExpect,
}

pub fn resolve(r: &mut Resolver, c: &MailSpoofCheck) -> Option<MailSpoof> {
    for (field, address) in [("to", &c.to), ("from-address", &c.from_address)] {
        if !valid_address(address) {
            r.error(
                field,
                format!("`{address}` is not an email address"),
                "e.g. dean@uts.edu.au",
            );
            return None;
        }
    }
    Some(MailSpoof {
        from: r.source("from", &c.from)?,
        server: r.target("server", &c.server)?,
        forged: c.from_address.clone(),
        to: c.to.clone(),
        expect: c.expect,
    })
}

impl MailSpoof {
    pub fn describe(&self) -> String {
        let fate = match self.expect {
            SpoofExpect::Refused => "refuses",
            SpoofExpect::Quarantined => "quarantines",
        };
        format!(
            "{} {fate} mail for {} forged by {} as {}",
            self.server, self.to, self.from, self.forged
        )
    }

    pub fn run(&self, ctx: &LabContext) -> Step<Outcome> {
        ctx.address_of(&self.from)?;
        let ip = ctx.resolve(&self.from, &self.server)?;
        let token = new_token();
        let message = compose(
            &Draft {
                from_name: None,
                from: &self.forged,
                to: &self.to,
                subject: &format!("labctl spoof check {token}"),
                body: "A forged sender, sent by labctl to check the server's sender checks.\n",
                attachments: &[],
                token: &token,
            },
            SystemTime::now(),
        );
        let (forged, to, helo) = (self.forged.clone(), self.to.clone(), self.from.clone());
        let security = port25::security(ctx, ip);
        let sent = ctx.in_node(&self.from, move || async move {
            let stream = connect(SocketAddrV4::new(ip, SMTP_PORT), SILENCE)
                .await
                .map_err(Err)?;
            smtp::submit(stream, &security, &helo, None, &forged, &to, &message)
                .await
                .map_err(Ok)
        })?;
        let server = &self.server;
        if let Err(Ok(e)) = &sent
            && let Some(problem) = port25::tls_problem(ctx, &self.from, server, ip, e)
        {
            return Err(problem);
        }
        let accepted = match sent {
            Err(Err(e)) => {
                return Err(Diagnosis::new(
                    "connect",
                    format!(
                        "{} could not connect to {server} ({ip}) port {SMTP_PORT}: {e}",
                        self.from
                    ),
                    "the spoofing check needs the mail server to be reachable",
                ));
            }
            Err(Ok(e))
                if ["MAIL FROM", "DATA", "message"].contains(&e.stage())
                    && e.code().is_some_and(|c| c >= 500) =>
            {
                return match self.expect {
                    SpoofExpect::Refused => Ok(Outcome::pass(format!(
                        "{server} refused the forged mail: \"{}\"",
                        e.reply()
                    ))),
                    SpoofExpect::Quarantined => Err(Diagnosis::new(
                        "sender-checks",
                        format!(
                            "{server} refused the forged mail (\"{}\") instead of quarantining it",
                            e.reply()
                        ),
                        "`sender_checks: quarantine` puts failing mail into Junk even under p=reject",
                    )),
                };
            }
            Err(Ok(e)) => {
                return Err(Diagnosis::new(
                    "smtp",
                    format!(
                        "{} sent mail forged as {} to {server}, and {e}",
                        self.from, self.forged
                    ),
                    format!(
                        "{} must be a mailbox of {server}; the check wants the message itself judged",
                        self.to
                    ),
                ));
            }
            Ok(accepted) => accepted.reply,
        };
        let node = ctx.owner_of(ip).filter(|n| n.mail.is_some());
        let fates = node.and_then(|n| Some((n, fate(ctx, &n.name, queue_id(&accepted)?)?)));
        let quarantined = fates.as_ref().is_some_and(|(_, events)| {
            events.iter().any(|e| matches!(e, Fate::Quarantined { .. }))
        });
        if quarantined && self.expect == SpoofExpect::Quarantined {
            return Ok(Outcome::pass(format!(
                "{server} accepted the forged mail into {}'s Junk folder (\"{accepted}\")",
                self.to
            )));
        }
        let what = if quarantined {
            format!(
                "{server} put the forged mail into the Junk folder of {} (\"{accepted}\") instead of refusing it",
                self.to
            )
        } else {
            format!(
                "{server} delivered mail forged by {} as {} to {} (\"{accepted}\")",
                self.from, self.forged, self.to
            )
        };
        let domain = self.forged.rsplit_once('@').map_or("", |(_, d)| d);
        let hint = match node.and_then(|n| n.mail.as_ref().map(|m| (n, m))) {
            Some((n, m)) if m.sender_checks.is_none() => format!(
                "{} does not check senders: add `sender_checks: reject` to its mail service",
                n.name
            ),
            Some((n, m)) if m.sender_checks.map(|e| e.as_str()) == Some("record") => format!(
                "{} only records the checks (`sender_checks: record`): use `reject` or `quarantine`",
                n.name
            ),
            _ if quarantined => format!(
                "refusing needs `p=reject` at _dmarc.{domain} and `sender_checks: reject` on the server"
            ),
            _ => format!(
                "publish a DMARC policy that fails forged mail: TXT \"v=DMARC1; p=reject\" at _dmarc.{domain}, and an SPF record for {domain} that lists only its own servers"
            ),
        };
        Err(Diagnosis::new("sender-checks", what, hint))
    }
}
