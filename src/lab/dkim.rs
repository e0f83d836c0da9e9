//! DKIM keys of a lab's mail servers: reading a key the lab file gives,
//! making one at `up` for a domain that has none, the TXT record that
//! publishes its public half (RFC 6376 §3.6.1, RFC 8463 for Ed25519), and
//! adding that record to the lab's zones when the lab asks for it.
//! Keys are Ed25519: small enough for one TXT string, and made instantly.

use anyhow::{Context, Result};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use mail_auth::common::crypto::Ed25519Key;

use super::plan::Plan;
use super::zones::{RecordValue, ZoneRecord};

/// The DER of a PKCS#8 Ed25519 key written as base64 or PEM, checked.
pub fn parse_key(text: &str) -> Result<Vec<u8>, String> {
    let body: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("-----"))
        .flat_map(|l| l.chars().filter(|c| !c.is_whitespace()))
        .collect();
    let der = STANDARD
        .decode(body.as_bytes())
        .map_err(|e| format!("the key is not base64 ({e})"))?;
    Ed25519Key::from_pkcs8_der(&der)
        .map_err(|e| format!("the key is not an Ed25519 private key in PKCS#8 ({e})"))?;
    Ok(der)
}

/// A new Ed25519 key, PKCS#8 DER in base64.
pub fn new_key() -> Result<String> {
    let der =
        Ed25519Key::generate_pkcs8().map_err(|e| anyhow::anyhow!("cannot make a DKIM key: {e}"))?;
    Ok(STANDARD.encode(der))
}

/// The signing key from its base64 PKCS#8 DER.
pub fn signing_key(base64: &str) -> Result<Ed25519Key> {
    let der = parse_key(base64).map_err(anyhow::Error::msg)?;
    Ed25519Key::from_pkcs8_der(&der).map_err(|e| anyhow::anyhow!("bad DKIM key: {e}"))
}

/// Where a domain's key record lives: `SELECTOR._domainkey.DOMAIN`.
pub fn record_name(selector: &str, domain: &str) -> String {
    format!("{selector}._domainkey.{domain}")
}

/// The TXT record text that publishes the key's public half.
pub fn record_text(base64: &str) -> Result<String> {
    let key = signing_key(base64)?;
    Ok(format!(
        "v=DKIM1; k=ed25519; p={}",
        STANDARD.encode(key.public_key())
    ))
}

/// Makes the keys the lab file does not give, and adds the key records of
/// domains with `publish` to every zone of the lab that holds the domain
/// (the deepest such zone of each DNS server). Run by `up`, so a lab gets
/// fresh keys each time it starts.
pub fn complete(mut plan: Plan) -> Result<Plan> {
    let mut published = Vec::new();
    for node in &mut plan.nodes {
        let Some(mail) = node.mail.as_mut() else {
            continue;
        };
        for key in &mut mail.dkim {
            let private = match &key.private_key {
                Some(given) => given.clone(),
                None => new_key()?,
            };
            if key.publish {
                let text = record_text(&private)
                    .with_context(|| format!("the DKIM key of {}", key.domain))?;
                published.push((key.domain.clone(), key.selector.clone(), text));
            }
            key.private_key = Some(private);
        }
    }
    for (domain, selector, text) in published {
        publish(&mut plan, &domain, &selector, &text);
    }
    Ok(plan)
}

/// Adds the record to the deepest zone of each DNS server that holds
/// `domain`, with a new serial.
fn publish(plan: &mut Plan, domain: &str, selector: &str, text: &str) {
    let name = format!("{}.", record_name(selector, domain));
    let domain_dot = format!("{domain}.");
    for node in &mut plan.nodes {
        let Some(server) = node.dns_server.as_mut() else {
            continue;
        };
        let holder = server
            .zones
            .iter_mut()
            .filter(|z| !z.reverse && in_zone(&domain_dot, &z.origin))
            .max_by_key(|z| z.origin.len());
        if let Some(zone) = holder {
            zone.records.push(ZoneRecord {
                name: name.clone(),
                data: RecordValue::Txt(text.to_string()),
            });
            zone.serial = zone.serial.wrapping_add(1);
        }
    }
}

/// Whether `name` (absolute) is `origin` or below it.
pub fn in_zone(name: &str, origin: &str) -> bool {
    origin == "."
        || name.eq_ignore_ascii_case(origin)
        || name
            .to_ascii_lowercase()
            .ends_with(&format!(".{}", origin.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_key_reads_back_and_gives_a_one_string_record() {
        let key = new_key().unwrap();
        let text = record_text(&key).unwrap();
        assert!(text.starts_with("v=DKIM1; k=ed25519; p="), "{text}");
        assert!(text.len() < 255, "{text}");
        let pem = format!("-----BEGIN PRIVATE KEY-----\n{key}\n-----END PRIVATE KEY-----\n");
        assert_eq!(parse_key(&pem).unwrap(), STANDARD.decode(&key).unwrap());
    }

    #[test]
    fn a_bad_key_says_what_is_wrong() {
        assert!(parse_key("not base64!").unwrap_err().contains("base64"));
        assert!(parse_key("AAAA").unwrap_err().contains("Ed25519"));
    }

    #[test]
    fn zones_hold_their_own_names_only() {
        assert!(in_zone("uts.edu.au.", "uts.edu.au."));
        assert!(in_zone("uts.edu.au.", "edu.au."));
        assert!(in_zone("uts.edu.au.", "."));
        assert!(!in_zone("uts.edu.au.", "ts.edu.au."));
    }
}
