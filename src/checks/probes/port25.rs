//! Port 25 as a stranger speaks it, for the `mail-spoof` and `mail-refused`
//! checks: no login, STARTTLS whenever the server offers it (as a sending
//! server does), the certificate checked against the lab's CA for the
//! address dialled (a server's certificate names its addresses). A
//! `530 … STARTTLS` reply is never the refusal those checks look for: it
//! says nothing about the mail, only that the server wants TLS first.

use std::net::Ipv4Addr;

use crate::agent::mail::security::{Security, Trust};
use crate::agent::mail::smtp::SmtpError;
use crate::checks::context::LabContext;
use crate::checks::outcome::Diagnosis;
use crate::checks::target::Target;

/// How the check's client protects its session to `ip`: STARTTLS when
/// offered if the lab has a CA, plain text otherwise.
pub fn security(ctx: &LabContext, ip: Ipv4Addr) -> Security {
    match &ctx.lab_ca {
        Some(connector) => Security::StartTlsIfOffered(Trust {
            connector: connector.clone(),
            name: ip.to_string(),
        }),
        None => Security::Plain,
    }
}

/// A reply that asks for TLS first (`530 5.7.0 Must issue a STARTTLS
/// command first`), not a verdict on the mail.
pub fn wants_tls_first(e: &SmtpError) -> bool {
    e.code() == Some(530) && e.reply().to_ascii_uppercase().contains("TLS")
}

/// Why the session never got to the question the check asks, when it was
/// TLS: STARTTLS itself failed, or the server wants TLS it does not offer.
pub fn tls_problem(
    ctx: &LabContext,
    from: &str,
    server: &Target,
    ip: Ipv4Addr,
    e: &SmtpError,
) -> Option<Diagnosis> {
    if matches!(e.stage(), "STARTTLS" | "TLS") {
        return Some(Diagnosis::new(
            "tls",
            format!(
                "{server} ({ip}) offers STARTTLS, and the switch from {from} failed ({e}); if it requires TLS first, the check cannot send it any mail"
            ),
            format!(
                "its certificate must verify against the lab's CA for {ip}: run `labctl down` and `up` again if the lab's TLS files changed"
            ),
        ));
    }
    if !wants_tls_first(e) {
        return None;
    }
    let why = if ctx.lab_ca.is_none() {
        "the lab has no certificate authority to check its certificate with"
    } else {
        "it did not offer STARTTLS in its EHLO reply"
    };
    Some(Diagnosis::new(
        "tls",
        format!(
            "{server} ({ip}) requires TLS first (\"{}\"), but {why}: the check cannot tell what it does with the mail",
            e.reply()
        ),
        "give its mail service `tls: required` (or `optional`), which offers STARTTLS with a certificate from the lab's CA",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::mail::smtp::Reply;

    fn refused(stage: &'static str, code: u16, text: &str) -> SmtpError {
        SmtpError::Refused {
            stage,
            reply: Reply {
                code,
                lines: vec![text.to_string()],
            },
        }
    }

    #[test]
    fn only_a_530_asking_for_tls_is_not_a_verdict() {
        assert!(wants_tls_first(&refused(
            "MAIL FROM",
            530,
            "5.7.0 Must issue a STARTTLS command first"
        )));
        assert!(!wants_tls_first(&refused(
            "MAIL FROM",
            530,
            "5.7.0 Authentication required"
        )));
        assert!(!wants_tls_first(&refused(
            "RCPT TO",
            554,
            "5.7.1 Relay access denied"
        )));
    }
}
